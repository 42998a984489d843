"""ACIL's figures (P7), in the figure registry: one ``phases_<K>`` table per phase count."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from rotelab.core.stats import wilson_interval
from rotelab.figures.plots import concat
from rotelab.figures.registry import figure
from rotelab.reproduction.verdicts import Claim, exact, not_measurable

PHASE_TABLE = "results/acil/phases_{run}.parquet"
METHOD_STYLE = {
    "acil": ("#1b9e77", "-", "ACIL (recursive, analytic)"),
    "joint": ("black", ":", "joint ridge on all data seen"),
    "sgd": ("#d95f02", "--", "SGD-trained linear head"),
}


# P7 proves the recursive solution equal to the joint one; float64 arithmetic adds rounding,
# so "equal" is read as within sqrt(machine epsilon) ~ 1.5e-8.
FLOAT64_EQUAL = 1.5e-8


def _largest_gap(table):
    return exact(table["value"].abs().max(), len(table), "largest |W_ACIL - W_joint| over every phase and K")


ACIL_EQUIVALENCE_CLAIMS = (
    Claim(
        "acil",
        "The recursively (class-incrementally) learnt weights equal the joint ridge solution on all data "
        "seen so far, whatever the number of phases (absolute memorization).",
        "P7 title and abstract (theorem number not verified here)",
        _largest_gap,
        direction=0,
        margin=FLOAT64_EQUAL,
        paper_value="equal (proved)",
    ),
)


# What both ACIL figures' numbers depend on.
ACIL_SETTINGS = ("acil.dataset", "acil.base_classes", "acil.phases", "acil.expansion", "acil.gamma")


@figure(
    "acil_equivalence",
    settings=ACIL_SETTINGS,
    paper="acil",
    claims=ACIL_EQUIVALENCE_CLAIMS,
    inputs=(PHASE_TABLE,),
    runs="acil",
    caption=(
        "ACIL's absolute memorization (P7): after every phase, the largest absolute difference "
        "between the recursively learnt weights and the ridge solution on all data seen so far "
        "(float64), for each number of incremental phases K. P7 proves the two equal; the "
        "differences should sit at float64 rounding, many orders of magnitude below the "
        "weights themselves (dotted: the largest joint weight)."
    ),
)
def acil_equivalence(inputs):
    table = concat(inputs[PHASE_TABLE])
    acil = table[table["method"] == "acil"].sort_values(["phases", "phase"])
    fig, ax = plt.subplots(figsize=(6, 3.8))
    for k, part in acil.groupby("phases"):
        ax.plot(part["phase"] / k, part["max_abs_diff"].clip(lower=1e-18), marker="o", ms=3, label=f"K = {k}")
    ax.axhline(acil["max_abs_weight"].max(), color="grey", ls=":", lw=1)
    ax.set_yscale("log")
    ax.set_xlabel("share of the incremental phases done")
    ax.set_ylabel("max |W_ACIL - W_joint|")
    ax.legend(fontsize=7)
    out = acil.assign(metric="max_abs_diff", value=acil["max_abs_diff"], ci_low=np.nan, ci_high=np.nan)
    return out[["phases", "phase", "classes_seen", "metric", "value", "n", "ci_low", "ci_high"]], fig


def _accuracy_spread(table):
    """Largest minus smallest final ACIL accuracy over the phase counts, in test examples:
    equal weights give identical predictions, so equality means a gap below one example."""
    acil = table[table["method"] == "acil"]
    final = acil[acil["phase"] == acil["phases"]]
    if final["phases"].nunique() < 2:
        return not_measurable("one phase count only: nothing to compare", int(final["n"].sum()))
    n = int(final["n"].max())
    return exact(
        (final["value"].max() - final["value"].min()) * n,
        n,
        f"final ACIL accuracy over K = {sorted(final['phases'].tolist())}, gap in test examples",
    )


ACIL_ACCURACY_CLAIMS = (
    Claim(
        "acil",
        "ACIL's accuracy does not depend on the number of incremental phases (final accuracy, largest "
        "minus smallest over the phase counts, in test examples).",
        "P7 abstract (table not verified here)",
        _accuracy_spread,
        direction=0,
        margin=0.5,
        paper_value="independent of K",
    ),
)


@figure(
    "acil_accuracy",
    settings=ACIL_SETTINGS,
    paper="acil",
    claims=ACIL_ACCURACY_CLAIMS,
    inputs=(PHASE_TABLE,),
    runs="acil",
    caption=(
        "Test accuracy on the classes seen so far after every phase (Wilson 95% bands), one panel "
        "per number of incremental phases K: ACIL, the joint ridge solution, and a linear head "
        "trained by SGD on each phase's data only. P7: ACIL's accuracy equals joint training and "
        "does not depend on K, while the SGD head forgets the earlier classes."
    ),
)
def acil_accuracy(inputs):
    table = concat(inputs[PHASE_TABLE]).sort_values(["phases", "phase"])
    bounds = [wilson_interval(c, n) for c, n in zip(table["correct"], table["n"])]
    table = table.assign(
        metric="accuracy", value=table["accuracy"], ci_low=[b[0] for b in bounds], ci_high=[b[1] for b in bounds]
    )
    ks = sorted(table["phases"].unique())
    fig, axes = plt.subplots(1, len(ks), figsize=(3.4 * len(ks), 3.4), sharey=True, squeeze=False)
    for ax, k in zip(axes[0], ks):
        for method, (color, ls, label) in METHOD_STYLE.items():
            part = table[(table["phases"] == k) & (table["method"] == method)]
            ax.plot(part["phase"], part["value"], color=color, ls=ls, label=label)
            ax.fill_between(part["phase"], part["ci_low"], part["ci_high"], color=color, alpha=0.15)
        ax.set_title(f"K = {k}", fontsize=10)
        ax.set_xlabel("phase (0 = base classes)")
    axes[0, 0].set_ylabel("accuracy on classes seen")
    axes[0, 0].legend(fontsize=7)
    fig.tight_layout()
    cols = ["phases", "phase", "classes_seen", "method", "metric", "value", "n", "ci_low", "ci_high"]
    return pd.DataFrame(table[cols]).reset_index(drop=True), fig
