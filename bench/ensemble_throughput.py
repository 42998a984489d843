"""Training throughput of K reference models: one batched ensemble vs K sequential runs.

Both sides train the same K models (same initialisation, data and optimizer) for the same
number of steps in one process: ``rotelab.models.ensemble.train_sequential`` once per model, then
``rotelab.models.ensemble.train_ensemble`` for all K at once (torch.func vmap over stacked
parameters). Reports wall-clock seconds, examples/s and the ensemble's speed-up, per model
size and K. Models:

* ``mlp``: the membership engine's digits MLP (64 -> 256 -> 10), batch 64;
* ``gpt2-tiny``: configs/tiny.yaml's causal-LM base (d 64, 2 layers, 64-token blocks);
* ``gpt2-default``: config.yaml's causal-LM base (d 128, 4 layers, 64-token blocks), 1.3M;
* ``marian-tiny`` / ``marian-default``: the translation reference models of configs/tiny.yaml
  and config.yaml (the baseline's architecture), trained the way the workflow trains them:
  K runs of ``rotelab.training.seq2seq.train_seq2seq`` against one ``train_seq2seq_ensemble``
  (length-bucketed batches of synthetic sentence pairs, warmup and decay, label smoothing).

    python bench/ensemble_throughput.py                       # CPU, K in 4 16 64
    python bench/ensemble_throughput.py --device cuda --steps 50
"""

from __future__ import annotations

import argparse
import json
import re
import time

import numpy as np
import pandas as pd
import torch

from rotelab.models.classifier import build_classifier, cross_entropy_loss
from rotelab.models.ensemble import EnsembleTrainConfig, train_ensemble, train_sequential

ATTENTION = {"impl": "eager"}  # --attention: transformers' attention implementation for GPT-2


