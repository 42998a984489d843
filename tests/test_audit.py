"""Empirical epsilon lower bounds (rotelab.membership.audit) on scores whose true epsilon is
known: a Gaussian mechanism, members scored N(mu, 1) and non-members N(0, 1)."""

import numpy as np
import pytest
from scipy import stats

from rotelab.membership.audit import (
    clopper_pearson_upper,
    gaussian_mechanism_epsilon,
    one_run_audit,
    one_run_ceiling,
    one_run_p_value,
    strongest_one_run_audit,
    strongest_threshold_audit,
    threshold_audit,
)

DELTA = 1e-5
MU = 1.0


def gaussian_threshold_bounds(n: int, seeds) -> np.ndarray:
    bounds = []
    for seed in seeds:
        rng = np.random.default_rng(seed)
        bounds.append(threshold_audit(rng.normal(MU, 1, n), rng.normal(0, 1, n), DELTA, seed=seed).epsilon)
    return np.array(bounds)


def gaussian_one_run_bounds(m: int, seeds) -> np.ndarray:
    bounds = []
    for seed in seeds:
        rng = np.random.default_rng(seed)
        included = rng.random(m) < 0.5
        scores = rng.normal(MU * included, 1)
        bounds.append(one_run_audit(scores, included, guesses=m // 10, delta=DELTA).epsilon)
    return np.array(bounds)


def test_gaussian_mechanism_epsilon_solves_the_privacy_profile():
    epsilon = gaussian_mechanism_epsilon(MU, DELTA)
    profile = stats.norm.cdf(MU / 2 - epsilon / MU) - np.exp(epsilon) * stats.norm.cdf(-MU / 2 - epsilon / MU)
    assert profile == pytest.approx(DELTA, rel=1e-6)
    assert 4.3 < epsilon < 4.5  # the classic calibration sqrt(2 ln(1.25/delta)) / sigma gives 4.84
    assert gaussian_mechanism_epsilon(2 * MU, DELTA) > epsilon


def test_clopper_pearson_upper_bound():
    assert clopper_pearson_upper(0, 100, 0.05) == pytest.approx(1 - 0.05 ** (1 / 100))
    assert clopper_pearson_upper(100, 100, 0.05) == 1.0
    assert clopper_pearson_upper(30, 100, 0.05) > 0.30


def test_threshold_bound_stays_below_the_true_epsilon_and_approaches_it():
    true_epsilon = gaussian_mechanism_epsilon(MU, DELTA)
    small = gaussian_threshold_bounds(1_000, range(40))
    # At 95% confidence at most a few of 40 bounds may exceed the truth (binomial 99th percentile: 6).
    assert (small > true_epsilon).sum() <= 6
    large = gaussian_threshold_bounds(20_000, range(5))
    assert (large <= true_epsilon).all()
    assert large.mean() > small.mean() + 0.5
    assert large.min() > 0


def test_one_run_bound_stays_below_the_true_epsilon_and_approaches_it():
    true_epsilon = gaussian_mechanism_epsilon(MU, DELTA)
    small = gaussian_one_run_bounds(1_000, range(40))
    assert (small > true_epsilon).sum() <= 6
    large = gaussian_one_run_bounds(20_000, range(5))
    assert (large <= true_epsilon).all()
    assert large.mean() > small.mean() + 0.2


def test_indistinguishable_scores_give_no_bound():
    scores = np.linspace(0, 1, 2_000)
    assert threshold_audit(scores, scores.copy(), DELTA).epsilon == 0.0
    same = np.zeros(2_000)
    assert threshold_audit(same, same.copy(), DELTA).epsilon == 0.0
    included = np.arange(2_000) % 2 == 0  # the guesses are right exactly half the time
    audit = one_run_audit(same, included, guesses=200, delta=DELTA)
    assert audit.correct == audit.guesses // 2
    assert audit.epsilon == 0.0


def test_perfect_separation_is_bounded_by_the_sample_size():
    members, nonmembers = np.arange(1_000) + 10_000.0, np.arange(1_000, dtype=float)
    audit = threshold_audit(members, nonmembers, DELTA)
    assert audit.members_above and audit.fpr_high < 0.01 and audit.fnr_high < 0.01
    # No error among 500 of each: FPR, FNR <= 1 - 0.025^(1/500), so epsilon ~ log(0.99 / 0.0074)
    assert audit.epsilon == pytest.approx(np.log((1 - DELTA - (1 - 0.025 ** (1 / 500))) / (1 - 0.025 ** (1 / 500))))
    low = threshold_audit(-members, -nonmembers, DELTA)  # members score lower: the other direction
    assert not low.members_above and low.epsilon == pytest.approx(audit.epsilon)


def test_one_run_p_value_grows_with_epsilon_and_delta():
    assert one_run_p_value(1000, 100, 80, 0.5, 0) < one_run_p_value(1000, 100, 80, 1.0, 0)
    assert one_run_p_value(1000, 100, 80, 1.0, 1e-6) > one_run_p_value(1000, 100, 80, 1.0, 0)
    # delta = 0: the binomial tail of the paper's theorem
    q = np.exp(1.0) / (1 + np.exp(1.0))
    assert one_run_p_value(1000, 100, 80, 1.0, 0) == pytest.approx(stats.binom.sf(79, 100, q))


def test_bad_arguments_are_rejected():
    with pytest.raises(ValueError, match="two members"):
        threshold_audit([1.0], [0.0, 1.0], DELTA)
    with pytest.raises(ValueError, match="same length"):
        one_run_audit([1.0, 2.0], [True], guesses=2, delta=DELTA)


def test_the_strongest_attack_pays_for_the_choice_with_a_bonferroni_share():
    rng = np.random.default_rng(3)
    included = rng.random(400) < 0.5
    informative = rng.normal(2.0 * included, 1)
    useless = rng.normal(0, 1, 400)
    attack, best = strongest_one_run_audit({"useless": useless, "informative": informative}, included, 80, 0.0)
    alone = one_run_audit(informative, included, 80, 0.0)
    assert attack == "informative" and best.correct == alone.correct
    # Held to confidence 0.975 instead of 0.95, the same guesses certify a little less.
    assert 0 < best.epsilon < alone.epsilon
    assert best.epsilon == pytest.approx(one_run_audit(informative, included, 80, 0.0, confidence=0.975).epsilon)


def test_the_ceiling_is_the_bound_of_an_auditor_who_is_always_right():
    included = np.arange(200) % 2 == 0
    perfect = one_run_audit(included.astype(float), included, guesses=40, delta=DELTA)
    assert perfect.correct == 40 and one_run_ceiling(200, 40, DELTA) == pytest.approx(perfect.epsilon)
    # delta = 0: all r guesses right refute every epsilon with (e^eps / (1 + e^eps))^r <= 0.05.
    q = 0.05 ** (1 / 40)
    assert one_run_ceiling(200, 40, 0.0) == pytest.approx(np.log(q / (1 - q)), rel=1e-5)
    assert one_run_ceiling(200, 80, 0.0) > one_run_ceiling(200, 40, 0.0)


def test_the_strongest_threshold_audit_also_pays_a_bonferroni_share():
    rng = np.random.default_rng(4)
    members, nonmembers = rng.normal(3.0, 1, 300), rng.normal(0, 1, 300)
    noise = (rng.normal(0, 1, 300), rng.normal(0, 1, 300))
    attack, best = strongest_threshold_audit({"noise": noise, "signal": (members, nonmembers)}, DELTA)
    assert attack == "signal"
    alone = threshold_audit(members, nonmembers, DELTA)
    assert best.epsilon == pytest.approx(threshold_audit(members, nonmembers, DELTA, confidence=0.975).epsilon)
    assert 0 < best.epsilon < alone.epsilon


def test_the_seqkd_audit_bounds_each_model_from_inserted_against_never_inserted_canaries():
    import pandas as pd

    from rotelab.papers.seqkd.audit_figures import audit_model

    rng = np.random.default_rng(5)
    inserted = np.repeat([True, False], 200)
    frames = [
        pd.DataFrame({"canary_id": np.arange(400), "inserted": inserted, "attack": attack, "score": score})
        for attack, score in (("loss", rng.normal(4.0 * inserted, 1)), ("zlib", rng.normal(0, 1, 400)))
    ]
    row = audit_model(pd.concat(frames))
    assert row["attack"] == "loss" and row["members"] == row["nonmembers"] == 200 and row["delta"] == 0.0
    assert 1.0 < row["epsilon_lower"] < 10
    blind = audit_model(pd.concat(frames).assign(score=lambda t: rng.normal(0, 1, len(t))))
    assert blind["epsilon_lower"] < 0.5
