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
:mod:`rotelab.membership.lira`; RMIA, in :mod:`rotelab.membership.rmia`) sit in the same
registry, registered with :func:`reference_attack`:
they score a statistic of every example under K models that share one membership matrix,
so they run where such an ensemble exists (the membership engine), not on one model.
"""

from __future__ import annotations

import math
import warnings
import zlib

import numpy as np
from scipy import integrate, special, stats

from rotelab.membership.registry import (  # noqa: F401  (the registry's names, for callers of this module)
    POPULATION_ATTACKS,
    REFERENCE_ATTACKS,
    TEXT_ATTACKS,
    AttackConfig,
    ReferenceObservations,
    attacks,
    needs_references,
    reference_attack,
)
from rotelab.scoring.token_scores import TokenScores


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


def extrapolated_exposure(
    true_log_perplexity: float, candidate_log_perplexities, space_size: int | None = None
) -> float:
    """Secret Sharer exposure by extrapolation (Carlini et al. 2019, Sec. 4.3, "Exposure by
    extrapolation").

    Sampled :func:`exposure` cannot exceed log2(n + 1) for n candidates: a secret ranked
    first gets the ceiling however far below the candidates it sits. The paper fits a
    skew-normal to the candidates' log-perplexities and reads the secret's share of the
    whole space R off the fit: exposure ~ -log2 Pr_{t ~ fit}[t <= the secret's
    log-perplexity]. The CDF is taken in log space, so secrets far below every candidate get
    large finite values rather than infinity. Exposure in R is log2 |R| - log2 rank <= log2 |R|
    (rank >= 1), so with ``space_size`` = |R| the estimate is capped there and nowhere else.
    Candidates without spread are a point mass: 0 bits at or above it, the cap below.
    """
    cands = np.asarray(candidate_log_perplexities, dtype=float)
    cap = math.log2(space_size) if space_size else math.inf
    if np.ptp(cands) == 0:
        return 0.0 if true_log_perplexity >= cands[0] else cap
    a, loc, scale = stats.skewnorm.fit(cands)
    bits = -_skewnorm_logcdf((true_log_perplexity - loc) / scale, a) / math.log(2)
    return float(min(max(bits, 0.0), cap))


def _skewnorm_logcdf(z: float, a: float) -> float:
    """log CDF of the standard skew-normal, also where the CDF underflows.

    SciPy's CDF underflows to 0 below about 1e-300; there the far-left tail is integrated in
    log space, log F(z) = log f(z) + log int_0^inf f(z - u) / f(z) du, with u in units of
    the log-density's slope at z so the integrand falls like exp(-v) (the density is
    log-concave).
    """
    log_cdf = float(stats.skewnorm.logcdf(z, a))
    if log_cdf > -690:  # exp(-690) ~ 1e-300: SciPy is still accurate
        return log_cdf

    def log_pdf(t):
        return math.log(2) + stats.norm.logpdf(t) + special.log_ndtr(a * t)

    peak = log_pdf(z)
    if not np.isfinite(peak):
        return -math.inf
    slope = -z + a * math.exp(stats.norm.logpdf(a * z) - special.log_ndtr(a * z))  # d log f / dz > 0 here
    with warnings.catch_warnings():  # far out, the log-density's float rounding trips quad's error estimate
        warnings.simplefilter("ignore", integrate.IntegrationWarning)
        tail, _ = integrate.quad(lambda v: math.exp(log_pdf(z - v / slope) - peak), 0, math.inf)
    return float(peak + math.log(tail / slope))


from rotelab.membership import lira, rmia  # noqa: E402,F401  (register the reference-model attacks)
