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

from rotelab.models.causal_lm_recipes import llama_intermediate_size

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
        """``n_jobs`` of these run as one (a batched ensemble) in one process: their time and
        their memory above the interpreter's (BASE_MB) add up, on the same device."""
        return JobResources(BASE_MB + (self.mem_mb - BASE_MB) * n_jobs, self.runtime * n_jobs, self.gpu)

    def in_sequence(self, n_jobs: int) -> JobResources:
        """``n_jobs`` of these run one after another in one job: their time adds up, the
        memory is one job's."""
        return JobResources(self.mem_mb, self.runtime * n_jobs, self.gpu)


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


def causal_lm_parameters(model: dict, vocab_size: int) -> int:
    """Parameters of a causal LM recipe, tied embeddings: ``llama`` (attention, SwiGLU MLP
    and two RMSNorms per layer), else ``gpt2``'s count (also the guess for a pretrained
    model of these sizes)."""
    d = model["d_model"]
    if model["recipe"] == "llama":
        return vocab_size * d + model["layers"] * (4 * d * d + 3 * d * llama_intermediate_size(d) + 2 * d) + d
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
        causal_lm_parameters(model, vocab_size),
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
    params = causal_lm_parameters(model, vocab_size)
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


# ---- the work a config implies: sizes and step counts the workflow's estimates start from ----
# Only for resource requests: the jobs themselves count from their data.

DEFAULT_TRANSLATION_PAIRS = 1_000_000  # the whole corpus (data.max_pairs unset)
DEFAULT_LM_DOCUMENTS = 150_000  # the whole pretraining text (lm.max_documents unset)
# Fine-tuning text of the causal-LM track (4k BPE): ~40 tokens per QA pair of the ~27k the
# default sources hold, and per one-visit canary note copy ~50 tokens plus ~130 a visit.
QA_PAIRS = 27_000
QA_PAIR_TOKENS = 40
CANARY_NOTE_TOKENS = 50
CANARY_VISIT_TOKENS = 130
CANARY_NOTE_SCORED_TOKENS = 300  # positions of a canary note scored by the membership attacks
# Opacus materialises a gradient per sample: about 3x the work of a plain step.
DP_STEP_COST = 3
# Skewed memorization (P4): tokens per sample; QA pairs in the template are ~30 tokens.
SKEW_SAMPLE_TOKENS = 40


def translation_pairs(data: dict) -> int:
    """Training pairs of the translation corpus (``data``: the config's data section)."""
    return data["max_pairs"] or DEFAULT_TRANSLATION_PAIRS


def n_canaries(canaries: dict) -> int:
    """Canaries made (inserted and held-out), ``canaries`` the config's canaries section."""
    return 2 * len(canaries["replicas"]) * canaries["n_per_replica"]


def canary_lines(canaries: dict) -> int:
    """Lines the inserted canaries add to the training corpus, each copied ``replicas`` times."""
    replicas = canaries["replicas"]
    return n_canaries(canaries) // 2 * sum(replicas) // len(replicas)


def translation_split_sizes(data: dict, canaries: dict) -> dict[str, int]:
    """Sentences of each split the translation models decode: the training corpus with its
    canary lines, the test set and the canaries."""
    return {
        "train": translation_pairs(data) + canary_lines(canaries),
        "test": data["n_test"],
        "canaries": n_canaries(canaries),
    }


def teacher_finetune_steps(adaptive: dict, n_pairs: int) -> int:
    """Adaptive-SeqKD's teacher fine-tuning: at most ``adaptive.epochs`` over all ``n_pairs``
    (the subset's size is known only at run time)."""
    return max(1, math.ceil(adaptive["epochs"] * n_pairs / adaptive["batch_size"]))


def lm_documents(lm: dict) -> int:
    """Documents of the causal-LM pretraining text (``lm``: the config's lm section)."""
    return lm["max_documents"] or DEFAULT_LM_DOCUMENTS


def n_lm_canaries(lm: dict) -> int:
    """Canary notes of the causal-LM track: inserted and held-out, per duplication group."""
    canaries = lm["canaries"]
    return 2 * canaries["n_per_group"] * len(canaries["duplication"])


def lm_finetune_tokens(lm: dict) -> float:
    """Tokens of one pass over the pooled fine-tuning data: the QA clients' share and every
    inserted canary note copy and audit canary."""
    canaries = lm["canaries"]
    copies = canaries["n_per_group"] * sum(canaries["duplication"])
    return (
        lm["qa"]["fraction"] * QA_PAIRS * QA_PAIR_TOKENS
        + (CANARY_NOTE_TOKENS + CANARY_VISIT_TOKENS * canaries["visits"]) * copies
        + CANARY_NOTE_TOKENS * lm["audit"]["canaries"] / 2  # audit canaries: a note's header, half inserted
    )


def centralized_finetune_steps(lm: dict) -> int:
    """Optimizer steps of a centralized run over the pooled client data."""
    train = lm["finetune"]["train"]
    block = lm["base"]["model"]["block_size"]
    return math.ceil(train["epochs"] * lm_finetune_tokens(lm) / (train["batch_size"] * block))


def lm_finetune_steps(lm: dict, setting: str, defense: str) -> int:
    """Optimizer steps of one P1 run, counted in centralized steps: FedAvg passes over the
    data rounds x local_epochs times instead of epochs times; DP-SGD costs DP_STEP_COST a step."""
    steps = centralized_finetune_steps(lm)
    if setting == "federated":
        federated = lm["federated"]
        steps = math.ceil(steps * federated["rounds"] * federated["local_epochs"] / lm["finetune"]["train"]["epochs"])
    return steps * (DP_STEP_COST if defense == "dp" else 1)


def lm_decoding_sequences(lm: dict) -> int:
    """Sequences one P1 run's extraction job decodes: a continuation per canary and prompt
    length (extraction), and a scored and a greedy answer per test question and source
    (utility)."""
    return n_lm_canaries(lm) * len(lm["extraction"]["prompt_lengths"]) + 2 * lm["qa"]["n_test"] * len(
        lm["qa"]["sources"]
    )


def lm_membership_sequences(lm: dict) -> int:
    """Blocks one P1 run's membership job scores: every canary note, strided in blocks."""
    return n_lm_canaries(lm) * CANARY_NOTE_SCORED_TOKENS // lm["base"]["model"]["block_size"]


def lm_audit_sequences(lm: dict, runs: int) -> int:
    """Sequences the audit job scores: every audit canary under the base and each run."""
    return lm["audit"]["canaries"] * (runs + 1)


def skew_run_samples(skew: dict, size: int, mixed: bool) -> int:
    """Samples of one P4 run: ``size`` scored ones, plus the mixture's share when ``mixed``."""
    return size + (round(skew["mixture"]["ratio"] * size) if mixed else 0)


def skew_finetune_steps(skew: dict, size: int, mixed: bool, block_size: int) -> int:
    """Optimizer steps of one P4 run up to its last checkpoint epoch, on packed blocks."""
    tokens = skew_run_samples(skew, size, mixed) * SKEW_SAMPLE_TOKENS * max(skew["epochs"])
    return math.ceil(tokens / (skew["train"]["batch_size"] * block_size))


def skew_scoring_sequences(skew: dict, size: int, mixed: bool) -> int:
    """Samples one P4 run's scoring job scores: each of its samples at every checkpoint."""
    return skew_run_samples(skew, size, mixed) * len(skew["epochs"])
