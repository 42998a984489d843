import math
import zlib

import numpy as np
import pytest
from scipy import special, stats

from rotelab.data.canaries import PatientRecords
from rotelab.membership.attacks import (
    AttackConfig,
    _skewnorm_logcdf,
    attacks,
    exposure,
    extrapolated_exposure,
    needs_references,
)
from rotelab.scoring.token_scores import TokenScores

LOGP = np.log(np.array([0.5, 0.25, 0.125, 0.9, 0.8]))
SCORES = TokenScores(LOGP, mean=np.full(5, -1.0), std=np.full(5, 0.5))
CFG = AttackConfig(min_k_fraction=0.4)


def test_registry_has_the_four_attacks():
    assert {"loss", "zlib", "min_k", "min_k_pp"} <= set(attacks.names())
    with pytest.raises(KeyError, match="unknown attack 'nope'"):
        attacks.get("nope")


def test_loss_is_mean_log_probability():
    assert attacks.get("loss")(SCORES, "x", CFG) == pytest.approx(LOGP.mean())


def test_min_k_averages_the_lowest_fraction():
    # 40% of 5 tokens = 2 lowest: log .125 and log .25
    expected = (math.log(0.125) + math.log(0.25)) / 2
    assert attacks.get("min_k")(SCORES, "x", CFG) == pytest.approx(expected)


def test_min_k_pp_standardises_before_selecting():
    z = (LOGP + 1.0) / 0.5
    expected = np.sort(z)[:2].mean()
    assert attacks.get("min_k_pp")(SCORES, "x", CFG) == pytest.approx(expected)


def test_zlib_divides_loss_by_compressed_length():
    text = "Arztbrief für Max Muster"
    expected = LOGP.mean() / len(zlib.compress(text.encode()))
    assert attacks.get("zlib")(SCORES, text, CFG) == pytest.approx(expected)


def test_higher_score_means_member():
    member = TokenScores(np.log(np.full(5, 0.9)), np.zeros(5), np.ones(5))
    nonmember = TokenScores(np.log(np.full(5, 0.1)), np.zeros(5), np.ones(5))
    # single-model attacks here; reference attacks (LiRA) are checked in test_lira
    for name in [n for n in attacks.names() if not needs_references(n)]:
        fn = attacks.get(name)
        assert fn(member, "abc", CFG) > fn(nonmember, "abc", CFG), name


def test_exposure_hand_cases():
    # best of 1024 candidates (1023 alternatives + the secret): log2(1024) - log2(1)
    assert exposure(0.5, np.arange(1, 1024)) == pytest.approx(10.0)
    # worst: rank 1024
    assert exposure(5000.0, np.arange(1, 1024)) == pytest.approx(0.0)
    # middle: 3 alternatives below -> rank 4 of 8 -> 3 - 2 = 1 bit
    assert exposure(3.5, [1, 2, 3, 4, 5, 6, 7]) == pytest.approx(1.0)


@pytest.mark.parametrize("skew", [0.0, -4.0], ids=["normal", "heavy-left-tail"])
def test_extrapolated_exposure_recovers_the_tail_of_the_candidate_distribution(skew):
    # Secret at the 3-sigma point (normal: P = Phi(-3), 9.53 bits) of 2000 candidates. Simulated
    # over 100 seeds the fit's estimate spreads by 0.41 bits (normal) and 0.26 (skewed) with no
    # bias beyond 0.03, so 20 seeds' mean lands within 0.3 bits (> 3 standard errors) and each
    # within 1.5 bits (the worst of 100 seeds was 1.19).
    secret = stats.skewnorm.ppf(stats.norm.cdf(-3), skew, loc=50, scale=4)
    truth = -math.log2(stats.norm.cdf(-3))
    got = np.array(
        [
            extrapolated_exposure(secret, stats.skewnorm.rvs(skew, loc=50, scale=4, size=2000, random_state=seed))
            for seed in range(20)
        ]
    )
    assert abs(got.mean() - truth) < 0.3
    assert np.abs(got - truth).max() < 1.5


def test_extrapolated_exposure_goes_past_the_sampled_ceiling():
    # Secret 10 sd below 250 candidates: ranked first, so the sampled measure sits at its
    # ceiling log2(251) = 7.97 bits, while the fit puts it near -log2 Phi(-10) = 76 bits.
    cands = np.random.default_rng(0).normal(50, 4, 250)
    ceiling = math.log2(251)
    assert exposure(10.0, cands) == pytest.approx(ceiling)
    free = extrapolated_exposure(10.0, cands)
    assert free > ceiling + 40 and free == pytest.approx(-special.log_ndtr(-10) / math.log(2), rel=0.3)
    # In the whole space of ###-##-#### numbers no secret has more than log2(10^9) = 29.9 bits.
    assert extrapolated_exposure(10.0, cands, PatientRecords.secret_space) == pytest.approx(9 * math.log2(10))
    # A secret among the candidates is not extrapolated into the tail.
    assert extrapolated_exposure(50.0, cands) == pytest.approx(1.0, abs=0.3)
    # Candidates without spread: a point mass.
    assert extrapolated_exposure(1.0, [2.0] * 5, 1000) == pytest.approx(math.log2(1000))
    assert extrapolated_exposure(3.0, [2.0] * 5, 1000) == 0.0


@pytest.mark.parametrize("z", [-3.0, -30.0, -40.0, -100.0, -1e4])
def test_skewnorm_log_cdf_stays_finite_where_the_cdf_underflows(z):
    # skew 0 is the normal, whose log CDF SciPy computes in log space (log_ndtr); the CDF itself
    # underflows below z = -38, where the skew-normal's falls back to integrating in log space.
    assert _skewnorm_logcdf(z, 0.0) == pytest.approx(special.log_ndtr(z), rel=1e-8)
    for a in (-3.0, 3.0):
        assert np.isfinite(_skewnorm_logcdf(z, a))
    assert _skewnorm_logcdf(-40.0, 3.0) < _skewnorm_logcdf(-40.0, 0.0) < _skewnorm_logcdf(-40.0, -3.0)
