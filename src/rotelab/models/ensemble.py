"""Train K models of one architecture together, as one batched ensemble.

LiRA and counterfactual memorization need many reference models that differ only in their
training subset (a row of the membership matrix) and seed. Trained one after another, small
models leave a GPU idle between kernel launches; stacked, every layer runs once for all K
models. The parameters of the K models are stacked along a new leading axis
(``torch.func.stack_module_state``) and the forward pass is ``vmap``-ed over that axis, each
model reading its own batch. The total loss is the sum of the per-model losses, so each
model's slice of the gradient is exactly its own gradient; AdamW acts element-wise, so one
optimizer over the stacked tensors is K independent optimizers. Gradient clipping is the one
global operation and is done per model.

Equivalence: :func:`train_sequential` trains one model with the same index stream and
optimizer; a test checks both give the same parameters to float tolerance. With dropout
the models draw independent masks (``randomness="different"``), so results then agree only
in distribution.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.func import functional_call, stack_module_state, vmap

# loss(forward, batch) -> scalar mean loss of one model on its batch, where
# forward(**inputs) runs that model; batch maps names to tensors of one model's examples.
LossFn = Callable[[Callable, dict], torch.Tensor]


@dataclass(frozen=True)
class EnsembleTrainConfig:
    """Optimisation shared by every model of an ensemble.

    steps: optimizer steps per model (each model sees ``steps * batch_size`` examples of its
        own training subset, in epochs of fresh permutations).
    batch_size: examples per model per step.
    lr, weight_decay: AdamW settings.
    grad_clip: per-model gradient-norm bound (None: no clipping).
    compile: torch.compile mode for the batched forward/backward (None: eager). Small
        models on a GPU are launch-bound; compiling fuses the K-model kernels (compilation
        takes tens of seconds, so it pays off for long runs only).
    bf16: run the forward and backward under bfloat16 autocast on CUDA (parameters and
        optimizer state stay float32), in the ensemble and in the sequential reference alike;
        ignored on the CPU. Large ensembles of transformer blocks are matmul-bound in float32.
    """

    steps: int
    batch_size: int
    lr: float
    weight_decay: float = 0.0
    grad_clip: float | None = None
    compile: str | None = None
    bf16: bool = False


def _autocast(device: torch.device, bf16: bool):
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16 and device.type == "cuda")


def epochs_to_steps(epochs: float, n_examples: int, batch_size: int) -> int:
    """Steps for ``epochs`` passes over a training subset of ``n_examples``."""
    return max(1, round(epochs * n_examples / batch_size))


def index_stream(members: np.ndarray, steps: int, batch_size: int, seed: int) -> np.ndarray:
    """(steps, batch_size) example positions: consecutive seeded permutations of ``members``,
    cut into batches (a batch may straddle two epochs, so every batch is full)."""
    rng = np.random.default_rng(seed)
    need, chunks, have = steps * batch_size, [], 0
    while have < need:
        chunks.append(rng.permutation(members))
        have += len(members)
    return np.concatenate(chunks)[:need].reshape(steps, batch_size)


def _gather(data: dict[str, torch.Tensor], idx: torch.Tensor) -> dict[str, torch.Tensor]:
    return {name: tensor[idx] for name, tensor in data.items()}


class _Never:
    """A layerdrop of 0 that also answers ``p < layerdrop`` for a batched tensor ``p`` (False)
    without looking at its value."""

    def __gt__(self, other):
        return False

    def __lt__(self, other):
        return False


_NEVER = _Never()


def _no_padding_warning(input_ids, attention_mask):
    pass


def _detach_padding_lookups(module: nn.Embedding, args, output):
    padding = (args[0] == module.padding_idx).unsqueeze(-1)
    return torch.where(padding, output.detach(), output)


class Ensemble:
    """K models with stacked parameters; ``models[k]`` recovers model k as a plain module."""

    def __init__(self, models: list[nn.Module]):
        # A plain copy, not a meta-device one: moving to meta unties tied weights (GPT-2's
        # embedding and LM head), which functional_call must see tied.
        self.template = copy.deepcopy(models[0])
        self.params, self.buffers = stack_module_state(models)
        self.size = len(models)
        # nn.Embedding's padding_idx keeps the padding row out of the lookup's gradient. vmap's
        # embedding backward, with stacked weights and per-model indices, honours it for model
        # 0's rows only, so the template detaches padding lookups itself. (The row may still
        # learn through a tied LM head, as in plain training.)
        for module in self.template.modules():
            if isinstance(module, nn.Embedding) and module.padding_idx is not None:
                module.register_forward_hook(_detach_padding_lookups)
            # Older transformers (5.17) draw a layer-skip probability in training even at
            # layerdrop 0 and branch on it, which vmap cannot trace with per-model randomness.
            if isinstance(getattr(module, "layerdrop", None), (int, float)):
                if module.layerdrop > 0:
                    raise ValueError(
                        f"{type(module).__name__} uses layerdrop {module.layerdrop}: a random "
                        "per-batch branch cannot run batched; train ensembles with layerdrop 0"
                    )
                module.layerdrop = _NEVER
            # Without an attention mask, transformers looks for padding ids in the inputs to
            # warn (a branch on tensor values, which vmap cannot trace). The ensemble's losses
            # pass a mask wherever padding could be attended to, so the check is dropped.
            if hasattr(module, "warn_if_padding_and_no_attention_mask"):
                module.warn_if_padding_and_no_attention_mask = _no_padding_warning

    def _call(self, params, buffers, inputs: dict):
        return functional_call(self.template, (params, buffers), args=(), kwargs=inputs)

    def forward(self, inputs: dict[str, torch.Tensor]):
        """Every model on its own inputs (tensors with a leading K axis)."""
        return vmap(self._call, randomness="different")(self.params, self.buffers, inputs)

    def forward_shared(self, inputs: dict[str, torch.Tensor]):
        """Every model on the same inputs (no K axis)."""
        return vmap(self._call, in_dims=(0, 0, None), randomness="different")(self.params, self.buffers, inputs)

    def model(self, k: int, like: nn.Module) -> nn.Module:
        """Model k as a module of ``like``'s class (its parameters copied in)."""
        # Non-persistent buffers (LLaMA's rotary frequencies) are constants of the architecture
        # and no part of a state dict: ``like`` has its own.
        # (load_state_dict copies in place, so ``own`` keeps naming like's tensors after it.)
        own = like.state_dict()
        stacked = {**self.params, **{n: t for n, t in self.buffers.items() if n in own}}
        state = {name: tensor[k].detach().clone() for name, tensor in stacked.items()}
        missing, unexpected = like.load_state_dict(state, strict=False)
        # Tied weights (GPT-2's LM head) appear once in the stack, under their first name.
        loaded = {t.data_ptr() for name, t in own.items() if name in state}
        untied = [name for name in missing if own[name].data_ptr() not in loaded]
        if unexpected or untied:
            raise ValueError(
                f"model {k} does not fit {type(like).__name__}: unexpected {unexpected}, missing {untied}"
            )
        return like


