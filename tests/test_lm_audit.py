"""One-run audits of the P1 runs (rotelab.papers.lora_fl.audit) and their audit canaries."""

import math

import numpy as np
import pandas as pd
import pytest

from rotelab.data.canaries import make_audit_canaries
from rotelab.papers.lora_fl.audit import audit_table, refutable_dp_runs
from rotelab.papers.lora_fl.audit_figures import AUDIT_CLAIMS
from rotelab.reproduction.verdicts import judge
from rotelab.training.dp_accounting import epsilon_spent

AUDIT = {"guesses": 40, "confidence": 0.95, "delta": 1e-5, "attacks": ["loss", "loss_vs_base"]}


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


def test_a_dp_runs_accountant_is_read_at_the_audits_delta():
    from rotelab.training.dp_accounting import accountant_epsilon, epsilon_spent

    parts = [
        {"noise_multiplier": 1.1, "sample_rate": 0.1, "steps": 300},
        {"noise_multiplier": 0.9, "sample_rate": 0.05, "steps": 300},
    ]
    at_small_delta = accountant_epsilon(parts, 1e-5)
    # the worst client's guarantee, and a smaller delta costs epsilon
    assert at_small_delta == max(epsilon_spent(1.1, 0.1, 300, 1e-5), epsilon_spent(0.9, 0.05, 300, 1e-5))
    assert at_small_delta > accountant_epsilon(parts, 1e-3)
    with pytest.raises(ValueError, match="at least one"):
        accountant_epsilon([], 1e-5)


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
    accounting = [{"noise_multiplier": 1.0, "sample_rate": 0.05, "steps": 200}]
    summaries = {"leaky": {}, "private": {"epsilon": 1.0, "delta": 1e-3, "dp_accounting": accounting}}
    table = audit_table(scores, canaries, summaries, AUDIT).set_index("run")
    leaky, private = table.loc["leaky"], table.loc["private"]
    # Perfect separation: all 40 guesses right. Held to confidence 0.975 (two attacks), the
    # binomial tail q^40 <= 0.025 gives q = 0.025^(1/40), epsilon = logit(q) (less a hair for delta).
    assert leaky["attack"] == "loss" and leaky["correct"] == 40 and leaky["guesses"] == 40
    assert leaky["epsilon_lower"] == pytest.approx(math.log(0.025 ** (1 / 40) / (1 - 0.025 ** (1 / 40))), rel=0.01)
    assert leaky["epsilon_ceiling"] == pytest.approx(leaky["epsilon_lower"])  # nothing more to show
    assert (table["delta"] == 1e-5).all() and private["epsilon_ceiling"] == leaky["epsilon_ceiling"]
    assert math.isnan(leaky["accountant_epsilon"]) and math.isnan(leaky["target_epsilon"])
    # the private run's accountant, converted to the audit's delta
    assert private["target_epsilon"] == 1.0 and private["target_delta"] == 1e-3
    assert private["accountant_epsilon"] == pytest.approx(epsilon_spent(1.0, 0.05, 200, 1e-5))
    assert private["epsilon_lower"] == 0.0


def test_the_claim_holds_below_the_accountant_and_fails_above_it():
    (claim,) = AUDIT_CLAIMS
    table = pd.DataFrame(
        {
            "run": ["a", "b", "c"],
            "accountant_epsilon": [1.0, 8.0, math.nan],
            "epsilon_lower": [0.4, 2.0, 2.5],
            "epsilon_ceiling": [3.0, 3.0, 3.0],
        }
    )
    # run b's epsilon 8 is above the ceiling 3: no audit this size could refute it
    assert refutable_dp_runs(table)["run"].tolist() == ["a"]
    row = judge(claim, table)
    assert row["verdict"] == "reproduces" and row["effect"] == pytest.approx(-0.6) and row["n"] == 1
    assert judge(claim, table.assign(epsilon_lower=[1.3, 2.0, 2.5]))["verdict"] == "contradicts"
    assert judge(claim, table[table["run"] == "c"])["verdict"] == "not measurable"
    weak = judge(claim, table.assign(epsilon_ceiling=0.9))
    assert weak["verdict"] == "not measurable" and "ceiling (0.90" in weak["note"]
