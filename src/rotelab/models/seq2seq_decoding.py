"""Batched decoding and teacher-forced token scoring for seq2seq models.

Batches are sorted by source length so little compute goes to padding; each batch is
decoded by ``model.generate`` (encoder once, decoder over its KV cache). A hand-written
greedy loop over the cache was 1.2x faster than ``generate`` on the 2-core CPU but 5.3x
slower on an H200 (``bench/seqkd_throughput.py``), so the library's decoder is used.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from rotelab.scoring.token_scores import TokenScores, distribution_stats
from rotelab.training.seq2seq import pad


@dataclass(frozen=True)
class DecodeConfig:
    """Decoding settings.

    beam: 1 is greedy (P3's default); larger values use beam search.
    batch_size: sources decoded together.
    max_new_tokens: hard cap on output length (hallucination detection needs room to
        oscillate, so keep it well above the longest reference).
    """

    beam: int = 1
    batch_size: int = 64
    max_new_tokens: int = 96


def length_sorted_batches(lengths, batch_size):
    order = np.argsort(lengths, kind="stable")[::-1]
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


def translate(
    model, tokenizer, sources: list[str], cfg: DecodeConfig, max_src_len: int = 128, progress: bool = True
) -> list[str]:
    """Translate ``sources`` in length-sorted batches; outputs keep the input order."""
    if not sources:
        return []
    device = next(model.parameters()).device
    ids = tokenizer(list(sources), truncation=True, max_length=max_src_len)["input_ids"]
    pad_id = tokenizer.pad_token_id
    outputs: list[str | None] = [None] * len(sources)
    batches = length_sorted_batches(np.array([len(i) for i in ids]), cfg.batch_size)
    for idx in tqdm(batches, desc="decode", disable=not progress, mininterval=5.0):
        src = pad([ids[i] for i in idx], pad_id).to(device)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
            gen = model.generate(
                input_ids=src,
                attention_mask=src.ne(pad_id),
                num_beams=cfg.beam,
                max_new_tokens=cfg.max_new_tokens,
                do_sample=False,
            )[:, 1:]
        texts = tokenizer.batch_decode(gen, skip_special_tokens=True)
        for i, text in zip(idx, texts):
            outputs[i] = text.strip()
    return outputs  # type: ignore[return-value]


def continue_targets(
    model,
    tokenizer,
    sources: list[str],
    target_prefixes: list[list[int]],
    max_new_tokens: int,
    batch_size: int = 64,
    max_src_len: int = 128,
) -> list[str]:
    """Greedy continuation of each target prefix (token ids, without the start token) given
    its source: the seq2seq form of prompting a language model with a record's beginning.

    Marian's decoder has no position offsets for left padding, so a batch only holds
    prefixes of one length; within a length, batches are sorted by source length. Returns
    the decoded text of the prefix plus its continuation, in the input order.
    """
    if not sources:
        return []
    device = next(model.parameters()).device
    enc = tokenizer(list(sources), truncation=True, max_length=max_src_len)["input_ids"]
    pad_id, start = tokenizer.pad_token_id, model.config.decoder_start_token_id
    outputs: list[str | None] = [None] * len(sources)
    by_length: dict[int, list[int]] = {}
    for i, prefix in enumerate(target_prefixes):
        by_length.setdefault(len(prefix), []).append(i)
    for members in by_length.values():
        members = np.array(members)
        for batch in length_sorted_batches(np.array([len(enc[i]) for i in members]), batch_size):
            idx = members[batch]
            src = pad([enc[i] for i in idx], pad_id).to(device)
            prefix = torch.tensor([[start, *target_prefixes[i]] for i in idx], device=device)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
                gen = model.generate(
                    input_ids=src,
                    attention_mask=src.ne(pad_id),
                    decoder_input_ids=prefix,
                    num_beams=1,
                    do_sample=False,
                    max_new_tokens=max_new_tokens,
                )[:, 1:]
            for i, text in zip(idx, tokenizer.batch_decode(gen, skip_special_tokens=True)):
                outputs[i] = text.strip()
    return outputs  # type: ignore[return-value]


@torch.inference_mode()
def score_targets(
    model,
    tokenizer,
    sources: list[str],
    targets: list[str],
    batch_size: int = 64,
    max_len: int = 128,
    with_distribution: bool = True,
) -> list[TokenScores]:
    """Per-token log-probabilities of ``targets`` given ``sources`` (one pass, batched).

    ``with_distribution=False`` skips the per-position mean/std (returned as NaN), which
    only min-k%++ needs.
    """
    device = next(model.parameters()).device
    enc = tokenizer(list(sources), truncation=True, max_length=max_len)["input_ids"]
    dec = tokenizer(list(targets), truncation=True, max_length=max_len)["input_ids"]
    pad_id = tokenizer.pad_token_id
    start = model.config.decoder_start_token_id
    results: list[TokenScores | None] = [None] * len(sources)
    for idx in length_sorted_batches(np.array([len(d) for d in dec]), batch_size):
        src = pad([enc[i] for i in idx], pad_id).to(device)
        tgt = pad([dec[i] for i in idx], pad_id).to(device)
        decoder_input = torch.cat([torch.full_like(tgt[:, :1], start), tgt[:, :-1]], dim=1)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
            logits = model(input_ids=src, attention_mask=src.ne(pad_id), decoder_input_ids=decoder_input).logits
        logp = F.log_softmax(logits.float(), dim=-1)
        token_logp = logp.gather(-1, tgt[..., None])[..., 0]
        correct = logp.argmax(-1).eq(tgt)
        if with_distribution:
            mean, std = distribution_stats(logp)
        else:
            mean = std = torch.full_like(token_logp, float("nan"))
        for row, i in enumerate(idx):
            n = len(dec[i])
            results[i] = TokenScores(
                token_logp[row, :n].cpu().numpy(),
                mean[row, :n].cpu().numpy(),
                std[row, :n].cpu().numpy(),
                correct[row, :n].cpu().numpy(),
            )
    return results  # type: ignore[return-value]
