"""Analytic class-incremental learning (ACIL; Zhuang et al., NeurIPS 2022, "P7").

A backbone trained on the base classes is frozen; its features pass through a fixed random
ReLU expansion, X = ReLU(f(x) W_buf). The classifier is a ridge regression onto one-hot
labels, learnt recursively: with R_0 = I / gamma, each phase's (X, Y) updates

    R <- R - R X^T (I + X R X^T)^-1 X R          (ACIL eq. 10)
    W <- [W, 0] + R X^T (Y - X [W, 0])           (ACIL eq. 9; new classes add zero columns)

so after any number of phases W equals the joint ridge solution (X^T X + gamma I)^-1 X^T Y
on all data seen ("absolute memorization"), up to float64 rounding. The update follows the
authors' ``analytic/AnalyticLinear.py`` (``RecursiveLinear.fit``). The forgetting baseline
is a linear head on the same features trained by SGD on each phase's data only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def random_relu_expansion(features: np.ndarray, width: int, seed: int) -> np.ndarray:
    """X = ReLU(features @ W_buf) in float64, W_buf ~ N(0, 1/d) fixed by ``seed``."""
    features = np.asarray(features, dtype=np.float64)
    rng = np.random.default_rng(seed)
    buffer = rng.normal(0.0, 1.0 / np.sqrt(features.shape[1]), size=(features.shape[1], width))
    return np.maximum(features @ buffer, 0.0)


def one_hot(labels: np.ndarray, n_classes: int) -> np.ndarray:
    out = np.zeros((len(labels), n_classes))
    out[np.arange(len(labels)), labels] = 1.0
    return out


class RecursiveRidge:
    """ACIL's analytic classifier: float64 ridge regression, learnt one phase at a time."""

    def __init__(self, in_features: int, gamma: float):
        self.gamma = gamma
        self.R = np.eye(in_features) / gamma
        self.W = np.zeros((in_features, 0))

    def fit_phase(self, X: np.ndarray, labels: np.ndarray) -> None:
        n_classes = max(self.W.shape[1], int(labels.max()) + 1)
        if n_classes > self.W.shape[1]:
            self.W = np.hstack([self.W, np.zeros((self.W.shape[0], n_classes - self.W.shape[1]))])
        Y = one_hot(labels, n_classes)
        RXt = self.R @ X.T
        # (I + X R X^T)^-1 X R, by a solve rather than an explicit inverse
        K_XR = np.linalg.solve(np.eye(len(X)) + X @ RXt, RXt.T)
        self.R -= RXt @ K_XR
        self.W += self.R @ X.T @ (Y - X @ self.W)

    def predict(self, X: np.ndarray) -> np.ndarray:
        return (X @ self.W).argmax(1)


def joint_ridge(X: np.ndarray, labels: np.ndarray, gamma: float, n_classes: int) -> np.ndarray:
    """The ridge solution on all data at once: (X^T X + gamma I)^-1 X^T Y."""
    return np.linalg.solve(X.T @ X + gamma * np.eye(X.shape[1]), X.T @ one_hot(labels, n_classes))


@dataclass(frozen=True)
class SGDHeadConfig:
    """The forgetting baseline: a linear head trained by minibatch SGD on cross-entropy.

    epochs: passes over each phase's data; lr: SGD learning rate; batch_size: examples per step.
    """

    epochs: int = 20
    lr: float = 0.05
    batch_size: int = 32


class SGDHead:
    """A softmax-regression head on the expanded features, trained only on the current
    phase's data (new classes get fresh zero columns), so earlier classes are forgotten."""

    def __init__(self, in_features: int, cfg: SGDHeadConfig, seed: int):
        self.cfg = cfg
        self.W = np.zeros((in_features, 0))
        self.b = np.zeros(0)
        self.rng = np.random.default_rng(seed)

    def fit_phase(self, X: np.ndarray, labels: np.ndarray) -> None:
        n_classes = max(self.W.shape[1], int(labels.max()) + 1)
        grow = n_classes - self.W.shape[1]
        self.W = np.hstack([self.W, np.zeros((self.W.shape[0], grow))])
        self.b = np.concatenate([self.b, np.zeros(grow)])
        Y = one_hot(labels, n_classes)
        for _ in range(self.cfg.epochs):
            order = self.rng.permutation(len(X))
            for start in range(0, len(X), self.cfg.batch_size):
                idx = order[start : start + self.cfg.batch_size]
                logits = X[idx] @ self.W + self.b
                p = np.exp(logits - logits.max(1, keepdims=True))
                p /= p.sum(1, keepdims=True)
                grad = (p - Y[idx]) / len(idx)
                self.W -= self.cfg.lr * X[idx].T @ grad
                self.b -= self.cfg.lr * grad.sum(0)

    def predict(self, X: np.ndarray) -> np.ndarray:
        return (X @ self.W + self.b).argmax(1)


def phase_split(labels: np.ndarray, base_classes: int, phases: int) -> list[np.ndarray]:
    """Positions of the training examples per phase: phase 0 holds the base classes; the
    remaining classes, in label order, are cut into ``phases`` consecutive chunks of about
    equal size. With more phases than remaining classes a class spans consecutive phases
    (digits has 5 incremental classes, P7's sweep goes to 50 phases)."""
    labels = np.asarray(labels)
    base = np.flatnonzero(labels < base_classes)
    rest = np.flatnonzero(labels >= base_classes)
    rest = rest[np.argsort(labels[rest], kind="stable")]
    if phases > len(rest):
        raise ValueError(f"{phases} phases for {len(rest)} incremental examples")
    return [base, *np.array_split(rest, phases)]


def run_phases(
    X_train, y_train, X_test, y_test, base_classes: int, phases: int, gamma: float, sgd: SGDHeadConfig, seed: int
) -> list[dict]:
    """ACIL, the joint ridge solution and the SGD head after every phase: accuracy on the
    test examples of the classes seen so far, and max |W_ACIL - W_joint|."""
    acil, head = RecursiveRidge(X_train.shape[1], gamma), SGDHead(X_train.shape[1], sgd, seed)
    seen = np.zeros(0, dtype=int)
    rows = []
    for phase, idx in enumerate(phase_split(y_train, base_classes, phases)):
        acil.fit_phase(X_train[idx], y_train[idx])
        head.fit_phase(X_train[idx], y_train[idx])
        seen = np.concatenate([seen, idx])
        n_classes = acil.W.shape[1]
        joint = joint_ridge(X_train[seen], y_train[seen], gamma, n_classes)
        test = y_test < int(y_train[seen].max()) + 1
        scores = {
            "acil": acil.predict(X_test[test]),
            "joint": (X_test[test] @ joint).argmax(1),
            "sgd": head.predict(X_test[test]),
        }
        for method, predicted in scores.items():
            correct = predicted == y_test[test]
            rows.append(
                {
                    "phases": phases,
                    "phase": phase,
                    "classes_seen": n_classes,
                    "method": method,
                    "accuracy": float(correct.mean()),
                    "n": int(test.sum()),
                    "correct": int(correct.sum()),
                    "max_abs_diff": float(np.abs(acil.W - joint).max()) if method == "acil" else np.nan,
                    "max_abs_weight": float(np.abs(joint).max()),
                }
            )
    return rows
