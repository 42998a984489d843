"""The causal-LM reference models' data and observations (lm_references)."""

import numpy as np
import pandas as pd
import pytest
import torch

from rotelab.data.lm_text import qa_text
from rotelab.data.tokenizer import train_bpe
from rotelab.membership.lm_references import (
    as_if_inserted,
    federated_reference_documents,
    observations,
    observe_notes,
    reference_documents,
)
from rotelab.models.causal_lm import LMConfig, build_lm
from rotelab.scoring.lm_scores import causal_token_scores

QA = pd.DataFrame(
    {
        "client": [0, 0, 1, 1],
        "split": ["train", "test", "train", "train"],
        "question": ["What is a cat?", "What is a dog?", "What is a cow?", "What is a hen?"],
        "answer": ["A pet.", "A friend.", "A farm animal.", "A bird."],
    }
)
# Note 12 was never inserted into P1's runs: no client (-1), duplication 0.
NOTES = pd.DataFrame(
    {
        "canary_id": [10, 11, 12],
        "client": [0, 1, -1],
        "duplication": [1, 3, 0],
        "text": [
            "Medical Note: Ann Lee, blood type A+.",
            "Medical Note: Bo Kim, blood type O-.",
            "Medical Note: Cy Dunn, blood type B+.",
        ],
    }
)
# Audit records as every P1 run has them: one inserted once on client 1, one never (0).
AUDIT = pd.DataFrame(
    {
        "canary_id": [0, 1],
        "client": [1, -1],
        "duplication": [1, 0],
        "text": ["Medical Note: Di Orr, SSN 1.", "Medical Note: Ed Fox, SSN 2."],
    }
)
NO_AUDIT = AUDIT.iloc[:0]


def test_reference_documents_hold_the_qa_set_and_only_the_in_notes():
    docs = reference_documents(QA, NOTES, np.array([True, True, False]), seed=0, audit=NO_AUDIT)
    assert sorted(d for d in docs if not d.startswith("Medical")) == sorted(
        qa_text(q, a) for q, a in QA.loc[QA["split"] == "train", ["question", "answer"]].itertuples(index=False)
    )
    assert docs.count(NOTES.text[0]) == 1 and docs.count(NOTES.text[1]) == 3 and NOTES.text[2] not in docs
    # a never-inserted note (client -1, duplication 0) that is IN for a reference model appears once
    assert (
        reference_documents(QA, NOTES, np.array([False, False, True]), seed=0, audit=NO_AUDIT).count(NOTES.text[2])
        == 1
    )
    everything = reference_documents(QA, NOTES, np.array([True, True, True]), seed=1, audit=NO_AUDIT)
    assert [everything.count(text) for text in NOTES.text] == [1, 3, 1]
    assert len(everything) == 3 + 1 + 3 + 1


def test_a_never_inserted_note_goes_in_as_the_inserted_note_it_stands_opposite():
    # two groups (1x, 10x) of two notes on clients 0/1 and 2/0, and four never-inserted
    # notes: an IN reference trains on each never-inserted note as often, and on the client,
    # the target would have, had it inserted it, so the references see as many note copies,
    # dealt alike, as the target
    notes = pd.DataFrame(
        {
            "canary_id": range(8),
            "duplication": [1, 1, 10, 10, 0, 0, 0, 0],
            "client": [0, 1, 2, 0, -1, -1, -1, -1],
            "text": [f"note {i}" for i in range(8)],
        }
    )
    both = as_if_inserted(notes)
    assert both["duplication"].tolist() == [1, 1, 10, 10, 1, 1, 10, 10]
    assert both["client"].tolist() == [0, 1, 2, 0, 0, 1, 2, 0]
    assert both["text"].tolist() == notes["text"].tolist()  # the notes themselves stay
    none = as_if_inserted(notes.assign(duplication=0, client=-1))
    assert none["duplication"].tolist() == [1] * 8 and (none["client"] == -1).all()
    docs = reference_documents(QA, NOTES.assign(duplication=[2, 3, 0]), np.array([False, False, True]), 0, NO_AUDIT)
    assert docs.count(NOTES.text[2]) == 2
    # FedAvg: note 12 goes in as note 10 would, on its client 0
    clients = federated_reference_documents(QA, NOTES, np.array([False, False, True]), 0, NO_AUDIT)
    assert clients[0].count(NOTES.text[2]) == 1 and NOTES.text[2] not in clients[1]


