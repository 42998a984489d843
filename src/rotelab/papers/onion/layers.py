"""The privacy onion effect (P5: Carlini, Jagielski, Zhang, Papernot, Terzis, Tramer,
"The Privacy Onion Effect: Memorization is Relative", NeurIPS 2022).

Protocol: score every example of a pool with LiRA over a reference ensemble; remove the
``remove`` most vulnerable examples; draw a new membership matrix over the rest, retrain
the ensemble and re-score; repeat for ``layers`` layers. The control arm removes as many
random examples per layer. The paper's claim: after targeted removal, previously safe
examples become vulnerable, far more than after random removal.

Pools are named ``full`` (the whole dataset), ``targeted<l>`` and ``random<l>`` (after l
removals in that arm); each has its own matrix, ensemble and scores.

Per-example vulnerability (our operationalisation; the paper ranks examples by LiRA's
per-example success): one global threshold puts the attack at ``fpr`` false positives over
all (model, example) OUT pairs; an example's vulnerability is the share of the models that
trained on it whose score clears that threshold (its TPR at the global FPR). An example
is *vulnerable* when that share is at least ``vulnerable_tpr``. Ties in the ranking are
broken by the gap between the example's mean IN and mean OUT score.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

ARMS = ("targeted", "random")
POOL_PATTERN = r"full|(?:targeted|random)[1-9][0-9]*"


@dataclass(frozen=True)
class OnionConfig:
    """layers: removal rounds per arm. remove: examples removed per round.
    attack: the registered attack that ranks examples. fpr: the global false-positive rate
    at which an example's TPR is read. vulnerable_tpr: the TPR from which an example counts
    as vulnerable."""

    layers: int = 3
    remove: int = 100
    attack: str = "lira_online_fixed"
    fpr: float = 0.01
    vulnerable_tpr: float = 0.5


def pool_names(layers: int) -> list[str]:
    return ["full"] + [f"{arm}{layer}" for arm in ARMS for layer in range(1, layers + 1)]


def parse_pool(name: str) -> tuple[str | None, int]:
    """(arm, layer): ``full`` is (None, 0)."""
    if name == "full":
        return None, 0
    match = re.fullmatch(r"(targeted|random)([1-9][0-9]*)", name)
    if not match:
        raise ValueError(f"not an onion pool name: {name!r} (full, targeted<l> or random<l>)")
    return match.group(1), int(match.group(2))


def previous_pool(name: str) -> str:
    arm, layer = parse_pool(name)
    if arm is None:
        raise ValueError("the full pool has no previous pool")
    return "full" if layer == 1 else f"{arm}{layer - 1}"


def vulnerability(scores: pd.DataFrame, fpr: float, vulnerable_tpr: float) -> pd.DataFrame:
    """Per example of one attack's (model, example, member, score) table: ``tpr`` (share of
    its IN models above the global threshold), ``n_in``, ``margin`` (mean IN minus mean OUT
    score), ``vulnerable``, and the ``threshold`` used."""
    out_scores = scores.loc[~scores["member"], "score"].to_numpy()
    # The smallest threshold with at most fpr of OUT scores strictly above it.
    threshold = float(np.quantile(out_scores, 1 - fpr, method="higher"))
    frame = scores.assign(hit=scores["score"] > threshold)
    grouped = frame.groupby("example", sort=False)
    per_in = frame[frame["member"]].groupby("example", sort=False)
    per_out = frame[~frame["member"]].groupby("example", sort=False)
    result = pd.DataFrame(
        {
            "tpr": per_in["hit"].mean(),
            "n_in": per_in["hit"].size(),
            "margin": per_in["score"].mean() - per_out["score"].mean(),
        }
    ).reindex(grouped.size().index)
    result["vulnerable"] = result["tpr"] >= vulnerable_tpr
    result["threshold"] = threshold
    return result.rename_axis("example").reset_index()


def most_vulnerable(per_example: pd.DataFrame, k: int) -> np.ndarray:
    """Example ids of the ``k`` most vulnerable (by TPR, then margin)."""
    ranked = per_example.sort_values(["tpr", "margin", "example"], ascending=[False, False, True], kind="stable")
    return ranked["example"].to_numpy()[:k]


def next_pool(pool: pd.DataFrame, per_example: pd.DataFrame | None, arm: str, k: int, seed: int) -> pd.DataFrame:
    """The pool after one removal: the ``k`` most vulnerable examples (``targeted``, which
    needs the pool's vulnerability table) or ``k`` seeded random ones (``random``)."""
    if k >= len(pool):
        raise ValueError(f"cannot remove {k} of a pool of {len(pool)} examples")
    if arm == "targeted":
        drop = set(most_vulnerable(per_example, k).tolist())
    elif arm == "random":
        drop = set(np.random.default_rng(seed).choice(pool["example"].to_numpy(), size=k, replace=False).tolist())
    else:
        raise ValueError(f"unknown onion arm {arm!r}; known: {', '.join(ARMS)}")
    return pool[~pool["example"].isin(drop)].reset_index(drop=True)
