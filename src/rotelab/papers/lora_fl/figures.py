"""The causal-LM track's figures (P1), registered in the figure registry.

Each reads the per-run score tables of one run family (``rotelab.papers.lora_fl.runs``); every table
carries its run's name, label and spec, so a figure needs nothing from the config.
Memorization is the fraction of canaries whose continuation matches (exact: every one of
``completion_tokens``; approximate: character BLEU >= 0.75), with Wilson intervals.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from rotelab.figures.plots import concat, grouped_bars, yerr
from rotelab.figures.registry import figure
from rotelab.papers.lora_fl.runs import RUN_COLUMNS
from rotelab.reproduction.verdicts import Claim, difference, estimate, not_measurable, rate_difference

EXTRACTION = "results/lm/scores/{run}/extraction.parquet"
UTILITY = "results/lm/scores/{run}/utility.parquet"
MEMBERSHIP = "results/lm/scores/{run}/membership.parquet"
# {run} here is "<reference adapter>/<run>": every memorization run against every reference set
LIRA = "results/lm/lira/{run}.parquet"
LIRA_ATTACKS = {
    "lira_online_fixed": "LiRA online (fixed var.)",
    "lira_offline_fixed": "LiRA offline (fixed var.)",
    "rmia_online": "RMIA online",
    "rmia_offline": "RMIA offline",
    "loss": "loss (no references)",
}
LINE_STYLES = {"exact": "-", "approximate": "--"}
ADAPTER_MARKERS = {"full": "o", "lora": "^"}
DEFENSE_COLORS = {
    "none": "#333333",
    "dp": "#1b9e77",
    "weight_noise": "#d95f02",
    "goldfish": "#7570b3",
    "secure_aggregation": "#e7298a",
}


def _mean_memorization(rates: pd.DataFrame, measure: str) -> pd.DataFrame:
    """P1's mean over prompt lengths, per run, for the most duplicated group (the group
    where memorization shows first)."""
    top = rates.loc[rates["duplication"] > 0, "duplication"].max()
    rows = rates[(rates["summary"] == "mean") & (rates["measure"] == measure) & (rates["duplication"] == top)]
    return rows.assign(metric=f"{measure}_memorization_{top}x")


def _per_length_interval(rates: pd.DataFrame) -> pd.DataFrame:
    """Mean over prompt lengths with an interval from the per-length Wilson bounds (their
    mean: the lengths share canaries, so they are not independent draws)."""
    per = rates[rates["summary"] == "per_length"]
    keys = ["run", "measure", "duplication"]
    bounds = per.groupby(keys)[["ci_low", "ci_high"]].mean().reset_index()
    means = rates[rates["summary"] == "mean"].drop(columns=["ci_low", "ci_high"])
    return pd.concat([rates[rates["summary"] != "mean"], means.merge(bounds, on=keys, how="left")], ignore_index=True)


P1_ABSTRACT = "P1 abstract (figure and numbers not verified here)"


def _lora_reduction(setting, measure):
    def effect(table):
        full, lora = ({"setting": setting, "adapter": adapter} for adapter in ("full", "lora"))
        rows = table[(table["summary"] == "mean") & (table["measure"] == measure)]
        top = int(rows["duplication"].max())
        return rate_difference(rows, {"duplication": top, **full}, {"duplication": top, **lora})

    return effect


# Known limits of the default regime (docs/papers/lora_fl.md, "Regime"), from its calibration runs.
NOTES_PER_GROUP_LIMIT = (
    "with 20 notes per duplication group (the paper-scale count) and no dropout (P1's Llama models "
    "have none), centralized full fine-tuning continues 3 of the 80 10x (note, prompt length) pairs "
    "exactly and 10 approximately, LoRA none at any rank. Each count rests on a few of the 20 notes "
    "(the 3 exact pairs on 3 notes, the 10 approximate on 6), so the intervals span 0; with attention "
    "dropout 0.1 the same run continued 10 pairs (4 notes) and 20 (9 notes), and the notes dilute one "
    "another (30% exactly with 5 per group) (docs/papers/lora_fl.md, Regime)."
)
FEDAVG_DILUTION_LIMIT = (
    " Under FedAvg each note's update is averaged with the other clients': at 6 rounds full "
    "fine-tuning continues no 10x note exactly (approximately, 3 of 80 pairs)."
)

LORA_FL_MEMORIZATION_CLAIMS = tuple(
    Claim(
        "lora_fl",
        f"LoRA memorizes less than full fine-tuning {where} ({measure} memorization of the most "
        "duplicated notes, mean over prompt lengths; full minus LoRA).",
        P1_ABSTRACT,
        _lora_reduction(setting, measure),
        paper_value="up to 10x less" if setting == "federated" else "",
        limit=NOTES_PER_GROUP_LIMIT + (FEDAVG_DILUTION_LIMIT if setting == "federated" else ""),
    )
    for setting, where in (("federated", "in federated learning"), ("centralized", "in centralized learning"))
    for measure in ("exact", "approximate")
)


def _least_rank_reduction(measure):
    """Full fine-tuning minus LoRA at the rank where LoRA saves least."""

    def effect(table):
        rows = table[table["metric"].str.startswith(f"{measure}_memorization")]
        full = estimate(rows, adapter="full")
        gaps = [
            difference(full, estimate(rows, adapter="lora", rank=rank))
            for rank in sorted(rows.loc[rows["adapter"] == "lora", "rank"].unique())
        ]
        if not gaps:
            return not_measurable("no LoRA rank in this run")
        if full.value == 0 and all(g.value == 0 for g in gaps):
            return not_measurable("no notes memorized, full or LoRA, at any rank", full.n)
        return min(gaps, key=lambda g: g.value)

    return effect


LORA_RANK_CLAIMS = tuple(
    Claim(
        "lora_fl",
        f"LoRA reduces memorization compared with full fine-tuning, at every rank studied "
        f"({measure} memorization, centralized; full minus LoRA at the rank where LoRA saves least).",
        P1_ABSTRACT,
        _least_rank_reduction(measure),
        limit=NOTES_PER_GROUP_LIMIT,
    )
    for measure in ("exact", "approximate")
)


# P1: LoRA "can be combined with" each defense to improve privacy further, so each is judged at
# its strongest setting in the run: the smallest epsilon, the largest weight noise, the
# Goldfish k that drops the most tokens (the smallest).
STRONGEST = {"dp": min, "weight_noise": max, "goldfish": min}


def _defense_gain(defense):
    """LoRA FedAvg's loss-attack AUC minus that of LoRA FedAvg with ``defense`` at its strongest
    setting (lower AUC: better record-level privacy)."""

    def effect(table):
        auc = table[(table["metric"] == "loss_attack_auc") & (table["adapter"] == "lora")]
        defended = auc[auc["defense"] == defense]
        if defended.empty:
            return not_measurable(f"no LoRA run with {defense} in this run")
        strongest = STRONGEST[defense](defended["level"])
        return difference(estimate(auc, defense="none"), estimate(defended, level=strongest))

    return effect


LORA_FL_DEFENSES_CLAIMS = tuple(
    Claim(
        "lora_fl",
        f"LoRA combined with {name} further improves record-level privacy (loss-attack AUC on the "
        "notes, LoRA FedAvg minus LoRA FedAvg with the defense).",
        P1_ABSTRACT,
        _defense_gain(defense),
        limit=(
            "LoRA FedAvg alone continues no 10x note, even approximately, so a defense has no extraction "
            "left to remove, and its loss-attack AUC on 20 + 20 inserted against 40 never-inserted notes "
            "(default run: 0.70 [0.57, 0.81]) leaves a defense little to take away within the interval "
            "(docs/papers/lora_fl.md, P1 results)."
        ),
    )
    for defense, name in (
        ("weight_noise", "Gaussian noise on the weights (P1's noising)"),
        ("dp", "gradient clipping and Gaussian noise (DP-SGD)"),
        ("goldfish", "the Goldfish loss"),
    )
)


def _lira_over_loss(table):
    rows = table[(table["setting"] == "centralized") & (table["adapter"] == "full") & (table["metric"] == "auc")]
    if "references" in rows.columns:
        rows = rows[rows["references"] == "full"]
    return difference(estimate(rows, attack="lira_online_fixed"), estimate(rows, attack="loss"))


LM_LIRA_CLAIMS = (
    Claim(
        "lira",
        "LiRA strictly dominates prior attacks on existing metrics: its AUC exceeds the loss attack's "
        "(notes of the centralized full fine-tune, references trained like it; fixed-variance online LiRA, "
        "the paper's variant for few reference models).",
        "LiRA abstract",
        _lira_over_loss,
        limit=(
            "the centralized full fine-tune fits its notes so well that the loss attack alone separates the "
            "40 inserted notes from the 40 never-inserted ones at AUC 0.98, which leaves LiRA at most 0.02 "
            "to gain on 80 notes. With references trained like the target (the targets' audit records and "
            "note copies, since 01f0035 and 273e1ad), online LiRA with fixed variance reaches 0.995 [0.98, "
            "1.0], above the loss attack by an interval that still spans 0. Where the loss attack has "
            "room, on the FedAvg full fine-tune against references trained by FedAvg, online LiRA reaches "
            "0.93 [0.87, 0.97] against the loss attack's 0.83 [0.73, 0.92] (docs/papers/membership.md)."
        ),
    ),
)


# What every P1 run family's numbers depend on: the base, the data, the canaries, the runs.
LM_RUN_SETTINGS = (
    "lm.base.model.d_model",
    "lm.base.model.dropout",
    "lm.qa.fraction",
    "lm.canaries.duplication",
    "lm.finetune.train.epochs",
    "lm.federated.rounds",
    "lm.extraction.prompt_lengths",
)


@figure(
    "lora_fl_memorization",
    settings=LM_RUN_SETTINGS,
    paper="lora_fl",
    claims=LORA_FL_MEMORIZATION_CLAIMS,
    inputs=(EXTRACTION, UTILITY),
    runs="memorization",
    caption=(
        "Canary memorization after fine-tuning the pretrained base on the QA clients with inserted "
        "patient notes: fraction of notes whose greedy continuation reproduces the next tokens "
        "(solid: exact, all of them; dashed: approximate, character BLEU >= 0.75) against the prompt "
        "length, one panel per duplication group (0 = never inserted, the control), lines for full "
        "fine-tuning and LoRA, centralized and FedAvg. Bars: 95% Wilson intervals. The table adds "
        "held-out answer loss (utility). P1: LoRA memorizes up to 10x less than full fine-tuning, in "
        "FL and centralized, at similar utility."
    ),
)
def lora_fl_memorization(inputs):
    rates = _per_length_interval(concat(inputs[EXTRACTION]))
    utility = concat(inputs[UTILITY])
    groups = sorted(rates["duplication"].unique())
    fig, axes = plt.subplots(1, len(groups), figsize=(4 * len(groups), 3.6), sharey=True)
    runs = list(dict.fromkeys(rates["run"]))
    colors = dict(zip(runs, plt.get_cmap("tab10").colors))
    for ax, group in zip(np.atleast_1d(axes), groups):
        for k, run in enumerate(runs):
            dodge = 1 + 0.04 * (k - (len(runs) - 1) / 2)  # runs often coincide (at 0): shift them apart
            for measure, style in LINE_STYLES.items():
                rows = rates[
                    (rates.run == run)
                    & (rates.duplication == group)
                    & (rates.measure == measure)
                    & (rates.summary == "per_length")
                ].sort_values("prompt_length")
                label = rows["label"].iloc[0] if measure == "exact" and len(rows) else None
                ax.errorbar(
                    rows["prompt_length"] * dodge,
                    rows["value"],
                    yerr=yerr(rows),
                    ls=style,
                    marker="o",
                    capsize=2,
                    color=colors[run],
                    label=label,
                )
        ax.set_xscale("log")
        lengths = sorted(rates.loc[rates["summary"] == "per_length", "prompt_length"].unique())
        ax.set_xticks(lengths, [str(n) for n in lengths])
        ax.minorticks_off()
        ax.set_title("never inserted" if group == 0 else f"inserted {group}x")
        ax.set_xlabel("prompt length (tokens)")
    np.atleast_1d(axes)[0].set_ylabel("memorized fraction")
    np.atleast_1d(axes)[-1].legend(fontsize=7, title="solid: exact, dashed: approximate", title_fontsize=7)
    columns = [
        "run",
        "label",
        "setting",
        "adapter",
        "rank",
        "measure",
        "duplication",
        "prompt_length",
        "summary",
        "value",
        "n",
        "ci_low",
        "ci_high",
    ]
    loss = utility[utility["metric"] == "answer_loss"].assign(
        measure="answer_loss", duplication=-1, prompt_length=-1, summary="utility"
    )
    return pd.concat([rates[columns], loss[columns]], ignore_index=True), fig


@figure(
    "lora_rank",
    settings=LM_RUN_SETTINGS + ("lm.finetune.lora.ranks",),
    paper="lora_fl",
    claims=LORA_RANK_CLAIMS,
    inputs=(EXTRACTION, UTILITY),
    runs="rank",
    caption=(
        "Centralized LoRA at several ranks: memorization of the most duplicated canaries (mean over "
        "prompt lengths; exact solid, approximate dashed) and held-out answer loss, against the LoRA "
        "rank; horizontal lines are full fine-tuning. Intervals: mean of the per-length 95% Wilson "
        "bounds (memorization) and 95% bootstrap over test questions (loss). P1 expects memorization "
        "to grow with the rank towards full fine-tuning."
    ),
)
def lora_rank(inputs):
    rates = _per_length_interval(concat(inputs[EXTRACTION]))
    utility = concat(inputs[UTILITY])
    table = pd.concat(
        [_mean_memorization(rates, m) for m in LINE_STYLES] + [utility[utility["metric"] == "answer_loss"]],
        ignore_index=True,
    )
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.4))
    for ax, metrics in zip(axes, [[m for m in table["metric"].unique() if "memorization" in m], ["answer_loss"]]):
        for metric in metrics:
            rows = table[table["metric"] == metric]
            lora = rows[rows["adapter"] == "lora"].sort_values("rank")
            style = "--" if metric.startswith("approximate") else "-"
            line = ax.errorbar(
                lora["rank"], lora["value"], yerr=yerr(lora), ls=style, marker="^", capsize=3, label=f"LoRA, {metric}"
            )
            for value in rows.loc[rows["adapter"] == "full", "value"]:
                ax.axhline(value, ls=style, color=line[0].get_color(), alpha=0.5, label=f"full, {metric}")
        ax.set_xscale("log", base=2)
        ax.set_xlabel("LoRA rank")
        ax.legend(fontsize=7)
    axes[0].set_ylabel("memorized fraction")
    axes[1].set_ylabel("held-out answer loss (nats/token)")
    columns = ["run", "label", "adapter", "rank", "metric", "value", "n", "ci_low", "ci_high"]
    return table[columns].reset_index(drop=True), fig


def _defense_style(row, dp_levels) -> dict:
    """Marker by adapter, colour by defense (DP-SGD darker at smaller epsilon); secure
    aggregation hollow, since it sits on top of plain FedAvg."""
    color = DEFENSE_COLORS[row["defense"]]
    if row["defense"] == "dp" and len(dp_levels) > 1:
        shade = dp_levels.index(row["level"]) / (len(dp_levels) - 1)
        color = plt.get_cmap("Greens")(0.95 - 0.5 * shade)
    hollow = row["defense"] == "secure_aggregation"
    return {
        "marker": ADAPTER_MARKERS[row["adapter"]],
        "color": color,
        "markersize": 9 if hollow else 6,
        "markerfacecolor": "none" if hollow else color,
    }


@figure(
    "lora_fl_defenses",
    settings=LM_RUN_SETTINGS
    + ("lm.defenses.setting", "lm.defenses.dp.epsilons", "lm.defenses.weight_noise", "lm.defenses.goldfish.k"),
    paper="lora_fl",
    claims=LORA_FL_DEFENSES_CLAIMS,
    inputs=(EXTRACTION, UTILITY, MEMBERSHIP),
    runs="defenses",
    caption=(
        "Defenses, each with full fine-tuning (circles) and LoRA (triangles): approximate memorization of "
        "the most duplicated canaries (character BLEU >= 0.75, mean over prompt lengths; the table also "
        "has exact memorization) and loss-attack membership AUC (inserted vs never-inserted notes) "
        "against held-out answer loss. DP-SGD is Opacus DP-SGD (darker green = smaller epsilon; the "
        "epsilon spent is in the table); weight noise is P1's post-hoc Gaussian noise on the weights, "
        "which has no privacy guarantee; secure aggregation (hollow) computes the plain FedAvg "
        "aggregate and must sit on it. P1: LoRA combines with noise, secure aggregation and Goldfish "
        "to cut memorization further at modest utility cost."
    ),
)
def lora_fl_defenses(inputs):
    rates = _per_length_interval(concat(inputs[EXTRACTION]))
    utility = concat(inputs[UTILITY])
    membership = concat(inputs[MEMBERSHIP])
    auc = membership[
        (membership["attack"] == "loss") & (membership["metric"] == "auc") & (membership["replicas"] == -1)
    ].assign(metric="loss_attack_auc")
    table = pd.concat([_mean_memorization(rates, m) for m in LINE_STYLES] + [utility, auc], ignore_index=True)
    epsilon = utility.drop_duplicates("run").set_index("run")["epsilon"]
    table["epsilon"] = table["run"].map(epsilon)
    loss = table[table["metric"] == "answer_loss"].set_index("run")
    dp_levels = sorted(table.loc[table["defense"] == "dp", "level"].dropna().unique())
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    memorization = [m for m in table["metric"].unique() if m.startswith("approximate_memorization")]
    for ax, metric in zip(axes, memorization + ["loss_attack_auc"]):
        rows = table[table["metric"] == metric].set_index("run")
        for run, row in rows.iterrows():
            x = loss.loc[run]
            ax.errorbar(
                x["value"],
                row["value"],
                xerr=yerr(x.to_frame().T),
                yerr=yerr(row.to_frame().T),
                capsize=2,
                ls="none",
                label=row["label"],
                **_defense_style(row, dp_levels),
            )
        ax.set_xlabel("held-out answer loss (nats/token)")
        ax.set_ylabel(metric.replace("_", " "))
    axes[1].axhline(0.5, color="grey", lw=0.8, ls=":")
    axes[1].legend(fontsize=6, loc="center left", bbox_to_anchor=(1.02, 0.5))
    columns = [
        *RUN_COLUMNS,
        "epsilon",
        "metric",
        "value",
        "n",
        "ci_low",
        "ci_high",
    ]
    return table[columns].reset_index(drop=True), fig


def _reference_set_title(name: str) -> str:
    """``fedavg-lora`` -> "LoRA reference fine-tunes, FedAvg" (``runs.reference_sets`` names)."""
    setting, _, adapter = name.rpartition("-")
    return f"{'LoRA' if adapter == 'lora' else 'full'} reference fine-tunes, {'FedAvg' if setting else 'centralized'}"


@figure(
    "lm_lira",
    # LiRA scores whole notes: the extraction prompts play no part.
    settings=tuple(key for key in LM_RUN_SETTINGS if not key.startswith("lm.extraction"))
    + ("lm.references.models", "lm.references.adapters", "lm.references.settings"),
    paper="lora_fl",
    claims=LM_LIRA_CLAIMS,
    inputs=(LIRA,),
    runs="lm_lira",
    caption=(
        "Membership inference on the canary notes of P1's runs with LiRA and RMIA calibrated by "
        "reference fine-tunes of the same base (lm.references: each reference trains on the QA set, the "
        "runs' audit records and half of the notes, each as often as a run inserts it, one IN/OUT matrix; "
        "one panel per reference set: full fine-tunes and/or LoRA, "
        "trained centralized and/or by FedAvg like P1's federated runs; RMIA compares each note with "
        "population notes no model trained on): AUC of inserted against never-inserted notes for full "
        "fine-tuning and LoRA, centralized and FedAvg, beside the uncalibrated loss attack. Bars: 95% "
        "bootstrap intervals over notes. The table adds TPR at 1% and 0.1% FPR and the per-example-variance "
        "variants. LiRA (Carlini et al. 2022) should beat the loss attack when its references are trained "
        "like the target (a FedAvg run against the FedAvg set), and P1's ordering (LoRA memorizes less) "
        "should show as lower AUC."
    ),
)
def lm_lira(inputs):
    table = concat(inputs[LIRA])
    auc = table[(table["metric"] == "auc") & table["attack"].isin(list(LIRA_ATTACKS))]
    runs = list(dict.fromkeys(auc["run"]))
    labels = auc.drop_duplicates("run").set_index("run")["label"]
    reference_sets = list(dict.fromkeys(auc["references"]))
    fig, axes = plt.subplots(
        1,
        len(reference_sets),
        figsize=(max(5, 1.6 * len(runs)) * len(reference_sets), 3.6),
        sharey=True,
        squeeze=False,
    )
    for ax, references in zip(axes[0], reference_sets):
        part = auc[auc["references"] == references]
        x = grouped_bars(ax, part, "attack", list(LIRA_ATTACKS), "run", runs, labels=LIRA_ATTACKS)
        ax.axhline(0.5, color="grey", lw=0.8, ls=":")
        ax.set_xticks(x, [labels[r] for r in runs], fontsize=7)
        ax.set_title(_reference_set_title(references), fontsize=9)
        ax.set_ylim(0, 1)
    axes[0][0].set_ylabel("AUC, inserted vs never-inserted notes")
    axes[0][-1].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    columns = [
        "references",
        "run",
        "label",
        "setting",
        "adapter",
        "rank",
        "attack",
        "metric",
        "value",
        "n",
        "ci_low",
        "ci_high",
    ]
    return table[columns].reset_index(drop=True), fig
