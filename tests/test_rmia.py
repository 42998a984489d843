"""RMIA (rotelab.membership.rmia) on a synthetic ensemble whose membership effect is known:
example x has a difficulty d_x, and a model's probability of it is sigmoid(d_x + shift
when the model trained on x + noise). Difficulty is what reference calibration removes."""

import numpy as np
import pytest
from scipy.special import expit

from rotelab.core.stats import auc
from rotelab.membership.matrix import draw_matrix
from rotelab.membership.rmia import OFFLINE_A_GRID, rmia_all_targets, rmia_scores, tune_offline_a

K, N, Z = 8, 400, 300


def world(shift: float, seed: int = 0):
    rng = np.random.default_rng(seed)
    member = draw_matrix(N, K, seed).astype(bool)  # (K, N), each example IN for K/2 models
    difficulty = rng.normal(0, 2, N)
    probs = expit(difficulty + shift * member + rng.normal(0, 0.5, (K, N)))
    population = expit(rng.normal(0, 2, Z) + rng.normal(0, 0.5, (K, Z)))
    return probs, member, population


def pooled_auc(scores: np.ndarray, member: np.ndarray) -> float:
    return auc(scores[member], scores[~member])


def test_rmia_beats_the_uncalibrated_likelihood_online_and_offline():
    probs, member, population = world(shift=1.0)
    loss_auc = pooled_auc(probs, member)  # the target's own probability: Yeom et al.'s attack
    online = pooled_auc(rmia_all_targets(probs, member, population, offline=False), member)
    offline = pooled_auc(rmia_all_targets(probs, member, population, offline=True), member)
    assert loss_auc < 0.65
    assert online > loss_auc + 0.15
    assert offline > loss_auc + 0.1


def test_rmia_is_chance_without_a_membership_effect():
    probs, member, population = world(shift=0.0)
    for offline in (False, True):
        value = pooled_auc(rmia_all_targets(probs, member, population, offline=offline), member)
        assert 0.45 < value < 0.55


def test_scores_are_shares_of_the_population_and_grow_with_the_target_likelihood():
    probs, member, population = world(shift=1.0)
    refs = list(range(1, K))
    scores = rmia_scores(probs[0], probs[refs], member[refs], population[0], population[refs])
    assert ((scores >= 0) & (scores <= 1)).all()
    assert np.allclose(scores * Z, np.round(scores * Z))
    higher = probs[0].copy()
    higher[:10] = np.minimum(1.0, higher[:10] * 1.5)
    raised = rmia_scores(higher, probs[refs], member[refs], population[0], population[refs])
    assert (raised[:10] >= scores[:10]).all() and (raised[10:] == scores[10:]).all()


def test_offline_a_is_tuned_on_a_reference_never_the_target():
    probs, member, population = world(shift=1.0)
    a = tune_offline_a(probs, member, population, target=0)
    assert a in OFFLINE_A_GRID
    flipped = member.copy()
    flipped[0] = ~flipped[0]  # the target's membership is not read
    assert tune_offline_a(probs, flipped, population, target=0) == a


def test_offline_needs_an_out_reference():
    probs, member, population = world(shift=1.0)
    with pytest.raises(ValueError, match="OUT reference"):
        rmia_scores(probs[0], probs[1:2], np.ones((1, N), bool), population[0], population[1:2], offline_a=0.3)


def test_registered_attacks_read_the_observations_population():
    from rotelab.membership.attacks import POPULATION_ATTACKS, ReferenceObservations, attacks, needs_references

    probs, member, population = world(shift=1.0)
    obs = ReferenceObservations(np.zeros_like(probs), member, prob=probs, population=population)
    assert {"rmia_online", "rmia_offline"} <= POPULATION_ATTACKS
    assert needs_references("rmia_online") and needs_references("rmia_offline")
    np.testing.assert_array_equal(
        attacks.get("rmia_online")(obs), rmia_all_targets(probs, member, population, offline=False)
    )
    np.testing.assert_array_equal(
        attacks.get("rmia_offline")(obs), rmia_all_targets(probs, member, population, offline=True)
    )
    for missing in (
        ReferenceObservations(np.zeros_like(probs), member, prob=probs),
        ReferenceObservations(np.zeros_like(probs), member, prob=probs, population=np.zeros((K, 0))),
    ):
        with pytest.raises(ValueError, match="population samples"):
            attacks.get("rmia_online")(missing)


