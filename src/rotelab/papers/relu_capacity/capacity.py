"""Memorization capacity of small ReLU networks (Yun, Sra & Jadbabaie, NeurIPS 2019, "P6").

P6 proves that a network with two hidden ReLU layers of Theta(sqrt N) units memorizes most
N-point datasets (arbitrary labels), while with one hidden layer the parameter count, so the
width for a fixed input dimension, has to grow like N. The experiment: N random points with
random labels; for each N the smallest width at which training reaches 100% training
accuracy, for one and for two hidden layers of that width. A trained network only bounds
the capacity from above (the optimizer may fail where a construction succeeds), so its
constants differ from the proofs'; the scaling exponents are what to compare.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class CapacityConfig:
    """How each candidate width is trained.

    input_dim: dimension of the random inputs (standard normal).
    n_classes: random labels are drawn uniformly from this many classes.
    max_steps: full-batch Adam steps before a width counts as too small.
    lr: Adam learning rate.
    """

    input_dim: int = 4
    n_classes: int = 2
    max_steps: int = 1500
    lr: float = 0.02


def random_dataset(n: int, cfg: CapacityConfig, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(n, cfg.input_dim, generator=gen)
    y = torch.randint(0, cfg.n_classes, (n,), generator=gen)
    return x, y


def relu_network(input_dim: int, width: int, depth: int, n_classes: int) -> nn.Sequential:
    layers, width_in = [], input_dim
    for _ in range(depth):
        layers += [nn.Linear(width_in, width), nn.ReLU()]
        width_in = width
    return nn.Sequential(*layers, nn.Linear(width_in, n_classes))


def memorizes(x: torch.Tensor, y: torch.Tensor, width: int, depth: int, cfg: CapacityConfig, seed: int) -> bool:
    """Whether full-batch Adam drives training accuracy to 100% within ``cfg.max_steps``."""
    torch.manual_seed(seed)
    model = relu_network(x.shape[1], width, depth, cfg.n_classes)
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    loss_fn = nn.CrossEntropyLoss()
    for step in range(cfg.max_steps):
        logits = model(x)
        if step % 10 == 0 and bool((logits.argmax(1) == y).all()):
            return True
        optimizer.zero_grad(set_to_none=True)
        loss_fn(logits, y).backward()
        optimizer.step()
    with torch.no_grad():
        return bool((model(x).argmax(1) == y).all())


def smallest_width(
    x: torch.Tensor, y: torch.Tensor, depth: int, cfg: CapacityConfig, seed: int, max_width: int
) -> int:
    """Binary search for the smallest width (1 .. max_width) that memorizes (x, y), assuming
    that a wider network memorizes whenever a narrower one does; ``max_width + 1`` when
    even ``max_width`` fails."""
    low, high = 1, max_width + 1  # invariant: widths < low fail (or untested), width high succeeds
    while low < high:
        mid = (low + high) // 2
        if memorizes(x, y, mid, depth, cfg, seed):
            high = mid
        else:
            low = mid + 1
    return high
