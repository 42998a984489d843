"""The membership engine's ROC figure: LiRA against the other attacks on the classifier
pool (``rules/membership.smk``, the ``full`` pool's score tables)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from rotelab.core.io import read_parquet
from rotelab.core.stats import roc_curve
from rotelab.figures.registry import figure
from rotelab.reproduction.verdicts import Claim, difference, estimate

POOL_SCORES = "results/membership/classifier/full/attack_scores.parquet"
POOL_SUMMARY = "results/membership/classifier/full/attacks.parquet"
FPR_GRID = np.logspace(-4, 0, 81)


def _tpr_on_grid(member, nonmember) -> np.ndarray:
    """TPR at each FPR of the grid (the best TPR whose FPR does not exceed it)."""
    fpr, tpr = roc_curve(member, nonmember)
    best = np.maximum.accumulate(tpr)  # fpr is non-decreasing along the curve
    return best[np.searchsorted(fpr, FPR_GRID + 1e-12, side="right") - 1]


def _lira_over_loss(metric):
    def effect(table):
        rows = table[(table["metric"] == metric) & table["fpr"].isna()]
        return difference(estimate(rows, attack="lira_online_fixed"), estimate(rows, attack="loss"))

    return effect


# LiRA with few reference models is the paper's fixed-variance variant (its Sec. on small
# numbers of shadow models); the default pools have 16.
LIRA_ROC_CLAIMS = (
    Claim(
        "lira",
        "LiRA is far more powerful than prior attacks at low false-positive rates (TPR at 0.1% FPR, "
        "fixed-variance online LiRA minus the loss attack).",
        "LiRA abstract (Table I, not verified here)",
        _lira_over_loss("tpr_at_0.1pct_fpr"),
        paper_value="10x more powerful at low FPR",
    ),
    Claim(
        "lira",
        "LiRA strictly dominates prior attacks on existing metrics (AUC, fixed-variance online LiRA "
        "minus the loss attack).",
        "LiRA abstract (Table I, not verified here)",
        _lira_over_loss("auc"),
    ),
)


@figure(
    "lira_roc",
    settings=(
        "membership.dataset",
        "membership.reference_models",
        "membership.classifier.hidden",
        "membership.classifier.epochs",
        "membership.attacks",
    ),
    paper="onion",
    claims=LIRA_ROC_CLAIMS,
    inputs=(POOL_SCORES, POOL_SUMMARY),
    caption=(
        "Membership inference on the reference classifiers (K MLPs on scikit-learn's digits, every "
        "example IN for exactly half of them; each model the target in turn, the others its "
        "references): ROC on log-log axes for LiRA online/offline with per-example or fixed variance, "
        "the reference-model difference and the loss attack; the table adds AUC, balanced accuracy "
        "and TPR at 1% and 0.1% FPR with bootstrap 95% intervals over examples (an example's K pairs "
        "are resampled together). LiRA (Carlini et al. 2022): "
        "reference-calibrated attacks dominate the loss attack at low FPR; the online attack with "
        "fixed variance is the strongest with few reference models."
    ),
)
def lira_roc(inputs):
    scores = read_parquet(inputs[POOL_SCORES][0])
    summary = read_parquet(inputs[POOL_SUMMARY][0])
    fig, ax = plt.subplots(figsize=(6, 5))
    rows = []
    for name, frame in scores.groupby("attack", sort=False):
        member = frame["member"].to_numpy(bool)
        tpr = _tpr_on_grid(frame.loc[member, "score"], frame.loc[~member, "score"])
        stats = summary[summary["attack"] == name].set_index("metric")["value"]
        ax.plot(
            FPR_GRID,
            np.maximum(tpr, 1e-4),
            label=f"{name} (AUC {stats['auc']:.3f}, TPR@0.1% {stats['tpr_at_0.1pct_fpr']:.3f})",
        )
        rows.append(pd.DataFrame({"attack": name, "metric": "tpr", "fpr": FPR_GRID, "value": tpr, "n": len(frame)}))
    ax.plot(FPR_GRID, FPR_GRID, color="grey", ls=":", lw=1, label="chance")
    ax.set(
        xscale="log",
        yscale="log",
        xlim=(1e-4, 1),
        ylim=(1e-4, 1.05),
        xlabel="false-positive rate",
        ylabel="true-positive rate",
        title=f"LiRA on {scores['example'].nunique()} examples x {scores['model'].nunique()} models",
    )
    ax.legend(fontsize=7, loc="lower right")
    table = pd.concat([summary.assign(fpr=np.nan), *rows], ignore_index=True)
    return table[["attack", "metric", "fpr", "value", "n", "ci_low", "ci_high"]], fig
