"""Intervals and ROC summaries shared by every metric.

Every reported rate carries ``n`` and a 95% interval: Wilson score intervals for
proportions (Wilson 1927; Brown, Cai & DasGupta 2001 recommend it over the Wald interval
for small n), percentile bootstrap for everything else (AUC, TPR at fixed FPR, means).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from statistics import NormalDist

import numpy as np


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion; (nan, nan) when n == 0."""
    if n == 0:
        return (math.nan, math.nan)
    if not 0 <= successes <= n:
        raise ValueError(f"successes={successes} outside [0, n={n}]")
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    # At 0 or n successes the bound is exactly 0 or 1; subtraction would leave rounding dust.
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == n else min(1.0, centre + half)
    return (low, high)


def rate(flags, confidence: float = 0.95) -> dict:
    """Proportion of true ``flags`` with its Wilson interval: value, n, ci_low, ci_high."""
    flags = np.asarray(flags, dtype=bool)
    k, n = int(flags.sum()), int(flags.size)
    lo, hi = wilson_interval(k, n, confidence)
    return {"value": k / n if n else math.nan, "n": n, "ci_low": lo, "ci_high": hi}


def bootstrap_interval(
    statistic: Callable[..., float], *samples: np.ndarray, n_boot: int = 1000, seed: int = 0, confidence: float = 0.95
) -> tuple[float, float]:
    """Percentile bootstrap; each sample is resampled independently (stratified)."""
    rng = np.random.default_rng(seed)
    samples = [np.asarray(s) for s in samples]
    if any(len(s) == 0 for s in samples):
        return (math.nan, math.nan)
    stats = np.empty(n_boot)
    for b in range(n_boot):
        stats[b] = statistic(*(s[rng.integers(0, len(s), len(s))] for s in samples))
    alpha = (1 - confidence) / 2
    return (float(np.nanquantile(stats, alpha)), float(np.nanquantile(stats, 1 - alpha)))


def mean_with_interval(values, n_boot: int = 1000, seed: int = 0) -> dict:
    values = np.asarray(values, dtype=float)
    lo, hi = bootstrap_interval(np.mean, values, n_boot=n_boot, seed=seed)
    return {
        "value": float(values.mean()) if values.size else math.nan,
        "n": int(values.size),
        "ci_low": lo,
        "ci_high": hi,
    }


def roc_curve(member_scores, nonmember_scores) -> tuple[np.ndarray, np.ndarray]:
    """(fpr, tpr) over all thresholds; higher score means 'member'. Starts at (0, 0)."""
    pos = np.asarray(member_scores, dtype=float)
    neg = np.asarray(nonmember_scores, dtype=float)
    scores = np.concatenate([pos, neg])
    labels = np.concatenate([np.ones(len(pos)), np.zeros(len(neg))])
    order = np.argsort(-scores, kind="stable")
    scores, labels = scores[order], labels[order]
    # Only emit a point where the threshold changes, so ties move diagonally.
    distinct = np.r_[np.flatnonzero(np.diff(scores)), len(scores) - 1]
    tps = np.cumsum(labels)[distinct]
    fps = (distinct + 1) - tps
    tpr = np.r_[0.0, tps / max(len(pos), 1)]
    fpr = np.r_[0.0, fps / max(len(neg), 1)]
    return fpr, tpr


def auc(member_scores, nonmember_scores) -> float:
    """Area under the ROC curve = P(member score > non-member score) + 0.5 P(tie), from
    mid-ranks (the Mann-Whitney U statistic), so it scales to many thousands of scores."""
    pos = np.asarray(member_scores, dtype=float)
    neg = np.asarray(nonmember_scores, dtype=float)
    if len(pos) == 0 or len(neg) == 0:
        return math.nan
    from scipy.stats import rankdata  # scipy.stats costs ~2 s to import; only AUC needs it

    ranks = rankdata(np.concatenate([pos, neg]))
    u = ranks[: len(pos)].sum() - len(pos) * (len(pos) + 1) / 2
    return float(u / (len(pos) * len(neg)))


def tpr_at_fpr(member_scores, nonmember_scores, max_fpr: float) -> float:
    """Highest TPR among thresholds whose FPR does not exceed ``max_fpr`` (LiRA's convention).

    With fewer than 1/max_fpr non-members this is the TPR at zero false positives.
    """
    fpr, tpr = roc_curve(member_scores, nonmember_scores)
    ok = fpr <= max_fpr + 1e-12
    return float(tpr[ok].max()) if ok.any() else 0.0


MEMBERSHIP_METRICS = ("auc", "balanced_accuracy", "tpr_at_1pct_fpr", "tpr_at_0.1pct_fpr")


def _metrics_from_counts(tps: np.ndarray, fps: np.ndarray) -> np.ndarray:
    """The four metrics of :data:`MEMBERSHIP_METRICS` from cumulative true/false positive
    counts at each distinct threshold, highest first (the trapezoid area equals the
    tie-aware Mann-Whitney AUC because ties move diagonally)."""
    tpr = np.r_[0.0, tps / tps[-1]]
    fpr = np.r_[0.0, fps / fps[-1]]
    at = [float(tpr[fpr <= limit + 1e-12].max()) for limit in (0.01, 0.001)]
    area = float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))
    return np.array([area, float(np.max(1 - (fpr + (1 - tpr)) / 2)), *at])


