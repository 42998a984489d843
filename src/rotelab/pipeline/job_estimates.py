"""What a job asks its scheduler for (Snakemake ``resources:``), estimated from its config.

Schedulers need memory, a time limit and GPUs before a job starts; asking for too little
kills the job, asking for far too much queues it for hours. The estimates below scale with
the model and the work the config describes, from throughputs we measured (docs/running.md,
*Benchmarks*: ~3e10 FLOP/s per CPU thread for the default teacher, ~8e13 FLOP/s on one
H200), then add a 3x margin for slower nodes. Nothing here names a partition, an account or
a path: those belong to the execution profile (``profiles/``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# Effective training throughputs, halved from what we measured so slower hardware fits.
CPU_FLOPS_PER_THREAD = 1.5e10
GPU_FLOPS = 4e13
# Autoregressive decoding runs at a small fraction of training throughput (one token per
# step, small matrices): measured 4-5x fewer tokens/s than training on both devices.
DECODE_SLOWDOWN = 5.0
MARGIN = 3.0
BASE_MB = 1500  # Python, torch, transformers and pandas loaded
MIN_RUNTIME_MIN = 10


@dataclass(frozen=True)
class JobResources:
    """Snakemake's standard resources for one job.

    mem_mb: host memory in MB. runtime: wall-clock limit in minutes. gpu: GPUs (0 or 1).
    """

    mem_mb: int
    runtime: int
    gpu: int

    def as_dict(self) -> dict:
        return {"mem_mb": self.mem_mb, "runtime": self.runtime, "gpu": self.gpu}

    def times(self, n_jobs: int) -> JobResources:
        """``n_jobs`` of these run as one (a batched ensemble): their memory and time add up,
        on the same device."""
        return JobResources(self.mem_mb * n_jobs, self.runtime * n_jobs, self.gpu)


def marian_parameters(model: dict, vocab_size: int) -> int:
    """Parameters of the ``marian`` recipe (tied embeddings, sinusoidal positions counted),
    from the config alone; within a few percent of ``count_parameters`` of the built model."""
    d, ffn = model["d_model"], model["ffn_dim"]
    encoder_layer = 4 * d * d + 2 * d * ffn + 9 * d + ffn
    decoder_layer = 8 * d * d + 2 * d * ffn + 15 * d + ffn
    embeddings = vocab_size * d + 2 * model.get("max_positions", 256) * d + vocab_size
    return embeddings + model["encoder_layers"] * encoder_layer + model["decoder_layers"] * decoder_layer


def _minutes(flops: float, gpu: bool, threads: int) -> int:
    rate = GPU_FLOPS if gpu else CPU_FLOPS_PER_THREAD * max(1, threads)
    return max(MIN_RUNTIME_MIN, math.ceil(MARGIN * flops / rate / 60))


def _mb(n_bytes: float) -> int:
    return int(100 * math.ceil((BASE_MB + MARGIN * n_bytes / 2**20) / 100))


def gpt2_parameters(model: dict, vocab_size: int) -> int:
    """Parameters of the ``gpt2`` causal LM recipe (tied embeddings)."""
    d = model["d_model"]
    return vocab_size * d + model["block_size"] * d + model["layers"] * (12 * d * d + 13 * d) + 2 * d


def training(model: dict, train: dict, vocab_size: int, gpu: bool, threads: int) -> JobResources:
    """Seq2seq training: sequences average about a third of max_len (Ding pairs)."""
    layers = model["encoder_layers"] + model["decoder_layers"]
    tokens = train["batch_size"] * 2 * train.get("max_len", 64)
    return _training(
        marian_parameters(model, vocab_size),
        tokens,
        tokens / 3,
        layers,
        model["d_model"],
        vocab_size,
        train["steps"],
        gpu,
        threads,
    )


def causal_training(model: dict, train: dict, vocab_size: int, gpu: bool, threads: int) -> JobResources:
    """Causal LM training on packed blocks: every token of every block is real."""
    tokens = train["batch_size"] * model["block_size"]
    return _training(
        gpt2_parameters(model, vocab_size),
        tokens,
        tokens,
        model["layers"],
        model["d_model"],
        vocab_size,
        train["steps"],
        gpu,
        threads,
    )


def _training(
    params: int,
    padded_tokens: int,
    real_tokens: float,
    layers: int,
    d_model: int,
    vocab_size: int,
    steps: int,
    gpu: bool,
    threads: int,
) -> JobResources:
    """6 FLOPs per parameter per token (forward + backward); host memory holds the weights,
    gradients and AdamW moments, plus the activations and logits on a CPU."""
    activations = 4 * padded_tokens * (34 * layers * d_model + 3 * vocab_size) / 2
    host = 16 * params + (0 if gpu else activations)
    return JobResources(_mb(host), _minutes(6 * params * real_tokens * steps, gpu, threads), int(gpu))


def decoding(
    model: dict,
    vocab_size: int,
    n_sentences: int,
    batch_size: int,
    max_new_tokens: int,
    gpu: bool,
    threads: int,
    candidates: int = 1,
) -> JobResources:
    """Decoding or scoring ``n_sentences`` (times ``candidates`` scored variants each):
    2 FLOPs per parameter per token, at a fifth of training throughput."""
    params = marian_parameters(model, vocab_size)
    layers = model["encoder_layers"] + model["decoder_layers"]
    cache = 4 * batch_size * max_new_tokens * (4 * layers * model["d_model"] + 2 * vocab_size)
    flops = 2 * params * n_sentences * candidates * max_new_tokens * DECODE_SLOWDOWN
    return JobResources(_mb(4 * params + (0 if gpu else cache)), _minutes(flops, gpu, threads), int(gpu))


def causal_decoding(
    model: dict, vocab_size: int, n_sequences: int, tokens: int, gpu: bool, threads: int
) -> JobResources:
    """Greedy continuation or teacher-forced scoring of ``n_sequences`` causal-LM sequences
    of about ``tokens`` positions each, costed like seq2seq decoding."""
    params = gpt2_parameters(model, vocab_size)
    cache = 4 * tokens * (4 * model["layers"] * model["d_model"] + 2 * vocab_size)
    flops = 2 * params * n_sequences * tokens * DECODE_SLOWDOWN
    return JobResources(_mb(4 * params + (0 if gpu else cache)), _minutes(flops, gpu, threads), int(gpu))


def mlp_parameters(in_features: int, hidden: list[int], n_classes: int) -> int:
    widths = [in_features, *hidden, n_classes]
    return sum(a * b + b for a, b in zip(widths, widths[1:]))


def ensemble_training(
    n_models: int,
    n_examples: int,
    in_features: int,
    hidden: list[int],
    n_classes: int,
    epochs: float,
    gpu: bool,
    threads: int,
) -> JobResources:
    """K reference MLPs trained together, each on about half of ``n_examples`` for
    ``epochs`` passes, then evaluated on all of them: weights, gradients and AdamW moments
    of all K, and the (K, N, classes) evaluation outputs."""
    params = mlp_parameters(in_features, hidden, n_classes)
    flops = 6 * params * n_models * (epochs * n_examples / 2 + n_examples)
    outputs = 4 * n_models * n_examples * (n_classes + max(hidden) + 8)
    return JobResources(_mb(16 * params * n_models + outputs), _minutes(flops, gpu, threads), int(gpu))


def light(n_rows: int) -> JobResources:
    """Table work in pandas (preparation, scoring from decodings, figures): ~2 kB a row."""
    return JobResources(_mb(2048 * n_rows), MIN_RUNTIME_MIN + n_rows // 200_000, 0)
