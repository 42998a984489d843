"""RMIA, the relative membership inference attack (Zarifzadeh, Liu, Mittal & Shokri,
"Low-Cost High-Power Membership Inference Attacks", ICML 2024, section 3).

RMIA compares the target's likelihood of x with its likelihood of population samples z
(examples no model trained on), each relative to how likely the reference models find it:

    LR(x, z) = [Pr(x | target) / Pr(x)] / [Pr(z | target) / Pr(z)]
    score(x) = share of population samples z with LR(x, z) >= gamma

Pr(x) is the mean of Pr(x | reference) over the reference models. *Online*, half of them
trained on x, so the mean is taken over all of them. *Offline*, only OUT references exist,
and the paper approximates the missing IN half linearly: Pr(x) = ((1 + a) Pr_OUT(x) +
(1 - a)) / 2, with a chosen by attacking one reference model with the others (their
section 4 and appendix; ML Privacy Meter does the same over a = 0, 0.1, ..., 1). The same
formula gives Pr(z) from the references, for which z is always OUT.

Pr(x | model) is the model's probability of the example, p_y for a classifier. Every
model is the target in turn with the other K - 1 as its references, as for LiRA
(:mod:`rotelab.membership.lira`), so the function takes the probabilities of all K models
on the N examples and on the Z population samples.

Registered as the reference attacks ``rmia_online`` and ``rmia_offline``: they read the
observations' ``prob`` and ``population`` (:class:`rotelab.membership.registry.ReferenceObservations`),
so they run where an ensemble was also observed on population samples.
"""

from __future__ import annotations

import numpy as np

from rotelab.core.stats import auc
from rotelab.membership.registry import ReferenceObservations, reference_attack

GAMMA = 1.0  # LR(x, z) >= gamma counts z as dominated (the paper's default threshold)
OFFLINE_A_GRID = np.round(np.arange(0.0, 1.01, 0.1), 2)


def _share_dominated(ratio_x: np.ndarray, ratio_z: np.ndarray, gamma: float) -> np.ndarray:
    """For each x, the share of z with ratio_x / ratio_z >= gamma, in O((N + Z) log Z)."""
    sorted_z = np.sort(ratio_z)
    return np.searchsorted(sorted_z, ratio_x / gamma, side="right") / sorted_z.size


def _prior(prob_refs: np.ndarray, member_refs: np.ndarray | None, offline_a: float | None) -> np.ndarray:
    """Pr(x) from the references' probabilities (R, N): the mean over all (online,
    ``offline_a`` None), or the paper's linear completion of the OUT mean (offline)."""
    if offline_a is None:
        return prob_refs.mean(0)
    out = ~member_refs if member_refs is not None else np.ones_like(prob_refs, dtype=bool)
    count = out.sum(0)
    if (count == 0).any():
        raise ValueError("offline RMIA needs at least one OUT reference model per example")
    mean_out = np.where(out, prob_refs, 0.0).sum(0) / count
    return ((1 + offline_a) * mean_out + (1 - offline_a)) / 2


def rmia_scores(
    target: np.ndarray,
    references: np.ndarray,
    member: np.ndarray,
    population_target: np.ndarray,
    population_references: np.ndarray,
    offline_a: float | None = None,
    gamma: float = GAMMA,
) -> np.ndarray:
    """RMIA scores of one target model's N examples (higher = member).

    target (N,), references (R, N) with member (R, N): probabilities of the examples under
    the target and the references; population_target (Z,), population_references (R, Z):
    of the population samples. ``offline_a`` None: online RMIA; a number: offline, with
    Pr(x) from the OUT references and that scaling parameter.
    """
    target = np.asarray(target, dtype=np.float64)
    references = np.asarray(references, dtype=np.float64)
    prior_x = _prior(references, np.asarray(member, dtype=bool), offline_a)
    prior_z = _prior(np.asarray(population_references, dtype=np.float64), None, offline_a)
    ratio_x = target / np.maximum(prior_x, 1e-300)
    ratio_z = np.asarray(population_target, dtype=np.float64) / np.maximum(prior_z, 1e-300)
    return _share_dominated(ratio_x, ratio_z, gamma)


def tune_offline_a(
    probs: np.ndarray, member: np.ndarray, population: np.ndarray, target: int, grid=OFFLINE_A_GRID
) -> float:
    """The paper's choice of a for ``target``: attack a paired reference model (the
    target's neighbour, target xor 1) with the remaining references, offline, at each a of
    ``grid``, and keep the a of the highest AUC. The target's own membership is never read."""
    k = probs.shape[0]
    paired = target ^ 1 if (target ^ 1) < k else (target - 1)
    rest = [m for m in range(k) if m not in (target, paired)]
    if not rest:
        raise ValueError("tuning offline RMIA needs at least three models")
    best_a, best_auc = float(grid[0]), -1.0
    truth = member[paired].astype(bool)
    for a in grid:
        scores = rmia_scores(
            probs[paired], probs[rest], member[rest], population[paired], population[rest], offline_a=float(a)
        )
        value = auc(scores[truth], scores[~truth]) if truth.any() and (~truth).any() else 0.5
        if value > best_auc:
            best_a, best_auc = float(a), value
    return best_a


def rmia_all_targets(
    probs: np.ndarray,
    member: np.ndarray,
    population: np.ndarray,
    offline: bool,
    gamma: float = GAMMA,
) -> np.ndarray:
    """(K, N) RMIA scores, each of the K models the target with the other K - 1 as
    references. probs (K, N), member (K, N): the examples; population (K, Z): the
    population samples under every model. Offline, each target's a is tuned on a paired
    reference (``tune_offline_a``) and the references' IN observations are left unread."""
    probs = np.asarray(probs, dtype=np.float64)
    member = np.asarray(member, dtype=bool)
    population = np.asarray(population, dtype=np.float64)
    k = probs.shape[0]
    scores = np.empty_like(probs)
    for target in range(k):
        refs = [m for m in range(k) if m != target]
        a = tune_offline_a(probs, member, population, target) if offline else None
        scores[target] = rmia_scores(
            probs[target], probs[refs], member[refs], population[target], population[refs], offline_a=a, gamma=gamma
        )
    return scores


def _population_observations(obs: ReferenceObservations) -> tuple[np.ndarray, np.ndarray]:
    if obs.prob is None or obs.population is None or np.asarray(obs.population).shape[-1] == 0:
        raise ValueError(
            "RMIA needs population samples (examples no model trained on) observed under every "
            "model: this ensemble has none"
        )
    return np.asarray(obs.prob), np.asarray(obs.population)


@reference_attack("rmia_online", population=True)
def rmia_online(obs: ReferenceObservations) -> np.ndarray:
    prob, population = _population_observations(obs)
    return rmia_all_targets(prob, obs.member, population, offline=False)


@reference_attack("rmia_offline", population=True)
def rmia_offline(obs: ReferenceObservations) -> np.ndarray:
    prob, population = _population_observations(obs)
    return rmia_all_targets(prob, obs.member, population, offline=True)