def gpt2(d_model, layers, vocab, block):
    from transformers import GPT2Config, GPT2LMHeadModel

    def make(seed):
        torch.manual_seed(seed)
        cfg = GPT2Config(
            vocab_size=vocab,
            n_positions=block,
            n_embd=d_model,
            n_layer=layers,
            n_head=max(2, d_model // 32),
            resid_pdrop=0.0,
            embd_pdrop=0.0,
            attn_pdrop=0.0,
            attn_implementation=ATTENTION["impl"],
        )
        return GPT2LMHeadModel(cfg)

    def data(n, device):
        return {"input_ids": torch.randint(0, vocab, (n, block), device=device)}

    def loss(forward, batch):
        return forward(input_ids=batch["input_ids"], labels=batch["input_ids"]).loss

    return make, data, loss


def mlp():
    def data(n, device):
        return {"x": torch.rand(n, 64, device=device), "labels": torch.randint(0, 10, (n,), device=device)}

    return (lambda seed: build_classifier(64, [256], 10, seed)), data, cross_entropy_loss


def marian(d_model, layers, ffn_dim, vocab):
    """(make, pairs, tokenizer) for the seq2seq rows: 2,048 synthetic pairs of 4-30 words."""
    from rotelab.data.tokenizer import train_bpe
    from rotelab.models.seq2seq import ModelConfig, build_model

    rng = np.random.default_rng(0)
    words = ["".join(rng.choice(list("abcdefghijklmnopqrstuvwxyz"), size=rng.integers(2, 9))) for _ in range(3000)]
    sentences = [" ".join(rng.choice(words, size=rng.integers(4, 31))) for _ in range(4096)]
    pairs = pd.DataFrame({"src": sentences[:2048], "tgt": sentences[2048:]})
    tokenizer = train_bpe(sentences, vocab_size=vocab)
    arch = ModelConfig(
        d_model=d_model,
        encoder_layers=layers,
        decoder_layers=layers,
        heads=max(2, d_model // 24),
        ffn_dim=ffn_dim,
        dropout=0.0,
    )
    return (lambda seed: build_model(arch, tokenizer, seed=seed)), pairs, tokenizer


SEQ2SEQ = {
    "marian-tiny": dict(d_model=48, layers=1, ffn_dim=96, vocab=1000),
    "marian-default": dict(d_model=96, layers=2, ffn_dim=192, vocab=4000),
}

MODELS = {
    "mlp": (mlp, {}, 64),
    "gpt2-tiny": (gpt2, dict(d_model=64, layers=2, vocab=1000, block=64), 32),
    "gpt2-default": (gpt2, dict(d_model=128, layers=4, vocab=4000, block=64), 32),
}


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


# Kernel families by name (cuBLAS/CUTLASS GEMMs, softmax, PyTorch's elementwise and
# reduction templates, the fused optimizer, copies); the first pattern that matches wins.
KERNEL_FAMILIES = (
    ("matmul", re.compile(r"gemm|xmma|cutlass|cublas|sm90_|sm80_|ampere_|magma", re.I)),
    ("softmax", re.compile(r"softmax", re.I)),
    ("optimizer", re.compile(r"multi_tensor|foreach|adam", re.I)),
    ("reduction", re.compile(r"reduce|norm|sum_|mean", re.I)),
    ("copy", re.compile(r"copy|memcpy|memset|cat|index|gather|scatter", re.I)),
    ("elementwise", re.compile(r"elementwise|vectorized|unrolled|pointwise|triton", re.I)),
)


def kernel_profile(run, device: torch.device, top: int = 12) -> dict:
    """GPU time of one ``run()`` by kernel family and the top kernels, from torch.profiler,
    beside the wall time: the share of the wall the GPU spends in kernels says whether the
    step is launch-bound (low) or kernel-bound (high), and the families which kernel."""
    from torch.profiler import ProfilerActivity, profile

    sync(device)
    start = time.perf_counter()
    with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
        run()
        sync(device)
    wall = time.perf_counter() - start
    kernels = []
    for event in prof.key_averages():
        us = getattr(event, "self_device_time_total", None) or getattr(event, "self_cuda_time_total", 0)
        if us and str(getattr(event, "device_type", "")).endswith("CUDA"):
            kernels.append((event.key, us / 1e6, event.count))
    total = sum(seconds for _, seconds, _ in kernels)
    families: dict[str, float] = {}
    for key, seconds, _ in kernels:
        family = next((name for name, pattern in KERNEL_FAMILIES if pattern.search(key)), "other")
        families[family] = families.get(family, 0.0) + seconds
    kernels.sort(key=lambda row: -row[1])
    return {
        "profiled_wall_s": round(wall, 3),
        "kernel_s": round(total, 3),
        "kernel_share_of_wall": round(total / wall, 3) if wall else None,
        "families_share": {name: round(t / total, 3) for name, t in sorted(families.items(), key=lambda x: -x[1])},
        "top_kernels": [
            {"kernel": key[:120], "share": round(seconds / total, 3), "calls": count}
            for key, seconds, count in kernels[:top]
        ],
    }


def measure(
    name: str,
    k: int,
    steps: int,
    device: torch.device,
    compile_mode: str | None = None,
    bf16: bool = False,
    profile: bool = False,
) -> dict:
    factory, kwargs, batch = MODELS[name]
    make, make_data, loss = factory(**kwargs)
    n = 2048
    data = make_data(n, device)
    rng = np.random.default_rng(0)
    members = [np.flatnonzero(rng.random(n) < 0.5) for _ in range(k)]
    cfg = EnsembleTrainConfig(steps=steps, batch_size=batch, lr=1e-3, bf16=bf16)
    warm = EnsembleTrainConfig(steps=2, batch_size=batch, lr=1e-3, bf16=bf16)
    compiled = EnsembleTrainConfig(steps=steps, batch_size=batch, lr=1e-3, compile=compile_mode, bf16=bf16)
    quiet = dict(log=lambda *_: None, log_every=10**9)
    # warm-up both paths (CUDA context, kernels, allocator)
    train_sequential(make(0).to(device), data, members[0], loss, warm, 0)
    train_ensemble([make(i).to(device) for i in range(k)], data, members, loss, warm, list(range(k)), **quiet)
    sync(device)

    models = [make(i).to(device) for i in range(k)]
    start = time.perf_counter()
    for i, model in enumerate(models):
        train_sequential(model, data, members[i], loss, cfg, i)
    sync(device)
    sequential = time.perf_counter() - start

    # With --compile the first run pays compilation; the second reuses the compiled graphs.
    times = []
    for _ in range(2 if compile_mode else 1):
        models = [make(i).to(device) for i in range(k)]
        start = time.perf_counter()
        train_ensemble(models, data, members, loss, compiled, list(range(k)), **quiet)
        sync(device)
        times.append(time.perf_counter() - start)
    ensemble = times[-1]
    params = sum(p.numel() for p in make(0).parameters())
    examples = k * steps * batch
    extra = {}
    if profile:  # one more ensemble run, under the profiler (after the timed ones)
        models = [make(i).to(device) for i in range(k)]
        extra["ensemble_profile"] = kernel_profile(
            lambda: train_ensemble(models, data, members, loss, compiled, list(range(k)), **quiet), device
        )
    return {
        "model": name,
        "parameters": params,
        "K": k,
        "steps": steps,
        "batch": batch,
        "device": str(device),
        "ensemble_compile": compile_mode,
        "bf16": bf16,
        "attention": ATTENTION["impl"] if name != "mlp" else None,
        "sdpa_backend": ATTENTION.get("backend"),
        "ensemble_first_run_s": round(times[0], 3),
        "sequential_s": round(sequential, 3),
        "ensemble_s": round(ensemble, 3),
        "sequential_examples_per_s": round(examples / sequential, 1),
        "ensemble_examples_per_s": round(examples / ensemble, 1),
        "speedup": round(sequential / ensemble, 2),
        **extra,
    }


def measure_seq2seq(name: str, k: int, steps: int, device: torch.device) -> dict:
    from dataclasses import replace

    from rotelab.training.seq2seq import TrainConfig, train_seq2seq, train_seq2seq_ensemble

    make, pairs, tokenizer = marian(**SEQ2SEQ[name])
    rng = np.random.default_rng(0)
    subsets = [pairs[rng.random(len(pairs)) < 0.5] for _ in range(k)]
    batch = 32
    cfg = TrainConfig(steps=steps, batch_size=batch, warmup_steps=min(10, steps), log_every=10**9, device=device.type)
    quiet = dict(log=lambda *_: None)
    # Warm-up: one full run of each path first. Length-bucketed batches change shape every
    # step, and each new shape pays kernel selection once; without this the first models of
    # the sequential side would pay it all.
    train_seq2seq(make(0), tokenizer, subsets[0], cfg, **quiet)
    train_seq2seq_ensemble([make(i) for i in range(k)], tokenizer, subsets, cfg, list(range(k)), **quiet)
    sync(device)

    models = [make(i) for i in range(k)]
    start = time.perf_counter()
    for i, model in enumerate(models):
        train_seq2seq(model, tokenizer, subsets[i], replace(cfg, seed=i), **quiet)
    sync(device)
    sequential = time.perf_counter() - start
    models = [make(i) for i in range(k)]
    start = time.perf_counter()
    train_seq2seq_ensemble(models, tokenizer, subsets, cfg, list(range(k)), **quiet)
    sync(device)
    ensemble = time.perf_counter() - start
    examples = k * steps * batch
    return {
        "model": name,
        "parameters": sum(p.numel() for p in models[0].parameters()),
        "K": k,
        "steps": steps,
        "batch": batch,
        "device": str(device),
        "bf16": device.type == "cuda",
        "attention": "sequential sdpa, ensemble eager",
        "sequential_s": round(sequential, 3),
        "ensemble_s": round(ensemble, 3),
        "sequential_examples_per_s": round(examples / sequential, 1),
        "ensemble_examples_per_s": round(examples / ensemble, 1),
        "speedup": round(sequential / ensemble, 2),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--models", nargs="+", default=[*MODELS, *SEQ2SEQ], choices=[*MODELS, *SEQ2SEQ])
    parser.add_argument("--ks", nargs="+", type=int, default=[4, 16, 64])
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument(
        "--compile",
        default=None,
        help="torch.compile mode for the ensemble (e.g. default, "
        "reduce-overhead); its compilation counts in the timing, so use enough --steps",
    )
    parser.add_argument("--bf16", action="store_true", help="bfloat16 autocast on CUDA, for both paths")
    parser.add_argument(
        "--attention",
        default="eager",
        choices=["eager", "sdpa"],
        help="GPT-2 attention: eager matmul-softmax-matmul or fused scaled_dot_product_attention",
    )
    parser.add_argument(
        "--sdpa-backend",
        default=None,
        choices=["flash", "efficient", "math", "cudnn"],
        help="with --attention sdpa: the one kernel both paths may use (flash needs --bf16)",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="after timing, profile one more ensemble run: GPU time by kernel family and the top kernels",
    )
    parser.add_argument("--repeats", type=int, default=1, help="time each (model, K) this many times")
    args = parser.parse_args()
    ATTENTION["impl"] = args.attention
    if args.sdpa_backend:
        from torch.nn.attention import SDPBackend, sdpa_kernel

        backend = {
            "flash": SDPBackend.FLASH_ATTENTION,
            "efficient": SDPBackend.EFFICIENT_ATTENTION,
            "math": SDPBackend.MATH,
            "cudnn": SDPBackend.CUDNN_ATTENTION,
        }[args.sdpa_backend]
        sdpa_kernel(backend).__enter__()  # for the whole process
        ATTENTION["backend"] = args.sdpa_backend
    torch.set_num_threads(args.threads)
    torch.backends.cuda.matmul.allow_tf32 = True
    device = torch.device(args.device)
    for name in args.models:
        for k in args.ks:
            for repeat in range(args.repeats):
                if name in SEQ2SEQ:  # trained as the workflow does: bf16 on CUDA, eager ensemble
                    row = measure_seq2seq(name, k, args.steps, device)
                else:
                    last = repeat == args.repeats - 1
                    row = measure(name, k, args.steps, device, args.compile, args.bf16, args.profile and last)
                print(json.dumps({**row, "repeat": repeat}), flush=True)


if __name__ == "__main__":
    main()
