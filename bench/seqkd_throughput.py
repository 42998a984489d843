"""Training and decoding throughput of rotelab's loops against transformers' own, side by side.

Same model configuration, same data, same batch size, one process:

* training: ``rotelab.training.seq2seq.train_seq2seq`` (bucketed batches, bf16 autocast + fused
  AdamW on CUDA, optional torch.compile) vs ``transformers.Seq2SeqTrainer``;
* decoding: ``rotelab.models.seq2seq_decoding.translate`` (length-sorted batches through
  ``model.generate``) vs ``model.generate`` on batches in input order.

Throughput is tokens/s (source + target tokens for training, generated tokens for
decoding). With ``--max-tokens`` both training loops get the same token-budget batches
(``rotelab.training.seq2seq.token_budget_batches``, from one seed) and the FLOPs are counted per
batch from its real (unpadded) lengths by :func:`train_flops`: 6 x the multiply-adds of the
forward pass (every weight matrix times the tokens it acts on, attention scores at their
real lengths, the output layer on target tokens). Without it, the older count
(:func:`matmul_flops_per_step`, mean lengths, no attention scores) is used. MFU divides by
the GPU's dense bf16 peak (H200/H100 SXM: 989 TFLOP/s).

    python bench/seqkd_throughput.py --preset cpu-tiny
    python bench/seqkd_throughput.py --preset gpu-base --compile
    python bench/seqkd_throughput.py --preset gpu-base --max-tokens 65536 --steps 200 --no-decode
"""

from __future__ import annotations

import argparse
import inspect
import json
import time

import numpy as np
import pandas as pd
import torch

from rotelab.core.device import pick_device
from rotelab.data.corpora import load_corpus
from rotelab.data.tokenizer import train_bpe
from rotelab.models.seq2seq import ModelConfig, build_model, count_parameters
from rotelab.models.seq2seq_decoding import DecodeConfig, length_sorted_batches, translate
from rotelab.training.seq2seq import TrainConfig, encode_pairs, pad, token_budget_batches, train_seq2seq

PRESETS = {
    # ~1M parameters: the tiny/default CPU scale
    "cpu-tiny": dict(d_model=128, layers=2, ffn=256, heads=4, vocab=4000, batch=32, steps=40, decode_n=256),
    # ~110M parameters (Transformer-big-ish width, base depth)
    "gpu-base": dict(d_model=768, layers=6, ffn=3072, heads=12, vocab=16000, batch=1024, steps=150, decode_n=8192),
}
PEAK_BF16 = 989e12


def data(n: int) -> pd.DataFrame:
    try:
        df = load_corpus("ding-en-de-phrases")
    except Exception:  # no Debian data: synthetic word salad of similar length
        rng = np.random.default_rng(0)
        words = [f"w{i}" for i in range(5000)]
        df = pd.DataFrame(
            {
                "src": [" ".join(rng.choice(words, rng.integers(3, 15))) for _ in range(n)],
                "tgt": [" ".join(rng.choice(words, rng.integers(3, 15))) for _ in range(n)],
            }
        )
    return df.sample(n=min(n, len(df)), random_state=0).reset_index(drop=True)


def matmul_flops_per_step(model, src_tokens: float, tgt_tokens: float) -> float:
    enc = sum(p.numel() for n, p in model.named_parameters() if ".encoder.layers." in n)
    dec = sum(p.numel() for n, p in model.named_parameters() if ".decoder.layers." in n)
    head = model.config.d_model * model.config.vocab_size
    return 6.0 * (enc * src_tokens + (dec + head) * tgt_tokens)


