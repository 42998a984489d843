"""Seq2seq training: AdamW with linear warmup and decay, label smoothing, bucketed batches.

On CUDA the loop uses bf16 autocast, fused AdamW and PyTorch's scaled-dot-product
attention; on the CPU it stays in fp32 (bf16 is about 100x slower on these CPUs).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from rotelab.core.device import pick_device
from rotelab.training.linear_cross_entropy import linear_cross_entropy


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation settings for one model.

    steps: optimizer steps (the data is cycled as often as needed).
    batch_size: sentence pairs per step.
    lr / warmup_steps: peak learning rate reached linearly, then linear decay to 10%.
    weight_decay, label_smoothing, grad_clip: the usual regularisers.
    max_len: source and target are truncated to this many tokens.
    seed: initialisation and batch order.
    log_every: steps between training-log rows.
    device: ``auto`` (CUDA when a GPU is assigned), ``cpu`` or ``cuda``.
    compile: run the forward/backward through ``torch.compile``. Batches are then padded
        to one power-of-two width for source and target (at least 8) and kept at
        ``batch_size`` rows, so a handful of static shapes are compiled once each instead
        of a dynamic-shape graph (which was 3x slower on an H200). Pays off on GPUs; costs
        minutes of compilation.
    compile_mode: ``torch.compile`` mode, e.g. ``default`` or ``reduce-overhead`` (CUDA graphs).
    max_tokens: a token budget per step instead of ``batch_size`` (seq2seq only; fairseq's
        ``--max-tokens``): pairs are sorted by length and cut into batches of at most this many
        padded source + target tokens, so a step holds thousands of short pairs or a few long
        ones. With ``compile`` the model is compiled for dynamic shapes.
    """

    steps: int = 2000
    batch_size: int = 32
    lr: float = 2e-3
    warmup_steps: int = 100
    weight_decay: float = 0.01
    label_smoothing: float = 0.1
    grad_clip: float = 1.0
    max_len: int = 64
    seed: int = 1
    log_every: int = 50
    device: str = "auto"
    compile: bool = False
    compile_mode: str = "default"
    max_tokens: int | None = None


def lr_at(step: int, cfg: TrainConfig) -> float:
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    progress = (step - cfg.warmup_steps) / max(1, cfg.steps - cfg.warmup_steps)
    return cfg.lr * (1.0 - 0.9 * min(1.0, progress))


def bucketed_batches(lengths: np.ndarray, batch_size: int, rng: np.random.Generator, full_only: bool = False):
    """Endless batches of similar-length examples in random order (less padding).

    ``full_only`` drops the short remainder batches (unless no full batch exists), so every
    batch has the same number of rows.
    """
    chunk = batch_size * 50
    full_only = full_only and len(lengths) >= batch_size
    while True:
        order = rng.permutation(len(lengths))
        batches = []
        for start in range(0, len(order), chunk):
            part = order[start : start + chunk]
            part = part[np.argsort(lengths[part], kind="stable")]
            batches += [
                part[i : i + batch_size]
                for i in range(0, len(part), batch_size)
                if not full_only or i + batch_size <= len(part)
            ]
        for b in rng.permutation(len(batches)):
            yield batches[b]


def token_budget_batches(src_lengths: np.ndarray, tgt_lengths: np.ndarray, max_tokens: int, rng: np.random.Generator):
    """Endless batches under a token budget, a fresh set every epoch, in random order.

    Pairs are sorted by their longer side, then source, then target length (ties broken at
    random, anew each epoch) and cut greedily: a batch grows while its rows times its widest
    source plus widest target stays within ``max_tokens``. On Ding's phrase pairs (~6 tokens
    a side) a 64k budget pads 14% of the step (sorting by target length alone: 47%). A pair
    longer than the budget is a batch of its own.
    """
    src_lengths, tgt_lengths = np.asarray(src_lengths), np.asarray(tgt_lengths)
    longer = np.maximum(src_lengths, tgt_lengths)
    while True:
        order = np.lexsort((rng.random(len(longer)), tgt_lengths, src_lengths, longer))
        batches, start, src_width, tgt_width = [], 0, 0, 0
        for j, i in enumerate(order):
            wider_src, wider_tgt = max(src_width, src_lengths[i]), max(tgt_width, tgt_lengths[i])
            if j > start and (j - start + 1) * (wider_src + wider_tgt) > max_tokens:
                batches.append(order[start:j])
                start, wider_src, wider_tgt = j, src_lengths[i], tgt_lengths[i]
            src_width, tgt_width = wider_src, wider_tgt
        batches.append(order[start:])
        for b in rng.permutation(len(batches)):
            yield batches[b]