def _clip_per_model(grads: list[torch.Tensor], max_norm: float) -> None:
    norms = torch.sqrt(sum(g.flatten(1).pow(2).sum(1) for g in grads))
    scale = (max_norm / (norms + 1e-6)).clamp(max=1.0)
    for g in grads:
        g.mul_(scale.view(-1, *([1] * (g.dim() - 1))))


def fit_ensemble(
    ensemble: Ensemble,
    next_batch: Callable[[int], dict],
    loss: LossFn,
    optimizer: torch.optim.Optimizer,
    steps: int,
    grad_clip: float | None = None,
    lr_at: Callable[[int], float] | None = None,
    bf16: bool = False,
    compile: str | None = None,
    log=print,
    log_every: int = 100,
) -> list[dict]:
    """The loop every ensemble trains with: ``next_batch(step)`` gives every model's batch
    (tensors with a leading K axis), ``optimizer`` holds the stacked parameters, ``lr_at(step)``
    (if given) sets the learning rate before each step, gradients are clipped per model.

    Returns one row per log step: ``{"step", "loss"}`` with each model's mean loss since the
    previous row (a length-K array). Losses stay on the device between rows (an ``.item()``
    per step would stall a GPU's queue)."""
    params = [tensor for tensor in ensemble.params.values() if tensor.requires_grad]
    device = params[0].device

    def per_model(p, b, batch):
        return loss(lambda **inputs: ensemble._call(p, b, inputs), batch)

    batched_loss = vmap(per_model, randomness="different")
    if compile:
        batched_loss = torch.compile(batched_loss, mode=compile)
    rows, loss_sum, count = [], torch.zeros(ensemble.size, device=device), 0
    for step in range(steps):
        if lr_at is not None:
            for group in optimizer.param_groups:
                group["lr"] = lr_at(step)
        with _autocast(device, bf16):
            losses = batched_loss(ensemble.params, ensemble.buffers, next_batch(step))
        optimizer.zero_grad(set_to_none=True)
        losses.sum().backward()
        if grad_clip is not None:
            _clip_per_model([p.grad for p in params], grad_clip)
        optimizer.step()
        loss_sum += losses.detach().float()
        count += 1
        if (step + 1) % log_every == 0 or step + 1 == steps:
            mean = (loss_sum / count).cpu().numpy()
            log(
                f"step {step + 1}/{steps}: mean loss {mean.mean():.4f} "
                f"(min {mean.min():.4f}, max {mean.max():.4f}) over {ensemble.size} models"
            )
            rows.append({"step": step + 1, "loss": mean})
            loss_sum.zero_()
            count = 0
    for tensor in params:
        tensor.requires_grad_(False)
    return rows


