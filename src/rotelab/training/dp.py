"""DP-SGD for causal LMs with Opacus: per-sample clipping, Gaussian noise, an RDP accountant.

P1's own "DP" adds noise to the weights after training (that is ``weight noise`` here, a
separate and honestly named defense). This is the real thing (Abadi et al. 2016): every
step samples training examples by Poisson sampling at rate q = batch / N, clips each
example's gradient to ``max_grad_norm``, adds N(0, (sigma * max_grad_norm)^2) noise to the
sum, and the accountant turns (sigma, q, steps) into epsilon at ``delta`` (a finished run's
record: :mod:`rotelab.training.dp_accounting`).

The privacy unit is one training example: one QA pair or one copy of a canary note, each
its own sequence (``causal_lm.example_rows``), never packed with another, so epsilon is per
example as P1 and Opacus users read it. A note inserted r times is r examples: by group
privacy its guarantee is that of r examples, not epsilon. Sigma is chosen up front so
the whole run spends ``target_epsilon``. Works with full fine-tuning and with LoRA (only the
trainable adapter weights get per-sample gradients).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import torch

from rotelab.models.causal_lm import IGNORE_INDEX, example_rows, grouped_rows, model_inputs


@dataclass(frozen=True)
class DPSettings:
    """target_epsilon: privacy budget of the whole run, per training example. delta: its
    delta (None = 1/(10 N), N the number of training examples: the guarantee means something
    only for delta well below 1/N). max_grad_norm: per-example clipping bound."""

    target_epsilon: float = 8.0
    delta: float | None = None
    max_grad_norm: float = 1.0


def position_ids(batch: torch.Tensor) -> torch.Tensor:
    """Explicit per-row positions: with the model's default (1, T) positions, Opacus would
    give the position embedding a single "sample" instead of one per row."""
    return torch.arange(batch.shape[1] - 1, device=batch.device).expand(batch.shape[0], -1)


def private_loss(forward, batch: torch.Tensor) -> torch.Tensor:
    """The mean over examples of each example's mean token loss: Opacus's
    ``loss_reduction='mean'`` reads the loss as a mean of per-example terms, and a token
    mean over the whole batch would tie one example's gradient to the others' lengths."""
    logits = forward(input_ids=model_inputs(batch), position_ids=position_ids(batch)).logits
    targets = batch[:, 1:]
    nll = torch.nn.functional.cross_entropy(
        logits.float().transpose(1, 2), targets, ignore_index=IGNORE_INDEX, reduction="none"
    )
    counts = targets.ne(IGNORE_INDEX).sum(dim=1).clamp(min=1)
    return (nll.sum(dim=1) / counts).mean()


def private_grouped_loss(forward, groups: list[torch.Tensor]) -> torch.Tensor:
    """:func:`private_loss` of a batch given as length groups (``causal_lm.grouped_rows``):
    every group but the last is a micro-batch whose backward pass runs here, so Opacus
    stores its rows' per-sample gradients, scaled by that group's own size under
    ``loss_reduction='mean'``; the caller's backward adds the last group's. The optimizer
    clips each row's gradient and noises their sum, as for one padded batch. The value
    returned is the mean over all the batch's examples (for the log); its gradient is the
    last group's alone."""
    parts = []
    for group in groups[:-1]:
        part = private_loss(forward, group)
        part.backward()
        parts.append(part.detach() * len(group))
    last = private_loss(forward, groups[-1])
    if not parts:
        return last
    mean = (torch.stack(parts).sum() + last.detach() * len(groups[-1])) / sum(len(g) for g in groups)
    return last + (mean - last).detach()


def train_private(
    model, tokenizer, texts, cfg, block_size: int, dp: DPSettings, log=print, horizon: int | None = None
):
    """DP-SGD training of ``model`` on ``texts``, one example each; returns (model, log,
    epsilon, delta). The log gains ``epsilon`` (spent so far by this call),
    ``noise_multiplier`` and ``sample_rate`` at every row.

    horizon: the steps the whole budget covers (default ``cfg.steps``). A federated client
    trains ``cfg.steps`` per round for several rounds on the same data, so its noise is
    calibrated for all of them and ``epsilon_spent`` composes the rounds."""
    from opacus import GradSampleModule
    from opacus.accountants import RDPAccountant
    from opacus.accountants.utils import get_noise_multiplier
    from opacus.optimizers import DPOptimizer

    from rotelab.training.seq2seq import optimise

    rows = example_rows(tokenizer, texts, block_size)
    n = len(rows)
    if cfg.batch_size >= n:
        raise ValueError(f"DP-SGD needs more training examples ({n}) than the batch size ({cfg.batch_size})")
    q = cfg.batch_size / n
    delta = dp.delta if dp.delta is not None else 0.1 / n
    horizon = horizon or cfg.steps
    sigma = get_noise_multiplier(
        target_epsilon=dp.target_epsilon, target_delta=delta, sample_rate=q, steps=horizon, accountant="rdp"
    )
    log(
        f"DP-SGD: {n} examples, sample rate {q:.4f}, noise multiplier {sigma:.3f} for "
        f"epsilon {dp.target_epsilon} at delta {delta:.2e} over {horizon} steps"
    )

    class OneDrawDPOptimizer(DPOptimizer):
        """A step's length groups are one Poisson draw, not accumulated draws: their
        per-sample gradients join into one batch before Opacus counts accumulated
        micro-batches (which would scale the sample rate and the mean by their number)."""

        def pre_step(self, closure=None):
            for p in self.params:
                if isinstance(p.grad_sample, list):
                    p.grad_sample = torch.cat(p.grad_sample)
            return super().pre_step(closure)

    private = GradSampleModule(model, batch_first=True, loss_reduction="mean")
    params = [p for p in private.parameters() if p.requires_grad]
    optimizer = OneDrawDPOptimizer(
        torch.optim.AdamW(params, lr=cfg.lr, betas=(0.9, 0.98), weight_decay=cfg.weight_decay),
        noise_multiplier=sigma,
        max_grad_norm=dp.max_grad_norm,
        expected_batch_size=cfg.batch_size,
    )
    accountant = RDPAccountant()
    optimizer.attach_step_hook(accountant.get_optimizer_hook_fn(sample_rate=q))
    rng = np.random.default_rng(cfg.seed)

    def next_batch(step, device):
        # Poisson sampling, as the accountant assumes. An empty draw (probability
        # (1 - q)^N, about e^-batch) is redrawn.
        drawn = np.flatnonzero(rng.random(n) < q)
        while drawn.size == 0:
            drawn = np.flatnonzero(rng.random(n) < q)
        batch = rows[drawn]
        return grouped_rows(batch, device), int((batch[:, 1:] != IGNORE_INDEX).sum())

    def add_epsilon(row):
        row["epsilon"] = accountant.get_epsilon(delta) if accountant.history else 0.0
        row["noise_multiplier"], row["sample_rate"], row["delta"] = sigma, q, delta
        return False

    # DPOptimizer clips per sample; a second, whole-batch clip would change the mechanism.
    history = optimise(
        private,
        next_batch,
        private_grouped_loss,
        replace(cfg, grad_clip=0.0),
        log,
        optimizer=optimizer,
        on_log=add_epsilon,
    )
    epsilon = accountant.get_epsilon(delta)
    log(f"DP-SGD spent epsilon {epsilon:.3f} at delta {delta:.2e}")
    private._close()
    return private._module, history, epsilon, delta
