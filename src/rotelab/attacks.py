"""Membership-inference attacks on teacher-forced token scores (a registry).

Convention: every attack returns a score where *higher means more likely a member*.
Definitions follow MIMIR (Duan et al. 2024, ``iamgroot42/mimir``, ``mimir/attacks/``):

- ``loss`` (Yeom et al. 2018): minus the mean token negative log-likelihood.
- ``zlib`` (Carlini et al. 2021): the loss divided by the zlib-compressed length, negated.
- ``min_k`` (Shi et al. 2024, Min-K% Prob): mean of the lowest k% token log-probs.
- ``min_k_pp`` (Zhang et al. 2024, Min-K%++): each token's log-prob standardised by the
  mean and std of log-probs under the model's own next-token distribution, then the mean
  of the lowest k%.

Attacks that calibrate with reference models (LiRA and the reference-model difference, in
:mod:`rotelab.lira`) sit in the same registry, registered with :func:`reference_attack`:
they score a statistic of every example under K models that share one membership matrix,
so they run where such an ensemble exists (the membership engine), not on one model.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass

import numpy as np

from .registry import Registry
from .token_scores import TokenScores

attacks: Registry = Registry("attack")


@dataclass(frozen=True)
class AttackConfig:
    """Attack hyper-parameters.

    min_k_fraction: share of lowest-scoring tokens that min-k% and min-k%++ average (0.2 in
        both papers).
    """

    min_k_fraction: float = 0.2


@dataclass(frozen=True)
class ReferenceObservations:
    """What a reference-model attack sees.

    stats: (K, N) attack statistic (e.g. LiRA's logit-scaled confidence) of each of N
        examples under each of K models.
    member: (K, N) membership matrix: whether model k trained on example n.
    """

    stats: np.ndarray
    member: np.ndarray


REFERENCE_ATTACKS: set[str] = set()  # names that need reference models
TEXT_ATTACKS = {"zlib"}  # names that read the example's text


def reference_attack(name: str):
    """Register ``fn(obs: ReferenceObservations) -> (K, N) scores``: each model as the
    target, the other K-1 as references; higher means more likely a member."""

    def decorator(fn):
        REFERENCE_ATTACKS.add(name)
        return attacks.register(name)(fn)

    return decorator


def needs_references(name: str) -> bool:
    attacks.get(name)  # unknown names raise with the registered list
    return name in REFERENCE_ATTACKS


def _lowest_fraction_mean(values: np.ndarray, fraction: float) -> float:
    # MIMIR takes int(len * k) tokens and yields NaN (dropped) when that is 0; we keep at
    # least one token so that short canaries are scored rather than silently dropped.
    k = max(1, int(math.floor(len(values) * fraction)))
    return float(np.sort(values)[:k].mean())


@attacks.register("loss")
def loss_attack(scores: TokenScores, text: str, cfg: AttackConfig) -> float:
    return float(np.mean(scores.logprobs))


@attacks.register("zlib")
def zlib_attack(scores: TokenScores, text: str, cfg: AttackConfig) -> float:
    """Mean NLL divided by the zlib-compressed length of the text in bytes, negated.

    Compressible (low-entropy) text is expected to have low loss anyway; normalising by its
    zlib entropy separates memorised from merely simple sequences.
    """
    nll = -float(np.mean(scores.logprobs))
    return -nll / len(zlib.compress(text.encode("utf-8")))


@attacks.register("min_k")
def min_k_attack(scores: TokenScores, text: str, cfg: AttackConfig) -> float:
    return _lowest_fraction_mean(scores.logprobs, cfg.min_k_fraction)


@attacks.register("min_k_pp")
def min_k_pp_attack(scores: TokenScores, text: str, cfg: AttackConfig) -> float:
    z = (scores.logprobs - scores.mean) / np.maximum(scores.std, 1e-8)
    return _lowest_fraction_mean(z, cfg.min_k_fraction)


def exposure(true_log_perplexity: float, candidate_log_perplexities) -> float:
    """Secret Sharer exposure (Carlini et al. 2019, Def. 2).

    exposure = log2 |R| - log2 rank, where R is the candidate set *including* the true
    secret and rank is the true secret's 1-based position when candidates are sorted by
    the model's log-perplexity (ties count against the secret: rank = 1 + #candidates
    with log-perplexity <= the secret's). Ranges from 0 to log2 |R|.
    """
    cands = np.asarray(candidate_log_perplexities, dtype=float)
    rank = 1 + int((cands <= true_log_perplexity).sum())
    return math.log2(len(cands) + 1) - math.log2(rank)


from . import lira  # noqa: E402,F401  (registers the reference-model attacks)
