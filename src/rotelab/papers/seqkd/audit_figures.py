"""The SeqKD chain's privacy audit: how much of the teacher's leakage about its training
canaries the student inherits, as an empirical lower bound on epsilon."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from rotelab.figures.plots import COLORS, MODEL_LABELS, concat
from rotelab.figures.registry import MODELS, figure
from rotelab.membership.audit import strongest_threshold_audit
from rotelab.papers.seqkd.figures import SEQKD_CHAIN_SETTINGS
from rotelab.reproduction.verdicts import Claim, Effect

EXAMPLES = "results/scores/{model}/membership_examples.parquet"
# No model of the chain has an accountant, so no delta is promised: bound pure epsilon.
DELTA = 0.0
CONFIDENCE = 0.95
SPLIT_SEED = 0  # the threshold audit's selection/audit halves, fixed before any score was seen


def audit_model(examples: pd.DataFrame) -> dict:
    """Threshold audit of one model: inserted canaries (every replica group, each canary with
    all its copies) against never-inserted ones, under the strongest membership attack."""
    by_attack = {
        attack: (
            part.loc[part["inserted"], "score"].to_numpy(float),
            part.loc[~part["inserted"], "score"].to_numpy(float),
        )
        for attack, part in examples.groupby("attack", sort=True)
    }
    attack, bound = strongest_threshold_audit(by_attack, DELTA, CONFIDENCE, SPLIT_SEED)
    members, nonmembers = by_attack[attack]
    return {
        "epsilon_lower": bound.epsilon,
        "attack": attack,
        "fpr_high": bound.fpr_high,
        "fnr_high": bound.fnr_high,
        "members": members.size,
        "nonmembers": nonmembers.size,
        "delta": DELTA,
        "confidence": CONFIDENCE,
    }


def _student_bound(table):
    """The student's lower bound on epsilon; a one-sided 95% confidence bound, so it is its
    own interval: above 0, the student demonstrably leaks which canaries T trained on."""
    row = table[table["model"] == "student"].iloc[0]
    bound = float(row["epsilon_lower"])
    return Effect(bound, bound, bound, int(row["members"] + row["nonmembers"]), "S's epsilon lower bound (delta = 0)")


SEQKD_AUDIT_CLAIMS = (
    Claim(
        "seqkd",
        "Despite not directly seeing the original training data, students memorize it: an auditor tells the "
        "teacher's training canaries from never-inserted ones in S well enough to bound its epsilon above 0 "
        "(threshold audit, strongest attack, 95% confidence).",
        "P3 abstract",
        _student_bound,
    ),
)


@figure(
    "seqkd_audit",
    claims=SEQKD_AUDIT_CLAIMS,
    settings=SEQKD_CHAIN_SETTINGS + ("scoring.attacks",),
    paper="seqkd",
    inputs=(EXAMPLES,),
    caption=(
        "Empirical privacy of the SeqKD chain about the teacher's training canaries: a lower bound on "
        "epsilon (delta = 0) from a threshold test of inserted against never-inserted canaries "
        "(Jagielski, Ullman & Oprea 2020: threshold and direction chosen on a random half, Clopper-Pearson "
        "bounds on FPR and FNR on the other, Kairouz et al.'s hypothesis-testing limits), under the "
        "strongest membership attack (a Bonferroni share of the 95% confidence each). The student never "
        "saw the canaries, only the teacher's translations; its share of the teacher's bound is how much "
        "of the leakage it inherits (P3). A canary's privacy unit is all its copies (up to the largest "
        "insertion count), so these bound group privacy, not per-record epsilon."
    ),
)
def seqkd_audit(inputs):
    examples = concat(inputs[EXAMPLES])
    rows = [{"model": model, **audit_model(examples[examples["model"] == model])} for model in MODELS]
    table = pd.DataFrame(rows)
    teacher = float(table.loc[table["model"] == "teacher", "epsilon_lower"].iloc[0])
    table["share_of_teacher"] = table["epsilon_lower"] / teacher if teacher > 0 else np.nan
    # Tidy columns: a one-sided 95% lower confidence bound is its own interval's lower end.
    table = table.assign(
        value=table["epsilon_lower"],
        n=table["members"] + table["nonmembers"],
        ci_low=table["epsilon_lower"],
        ci_high=np.nan,
    )
    fig, ax = plt.subplots(figsize=(5, 3.4))
    ax.bar(
        [MODEL_LABELS[m] for m in table["model"]],
        table["epsilon_lower"],
        color=[COLORS.get(m, "#777777") for m in table["model"]],
    )
    for x, (bound, attack) in enumerate(zip(table["epsilon_lower"], table["attack"])):
        ax.annotate(f"{bound:.2f} ({attack})", (x, bound), ha="center", va="bottom", fontsize=7)
    ax.set_ylabel("empirical epsilon lower bound")
    ax.set_title("leakage about the teacher's canaries")
    fig.tight_layout()
    return table, fig
