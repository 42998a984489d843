"""Goldfish loss (Hans et al. 2024, ``ahans30/goldfish-loss``, ``lit_gpt/utils.py::apply_goldfish``,
strategy ``hash-table``): a pseudo-random 1/k of the target tokens are left out of the loss,
chosen by hashing the window of h targets that ends at each token, so the same text always
drops the same tokens and a model never sees every token of a repeated passage supervised.

The hash is the reference's: the product of the window's token ids (int64, wrapping) modulo
1,000,003 indexes a table of uniform draws from a generator seeded with 2971215073; a token
is dropped when its draw is below 1/k. The first h - 1 targets of a block have no full
window and are always kept. The reference builds its table on the training device; this
one is built on the CPU, so drops are identical to the reference's CPU table.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import torch

TABLE_SIZE = 1_000_003
TABLE_SEED = 2971215073


@dataclass(frozen=True)
class GoldfishSettings:
    """k: drop about one target in k. h: tokens hashed to decide (the reference's default 13)."""

    k: int = 4
    h: int = 13


@functools.lru_cache(maxsize=4)
def hash_table(device: str = "cpu") -> torch.Tensor:
    """The table, drawn on the CPU (the same values everywhere), cached per device."""
    return torch.rand(TABLE_SIZE, generator=torch.Generator().manual_seed(TABLE_SEED)).to(device)


def drop_mask(targets: torch.Tensor, k: int, h: int) -> torch.Tensor:
    """Boolean (batch, seq) mask of the targets the goldfish loss leaves out."""
    drop = torch.zeros_like(targets, dtype=torch.bool)
    if targets.shape[1] < h:
        return drop
    keys = targets.long().unfold(1, h, 1).prod(dim=-1) % TABLE_SIZE
    drop[:, h - 1 :] = hash_table(str(targets.device))[keys] < 1 / k
    return drop


def goldfish_nll(forward, batch: torch.Tensor, settings: GoldfishSettings) -> tuple[torch.Tensor, torch.Tensor]:
    """Summed next-token loss over the targets the goldfish mask keeps, and their count
    (``causal_lm.next_token_nll`` with the mask: a row's drops depend on its own tokens only,
    so they are the same in any batch or length group the row is computed in)."""
    from rotelab.models.causal_lm import next_token_nll

    return next_token_nll(forward, batch, drop=lambda targets: drop_mask(targets, settings.k, settings.h))
