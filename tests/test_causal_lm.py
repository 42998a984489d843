"""Causal-LM building, packing and pretraining to a plateau, on tiny real GPT-2 and LLaMA models."""

import numpy as np
import pandas as pd
import pytest
import torch

from rotelab.data.tokenizer import train_bpe
from rotelab.models.causal_lm import (
    IGNORE_INDEX,
    LMConfig,
    PlateauConfig,
    build_lm,
    epoch_steps,
    example_rows,
    mean_loss,
    next_token_loss,
    next_token_nll,
    pack,
    pretrain,
    train_lm,
    train_lm_ensemble,
    truncated,
)
from rotelab.training.seq2seq import TrainConfig

ANIMALS = "cat dog horse cow sheep goat duck goose".split()


def sentences(n, seed):
    rng = np.random.default_rng(seed)
    return [f"the {a} sees the {b} ." for a, b in rng.choice(ANIMALS, size=(n, 2))]


@pytest.fixture(scope="module")
def tokenizer():
    return train_bpe(sentences(400, 0), vocab_size=300, min_frequency=1)


def test_each_recipe_builds_with_its_architectures_own_dropout_unless_one_is_given(tokenizer):
    sizes = dict(d_model=16, layers=1, heads=2, block_size=16)
    gpt2 = build_lm(LMConfig("gpt2", **sizes), tokenizer).config
    assert (gpt2.resid_pdrop, gpt2.embd_pdrop, gpt2.attn_pdrop) == (0.1, 0.1, 0.1)
    assert build_lm(LMConfig("llama", **sizes), tokenizer).config.attention_dropout == 0.0
    assert build_lm(LMConfig("llama", **sizes, dropout=0.3), tokenizer).config.attention_dropout == 0.3
    assert build_lm(LMConfig("gpt2", **sizes, dropout=0.0), tokenizer).config.attn_pdrop == 0.0


def test_pack_cuts_the_token_stream_into_overlapping_target_rows(tokenizer):
    blocks = pack(tokenizer, sentences(50, 1), block_size=16)
    stream = np.concatenate(tokenizer(sentences(50, 1))["input_ids"])
    assert blocks.shape[1] == 17
    np.testing.assert_array_equal(blocks[1], stream[16:33])  # row i covers tokens 16i .. 16i+16
    with pytest.raises(ValueError, match="fewer than one block"):
        pack(tokenizer, ["cat"], block_size=64)


def test_example_rows_hold_one_example_each_from_its_start(tokenizer):
    texts = ["the cat sees the dog .", "the cow .", " ".join(["the goat sees the duck ."] * 5)]
    rows = example_rows(tokenizer, texts, block_size=16)
    ids = tokenizer(texts)["input_ids"]
    assert rows.shape == (3, 17) and all(doc[-1] == tokenizer.eos_token_id for doc in ids)
    for row, doc in zip(rows[:2], ids[:2]):  # the text and its EOS from position 0, then padding
        assert row.tolist() == doc + [IGNORE_INDEX] * (17 - len(doc))
    assert rows[2].tolist() == ids[2][:17] and truncated(rows) == 1


def test_fine_tuning_trains_every_example_exactly_once_per_epoch(tokenizer):
    texts = [f"the {a} sees the {b} ." for a in ANIMALS for b in ANIMALS[:3]]  # 24 distinct examples
    rows = {tuple(row[row != IGNORE_INDEX]): i for i, row in enumerate(example_rows(tokenizer, texts, 16))}
    drawn = []

    def recording_nll(forward, group):  # a batch's length groups, one call each, in order
        drawn.extend(rows[tuple(row[row != IGNORE_INDEX].tolist())] for row in group.numpy())
        return next_token_nll(forward, group)

    steps = epoch_steps(len(texts), 3, 5)
    assert steps == 15  # 5 batches (the last of 4 examples) per epoch
    model = build_lm(LMConfig(d_model=16, layers=1, heads=2, block_size=16, dropout=0.0), tokenizer, seed=0)
    train_lm(
        model,
        tokenizer,
        texts,
        TrainConfig(steps=steps, batch_size=5, lr=1e-3, warmup_steps=1, log_every=15, device="cpu", seed=3),
        16,
        log=lambda *_: None,
        nll=recording_nll,
    )
    epochs = [drawn[e * 24 : e * 24 + 24] for e in range(3)]
    assert all(sorted(epoch) == list(range(24)) for epoch in epochs)
    assert epochs[0] != epochs[1]  # a fresh order each epoch


