"""Scores of a fine-tuned causal LM (P1): token scores of long documents, QA utility,
membership attacks on the canary notes.

Utility is measured on QA pairs no model has seen (held out of fine-tuning, and their
glosses left out of pretraining): the answer's mean token negative log-likelihood given the
question prompt, its perplexity, and exact match of the greedy answer (every answer token
reproduced; strict, so at small scale it is near 0 and the loss is the informative measure).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from rotelab.core.stats import rate
from rotelab.data.lm_text import qa_prompt
from rotelab.membership.attacks import AttackConfig
from rotelab.scoring.lm_extraction import same_length_batches
from rotelab.scoring.token_scores import TokenScores, distribution_stats


@torch.inference_mode()
def causal_token_scores(model, tokenizer, texts, window: int, with_distribution: bool = True) -> list[TokenScores]:
    """Teacher-forced scores (and argmax hits) of every token of each text after the first.
    A text longer than the model's ``window`` is scored in strides of ``window // 2``, each
    new token seeing at least half a window of context (the usual strided perplexity)."""
    device = next(model.parameters()).device
    stride = max(1, window // 2)
    out = []
    for ids in tokenizer(list(texts), add_special_tokens=False)["input_ids"]:
        logps, means, stds, correct = [], [], [], []
        scored = 1  # the first token has no context
        start = 0
        while scored < len(ids):
            start = max(0, min(scored - stride, len(ids) - window)) if len(ids) > window else 0
            chunk = torch.tensor([ids[start : start + window]], device=device)
            logp = F.log_softmax(model(input_ids=chunk).logits.float()[0, :-1], dim=-1)
            new = slice(scored - start - 1, None)  # predictions of tokens not scored yet
            targets = chunk[0, 1:][new]
            logps.append(logp[new].gather(-1, targets[:, None])[:, 0])
            correct.append(logp[new].argmax(-1) == targets)
            if with_distribution:
                mean, std = distribution_stats(logp[new])
                means.append(mean)
                stds.append(std)
            scored = start + chunk.shape[1]
        logp = torch.cat(logps).cpu().numpy()
        nan = np.full_like(logp, np.nan)
        out.append(
            TokenScores(
                logp,
                torch.cat(means).cpu().numpy() if means else nan,
                torch.cat(stds).cpu().numpy() if stds else nan,
                torch.cat(correct).cpu().numpy(),
            )
        )
    return out


def note_membership(
    model, tokenizer, canaries: pd.DataFrame, attack_names, cfg: AttackConfig, window: int
) -> pd.DataFrame:
    """Registry attacks on canary notes, inserted (members) against never inserted; the
    duplication group plays the role of the SeqKD chain's ``replicas``."""
    from rotelab.scoring.canary_metrics import attack_table

    scores = causal_token_scores(
        model, tokenizer, canaries["text"], window, with_distribution="min_k_pp" in attack_names
    )
    frame = canaries.assign(replicas=canaries["duplication"])
    return attack_table(frame, scores, list(canaries["text"]), attack_names, cfg)


@torch.inference_mode()
def qa_utility(model, tokenizer, qa: pd.DataFrame, window: int, batch_size: int = 64) -> pd.DataFrame:
    """Per held-out QA pair: answer tokens (the answer and EOS, as in training), their
    summed NLL given the prompt, and whether the greedy continuation reproduces every one
    of them. Scoring is batched with right padding; generation is batched by prompt length
    so no prompt needs padding."""
    device = next(model.parameters()).device
    eos, pad = tokenizer.eos_token_id, tokenizer.pad_token_id
    prompts = tokenizer([qa_prompt(q) for q in qa["question"]], add_special_tokens=False)["input_ids"]
    answers = tokenizer([" " + a for a in qa["answer"]], add_special_tokens=False)["input_ids"]
    answers = [(a + [eos])[: max(1, window - len(p))] for p, a in zip(prompts, answers)]
    nll = np.zeros(len(prompts))
    for start in range(0, len(prompts), batch_size):
        rows = range(start, min(start + batch_size, len(prompts)))
        seqs = [prompts[i] + answers[i] for i in rows]
        width = max(map(len, seqs))
        ids = torch.tensor([s + [pad] * (width - len(s)) for s in seqs], device=device)
        mask = torch.tensor([[1] * len(s) + [0] * (width - len(s)) for s in seqs], device=device)
        logp = F.log_softmax(model(input_ids=ids, attention_mask=mask).logits.float()[:, :-1], dim=-1)
        token_logp = logp.gather(-1, ids[:, 1:, None])[..., 0]
        for row, i in enumerate(rows):
            first = len(prompts[i]) - 1  # the position that predicts the first answer token
            nll[i] = -float(token_logp[row, first : first + len(answers[i])].sum())
    exact = np.zeros(len(prompts), dtype=bool)
    for length, idx in same_length_batches(prompts, batch_size):
        batch = torch.tensor([prompts[i] for i in idx], device=device)
        generated = model.generate(
            input_ids=batch,
            attention_mask=torch.ones_like(batch),
            do_sample=False,
            num_beams=1,
            max_new_tokens=max(len(answers[i]) for i in idx),
            pad_token_id=pad,
        )[:, length:].tolist()
        for i, g in zip(idx, generated):
            exact[i] = g[: len(answers[i])] == answers[i]
    return pd.DataFrame(
        {
            "question": list(qa["question"]),
            "answer_tokens": [len(a) for a in answers],
            "answer_nll": nll,
            "exact_match": exact,
        }
    )


def summarise_utility(per_pair: pd.DataFrame, n_boot: int, seed: int) -> pd.DataFrame:
    """Token-weighted answer loss and perplexity (bootstrap intervals over pairs) and the
    exact-match rate (Wilson interval)."""
    nll, tokens = per_pair["answer_nll"].to_numpy(), per_pair["answer_tokens"].to_numpy()
    rng = np.random.default_rng(seed)
    boot = []
    for _ in range(n_boot):
        idx = rng.integers(0, len(nll), len(nll))
        boot.append(nll[idx].sum() / tokens[idx].sum())
    loss = nll.sum() / tokens.sum()
    lo, hi = np.quantile(boot, [0.025, 0.975]) if boot else (math.nan, math.nan)
    rows = [
        {"metric": "answer_loss", "value": loss, "n": len(nll), "ci_low": lo, "ci_high": hi},
        {
            "metric": "answer_ppl",
            "value": math.exp(loss),
            "n": len(nll),
            "ci_low": math.exp(lo),
            "ci_high": math.exp(hi),
        },
        {"metric": "exact_match", **rate(per_pair["exact_match"])},
    ]
    return pd.DataFrame(rows)


def mean_token_logprobs(model, tokenizer, texts, window: int) -> np.ndarray:
    """Each text's mean teacher-forced token log-probability (minus the loss attack's NLL)."""
    return np.array([s.logprobs.mean() for s in causal_token_scores(model, tokenizer, texts, window, False)])


def audit_canary_scores(tuned: np.ndarray, base: np.ndarray) -> dict[str, np.ndarray]:
    """The scores a one-run auditor may use on the audit canaries, from their
    :func:`mean_token_logprobs` under the fine-tuned model (``tuned``) and the pretrained base
    (``base``), higher meaning more member-like: ``loss`` (Yeom et al., CSF 2018) and
    ``loss_vs_base``, the loss attack minus its value under the base, which removes how
    predictable a record was before fine-tuning (difficulty calibration; Watson et al., "On
    the importance of difficulty calibration in membership inference attacks", ICLR 2022)."""
    return {"loss": tuned, "loss_vs_base": tuned - base}
