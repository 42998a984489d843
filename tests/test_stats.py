import math

import numpy as np
import pytest

from rotelab.stats import (
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


def test_relative_change_katz_interval():
    from rotelab.stats import relative_change

    r = relative_change(20, 100, 10, 100)  # rates 0.2 vs 0.1 -> +100%
    assert r["value"] == pytest.approx(100.0)
    # log RR = 0.693, se = sqrt(1/20 - 1/100 + 1/10 - 1/100) = sqrt(0.13) = 0.3606
    assert r["ci_low"] == pytest.approx(100 * (2 * math.exp(-1.96 * 0.3606) - 1), abs=0.5)
    assert r["ci_high"] == pytest.approx(100 * (2 * math.exp(1.96 * 0.3606) - 1), abs=0.5)
    assert math.isnan(relative_change(0, 100, 10, 100)["value"])
