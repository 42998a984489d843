"""Figures for P3's subgroup analysis and Adaptive-SeqKD, in the figure registry."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from rotelab.core.io import read_parquet
from rotelab.figures.plots import COLORS, MODEL_LABELS, grouped_bars, rate_ratio_row, yerr
from rotelab.figures.registry import MODELS, figure
from rotelab.papers.seqkd.adaptive import SUBSETS
from rotelab.papers.seqkd.figures import EXMEM_COUNT_LIMIT, SEQKD_CHAIN_SETTINGS
from rotelab.reproduction.verdicts import Claim, change, rate_difference

SUBGROUP_RATES = "results/scores/seqkd_subgroups/rates.parquet"
SUBGROUP_PANELS = [("replication", "replication of the corpus target"), ("exmem", "ExMem (of all pairs)")]
GROUPINGS = [("cm", "counterfactual memorization"), ("teacher_confidence", "teacher confidence (tails)")]


P3_SUBGROUPS = "P3 Sec. 3 and Appendix E.2 (the authors' subgroup figures, mean over 5 language pairs)"


def _cm_rise(table):
    """The teacher's replication in the highest CM bucket minus the lowest."""
    rows = table[(table["grouping"] == "cm") & (table["model"] == "teacher") & (table["metric"] == "replication")]
    groups = list(dict.fromkeys(rows["group"]))
    return rate_difference(rows, {"group": groups[-1]}, {"group": groups[0]})


def _confident_copying(table):
    rows = table[
        (table["grouping"] == "teacher_confidence")
        & (table["model"] == "student")
        & (table["metric"] == "replication")
    ]
    return rate_difference(rows, {"group": "high"}, {"group": "low"})


SEQKD_CM_SUBGROUPS_CLAIMS = (
    Claim(
        "seqkd",
        "The teacher replicates more of the pairs with high counterfactual memorization (replication, "
        "highest CM bucket minus lowest).",
        P3_SUBGROUPS,
        _cm_rise,
        paper_value="T ~44% at CM >= 0.4 vs ~18% below 0.2",
    ),
    Claim(
        "seqkd",
        "Students copy the targets the teacher is confident about: S replicates far more of the pairs "
        "on which T is most confident than of those on which it is least (S's replication, high minus low).",
        P3_SUBGROUPS,
        _confident_copying,
        paper_value="S ~91% on T's most confident pairs vs ~0-1% on the least",
    ),
)


@figure(
    "seqkd_cm_subgroups",
    settings=SEQKD_CHAIN_SETTINGS + ("seqkd_subgroups.reference_models", "seqkd_subgroups.cm_buckets"),
    paper="seqkd",
    claims=SEQKD_CM_SUBGROUPS_CLAIMS,
    inputs=(SUBGROUP_RATES,),
    caption=(
        "Replication and ExMem of T, S and B on training-pair subgroups (P3 section 3). Left: "
        "counterfactual-memorization buckets (CM = mean geometric-mean target-token probability "
        "over the reference models that trained on the pair minus over those that did not; K "
        "reference models of B's architecture from one balanced IN/OUT matrix). Right: the "
        "pairs on which the teacher is least and most confident in its own output. Bars are "
        "Wilson 95% intervals; the x labels give each group's size. P3 (Appendix E.2): the "
        "teacher's replication rises with CM; on the pairs the teacher is most confident about the "
        "student replicates nearly as often as the teacher (S ~91%, T ~96%, B ~88%)."
    ),
)
def seqkd_cm_subgroups(inputs):
    rates = read_parquet(inputs[SUBGROUP_RATES][0])
    fig, axes = plt.subplots(
        len(SUBGROUP_PANELS), len(GROUPINGS), figsize=(11, 6.4), squeeze=False, gridspec_kw={"width_ratios": [3, 2]}
    )
    for row, (metric, label) in enumerate(SUBGROUP_PANELS):
        for col, (grouping, title) in enumerate(GROUPINGS):
            ax = axes[row, col]
            part = rates[(rates["metric"] == metric) & (rates["grouping"].isin(["all", grouping]))]
            groups = list(dict.fromkeys(part["group"]))
            x = grouped_bars(ax, part, "model", MODELS, "group", groups, COLORS, MODEL_LABELS, capsize=2)
            sizes = part[part["model"] == MODELS[0]].set_index("group").reindex(groups)["n"]
            ax.set_xticks(x, [f"{g}\n(n={int(n)})" if pd.notna(n) else g for g, n in zip(groups, sizes)], fontsize=8)
            ax.set_title(title if row == 0 else "", fontsize=10)
            if col == 0:
                ax.set_ylabel(label)
    axes[0, 0].legend(fontsize=7)
    fig.tight_layout()
    return rates[["grouping", "group", "model", "metric", "value", "n", "ci_low", "ci_high"]], fig


