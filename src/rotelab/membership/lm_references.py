"""The membership engine on the causal-LM track: K reference fine-tunes of one base, each on
the QA training set plus the canary notes the membership matrix marks IN for it, trained
centralized or, for a FedAvg target, by FedAvg over P1's clients.

Every canary (inserted into P1's runs or not) is a row of one IN/OUT matrix; reference
model k fine-tunes a copy of the base on the pooled QA documents and its IN notes, each
repeated as often as the note's duplication group inserts it into P1's runs (at least once,
so never-inserted notes have an IN side too). The observations table then holds one row per
(model, note) with the statistics the membership engine's attacks and counterfactual
memorization read (:mod:`rotelab.membership.reference_scores`), so LiRA on notes works exactly as on
the classifier pool: each model the target in turn, the others its references.

Per note, from its teacher-forced tokens under a model:

- ``phi``: the mean over tokens of the logit-scaled token confidence
  log p - log(1 - p) (LiRA's statistic, Carlini et al. 2022 eq. 4, applied per token and
  averaged over the sequence, so it stays near-Gaussian across models);
- ``logprob``: the mean token log-probability (the loss attack's statistic);
- ``prob``: its exponential, the geometric-mean token probability (P3's CM measure);
- ``correct``: the share of tokens that are the model's argmax (Zhang et al.'s accuracy).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from rotelab.data.lm_text import client_documents, qa_text
from rotelab.scoring.lm_scores import causal_token_scores


def reference_documents(qa: pd.DataFrame, canaries: pd.DataFrame, members: np.ndarray, seed: int) -> list[str]:
    """One reference model's fine-tuning documents: every client's training QA pairs and the
    notes ``members`` marks IN, each at its duplication (at least 1), in a seeded order.

    A note's P1 client plays no part: never-inserted notes (``client`` -1) are IN for half
    the models like any other, so they must not be filtered through the QA clients."""
    train = qa.loc[qa["split"] == "train", ["question", "answer"]]
    texts = [qa_text(q, a) for q, a in train.itertuples(index=False)]
    for note in canaries[members].itertuples():
        texts += [note.text] * max(1, int(note.duplication))
    order = np.random.default_rng(seed).permutation(len(texts))
    return [texts[i] for i in order]


def federated_reference_documents(
    qa: pd.DataFrame, canaries: pd.DataFrame, members: np.ndarray, seed: int
) -> list[list[str]]:
    """One FedAvg reference model's client documents: every client's training QA pairs and
    the notes ``members`` marks IN, each on its P1 client (a never-inserted note, which has
    none, on client ``canary_id`` mod the number of clients) at its duplication (at least
    1), in each client's seeded order (``lm_text.client_documents``, as P1's runs)."""
    n_clients = qa["client"].nunique()
    notes = canaries[members]
    notes = notes.assign(
        client=np.where(notes["client"] >= 0, notes["client"], notes["canary_id"] % n_clients),
        duplication=np.maximum(1, notes["duplication"]),
    )
    return client_documents(qa, notes, seed)


def observe_notes(model, tokenizer, canaries: pd.DataFrame, window: int) -> pd.DataFrame:
    """One row per note: ``phi``, ``logprob``, ``logprob_mean``, ``logprob_std``, ``prob``,
    ``correct`` (see the module docstring); mean and std average min-k%++'s per-token
    normalisers."""
    rows = []
    for scores in causal_token_scores(model, tokenizer, canaries["text"], window):
        logp = scores.logprobs.astype(float)
        # log(1 - p) without cancellation when p is close to 1
        log_rest = np.log(-np.expm1(np.minimum(logp, -1e-7)))
        rows.append(
            {
                "phi": float(np.mean(logp - log_rest)),
                "logprob": float(logp.mean()),
                "logprob_mean": float(np.mean(scores.mean)),
                "logprob_std": float(np.mean(scores.std)),
                "prob": float(np.exp(logp.mean())),
                "correct": float(np.mean(scores.correct)),
            }
        )
    columns = ["phi", "logprob", "logprob_mean", "logprob_std", "prob", "correct"]
    return pd.DataFrame(rows, columns=columns).assign(example=canaries["canary_id"].to_numpy())


def observations(per_model: list[pd.DataFrame], matrix: np.ndarray) -> pd.DataFrame:
    """The engine's observations table from each model's :func:`observe_notes`: one row per
    model and note, with the matrix's ``member`` flag."""
    frames = [frame.assign(model=k, member=matrix[k]) for k, frame in enumerate(per_model)]
    columns = ["model", "example", "member", "phi", "logprob", "logprob_mean", "logprob_std", "prob", "correct"]
    return pd.concat(frames, ignore_index=True)[columns]
