"""Classification datasets that ship offline (scikit-learn's bundled sets), a registry.

A pool of examples is a table: ``example`` (the example's index in the dataset, its id
everywhere downstream), ``label`` and ``features``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from rotelab.core.registry import Registry

classification_datasets: Registry = Registry("classification dataset")


@dataclass(frozen=True)
class ClassificationData:
    features: np.ndarray  # (N, d) float32, scaled to about unit range
    labels: np.ndarray  # (N,) int64 in [0, n_classes)
    n_classes: int


@classification_datasets.register("digits")
def load_digits_data() -> ClassificationData:
    """scikit-learn's 8x8 handwritten digits (1,797 images, 10 classes), pixels / 16."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    return ClassificationData(bunch.data.astype(np.float32) / 16.0, bunch.target.astype(np.int64), 10)


@classification_datasets.register("breast-cancer")
def load_breast_cancer_data() -> ClassificationData:
    """scikit-learn's Wisconsin breast cancer set (569 examples, 30 features, 2 classes),
    standardised per feature."""
    from sklearn.datasets import load_breast_cancer

    bunch = load_breast_cancer()
    x = bunch.data.astype(np.float32)
    return ClassificationData((x - x.mean(0)) / x.std(0), bunch.target.astype(np.int64), 2)


def dataset_table(name: str) -> pd.DataFrame:
    """One row per example: ``example`` (its index in the dataset), ``label``, ``features``."""
    data = classification_datasets.get(name)()
    return pd.DataFrame(
        {"example": np.arange(len(data.labels)), "label": data.labels, "features": list(data.features)}
    )
