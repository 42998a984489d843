"""Training and decoding throughput of rotelab's loops against transformers' own, side by side.

Same model configuration, same data, same batch size, one process:

* training: ``rotelab.training.train_seq2seq`` (bucketed batches, bf16 autocast + fused
  AdamW on CUDA, optional torch.compile) vs ``transformers.Seq2SeqTrainer``;
* decoding: ``rotelab.decoding.translate`` (length-sorted batches through
  ``model.generate``) vs ``model.generate`` on batches in input order.

Throughput is tokens/s (source + target tokens for training, generated tokens for
decoding). MFU uses the FLOPs of the matrix multiplications of a forward+backward pass,
6 x (encoder params x source tokens + decoder params x target tokens + d_model x vocab x
target tokens), over the GPU's dense bf16 peak (H200/H100 SXM: 989 TFLOP/s); attention
score FLOPs are left out (sequences here are ~12 tokens).

    python bench/seqkd_throughput.py --preset cpu-tiny
    python bench/seqkd_throughput.py --preset gpu-base --compile
"""

from __future__ import annotations

import argparse
import inspect
import json
import time

import numpy as np
import pandas as pd
import torch

from rotelab.corpora import load_corpus
from rotelab.decoding import DecodeConfig, length_sorted_batches, translate
from rotelab.device import pick_device
from rotelab.models import ModelConfig, build_model, count_parameters
from rotelab.tokenizer import train_bpe
from rotelab.training import TrainConfig, encode_pairs, pad, train_seq2seq

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
        df = pd.DataFrame({"src": [" ".join(rng.choice(words, rng.integers(3, 15))) for _ in range(n)],
                           "tgt": [" ".join(rng.choice(words, rng.integers(3, 15))) for _ in range(n)]})
    return df.sample(n=min(n, len(df)), random_state=0, replace=len(df) < n).reset_index(drop=True)


def matmul_flops_per_step(model, src_tokens: float, tgt_tokens: float) -> float:
    enc = sum(p.numel() for n, p in model.named_parameters() if ".encoder.layers." in n)
    dec = sum(p.numel() for n, p in model.named_parameters() if ".decoder.layers." in n)
    head = model.config.d_model * model.config.vocab_size
    return 6.0 * (enc * src_tokens + (dec + head) * tgt_tokens)


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