ADAPTIVE_STUDENTS = ("student", *(f"student_{subset}" for subset in SUBSETS))
ADAPTIVE_LABELS = {
    "student": "S (SeqKD)",
    "student_hq": "S, Adaptive-SeqKD (T tuned on its high-quality pairs)",
    "student_random": "S, control (T tuned on random pairs)",
}
ADAPTIVE_COLORS = {"student": COLORS["student"], "student_hq": "#e7298a", "student_random": "#999999"}
ADAPTIVE_RATES = ["replication", "exmem", "osc_hallucination", "nat_hallucination"]
ADAPTIVE_SUBSETS = "results/adaptive/subsets.parquet"
STUDENT_SCORES = tuple(f"results/scores/{m}/translation.parquet" for m in ADAPTIVE_STUDENTS)


P3_ADAPTIVE = "P3 Sec. 5 and Appendix D (the authors' table of changes, mean over 5 language pairs)"
SEQKD_ADAPTIVE_CLAIMS = tuple(
    Claim(
        "seqkd",
        statement,
        P3_ADAPTIVE,
        lambda t, m=metric: change(t, model="student_hq_vs_student", metric=m),
        direction=-1,
        paper_value=value,
        limit=limit,
    )
    for metric, statement, value, limit in (
        (
            "exmem",
            "Adaptive-SeqKD reduces the student's extractive memorization (S with the tuned teacher vs S, %).",
            "-24% (sd 24) at BLEU -0.2%",
            EXMEM_COUNT_LIMIT,
        ),
        (
            "osc_hallucination",
            "Adaptive-SeqKD reduces the student's oscillatory hallucinations (S with the tuned teacher vs S, %).",
            "-59% (sd 7.5)",
            "",
        ),
    )
)


@figure(
    "seqkd_adaptive",
    settings=SEQKD_CHAIN_SETTINGS + ("adaptive_seqkd.chrf", "adaptive_seqkd.confidence", "adaptive_seqkd.epochs"),
    paper="seqkd",
    claims=SEQKD_ADAPTIVE_CLAIMS,
    inputs=(*STUDENT_SCORES, ADAPTIVE_SUBSETS),
    caption=(
        "Adaptive-SeqKD (P3 section 5): the teacher is fine-tuned one epoch on the training pairs "
        "whose greedy output it produces confidently and close to the reference (chrF and "
        "confidence thresholds from config), writes a new KD corpus, and the student is retrained "
        "on it; the control fine-tunes on a random subset of the same size. Left: memorization and "
        "hallucination rates on the training sources (Wilson 95%); middle: test BLEU (bootstrap "
        "95%); right: change relative to S (Katz 95% interval of the rate ratio). P3: ExMem -24% "
        "and oscillatory hallucinations -59% relative to S at about equal BLEU."
    ),
)
def seqkd_adaptive(inputs):
    table = pd.concat([read_parquet(inputs[path][0]) for path in STUDENT_SCORES], ignore_index=True)
    subsets = read_parquet(inputs[ADAPTIVE_SUBSETS][0])
    relative = pd.DataFrame(
        [
            rate_ratio_row(table, model, "student", metric)
            for model in ADAPTIVE_STUDENTS[1:]
            for metric in ADAPTIVE_RATES
        ]
    )
    sizes = subsets.groupby("subset").size()
    size_rows = pd.DataFrame(
        {
            "model": [f"teacher_{s}" for s in sizes.index],
            "metric": "finetuning_pairs",
            "value": sizes.to_numpy(),
            "n": sizes.to_numpy(),
        }
    )

    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8), gridspec_kw={"width_ratios": [4, 1.3, 3]})
    for panel, metrics in ((axes[0], ADAPTIVE_RATES), (axes[1], ["bleu"])):
        x = grouped_bars(
            panel, table, "model", ADAPTIVE_STUDENTS, "metric", metrics, ADAPTIVE_COLORS, ADAPTIVE_LABELS, capsize=2
        )
        panel.set_xticks(x, metrics, rotation=15, fontsize=8)
    axes[0].set_ylabel("rate")
    axes[0].set_title(f"Training sources ({int(sizes.get('hq', 0))} fine-tuning pairs per subset)", fontsize=10)
    axes[1].set_title("Test BLEU", fontsize=10)
    x = np.arange(len(ADAPTIVE_RATES))
    for j, model in enumerate(ADAPTIVE_STUDENTS[1:]):
        rel = relative[relative["model"] == f"{model}_vs_student"].set_index("metric").reindex(ADAPTIVE_RATES)
        axes[2].bar(
            x + (j - 0.5) * 0.4, rel["value"].fillna(0), 0.4, yerr=yerr(rel), capsize=2, color=ADAPTIVE_COLORS[model]
        )
    axes[2].axhline(0, color="black", lw=0.8)
    axes[2].set_xticks(x, ADAPTIVE_RATES, rotation=15, fontsize=8)
    axes[2].set_ylabel("relative to S (%)")
    axes[2].set_title("Change relative to S", fontsize=10)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=3, fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    table = table[table["metric"].isin(ADAPTIVE_RATES + ["bleu", "chrf"])]
    out = pd.concat([table, relative, size_rows], ignore_index=True)
    return out[["model", "metric", "value", "n", "ci_low", "ci_high"]], fig
