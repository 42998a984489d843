"""P3's figures over the SeqKD chain: translation quality, memorization of teacher,
student and baseline, and the canaries' exposure and membership inference."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from rotelab.figures.plots import COLORS, MODEL_LABELS, bar_panel, concat, rate_ratio_row, yerr
from rotelab.figures.registry import MODELS, figure
from rotelab.reproduction.verdicts import Claim, change, difference, estimate

# What the SeqKD chain's numbers depend on most: its corpus, canaries, models and decoding.
SEQKD_CHAIN_SETTINGS = (
    "data.corpus",
    "data.max_pairs",
    "canaries.replicas",
    "canaries.n_per_replica",
    "teacher.model.d_model",
    "teacher.train.steps",
    "student.model.d_model",
    "student.train.steps",
    "decode.beam",
)


# P3's numbers are the authors' (vernadankers/memseqkd, analysis notebooks of Sec. 2.2):
# relative changes, mean (sd) over 5 WMT20 language pairs.
P3_SEC22 = "P3 abstract; Sec. 2.2 (mean over 5 language pairs)"


# Known limits of the default regime (docs/papers/seqkd.md, "Regime"), from its calibration runs.
EXMEM_COUNT_LIMIT = (
    "ExMem is a rate over the replicated training pairs that pass P3's filters; the default teacher "
    "has 293 of them, but S has 26 and B 5, too few for a relative change with an interval "
    "(docs/papers/seqkd.md, Regime)."
)


def _bleu_gap(table):
    student, baseline = (estimate(table, model=model, metric="bleu") for model in ("student", "baseline"))
    return difference(student, baseline)


SEQKD_QUALITY_CLAIMS = (
    Claim(
        "seqkd",
        "Students inherit their teachers' superior performance: S translates better than B, a model "
        "of its size trained on the original data (BLEU, S minus B).",
        P3_SEC22 + ", model quality",
        _bleu_gap,
        paper_value="S above B on all 5 pairs (BLEU, e.g. En-De ~32.5 vs ~30)",
        limit=(
            "P3's students gain because their teacher translates far better than a model of their size "
            "trained on the data; the default teacher is fitted to 2,000 dictionary phrases (so that it "
            "replicates a real share of them, 43%) and generalizes little (test BLEU ~5), and 57% of the "
            "KD targets S learns from are T's mistakes, where B learns the references "
            "(docs/papers/seqkd.md, Regime)."
        ),
    ),
)
SEQKD_MEMORIZATION_CLAIMS = tuple(
    Claim(
        "seqkd",
        statement,
        P3_SEC22,
        lambda t, m=metric: change(t, model="student_vs_baseline", metric=m),
        paper_value=value,
        limit=EXMEM_COUNT_LIMIT if metric == "exmem" else "",
    )
    for metric, statement, value in (
        (
            "replication",
            "Students replicate more training targets exactly than baselines (S vs B, %).",
            "+3.4% (sd 0.9)",
        ),
        ("exmem", "Students show more extractive memorization than baselines (S vs B, %).", "+57% (sd 15)"),
        (
            "osc_hallucination",
            "Students produce more oscillatory hallucinations than baselines (S vs B, %).",
            "+31% (sd 26; one pair -8%)",
        ),
        (
            "nat_hallucination",
            "Students produce more natural hallucinations than baselines (S vs B, %).",
            "+14% (sd 5)",
        ),
    )
)


@figure(
    "seqkd_quality",
    settings=SEQKD_CHAIN_SETTINGS,
    paper="seqkd",
    claims=SEQKD_QUALITY_CLAIMS,
    inputs=("results/scores/{model}/translation.parquet",),
    caption=(
        "Translation quality of teacher T, SeqKD student S and baseline B on the held-out test "
        "set (corpus BLEU and chrF, sacrebleu defaults; bars are 95% bootstrap intervals over "
        "test sentences). P3 reports S close to T and above B in BLEU."
    ),
)
def seqkd_quality(inputs):
    table = concat(inputs["results/scores/{model}/translation.parquet"])
    table = table[table["metric"].isin(["bleu", "chrf"])]
    fig, ax = plt.subplots(figsize=(5, 3.2))
    bar_panel(ax, table, ["bleu", "chrf"], "Test-set quality")
    ax.set_ylabel("score")
    ax.legend(fontsize=7)
    return table[["model", "metric", "value", "n", "ci_low", "ci_high"]].reset_index(drop=True), fig


MEMORIZATION_METRICS = ["replication", "exmem", "exmem_secondary", "osc_hallucination", "nat_hallucination"]


@figure(
    "seqkd_memorization",
    settings=SEQKD_CHAIN_SETTINGS + ("scoring.exmem_threshold",),
    paper="seqkd",
    claims=SEQKD_MEMORIZATION_CLAIMS,
    inputs=("results/scores/{model}/translation.parquet",),
    caption=(
        "Memorization and hallucination rates on the training sources for T, S and B "
        "(replication = exact reproduction of the training target; ExMem = replicated pairs "
        "whose target already appears from at most 75% of the source words; secondary ExMem "
        "= S reproducing T's output; oscillatory and natural hallucinations as in P3, with "
        "chrF to the reference replacing COMET-QE). Right: S relative to B in percent "
        "(Katz 95% interval of the rate ratio). "
        "P3's headline (mean over 5 language pairs): replication +3.4%, ExMem +57%, "
        "oscillatory hallucinations +31%, natural +14%."
    ),
)
def seqkd_memorization(inputs):
    table = concat(inputs["results/scores/{model}/translation.parquet"])
    table = table[table["metric"].isin(MEMORIZATION_METRICS)]
    rel = pd.DataFrame(
        [
            row
            for metric in MEMORIZATION_METRICS
            if (row := rate_ratio_row(table, "student", "baseline", metric)) is not None
        ]
    )
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.4), gridspec_kw={"width_ratios": [3, 2]})
    bar_panel(axes[0], table, MEMORIZATION_METRICS, "Rates on training sources")
    axes[0].tick_params(axis="x", labelrotation=20)
    axes[0].set_ylabel("rate")
    axes[0].legend(fontsize=7)
    if len(rel):
        axes[1].bar(rel["metric"], rel["value"].fillna(0), yerr=yerr(rel), capsize=3, color=COLORS["student"])
        axes[1].axhline(0, color="black", lw=0.8)
        axes[1].tick_params(axis="x", labelrotation=20)
    axes[1].set_ylabel("S vs B (%)")
    axes[1].set_title("Student relative to baseline")
    out = pd.concat([table, rel], ignore_index=True)
    return out[["model", "metric", "value", "n", "ci_low", "ci_high"]], fig


def _insertion_gap(table, metric, model="teacher", low=0):
    """``metric`` of the canaries inserted most often minus that of those inserted ``low``
    times (different canaries: independent estimates)."""
    rows = table[(table["model"] == model) & (table["metric"] == metric)]
    top = int(rows["replicas"].max())
    return difference(estimate(rows, replicas=top), estimate(rows, replicas=low))


CANARY_EXTRACTION_CLAIMS = (
    Claim(
        "secret_sharer",
        "Exposure of a canary grows with the number of times it is inserted into the "
        "training data (teacher; most-inserted minus never-inserted, bits).",
        "The Secret Sharer, exposure against the number of insertions (section not verified here)",
        lambda t: _insertion_gap(t, "exposure"),
    ),
)


def _mia_auc(table, model, replicas):
    return estimate(table, model=model, attack="loss", metric="auc", replicas=replicas)


CANARY_MIA_CLAIMS = (
    Claim(
        "secret_sharer",
        "Memorization of a canary grows with its number of insertions (teacher's loss-attack "
        "AUC, most-inserted minus once-inserted group).",
        "The Secret Sharer, exposure against the number of insertions (section not verified here)",
        lambda t: difference(
            _mia_auc(t, "teacher", int(t.loc[t["model"] == "teacher", "replicas"].max())), _mia_auc(t, "teacher", 1)
        ),
        limit=(
            "the default teacher fits its corpus in ~22 passes, so a once-inserted canary is seen 22 times "
            "and the loss attack separates every insertion group from the never-inserted canaries (AUC 1.0 "
            "at 1 to 64 insertions): both arms sit at the ceiling. Exposure, which has no such ceiling "
            "short of its candidates', still grows with insertions (canary_extraction; "
            "docs/papers/seqkd.md, Regime)."
        ),
    ),
    Claim(
        "seqkd",
        "Despite not directly seeing the original training data, students memorize it: the "
        "teacher's training canaries are detectable in S (loss-attack AUC over all canaries).",
        "P3 abstract",
        lambda t: _mia_auc(t, "student", -1),
        null=0.5,
    ),
    Claim(
        "seqkd",
        "Students memorize more than baselines (loss-attack AUC on the canaries, S minus B).",
        "P3 abstract",
        lambda t: difference(_mia_auc(t, "student", -1), _mia_auc(t, "baseline", -1)),
        limit=(
            "not the regime's alone: B trains on the canaries themselves (up to 64 insertions each), S "
            "only on T's translations of their sources, and the paper-scale run orders them the same way "
            "(AUC B 0.89, S 0.80). P3's abstract compares S and B on the memorization of the training "
            "data (replication and ExMem), which this claim reads on the inserted canaries "
            "(docs/papers/seqkd.md)."
        ),
    ),
)


@figure(
    "canary_extraction",
    settings=SEQKD_CHAIN_SETTINGS + ("scoring.exposure_candidates",),
    paper="seqkd",
    claims=CANARY_EXTRACTION_CLAIMS,
    inputs=("results/scores/{model}/canaries.parquet",),
    caption=(
        "Canary secrets extracted (left; Wilson 95% intervals) and mean exposure (right; "
        "Carlini et al. 2019, bootstrap 95% intervals) against the number of times the canary "
        "was inserted; 0 = never inserted. Left, solid: the attacker prompts the decoder with the "
        "record up to the secret and decodes greedily (Secret Sharer; P1's prefix attack); "
        "dashed: greedy translation of the canary's source alone. Right, solid: exposure from the "
        "secret's rank among the sampled candidate secrets, which cannot exceed log2(candidates + 1) "
        "bits (the ceiling, dotted, labelled with its value: a secret ranked first scores it however "
        "far ahead it is); dashed: exposure by extrapolation (Secret Sharer Sec. 4.3: a skew-normal "
        "fitted to the candidates' log-perplexities gives the secret's rank in the whole secret "
        "space R), bounded only by log2 of the size of R. The Secret Sharer and P1 report both measures rising "
        "with repetition."
    ),
)
def canary_extraction(inputs):
    table = concat(inputs["results/scores/{model}/canaries.parquet"])
    table = table[
        table["metric"].isin(
            ["extraction", "extraction_source", "exposure", "exposure_extrapolated", "exposure_ceiling"]
        )
    ]
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.4))
    panels = [
        (axes[0], "extraction", "-", ""),
        (axes[0], "extraction_source", "--", ", source only"),
        (axes[1], "exposure", "-", ", sampled"),
        (axes[1], "exposure_extrapolated", "--", ", extrapolated"),
    ]
    for ax, metric, style, suffix in panels:
        for model in MODELS:
            rows = table[(table.model == model) & (table.metric == metric)].sort_values("replicas")
            if rows.empty:  # tables from before a metric existed
                continue
            x = rows["replicas"].astype(float).replace(0, 0.5)
            ax.errorbar(
                x,
                rows["value"],
                yerr=yerr(rows),
                marker="o",
                capsize=3,
                ls=style,
                color=COLORS[model],
                label=MODEL_LABELS[model] + suffix,
            )
    for ceiling in sorted(table.loc[table.metric == "exposure_ceiling", "value"].unique()):
        axes[1].axhline(ceiling, ls=":", color="grey", lw=1, label=f"sampled ceiling ({ceiling:.2f} bits)")
    for ax, label in zip(axes, ["extraction rate", "exposure (bits)"]):
        ax.set_xscale("log", base=2)
        ax.set_xlabel("insertions (0 plotted at 0.5)")
        ax.set_ylabel(label)
        ax.legend(fontsize=6)
    return table[["model", "metric", "replicas", "value", "n", "ci_low", "ci_high"]].reset_index(drop=True), fig


@figure(
    "canary_mia",
    settings=SEQKD_CHAIN_SETTINGS + ("scoring.attacks", "scoring.min_k_fraction"),
    paper="seqkd",
    claims=CANARY_MIA_CLAIMS,
    inputs=("results/scores/{model}/membership.parquet", "results/scores/{model}/roc.parquet"),
    caption=(
        "Membership inference on inserted vs never-inserted canaries: log-log ROC per attack "
        "(loss, zlib, min-k%, min-k%++) and model; AUC with a 95% bootstrap interval in the "
        "legend and the table. Diagonal = chance. P1 and the Secret Sharer report membership "
        "and exposure rising with the number of insertions; P3 reports S leaking less than B."
    ),
)
def canary_mia(inputs):
    summary = concat(inputs["results/scores/{model}/membership.parquet"])
    roc = concat(inputs["results/scores/{model}/roc.parquet"])
    attacks = sorted(roc["attack"].unique())
    fig, axes = plt.subplots(1, len(MODELS), figsize=(4 * len(MODELS), 3.6), sharey=True)
    for ax, model in zip(np.atleast_1d(axes), MODELS):
        for attack in attacks:
            r = roc[(roc.model == model) & (roc.attack == attack)]
            a = summary[
                (summary.model == model)
                & (summary.attack == attack)
                & (summary.metric == "auc")
                & (summary.replicas == -1)
            ]
            label = attack if a.empty else f"{attack} (AUC {a['value'].iloc[0]:.2f})"
            ax.plot(r["fpr"].clip(lower=1e-3), r["tpr"].clip(lower=1e-3), label=label, drawstyle="steps-post")
        grid = np.logspace(-3, 0, 50)
        ax.plot(grid, grid, ls="--", color="grey", lw=0.8)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(MODEL_LABELS[model])
        ax.set_xlabel("false positive rate")
        ax.legend(fontsize=7)
    np.atleast_1d(axes)[0].set_ylabel("true positive rate")
    points = roc.assign(metric="tpr", value=roc["tpr"], n=np.nan, ci_low=np.nan, ci_high=np.nan, replicas=-1)
    table = pd.concat([summary.assign(fpr=np.nan), points], ignore_index=True)
    return table[["model", "attack", "replicas", "metric", "fpr", "value", "n", "ci_low", "ci_high"]], fig
