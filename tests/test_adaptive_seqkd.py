"""Adaptive-SeqKD's fine-tuning subsets (P3 section 5)."""

import numpy as np
import pandas as pd
import pytest

from rotelab.papers.seqkd.adaptive import SubsetConfig, select_subsets


def quality_table(n=200, seed=0):
    rng = np.random.default_rng(seed)
    words = rng.integers(2, 12, n)
    return pd.DataFrame(
        {
            "pair_id": np.arange(n),
            "src": [" ".join(["w"] * k) for k in words],
            "tgt": "t",
            "chrf": rng.uniform(0, 100, n),
            "confidence": rng.uniform(0, 1, n),
        }
    )


def test_high_quality_subset_passes_every_threshold_and_the_control_matches_its_size():
    quality = quality_table()
    cfg = SubsetConfig(chrf=60, confidence=0.5, min_source_words=6, seed=1)
    subsets = select_subsets(quality, cfg)
    hq, control = subsets[subsets.subset == "hq"], subsets[subsets.subset == "random"]
    expected = quality[(quality.chrf > 60) & (quality.confidence > 0.5) & (quality.src.str.split().str.len() >= 6)]
    assert set(hq.pair_id) == set(expected.pair_id) and len(control) == len(hq) > 0
    assert control.pair_id.is_unique
    # The control is drawn from every pair, so most of it fails the thresholds.
    assert (control.chrf <= 60).mean() > 0.3
    again = select_subsets(quality, cfg)
    assert again.equals(subsets)
    other = select_subsets(quality, SubsetConfig(chrf=60, confidence=0.5, min_source_words=6, seed=2))
    assert set(other[other.subset == "random"].pair_id) != set(control.pair_id)


def test_thresholds_nothing_passes_name_the_keys():
    with pytest.raises(ValueError, match="adaptive_seqkd.chrf or adaptive_seqkd.confidence"):
        select_subsets(quality_table(), SubsetConfig(chrf=100, confidence=0.5))
