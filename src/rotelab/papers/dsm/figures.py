"""P2's figures, in the figure registry: learned scores, excess risk and diffusion MMD."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from rotelab.core.stats import mean_with_interval
from rotelab.figures.plots import concat, yerr
from rotelab.figures.registry import figure
from rotelab.reproduction.verdicts import Claim, difference, estimate, not_measurable

SCORE_CURVES = "results/dsm/{run}/scores.parquet"
EXCESS_RISK = "results/dsm/{run}/excess_risk.parquet"
DIFFUSION_METRICS = "results/dsm/diffusion/{run}.parquet"


def _lr_colors(lrs) -> dict[float, tuple]:
    cmap = plt.get_cmap("viridis")
    lrs = sorted(lrs, reverse=True)
    return {lr: cmap(i / max(1, len(lrs) - 1) * 0.85) for i, lr in enumerate(lrs)}


def _largest_minus_smallest_rate(metric, by="t"):
    """``metric`` at the largest learning rate minus at the smallest, at the value of ``by``
    where the gap is smallest (the claim holds for every one)."""

    def effect(table):
        rows = table[table["metric"] == metric]
        rates = sorted(rows["lr"].unique())
        if len(rates) < 2:
            return not_measurable("one learning rate only: nothing to compare")
        gaps = [difference(estimate(part, lr=rates[-1]), estimate(part, lr=rates[0])) for _, part in rows.groupby(by)]
        return min(gaps, key=lambda g: g.value)

    return effect


DSM_SCORES_CLAIMS = (
    Claim(
        "dsm",
        "As the learning rate decreases, the learnt score approaches the empirical optimal score s* (RMS gap "
        "to s*, largest minus smallest learning rate, at the diffusion time where it is smallest).",
        "P2 Sec. 7, Fig. 1 (arXiv v1)",
        _largest_minus_smallest_rate("rms_gap_to_optimal_on_grid"),
    ),
)


# What the 1-D score figures' numbers depend on.
SCORE_SETTINGS = ("dsm.times", "dsm.learning_rates", "dsm.seeds", "dsm.width")


@figure(
    "dsm_scores",
    settings=SCORE_SETTINGS,
    paper="dsm",
    claims=DSM_SCORES_CLAIMS,
    inputs=(SCORE_CURVES,),
    runs="dsm",
    caption=(
        "Learned score against the empirical optimal score s* (P2, Fig. 1): a two-layer ReLU "
        "network trained by SGD with denoising score matching on 20 one-dimensional Gaussian "
        "points (x marks: mu x_i), for each learning rate eta (steps proportional to 1/eta), one "
        "panel per diffusion time t. s* jumps between the training points; P2's claim is that "
        "small eta follows those jumps (memorization) while large eta stays smooth. First seed "
        "shown; the table gives the RMS gap to s* on the grid (y in [-3, 3]) averaged over seeds."
    ),
)
def dsm_scores(inputs):
    everything = concat(inputs[SCORE_CURVES])
    curves_all = everything[everything["kind"] == "curve"]
    gaps = (
        curves_all.assign(sq=(curves_all["learned"] - curves_all["optimal"]) ** 2)
        .groupby(["t", "lr", "seed"])["sq"]
        .mean()
        .pow(0.5)
    )
    rows = [
        {"t": t, "lr": lr, "metric": "rms_gap_to_optimal_on_grid", **mean_with_interval(g.to_numpy())}
        for (t, lr), g in gaps.groupby(level=["t", "lr"])
    ]
    table = everything[everything["seed"] == everything["seed"].min()]
    times = sorted(table["t"].unique())
    colors = _lr_colors(table["lr"].unique())
    fig, axes = plt.subplots(1, len(times), figsize=(5 * len(times), 3.8), squeeze=False)
    for ax, t in zip(axes[0], times):
        part = table[table["t"] == t]
        curves = part[part["kind"] == "curve"]
        first = curves[curves["lr"] == curves["lr"].max()]
        ax.plot(first["y"], first["optimal"], color="black", lw=1.2, label="empirical optimal s*")
        for lr, c in sorted(curves.groupby("lr"), key=lambda kv: -kv[0]):
            ax.plot(c["y"], c["learned"], color=colors[lr], label=f"network, eta = {lr:g}")
        points = part[(part["kind"] == "training_point") & (part["lr"] == part["lr"].max())]
        ax.scatter(points["y"], np.zeros(len(points)), marker="x", color="grey", zorder=3)
        ax.set_ylim(np.nanquantile(first["optimal"], 0.01) * 1.2, np.nanquantile(first["optimal"], 0.99) * 1.2)
        ax.set_title(f"t = {t:g}")
        ax.set_xlabel("y")
        ax.set_ylabel("score")
    axes[0][0].legend(fontsize=7)
    return pd.DataFrame(rows), fig


DSM_EXCESS_RISK_CLAIMS = (
    Claim(
        "dsm",
        "The excess risk over the empirical optimal score is larger for larger learning rates (largest "
        "minus smallest learning rate, at the diffusion time where the gap is smallest).",
        "P2 Sec. 7, Fig. 2 (arXiv v1; Theorem 8 gives the floor once eta passes a threshold)",
        _largest_minus_smallest_rate("excess_risk_mean"),
    ),
)


@figure(
    "dsm_excess_risk",
    settings=SCORE_SETTINGS,
    paper="dsm",
    claims=DSM_EXCESS_RISK_CLAIMS,
    inputs=(EXCESS_RISK,),
    runs="dsm",
    caption=(
        "Excess risk of the learned score over the empirical optimal score, "
        "1/n sum_i E(s - s*)^2 (Monte Carlo over noise draws; the mean of the last five "
        "evaluations, 100 steps apart), against the SGD learning rate (P2, Fig. 2). Dots are "
        "seeds (each its own training set, initialisation and noise); lines the mean with a 95% "
        "bootstrap interval. P2's headline: the floor grows with eta, so large learning rates "
        "cannot reach the memorizing s*. Diverged seeds (non-finite weights) are counted in "
        "the table and left out of the mean."
    ),
)
def dsm_excess_risk(inputs):
    table = concat(inputs[EXCESS_RISK])
    times = sorted(table["t"].unique())
    fig, ax = plt.subplots(figsize=(6, 4))
    rows = []
    for i, t in enumerate(times):
        part = table[table["t"] == t]
        color = plt.get_cmap("tab10")(i)
        summary = []
        for lr, g in part.groupby("lr"):
            finite = g["excess_risk"][np.isfinite(g["excess_risk"])]
            stats = mean_with_interval(finite.to_numpy())
            summary.append((lr, stats))
            rows.append(
                {
                    "t": t,
                    "lr": lr,
                    "metric": "excess_risk_mean",
                    **stats,
                    "diverged": int((~np.isfinite(g["excess_risk"])).sum()),
                    "median": float(finite.median()) if len(finite) else np.nan,
                }
            )
            ax.scatter(np.full(len(finite), lr), finite, color=color, s=10, alpha=0.5)
        line = pd.DataFrame([{"lr": lr, **stats} for lr, stats in summary])
        ax.errorbar(line["lr"], line["value"], yerr=yerr(line), color=color, marker="o", capsize=3, label=f"t = {t:g}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("learning rate eta (log)")
    ax.set_ylabel("excess risk over s*")
    ax.legend(fontsize=7)
    return pd.DataFrame(rows), fig


DSM_MMD_CLAIMS = (
    Claim(
        "dsm",
        "The MMD between generated samples and the training data grows with the learning rate (network "
        "sampler's MMD to the training points, largest minus smallest learning rate).",
        "P2 Sec. 7, Fig. 3 right (arXiv v1)",
        lambda t: _largest_minus_smallest_rate("mmd_train", by="sampler")(t[t["sampler"] == "network"]),
    ),
)


@figure(
    "dsm_mmd",
    settings=("dsm.diffusion.learning_rates",),
    paper="dsm",
    claims=DSM_MMD_CLAIMS,
    inputs=(DIFFUSION_METRICS,),
    runs="dsm_diffusion",
    caption=(
        "Two-dimensional diffusion (P2, Fig. 3): a time-conditioned two-layer ReLU network "
        "trained by SGD at each learning rate on 10 training points, sampled by the reverse SDE. "
        "Left: squared MMD (Gaussian kernel, biased estimate) between the generated samples and "
        "the training points, and the same for samples driven by the empirical optimal score s* "
        "(dashed; it memorizes). Right: median distance from a generated sample to its nearest "
        "training point. Bars span the sampling seeds. P2: the smaller eta, the closer the "
        "samples come to copying the training set."
    ),
)
def dsm_mmd(inputs):
    table = concat(inputs[DIFFUSION_METRICS])
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    rows = []
    for (sampler, lr), g in table.groupby(["sampler", "lr"]):
        for metric in ("mmd_train", "mmd_gaussian", "nearest_median"):
            values = g[metric].to_numpy(dtype=float)
            finite = values[np.isfinite(values)]
            rows.append(
                {
                    "sampler": sampler,
                    "lr": lr,
                    "metric": metric,
                    "value": float(finite.mean()) if finite.size else np.inf,
                    "n": int(values.size),
                    "ci_low": float(finite.min()) if finite.size else np.nan,
                    "ci_high": float(finite.max()) if finite.size else np.nan,
                }
            )
    out = pd.DataFrame(rows)
    for ax, metric, label in (
        (axes[0], "mmd_train", "MMD^2 to the training points"),
        (axes[1], "nearest_median", "median distance to nearest training point"),
    ):
        for sampler, style in (
            ("network", dict(color="#d95f02", marker="o")),
            ("optimal", dict(color="black", ls="--")),
        ):
            part = out[(out["sampler"] == sampler) & (out["metric"] == metric)].sort_values("lr")
            part = part[np.isfinite(part["value"])]
            ax.errorbar(
                part["lr"],
                part["value"],
                yerr=yerr(part),
                capsize=3,
                label="network" if sampler == "network" else "empirical optimal s*",
                **style,
            )
        ax.set_xscale("log")
        ax.set_xlabel("learning rate eta (log)")
        ax.set_ylabel(label)
    axes[0].legend(fontsize=7)
    return out, fig
