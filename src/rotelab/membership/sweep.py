"""Attack power against the number of reference models, on the classifier pool.

RMIA's claim (Zarifzadeh, Liu & Shokri, ICML 2024, abstract and Table 2) is about cost: with
few reference models RMIA keeps its power where LiRA falls towards chance. For each K, one
ensemble of K models is trained from its own balanced IN/OUT matrix (every example IN for
K/2 of them) and observed on the pool and on the population samples; each model is the
target in turn with the other K - 1 as its references, as everywhere in the engine
(:mod:`rotelab.membership.lira`). An attack that needs more references than K - 1 give
(LiRA needs two IN and two OUT per example once the target is left out, offline RMIA three
models to tune its scaling) gets an empty row saying why, not a number.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from rotelab.membership.matrix import draw_matrix
from rotelab.membership.reference_scores import summarise_each_attack
from rotelab.models.classifier import ClassifierTrainConfig, observe, train_reference_classifiers

COLUMNS = ["models", "attack", "metric", "value", "n", "ci_low", "ci_high", "note"]


def reference_model_sweep(
    pool: pd.DataFrame,
    population: pd.DataFrame,
    sizes: list[int],
    names: list[str],
    cfg: ClassifierTrainConfig,
    seed: int,
    device,
    n_boot: int,
    boot_seed: int,
    log=print,
) -> pd.DataFrame:
    """One row per ensemble size K, attack and metric (AUC, balanced accuracy, TPR at 1% and
    0.1% FPR, with bootstrap intervals over examples)."""
    frames = []
    for k in sizes:
        matrix = draw_matrix(len(pool), k, seed)
        ensemble = train_reference_classifiers(pool, matrix, cfg, seed, device, log=log)
        observations = observe(ensemble, pool, matrix, device)
        outside = observe(ensemble, population, np.zeros((k, len(population)), bool), device)
        summary = summarise_each_attack(
            observations, names, n_boot, boot_seed, outside, log=lambda line, k=k: log(f"K={k} {line}")
        )
        frames.append(summary.assign(models=k))
    return pd.concat(frames, ignore_index=True)[COLUMNS]
