"""Adaptive-SeqKD (Dankers & Raunak, ACL 2025, "P3", section 5): before distilling, fine-tune
the teacher for one epoch on the training pairs it already translates well and confidently,
then regenerate the KD corpus and retrain the student. The control fine-tunes on a random
subset of the same size.

Selection as in ``memseqkd`` ``model_training/mix_data.py`` (``finetuning_data``): sentence
chrF of the teacher's greedy output against the corpus target above a threshold, the
teacher's confidence (geometric-mean probability of its own output) above a threshold, and a
source of more than five words; the fine-tuning pairs are (source, corpus target).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

SUBSETS = ("hq", "random")


@dataclass(frozen=True)
class SubsetConfig:
    """Which pairs the teacher is fine-tuned on.

    chrf: sentence chrF (0-100) of the teacher's output to the corpus target must exceed it.
    confidence: the teacher's geometric-mean token probability of its output must exceed it.
    min_source_words: the source must have at least this many words (P3: more than 5).
    seed: draws the random control subset.
    """

    chrf: float = 90.0
    confidence: float = 0.9
    min_source_words: int = 6
    seed: int = 0


def select_subsets(quality: pd.DataFrame, cfg: SubsetConfig) -> pd.DataFrame:
    """The high-quality subset ("hq") and a random control ("random") of the same size.

    ``quality`` has one row per distinct training pair with at least ``src``, ``tgt``
    (corpus target), ``chrf`` and ``confidence``; the result keeps its columns and adds
    ``subset``. The control is drawn from all pairs.
    """
    words = quality["src"].str.split().str.len()
    chosen = (quality["chrf"] > cfg.chrf) & (quality["confidence"] > cfg.confidence) & (words >= cfg.min_source_words)
    hq = quality[chosen]
    if hq.empty:
        raise ValueError(
            f"no training pair passes adaptive_seqkd's thresholds (chrF > {cfg.chrf}, confidence > "
            f"{cfg.confidence}, >= {cfg.min_source_words} source words; best chrF "
            f"{quality['chrf'].max():.1f}, best confidence {quality['confidence'].max():.3f}): lower "
            "adaptive_seqkd.chrf or adaptive_seqkd.confidence"
        )
    rng = np.random.default_rng(cfg.seed)
    control = quality.iloc[np.sort(rng.choice(len(quality), size=len(hq), replace=False))]
    return pd.concat([hq.assign(subset="hq"), control.assign(subset="random")], ignore_index=True)
