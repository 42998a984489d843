"""Teacher-forced token scores, the common input of membership attacks."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class TokenScores:
    """Teacher-forced view of one target under a model.

    logprobs: log p(y_t | y_<t, x) for every target token (EOS included).
    mean / std: mean and standard deviation of log p(z) for z drawn from the model's own
        next-token distribution at each position (min-k%++'s normalisers).
    correct: whether each target token is the model's most likely next token (Zhang et
        al.'s per-token accuracy); None where the scorer does not record it.
    """

    logprobs: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    correct: np.ndarray | None = None


def distribution_stats(logp):
    """Per-position mean and standard deviation of log p(z), z drawn from the model's own
    next-token distribution ``logp`` (log-softmax over the last axis; a torch tensor)."""
    probs = logp.exp()
    mean = (probs * logp).sum(-1)
    std = ((probs * logp.square()).sum(-1) - mean.square()).clamp_min(0).sqrt()
    return mean, std