def train_flops(config, src_lengths: np.ndarray, tgt_lengths: np.ndarray) -> float:
    """FLOPs of one forward + backward pass of a Marian-style encoder-decoder over pairs of
    these real lengths: 6 x multiply-adds. Per encoder layer and source token: q, k, v, o
    (4 d^2) and the feed-forward (2 d f); per decoder layer and target token: self-attention
    (4 d^2), cross-attention's q and o (2 d^2) and the feed-forward (2 d f), and per source
    token cross-attention's k and v (2 d^2); attention scores and their weighted sums 2 L_q
    L_k d per layer and sequence (the causal mask's skipped half is counted, as it is
    computed); the output layer d V per target token."""
    d, f, v = config.d_model, config.encoder_ffn_dim, config.vocab_size
    s, t = np.asarray(src_lengths, dtype=np.float64), np.asarray(tgt_lengths, dtype=np.float64)
    encoder = config.encoder_layers * ((4 * d * d + 2 * d * f) * s.sum() + 2 * d * (s * s).sum())
    decoder = config.decoder_layers * (
        (6 * d * d + 2 * d * f) * t.sum() + 2 * d * d * s.sum() + 2 * d * (t * t).sum() + 2 * d * (s * t).sum()
    )
    return 6.0 * (encoder + decoder + d * v * t.sum())


def budget_batches(enc, dec, max_tokens: int, steps: int, seed: int) -> list[np.ndarray]:
    """The first ``steps`` batches ``train_seq2seq`` draws with ``max_tokens`` and ``seed``."""
    stream = token_budget_batches(
        np.array([len(e) for e in enc]), np.array([len(d) for d in dec]), max_tokens, np.random.default_rng(seed)
    )
    return [next(stream) for _ in range(steps)]


def time_ours(model, tok, pairs, cfg: TrainConfig, device) -> tuple[float, float]:
    """Wall seconds of ``train_seq2seq`` less its up-front tokenisation (the Trainer's dataset
    is tokenised before its clock starts), and the steady-state tokens/s of the second half
    of the run (compilation and warm-up fall in the first half)."""
    start = time.perf_counter()
    encode_pairs(tok, list(pairs.src), list(pairs.tgt), cfg.max_len)
    tokenise_s = time.perf_counter() - start
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    log = train_seq2seq(model, tok, pairs, cfg, log=lambda *_: None)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start - tokenise_s, float(log["tokens_per_s"].iloc[-1])


def time_hf_trainer(
    model, tok, pairs, cfg: TrainConfig, device, tmp: str, batches: list[np.ndarray] | None = None
) -> tuple[float, float]:
    """Wall seconds of ``Seq2SeqTrainer.train`` and the seconds of its second half; with
    ``batches`` (index arrays) the Trainer draws exactly those batches, in that order."""
    from transformers import (
        DataCollatorForSeq2Seq,
        Seq2SeqTrainer,
        Seq2SeqTrainingArguments,
        TrainerCallback,
    )

    class HalfwayClock(TrainerCallback):
        half = None

        def on_step_end(self, args, state, control, **kwargs):
            if state.global_step == cfg.steps // 2:
                if device.type == "cuda":
                    torch.cuda.synchronize()
                self.half = time.perf_counter()

    enc, dec = encode_pairs(tok, list(pairs.src), list(pairs.tgt), cfg.max_len)
    dataset = [{"input_ids": e, "attention_mask": [1] * len(e), "labels": d} for e, d in zip(enc, dec)]
    # Length grouping is the Trainer's counterpart of our bucketing; its name changed in 5.x.
    fields = inspect.signature(Seq2SeqTrainingArguments.__init__).parameters
    grouping = (
        {"train_sampling_strategy": "group_by_length"}
        if "train_sampling_strategy" in fields
        else {"group_by_length": True}
    )
    args = Seq2SeqTrainingArguments(
        output_dir=tmp,
        max_steps=cfg.steps,
        per_device_train_batch_size=cfg.batch_size,
        learning_rate=cfg.lr,
        warmup_steps=cfg.warmup_steps,
        weight_decay=cfg.weight_decay,
        label_smoothing_factor=cfg.label_smoothing,
        max_grad_norm=cfg.grad_clip,
        bf16=device.type == "cuda",
        use_cpu=device.type == "cpu",
        optim="adamw_torch_fused" if device.type == "cuda" else "adamw_torch",
        **grouping,
        logging_steps=10**9,
        save_strategy="no",
        report_to=[],
        dataloader_num_workers=0,
        disable_tqdm=True,
        seed=cfg.seed,
        torch_compile=cfg.compile,
    )
    clock = HalfwayClock()
    collator = DataCollatorForSeq2Seq(tok, model=model)

    class SameBatchesTrainer(Seq2SeqTrainer):
        def get_train_dataloader(self):
            if batches is None:
                return super().get_train_dataloader()
            return torch.utils.data.DataLoader(
                dataset,
                batch_sampler=[b.tolist() for b in batches],
                collate_fn=collator,
                pin_memory=device.type == "cuda",
            )

    trainer = SameBatchesTrainer(
        model=model, args=args, train_dataset=dataset, callbacks=[clock], data_collator=collator
    )
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    trainer.train()
    if device.type == "cuda":
        torch.cuda.synchronize()
    end = time.perf_counter()
    return end - start, end - clock.half