def pad(seqs: list[list[int]], pad_id: int, width: int | None = None) -> torch.Tensor:
    """Right-pad token lists into one tensor (built in numpy: one copy, no per-row tensors),
    ``width`` columns wide (default: the longest list)."""
    width = width or max(len(s) for s in seqs)
    out = np.full((len(seqs), width), pad_id, dtype=np.int64)
    for i, s in enumerate(seqs):
        out[i, : len(s)] = s
    return torch.from_numpy(out)


def static_width(*lengths: int) -> int:
    """A power of two (at least 8) that fits every length: few shapes for ``torch.compile``."""
    return max(8, 1 << (max(lengths) - 1).bit_length())


def encode_pairs(tokenizer, src: list[str], tgt: list[str], max_len: int):
    enc = tokenizer(src, truncation=True, max_length=max_len)["input_ids"]
    dec = tokenizer(tgt, truncation=True, max_length=max_len)["input_ids"]
    return enc, dec


def seq2seq_loss(model, batch, pad_id: int, start_id: int, label_smoothing: float, additive_mask: bool = False):
    """Token-level cross-entropy of the targets (teacher forcing).

    ``additive_mask``: hand the model a prepared (batch, 1, 1, source) float mask instead of
    the 0/1 padding mask. transformers builds its masks with a branch on the mask's values,
    which vmap cannot trace; a 4-D mask is used as given, and this one broadcasts over the
    query axis of both the encoder's self-attention and the decoder's cross-attention (eager
    attention only)."""
    src, tgt = batch
    decoder_input = torch.cat([torch.full_like(tgt[:, :1], start_id), tgt[:, :-1]], dim=1)
    mask = src.ne(pad_id)
    if additive_mask:
        mask = torch.zeros(mask.shape, device=src.device).masked_fill(~mask, torch.finfo(torch.float32).min)
        mask = mask[:, None, None, :]
    logits = model(input_ids=src, attention_mask=mask, decoder_input_ids=decoder_input).logits
    # ignore_index instead of boolean masking keeps shapes static (no host sync, compiles).
    return F.cross_entropy(
        logits.float().flatten(0, 1),
        tgt.flatten(),
        ignore_index=pad_id,
        label_smoothing=label_smoothing,
    )


def seq2seq_loss_fused(body, head, bias, batch, pad_id: int, start_id: int, label_smoothing: float, chunk: int = 8192):
    """:func:`seq2seq_loss` with the output projection fused into the loss
    (:mod:`rotelab.training.linear_cross_entropy`): ``body`` returns the decoder's hidden states
    (the model's ``base_model``), ``head`` and ``bias`` are the output layer's weight and bias."""
    src, tgt = batch
    decoder_input = torch.cat([torch.full_like(tgt[:, :1], start_id), tgt[:, :-1]], dim=1)
    hidden = body(input_ids=src, attention_mask=src.ne(pad_id), decoder_input_ids=decoder_input).last_hidden_state
    return linear_cross_entropy(
        hidden, head, bias, tgt, ignore_index=pad_id, label_smoothing=label_smoothing, chunk=chunk
    )