def test_length_groups_split_short_rows_from_long_ones_only_where_it_pays():
    from rotelab.models.causal_lm import length_groups

    short_and_long = np.array([40, 170, 35, 38, 160, 42, 30, 175])
    groups = length_groups(short_and_long, overhead=256)
    assert [sorted(short_and_long[g].tolist()) for g in groups] == [[30, 35, 38, 40, 42], [160, 170, 175]]
    assert length_groups(np.array([40, 42, 38, 45]), overhead=256)[0].tolist() == [2, 0, 1, 3]  # one group
    assert len(length_groups(np.array([40, 42, 38, 45]), overhead=256)) == 1
    rows = length_groups(np.random.default_rng(0).integers(5, 200, 37), overhead=64)
    assert sorted(np.concatenate(rows).tolist()) == list(range(37)) and 1 <= len(rows) <= 3


def test_a_batch_in_length_groups_has_the_loss_and_gradient_of_one_padded_batch(tokenizer):
    """Fine-tuning computes each batch in length groups, each padded to its own longest row:
    the loss (the mean over every target of the batch) and its gradient are those of the
    whole batch padded to its longest row."""
    from rotelab.models.causal_lm import grouped_loss, grouped_rows, trim

    model = build_lm(LMConfig("llama", d_model=32, layers=2, heads=2, block_size=64, dropout=0.0), tokenizer, seed=0)
    texts = sentences(14, 3) + [" ".join(sentences(8, 4))] * 2
    rows = example_rows(tokenizer, texts, 64)
    groups = grouped_rows(rows, "cpu")
    assert len(groups) == 2 and max(g.shape[1] for g in groups) > 2 * min(g.shape[1] for g in groups)

    def loss_and_grads(loss):
        model.zero_grad(set_to_none=True)
        loss.backward()
        return loss.detach(), [p.grad.clone() for p in model.parameters()]

    whole, whole_grads = loss_and_grads(next_token_loss(model, torch.from_numpy(trim(rows))))
    grouped, grouped_grads = loss_and_grads(grouped_loss()(model, groups))
    torch.testing.assert_close(grouped, whole)
    for a, b in zip(grouped_grads, whole_grads):
        torch.testing.assert_close(a, b, atol=1e-6, rtol=1e-4)


@pytest.mark.parametrize(
    "arch",
    [
        LMConfig(d_model=32, layers=1, heads=2, block_size=16, dropout=0.0),
        LMConfig(d_model=48, layers=2, heads=4, block_size=16, dropout=0.0),
    ],
    ids=["1-layer", "2-layer"],
)
def test_pretraining_lowers_validation_loss_and_stops_at_a_plateau(arch, tokenizer):
    torch.set_num_threads(1)
    model = build_lm(arch, tokenizer, seed=0)
    valid = sentences(60, 2)
    before = mean_loss(model, pack(tokenizer, valid, 16), pad_id=tokenizer.pad_token_id)
    log = pretrain(
        model,
        tokenizer,
        sentences(400, 3),
        valid,
        TrainConfig(steps=400, batch_size=16, lr=5e-3, warmup_steps=10, log_every=25, device="cpu"),
        PlateauConfig(eval_every=25, patience=2, min_delta=0.05),
        block_size=16,
        log=lambda *_: None,
    )
    evaluated = log.dropna(subset=["val_loss"])
    assert evaluated["val_loss"].iloc[-1] < 0.6 * before
    assert log["step"].iloc[-1] < 400  # the toy language is learnt long before 400 steps
    assert isinstance(log, pd.DataFrame) and {"val_loss", "val_ppl"} <= set(log.columns)


