"""The IN/OUT membership matrix: which of K reference models trained on which example.

One matrix per dataset and K serves every attack and memorization score that needs
reference models (LiRA, counterfactual memorization), so they agree on who saw what.
Balanced as in the LiRA reference code (Carlini et al. 2022, ``tensorflow/privacy``
``research/mi_lira_2021/train.py``): every example is IN for exactly K/2 models, chosen by
ranking uniform draws per example, so the models' training sets have about N/2 examples each.

Stored long (one row per model and example): ``model``, ``example``, ``member``.

Beside the matrix's examples, a population (:func:`hold_out_population`) is OUT for every
model: RMIA's reference samples z (Zarifzadeh et al. 2024, section 3).
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def draw_matrix(n_examples: int, n_models: int, seed: int) -> np.ndarray:
    """Boolean (n_models, n_examples) matrix with exactly n_models/2 IN per example."""
    if n_models < 2 or n_models % 2:
        raise ValueError(f"the number of reference models must be even and at least 2, got {n_models}")
    if n_examples < 1:
        raise ValueError("the membership matrix needs at least one example")
    draws = np.random.default_rng(seed).uniform(size=(n_models, n_examples))
    return draws.argsort(0) < n_models // 2


def to_table(matrix: np.ndarray, example_ids) -> pd.DataFrame:
    n_models, n_examples = matrix.shape
    ids = np.asarray(example_ids)
    if len(ids) != n_examples:
        raise ValueError(f"{len(ids)} example ids for a matrix of {n_examples} examples")
    return pd.DataFrame(
        {
            "model": np.repeat(np.arange(n_models), n_examples),
            "example": np.tile(ids, n_models),
            "member": matrix.reshape(-1),
        }
    )


def from_table(table: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(matrix, example ids) from the long table, examples in their stored order."""
    ids = pd.unique(table["example"])
    wide = table.pivot(index="model", columns="example", values="member").loc[:, ids]
    return wide.to_numpy(dtype=bool), np.asarray(ids)


def members_of(matrix: np.ndarray, model: int) -> np.ndarray:
    """Positions (into the example axis) of the examples model ``model`` trains on."""
    return np.flatnonzero(matrix[model])


def hold_out_population(table: pd.DataFrame, share: float, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(pool, population): a seeded ``share`` of the rows is set aside as population samples
    that no model trains on; both keep the table's order."""
    if not 0 <= share < 1:
        raise ValueError(f"the population share must be in [0, 1), got {share}")
    n_population = int(round(share * len(table)))
    chosen = np.zeros(len(table), dtype=bool)
    chosen[np.random.default_rng(seed).permutation(len(table))[:n_population]] = True
    return table[~chosen].reset_index(drop=True), table[chosen].reset_index(drop=True)
