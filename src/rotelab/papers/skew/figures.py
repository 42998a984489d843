"""P4's figures, in the figure registry: the n_pre distribution over epochs, its change with
the dataset size, and the same samples with a dissimilar dataset mixed in."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from rotelab.core.stats import mean_with_interval, rate
from rotelab.figures.plots import concat, yerr
from rotelab.figures.registry import figure
from rotelab.papers.skew.n_pre import (
    SkewRun,
    empirical_survival,
    geometric_survival,
    paired_signed_rank,
    per_token_survival,
    tail_quantiles,
)
from rotelab.reproduction.verdicts import Claim, difference, estimate, exact, not_measurable

SCORES = "results/skew/scores/{run}.parquet"
SIMILARITY = "results/skew/similarity.parquet"


def _scored(table: pd.DataFrame) -> pd.DataFrame:
    return table[table["role"] == "scored"]


def _size(run: str) -> int:
    return SkewRun.from_name(run).size


def _largest_plain_run(table: pd.DataFrame) -> str:
    plain = [r for r in table["run"].unique() if not SkewRun.from_name(r).mixed]
    return max(plain, key=_size)


P4_SOURCE = "P4 abstract; numbers from the authors' companion blog post (paper section not verified here)"


def _tail_growth(table):
    """Max n_pre at the last epoch minus at the logged epoch nearest a tenth of it (P4: ~10 at
    epoch 10, ~50 at epoch 100). A maximum over samples: the table carries no interval."""
    rows = table[table["metric"] == "max"]
    epochs = sorted(rows["epoch"].unique())
    if len(epochs) < 2:
        return not_measurable("one epoch only: nothing to compare")
    last = epochs[-1]
    early = min(epochs[:-1], key=lambda e: abs(e - last / 10))
    top = rows.set_index("epoch")["value"]
    return exact(top[last] - top[early], int(rows["n"].max()), f"max n_pre at epoch {last} minus at epoch {early}")


def _tail_over_geometric(table):
    """At the last epoch, P(n_pre >= n) of greedy decoding minus the geometric law with the
    same mean, at n = the largest n_pre seen."""
    last = table["epoch"].max()
    rows = table[table["epoch"] == last]
    n = float(rows.loc[rows["metric"] == "max", "value"].iloc[0])
    if n == 0:
        return not_measurable("nothing memorized at the last epoch")
    survival = {
        m: float(rows.loc[(rows["metric"] == m) & (rows["n_pre"] == n), "value"].iloc[0])
        for m in ("survival_greedy", "survival_greedy_geometric")
    }
    return exact(
        survival["survival_greedy"] - survival["survival_greedy_geometric"],
        int(rows["n"].max()),
        f"P(n_pre >= {n:g}) minus the geometric law's, epoch {last}",
    )


SKEW_DISTRIBUTION_CLAIMS = (
    Claim(
        "skew",
        "The maximum memorized prefix length keeps growing with training long after the loss flattens "
        "(max n_pre, last epoch minus a tenth of it).",
        P4_SOURCE,
        _tail_growth,
        paper_value="~10 at epoch 10, ~50 at epoch 100",
    ),
    Claim(
        "skew",
        "The distribution of n_pre is skewed: its tail is heavier than a geometric law with the same mean "
        "(survival at the largest n_pre, greedy minus geometric).",
        P4_SOURCE,
        _tail_over_geometric,
        limit=(
            "the default samples (wordnet-medical answers, ~26 tokens) are short: once the LLaMA base "
            "continues most of them to their ends (97% at epoch 32), n_pre is capped by each sample's "
            "length and the geometric law of the same mean keeps mass beyond every cap, whereas P4's "
            "tails grow far below its documents' lengths; the default schedule therefore ends at epoch "
            "16, and more samples or P4's learning rate only move the saturation in time "
            "(docs/papers/skew.md, Regime)."
        ),
    ),
)


# What every P4 figure's numbers depend on: the base, the samples and the checkpoints.
SKEW_SETTINGS = (
    "lm.base.model.d_model",
    "lm.base.model.dropout",
    "skewed_memorization.dataset",
    "skewed_memorization.sizes",
    "skewed_memorization.epochs",
)


@figure(
    "skew_distribution",
    settings=SKEW_SETTINGS,
    paper="skew",
    claims=SKEW_DISTRIBUTION_CLAIMS,
    inputs=(SCORES,),
    runs="skew",
    caption=(
        "Skewed memorization (P4) in one fine-tuning run on the largest training set, checkpoints "
        "at several epochs. Left: n_pre (the length of the longest prefix of the greedy "
        "continuation of a sample's prompt that matches its reference answer exactly, in tokens) "
        "over the training samples - mean, 90th and 99th percentiles and maximum - with the "
        "training loss (dashed, right axis). Right: at the last epoch, P(n_pre >= n) for greedy "
        "decoding, P4's per-token model (prod of teacher-forced p_j: the exact law of the match "
        "length under sampling), and geometric laws with the same means (constant p). P4's "
        "headline: the maximum keeps growing after the loss flattens, and the tail is far "
        "heavier than geometric."
    ),
)
def skew_distribution(inputs):
    table = concat(inputs[SCORES])
    run = _largest_plain_run(table)
    part = _scored(table[table["run"] == run])
    fig, (ax, tail_ax) = plt.subplots(1, 2, figsize=(12, 4), gridspec_kw={"wspace": 0.45})
    rows = []
    for epoch, g in part.groupby("epoch"):
        stats = tail_quantiles(g["n_pre"])
        full = rate(g["n_pre"] >= g["suffix_tokens"])
        rows += [{"run": run, "epoch": epoch, "metric": k, "value": v, "n": len(g)} for k, v in stats.items()]
        rows.append({"run": run, "epoch": epoch, "metric": "full_match_rate", **full})
        rows.append(
            {"run": run, "epoch": epoch, "metric": "train_loss", "value": float(g["train_loss"].iloc[0]), "n": len(g)}
        )
        rows.append({"run": run, "epoch": epoch, "metric": "suffix_loss", **mean_with_interval(g["suffix_loss"])})
    out = pd.DataFrame(rows)
    styles = {
        "mean": ("#7570b3", "mean"),
        "q90": ("#1b9e77", "90th percentile"),
        "q99": ("#d95f02", "99th percentile"),
        "max": ("black", "maximum"),
    }
    for metric, (color, label) in styles.items():
        line = out[out["metric"] == metric]
        ax.plot(line["epoch"], line["value"], marker="o", color=color, label=label)
    loss_ax = ax.twinx()
    loss = out[out["metric"] == "train_loss"]
    loss_ax.plot(loss["epoch"], loss["value"], ls="--", color="grey", label="training loss")
    loss_ax.set_ylabel("training loss (dashed)")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("epoch")
    ax.set_ylabel("n_pre (tokens)")
    ax.set_title(f"{run}: {len(part['sample_id'].unique())} training samples")
    ax.legend(fontsize=7, loc="upper left")

    last = part[part["epoch"] == part["epoch"].max()]
    n_max = int(last["suffix_tokens"].max())
    grid = np.arange(n_max + 1)
    greedy = empirical_survival(last["n_pre"], n_max)
    per_token = per_token_survival(list(last["token_logprobs"]), n_max)
    sampling_mean = float(per_token[1:].sum())  # E[N] = sum_{n>=1} P(N >= n)
    curves = {
        "greedy": greedy,
        "greedy_geometric": geometric_survival(float(last["n_pre"].mean()), n_max),
        "per_token_model": per_token,
        "per_token_geometric": geometric_survival(sampling_mean, n_max),
    }
    for name, values in curves.items():
        rows += [
            {
                "run": run,
                "epoch": int(last["epoch"].iloc[0]),
                "metric": f"survival_{name}",
                "n_pre": int(n),
                "value": float(v),
                "n": len(last),
            }
            for n, v in zip(grid, values)
        ]
    tail_ax.step(grid, greedy, where="post", color="black", label="greedy n_pre (observed)")
    tail_ax.plot(grid, curves["greedy_geometric"], color="black", ls=":", label="geometric, same mean")
    tail_ax.plot(grid, per_token, color="#d95f02", label="per-token model (sampling)")
    tail_ax.plot(grid, curves["per_token_geometric"], color="#d95f02", ls=":", label="geometric, same mean")
    tail_ax.set_yscale("log")
    tail_ax.set_ylim(max(1e-6, 0.3 / len(last)), 1.05)
    tail_ax.set_xlim(0, min(n_max, max(10, 2 * int(last["n_pre"].max()) + 2)))
    tail_ax.set_xlabel("n")
    tail_ax.set_ylabel("P(n_pre >= n)")
    tail_ax.set_title(f"epoch {int(last['epoch'].iloc[0])}")
    tail_ax.legend(fontsize=7)
    out = pd.DataFrame(rows)
    return out[["run", "epoch", "metric", "n_pre", "value", "n", "ci_low", "ci_high"]], fig


def _tail_growth_every_size(table):
    gaps = [_tail_growth(part) for _, part in table.groupby("run")]
    return min(gaps, key=lambda g: g.value) if gaps else not_measurable("no run in the table")


SKEW_DATASET_SIZE_CLAIMS = (
    Claim(
        "skew",
        "At every training-set size the tail of n_pre keeps growing with training (max n_pre, last epoch "
        "minus a tenth of it, at the size where it grows least).",
        P4_SOURCE,
        _tail_growth_every_size,
    ),
)


@figure(
    "skew_dataset_size",
    settings=SKEW_SETTINGS,
    paper="skew",
    claims=SKEW_DATASET_SIZE_CLAIMS,
    inputs=(SCORES,),
    runs="skew",
    caption=(
        "n_pre against epoch for fine-tuning sets of different sizes (nested: each larger set "
        "contains the smaller ones; the same epochs, so a larger set takes proportionally more "
        "steps). Left: the maximum and 99th percentile over the training samples; right: the "
        "mean with a 95% bootstrap interval. P4 relates memorization to training duration and "
        "dataset size; its headline effect is in the tail."
    ),
)
def skew_dataset_size(inputs):
    table = _scored(concat(inputs[SCORES]))
    table = table[~table["run"].map(lambda r: SkewRun.from_name(r).mixed)]
    fig, (tail_ax, mean_ax) = plt.subplots(1, 2, figsize=(11, 4))
    cmap = plt.get_cmap("viridis")
    runs = sorted(table["run"].unique(), key=_size)
    rows = []
    for i, run in enumerate(runs):
        color = cmap(i / max(1, len(runs) - 1) * 0.85)
        for epoch, g in table[table["run"] == run].groupby("epoch"):
            stats = tail_quantiles(g["n_pre"])
            rows += [
                {"run": run, "size": _size(run), "epoch": epoch, "metric": k, "value": stats[k], "n": len(g)}
                for k in ("max", "q99")
            ]
            rows.append(
                {"run": run, "size": _size(run), "epoch": epoch, "metric": "mean", **mean_with_interval(g["n_pre"])}
            )
        out = pd.DataFrame(rows)
        mine = out[out["run"] == run]
        for metric, ls in (("max", "-"), ("q99", ":")):
            line = mine[mine["metric"] == metric]
            tail_ax.plot(
                line["epoch"],
                line["value"],
                ls=ls,
                marker="o",
                ms=3,
                color=color,
                label=f"{_size(run)} samples, {'max' if metric == 'max' else '99th pct'}",
            )
        mean = mine[mine["metric"] == "mean"]
        mean_ax.errorbar(
            mean["epoch"],
            mean["value"],
            yerr=yerr(mean),
            marker="o",
            capsize=3,
            color=color,
            label=f"{_size(run)} samples",
        )
    for ax in (tail_ax, mean_ax):
        ax.set_xscale("log", base=2)
        ax.set_xlabel("epoch")
        ax.legend(fontsize=7)
    tail_ax.set_ylabel("n_pre (tokens): max and 99th percentile")
    mean_ax.set_ylabel("mean n_pre (tokens)")
    out = pd.DataFrame(rows)
    return out[["run", "size", "epoch", "metric", "value", "n", "ci_low", "ci_high"]], fig


def _mixture_shift(table):
    """Mean n_pre of the same samples trained with the mixture minus alone, at the last epoch
    (the same samples: the interval, from independent bootstraps, is conservative)."""
    rows = table[(table["metric"] == "mean_n_pre")]
    rows = rows[rows["epoch"] == rows["epoch"].max()]
    mixed = [r for r in rows["run"] if r.endswith("-mixed")]
    if not mixed:
        return not_measurable("no mixture run in the table")
    return difference(estimate(rows, run=mixed[0]), estimate(rows, run=mixed[0].removesuffix("-mixed")))


SKEW_MIXTURE_CLAIMS = (
    Claim(
        "skew",
        "The same samples memorize differently when another dataset is mixed in (mean n_pre, mixed minus "
        "alone, last epoch; a difference in either direction).",
        P4_SOURCE,
        _mixture_shift,
        direction=None,
    ),
)


@figure(
    "skew_mixture",
    settings=SKEW_SETTINGS + ("skewed_memorization.mixture.dataset",),
    paper="skew",
    claims=SKEW_MIXTURE_CLAIMS,
    inputs=(SCORES, SIMILARITY),
    runs="skew",
    caption=(
        "The same training samples fine-tuned alone and with a dissimilar dataset mixed in "
        "(P4). Left: their mean n_pre per epoch in both runs (95% bootstrap intervals), with "
        "the Wilcoxon signed-rank p-value of the paired per-sample difference. Right: delta_S "
        "(all-MiniLM-L6-v2 mean cosine similarity of a sample's full text to the other training "
        "samples, minus that of its prefix) of the same samples in both training sets. P4: the "
        "same samples memorize differently in different mixtures, and a larger delta_S goes "
        "with less memorization (Spearman correlation with n_pre in the table)."
    ),
)
def skew_mixture(inputs):
    table = _scored(concat(inputs[SCORES]))
    similarity = concat(inputs[SIMILARITY])
    mixed = SkewRun.from_name(next(r for r in table["run"].unique() if SkewRun.from_name(r).mixed))
    mixed_run, plain_run = mixed.name, SkewRun(mixed.size).name
    rows = []
    fig, (ax, sim_ax) = plt.subplots(1, 2, figsize=(11, 4))
    paired = (
        table[table["run"].isin([plain_run, mixed_run])]
        .pivot_table(index=["epoch", "sample_id"], columns="run", values="n_pre")
        .dropna()
    )
    for epoch, g in paired.groupby(level="epoch"):
        test = paired_signed_rank(g[mixed_run], g[plain_run])
        for run in (plain_run, mixed_run):
            rows.append({"run": run, "epoch": epoch, "metric": "mean_n_pre", **mean_with_interval(g[run])})
        rows.append(
            {
                "run": f"{mixed_run}_vs_{plain_run}",
                "epoch": epoch,
                "metric": "signed_rank_p",
                "value": test["p_value"],
                "n": test["n"],
                "mean_difference": test["mean_difference"],
            }
        )
    out = pd.DataFrame(rows)
    for run, color, label in ((plain_run, "#1b9e77", "alone"), (mixed_run, "#d95f02", "with the mixture")):
        line = out[(out["run"] == run) & (out["metric"] == "mean_n_pre")]
        ax.errorbar(line["epoch"], line["value"], yerr=yerr(line), marker="o", capsize=3, color=color, label=label)
    for _, row in out[out["metric"] == "signed_rank_p"].iterrows():
        ax.annotate(
            f"p={row['value']:.2g}",
            (row["epoch"], 0),
            textcoords="offset points",
            xytext=(0, 4),
            fontsize=6,
            ha="center",
        )
    ax.set_xscale("log", base=2)
    ax.set_xlabel("epoch")
    ax.set_ylabel("mean n_pre of the same samples")
    ax.legend(fontsize=7)

    from scipy.stats import spearmanr

    last = table[table["epoch"] == table["epoch"].max()]
    for i, (run, color) in enumerate(((plain_run, "#1b9e77"), (mixed_run, "#d95f02"))):
        sim = similarity[(similarity["run"] == run) & (similarity["role"] == "scored")]
        stats = mean_with_interval(sim["delta_s"])
        rows.append({"run": run, "epoch": np.nan, "metric": "mean_delta_s", **stats})
        merged = sim.merge(last[last["run"] == run][["sample_id", "n_pre"]], on="sample_id")
        rho = spearmanr(merged["delta_s"], merged["n_pre"]).statistic if merged["n_pre"].nunique() > 1 else np.nan
        rows.append(
            {
                "run": run,
                "epoch": int(last["epoch"].max()),
                "metric": "spearman_delta_s_n_pre",
                "value": float(rho),
                "n": len(merged),
            }
        )
        sim_ax.bar(
            i,
            stats["value"],
            yerr=[[stats["value"] - stats["ci_low"]], [stats["ci_high"] - stats["value"]]],
            color=color,
            capsize=3,
        )
    sim_ax.set_xticks([0, 1], [f"{plain_run} (alone)", f"{mixed_run}"])
    sim_ax.set_ylabel("mean delta_S of the scored samples")
    out = pd.DataFrame(rows)
    return out[["run", "epoch", "metric", "value", "n", "ci_low", "ci_high", "mean_difference"]], fig
