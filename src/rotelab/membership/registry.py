"""The attack registry: names, settings and the observations reference attacks read.

Per-example attacks (:mod:`rotelab.membership.attacks`) and reference-model attacks
(:mod:`rotelab.membership.lira`) register here; this module imports neither.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rotelab.core.registry import Registry

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
    prob: (K, N) Pr(x | model) of each example (p_y for a classifier, the geometric-mean
        token probability for a sequence), which RMIA compares; None where not observed.
    population: (K, Z) the same probability of Z population samples, examples no model
        trained on (RMIA's z); None where the ensemble has none.
    """

    stats: np.ndarray
    member: np.ndarray
    prob: np.ndarray | None = None
    population: np.ndarray | None = None


REFERENCE_ATTACKS: set[str] = set()  # names that need reference models
POPULATION_ATTACKS: set[str] = set()  # reference attacks that also read population samples
TEXT_ATTACKS = {"zlib"}  # names that read the example's text


def reference_attack(name: str, population: bool = False):
    """Register ``fn(obs: ReferenceObservations) -> (K, N) scores``: each model as the
    target, the other K-1 as references; higher means more likely a member. ``population``:
    the attack reads ``obs.population`` (examples no model trained on)."""

    def decorator(fn):
        REFERENCE_ATTACKS.add(name)
        if population:
            POPULATION_ATTACKS.add(name)
        return attacks.register(name)(fn)

    return decorator


def needs_references(name: str) -> bool:
    attacks.get(name)  # unknown names raise with the registered list
    return name in REFERENCE_ATTACKS
