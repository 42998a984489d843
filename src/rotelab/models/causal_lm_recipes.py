"""Causal-LM architectures: their config and the recipes that build them
(``lm.base.model.recipe``), apart from the models' code so that config checks list the
recipes without importing torch; each builder imports what it needs."""

from __future__ import annotations

from dataclasses import dataclass

from rotelab.core.registry import Registry

lm_recipes: Registry = Registry("causal LM recipe")


@dataclass(frozen=True)
class LMConfig:
    """A causal LM architecture.

    recipe: ``gpt2`` builds a GPT-2 from a transformers config; ``pretrained`` loads
        ``pretrained`` (a Hugging Face id or a local path).
    d_model, layers, heads: transformer sizes (heads must divide d_model).
    block_size: tokens per training sequence and the position table's length.
    dropout: on residuals, attention and embeddings.
    """

    recipe: str = "gpt2"
    d_model: int = 128
    layers: int = 4
    heads: int = 4
    block_size: int = 128
    dropout: float = 0.1
    pretrained: str | None = None


@lm_recipes.register("gpt2")
def build_gpt2(cfg: LMConfig, tokenizer):
    from transformers import GPT2Config, GPT2LMHeadModel

    config = GPT2Config(
        vocab_size=len(tokenizer),
        n_positions=cfg.block_size,
        n_embd=cfg.d_model,
        n_layer=cfg.layers,
        n_head=cfg.heads,
        resid_pdrop=cfg.dropout,
        embd_pdrop=cfg.dropout,
        attn_pdrop=cfg.dropout,
        bos_token_id=tokenizer.eos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    return GPT2LMHeadModel(config)


@lm_recipes.register("pretrained")
def load_pretrained_lm(cfg: LMConfig, tokenizer):
    from rotelab.models.seq2seq import from_pretrained

    return from_pretrained("AutoModelForCausalLM", cfg.pretrained, "causal LM")
