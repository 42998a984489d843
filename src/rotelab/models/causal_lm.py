"""Causal language models for the P1 track: building, pretraining to a plateau, scoring.

A base model is pretrained once (a cached stage) on packed English text; every fine-tuning
regime starts from it, because LoRA on a random-init model is meaningless.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from rotelab.core.device import pick_device
from rotelab.models.causal_lm_recipes import LMConfig, lm_recipes
from rotelab.models.seq2seq import build_model
from rotelab.training.seq2seq import TrainConfig, optimise, optimise_ensemble

# Targets (and padding) that no loss counts: the cross-entropy default.
IGNORE_INDEX = -100


@dataclass(frozen=True)
class PlateauConfig:
    """Stop pretraining once validation loss stops improving.

    eval_every: steps between validation passes.
    patience: passes without an improvement of at least ``min_delta`` before stopping
        (``train.steps`` stays the upper bound).
    """

    eval_every: int = 250
    patience: int = 3
    min_delta: float = 0.01


def build_lm(cfg: LMConfig, tokenizer, seed: int = 0):
    return build_model(cfg, tokenizer, seed, recipes=lm_recipes)


def pack(tokenizer, texts, block_size: int) -> np.ndarray:
    """Token ids of ``texts`` (each ending in EOS) concatenated and cut into rows of
    ``block_size + 1`` (inputs plus the next-token targets); the ragged tail is dropped.
    For pretraining only: fine-tuning trains whole examples (:func:`example_rows`)."""
    ids = tokenizer(list(texts))["input_ids"]
    stream = np.fromiter((t for doc in ids for t in doc), dtype=np.int64)
    n = (len(stream) - 1) // block_size
    if n < 1:
        raise ValueError(f"{len(stream)} tokens are fewer than one block of {block_size}")
    return np.stack([stream[i * block_size : i * block_size + block_size + 1] for i in range(n)])


def example_rows(tokenizer, texts, block_size: int) -> np.ndarray:
    """One row of ``block_size + 1`` ids per text, for per-example fine-tuning: the text
    and its EOS from position 0, truncated to the row and padded with ``IGNORE_INDEX``.

    Rows are never packed together: one row is one example, the unit of an epoch and of
    DP-SGD's privacy guarantee (P1 and P4 fine-tune per sample). Each starts at position 0
    with no token before it, as every scorer (notes, QA utility, extraction, P4's prefixes)
    presents a text to the model."""
    if not len(texts):
        raise ValueError("no fine-tuning examples")
    rows = np.full((len(texts), block_size + 1), IGNORE_INDEX, dtype=np.int64)
    for row, ids in zip(rows, tokenizer(list(texts))["input_ids"]):
        ids = ids[: block_size + 1]
        row[: len(ids)] = ids
    return rows


def truncated(rows: np.ndarray) -> int:
    """How many examples :func:`example_rows` cut short (their closing EOS did not fit)."""
    return int((rows[:, -1] != IGNORE_INDEX).sum())


def trim(batch: np.ndarray) -> np.ndarray:
    """``batch`` without the trailing columns that are padding in every row (as little
    width as the longest example needs; right padding changes no loss under causal
    attention)."""
    used = np.flatnonzero((batch != IGNORE_INDEX).any(axis=tuple(range(batch.ndim - 1))))
    return batch[..., : max(2, int(used[-1]) + 1 if used.size else 2)]


class EpochOrder:
    """Batches of example indices: every epoch a fresh seeded permutation of the ``n``
    examples, cut into ``ceil(n / batch_size)`` batches (the last one smaller), so each
    example is trained exactly once per epoch, as a data loader with shuffling does."""

    def __init__(self, n: int, batch_size: int, seed: int):
        self.n, self.batch_size = n, batch_size
        self.rng = np.random.default_rng(seed)
        self.pending: list[np.ndarray] = []

    def next(self) -> np.ndarray:
        if not self.pending:
            order = self.rng.permutation(self.n)
            self.pending = [order[i : i + self.batch_size] for i in range(0, self.n, self.batch_size)][::-1]
        return self.pending.pop()


def epoch_steps(n_examples: int, epochs: float, batch_size: int) -> int:
    """Optimizer steps for ``epochs`` passes of :class:`EpochOrder` over ``n_examples``."""
    return max(1, math.ceil(epochs * math.ceil(n_examples / batch_size)))


def next_token_nll(forward, batch: torch.Tensor, drop=None) -> tuple[torch.Tensor, torch.Tensor]:
    """Summed next-token cross-entropy over the targets that are not ``IGNORE_INDEX``, and
    how many there are. ``drop(targets)``, if given, masks further targets out of both (e.g.
    the goldfish loss's hashed 1/k)."""
    targets = batch[:, 1:]
    if drop is not None:
        targets = targets.masked_fill(drop(targets), IGNORE_INDEX)
    logits = forward(input_ids=model_inputs(batch)).logits
    nll = F.cross_entropy(logits.float().flatten(0, 1), targets.flatten(), ignore_index=IGNORE_INDEX, reduction="sum")
    return nll, targets.ne(IGNORE_INDEX).sum()


def next_token_loss(forward, batch: torch.Tensor) -> torch.Tensor:
    """Mean next-token cross-entropy over the targets that are not ``IGNORE_INDEX``."""
    total, count = next_token_nll(forward, batch)
    return total / count


# What one more forward and backward pass costs beyond its tokens, in padded tokens: a batch
# is split into length groups only where that saves more padding than this. Small on CPU:
# bench/length_groups.py (the default base, one thread) measured steps 2.9x faster than whole
# batches with overheads 0 and 128, 2.5x with 256.
GROUP_OVERHEAD_TOKENS = 64


def length_groups(lengths: np.ndarray, overhead: int = GROUP_OVERHEAD_TOKENS, max_groups: int = 3) -> list[np.ndarray]:
    """The rows of a batch (their ``lengths`` in tokens) split into groups of similar length,
    as few as pay for themselves: each group pads only to its own longest row, so a batch of
    short QA pairs and a few ~175-token notes stops computing the pairs at the notes' width
    (unsplit, 65% of P1's fine-tuning tokens were padding). The groups are contiguous runs
    of the rows sorted by length that minimise padded tokens plus ``overhead`` per group."""
    order = np.argsort(lengths, kind="stable")
    ranked = lengths[order]
    n = len(ranked)
    # best[g][i]: least cost of the first i sorted rows in g groups; cut[g][i] its last group's start.
    best = np.full((max_groups + 1, n + 1), np.inf)
    cut = np.zeros((max_groups + 1, n + 1), dtype=int)
    best[0][0] = 0
    for g in range(1, max_groups + 1):
        for i in range(1, n + 1):
            starts = np.arange(i)
            costs = best[g - 1][:i] + (i - starts) * ranked[i - 1] + overhead
            cut[g][i] = int(np.argmin(costs))
            best[g][i] = costs[cut[g][i]]
    g = int(np.argmin(best[1:, n])) + 1
    groups, end = [], n
    for level in range(g, 0, -1):
        start = cut[level][end]
        groups.append(order[start:end])
        end = start
    return groups[::-1]


def grouped_rows(batch: np.ndarray, device, overhead: int | None = None) -> list[torch.Tensor]:
    """``batch`` as its :func:`length_groups`, each trimmed to its own width, on ``device``
    (``overhead``: :data:`GROUP_OVERHEAD_TOKENS` unless given)."""
    lengths = (batch != IGNORE_INDEX).sum(axis=1)
    overhead = GROUP_OVERHEAD_TOKENS if overhead is None else overhead
    return [torch.from_numpy(trim(batch[rows])).to(device) for rows in length_groups(lengths, overhead)]


def grouped_loss(nll=next_token_nll):
    """The loss of a batch given as length groups: the mean of ``nll``'s token losses over
    all groups together, the number :func:`next_token_loss` gives for the whole batch."""

    def loss(forward, groups: list[torch.Tensor]) -> torch.Tensor:
        sums, counts = zip(*(nll(forward, group) for group in groups))
        return torch.stack(sums).sum() / torch.stack(counts).sum()

    return loss


def model_inputs(batch: torch.Tensor) -> torch.Tensor:
    """The input ids of next-token rows. Padding positions get token 0: they come after a
    row's last target, so under causal attention they reach no scored position."""
    return batch[:, :-1].clamp(min=0)


@torch.inference_mode()
def mean_loss(model, blocks: np.ndarray, batch_size: int = 32, pad_id: int = -100) -> float:
    """Token-weighted mean next-token loss of ``blocks`` (eval mode, no dropout)."""
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    for start in range(0, len(blocks), batch_size):
        batch = torch.from_numpy(blocks[start : start + batch_size]).to(device)
        targets = batch[:, 1:].masked_fill(batch[:, 1:] == pad_id, IGNORE_INDEX)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
            logits = model(input_ids=model_inputs(batch)).logits
        nll = F.cross_entropy(
            logits.float().flatten(0, 1), targets.flatten(), ignore_index=IGNORE_INDEX, reduction="sum"
        )
        total += float(nll)
        count += int(targets.ne(IGNORE_INDEX).sum())
    model.train(was_training)
    return total / max(count, 1)


def train_lm(
    model, tokenizer, texts, cfg: TrainConfig, block_size: int, log=print, on_log=None, nll=next_token_nll
) -> pd.DataFrame:
    """Fine-tune on ``texts`` as examples (:func:`example_rows`) in :class:`EpochOrder` for
    ``cfg.steps`` steps (``on_log`` as in ``training.optimise``: may add log columns and stop
    early; ``nll(forward, rows)`` replaces the plain summed next-token loss and its token
    count, e.g. goldfish). Each batch is computed in :func:`length_groups`; its loss is the
    mean over all its targets, as if it were one padded tensor."""
    rows = example_rows(tokenizer, texts, block_size)
    if truncated(rows):
        log(f"{truncated(rows)} of {len(rows)} examples are longer than {block_size} tokens and were truncated")
    order = EpochOrder(len(rows), cfg.batch_size, cfg.seed)

    def next_batch(step, device):
        batch = rows[order.next()]
        return grouped_rows(batch, device), int((batch[:, 1:] != IGNORE_INDEX).sum())

    return optimise(model, next_batch, grouped_loss(nll), cfg, log, on_log=on_log)


def train_lm_ensemble(
    models: list, tokenizer, texts: list[list[str]], cfg: TrainConfig, block_size: int, seeds: list[int], log=print
) -> list[pd.DataFrame]:
    """Train ``models[k]`` on ``texts[k]`` in place, all K at once as one batched ensemble
    (e.g. K reference fine-tunes of one base); return each model's training log.

    Model k draws the batches :func:`train_lm` would draw with ``seed=seeds[k]``, under the
    same optimisation (:func:`training.optimise_ensemble`). The K batches stack to one
    shape per length group: a short batch (an epoch's last) is filled with rows of padding
    only, which hold no target and so change no model's mean loss. With dropout 0 the models
    end where K runs of :func:`train_lm` would, to float tolerance (tested)."""
    if not len(models) == len(texts) == len(seeds):
        raise ValueError("one text list and one seed per model")
    device = pick_device(cfg.device)
    rows = [example_rows(tokenizer, model_texts, block_size) for model_texts in texts]
    orders = [EpochOrder(len(r), cfg.batch_size, seed) for r, seed in zip(rows, seeds)]
    step_tokens = np.zeros((cfg.steps, len(models)))
    filler = np.full((cfg.batch_size, block_size + 1), IGNORE_INDEX, dtype=np.int64)

    def next_batch(step):
        batches = [r[order.next()] for r, order in zip(rows, orders)]
        step_tokens[step] = [(b[:, 1:] != IGNORE_INDEX).sum() for b in batches]
        stacked = np.stack([np.concatenate([b, filler[len(b) :]]) for b in batches])
        # Length groups of one shape for every model: each model's rows sorted by length, a
        # group a run of ranks, as wide as its longest row in any model.
        lengths = (stacked != IGNORE_INDEX).sum(axis=-1)
        ranked = np.take_along_axis(stacked, np.argsort(lengths, axis=1, kind="stable")[..., None], axis=1)
        widths = np.sort(lengths, axis=1).max(axis=0)
        return [torch.from_numpy(trim(ranked[:, ranks])).to(device) for ranks in length_groups(widths)]

    return optimise_ensemble(models, next_batch, grouped_loss(), cfg, seeds, step_tokens, log)


def train_packed(model, tokenizer, texts, cfg: TrainConfig, block_size: int, log=print, on_log=None) -> pd.DataFrame:
    """Next-token training on random packed blocks of ``texts`` (pretraining: documents are
    a stream, not examples)."""
    blocks = pack(tokenizer, texts, block_size)
    rng = np.random.default_rng(cfg.seed)

    def next_batch(step, device):
        rows = rng.integers(0, len(blocks), size=cfg.batch_size)
        return torch.from_numpy(blocks[rows]).to(device), cfg.batch_size * block_size

    return optimise(model, next_batch, next_token_loss, cfg, log, on_log=on_log)


def pretrain(
    model, tokenizer, train_texts, valid_texts, cfg: TrainConfig, plateau: PlateauConfig, block_size: int, log=print
) -> pd.DataFrame:
    """Train until validation loss plateaus (or ``cfg.steps``); the log gains ``val_loss``
    and ``val_ppl`` at every evaluation."""
    valid = pack(tokenizer, valid_texts, block_size)
    cfg = replace(cfg, log_every=math.gcd(cfg.log_every, plateau.eval_every))  # a log row at every evaluation
    state = {"best": math.inf, "stale": 0}

    def evaluate(row):
        if row["step"] % plateau.eval_every and row["step"] != cfg.steps:
            return False
        row["val_loss"] = mean_loss(model, valid, pad_id=tokenizer.pad_token_id)
        row["val_ppl"] = math.exp(min(row["val_loss"], 50))
        log(f"step {row['step']} validation loss {row['val_loss']:.4f} (ppl {row['val_ppl']:.1f})")
        if row["val_loss"] < state["best"] - plateau.min_delta:
            state["best"], state["stale"] = row["val_loss"], 0
            return False
        state["stale"] += 1
        return state["stale"] >= plateau.patience

    return train_packed(model, tokenizer, train_texts, cfg, block_size, log, on_log=evaluate)
