"""Attacks that calibrate with reference (shadow) models, registered in the attack registry.

Input: a statistic of every example under each of K models and the membership matrix
(:mod:`rotelab.membership.matrix`). Every model serves as the target in turn, with the other K-1
as its references (leave-one-out), so each of the K x N (model, example) pairs gets a score
and a member label; the ROC is taken over all pairs. (The LiRA reference code holds out a
few target models instead; leave-one-out uses every model as both.)

LiRA (Carlini et al., "Membership Inference Attacks From First Principles", S&P 2022; code
``tensorflow/privacy`` ``research/mi_lira_2021``), on the logit-scaled confidence
phi = log p_y - log sum_{y' != y} p_y' (eq. 4, see ``classifier.logit_scaled_confidence``):

- online: log N(phi; mu_in, s_in^2) - log N(phi; mu_out, s_out^2) with per-example means
  and deviations from the references that did / did not train on the example (Alg. 1);
- offline: the one-sided test against the OUT references only, log Pr[Z <= phi] for
  Z ~ N(mu_out, s_out^2) (section VI-C);
- ``_fixed``: one variance for all examples, the mean of the per-example variances (the
  paper's recommendation below 64 reference models). The reference code takes the variance
  of all IN (OUT) observations pooled, which adds the spread between examples' means; we use
  the within-example variance the Gaussian model assumes. Means are means, as in the paper
  (the reference code uses medians).

``reference`` is the reference-model calibration of Carlini et al. 2021 (section 6) and
Watson et al. 2022: the target's statistic minus its mean under the OUT references.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import norm

from rotelab.membership.registry import ReferenceObservations, reference_attack

MIN_STD = 1e-6


def _stats(obs: ReferenceObservations) -> np.ndarray:
    """The statistic in float64: phi arrives as float32, in which the leave-one-out variances
    moved online LiRA scores by up to 0.27 on a random pool."""
    return np.asarray(obs.stats, dtype=np.float64)


def _leave_one_out(obs: ReferenceObservations, side: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(mean, variance, count) per target model and example of the statistic over the other
    models on ``side`` (True: IN, False: OUT), each (K, N).

    The sums are taken of deviations from each example's mean over all its ``side`` models,
    not as E[x^2] - E[x]^2, which cancels catastrophically when the spread is small beside
    the mean (the shifted-data algorithm; Chan, Golub & LeVeque 1983)."""
    mask = np.asarray(obs.member if side else ~obs.member, dtype=bool)
    count = mask.sum(0, keepdims=True) - mask
    if (count < 2).any():
        raise ValueError(
            "every example needs at least two IN and two OUT reference models: use at least 6 reference models"
        )
    stats = _stats(obs)
    centre = np.where(mask, stats, 0.0).sum(0, keepdims=True) / mask.sum(0, keepdims=True)
    d = np.where(mask, stats - centre, 0.0)
    rest = d.sum(0, keepdims=True) - d  # the deviations of the other models, summed
    squares = (d * d).sum(0, keepdims=True) - d * d
    mean = centre + rest / count
    # Sum of squared deviations from the leave-one-out mean over count - 1: np.var(ddof=1).
    var = (squares - rest * rest / count) / (count - 1)
    return mean, np.clip(var, 0, None), count


def _std(var: np.ndarray, fixed: bool) -> np.ndarray:
    if fixed:  # one variance per target model: the mean over examples
        var = np.broadcast_to(var.mean(1, keepdims=True), var.shape)
    return np.sqrt(np.maximum(var, MIN_STD**2))


def _online(obs: ReferenceObservations, fixed: bool) -> np.ndarray:
    mu_in, var_in, _ = _leave_one_out(obs, True)
    mu_out, var_out, _ = _leave_one_out(obs, False)
    stats = _stats(obs)
    return norm.logpdf(stats, mu_in, _std(var_in, fixed)) - norm.logpdf(stats, mu_out, _std(var_out, fixed))


def _offline(obs: ReferenceObservations, fixed: bool) -> np.ndarray:
    mu_out, var_out, _ = _leave_one_out(obs, False)
    return norm.logcdf((_stats(obs) - mu_out) / _std(var_out, fixed))


@reference_attack("lira_online")
def lira_online(obs: ReferenceObservations) -> np.ndarray:
    return _online(obs, fixed=False)


@reference_attack("lira_online_fixed")
def lira_online_fixed(obs: ReferenceObservations) -> np.ndarray:
    return _online(obs, fixed=True)


@reference_attack("lira_offline")
def lira_offline(obs: ReferenceObservations) -> np.ndarray:
    return _offline(obs, fixed=False)


@reference_attack("lira_offline_fixed")
def lira_offline_fixed(obs: ReferenceObservations) -> np.ndarray:
    return _offline(obs, fixed=True)


@reference_attack("reference")
def reference_difference(obs: ReferenceObservations) -> np.ndarray:
    mu_out, _, _ = _leave_one_out(obs, False)
    return _stats(obs) - mu_out