def train_seq2seq(model, tokenizer, pairs: pd.DataFrame, cfg: TrainConfig, log=print):
    """Train ``model`` in place on ``pairs`` (columns ``src``, ``tgt``); return the log."""
    pad_id = tokenizer.pad_token_id
    start_id = model.config.decoder_start_token_id
    enc, dec = encode_pairs(tokenizer, list(pairs["src"]), list(pairs["tgt"]), cfg.max_len)
    if cfg.max_tokens:
        return train_seq2seq_token_budget(model, enc, dec, pad_id, start_id, cfg, log)
    lengths = np.array([len(e) + len(d) for e, d in zip(enc, dec)])
    batches = bucketed_batches(lengths, cfg.batch_size, np.random.default_rng(cfg.seed), full_only=cfg.compile)

    def next_batch(step, device):
        idx = next(batches)
        src_ids, tgt_ids = [enc[i] for i in idx], [dec[i] for i in idx]
        # Under compile, source and target share one power-of-two width: at most
        # log2(max_len) - 2 shapes to compile (4 at max_len 64).
        width = static_width(*map(len, src_ids), *map(len, tgt_ids)) if cfg.compile else None
        src, tgt = pad(src_ids, pad_id, width), pad(tgt_ids, pad_id, width)
        return (src.to(device), tgt.to(device)), int(lengths[idx].sum())

    return optimise(
        model, next_batch, lambda fwd, batch: seq2seq_loss(fwd, batch, pad_id, start_id, cfg.label_smoothing), cfg, log
    )


def train_seq2seq_token_budget(
    model, enc: list[list[int]], dec: list[list[int]], pad_id: int, start_id: int, cfg: TrainConfig, log=print
) -> pd.DataFrame:
    """:func:`train_seq2seq` with batches under ``cfg.max_tokens`` (:func:`token_budget_batches`).

    On CUDA the output layer is fused into the loss, so no step holds fp32 logits for all its
    tokens, and ``cfg.compile`` compiles the encoder-decoder stack (not the head) for dynamic
    shapes: batch rows and widths change every step. Batches are sliced from two padded
    arrays and copied to the GPU from pinned memory without waiting."""
    device = pick_device(cfg.device)
    cuda = device.type == "cuda"
    src_lengths, tgt_lengths = np.array([len(e) for e in enc]), np.array([len(d) for d in dec])
    # Padded once: a batch is then one fancy index of each array.
    src_all, tgt_all = pad(enc, pad_id).numpy(), pad(dec, pad_id).numpy()
    batches = token_budget_batches(src_lengths, tgt_lengths, cfg.max_tokens, np.random.default_rng(cfg.seed))

    def next_batch(step, device):
        idx = next(batches)
        src = torch.from_numpy(src_all[idx, : src_lengths[idx].max()])
        tgt = torch.from_numpy(tgt_all[idx, : tgt_lengths[idx].max()])
        if cuda:
            src, tgt = src.pin_memory(), tgt.pin_memory()
        tokens = int(src_lengths[idx].sum() + tgt_lengths[idx].sum())
        return (src.to(device, non_blocking=True), tgt.to(device, non_blocking=True)), tokens

    if not cuda:  # the CPU path keeps the model's own head and loss
        return optimise(
            model,
            next_batch,
            lambda fwd, batch: seq2seq_loss(fwd, batch, pad_id, start_id, cfg.label_smoothing),
            cfg,
            log,
        )
    model.to(device)  # first: moving a module replaces its buffers, and the head's bias is one
    body, attention = model.base_model, model.config._attn_implementation
    if cfg.compile:
        # Encoder and decoder layers are called with different arguments: one graph each.
        torch._dynamo.config.cache_size_limit = max(torch._dynamo.config.cache_size_limit, 64)
        # Pairs of ~6 tokens: compiled eager attention (masking, softmax and dropout fused by
        # Inductor) ran at 488k tokens/s on an H200, where fused SDPA kernels, built for long
        # sequences, left the step at 290k-330k (docs/running.md).
        model.set_attn_implementation("eager")
        body = torch.compile(body, dynamic=True, mode=cfg.compile_mode)
    head, bias = model.get_output_embeddings().weight, getattr(model, "final_logits_bias", None)
    try:
        return optimise(
            model,
            next_batch,
            lambda _, batch: seq2seq_loss_fused(body, head, bias, batch, pad_id, start_id, cfg.label_smoothing),
            replace(cfg, compile=False),
            log,
        )
    finally:
        model.set_attn_implementation(attention)


