"""Model recipes: build a seq2seq model from a config, or load one by id/path.

transformers is imported lazily so that config checks (which read the registry) stay fast.
"""

from __future__ import annotations

from dataclasses import dataclass

from rotelab.core.registry import Registry

model_recipes: Registry = Registry("model recipe")


@dataclass(frozen=True)
class ModelConfig:
    """A seq2seq architecture.

    recipe: registered recipe (``marian``: Marian-style encoder-decoder built from scratch;
        ``pretrained``: load ``pretrained`` by Hugging Face id or local path).
    d_model, encoder_layers, decoder_layers, heads, ffn_dim: transformer sizes.
    dropout: dropout on attention, activations and residuals.
    max_positions: longest sequence the position table covers.
    pretrained: model id or path for the ``pretrained`` recipe.
    """

    recipe: str = "marian"
    d_model: int = 128
    encoder_layers: int = 2
    decoder_layers: int = 2
    heads: int = 4
    ffn_dim: int = 256
    dropout: float = 0.1
    max_positions: int = 256
    pretrained: str | None = None


@model_recipes.register("marian")
def build_marian(cfg: ModelConfig, tokenizer):
    from transformers import MarianConfig, MarianMTModel

    config = MarianConfig(
        vocab_size=len(tokenizer),
        decoder_vocab_size=len(tokenizer),
        d_model=cfg.d_model,
        encoder_layers=cfg.encoder_layers,
        decoder_layers=cfg.decoder_layers,
        encoder_attention_heads=cfg.heads,
        decoder_attention_heads=cfg.heads,
        encoder_ffn_dim=cfg.ffn_dim,
        decoder_ffn_dim=cfg.ffn_dim,
        dropout=cfg.dropout,
        attention_dropout=cfg.dropout,
        activation_dropout=cfg.dropout,
        max_position_embeddings=cfg.max_positions,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        # Marian starts decoding from the pad token.
        decoder_start_token_id=tokenizer.pad_token_id,
        forced_eos_token_id=tokenizer.eos_token_id,
        scale_embedding=True,
        share_encoder_decoder_embeddings=True,
        tie_word_embeddings=True,
    )
    return MarianMTModel(config)


@model_recipes.register("pretrained")
def load_pretrained(cfg: ModelConfig, tokenizer):
    return from_pretrained("AutoModelForSeq2SeqLM", cfg.pretrained, "model")


def from_pretrained(auto_class: str, pretrained: str | None, kind: str):
    """A Hugging Face model id or local path, loaded through transformers' ``auto_class``."""
    if not pretrained:
        raise ValueError(f"{kind} recipe 'pretrained' needs model.pretrained (a model id or path)")
    import transformers

    return getattr(transformers, auto_class).from_pretrained(pretrained)


def build_model(cfg, tokenizer, seed: int, recipes=model_recipes):
    """A fresh model from ``cfg.recipe`` in ``recipes``, initialised from ``seed``."""
    import torch

    torch.manual_seed(seed)
    return recipes.get(cfg.recipe)(cfg, tokenizer)


def load_model(path, device="cpu", auto_class: str = "AutoModelForSeq2SeqLM"):
    """Load a trained checkpoint directory (safetensors only) for inference;
    ``auto_class="AutoModelForCausalLM"`` for the causal-LM track."""
    import transformers

    model = getattr(transformers, auto_class).from_pretrained(str(path), use_safetensors=True)
    return model.to(device).eval()


def count_parameters(model) -> int:
    return sum(p.numel() for p in model.parameters())


def load_checkpoint(path, device: str = "auto", threads: int | None = None, auto_class: str = "AutoModelForSeq2SeqLM"):
    """(model, tokenizer) of a trained checkpoint directory, ready for inference on the
    device this job was given and with the threads Snakemake assigned."""
    from rotelab.core.device import pick_device, set_threads
    from rotelab.data.tokenizer import load_tokenizer

    set_threads(threads)
    return load_model(path, pick_device(device), auto_class), load_tokenizer(path)


def save_checkpoint(directory, model, tokenizer, log) -> None:
    """A trained model as a Hugging Face directory: safetensors weights, its tokenizer and
    the training log (``training_log.parquet``). ``directory`` is usually an ``atomic_dir``."""
    from pathlib import Path

    model.save_pretrained(directory, safe_serialization=True)
    tokenizer.save_pretrained(directory)
    log.to_parquet(Path(directory) / "training_log.parquet", index=False, compression="zstd")