def train_ensemble(
    models: list[nn.Module],
    data: dict[str, torch.Tensor],
    members: list[np.ndarray],
    loss: LossFn,
    cfg: EnsembleTrainConfig,
    seeds: list[int],
    log=print,
    log_every: int = 100,
) -> Ensemble:
    """Train ``models[k]`` on the examples ``members[k]`` (positions into ``data``), all at once.

    ``models`` must share one architecture and sit on the device of ``data``; ``seeds[k]``
    orders model k's examples (as in :func:`train_sequential`).
    """
    if not len(models) == len(members) == len(seeds):
        raise ValueError("one member list and one seed per model")
    ensemble = Ensemble(models)
    trainable = [tensor for tensor in ensemble.params.values() if tensor.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=cfg.lr, weight_decay=cfg.weight_decay)
    device = next(iter(data.values())).device
    streams = torch.as_tensor(
        np.stack([index_stream(m, cfg.steps, cfg.batch_size, s) for m, s in zip(members, seeds)], axis=1),
        device=device,
    )
    fit_ensemble(
        ensemble,
        lambda step: _gather(data, streams[step]),
        loss,
        optimizer,
        cfg.steps,
        cfg.grad_clip,
        bf16=cfg.bf16,
        compile=cfg.compile,
        log=log,
        log_every=log_every,
    )
    return ensemble


def train_sequential(
    model: nn.Module,
    data: dict[str, torch.Tensor],
    members: np.ndarray,
    loss: LossFn,
    cfg: EnsembleTrainConfig,
    seed: int,
) -> nn.Module:
    """One model, plain PyTorch: the reference the ensemble must match (and the baseline
    the ensemble benchmark times)."""
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    device = next(iter(data.values())).device
    stream = torch.as_tensor(index_stream(members, cfg.steps, cfg.batch_size, seed), device=device)
    model.train()
    for step in range(cfg.steps):
        with _autocast(device, cfg.bf16):
            value = loss(lambda **inputs: model(**inputs), _gather(data, stream[step]))
        optimizer.zero_grad(set_to_none=True)
        value.backward()
        if cfg.grad_clip is not None:
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        optimizer.step()
    return model
