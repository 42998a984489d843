"""P3's subgroup analysis: target fit, CM buckets, confidence tails and per-group rates."""

import numpy as np
import pandas as pd
import pytest
import torch

from rotelab.data.tokenizer import train_bpe
from rotelab.models.seq2seq import ModelConfig, build_model
from rotelab.papers.seqkd.subgroups import (
    P3_CM_EDGES,
    assign_groups,
    bucket_labels,
    cm_buckets,
    confidence_groups,
    subgroup_rates,
    target_fit,
)

SOURCES = ["the cat sleeps on the mat", "a dog runs home", "we eat bread", "the old man sings"]
TARGETS = ["die Katze schläft", "ein Hund rennt heim", "wir essen Brot", "der alte Mann singt"]


@pytest.fixture(scope="module")
def marian():
    tokenizer = train_bpe(SOURCES + TARGETS, vocab_size=200, min_frequency=1)
    cfg = ModelConfig(d_model=32, encoder_layers=1, decoder_layers=1, heads=2, ffn_dim=64, dropout=0.0)
    return build_model(cfg, tokenizer, seed=0).eval(), tokenizer


def test_target_fit_is_the_geometric_mean_probability_and_token_accuracy(marian):
    from rotelab.models.seq2seq_decoding import score_targets

    model, tokenizer = marian
    fit = target_fit(model, tokenizer, SOURCES, TARGETS, batch_size=2)
    scores = score_targets(model, tokenizer, SOURCES, TARGETS, with_distribution=False)
    expected = [np.exp(np.mean(s.logprobs)) for s in scores]
    assert fit["prob"].to_numpy() == pytest.approx(expected, rel=1e-6)
    assert ((fit["prob"] > 0) & (fit["prob"] < 1)).all()
    # Token accuracy: the share of target tokens that are the argmax under teacher forcing.
    for i in range(len(SOURCES)):
        src = tokenizer(SOURCES[i], return_tensors="pt")["input_ids"]
        tgt = tokenizer(TARGETS[i], return_tensors="pt")["input_ids"]
        start = torch.full_like(tgt[:, :1], model.config.decoder_start_token_id)
        with torch.no_grad():
            logits = model(input_ids=src, decoder_input_ids=torch.cat([start, tgt[:, :-1]], 1)).logits
        assert fit["correct"][i] == pytest.approx(logits.argmax(-1).eq(tgt).float().mean().item())


def test_cm_buckets_follow_p3s_edges():
    assert bucket_labels() == ["<0.2", "0.2-0.3", "0.3-0.4", ">=0.4"]
    got = cm_buckets([-0.3, 0.0, 0.1999, 0.2, 0.29, 0.3, 0.4, 0.95], P3_CM_EDGES)
    assert list(got) == ["<0.2", "<0.2", "<0.2", "0.2-0.3", "0.2-0.3", "0.3-0.4", ">=0.4", ">=0.4"]
    assert bucket_labels([0.5]) == ["<0.5", ">=0.5"]


def test_confidence_tails_have_equal_size_and_the_right_members():
    conf = np.array([0.5, 0.1, 0.9, 0.3, 0.7, 0.2, 0.8, 0.4, 0.6, 0.05])
    groups = confidence_groups(conf, share=0.2)
    assert set(np.flatnonzero(groups == "low")) == {1, 9} and set(np.flatnonzero(groups == "high")) == {2, 6}
    assert (groups == "").sum() == 6


def test_groups_and_rates_per_bucket():
    pairs = pd.DataFrame({"pair_id": [10, 11, 12, 13]})
    cm = pd.DataFrame({"example": [10, 11, 12, 13], "cm_probability": [0.05, 0.25, 0.45, 0.5]})
    conf = pd.DataFrame({"pair_id": [10, 11, 12, 13, 13], "confidence": [0.1, 0.2, 0.9, 0.8, 0.8]})
    groups = assign_groups(pairs, cm, conf, confidence_share=0.25)
    assert list(groups["cm_bucket"]) == ["<0.2", "0.2-0.3", ">=0.4", ">=0.4"]
    assert list(groups["confidence_group"]) == ["low", "", "high", ""]

    flags = {"teacher": [False, True, True, True], "student": [False, False, True, False]}
    examples = pd.concat(
        [
            pd.DataFrame(
                {
                    "model": m,
                    "pair_id": pairs["pair_id"],
                    "reference_kind": "corpus",
                    "replicated": f,
                    "exmem": [False, False, f[2], False],
                }
            )
            for m, f in flags.items()
        ],
        ignore_index=True,
    )
    secondary = pd.DataFrame(
        {
            "model": "student",
            "pair_id": pairs["pair_id"],
            "reference_kind": "teacher",
            "replicated": [True, True, True, False],
            "exmem": False,
        }
    )
    rates = subgroup_rates(pd.concat([examples, secondary]), groups).set_index(
        ["grouping", "group", "model", "metric"]
    )
    assert rates.loc[("cm", ">=0.4", "teacher", "replication"), "value"] == 1.0
    assert rates.loc[("cm", ">=0.4", "student", "replication"), "value"] == 0.5
    assert rates.loc[("cm", ">=0.4", "student", "exmem"), "value"] == 0.5
    assert rates.loc[("all", "all", "student", "replication_of_teacher"), "value"] == 0.75
    assert rates.loc[("teacher_confidence", "high", "teacher", "replication"), ["value", "n"]].tolist() == [1.0, 1]
    assert rates.loc[("cm", "0.3-0.4", "teacher", "replication"), "n"] == 0
    assert ("teacher", "replication_of_teacher") not in {(m, k) for _, _, m, k in rates.index}
    inside = rates.dropna(subset=["value"])
    assert ((inside["ci_low"] <= inside["value"]) & (inside["value"] <= inside["ci_high"])).all()


def test_missing_scores_are_named():
    pairs = pd.DataFrame({"pair_id": [1, 2]})
    with pytest.raises(ValueError, match="pair_id 2"):
        assign_groups(
            pairs,
            pd.DataFrame({"example": [1], "cm_probability": [0.1]}),
            pd.DataFrame({"pair_id": [1, 2], "confidence": [0.5, 0.5]}),
        )
