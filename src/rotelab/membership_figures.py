"""The membership engine's figures (LiRA, P5's onion effect), in the figure registry.

They read the score tables of the classifier pools (``rules/membership.smk``): the ``full``
pool for the ROC, every onion pool (``full``, ``targeted<l>``, ``random<l>``) for the onion
effect. A pool's name is the directory its tables sit in.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from .figures import _yerr, figure
from .io import read_parquet
from .onion import parse_pool
from .stats import rate, roc_curve
from .verdicts import Claim, difference, estimate, rate_difference

POOL_SCORES = "results/membership/classifier/full/attack_scores.parquet"
POOL_SUMMARY = "results/membership/classifier/full/attacks.parquet"
VULNERABILITY = "results/membership/classifier/{run}/vulnerability.parquet"
FPR_GRID = np.logspace(-4, 0, 81)
ARM_STYLE = {"targeted": ("#d95f02", "o", "targeted removal (most vulnerable)"),
             "random": ("#7570b3", "s", "random removal (control)")}


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
    Claim("lira", "LiRA is far more powerful than prior attacks at low false-positive rates (TPR at 0.1% FPR, "
          "fixed-variance online LiRA minus the loss attack).", "LiRA abstract (Table I, not verified here)",
          _lira_over_loss("tpr_at_0.1pct_fpr"), paper_value="10x more powerful at low FPR"),
    Claim("lira", "LiRA strictly dominates prior attacks on existing metrics (AUC, fixed-variance online LiRA "
          "minus the loss attack).", "LiRA abstract (Table I, not verified here)", _lira_over_loss("auc")),
)


def _first_layer_gap(table):
    rows = table[(table["measure"] == "newly_vulnerable") & (table["layer"] == 1)]
    return rate_difference(rows, {"arm": "targeted"}, {"arm": "random"})


ONION_EFFECT_CLAIMS = (
    Claim("onion", "Removing the layer of examples most vulnerable to membership inference exposes a new layer "
          "of previously safe examples, beyond what removing as many random examples does (share newly "
          "vulnerable after one layer, targeted minus random).", "P5 abstract (figure not verified here)",
          _first_layer_gap),
)


@figure(
    "lira_roc",
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
        ax.plot(FPR_GRID, np.maximum(tpr, 1e-4), label=f"{name} (AUC {stats['auc']:.3f}, "
                                                      f"TPR@0.1% {stats['tpr_at_0.1pct_fpr']:.3f})")
        rows.append(pd.DataFrame({"attack": name, "metric": "tpr", "fpr": FPR_GRID, "value": tpr, "n": len(frame)}))
    ax.plot(FPR_GRID, FPR_GRID, color="grey", ls=":", lw=1, label="chance")
    ax.set(xscale="log", yscale="log", xlim=(1e-4, 1), ylim=(1e-4, 1.05), xlabel="false-positive rate",
           ylabel="true-positive rate", title=f"LiRA on {scores['example'].nunique()} examples x "
                                              f"{scores['model'].nunique()} models")
    ax.legend(fontsize=7, loc="lower right")
    table = pd.concat([summary.assign(fpr=np.nan), *rows], ignore_index=True)
    return table[["attack", "metric", "fpr", "value", "n", "ci_low", "ci_high"]], fig


def _onion_rows(per_pool: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Per pool: the share of its examples that are vulnerable, and the share of the
    examples safe in the full pool (and still present) that are vulnerable now."""
    safe_before = set(per_pool["full"].loc[~per_pool["full"]["vulnerable"], "example"])
    rows = []
    for pool, frame in per_pool.items():
        arm, layer = parse_pool(pool)
        for arm_name in ([arm] if arm else list(ARM_STYLE)):  # the full pool is layer 0 of both arms
            previously_safe = frame[frame["example"].isin(safe_before)]
            for measure, flags in (("vulnerable", frame["vulnerable"]),
                                   ("newly_vulnerable", previously_safe["vulnerable"])):
                rows.append({"arm": arm_name, "layer": layer, "pool": pool, "measure": measure,
                             "count": int(flags.sum()), **rate(flags)})
    return pd.DataFrame(rows).sort_values(["measure", "arm", "layer"], ignore_index=True)


@figure(
    "onion_effect",
    paper="onion",
    claims=ONION_EFFECT_CLAIMS,
    inputs=(VULNERABILITY,),
    runs="onion",
    caption=(
        "The privacy onion effect: per layer, the most vulnerable examples (by LiRA: share of the "
        "models that trained on an example whose score clears the 1%-FPR threshold) are removed, "
        "new reference models are trained on the rest and the attack is rerun; the control removes as "
        "many random examples. Left: share of the remaining examples that are vulnerable. Right: "
        "share of the examples that were safe before any removal that are vulnerable now. Bars: 95% "
        "Wilson intervals. P5 (Carlini et al. 2022): removing the most vulnerable layer exposes a new "
        "layer of previously safe examples, far more than random removal does."
    ),
)
def onion_effect(inputs):
    per_pool = {Path(path).parent.name: read_parquet(path) for path in inputs[VULNERABILITY]}
    table = _onion_rows(per_pool)
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
    titles = {"vulnerable": "vulnerable share of the remaining pool",
              "newly_vulnerable": "previously safe examples now vulnerable"}
    for ax, (measure, title) in zip(axes, titles.items()):
        for arm, (color, marker, label) in ARM_STYLE.items():
            rows = table[(table["measure"] == measure) & (table["arm"] == arm)]
            offset = -0.05 if arm == "targeted" else 0.05
            ax.errorbar(rows["layer"] + offset, rows["value"], yerr=_yerr(rows), color=color, marker=marker,
                        capsize=3, label=label)
        ax.set(title=title, xlabel="removal layer (0 = full dataset)", xticks=sorted(table["layer"].unique()))
    axes[0].set_ylabel("share of examples")
    axes[0].legend(fontsize=8)
    return table, fig
