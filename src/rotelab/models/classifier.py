"""Reference classifiers for the membership engine: an MLP that saves and loads as a Hugging
Face directory (``save_pretrained``, safetensors), trained K at a time as an ensemble, and
the per-model observations every membership score reads.

LiRA and the privacy onion effect (P5) need many models per experiment; on CPU that is
affordable for an MLP on the bundled datasets of :mod:`rotelab.data.classification`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn
from transformers import PretrainedConfig, PreTrainedModel


def table_tensors(table: pd.DataFrame, device="cpu") -> dict[str, torch.Tensor]:
    return {
        "x": torch.tensor(np.stack(table["features"].to_numpy()), dtype=torch.float32, device=device),
        "labels": torch.tensor(table["label"].to_numpy(), dtype=torch.long, device=device),
    }


class MLPClassifierConfig(PretrainedConfig):
    """in_features -> hidden (ReLU) ... -> n_classes."""

    model_type = "rotelab-mlp"

    def __init__(self, in_features: int = 64, hidden: list[int] | None = None, n_classes: int = 10, **kwargs):
        super().__init__(**kwargs)
        self.in_features, self.hidden, self.n_classes = in_features, list(hidden or [128]), n_classes


class MLPClassifier(PreTrainedModel):
    config_class = MLPClassifierConfig

    def __init__(self, config: MLPClassifierConfig):
        super().__init__(config)
        widths = [config.in_features, *config.hidden]
        self.hidden_layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths, widths[1:]))
        self.head = nn.Linear(widths[-1], config.n_classes)
        self.post_init()

    def _init_weights(self, module):  # keep PyTorch's default Linear init
        pass

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.hidden_layers:
            x = F.relu(layer(x))
        return self.head(x)


def build_classifier(in_features: int, hidden: list[int], n_classes: int, seed: int) -> MLPClassifier:
    torch.manual_seed(seed)
    return MLPClassifier(MLPClassifierConfig(in_features=in_features, hidden=hidden, n_classes=n_classes))


def cross_entropy_loss(forward, batch: dict) -> torch.Tensor:
    return F.cross_entropy(forward(x=batch["x"]), batch["labels"])


def logit_scaled_confidence(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """LiRA's statistic (Carlini et al. 2022, eq. 4): phi = log p_y - log sum_{y' != y} p_y',
    computed from logits without forming probabilities (stable where p_y is near 1)."""
    true = logits.gather(-1, labels.unsqueeze(-1)).squeeze(-1)
    others = logits.scatter(-1, labels.unsqueeze(-1), float("-inf"))
    return true - torch.logsumexp(others, dim=-1)


@dataclass(frozen=True)
class ClassifierTrainConfig:
    """Reference classifiers of the membership engine (one MLP per membership-matrix row).

    hidden: widths of the ReLU hidden layers.
    epochs: passes over each model's training subset (about half the pool); LiRA needs
        models that fit their training data, so train to (near) zero training error.
    batch_size, lr, weight_decay: AdamW settings shared by all models.
    """

    hidden: tuple[int, ...] = (256,)
    epochs: float = 100
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 0.0


def train_reference_classifiers(
    table: pd.DataFrame, matrix: np.ndarray, cfg: ClassifierTrainConfig, seed: int, device="cpu", log=print
):
    """Train one classifier per row of ``matrix`` (on the pool rows it marks IN), all at
    once as an :class:`~rotelab.models.ensemble.Ensemble`. Model k is seeded ``seed + k``."""
    from rotelab.membership.matrix import members_of
    from rotelab.models.ensemble import EnsembleTrainConfig, epochs_to_steps, train_ensemble

    data = table_tensors(table, device)
    n_models, n_classes = matrix.shape[0], int(table["label"].max()) + 1
    members = [members_of(matrix, k) for k in range(n_models)]
    steps = epochs_to_steps(cfg.epochs, int(np.mean([len(m) for m in members])), cfg.batch_size)
    train = EnsembleTrainConfig(steps=steps, batch_size=cfg.batch_size, lr=cfg.lr, weight_decay=cfg.weight_decay)
    models = [
        build_classifier(data["x"].shape[1], list(cfg.hidden), n_classes, seed + k).to(device) for k in range(n_models)
    ]
    log(
        f"{n_models} models x {steps} steps of {cfg.batch_size} (about {cfg.epochs:g} epochs of "
        f"{int(np.mean([len(m) for m in members]))} examples each)"
    )
    return train_ensemble(
        models,
        data,
        members,
        cross_entropy_loss,
        train,
        [seed + k for k in range(n_models)],
        log=log,
        log_every=max(1, steps // 5),
    )


@torch.no_grad()
def observe(ensemble, table: pd.DataFrame, matrix: np.ndarray, device="cpu") -> pd.DataFrame:
    """One row per model and pool example: ``member``, ``phi`` (LiRA's logit-scaled
    confidence), ``logprob`` (log p_y), ``logprob_mean``/``logprob_std`` (of log p under the
    model's own output distribution, for min-k%++), ``prob`` (p_y) and ``correct``. An empty
    table (e.g. no population held out) gives the same columns and no rows."""
    if table.empty:
        floats = {name: np.empty(0, np.float32) for name in ("phi", "logprob", "logprob_mean", "logprob_std", "prob")}
        return pd.DataFrame(
            {"model": np.empty(0, np.int64), "example": table["example"].to_numpy(), "member": np.empty(0, bool)}
            | floats
            | {"correct": np.empty(0, bool)}
        )
    data = table_tensors(table, device)
    ensemble.template.eval()
    logits = ensemble.forward_shared({"x": data["x"]}).float()  # (K, N, C)
    labels = data["labels"].expand(logits.shape[0], -1)
    logp = torch.log_softmax(logits, -1)
    logprob = logp.gather(-1, labels.unsqueeze(-1)).squeeze(-1)
    probs = logp.exp()
    mean = (probs * logp).sum(-1)
    std = ((probs * logp.square()).sum(-1) - mean.square()).clamp_min(0).sqrt()
    k, n = labels.shape
    columns = {
        "phi": logit_scaled_confidence(logits, labels),
        "logprob": logprob,
        "logprob_mean": mean,
        "logprob_std": std,
        "prob": logprob.exp(),
        "correct": logits.argmax(-1) == labels,
    }
    frame = pd.DataFrame({name: value.cpu().numpy().reshape(-1) for name, value in columns.items()})
    frame.insert(0, "member", matrix.reshape(-1))
    frame.insert(0, "example", np.tile(table["example"].to_numpy(), k))
    frame.insert(0, "model", np.repeat(np.arange(k), n))
    return frame
