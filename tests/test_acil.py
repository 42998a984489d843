"""ACIL (P7): the recursive classifier equals the joint ridge solution whatever the phases."""

import numpy as np
import pytest

from rotelab.data.classification import classification_datasets
from rotelab.papers.acil.analytic import (
    RecursiveRidge,
    SGDHeadConfig,
    joint_ridge,
    phase_split,
    random_relu_expansion,
    run_phases,
)


@pytest.fixture(scope="module")
def digits():
    data = classification_datasets.get("digits")()
    order = np.random.default_rng(0).permutation(len(data.labels))
    X = random_relu_expansion(data.features, 256, seed=0)
    test, train = order[:400], order[400:]
    return X[train], data.labels[train], X[test], data.labels[test]


@pytest.mark.parametrize("phases", [1, 3, 7])
def test_recursive_ridge_equals_the_joint_solution(phases):
    rng = np.random.default_rng(phases)
    X = rng.normal(size=(300, 40))
    y = np.repeat(np.arange(6), 50)
    model = RecursiveRidge(40, gamma=0.5)
    for idx in phase_split(y, 2, phases):
        model.fit_phase(X[idx], y[idx])
    joint = joint_ridge(X, y, 0.5, 6)
    assert np.abs(model.W - joint).max() < 1e-10 * np.abs(joint).max()
    # and differs from an unregularised or differently regularised solution
    assert np.abs(model.W - joint_ridge(X, y, 5.0, 6)).max() > 1e-3


def test_phase_split_orders_classes_and_covers_every_example():
    y = np.array([3, 0, 4, 1, 2, 4, 3, 0, 2, 1])
    parts = phase_split(y, 2, 3)
    assert set(y[parts[0]]) == {0, 1}
    assert sorted(np.concatenate(parts)) == list(range(10))
    later = np.concatenate([y[p] for p in parts[1:]])
    assert list(later) == sorted(later)  # incremental classes arrive in label order
    with pytest.raises(ValueError, match="20 phases for 6 incremental examples"):
        phase_split(y, 2, 20)


def test_acil_accuracy_does_not_depend_on_phases_and_sgd_forgets(digits):
    finals = {}
    for k in (2, 5):
        rows = run_phases(*digits, base_classes=5, phases=k, gamma=1.0, sgd=SGDHeadConfig(epochs=5), seed=0)
        last = {r["method"]: r for r in rows if r["phase"] == k}
        finals[k] = last
        assert max(r["max_abs_diff"] for r in rows if r["method"] == "acil") < 1e-9
        assert last["acil"]["accuracy"] == last["joint"]["accuracy"] > 0.9
        assert last["sgd"]["accuracy"] < 0.5  # trained on the last phase only
        assert last["acil"]["n"] == 400 and last["acil"]["classes_seen"] == 10
    assert finals[2]["acil"]["accuracy"] == finals[5]["acil"]["accuracy"]