@torch.inference_mode()
def time_decoder(model, tok, sources, cfg: DecodeConfig, device, ours: bool) -> tuple[float, int]:
    """Greedy-decode with ``model.generate`` in length-sorted batches (ours) or in input
    order; returns seconds and generated (non-pad) tokens."""
    ids = tok(list(sources), truncation=True, max_length=128)["input_ids"]
    if ours:
        batches = length_sorted_batches(np.array([len(i) for i in ids]), cfg.batch_size)
    else:
        batches = [np.arange(i, min(i + cfg.batch_size, len(ids))) for i in range(0, len(ids), cfg.batch_size)]
    generated = 0
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    for idx in batches:
        src = pad([ids[i] for i in idx], tok.pad_token_id).to(device)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
            out = model.generate(
                input_ids=src,
                attention_mask=src.ne(tok.pad_token_id),
                num_beams=1,
                do_sample=False,
                max_new_tokens=cfg.max_new_tokens,
            )[:, 1:]
        generated += int(out.ne(tok.pad_token_id).sum())
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start, generated


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--preset", choices=PRESETS, default="cpu-tiny")
    ap.add_argument("--steps", type=int)
    ap.add_argument("--compile", action="store_true", help="torch.compile both training loops")
    ap.add_argument("--compile-mode", default="default", help="torch.compile mode for our loop")
    ap.add_argument("--batch", type=int, help="sentence pairs per step (overrides the preset)")
    ap.add_argument("--max-tokens", type=int, help="token budget per step instead of --batch (both loops)")
    ap.add_argument(
        "--attention",
        choices=["sdpa", "eager", "sdpa-no-cudnn"],
        default="sdpa",
        help="attention of both loops (ours switches to eager under --compile with --max-tokens)",
    )
    ap.add_argument("--no-trainer", action="store_true", help="time only our training loop")
    ap.add_argument("--no-decode", action="store_true", help="skip the decoding comparison")
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args()
    p = dict(PRESETS[args.preset])
    p.update({k: v for k, v in (("steps", args.steps), ("batch", args.batch)) if v})
    device = pick_device("auto")
    torch.set_float32_matmul_precision("high")
    if args.attention == "sdpa-no-cudnn":
        torch.backends.cuda.enable_cudnn_sdp(False)
    pairs = data(200_000 if args.max_tokens else max(p["batch"] * 40, p["decode_n"]))
    tok = train_bpe(list(pairs.src) + list(pairs.tgt), p["vocab"])
    arch = ModelConfig(
        d_model=p["d_model"],
        encoder_layers=p["layers"],
        decoder_layers=p["layers"],
        heads=p["heads"],
        ffn_dim=p["ffn"],
        dropout=0.1,
    )
    # Two log rows: the second covers the steady second half of the run.
    cfg = TrainConfig(
        steps=p["steps"],
        batch_size=p["batch"],
        lr=1e-3,
        warmup_steps=10,
        device=device.type,
        log_every=p["steps"] // 2,
        compile=args.compile,
        compile_mode=args.compile_mode,
        max_tokens=args.max_tokens,
    )
    enc, dec = encode_pairs(tok, list(pairs.src), list(pairs.tgt), cfg.max_len)
    model = build_model(arch, tok, seed=0)
    model.set_attn_implementation(args.attention.removesuffix("-no-cudnn"))
    results = {
        "preset": args.preset,
        "device": torch.cuda.get_device_name() if device.type == "cuda" else "cpu",
        "threads": torch.get_num_threads(),
        "compile": args.compile,
        "compile_mode": args.compile_mode,
        "attention": args.attention,
        "steps": p["steps"],
        "parameters": count_parameters(model),
        "pairs": len(pairs),
    }
    half = p["steps"] - p["steps"] // 2
    if args.max_tokens:
        batches = budget_batches(enc, dec, args.max_tokens, p["steps"], cfg.seed)
        src_len, tgt_len = np.array([len(e) for e in enc]), np.array([len(d) for d in dec])
        step_tokens = np.array([src_len[b].sum() + tgt_len[b].sum() for b in batches], dtype=float)
        step_flops = np.array([train_flops(model.config, src_len[b], tgt_len[b]) for b in batches])
        padded = sum(len(b) * (src_len[b].max() + tgt_len[b].max()) for b in batches)
        results.update(
            max_tokens=args.max_tokens,
            mean_pairs_per_step=float(np.mean([len(b) for b in batches])),
            mean_tokens_per_step=float(step_tokens.mean()),
            padding_per_token=padded / step_tokens.sum() - 1,
            train_flops_per_token=float(step_flops.sum() / step_tokens.sum()),
        )
    else:
        batches = None
        src_per_pair, tgt_per_pair = np.mean([len(e) for e in enc]), np.mean([len(d) for d in dec])
        step_tokens = np.full(p["steps"], p["batch"] * (src_per_pair + tgt_per_pair))
        step_flops = np.full(
            p["steps"], matmul_flops_per_step(model, p["batch"] * src_per_pair, p["batch"] * tgt_per_pair)
        )
        results.update(
            batch=p["batch"], tokens_per_step=float(step_tokens[0]), matmul_flops_per_step=float(step_flops[0])
        )
    # (wall seconds, seconds of the second half of the steps)
    wall, steady = time_ours(model, tok, pairs, cfg, device)
    timings = {"rotelab_train": (wall, step_tokens[-half:].sum() / steady)}
    if not args.no_trainer:
        theirs = build_model(arch, tok, seed=0).to(device)
        theirs.set_attn_implementation(args.attention.removesuffix("-no-cudnn"))
        timings["trainer"] = time_hf_trainer(theirs, tok, pairs, cfg, device, "/tmp/rotelab-bench", batches)
    for name, (wall, half_s) in timings.items():
        results[f"{name}_tokens_per_s"] = step_tokens.sum() / wall
        results[f"{name}_steady_tokens_per_s"] = step_tokens[-half:].sum() / half_s
        if device.type == "cuda":
            results[f"{name}_steady_tflops"] = step_flops[-half:].sum() / half_s / 1e12
            results[f"{name}_steady_mfu"] = step_flops[-half:].sum() / half_s / PEAK_BF16
    if "trainer" in timings:
        results["train_speedup_vs_trainer"] = timings["trainer"][0] / timings["rotelab_train"][0]
        results["steady_speedup_vs_trainer"] = timings["trainer"][1] / timings["rotelab_train"][1]
    if args.no_decode:
        report(results, args.json)
        return

    model.eval()
    sources = list(pairs.src[: p["decode_n"]])
    dcfg = DecodeConfig(batch_size=min(512, p["batch"] * 4), max_new_tokens=64)
    translate(model, tok, sources[: dcfg.batch_size], dcfg, progress=False)  # warm-up
    ours_dec, ours_tokens = time_decoder(model, tok, sources, dcfg, device, ours=True)
    gen_s, gen_tokens = time_decoder(model, tok, sources, dcfg, device, ours=False)
    results.update(
        rotelab_decode_tokens_per_s=ours_tokens / ours_dec,
        generate_input_order_tokens_per_s=gen_tokens / gen_s,
        decode_speedup_vs_input_order=(ours_tokens / ours_dec) / (gen_tokens / gen_s),
    )
    report(results, args.json)


def report(results: dict, json_path: str | None):
    for k, v in results.items():
        print(f"{k:36s} {v:.4g}" if isinstance(v, float) else f"{k:36s} {v}")
    if json_path:
        with open(json_path, "w") as fh:
            json.dump(results, fh, indent=2)


if __name__ == "__main__":
    main()
