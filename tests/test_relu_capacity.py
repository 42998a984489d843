"""P6's capacity search: real training decides, the search and the fit do what they say."""

import numpy as np
import pytest

from rotelab.core.stats import power_law_exponent
from rotelab.papers.relu_capacity import capacity as cap


def test_wide_networks_memorize_random_labels_and_width_one_does_not():
    cfg = cap.CapacityConfig(input_dim=4, max_steps=800)
    x, y = cap.random_dataset(48, cfg, seed=0)
    assert cap.memorizes(x, y, width=64, depth=1, cfg=cfg, seed=0)
    assert cap.memorizes(x, y, width=24, depth=2, cfg=cfg, seed=0)
    assert not cap.memorizes(x, y, width=1, depth=1, cfg=cfg, seed=0)


def test_binary_search_finds_the_threshold(monkeypatch):
    calls = []

    def fake(x, y, width, depth, cfg, seed):
        calls.append(width)
        return width >= 13

    monkeypatch.setattr(cap, "memorizes", fake)
    assert cap.smallest_width(None, None, 1, cap.CapacityConfig(), 0, max_width=100) == 13
    assert len(calls) <= 8  # log2(100) trainings, not 100
    monkeypatch.setattr(cap, "memorizes", lambda *a: False)
    assert cap.smallest_width(None, None, 1, cap.CapacityConfig(), 0, max_width=20) == 21  # nothing fits


@pytest.mark.parametrize("exponent", [0.5, 1.0])
def test_scaling_exponent_recovers_a_power_law(exponent):
    n = np.array([16, 32, 64, 128, 16, 32, 64, 128])
    width = 3 * n**exponent * np.array([1, 1, 1, 1, 1.05, 0.95, 1.05, 0.95])
    assert power_law_exponent(n, width) == pytest.approx(exponent, abs=0.05)
