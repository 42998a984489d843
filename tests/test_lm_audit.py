"""One-run audits of the P1 runs (rotelab.papers.lora_fl.audit) and their audit canaries."""

import math

import numpy as np
import pandas as pd
import pytest

from rotelab.data.canaries import make_audit_canaries
from rotelab.papers.lora_fl.audit import audit_deltas, audit_table, excess_over_accountant
from rotelab.papers.lora_fl.audit_figures import AUDIT_CLAIMS
from rotelab.reproduction.verdicts import judge

AUDIT = {"guesses": 40, "confidence": 0.95, "delta": None, "attacks": ["loss", "loss_vs_base"]}


def test_audit_canaries_are_inserted_by_a_seeded_coin_and_dealt_by_client_size():
    table = make_audit_canaries(400, [100, 300, 600], seed=5)
    assert len(table) == 400 and table["canary_id"].is_unique and table["text"].is_unique
    assert 160 < table["included"].sum() < 240  # Binomial(400, 1/2): 200 +- 40 is beyond 4 sigma
    inserted = table[table["included"]]
    assert (inserted["duplication"] == 1).all() and (table.loc[~table["included"], "client"] == -1).all()
    shares = inserted.groupby("client").size() / len(inserted)
    assert shares.round(1).to_dict() == {0: 0.1, 1: 0.3, 2: 0.6}
    assert all(secret in text for secret, text in zip(table["secret"], table["text"]))
    assert table.equals(make_audit_canaries(400, [100, 300, 600], seed=5))
    assert not table["included"].equals(make_audit_canaries(400, [100, 300, 600], seed=6)["included"])
    assert make_audit_canaries(0, [1, 2], seed=5).empty


def test_audit_canaries_join_the_clients_documents_once_each():
    from rotelab.data.lm_text import client_documents

    qa = pd.DataFrame({"client": [0, 1], "split": ["train", "train"], "question": ["a", "b"], "answer": ["A", "B"]})
    audit = make_audit_canaries(20, [1, 1], seed=1)
    docs = client_documents(qa, audit[["text", "duplication", "client"]], seed=0)
    trained = docs[0] + docs[1]
    for text, included in zip(audit["text"], audit["included"]):
        assert trained.count(text) == (1 if included else 0)


def test_a_dp_run_is_audited_at_its_accountants_delta_and_the_others_at_pure_epsilon():
    summaries = {"plain": {"steps": 5}, "dp1": {"epsilon": 1.0, "delta": 1e-3}, "dp8": {"epsilon": 8.0, "delta": 2e-3}}
    assert audit_deltas(summaries, None) == {"plain": 0.0, "dp1": 1e-3, "dp8": 2e-3}
    assert audit_deltas(summaries, 1e-5) == {"plain": 1e-5, "dp1": 1e-5, "dp8": 1e-5}


def synthetic_scores(canaries: pd.DataFrame, separation: dict[str, float], seed: int = 0) -> pd.DataFrame:
    """Loss-attack scores N(separation * included, 1) per run; loss_vs_base pure noise."""
    rng = np.random.default_rng(seed)
    frames = []
    for run, mu in separation.items():
        for attack, shift in (("loss", mu), ("loss_vs_base", 0.0)):
            score = rng.normal(shift * canaries["included"].to_numpy(float), 1)
            frames.append(canaries[["canary_id", "included"]].assign(run=run, attack=attack, score=score))
    return pd.concat(frames, ignore_index=True)


def test_a_run_that_memorizes_its_canaries_gets_a_bound_and_one_that_does_not_gets_none():
    canaries = make_audit_canaries(400, [1, 1, 1], seed=2)
    scores = synthetic_scores(canaries, {"leaky": 6.0, "private": 0.0})
    summaries = {"leaky": {}, "private": {"epsilon": 1.0, "delta": 1e-5}}
    table = audit_table(scores, canaries, summaries, AUDIT).set_index("run")
    leaky, private = table.loc["leaky"], table.loc["private"]
    # Perfect separation: all 40 guesses right. Held to confidence 0.975 (two attacks), the
    # binomial tail q^40 <= 0.025 gives q = 0.025^(1/40), epsilon = logit(q) (delta 0).
    assert leaky["attack"] == "loss" and leaky["correct"] == 40 and leaky["guesses"] == 40
    assert leaky["epsilon_lower"] == pytest.approx(math.log(0.025 ** (1 / 40) / (1 - 0.025 ** (1 / 40))), rel=1e-4)
    assert leaky["epsilon_ceiling"] == pytest.approx(leaky["epsilon_lower"])  # nothing more to show
    assert private["epsilon_ceiling"] < leaky["epsilon_ceiling"]  # its delta term costs power
    assert math.isnan(leaky["accountant_epsilon"]) and leaky["delta"] == 0.0
    assert private["epsilon_lower"] == 0.0 and private["accountant_epsilon"] == 1.0
    assert excess_over_accountant(table.reset_index()).tolist() == [-1.0]


def test_the_claim_holds_below_the_accountant_and_fails_above_it():
    (claim,) = AUDIT_CLAIMS
    table = pd.DataFrame(
        {"run": ["a", "b", "c"], "accountant_epsilon": [1.0, 8.0, math.nan], "epsilon_lower": [0.4, 2.0, 5.0]}
    )
    row = judge(claim, table)
    assert row["verdict"] == "reproduces" and row["effect"] == pytest.approx(-0.6) and row["n"] == 2
    broken = table.assign(epsilon_lower=[1.3, 2.0, 5.0])
    assert judge(claim, broken)["verdict"] == "contradicts"
    assert judge(claim, table[table["run"] == "c"])["verdict"] == "not measurable"