def _group_strata(groups: np.ndarray, n_pos: int) -> tuple[np.ndarray, list[np.ndarray]]:
    """Each score's group index, and the groups of each stratum: groups with members only,
    with non-members only, and with both. Groups are numbered in order of first appearance,
    so one group per score draws exactly the resamples of the per-side bootstrap."""
    _, first, inverse = np.unique(groups, return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")
    index = np.empty(len(order), dtype=int)
    index[order] = np.arange(len(order))
    index = index[inverse.reshape(-1)]
    has_pos = np.bincount(index[:n_pos], minlength=len(order)) > 0
    has_neg = np.bincount(index[n_pos:], minlength=len(order)) > 0
    strata = (has_pos & ~has_neg, ~has_pos & has_neg, has_pos & has_neg)
    return index, [np.flatnonzero(s) for s in strata if s.any()]


def membership_summary(
    member_scores, nonmember_scores, n_boot: int = 1000, seed: int = 0, groups: tuple | None = None
) -> list[dict]:
    """AUC, balanced accuracy and TPR at 1% / 0.1% FPR, each with a stratified percentile
    bootstrap interval.

    ``groups``: (ids of the member scores, ids of the non-member scores), e.g. the example
    of each (model, example) pair when K models score the same N examples. The bootstrap
    then draws whole groups (a cluster bootstrap: Davison & Hinkley 1997, section 3.8; Field &
    Welsh 2007), because an example's K pairs share the example and are not independent:
    resampling pairs treats K correlated scores as K independent ones, which misstates the
    interval. Groups are stratified by what they hold (members only, non-members only,
    both); without ``groups`` every score is its own group, which is the per-side bootstrap.

    The scores are sorted once; a resample only changes how often each score counts (how
    often its group was drawn), so its ROC is a cumulative sum of resampled counts along that
    order (the same resamples as drawing ``pos[idx]``, ``neg[idx]`` afresh, at a fraction of
    the cost)."""
    pos = np.asarray(member_scores, dtype=float)
    neg = np.asarray(nonmember_scores, dtype=float)
    n = len(pos) + len(neg)
    if len(pos) == 0 or len(neg) == 0:
        return [
            {"metric": name, "value": math.nan, "n": n, "ci_low": math.nan, "ci_high": math.nan}
            for name in MEMBERSHIP_METRICS
        ]
    if groups is None:
        group, strata = np.arange(n), [np.arange(len(pos)), np.arange(len(pos), n)]
    else:
        member_groups, nonmember_groups = (np.asarray(g) for g in groups)
        if (len(member_groups), len(nonmember_groups)) != (len(pos), len(neg)):
            raise ValueError("groups must give one id per member score and one per non-member score")
        group, strata = _group_strata(np.concatenate([member_groups, nonmember_groups]), len(pos))
    n_groups = sum(len(s) for s in strata)
    scores = np.concatenate([pos, neg])
    order = np.argsort(-scores, kind="stable")
    distinct = np.r_[np.flatnonzero(np.diff(scores[order])), n - 1]
    sorted_group, sorted_pos = group[order], order < len(pos)

    def metrics(group_counts):
        counts = group_counts[sorted_group]
        positives, negatives = np.cumsum(counts * sorted_pos), np.cumsum(counts * ~sorted_pos)
        return _metrics_from_counts(positives[distinct], negatives[distinct])

    values = metrics(np.ones(n_groups))
    rng = np.random.default_rng(seed)

    def resample():
        counts = np.zeros(n_groups)
        for stratum in strata:
            counts[stratum] += np.bincount(rng.integers(0, len(stratum), len(stratum)), minlength=len(stratum))
        return counts

    # A mixed stratum can draw no member (or no non-member) group: that resample's rates are nan.
    with np.errstate(invalid="ignore", divide="ignore"):
        boot = np.array([metrics(resample()) for _ in range(n_boot)])
    lows, highs = np.nanquantile(boot, 0.025, axis=0), np.nanquantile(boot, 0.975, axis=0)
    return [
        {"metric": name, "value": float(v), "n": n, "ci_low": float(lo), "ci_high": float(hi)}
        for name, v, lo, hi in zip(MEMBERSHIP_METRICS, values, lows, highs)
    ]


def relative_change(k1: int, n1: int, k2: int, n2: int, confidence: float = 0.95) -> dict:
    """Percent change of proportion k1/n1 over k2/n2 with the Katz log interval of the risk
    ratio (Katz et al. 1978): log RR +- z sqrt(1/k1 - 1/n1 + 1/k2 - 1/n2). Undefined (nan)
    when either count is 0."""
    if min(k1, k2) == 0 or min(n1, n2) == 0:
        return {"value": math.nan, "n": n1, "ci_low": math.nan, "ci_high": math.nan}
    rr = (k1 / n1) / (k2 / n2)
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    half = z * math.sqrt(1 / k1 - 1 / n1 + 1 / k2 - 1 / n2)
    return {
        "value": 100 * (rr - 1),
        "n": n1,
        "ci_low": 100 * (rr * math.exp(-half) - 1),
        "ci_high": 100 * (rr * math.exp(half) - 1),
    }


def power_law_exponent(x, y) -> float:
    """Least-squares slope of log(y) on log(x): b in y ~ x^b (1 for linear growth, 0.5 for
    square-root)."""
    return float(np.polyfit(np.log(np.asarray(x, dtype=float)), np.log(np.asarray(y, dtype=float)), 1)[0])
