"""Joint byte-level BPE for source and target, trained with ``tokenizers``.

Byte-level BPE never produces unknown tokens, so canaries (names, digits) that are not in
the tokenizer's training text still encode losslessly; that is why the tokenizer can be
trained on the corpus alone and stays cached when canaries change.
"""

from __future__ import annotations

from pathlib import Path

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import PreTrainedTokenizerFast

SPECIAL_TOKENS = {"pad_token": "<pad>", "eos_token": "</s>", "unk_token": "<unk>", "bos_token": "<s>"}


def train_bpe(texts, vocab_size: int, min_frequency: int = 2) -> PreTrainedTokenizerFast:
    tok = Tokenizer(models.BPE(unk_token=SPECIAL_TOKENS["unk_token"]))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=min_frequency,
        special_tokens=list(SPECIAL_TOKENS.values()),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer=trainer)
    eos = SPECIAL_TOKENS["eos_token"]
    tok.post_processor = processors.TemplateProcessing(
        single=f"$A {eos}", special_tokens=[(eos, tok.token_to_id(eos))]
    )
    return PreTrainedTokenizerFast(tokenizer_object=tok, **SPECIAL_TOKENS)


def load_tokenizer(path: str | Path) -> PreTrainedTokenizerFast:
    """Load a saved tokenizer directory (or a Hugging Face tokenizer id/path)."""
    path = Path(path)
    file = path / "tokenizer.json"
    if file.exists():
        # GPT2TokenizerFast(vocab_file=..., merges_file=...) silently returns empty ids in
        # current transformers; the tokenizer file is the reliable way in.
        return PreTrainedTokenizerFast(tokenizer_file=str(file), **SPECIAL_TOKENS)
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(path))
