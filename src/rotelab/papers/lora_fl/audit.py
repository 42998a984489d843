"""One-run privacy audits of the P1 runs: every run's empirical lower bound on epsilon,
beside the epsilon its accountant spent where it has one (DP-SGD).

Every run trains on the same audit canaries, each inserted with probability 1/2
(``rotelab.data.canaries.make_audit_canaries``); the auditor scores all of them under the
run and bounds epsilon from how many of its fixed number of guesses are right
(``rotelab.membership.audit``; Steinke, Nasr & Jagielski, NeurIPS 2023). Every run is audited
at one delta (``lm.audit.delta``); a DP run must not show a bound above its accountant's
epsilon at that delta (at the bound's confidence). The runs without an accountant (plain,
weight noise, Goldfish, secure aggregation) get their bounds stated, compared with nothing.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from rotelab.membership.audit import one_run_ceiling, strongest_one_run_audit
from rotelab.training.dp_accounting import accountant_epsilon


def audit_run(scores: pd.DataFrame, included: pd.Series, audit: dict, delta: float) -> dict:
    """The strongest one-run bound on one run from ``scores`` (``canary_id, attack, score``;
    ``included`` indexed by canary_id), and its ceiling: the bound had every guess been
    right, the most this audit could show."""
    by_attack = {
        attack: part.set_index("canary_id")["score"].reindex(included.index).to_numpy(float)
        for attack, part in scores.groupby("attack", sort=True)
    }
    attack, bound = strongest_one_run_audit(
        by_attack, included.to_numpy(bool), audit["guesses"], delta, audit["confidence"]
    )
    share = 1 - (1 - audit["confidence"]) / len(by_attack)  # the Bonferroni share each attack had
    return {
        "epsilon_lower": bound.epsilon,
        "epsilon_ceiling": one_run_ceiling(bound.canaries, audit["guesses"], delta, share),
        "attack": attack,
        "guesses": bound.guesses,
        "correct": bound.correct,
        "canaries": bound.canaries,
        "delta": delta,
        "confidence": audit["confidence"],
    }


def audit_table(scores: pd.DataFrame, canaries: pd.DataFrame, summaries: dict[str, dict], audit: dict) -> pd.DataFrame:
    """One row per run: its bound at ``audit["delta"]`` (:func:`audit_run`) and, for a DP run,
    ``accountant_epsilon``, its accountant's epsilon at that same delta (the RDP accountant
    converts at any delta), beside ``target_epsilon`` and ``target_delta``, the guarantee it
    was calibrated to (NaN for a run without an accountant). ``scores``: ``run, canary_id,
    attack, score``; ``summaries``: each run's ``run.json``."""
    included = canaries.set_index("canary_id")["included"]
    rows = []
    for run, summary in summaries.items():
        accounting = summary.get("dp_accounting")
        rows.append(
            {
                "run": run,
                "accountant_epsilon": accountant_epsilon(accounting, audit["delta"]) if accounting else math.nan,
                "target_epsilon": summary.get("epsilon", math.nan),
                "target_delta": summary.get("delta", math.nan),
                **audit_run(scores[scores["run"] == run], included, audit, audit["delta"]),
            }
        )
    return pd.DataFrame(rows)


def refutable_dp_runs(table: pd.DataFrame) -> pd.DataFrame:
    """The DP runs whose accountant epsilon the audit could refute at all: those below the
    audit's ceiling (the bound had every guess been right). Which runs these are depends on
    the audit's size and delta and on the accountants, never on the scores."""
    dp = table[np.isfinite(table["accountant_epsilon"].to_numpy(float))]
    return dp[dp["epsilon_ceiling"] > dp["accountant_epsilon"]]
