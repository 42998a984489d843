import math
import zlib

import numpy as np
import pytest

from rotelab.attacks import AttackConfig, attacks, exposure, needs_references
from rotelab.token_scores import TokenScores

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