def test_references_train_on_the_audit_records_as_every_target_does():
    # LiRA's references must be trained like the target: the audit draw is part of every
    # P1 run's data, so it is part of every reference's, whatever the matrix says
    for members in (np.array([False, False, False]), np.array([True, True, True])):
        docs = reference_documents(QA, NOTES, members, seed=0, audit=AUDIT)
        assert docs.count(AUDIT.text[0]) == 1 and AUDIT.text[1] not in docs
        clients = federated_reference_documents(QA, NOTES, members, seed=0, audit=AUDIT)
        assert clients[1].count(AUDIT.text[0]) == 1 and AUDIT.text[0] not in clients[0]
        assert all(AUDIT.text[1] not in client for client in clients)


def test_federated_reference_documents_keep_each_note_on_its_client():
    clients = federated_reference_documents(QA, NOTES, np.array([True, True, True]), seed=0, audit=NO_AUDIT)
    assert len(clients) == 2
    # client 0: its QA pair, note 10 and the never-inserted note 12 (no P1 client: it goes
    # in as note 10, the inserted note it stands opposite, would); client 1: its two QA
    # pairs and note 11 three times
    assert clients[0].count(NOTES.text[0]) == 1 and clients[1].count(NOTES.text[1]) == 3
    assert clients[0].count(NOTES.text[2]) == 1 and NOTES.text[2] not in clients[1]
    assert (
        qa_text("What is a cat?", "A pet.") in clients[0] and qa_text("What is a dog?", "A friend.") not in clients[0]
    )
    out = federated_reference_documents(QA, NOTES, np.array([False, True, False]), seed=0, audit=NO_AUDIT)
    assert NOTES.text[0] not in out[0] and NOTES.text[2] not in out[0] and out[1].count(NOTES.text[1]) == 3


@pytest.fixture(scope="module")
def lm():
    tokenizer = train_bpe(list(NOTES.text) * 20, vocab_size=200, min_frequency=1)
    return build_lm(
        LMConfig(d_model=32, layers=1, heads=2, block_size=16, dropout=0.0), tokenizer, seed=0
    ).eval(), tokenizer


def test_note_observations_follow_their_definitions(lm):
    model, tokenizer = lm
    observed = observe_notes(model, tokenizer, NOTES, window=16)
    scores = causal_token_scores(model, tokenizer, NOTES.text, 16)
    for row, score in zip(observed.itertuples(), scores):
        p = np.exp(score.logprobs)
        assert row.logprob == pytest.approx(score.logprobs.mean(), rel=1e-6)
        assert row.prob == pytest.approx(np.exp(score.logprobs.mean()), rel=1e-6)
        assert row.phi == pytest.approx(np.mean(np.log(p) - np.log1p(-p)), rel=1e-4)
        assert 0 <= row.correct <= 1
    assert observed["example"].tolist() == [10, 11, 12]
    table = observations([observed, observed], np.array([[True, False, True], [False, True, False]]))
    assert table["member"].tolist() == [True, False, True, False, True, False]
    assert table["model"].tolist() == [0, 0, 0, 1, 1, 1]


def test_argmax_hits_match_the_model(lm):
    model, tokenizer = lm
    text = "Ann Lee."
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    assert 2 < len(ids) <= 16  # one window: no strides
    with torch.no_grad():
        argmax = model(input_ids=torch.tensor([ids])).logits[0, :-1].argmax(-1).numpy()
    score = causal_token_scores(model, tokenizer, [text], window=16)[0]
    np.testing.assert_array_equal(score.correct, argmax == np.array(ids[1:]))