def train_seq2seq_ensemble(
    models: list, tokenizer, subsets: list[pd.DataFrame], cfg: TrainConfig, seeds: list[int], log=print
) -> list[pd.DataFrame]:
    """Train ``models[k]`` on ``subsets[k]`` (columns ``src``, ``tgt``) in place, all K at once
    as one batched ensemble (:mod:`rotelab.models.ensemble`); return each model's training log.

    Model k gets the batches :func:`train_seq2seq` would give it with ``seed=seeds[k]``, in the
    same order, under the same AdamW, schedule, label smoothing and clipping. Each step's K
    batches are padded to one shape, which changes no model's loss: extra rows repeat a real
    source under an all-padding target (no target tokens: no loss, no gradient), extra source
    columns are masked, and extra target columns follow the real tokens, where the causal
    decoder cannot see them and the loss ignores them. So with dropout 0 the models end where
    K runs of :func:`train_seq2seq` would, to float tolerance (tested); with dropout they draw
    independent masks. ``cfg.compile`` does not apply (see :func:`optimise_ensemble`).
    """
    if not len(models) == len(subsets) == len(seeds):
        raise ValueError("one training subset and one seed per model")
    device = pick_device(cfg.device)
    pad_id = tokenizer.pad_token_id
    start_id = models[0].config.decoder_start_token_id
    streams = []
    for subset, seed in zip(subsets, seeds):
        enc, dec = encode_pairs(tokenizer, list(subset["src"]), list(subset["tgt"]), cfg.max_len)
        lengths = np.array([len(e) + len(d) for e, d in zip(enc, dec)])
        streams.append((enc, dec, lengths, bucketed_batches(lengths, cfg.batch_size, np.random.default_rng(seed))))
    step_tokens = np.zeros((cfg.steps, len(models)))

    def next_batch(step):
        picks = [(enc, dec, next(batches)) for enc, dec, _, batches in streams]
        src_width = max(len(enc[i]) for enc, _, idx in picks for i in idx)
        tgt_width = max(len(dec[i]) for _, dec, idx in picks for i in idx)
        sources, targets = [], []
        for k, ((enc, dec, idx), (_, _, lengths, _)) in enumerate(zip(picks, streams)):
            step_tokens[step, k] = lengths[idx].sum()
            fill = cfg.batch_size - len(idx)
            sources.append(pad([enc[i] for i in idx] + [enc[idx[0]]] * fill, pad_id, src_width))
            targets.append(pad([dec[i] for i in idx] + [[]] * fill, pad_id, tgt_width))
        return {"src": torch.stack(sources).to(device), "tgt": torch.stack(targets).to(device)}

    def loss(forward, batch):
        return seq2seq_loss(
            forward, (batch["src"], batch["tgt"]), pad_id, start_id, cfg.label_smoothing, additive_mask=True
        )

    return optimise_ensemble(models, next_batch, loss, cfg, seeds, step_tokens, log)


def optimise_ensemble(
    models: list, next_batch, loss_fn, cfg: TrainConfig, seeds: list[int], step_tokens: np.ndarray, log=print
) -> list[pd.DataFrame]:
    """:func:`optimise` for K models of one architecture at once (:mod:`rotelab.models.ensemble`):
    the same AdamW groups, schedule, clipping and bf16 autocast on CUDA; the trained weights
    are copied back into ``models``. ``next_batch(step)`` gives every model's batch with a
    leading K axis and fills ``step_tokens[step]`` (tokens per model), from which each
    model's log gets its tokens/s. Attention runs eager: fused attention's backward fails
    under vmap on CUDA."""
    from rotelab.models.ensemble import Ensemble, fit_ensemble

    device = pick_device(cfg.device)
    torch.manual_seed(seeds[0])  # dropout masks
    for model in models:
        model.to(device).train()
    ensemble = Ensemble(models)
    ensemble.template.set_attn_implementation("eager")
    cuda = device.type == "cuda"
    optimizer = adamw(list(ensemble.params.values()), cfg, fused=cuda, stacked=True)
    start = time.perf_counter()
    rows = fit_ensemble(
        ensemble,
        next_batch,
        loss_fn,
        optimizer,
        cfg.steps,
        cfg.grad_clip or None,
        lr_at=lambda step: lr_at(step, cfg),
        bf16=cuda,
        log=log,
        log_every=cfg.log_every,
    )
    seconds = (time.perf_counter() - start) / cfg.steps  # the same for every model: they ran together
    logs = []
    for k, model in enumerate(models):
        ensemble.model(k, model).eval()
        logs.append(
            pd.DataFrame(
                [
                    {
                        "step": row["step"],
                        "loss": float(row["loss"][k]),
                        "lr": lr_at(row["step"] - 1, cfg),
                        "tokens_per_s": step_tokens[previous : row["step"], k].sum()
                        / (seconds * (row["step"] - previous)),
                    }
                    for previous, row in zip([0] + [r["step"] for r in rows], rows)
                ]
            )
        )
        if not math.isfinite(logs[-1]["loss"].iloc[-1]):
            raise FloatingPointError(f"training diverged: model {k}'s final loss is not finite")
    return logs


