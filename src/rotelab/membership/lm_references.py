"""The membership engine on the causal-LM track: K reference fine-tunes of one base, each on
the QA training set and the audit records every P1 run trains on, plus the canary notes the
membership matrix marks IN for it, trained centralized or, for a FedAvg target, by FedAvg
over P1's clients.

LiRA assumes its references are trained like the target. Two ways in which they were not,
measured on the default run at 3c0b9ee (centralized full fine-tune, 8 references): the
references trained without the audit records (a note's header, the notes' own template),
which are part of every target's training set, and inserted every never-inserted note once
when IN, so they saw about 130 note copies where a target sees 220. The target then scored
even its never-inserted notes like the references' IN side (mean phi -0.18 under the
target; IN -0.24, OUT -0.81), and online LiRA, which compares against both sides, fell below
the loss attack (AUC 0.80 against 0.95). The audit records alone moved it to 0.89 (phi
-0.18; IN -0.07, OUT -0.63); with both, -0.18 against OUT -0.24 and IN 1.09, and online
LiRA reached 0.98. FedAvg references also dealt the never-inserted notes to the clients
unlike a target would have (client ``canary_id`` mod 3, a third of them on the smallest
client, whose updates FedAvg weights least); a never-inserted note now goes in as the
inserted note it stands opposite, on that note's client.

Every canary (inserted into P1's runs or not) is a row of one IN/OUT matrix; reference
model k fine-tunes a copy of the base on the pooled QA documents and its IN notes, each
repeated as often as P1's runs insert it (:func:`as_if_inserted`): an inserted note at its
duplication group's count, on its client; a never-inserted note as the inserted note it
stands opposite, at that note's count and on its client, so that the IN side of every note
is what the target would have seen had it inserted the note, and a reference sees as many
note copies, dealt to the clients alike, as a target does. The observations table then holds
one row per (model, note) with the statistics the membership engine's attacks and
counterfactual memorization read (:mod:`rotelab.membership.reference_scores`), so LiRA on
notes works exactly as on the classifier pool: each model the target in turn, the others
its references.

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


def as_if_inserted(canaries: pd.DataFrame) -> pd.DataFrame:
    """The notes with the ``duplication`` and ``client`` a P1 run would have given each had
    it inserted it: an inserted note keeps its own; the j-th never-inserted note (in table
    order, ``duplication`` 0) takes those of the j-th inserted note (cyclically, should the
    counts differ), so each duplication group, and each group's split over the clients, has
    as many never-inserted counterparts as members (``make_document_canaries`` draws as many
    never-inserted notes as inserted ones). With no inserted note at all: once, no client."""
    duplication = canaries["duplication"].to_numpy(dtype=np.int64).copy()
    client = canaries["client"].to_numpy(dtype=np.int64).copy()
    inserted = np.flatnonzero(duplication > 0)
    never = np.flatnonzero(duplication == 0)
    if len(inserted) == 0:
        duplication[never], client[never] = 1, -1
    else:
        opposite = inserted[np.arange(len(never)) % len(inserted)]
        duplication[never], client[never] = duplication[opposite], client[opposite]
    return canaries.assign(duplication=duplication, client=client)


def reference_documents(
    qa: pd.DataFrame, canaries: pd.DataFrame, members: np.ndarray, seed: int, audit: pd.DataFrame
) -> list[str]:
    """One reference model's fine-tuning documents: every client's training QA pairs, the
    audit records as every P1 run has them (each ``duplication`` times: 1 or 0), and the
    notes ``members`` marks IN, each as often as :func:`as_if_inserted` says, in a seeded
    order.

    A note's P1 client plays no part: never-inserted notes (``client`` -1) are IN for half
    the models like any other, so they must not be filtered through the QA clients."""
    train = qa.loc[qa["split"] == "train", ["question", "answer"]]
    texts = [qa_text(q, a) for q, a in train.itertuples(index=False)]
    trained = pd.concat([audit, as_if_inserted(canaries)[members]])
    for text, count in zip(trained["text"], trained["duplication"]):
        texts += [text] * int(count)
    order = np.random.default_rng(seed).permutation(len(texts))
    return [texts[i] for i in order]


def federated_reference_documents(
    qa: pd.DataFrame, canaries: pd.DataFrame, members: np.ndarray, seed: int, audit: pd.DataFrame
) -> list[list[str]]:
    """One FedAvg reference model's client documents: every client's training QA pairs, the
    audit records on their P1 clients as every P1 run has them, and the notes ``members``
    marks IN, each on the client and as often as :func:`as_if_inserted` says (a note with
    no client at all on client ``canary_id`` mod the number of clients), in each client's
    seeded order (``lm_text.client_documents``, as P1's runs)."""
    n_clients = qa["client"].nunique()
    notes = as_if_inserted(canaries)[members]
    notes = notes.assign(client=np.where(notes["client"] >= 0, notes["client"], notes["canary_id"] % n_clients))
    return client_documents(qa, pd.concat([notes, audit]), seed)


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
