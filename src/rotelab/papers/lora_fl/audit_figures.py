"""The privacy-audit figure of the causal-LM track: every P1 run's empirical lower bound on
epsilon (``rotelab.papers.lora_fl.audit``) against its accountant's epsilon."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from rotelab.core.io import read_parquet
from rotelab.figures.registry import figure
from rotelab.papers.lora_fl.audit import refutable_dp_runs
from rotelab.papers.lora_fl.runs import RUN_COLUMNS
from rotelab.reproduction.verdicts import Claim, Effect, not_measurable

AUDIT = "results/lm/audit/runs.parquet"
ADAPTER_MARKERS = {"full": "o", "lora": "^"}


def _largest_excess(table):
    """The largest empirical bound minus accountant epsilon over the DP runs the audit could
    refute (``refutable_dp_runs``). Each bound is already a one-sided 95% confidence bound,
    so it is its own interval: the claim holds while every such run's bound stays at or
    below its epsilon."""
    dp = table[np.isfinite(table["accountant_epsilon"].to_numpy(float))]
    if dp.empty:
        return not_measurable("no run with an accountant (lm.defenses.dp.epsilons is empty)")
    testable = refutable_dp_runs(table)
    if testable.empty:
        return not_measurable(
            f"the audit cannot refute any DP run: its ceiling ({dp['epsilon_ceiling'].max():.2f}, every guess "
            f"right) is below the smallest accountant epsilon ({dp['accountant_epsilon'].min():.2f}); more "
            "audit canaries and guesses (lm.audit) raise it"
        )
    excess = (testable["epsilon_lower"] - testable["accountant_epsilon"]).to_numpy(float)
    worst = float(excess.max())
    return Effect(
        worst,
        worst,
        worst,
        int(excess.size),
        f"max over the {excess.size} DP runs below the audit's ceiling of (lower bound - accountant epsilon)",
    )


AUDIT_CLAIMS = (
    Claim(
        "privacy_audit",
        "An (epsilon, delta)-DP training run cannot be audited above its epsilon: no DP-SGD run's one-run "
        "lower bound exceeds the epsilon its accountant spent (largest bound minus accountant epsilon "
        "over the DP runs, each bound at 95% confidence).",
        "Section 3 (the main theorem: the bound holds for every (epsilon, delta)-DP algorithm), Algorithm 1",
        _largest_excess,
        direction=-1,
    ),
)


@figure(
    "dp_audit",
    settings=(
        "lm.audit.canaries",
        "lm.audit.guesses",
        "lm.audit.attacks",
        "lm.audit.confidence",
        "lm.defenses.dp.epsilons",
        "lm.finetune.train.epochs",
    ),
    paper="lora_fl",
    claims=AUDIT_CLAIMS,
    inputs=(AUDIT,),
    caption=(
        "One-run privacy audits (Steinke, Nasr & Jagielski 2023) of every P1 run: audit canaries (short "
        "patient records) each inserted once with probability 1/2, the auditor's fixed number of guesses "
        "on the most and least member-like of them under the strongest of its attacks (loss, and loss "
        "calibrated by the pretrained base; a Bonferroni share of the confidence each), and the largest "
        "epsilon those right guesses refute at 95% confidence. Left: DP-SGD runs, the bound against the "
        "epsilon the accountant spent (on or below the diagonal, as DP requires). Right: the runs without "
        "an accountant (plain fine-tuning, P1's weight noise, Goldfish, secure aggregation), whose bounds "
        "have nothing to be compared with. The table's epsilon_ceiling is the bound had every guess been "
        "right: no run can be shown to leak more than it with this many canaries."
    ),
)
def dp_audit(inputs):
    table = read_parquet(inputs[AUDIT][0])
    has_accountant = np.isfinite(table["accountant_epsilon"].to_numpy(float))
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4), gridspec_kw={"width_ratios": [1, 1.4]})
    dp = table[has_accountant]
    for adapter, part in dp.groupby("adapter"):
        left.scatter(
            part["accountant_epsilon"],
            part["epsilon_lower"],
            marker=ADAPTER_MARKERS.get(adapter, "s"),
            label=adapter,
        )
    left.scatter(
        dp["accountant_epsilon"],
        dp["epsilon_ceiling"],
        marker="_",
        s=200,
        color="grey",
        label="most this audit can show",
    )
    top = max(1.0, float(np.nanmax(table["accountant_epsilon"].to_numpy(float), initial=1.0)))
    left.plot([0, top], [0, top], color="grey", ls="--", lw=0.8, label="bound = accountant epsilon")
    left.set(xlabel="accountant epsilon", ylabel="empirical epsilon lower bound", title="DP-SGD runs")
    left.legend(fontsize=7)
    rest = table[~has_accountant]
    y = np.arange(len(rest))
    right.barh(y, rest["epsilon_lower"], color="#777777")
    right.set_yticks(y, rest["label"], fontsize=7)
    right.invert_yaxis()
    right.set(xlabel="empirical epsilon lower bound", title="runs without an accountant")
    fig.tight_layout()
    columns = [
        *RUN_COLUMNS,
        "accountant_epsilon",
        "target_epsilon",
        "target_delta",
        "epsilon_lower",
        "epsilon_ceiling",
        "delta",
        "attack",
        "guesses",
        "correct",
        "canaries",
        "confidence",
    ]
    # The tidy columns every figure table has: the bound is a one-sided 95% lower confidence
    # bound, so it is its own interval's lower end and the upper end is open.
    table = table.assign(
        value=table["epsilon_lower"], n=table["canaries"], ci_low=table["epsilon_lower"], ci_high=np.nan
    )
    return table[[*columns, "value", "n", "ci_low", "ci_high"]].reset_index(drop=True), fig
