import math
from statistics import NormalDist

import numpy as np
import pytest

from rotelab.core.stats import (
    auc,
    bootstrap_interval,
    membership_summary,
    rate,
    roc_curve,
    tpr_at_fpr,
    wilson_interval,
)


def test_wilson_matches_hand_computation():
    # p = 0.5, n = 10, z = 1.959964: centre 0.5, half-width 0.2634
    lo, hi = wilson_interval(5, 10)
    assert lo == pytest.approx(0.2366, abs=1e-4)
    assert hi == pytest.approx(0.7634, abs=1e-4)


def test_wilson_edges_stay_in_unit_interval():
    lo, hi = wilson_interval(0, 20)
    assert lo == 0.0 and hi == pytest.approx(0.1611, abs=1e-4)
    assert wilson_interval(0, 12)[0] == 0.0  # no rounding dust above zero
    lo, hi = wilson_interval(20, 20)
    assert hi == 1.0 and lo == pytest.approx(0.8389, abs=1e-4)
    assert all(math.isnan(x) for x in wilson_interval(0, 0))
    with pytest.raises(ValueError):
        wilson_interval(3, 2)


def test_rate_reports_n_and_interval():
    r = rate([True, False, False, True])
    assert r["value"] == 0.5 and r["n"] == 4
    assert r["ci_low"] < 0.5 < r["ci_high"]


def test_auc_hand_cases():
    assert auc([3, 4], [1, 2]) == 1.0
    assert auc([1, 2], [3, 4]) == 0.0
    assert auc([1, 1], [1, 1]) == 0.5
    # pairs: (2>1) (2<3) (4>1) (4>3) -> 3 of 4
    assert auc([2, 4], [1, 3]) == 0.75


def test_roc_curve_and_tpr_at_fpr():
    members = [0.9, 0.8, 0.3]
    nonmembers = [0.7, 0.2, 0.1, 0.05]
    fpr, tpr = roc_curve(members, nonmembers)
    assert fpr[0] == 0 and tpr[0] == 0 and fpr[-1] == 1 and tpr[-1] == 1
    assert np.all(np.diff(fpr) >= 0) and np.all(np.diff(tpr) >= 0)
    # two members score above every non-member
    assert tpr_at_fpr(members, nonmembers, 0.0) == pytest.approx(2 / 3)
    assert tpr_at_fpr(members, nonmembers, 0.2) == pytest.approx(2 / 3)
    # threshold 0.3 admits all members and one non-member (0.7): FPR 1/4
    assert tpr_at_fpr(members, nonmembers, 0.25) == 1.0


def test_roc_ties_move_diagonally():
    fpr, tpr = roc_curve([1.0, 1.0], [1.0, 1.0])
    assert list(fpr) == [0.0, 1.0] and list(tpr) == [0.0, 1.0]


def test_bootstrap_interval_covers_the_mean():
    values = np.random.default_rng(0).normal(5.0, 1.0, 400)
    lo, hi = bootstrap_interval(np.mean, values, n_boot=300, seed=1)
    assert lo < 5.0 < hi and hi - lo < 0.4


def test_membership_summary_separable_scores():
    rows = {r["metric"]: r for r in membership_summary([5, 6, 7], [1, 2, 3], n_boot=50)}
    assert rows["auc"]["value"] == 1.0 and rows["auc"]["n"] == 6
    assert rows["tpr_at_1pct_fpr"]["value"] == 1.0


def _shared_vulnerability(rng, k=32, n=40):
    """K models x N examples, each example IN for half the models; half the examples are
    vulnerable (a member scores N(3, 1)), the rest not (N(0, 1), as every non-member). The
    AUC rests on which examples were drawn: its truth is 0.25 + 0.5 Phi(3 / sqrt 2)."""
    member = np.zeros((k, n), dtype=bool)
    for i in range(n):
        member[rng.permutation(k)[: k // 2], i] = True
    vulnerable = rng.random(n) < 0.5
    scores = rng.normal(size=(k, n)) + 3.0 * (member & vulnerable)
    example = np.broadcast_to(np.arange(n), (k, n))
    return scores[member], scores[~member], (example[member], example[~member])


def test_membership_summary_resamples_examples_not_pairs():
    """An example's K pairs share its vulnerability, so only ~N/2 independent draws decide
    the AUC, not K x N/2: resampling pairs gives far too narrow an interval."""
    truth = 0.25 + 0.5 * NormalDist().cdf(3 / math.sqrt(2))
    covered = {"pairs": 0, "examples": 0}
    widths = {"pairs": [], "examples": []}
    rng = np.random.default_rng(0)
    for _ in range(40):
        pos, neg, groups = _shared_vulnerability(rng)
        for unit, g in (("pairs", None), ("examples", groups)):
            auc_row = membership_summary(pos, neg, n_boot=200, seed=1, groups=g)[0]
            covered[unit] += auc_row["ci_low"] <= truth <= auc_row["ci_high"]
            widths[unit].append(auc_row["ci_high"] - auc_row["ci_low"])
    # the example bootstrap's interval is ~2.7x wider and covers the truth about as often as
    # it claims; the pair bootstrap's misses it about half the time
    assert np.median(widths["examples"]) > 2 * np.median(widths["pairs"])
    assert covered["examples"] >= 34 and covered["pairs"] <= 30


def test_membership_summary_one_group_per_score_is_the_per_side_bootstrap():
    rng = np.random.default_rng(3)
    pos, neg = rng.normal(1, 1, 30), rng.normal(0, 1, 50)
    plain = membership_summary(pos, neg, n_boot=100, seed=2)
    grouped = membership_summary(pos, neg, n_boot=100, seed=2, groups=(np.arange(30) + 7, -np.arange(50)))
    assert plain == grouped
    with pytest.raises(ValueError, match="one id per member score"):
        membership_summary(pos, neg, groups=(np.arange(29), np.arange(50)))


def test_relative_change_katz_interval():
    from rotelab.core.stats import relative_change

    r = relative_change(20, 100, 10, 100)  # rates 0.2 vs 0.1 -> +100%
    assert r["value"] == pytest.approx(100.0)
    # log RR = 0.693, se = sqrt(1/20 - 1/100 + 1/10 - 1/100) = sqrt(0.13) = 0.3606
    assert r["ci_low"] == pytest.approx(100 * (2 * math.exp(-1.96 * 0.3606) - 1), abs=0.5)
    assert r["ci_high"] == pytest.approx(100 * (2 * math.exp(1.96 * 0.3606) - 1), abs=0.5)
    assert math.isnan(relative_change(0, 100, 10, 100)["value"])