def test_population_is_held_out_deterministically():
    import pandas as pd

    from rotelab.membership.matrix import hold_out_population

    table = pd.DataFrame({"example": np.arange(200), "label": np.arange(200) % 3})
    pool, population = hold_out_population(table, 0.1, seed=3)
    again, _ = hold_out_population(table, 0.1, seed=3)
    assert len(population) == 20 and len(pool) == 180
    assert not set(pool["example"]) & set(population["example"])
    assert pool["example"].is_monotonic_increasing and pool.equals(again)
    assert hold_out_population(table, 0.0, seed=3)[1].empty
    with pytest.raises(ValueError, match="population share"):
        hold_out_population(table, 1.0, seed=3)


def observation_table(values: np.ndarray, member: np.ndarray, first_example: int = 0):
    """An observations table (one row per model and example) whose every statistic derives
    from the probabilities ``values``."""
    import pandas as pd

    k, n = values.shape
    logprob = np.log(values)
    return pd.DataFrame(
        {
            "model": np.repeat(np.arange(k), n),
            "example": np.tile(np.arange(first_example, first_example + n), k),
            "member": member.reshape(-1),
            "phi": (logprob - np.log1p(-values)).reshape(-1),
            "logprob": logprob.reshape(-1),
            "logprob_mean": 0.0,
            "logprob_std": 1.0,
            "prob": values.reshape(-1),
            "correct": 0.0,
        }
    )


def test_a_target_outside_the_references_is_scored_against_their_population():
    """A P1 run scored against the LM references: model K + 1 with its own observation of
    the population; its RMIA scores equal the ensemble computation with it as model K."""
    from rotelab.membership.reference_scores import attack_scores, target_attack_scores

    probs, member, population = world(shift=1.0)
    references = observation_table(probs[:-1], member[:-1])
    target = observation_table(probs[-1:], member[-1:]).drop(columns="model")
    under_refs = observation_table(population[:-1], np.zeros((K - 1, Z), bool), first_example=N)
    under_target = observation_table(population[-1:], np.zeros((1, Z), bool), first_example=N).drop(
        columns=["model", "member"]
    )
    scores = target_attack_scores(
        references, target, ["rmia_online", "rmia_offline"], population=(under_refs, under_target)
    )
    whole = attack_scores(
        observation_table(probs, member),
        ["rmia_online", "rmia_offline"],
        population=observation_table(population, np.zeros((K, Z), bool), first_example=N),
    )
    expected = whole[whole["model"] == K - 1].reset_index(drop=True)
    assert len(scores) == 2 * N and (scores["model"] == K - 1).all()
    np.testing.assert_allclose(scores["score"], expected["score"])
    assert pooled_auc(scores["score"].to_numpy()[:N], member[-1]) > 0.6


def test_each_attack_is_summarised_or_says_why_it_cannot_run():
    """Four models (as the default translation references): LiRA lacks two IN and two OUT
    references per example; RMIA and the loss attack still score."""
    from rotelab.membership.reference_scores import summarise_each_attack

    k, n = 4, 200
    rng = np.random.default_rng(1)
    member = draw_matrix(n, k, 1).astype(bool)
    probs = expit(rng.normal(0, 2, n) + 1.5 * member + rng.normal(0, 0.3, (k, n)))
    population = observation_table(expit(rng.normal(0, 2, (k, 100))), np.zeros((k, 100), bool), first_example=n)
    summary = summarise_each_attack(
        observation_table(probs, member), ["lira_online", "rmia_online", "loss"], 50, 0, population, log=lambda _: None
    )
    auc = summary[summary["metric"] == "auc"].set_index("attack")
    assert np.isnan(auc.loc["lira_online", "value"]) and "IN" in auc.loc["lira_online", "note"]
    assert auc.loc["rmia_online", "value"] > auc.loc["loss", "value"] > 0.5
    assert (auc.loc[["rmia_online", "loss"], "note"] == "").all() and (
        auc.loc[["rmia_online", "loss"], "n"] == k * n
    ).all()
