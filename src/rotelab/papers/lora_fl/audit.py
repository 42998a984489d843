"""One-run privacy audits of the P1 runs: every run's empirical lower bound on epsilon,
beside the epsilon its accountant spent where it has one (DP-SGD).

Every run trains on the same audit canaries, each inserted with probability 1/2
(``rotelab.data.canaries.make_audit_canaries``); the auditor scores all of them under the
run and bounds epsilon from how many of its fixed number of guesses are right
(``rotelab.membership.audit``; Steinke, Nasr & Jagielski, NeurIPS 2023). A DP run must not
show a bound above its accountant's epsilon (at the bound's confidence); the runs without
an accountant (plain, weight noise, Goldfish, secure aggregation) get their bounds stated,
compared with nothing.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from rotelab.membership.audit import one_run_ceiling, strongest_one_run_audit


def audit_deltas(summaries: dict[str, dict], delta: float | None) -> dict[str, float]:
    """The delta each run is audited at: ``delta`` where the config sets one; otherwise a
    DP run's own accountant delta, so that the bound and the accountant speak of the same
    (epsilon, delta) pair, and 0 for a run without an accountant (it promises no delta, and
    a bound on pure epsilon is the most its audit can show: the one-run bound's delta term,
    2 m delta, would otherwise eat it)."""
    if delta is not None:
        return {run: float(delta) for run in summaries}
    return {run: float(s.get("delta", 0.0)) for run, s in summaries.items()}


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
    """One row per run: its bound (:func:`audit_run`) and ``accountant_epsilon`` (NaN for a
    run without an accountant). ``scores``: ``run, canary_id, attack, score``."""
    included = canaries.set_index("canary_id")["included"]
    deltas = audit_deltas(summaries, audit["delta"])
    rows = []
    for run, summary in summaries.items():
        row = audit_run(scores[scores["run"] == run], included, audit, deltas[run])
        rows.append({"run": run, "accountant_epsilon": summary.get("epsilon", math.nan), **row})
    return pd.DataFrame(rows)


def excess_over_accountant(table: pd.DataFrame) -> np.ndarray:
    """Empirical lower bound minus accountant epsilon, for the runs that have an accountant."""
    dp = table[np.isfinite(table["accountant_epsilon"].to_numpy(float))]
    return (dp["epsilon_lower"] - dp["accountant_epsilon"]).to_numpy(float)