@pytest.mark.parametrize("adapter", ["full", "lora"])
@pytest.mark.parametrize("recipe", ["gpt2", "llama"])
def test_lm_ensemble_matches_separate_fine_tunes_of_one_base(adapter, recipe, tokenizer):
    """K copies of one base, each fine-tuned on its own texts: together as one ensemble they
    end where K train_lm runs end (same blocks, schedule, clipping, weight decay), for full
    fine-tuning and for LoRA adapters (frozen base, only the adapters stacked and trained)."""
    from dataclasses import replace

    from rotelab.models.causal_lm_recipes import lora_target_modules
    from rotelab.training.finetune import LoraSettings, Regime, prepared_copies

    torch.set_num_threads(1)
    base = build_lm(LMConfig(recipe, d_model=32, layers=2, heads=2, block_size=16, dropout=0.0), tokenizer, seed=0)
    texts = [sentences(80, 10), sentences(120, 11), sentences(60, 12)]
    cfg = TrainConfig(steps=20, batch_size=8, lr=3e-3, warmup_steps=4, weight_decay=0.05, log_every=10, device="cpu")
    seeds = [1, 2, 3]
    targets = tuple(lora_target_modules(recipe, None))
    regime = Regime(adapter, lora=LoraSettings(r=4, alpha=8, dropout=0.0, target_modules=targets))
    separate = []
    for model_texts, seed in zip(texts, seeds):
        (model,) = prepared_copies(base, regime, [seed])
        train_lm(model, tokenizer, model_texts, replace(cfg, seed=seed), block_size=16, log=lambda *_: None)
        separate.append(model)
    together = prepared_copies(base, regime, seeds)
    logs = train_lm_ensemble(together, tokenizer, texts, cfg, 16, seeds, log=lambda *_: None)
    for a, b in zip(separate, together):
        for (name, pa), pb in zip(a.named_parameters(), b.parameters()):
            torch.testing.assert_close(pa, pb, atol=5e-5, rtol=1e-4, msg=name)
    if adapter == "lora":  # the base stayed frozen, the adapters moved
        trained = dict(together[0].named_parameters())
        assert all(not p.requires_grad for n, p in trained.items() if "lora_" not in n)
        moved = [n for n, p in trained.items() if "lora_B" in n and p.abs().sum() > 0]
        adapted = {n.split(".lora_B")[0].split(".")[-1] for n in moved}
        assert adapted == set(targets)  # every projection of the recipe (P1), all trained
    assert [log["step"].tolist() for log in logs] == [[10, 20]] * 3
    assert len({round(log["loss"].iloc[-1], 6) for log in logs}) == 3
    assert all((log["tokens_per_s"] > 0).all() for log in logs)


@pytest.mark.parametrize("recipe, shift_invariant", [("llama", True), ("gpt2", False)])
def test_a_window_means_the_same_at_position_0_only_under_rotary_positions(recipe, shift_invariant, tokenizer):
    """P1's extraction shows the model the L tokens before a split, from position 0. Under
    LLaMA's rotary positions (P1's models) attention sees only relative offsets, so the window
    gives the model the same next-token logits there as where it stood in the text; GPT-2's
    learned absolute positions do not (the reason lm.base.model.recipe is llama)."""
    model = build_lm(LMConfig(recipe, d_model=32, layers=2, heads=2, block_size=64, dropout=0.0), tokenizer, seed=0)
    model.eval()
    window = torch.tensor([tokenizer(" ".join(sentences(3, 5)))["input_ids"][:12]])
    with torch.no_grad():
        at_start = model(input_ids=window).logits
        moved = model(input_ids=window, position_ids=torch.arange(30, 42).unsqueeze(0)).logits
    assert torch.allclose(at_start, moved, atol=1e-4) == shift_invariant
