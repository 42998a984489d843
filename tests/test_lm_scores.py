"""Scores of fine-tuned causal LMs: strided token scores, QA utility, note membership."""

import math

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F

from rotelab.data.lm_text import qa_text
from rotelab.data.tokenizer import train_bpe
from rotelab.membership.attacks import AttackConfig
from rotelab.models.causal_lm import LMConfig, build_lm, train_lm
from rotelab.scoring.lm_scores import (
    causal_token_scores,
    note_membership,
    qa_utility,
    summarise_utility,
)
from rotelab.training.seq2seq import TrainConfig

QA = [("What is a lute?", "A stringed instrument."), ("What is a fern?", "A flowerless plant.")]
LONG = "one two three four five six seven eight nine ten eleven twelve"


@pytest.fixture(scope="module")
def model_and_tokenizer():
    torch.set_num_threads(1)
    texts = [qa_text(q, a) for q, a in QA] * 30
    tok = train_bpe(texts + [LONG] * 10, vocab_size=300, min_frequency=1)
    model = build_lm(LMConfig(d_model=32, layers=2, heads=2, block_size=64, dropout=0.0), tok, seed=0)
    train_lm(
        model,
        tok,
        texts,
        TrainConfig(steps=150, batch_size=8, lr=1e-2, warmup_steps=10, log_every=150, device="cpu"),
        block_size=32,
        log=lambda *_: None,
    )
    return model.eval(), tok


def test_token_scores_in_one_window_are_the_teacher_forced_log_probs(model_and_tokenizer):
    model, tok = model_and_tokenizer
    ids = tok(LONG, add_special_tokens=False)["input_ids"]
    assert 20 < len(ids) <= 64
    (full,) = causal_token_scores(model, tok, [LONG], window=64)
    with torch.no_grad():
        logp = F.log_softmax(model(input_ids=torch.tensor([ids])).logits[0, :-1], -1)
    expected = logp.gather(-1, torch.tensor(ids[1:])[:, None])[:, 0].numpy()
    np.testing.assert_allclose(full.logprobs, expected, atol=1e-5)
    assert np.all(full.std >= 0) and np.all(full.mean <= 0)
    # Strided with a 16-token window: every token scored once; the first window is identical.
    (strided,) = causal_token_scores(model, tok, [LONG], window=16)
    assert len(strided.logprobs) == len(ids) - 1
    np.testing.assert_allclose(strided.logprobs[:15], expected[:15], atol=1e-5)
    assert np.isfinite(strided.logprobs).all()


def test_qa_utility_on_learned_and_unseen_questions(model_and_tokenizer):
    model, tok = model_and_tokenizer
    qa = pd.DataFrame({"question": [QA[0][0], "What is a zebra?"], "answer": [QA[0][1], "A striped horse."]})
    per_pair = qa_utility(model, tok, qa, window=64)
    assert per_pair["exact_match"].tolist() == [True, False]
    learned, unseen = per_pair["answer_nll"] / per_pair["answer_tokens"]
    assert learned < 0.5 < unseen


def test_utility_summary_is_token_weighted():
    per_pair = pd.DataFrame(
        {"answer_nll": [2.0, 6.0, 4.0], "answer_tokens": [2, 2, 4], "exact_match": [True, False, False]}
    )
    summary = summarise_utility(per_pair, n_boot=200, seed=0).set_index("metric")
    assert summary.loc["answer_loss", "value"] == pytest.approx(12 / 8)
    assert summary.loc["answer_ppl", "value"] == pytest.approx(math.exp(1.5))
    assert summary.loc["exact_match", "value"] == pytest.approx(1 / 3)
    assert summary.loc["answer_loss", "ci_low"] <= 1.5 <= summary.loc["answer_loss", "ci_high"]


def test_note_membership_ranks_trained_text_as_member(model_and_tokenizer):
    model, tok = model_and_tokenizer
    canaries = pd.DataFrame(
        {
            "canary_id": [0, 1],
            "text": [qa_text(*QA[1]), "seven one nine lute fern two"],
            "duplication": [30, 0],
            "inserted": [True, False],
        }
    )
    scores = note_membership(model, tok, canaries, ["loss", "min_k_pp"], AttackConfig(), window=64)
    assert set(scores["attack"]) == {"loss", "min_k_pp"} and (scores.groupby("attack").size() == 2).all()
    loss = scores[scores.attack == "loss"].set_index("canary_id")["score"]
    assert loss[0] > loss[1]
    assert scores.loc[scores.canary_id == 0, "replicas"].eq(30).all()
