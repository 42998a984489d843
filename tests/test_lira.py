"""LiRA and the reference-model attack: against a brute-force transcription of the paper's
formulas, and on a synthetic case whose best possible AUC is known."""

import numpy as np
import pytest
from scipy.stats import norm

from rotelab.core.stats import auc
from rotelab.membership.attacks import ReferenceObservations, attacks, needs_references
from rotelab.membership.matrix import draw_matrix

rng = np.random.default_rng(0)
K, N = 8, 12
MEMBER = draw_matrix(N, K, 1)
STATS = rng.normal(size=(K, N)) + 1.5 * MEMBER


def brute_force(name, stats=STATS, member=MEMBER):
    """Model k is the target; every other model is a reference (np.std with ddof=1)."""
    stats = np.asarray(stats, dtype=np.float64)
    out = np.empty((K, N))
    var_in = np.empty((K, N))
    var_out = np.empty((K, N))
    mu = {}
    for k in range(K):
        others = np.arange(K) != k
        for i in range(N):
            ins = stats[others & member[:, i], i]
            outs = stats[others & ~member[:, i], i]
            mu[k, i] = ins.mean(), outs.mean()
            var_in[k, i], var_out[k, i] = ins.var(ddof=1), outs.var(ddof=1)
    for k in range(K):
        for i in range(N):
            mu_in, mu_out = mu[k, i]
            fixed = name.endswith("fixed")
            s_in = np.sqrt(var_in[k].mean() if fixed else var_in[k, i])
            s_out = np.sqrt(var_out[k].mean() if fixed else var_out[k, i])
            x = stats[k, i]
            if name.startswith("lira_online"):
                out[k, i] = norm.logpdf(x, mu_in, s_in) - norm.logpdf(x, mu_out, s_out)
            elif name.startswith("lira_offline"):
                out[k, i] = norm.logcdf((x - mu_out) / s_out)
            else:
                out[k, i] = x - mu_out
    return out


@pytest.mark.parametrize(
    "name", ["lira_online", "lira_online_fixed", "lira_offline", "lira_offline_fixed", "reference"]
)
def test_matches_the_formulas_with_each_model_as_target(name):
    assert needs_references(name)
    got = attacks.get(name)(ReferenceObservations(STATS, MEMBER))
    assert got.shape == (K, N)
    np.testing.assert_allclose(got, brute_force(name), rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize(
    "name", ["lira_online", "lira_online_fixed", "lira_offline", "lira_offline_fixed", "reference"]
)
def test_float32_statistics_with_a_large_offset_match_float64(name):
    """phi in float32 far from zero (1000 + a spread of 0.05): E[x^2] - E[x]^2 in float32 is
    all rounding; the scores must match the formulas in float64 on the same float32 values."""
    stats = (1000 + 0.05 * np.random.default_rng(2).normal(size=(K, N)) + 0.1 * MEMBER).astype(np.float32)
    got = attacks.get(name)(ReferenceObservations(stats, MEMBER))
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, brute_force(name, stats), rtol=1e-9, atol=1e-9)


def test_single_model_attacks_need_no_references():
    assert not needs_references("loss") and not needs_references("min_k_pp")
    with pytest.raises(KeyError, match="registered"):
        needs_references("lira_nope")


def test_too_few_reference_models_is_an_error():
    m = draw_matrix(5, 4, 0)
    with pytest.raises(ValueError, match="at least 6 reference models"):
        attacks.get("lira_online")(ReferenceObservations(np.zeros((4, 5)), m))


def test_lira_approaches_the_optimal_test_where_examples_differ_in_difficulty():
    """phi = difficulty_i + 2 * member + N(0, 1). A threshold on phi alone is swamped by the
    spread of difficulties; the likelihood ratio with the difficulty known is the best test,
    with AUC Phi(2 / sqrt 2) = 0.921. LiRA estimates the difficulty from the references."""
    k, n = 64, 300
    member = draw_matrix(n, k, 5)
    difficulty = np.random.default_rng(6).normal(0, 5, n)
    stats = difficulty + 2.0 * member + np.random.default_rng(7).normal(size=(k, n))
    optimal = norm.cdf(2 / np.sqrt(2))
    assert auc(stats[member], stats[~member]) < 0.65
    for name in ("lira_online", "lira_online_fixed", "reference"):
        scores = attacks.get(name)(ReferenceObservations(stats, member))
        assert auc(scores[member], scores[~member]) == pytest.approx(optimal, abs=0.02), name
    offline = attacks.get("lira_offline_fixed")(ReferenceObservations(stats, member))
    assert auc(offline[member], offline[~member]) == pytest.approx(optimal, abs=0.02)
