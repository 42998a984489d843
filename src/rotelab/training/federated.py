"""Federated averaging (McMahan et al. 2017) as P1 runs it, with optional secure aggregation.

Each round every client starts from the global weights, fine-tunes on its own data under
the run's regime (for LoRA: a fresh adapter every round, merged into the weights before
upload, as in P1's ``scripts/federated/``), and uploads its weights. The server averages
them weighted by client data size. With secure aggregation the server only ever sees
masked uploads: every pair of clients (i, j) shares a seed, client i adds the pseudo-random
mask drawn from it and client j subtracts it, so the masks cancel in the sum and the server
learns the weighted sum, nothing about any single client (Bonawitz et al. 2017, without the
dropout-recovery part: all clients here finish every round).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class FederatedSettings:
    """clients' data come from the QA sources; rounds: communication rounds (P1: 5);
    local_epochs: passes over its own data a client makes per round (P1: 1);
    secure_aggregation: mask uploads."""

    rounds: int = 5
    local_epochs: float = 1.0
    secure_aggregation: bool = False
    seed: int = 0


def weighted_average(states: list[dict], weights: list[float]) -> dict:
    """sum_k w_k * state_k / sum_k w_k, per tensor (floating tensors only are averaged)."""
    total = float(sum(weights))
    out = {}
    for name, first in states[0].items():
        if first.dtype.is_floating_point:
            out[name] = sum(w / total * s[name].double() for w, s in zip(weights, states)).to(first.dtype)
        else:
            out[name] = first.clone()
    return out


def pairwise_masks(names_shapes: dict, n_clients: int, seed: int, scale: float = 1.0) -> list[dict]:
    """One mask per client: sum over pairs of +/- PRG(seed of the pair) noise, which sums
    to zero over the clients."""
    masks = [
        {n: torch.zeros(shape, dtype=torch.float64) for n, shape in names_shapes.items()} for _ in range(n_clients)
    ]
    for i in range(n_clients):
        for j in range(i + 1, n_clients):
            generator = torch.Generator().manual_seed(seed * 1_000_003 + i * 1_009 + j)
            for n, shape in names_shapes.items():
                noise = torch.randn(shape, generator=generator, dtype=torch.float64) * scale
                masks[i][n] += noise
                masks[j][n] -= noise
    return masks


def secure_weighted_average(states: list[dict], weights: list[float], seed: int, scale: float = 1.0) -> dict:
    """The same result as ``weighted_average``, computed from masked uploads: each client
    uploads w_k * state_k + mask_k, and only the sum is unmasked."""
    total = float(sum(weights))
    floating = {n: t.shape for n, t in states[0].items() if t.dtype.is_floating_point}
    masks = pairwise_masks(floating, len(states), seed, scale)
    uploads = [{n: w / total * s[n].double() + m[n] for n in floating} for w, s, m in zip(weights, states, masks)]
    out = {n: sum(u[n] for u in uploads).to(states[0][n].dtype) for n in floating}
    out.update({n: t.clone() for n, t in states[0].items() if n not in floating})
    return out


def fedavg(make_model, client_texts: list, train_client, settings: FederatedSettings, log=print):
    """Run ``settings.rounds`` rounds. ``make_model()`` returns the global model at its
    initial weights; ``train_client(model, texts, round, client)`` returns the client's
    trained plain model. Returns the final global model and one log row per round."""
    model = make_model()
    weights = [len(texts) for texts in client_texts]
    rows = []
    for r in range(settings.rounds):
        global_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        uploads = []
        for c, texts in enumerate(client_texts):
            local = make_model()
            local.load_state_dict(global_state)
            uploads.append({k: v.detach().cpu() for k, v in train_client(local, texts, r, c).state_dict().items()})
        average = (
            secure_weighted_average(uploads, weights, seed=settings.seed * 1_000 + r)
            if settings.secure_aggregation
            else weighted_average(uploads, weights)
        )
        model.load_state_dict(average)
        rows.append({"round": r + 1, "clients": len(client_texts)})
        log(
            f"round {r + 1}/{settings.rounds}: averaged {len(uploads)} clients (weights {weights})"
            f"{' through secure aggregation' if settings.secure_aggregation else ''}"
        )
    return model, rows
