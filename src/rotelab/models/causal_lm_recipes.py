"""Causal-LM architectures: their config and the recipes that build them
(``lm.base.model.recipe``), apart from the models' code so that config checks list the
recipes without importing torch; each builder imports what it needs."""

from __future__ import annotations

import math
from dataclasses import dataclass

from rotelab.core.registry import Registry

lm_recipes: Registry = Registry("causal LM recipe")


@dataclass(frozen=True)
class LMConfig:
    """A causal LM architecture.

    recipe: ``gpt2`` builds a GPT-2 (learned absolute positions) and ``llama`` a LLaMA
        (rotary positions, RMSNorm, SwiGLU) from a transformers config; ``pretrained`` loads
        ``pretrained`` (a Hugging Face id or a local path).
    d_model, layers, heads: transformer sizes (heads must divide d_model).
    block_size: tokens per training sequence and the position table's length.
    dropout: on residuals, attention and embeddings (``llama``: on attention only, the
        only dropout LLaMA's architecture has); None: the recipe's own (:data:`RECIPE_DROPOUT`).
    """

    recipe: str = "gpt2"
    d_model: int = 128
    layers: int = 4
    heads: int = 4
    block_size: int = 128
    dropout: float | None = None
    pretrained: str | None = None


# Each architecture's own dropout, what ``lm.base.model.dropout: null`` gives: GPT-2's 0.1
# (residuals, attention, embeddings; Radford et al. 2019, as in its released config) and
# LLaMA's 0 (the Llama 2 and 3 models P1 and P4 fine-tune set ``attention_dropout`` to 0). A
# ``pretrained`` model keeps the dropout its own config has.
RECIPE_DROPOUT = {"gpt2": 0.1, "llama": 0.0}


def recipe_dropout(recipe: str, dropout: float | None) -> float | None:
    """``dropout``, or ``recipe``'s own when it is None (None for a recipe without one)."""
    return RECIPE_DROPOUT.get(recipe) if dropout is None else dropout


@lm_recipes.register("gpt2")
def build_gpt2(cfg: LMConfig, tokenizer):
    from transformers import GPT2Config, GPT2LMHeadModel

    dropout = recipe_dropout("gpt2", cfg.dropout)
    config = GPT2Config(
        vocab_size=len(tokenizer),
        n_positions=cfg.block_size,
        n_embd=cfg.d_model,
        n_layer=cfg.layers,
        n_head=cfg.heads,
        resid_pdrop=dropout,
        embd_pdrop=dropout,
        attn_pdrop=dropout,
        bos_token_id=tokenizer.eos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    return GPT2LMHeadModel(config)


# Every attention and MLP projection of a recipe: what P1 adapts with LoRA
# (lm.finetune.lora.target_modules: null). A pretrained model's names are unknown here, so
# peft finds its linear layers itself ("all-linear", which leaves out the LM head).
PROJECTIONS = {
    "gpt2": ("c_attn", "c_proj", "c_fc"),
    "llama": ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"),
}
ALL_LINEAR = "all-linear"


def lora_target_modules(recipe: str, configured: list[str] | None) -> list[str]:
    """The modules LoRA adapts: ``configured``, or every projection of ``recipe`` when None."""
    if configured is not None:
        return list(configured)
    return list(PROJECTIONS.get(recipe, (ALL_LINEAR,)))


def llama_intermediate_size(d_model: int) -> int:
    """LLaMA's SwiGLU width, 2/3 of 4 d_model (Touvron et al. 2023, Sec. 2), rounded up to a
    multiple of 8: its three matrices then hold about GPT-2's 8 d_model^2 MLP weights."""
    return 8 * math.ceil(8 * d_model / 3 / 8)


@lm_recipes.register("llama")
def build_llama(cfg: LMConfig, tokenizer):
    # P1 fine-tunes LLaMA-family models, whose rotary positions make a prompt cut from the
    # middle of a note mean the same at position 0 as where it stood in the note; with
    # GPT-2's learned absolute positions it does not, and P1's extraction (the L tokens before
    # a split, decoded from position 0) then misses notes the model has memorized.
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=cfg.d_model,
        intermediate_size=llama_intermediate_size(cfg.d_model),
        num_hidden_layers=cfg.layers,
        num_attention_heads=cfg.heads,
        num_key_value_heads=cfg.heads,
        max_position_embeddings=cfg.block_size,
        attention_dropout=recipe_dropout("llama", cfg.dropout),
        tie_word_embeddings=True,
        bos_token_id=tokenizer.eos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    return LlamaForCausalLM(config)


@lm_recipes.register("pretrained")
def load_pretrained_lm(cfg: LMConfig, tokenizer):
    from rotelab.models.seq2seq import from_pretrained

    return from_pretrained("AutoModelForCausalLM", cfg.pretrained, "causal LM")
