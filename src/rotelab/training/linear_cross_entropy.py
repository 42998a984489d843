"""The output projection and the cross-entropy in one pass over chunks of tokens.

A language-model head turns every target position into a row of vocabulary logits. For a
step of 32k target tokens and a 16k vocabulary those are 2 GB in fp32, written once by the
forward pass, kept for the backward pass and read again. Here the head and the loss run
chunk by chunk: each chunk's logits are made in bf16 (under autocast) or fp32, turned into
the loss and into the gradient of the logits at once, and dropped; what is kept for the
backward pass is the gradient of the hidden states and of the head's weight and bias, never
the logits. This is the idea behind fused "linear cross-entropy" kernels (Liger Kernel's
``FusedLinearCrossEntropy``, Apple's Cut Cross-Entropy), written here in plain PyTorch.

The loss is ``torch.nn.functional.cross_entropy`` with ``label_smoothing`` and
``ignore_index``, averaged over the positions that are not ignored; the unit tests hold the
value and the gradients to it.
"""

from __future__ import annotations

import torch


class _LinearCrossEntropy(torch.autograd.Function):
    @staticmethod
    def forward(ctx, hidden, weight, bias, labels, ignore_index: int, label_smoothing: float, chunk: int):
        dtype = torch.get_autocast_dtype("cuda") if torch.is_autocast_enabled("cuda") and hidden.is_cuda else None
        with torch.autocast(hidden.device.type, enabled=False):
            h_all = hidden.to(dtype) if dtype else hidden
            w = weight.to(dtype) if dtype else weight
            keep = labels.ne(ignore_index)
            count = keep.sum().clamp(min=1)
            vocab = weight.shape[0]
            loss = torch.zeros((), device=hidden.device, dtype=torch.float32)
            grad_hidden = torch.empty_like(hidden, dtype=hidden.dtype)
            grad_weight = torch.zeros_like(weight, dtype=torch.float32)
            grad_bias = (
                torch.zeros(vocab, device=weight.device, dtype=torch.float32)
                if bias is not None and ctx.needs_input_grad[2]
                else None
            )
            for start in range(0, hidden.shape[0], chunk):
                h = h_all[start : start + chunk]
                y = labels[start : start + chunk]
                k = keep[start : start + chunk]
                logits = (h @ w.T).float()
                if bias is not None:
                    logits += bias.float()
                lse = torch.logsumexp(logits, dim=-1)
                target = logits.gather(1, y.clamp(min=0).unsqueeze(1)).squeeze(1)
                # Smoothed cross-entropy: (1 - e) * nll + e * mean over the vocabulary of -log p.
                per_token = lse - (1 - label_smoothing) * target - label_smoothing * logits.mean(dim=-1)
                loss += per_token.masked_fill(~k, 0).sum()
                # d loss / d logits = softmax - (1 - e) * onehot - e / V, for kept positions.
                grad = logits.sub_(lse.unsqueeze(1)).exp_()  # softmax, in place of the logits
                grad.scatter_add_(
                    1, y.clamp(min=0).unsqueeze(1), torch.full_like(target, -(1 - label_smoothing)).unsqueeze(1)
                )
                grad.sub_(label_smoothing / vocab).mul_(k.unsqueeze(1).float() / count)
                if grad_bias is not None:
                    grad_bias += grad.sum(dim=0)
                grad = grad.to(h.dtype)
                grad_hidden[start : start + chunk] = (grad @ w).to(hidden.dtype)
                grad_weight += (grad.T @ h).float()
        ctx.save_for_backward(
            grad_hidden,
            grad_weight.to(weight.dtype),
            grad_bias.to(bias.dtype).reshape(bias.shape) if grad_bias is not None else None,
        )
        return loss / count

    @staticmethod
    def backward(ctx, grad_output):
        grad_hidden, grad_weight, grad_bias = ctx.saved_tensors
        scale = grad_output
        return (
            grad_hidden * scale,
            grad_weight * scale,
            grad_bias * scale if grad_bias is not None else None,
            None,
            None,
            None,
            None,
        )


def linear_cross_entropy(
    hidden: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None,
    labels: torch.Tensor,
    ignore_index: int = -100,
    label_smoothing: float = 0.0,
    chunk: int = 8192,
) -> torch.Tensor:
    """``cross_entropy(hidden @ weight.T + bias, labels)`` over rows of ``hidden`` (tokens, d),
    never holding more than ``chunk`` rows of logits. ``labels`` (tokens,) may hold
    ``ignore_index``; the mean is over the rest."""
    return _LinearCrossEntropy.apply(
        hidden.reshape(-1, hidden.shape[-1]), weight, bias, labels.reshape(-1), ignore_index, label_smoothing, chunk
    )
