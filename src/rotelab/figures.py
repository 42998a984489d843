"""Figure registry: each figure turns score tables into a PNG/PDF and a tidy CSV.

A figure declares the score files it reads (patterns over ``{model}``), a caption for the
report (what it reproduces and the paper's headline beside ours), and a function that
returns the tidy table and draws from it. Adding a figure is one decorated function.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from .io import atomic_path, read_parquet, write_csv  # noqa: E402
from .registry import Registry  # noqa: E402
from .stats import relative_change  # noqa: E402
from .verdicts import Claim, change, difference, estimate  # noqa: E402

figures: Registry = Registry("figure")

MODELS = ("teacher", "student", "baseline")
MODEL_LABELS = {"teacher": "T (teacher)", "student": "S (SeqKD student)", "baseline": "B (baseline)"}
COLORS = {"teacher": "#1b9e77", "student": "#d95f02", "baseline": "#7570b3"}


@dataclass(frozen=True)
class Figure:
    inputs: tuple[str, ...]  # patterns; {model} expands over MODELS, {run} over a run family
    caption: str
    make: Callable[[dict[str, list[str]]], tuple[pd.DataFrame, plt.Figure]]
    runs: str | None = None  # the causal-LM run family (rotelab.lm_runs) that {run} expands over
    paper: str = ""  # the paper family it belongs to (a short name of rotelab.papers)
    claims: tuple[Claim, ...] = ()  # what its paper says this figure should show

    def input_files(self, run_families: dict[str, list[str]] | None = None) -> dict[str, list[str]]:
        """Input paths per pattern; ``run_families`` maps a family to its run names."""
        runs = (run_families or {}).get(self.runs, []) if self.runs else []

        def expand(pattern):
            if "{model}" in pattern:
                return [pattern.format(model=m) for m in MODELS]
            if "{run}" in pattern:
                return [pattern.format(run=r) for r in runs]
            return [pattern]

        return {pattern: expand(pattern) for pattern in self.inputs}


def figure(name: str, inputs: tuple[str, ...], caption: str, runs: str | None = None, paper: str = "",
           claims: tuple[Claim, ...] = ()):
    def decorator(fn):
        figures.register(name)(Figure(inputs, caption, fn, runs, paper,
                                      tuple(replace(claim, figure=name) for claim in claims)))
        return fn

    return decorator


def render(name: str, inputs: dict[str, list[str]], png: str, pdf: str, csv: str) -> pd.DataFrame:
    table, fig = figures.get(name).make(inputs)
    table.insert(0, "figure", name)
    write_csv(table, csv)
    for path in (png, pdf):
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format=path.rsplit(".", 1)[1], dpi=150, bbox_inches="tight")
    plt.close(fig)
    return table


def _concat(paths: list[str]) -> pd.DataFrame:
    return pd.concat([read_parquet(p) for p in paths], ignore_index=True)


def _yerr(rows: pd.DataFrame) -> np.ndarray:
    """Error-bar half-widths; a percentile interval need not contain the point estimate,
    and Wilson bounds at 0 or 1 carry float noise, so clip at zero."""
    err = np.vstack([rows["value"] - rows["ci_low"], rows["ci_high"] - rows["value"]])
    return np.clip(np.nan_to_num(err.astype(float)), 0, None)


def rate_ratio_row(table: pd.DataFrame, model: str, reference: str, metric: str) -> dict | None:
    """``model``'s rate relative to ``reference``'s in percent (Katz interval), from the
    (value, n) rows of a score table; None when either row is missing."""
    rows = [table[(table["model"] == m) & (table["metric"] == metric)] for m in (model, reference)]
    if not all(len(r) for r in rows):
        return None
    # A rate over n = 0 pairs is NaN (e.g. ExMem when nothing replicates): count 0.
    counts = [(int(round(np.nan_to_num(float(r["value"].iloc[0])) * int(r["n"].iloc[0]))), int(r["n"].iloc[0]))
              for r in rows]
    return {"model": f"{model}_vs_{reference}", "metric": metric, **relative_change(*counts[0], *counts[1])}


def _bar_panel(ax, table: pd.DataFrame, metrics: list[str], title: str):
    width = 0.8 / len(MODELS)
    x = np.arange(len(metrics))
    for j, model in enumerate(MODELS):
        rows = table[table["model"] == model].set_index("metric").reindex(metrics)
        ax.bar(x + (j - 1) * width, rows["value"], width, yerr=_yerr(rows), capsize=3,
               color=COLORS[model], label=MODEL_LABELS[model])
    ax.set_xticks(x, metrics)
    ax.set_title(title)


# P3's numbers are the authors' (vernadankers/memseqkd, analysis notebooks of Sec. 2.2):
# relative changes, mean (sd) over 5 WMT20 language pairs.
P3_SEC22 = "P3 abstract; Sec. 2.2 (mean over 5 language pairs)"


def _bleu_gap(table):
    student, baseline = (estimate(table, model=model, metric="bleu") for model in ("student", "baseline"))
    return difference(student, baseline)


SEQKD_QUALITY_CLAIMS = (
    Claim("seqkd", "Students inherit their teachers' superior performance: S translates better than B, a model "
          "of its size trained on the original data (BLEU, S minus B).", P3_SEC22 + ", model quality",
          _bleu_gap, paper_value="S above B on all 5 pairs (BLEU, e.g. En-De ~32.5 vs ~30)"),
)
SEQKD_MEMORIZATION_CLAIMS = tuple(
    Claim("seqkd", statement, P3_SEC22, lambda t, m=metric: change(t, model="student_vs_baseline", metric=m),
          paper_value=value)
    for metric, statement, value in (
        ("replication", "Students replicate more training targets exactly than baselines (S vs B, %).",
         "+3.4% (sd 0.9)"),
        ("exmem", "Students show more extractive memorization than baselines (S vs B, %).", "+57% (sd 15)"),
        ("osc_hallucination", "Students produce more oscillatory hallucinations than baselines (S vs B, %).",
         "+31% (sd 26; one pair -8%)"),
        ("nat_hallucination", "Students produce more natural hallucinations than baselines (S vs B, %).",
         "+14% (sd 5)"),
    )
)


@figure(
    "seqkd_quality",
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
    table = _concat(inputs["results/scores/{model}/translation.parquet"])
    table = table[table["metric"].isin(["bleu", "chrf"])]
    fig, ax = plt.subplots(figsize=(5, 3.2))
    _bar_panel(ax, table, ["bleu", "chrf"], "Test-set quality")
    ax.set_ylabel("score")
    ax.legend(fontsize=7)
    return table[["model", "metric", "value", "n", "ci_low", "ci_high"]].reset_index(drop=True), fig


MEMORIZATION_METRICS = ["replication", "exmem", "exmem_secondary", "osc_hallucination", "nat_hallucination"]


@figure(
    "seqkd_memorization",
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
    table = _concat(inputs["results/scores/{model}/translation.parquet"])
    table = table[table["metric"].isin(MEMORIZATION_METRICS)]
    rel = pd.DataFrame([row for metric in MEMORIZATION_METRICS
                        if (row := rate_ratio_row(table, "student", "baseline", metric)) is not None])
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.4), gridspec_kw={"width_ratios": [3, 2]})
    _bar_panel(axes[0], table, MEMORIZATION_METRICS, "Rates on training sources")
    axes[0].tick_params(axis="x", labelrotation=20)
    axes[0].set_ylabel("rate")
    axes[0].legend(fontsize=7)
    if len(rel):
        axes[1].bar(rel["metric"], rel["value"].fillna(0), yerr=_yerr(rel), capsize=3, color=COLORS["student"])
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
    Claim("secret_sharer", "Exposure of a canary grows with the number of times it is inserted into the "
          "training data (teacher; most-inserted minus never-inserted, bits).",
          "The Secret Sharer, exposure against the number of insertions (section not verified here)",
          lambda t: _insertion_gap(t, "exposure")),
)


def _mia_auc(table, model, replicas):
    return estimate(table, model=model, attack="loss", metric="auc", replicas=replicas)


CANARY_MIA_CLAIMS = (
    Claim("secret_sharer", "Memorization of a canary grows with its number of insertions (teacher's loss-attack "
          "AUC, most-inserted minus once-inserted group).",
          "The Secret Sharer, exposure against the number of insertions (section not verified here)",
          lambda t: difference(_mia_auc(t, "teacher", int(t.loc[t["model"] == "teacher", "replicas"].max())),
                               _mia_auc(t, "teacher", 1))),
    Claim("seqkd", "Despite not directly seeing the original training data, students memorize it: the "
          "teacher's training canaries are detectable in S (loss-attack AUC over all canaries).",
          "P3 abstract", lambda t: _mia_auc(t, "student", -1), null=0.5),
    Claim("seqkd", "Students memorize more than baselines (loss-attack AUC on the canaries, S minus B).",
          "P3 abstract", lambda t: difference(_mia_auc(t, "student", -1), _mia_auc(t, "baseline", -1))),
)


@figure(
    "canary_extraction",
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
    table = _concat(inputs["results/scores/{model}/canaries.parquet"])
    table = table[table["metric"].isin(["extraction", "extraction_source", "exposure", "exposure_extrapolated",
                                        "exposure_ceiling"])]
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.4))
    panels = [(axes[0], "extraction", "-", ""), (axes[0], "extraction_source", "--", ", source only"),
              (axes[1], "exposure", "-", ", sampled"), (axes[1], "exposure_extrapolated", "--", ", extrapolated")]
    for ax, metric, style, suffix in panels:
        for model in MODELS:
            rows = table[(table.model == model) & (table.metric == metric)].sort_values("replicas")
            if rows.empty:  # tables from before a metric existed
                continue
            x = rows["replicas"].astype(float).replace(0, 0.5)
            ax.errorbar(x, rows["value"], yerr=_yerr(rows), marker="o", capsize=3, ls=style,
                        color=COLORS[model], label=MODEL_LABELS[model] + suffix)
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
    summary = _concat(inputs["results/scores/{model}/membership.parquet"])
    roc = _concat(inputs["results/scores/{model}/roc.parquet"])
    attacks = sorted(roc["attack"].unique())
    fig, axes = plt.subplots(1, len(MODELS), figsize=(4 * len(MODELS), 3.6), sharey=True)
    for ax, model in zip(np.atleast_1d(axes), MODELS):
        for attack in attacks:
            r = roc[(roc.model == model) & (roc.attack == attack)]
            a = summary[(summary.model == model) & (summary.attack == attack) & (summary.metric == "auc")
                        & (summary.replicas == -1)]
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


from . import (  # noqa: E402,F401  (register the other families)
    acil_figures,
    capacity_figures,
    dsm_figures,
    lm_figures,
    membership_figures,
    seqkd_extension_figures,
    skew_figures,
)
