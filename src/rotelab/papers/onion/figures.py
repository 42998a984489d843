"""P5's onion-effect figure over the classifier pools of ``rules/membership.smk``: every
onion pool (``full``, ``targeted<l>``, ``random<l>``); a pool's name is the directory its
tables sit in.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from rotelab.core.io import read_parquet
from rotelab.core.stats import rate
from rotelab.figures.plots import yerr
from rotelab.figures.registry import figure
from rotelab.papers.onion.layers import parse_pool
from rotelab.reproduction.verdicts import Claim, rate_difference

VULNERABILITY = "results/membership/classifier/{run}/vulnerability.parquet"
ARM_STYLE = {
    "targeted": ("#d95f02", "o", "targeted removal (most vulnerable)"),
    "random": ("#7570b3", "s", "random removal (control)"),
}


def _first_layer_gap(table):
    rows = table[(table["measure"] == "newly_vulnerable") & (table["layer"] == 1)]
    return rate_difference(rows, {"arm": "targeted"}, {"arm": "random"})


ONION_EFFECT_CLAIMS = (
    Claim(
        "onion",
        "Removing the layer of examples most vulnerable to membership inference exposes a new layer "
        "of previously safe examples, beyond what removing as many random examples does (share newly "
        "vulnerable after one layer, targeted minus random).",
        "P5 abstract (figure not verified here)",
        _first_layer_gap,
    ),
)


def _onion_rows(per_pool: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Per pool: the share of its examples that are vulnerable, and the share of the
    examples safe in the full pool (and still present) that are vulnerable now."""
    safe_before = set(per_pool["full"].loc[~per_pool["full"]["vulnerable"], "example"])
    rows = []
    for pool, frame in per_pool.items():
        arm, layer = parse_pool(pool)
        for arm_name in [arm] if arm else list(ARM_STYLE):  # the full pool is layer 0 of both arms
            previously_safe = frame[frame["example"].isin(safe_before)]
            for measure, flags in (
                ("vulnerable", frame["vulnerable"]),
                ("newly_vulnerable", previously_safe["vulnerable"]),
            ):
                rows.append(
                    {
                        "arm": arm_name,
                        "layer": layer,
                        "pool": pool,
                        "measure": measure,
                        "count": int(flags.sum()),
                        **rate(flags),
                    }
                )
    return pd.DataFrame(rows).sort_values(["measure", "arm", "layer"], ignore_index=True)


@figure(
    "onion_effect",
    settings=(
        "membership.dataset",
        "membership.reference_models",
        "membership.onion.layers",
        "membership.onion.remove",
        "membership.onion.attack",
        "membership.onion.fpr",
    ),
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
    titles = {
        "vulnerable": "vulnerable share of the remaining pool",
        "newly_vulnerable": "previously safe examples now vulnerable",
    }
    for ax, (measure, title) in zip(axes, titles.items()):
        for arm, (color, marker, label) in ARM_STYLE.items():
            rows = table[(table["measure"] == measure) & (table["arm"] == arm)]
            offset = -0.05 if arm == "targeted" else 0.05
            ax.errorbar(
                rows["layer"] + offset,
                rows["value"],
                yerr=yerr(rows),
                color=color,
                marker=marker,
                capsize=3,
                label=label,
            )
        ax.set(title=title, xlabel="removal layer (0 = full dataset)", xticks=sorted(table["layer"].unique()))
    axes[0].set_ylabel("share of examples")
    axes[0].legend(fontsize=8)
    return table, fig
