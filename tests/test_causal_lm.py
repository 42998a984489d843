"""Causal-LM building, packing and pretraining to a plateau, on tiny real GPT-2 models."""

import numpy as np
import pandas as pd
import pytest
import torch

from rotelab.causal_lm import LMConfig, PlateauConfig, build_lm, mean_loss, pack, pretrain
from rotelab.tokenizer import train_bpe
from rotelab.training import TrainConfig

ANIMALS = "cat dog horse cow sheep goat duck goose".split()


def sentences(n, seed):
    rng = np.random.default_rng(seed)
    return [f"the {a} sees the {b} ." for a, b in rng.choice(ANIMALS, size=(n, 2))]


@pytest.fixture(scope="module")
def tokenizer():
    return train_bpe(sentences(400, 0), vocab_size=300, min_frequency=1)


def test_pack_cuts_the_token_stream_into_overlapping_target_rows(tokenizer):
    blocks = pack(tokenizer, sentences(50, 1), block_size=16)
    stream = np.concatenate(tokenizer(sentences(50, 1))["input_ids"])
    assert blocks.shape[1] == 17
    np.testing.assert_array_equal(blocks[1], stream[16:33])  # row i covers tokens 16i .. 16i+16
    with pytest.raises(ValueError, match="fewer than one block"):
        pack(tokenizer, ["cat"], block_size=64)


@pytest.mark.parametrize("arch", [LMConfig(d_model=32, layers=1, heads=2, block_size=16, dropout=0.0),
                                  LMConfig(d_model=48, layers=2, heads=4, block_size=16, dropout=0.0)],
                         ids=["1-layer", "2-layer"])
def test_pretraining_lowers_validation_loss_and_stops_at_a_plateau(arch, tokenizer):
    torch.set_num_threads(1)
    model = build_lm(arch, tokenizer, seed=0)
    valid = sentences(60, 2)
    before = mean_loss(model, pack(tokenizer, valid, 16), pad_id=tokenizer.pad_token_id)
    log = pretrain(model, tokenizer, sentences(400, 3), valid,
                   TrainConfig(steps=400, batch_size=16, lr=5e-3, warmup_steps=10, log_every=25, device="cpu"),
                   PlateauConfig(eval_every=25, patience=2, min_delta=0.05), block_size=16, log=lambda *_: None)
    evaluated = log.dropna(subset=["val_loss"])
    assert evaluated["val_loss"].iloc[-1] < 0.6 * before
    assert log["step"].iloc[-1] < 400  # the toy language is learnt long before 400 steps
    assert isinstance(log, pd.DataFrame) and {"val_loss", "val_ppl"} <= set(log.columns)