def adamw(params: list[torch.Tensor], cfg: TrainConfig, fused: bool, stacked: bool = False):
    """AdamW over the trainable ``params`` with weight decay on weight matrices only (not on
    biases and norms). ``stacked``: the parameters of an ensemble, one model per leading row."""
    trainable = [p for p in params if p.requires_grad]
    matrix = 3 if stacked else 2
    return torch.optim.AdamW(
        [
            {"params": [p for p in trainable if p.ndim >= matrix], "weight_decay": cfg.weight_decay},
            {"params": [p for p in trainable if p.ndim < matrix], "weight_decay": 0.0},
        ],
        lr=cfg.lr,
        betas=(0.9, 0.98),
        fused=fused,
    )


def optimise(model, next_batch, loss_fn, cfg: TrainConfig, log=print, optimizer=None, on_log=None) -> pd.DataFrame:
    """The training loop every model family shares: AdamW (unless ``optimizer`` is given)
    with warmup and decay, bf16 autocast on CUDA, gradient clipping, a log row every
    ``cfg.log_every`` steps. ``next_batch(step, device)`` returns (batch, tokens in it);
    ``loss_fn(forward, batch)`` the mean loss; ``on_log(row)`` may add columns to a log row
    and returns True to stop early."""
    device = pick_device(cfg.device)
    torch.manual_seed(cfg.seed)
    model.to(device).train()
    cuda = device.type == "cuda"
    forward = model
    if cfg.compile:
        torch._dynamo.config.cache_size_limit = max(torch._dynamo.config.cache_size_limit, 16)
        forward = torch.compile(model, dynamic=False, mode=cfg.compile_mode)
    if optimizer is None:
        optimizer = adamw(list(model.parameters()), cfg, fused=cuda)
    rows = []
    tokens_since, t_since = 0, time.perf_counter()
    # Losses stay on the device until a log row is written: a .item() per step would stall
    # the GPU queue every step.
    loss_sum, loss_count = torch.zeros((), device=device), 0
    bar = tqdm(range(cfg.steps), desc="train", mininterval=5.0)
    for step in bar:
        batch, n_tokens = next_batch(step, device)
        tokens_since += n_tokens
        for group in optimizer.param_groups:
            group["lr"] = lr_at(step, cfg)
        # Gradients are cleared before the loss: a loss_fn may run backward passes of its own
        # (DP-SGD's length groups, each a micro-batch of per-sample gradients).
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=cuda):
            loss = loss_fn(forward, batch)
        loss.backward()
        if cfg.grad_clip:
            torch.nn.utils.clip_grad_norm_([p for p in model.parameters() if p.requires_grad], cfg.grad_clip)
        optimizer.step()
        loss_sum += loss.detach()
        loss_count += 1
        if (step + 1) % cfg.log_every == 0 or step + 1 == cfg.steps:
            mean_loss = loss_sum.item() / loss_count  # synchronises the device
            elapsed = time.perf_counter() - t_since
            row = {
                "step": step + 1,
                "loss": mean_loss,
                "lr": lr_at(step, cfg),
                "tokens_per_s": tokens_since / elapsed,
            }
            log(f"step {row['step']} loss {row['loss']:.4f} lr {row['lr']:.2e} tok/s {row['tokens_per_s']:.0f}")
            stop = bool(on_log and on_log(row))
            rows.append(row)
            bar.set_postfix(loss=f"{row['loss']:.3f}")
            if stop:
                log(f"stopping early at step {row['step']}")
                break
            loss_sum.zero_()
            loss_count, tokens_since, t_since = 0, 0, time.perf_counter()
    model.eval()
    if not math.isfinite(rows[-1]["loss"]):
        raise FloatingPointError("training diverged: final loss is not finite")
    return pd.DataFrame(rows)