def time_hf_trainer(model, tok, pairs, cfg: TrainConfig, device, tmp: str) -> tuple[float, float]:
    """Wall seconds of ``Seq2SeqTrainer.train`` and the seconds of its second half."""
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
    grouping = ({"train_sampling_strategy": "group_by_length"} if "train_sampling_strategy" in fields
                else {"group_by_length": True})
    args = Seq2SeqTrainingArguments(
        output_dir=tmp, max_steps=cfg.steps, per_device_train_batch_size=cfg.batch_size,
        learning_rate=cfg.lr, warmup_steps=cfg.warmup_steps, weight_decay=cfg.weight_decay,
        label_smoothing_factor=cfg.label_smoothing, max_grad_norm=cfg.grad_clip,
        bf16=device.type == "cuda", use_cpu=device.type == "cpu",
        optim="adamw_torch_fused" if device.type == "cuda" else "adamw_torch",
        **grouping, logging_steps=10**9, save_strategy="no", report_to=[],
        dataloader_num_workers=0, disable_tqdm=True, seed=cfg.seed, torch_compile=cfg.compile,
    )
    clock = HalfwayClock()
    trainer = Seq2SeqTrainer(model=model, args=args, train_dataset=dataset, callbacks=[clock],
                             data_collator=DataCollatorForSeq2Seq(tok, model=model))
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
            out = model.generate(input_ids=src, attention_mask=src.ne(tok.pad_token_id), num_beams=1,
                                 do_sample=False, max_new_tokens=cfg.max_new_tokens)[:, 1:]
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
    ap.add_argument("--no-trainer", action="store_true", help="time only our training loop")
    ap.add_argument("--no-decode", action="store_true", help="skip the decoding comparison")
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args()
    p = dict(PRESETS[args.preset])
    p.update({k: v for k, v in (("steps", args.steps), ("batch", args.batch)) if v})
    device = pick_device("auto")
    torch.set_float32_matmul_precision("high")
    pairs = data(max(p["batch"] * 40, p["decode_n"]))
    tok = train_bpe(list(pairs.src) + list(pairs.tgt), p["vocab"])
    arch = ModelConfig(d_model=p["d_model"], encoder_layers=p["layers"], decoder_layers=p["layers"],
                       heads=p["heads"], ffn_dim=p["ffn"], dropout=0.1)
    # Two log rows: the second covers the steady second half of the run.
    cfg = TrainConfig(steps=p["steps"], batch_size=p["batch"], lr=1e-3, warmup_steps=10, device=device.type,
                      log_every=p["steps"] // 2, compile=args.compile, compile_mode=args.compile_mode)
    enc, dec = encode_pairs(tok, list(pairs.src), list(pairs.tgt), cfg.max_len)
    src_per_pair, tgt_per_pair = np.mean([len(e) for e in enc]), np.mean([len(d) for d in dec])
    tokens_per_step = p["batch"] * (src_per_pair + tgt_per_pair)

    results = {"preset": args.preset, "device": torch.cuda.get_device_name() if device.type == "cuda" else "cpu",
               "threads": torch.get_num_threads(), "compile": args.compile, "compile_mode": args.compile_mode,
               "steps": p["steps"], "batch": p["batch"], "tokens_per_step": tokens_per_step}
    model = build_model(arch, tok, seed=0)
    results["parameters"] = count_parameters(model)
    flops = matmul_flops_per_step(model, p["batch"] * src_per_pair, p["batch"] * tgt_per_pair)
    results["matmul_flops_per_step"] = flops
    timings = {"rotelab_train": time_ours(model, tok, pairs, cfg, device)}
    if not args.no_trainer:
        wall, half_s = time_hf_trainer(build_model(arch, tok, seed=0).to(device), tok, pairs, cfg, device,
                                       "/tmp/rotelab-bench")
        timings["trainer"] = (wall, (p["steps"] - p["steps"] // 2) * tokens_per_step / half_s)
    for name, (wall, steady) in timings.items():
        results[f"{name}_tokens_per_s"] = p["steps"] * tokens_per_step / wall
        results[f"{name}_steady_tokens_per_s"] = steady
        if device.type == "cuda":
            results[f"{name}_steady_mfu"] = steady / tokens_per_step * flops / PEAK_BF16
    if "trainer" in timings:
        results["train_speedup_vs_trainer"] = timings["trainer"][0] / timings["rotelab_train"][0]
        results["steady_speedup_vs_trainer"] = timings["rotelab_train"][1] / timings["trainer"][1]
    if args.no_decode:
        report(results, args.json)
        return

    model.eval()
    sources = list(pairs.src[: p["decode_n"]])
    dcfg = DecodeConfig(batch_size=min(512, p["batch"] * 4), max_new_tokens=64)
    translate(model, tok, sources[: dcfg.batch_size], dcfg, progress=False)  # warm-up
    ours_dec, ours_tokens = time_decoder(model, tok, sources, dcfg, device, ours=True)
    gen_s, gen_tokens = time_decoder(model, tok, sources, dcfg, device, ours=False)
    results.update(rotelab_decode_tokens_per_s=ours_tokens / ours_dec,
                   generate_input_order_tokens_per_s=gen_tokens / gen_s,
                   decode_speedup_vs_input_order=(ours_tokens / ours_dec) / (gen_tokens / gen_s))
    report(results, args.json)


def report(results: dict, json_path: str | None):
    for k, v in results.items():
        print(f"{k:36s} {v:.4g}" if isinstance(v, float) else f"{k:36s} {v}")
    if json_path:
        with open(json_path, "w") as fh:
            json.dump(results, fh, indent=2)


if __name__ == "__main__":
    main()
