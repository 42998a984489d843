"""Fine-tuning steps of the causal-LM track: whole padded batches against length groups.

P1's fine-tuning batches mix short QA pairs with ~175-token patient notes; padded to their
longest row, most of a batch's tokens are padding. ``causal_lm.grouped_rows`` computes a batch
in length groups instead, each padded to its own longest row, with the same loss and gradient
(``tests/test_causal_lm.py``). This benchmark times one optimizer step (forward, backward,
AdamW) of the default base (LLaMA recipe, d 128, 4 layers) both ways, side by side in one
process on the same batches, for several per-group overheads, and prints seconds per step,
the share of computed tokens that are padding, and the ratios against whole batches.

Batches are drawn as the default run's are: 16 rows at random from a pool of random token
ids whose lengths follow P1's fine-tuning data at 5 notes per group (535 QA pairs and audit
records of 21-60 tokens, 55 note copies of 150-175 tokens).

    .venv/bin/python bench/length_groups.py                      # 1 thread, 60 steps per variant
    .venv/bin/python bench/length_groups.py --threads 2 --steps 100 --json
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch


def synthetic_lengths(rng: np.random.Generator) -> np.ndarray:
    """Example lengths shaped like P1's default-scale fine-tuning data."""
    short = rng.integers(21, 61, size=535)
    notes = rng.integers(150, 176, size=55)
    return np.concatenate([short, notes])


def rows_of(lengths: np.ndarray, vocab: int, rng: np.random.Generator) -> np.ndarray:
    from rotelab.models.causal_lm import IGNORE_INDEX

    width = int(lengths.max())
    rows = np.full((len(lengths), width + 1), IGNORE_INDEX, dtype=np.int64)
    for row, n in zip(rows, lengths):
        row[:n] = rng.integers(5, vocab, size=n)
    return rows


def time_steps(model, batches, overhead: int | None) -> tuple[float, float]:
    """Seconds per optimizer step and padding share; ``overhead`` None: whole batches."""
    from rotelab.models.causal_lm import IGNORE_INDEX, grouped_loss, grouped_rows, next_token_loss, trim

    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    loss_of_groups = grouped_loss()
    computed = real = 0
    start = time.perf_counter()
    for batch in batches:
        if overhead is None:
            tensors = [torch.from_numpy(trim(batch))]
            loss = next_token_loss(model, tensors[0])
        else:
            tensors = grouped_rows(batch, "cpu", overhead)
            loss = loss_of_groups(model, tensors)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        computed += sum(t[:, 1:].numel() for t in tensors)
        real += int((batch[:, 1:] != IGNORE_INDEX).sum())
    return (time.perf_counter() - start) / len(batches), 1 - real / computed


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--overheads", type=int, nargs="+", default=[0, 128, 256, 512])
    parser.add_argument("--repeats", type=int, default=2, help="alternating rounds; the median is reported")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    from rotelab.models.causal_lm import LMConfig, build_lm

    class Vocabulary:
        """What the recipe reads of a tokenizer: the default run's 4k BPE vocabulary."""

        eos_token_id, pad_token_id = 1, 0

        def __len__(self):
            return 4000

    vocab = len(Vocabulary())
    # The default config's lm.base.model as the committed results measured it: with attention
    # dropout 0.1, the default until e0e9da7 (now 0; dropout costs no matmul either way).
    model = build_lm(
        LMConfig("llama", d_model=128, layers=4, heads=4, block_size=256, dropout=0.1), Vocabulary()
    ).train()
    rng = np.random.default_rng(0)
    pool = rows_of(synthetic_lengths(rng), vocab, rng)
    batches = [pool[rng.choice(len(pool), args.batch, replace=False)] for _ in range(args.steps)]
    variants = [("whole batches", None)] + [(f"length groups, overhead {o}", o) for o in args.overheads]
    seconds = {name: [] for name, _ in variants}
    padding = {}
    time_steps(model, batches[:5], None)  # warm-up
    for _ in range(args.repeats):
        for name, overhead in variants:
            step_s, padding[name] = time_steps(model, batches, overhead)
            seconds[name].append(step_s)
    base = float(np.median(seconds["whole batches"]))
    results = [
        {
            "variant": name,
            "s_per_step": float(np.median(seconds[name])),
            "padding_share": padding[name],
            "speedup_vs_whole": base / float(np.median(seconds[name])),
        }
        for name, _ in variants
    ]
    if args.json:
        print(json.dumps({"threads": args.threads, "steps": args.steps, "batch": args.batch, "results": results}))
        return
    print(f"{args.steps} steps of {args.batch} rows, {args.threads} thread(s), median of {args.repeats}")
    for r in results:
        print(
            f"{r['variant']:<32} {r['s_per_step'] * 1000:7.1f} ms/step  padding {r['padding_share']:5.1%}"
            f"  x{r['speedup_vs_whole']:.2f}"
        )


if __name__ == "__main__":
    main()
