"""Subgroups of the SeqKD training corpus (Dankers & Raunak, ACL 2025, "P3", section 3).

P3 asks which training pairs a student inherits memorization on, grouping pairs two ways:

- by counterfactual memorization (CM): K reference models of one architecture, each trained
  on the pairs the membership matrix marks IN for it (every pair IN for exactly K/2); CM =
  mean over IN models minus mean over OUT models of the geometric-mean probability of the
  target tokens (``memseqkd`` ``counterfactual_memorization/compute_cm.py``), in P3's
  buckets <0.2, 0.2-0.3, 0.3-0.4, >=0.4 (``analysis/create_buckets.py``);
- by the teacher's confidence: the geometric-mean probability of the teacher's own greedy
  output, whose top and bottom tails P3 compares (its top and bottom 10k pairs).

Per group and model (T, S, B) it reports replication of the corpus target, ExMem and, for
the student, replication of the teacher's output, each a rate with a Wilson interval.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from rotelab.core.stats import rate
from rotelab.models.seq2seq_decoding import score_targets

P3_CM_EDGES = (0.2, 0.3, 0.4)


def target_fit(model, tokenizer, sources, targets, batch_size: int = 64, max_len: int = 128) -> pd.DataFrame:
    """Per pair, how well ``model`` fits the target under teacher forcing:

    - ``prob``: geometric mean of the target-token probabilities (EOS included), P3's CM
      measure and its teacher-confidence measure;
    - ``correct``: share of target tokens that are the model's most likely next token, the
      per-token accuracy of Zhang et al.'s accuracy-based CM for sequence models;
    - ``logprob``: the mean token log-probability (the loss attack's statistic) and ``phi``,
      the mean over tokens of the logit-scaled token probability log p - log(1 - p) (LiRA's
      statistic, as on the causal-LM references), so the membership engine's attacks run on
      the translation references too.
    """
    scores = score_targets(model, tokenizer, sources, targets, batch_size, max_len, with_distribution=False)
    rows = []
    for s in scores:
        logp = s.logprobs.astype(float)
        log_rest = np.log(-np.expm1(np.minimum(logp, -1e-7)))  # log(1 - p), stable near p = 1
        rows.append(
            {
                "prob": float(np.exp(logp.mean())),
                "correct": float(s.correct.mean()),
                "logprob": float(logp.mean()),
                "phi": float(np.mean(logp - log_rest)),
            }
        )
    return pd.DataFrame(rows, columns=["prob", "correct", "logprob", "phi"])


def bucket_labels(edges=P3_CM_EDGES) -> list[str]:
    """Names of the CM buckets ``edges`` cut [0, 1] into: "<0.2", "0.2-0.3", ..., ">=0.4"."""
    inner = [f"{a:g}-{b:g}" for a, b in zip(edges[:-1], edges[1:])]
    return [f"<{edges[0]:g}", *inner, f">={edges[-1]:g}"]


def cm_buckets(cm, edges=P3_CM_EDGES) -> np.ndarray:
    """The bucket label of each CM value (left-closed intervals, as P3's ``create_buckets``)."""
    labels = np.array(bucket_labels(edges))
    return labels[np.searchsorted(np.asarray(edges), np.asarray(cm, dtype=float), side="right")]


def confidence_groups(confidence, share: float) -> np.ndarray:
    """ "low" for the least confident ``share`` of pairs, "high" for the most confident,
    "" in between (ties broken by position, so both tails have exactly the same size)."""
    confidence = np.asarray(confidence, dtype=float)
    n_tail = int(round(share * len(confidence)))
    order = np.argsort(confidence, kind="stable")
    groups = np.full(len(confidence), "", dtype=object)
    if n_tail:
        groups[order[:n_tail]] = "low"
        groups[order[-n_tail:]] = "high"
    return groups


def assign_groups(
    pairs: pd.DataFrame,
    counterfactual: pd.DataFrame,
    confidence: pd.DataFrame,
    edges=P3_CM_EDGES,
    confidence_share: float = 0.1,
) -> pd.DataFrame:
    """One row per training pair: ``pair_id``, ``cm``, ``cm_bucket``, ``confidence`` and
    ``confidence_group``. ``counterfactual`` has ``example`` and ``cm_probability``;
    ``confidence`` has ``pair_id`` and ``confidence``."""
    cm = counterfactual.set_index("example")["cm_probability"]
    conf = confidence.drop_duplicates("pair_id").set_index("pair_id")["confidence"]
    out = pd.DataFrame({"pair_id": pairs["pair_id"].to_numpy()})
    out["cm"] = out["pair_id"].map(cm)
    out["confidence"] = out["pair_id"].map(conf)
    missing = out[out[["cm", "confidence"]].isna().any(axis=1)]
    if len(missing):
        raise ValueError(
            f"{len(missing)} training pairs lack a CM or confidence score, e.g. pair_id {missing['pair_id'].iloc[0]}"
        )
    out["cm_bucket"] = cm_buckets(out["cm"], edges)
    out["confidence_group"] = confidence_groups(out["confidence"], confidence_share)
    return out


SUBGROUP_METRICS = {
    # metric: (reference the output is compared with, flag column)
    "replication": ("corpus", "replicated"),
    "exmem": ("corpus", "exmem"),
    "replication_of_teacher": ("teacher", "replicated"),
}


def subgroup_rates(examples: pd.DataFrame, groups: pd.DataFrame, edges=P3_CM_EDGES) -> pd.DataFrame:
    """Rates per (grouping, group, model, metric) with Wilson intervals.

    ``examples`` are the per-pair flags of ``seqkd_scores.training_examples`` for every
    model (column ``model``); ``groups`` come from :func:`assign_groups`. ExMem is counted
    over all pairs of a group (P3's "% ExMem from T_C"), since few pairs of a bucket
    replicate at small scale.
    """
    groupings = {
        "all": pd.Series("all", index=groups["pair_id"]),
        "cm": groups.set_index("pair_id")["cm_bucket"],
        "teacher_confidence": groups.set_index("pair_id")["confidence_group"],
    }
    orders = {"all": ["all"], "cm": bucket_labels(edges), "teacher_confidence": ["low", "high"]}
    rows = []
    for model, frame in examples.groupby("model", sort=False):
        for metric, (kind, flag) in SUBGROUP_METRICS.items():
            part = frame[frame["reference_kind"] == kind]
            if part.empty:
                continue
            flags = part.set_index("pair_id")[flag]
            for grouping, labels in groupings.items():
                by_group = labels.reindex(flags.index)
                for group in orders[grouping]:
                    rows.append(
                        {
                            "grouping": grouping,
                            "group": group,
                            "model": model,
                            "metric": metric,
                            **rate(flags[by_group == group]),
                        }
                    )
    return pd.DataFrame(rows)
