"""Real training and decoding of tiny Marian models (parametrized over sizes)."""

import numpy as np
import pandas as pd
import pytest
import torch

from rotelab.data.tokenizer import load_tokenizer, train_bpe
from rotelab.models.seq2seq import ModelConfig, build_model, load_model
from rotelab.models.seq2seq_decoding import DecodeConfig, continue_targets, score_targets, translate
from rotelab.training.seq2seq import (
    TrainConfig,
    bucketed_batches,
    lr_at,
    pad,
    seq2seq_loss,
    seq2seq_loss_fused,
    static_width,
    token_budget_batches,
    train_seq2seq,
    train_seq2seq_ensemble,
)

WORDS = "red green blue small large happy quiet river mountain city".split()
GERMAN = dict(zip(WORDS, "rot grün blau klein groß froh still fluss berg stadt".split()))


def toy_pairs(n=200, seed=0):
    rng = np.random.default_rng(seed)
    src, tgt = [], []
    for _ in range(n):
        ws = list(rng.choice(WORDS, size=rng.integers(3, 6)))
        src.append(" ".join(ws) + " .")
        tgt.append(" ".join(GERMAN[w] for w in ws) + " .")
    return pd.DataFrame({"src": src, "tgt": tgt})


@pytest.fixture(scope="module")
def tokenizer():
    pairs = toy_pairs()
    return train_bpe(list(pairs.src) + list(pairs.tgt), vocab_size=300, min_frequency=1)


SIZES = [
    ModelConfig(d_model=32, encoder_layers=1, decoder_layers=1, heads=2, ffn_dim=64, dropout=0.0),
    ModelConfig(d_model=48, encoder_layers=2, decoder_layers=1, heads=4, ffn_dim=96, dropout=0.0),
]


@pytest.mark.parametrize("arch", SIZES, ids=["1+1", "2+1"])
def test_training_learns_a_toy_translation(arch, tokenizer, tmp_path):
    torch.set_num_threads(1)
    pairs = toy_pairs()
    model = build_model(arch, tokenizer, seed=0)
    log = train_seq2seq(
        model,
        tokenizer,
        pairs,
        TrainConfig(steps=150, batch_size=16, lr=5e-3, warmup_steps=10, log_every=50, device="cpu"),
        log=lambda *_: None,
    )
    assert list(log.columns) == ["step", "loss", "lr", "tokens_per_s"]
    assert log["loss"].iloc[-1] < 0.75 * log["loss"].iloc[0]
    assert (log["tokens_per_s"] > 0).all()

    model.save_pretrained(tmp_path, safe_serialization=True)
    tokenizer.save_pretrained(tmp_path)
    files = {p.name for p in tmp_path.iterdir()}
    assert "model.safetensors" in files and not any(f.endswith((".bin", ".pt", ".pkl")) for f in files)
    reloaded = load_model(tmp_path)
    tok2 = load_tokenizer(tmp_path)
    assert tok2("red river .")["input_ids"] == tokenizer("red river .")["input_ids"]
    for a, b in zip(model.state_dict().values(), reloaded.state_dict().values()):
        torch.testing.assert_close(a, b)


@pytest.mark.parametrize("arch", SIZES, ids=["1+1", "2+1"])
def test_seq2seq_ensemble_matches_separate_training(arch, tokenizer):
    """Three models on subsets of unequal size (so their batches differ in rows and widths
    every step) end as three train_seq2seq runs do: same schedule, clipping, label smoothing
    and weight decay, each model's own batch order."""
    from dataclasses import replace

    torch.set_num_threads(1)
    pairs = toy_pairs(120, seed=3)
    subsets = [pairs.iloc[:50], pairs.iloc[30:100], pairs.iloc[::2]]
    cfg = TrainConfig(steps=25, batch_size=16, lr=3e-3, warmup_steps=5, weight_decay=0.05, log_every=10, device="cpu")
    seeds = [4, 5, 6]
    separate = []
    for subset, seed in zip(subsets, seeds):
        model = build_model(arch, tokenizer, seed=seed)
        train_seq2seq(model, tokenizer, subset, replace(cfg, seed=seed), log=lambda *_: None)
        separate.append(model)
    together = [build_model(arch, tokenizer, seed=seed) for seed in seeds]
    logs = train_seq2seq_ensemble(together, tokenizer, subsets, cfg, seeds, log=lambda *_: None)
    for a, b in zip(separate, together):
        assert not b.training
        for (name, pa), pb in zip(a.named_parameters(), b.parameters()):
            torch.testing.assert_close(pa, pb, atol=5e-5, rtol=1e-4, msg=name)
    assert [list(log["step"]) for log in logs] == [[10, 20, 25]] * 3
    assert all(list(log.columns) == ["step", "loss", "lr", "tokens_per_s"] for log in logs)
    # the models saw different data: their losses differ, and every one fell
    assert len({round(log["loss"].iloc[0], 6) for log in logs}) == 3
    assert all(log["loss"].iloc[-1] < log["loss"].iloc[0] for log in logs)


def test_batched_translation_matches_one_by_one_generate(tokenizer):
    """Length-sorted batching with padding must not change any greedy output."""
    model = build_model(SIZES[0], tokenizer, seed=1)
    train_seq2seq(
        model,
        tokenizer,
        toy_pairs(),
        TrainConfig(steps=60, batch_size=16, lr=5e-3, warmup_steps=5, log_every=60, device="cpu"),
        log=lambda *_: None,
    )
    sources = list(toy_pairs(12, seed=5).src)
    ours = translate(model, tokenizer, sources, DecodeConfig(batch_size=5, max_new_tokens=20), progress=False)
    theirs = []
    for s in sources:
        ids = tokenizer(s, return_tensors="pt")["input_ids"]
        out = model.generate(input_ids=ids, num_beams=1, do_sample=False, max_new_tokens=20)
        theirs.append(tokenizer.decode(out[0, 1:], skip_special_tokens=True).strip())
    assert ours == theirs
    beam = translate(model, tokenizer, sources, DecodeConfig(beam=3, batch_size=5, max_new_tokens=20), progress=False)
    assert len(beam) == len(sources) and all(isinstance(b, str) for b in beam)


def test_score_targets_agrees_with_the_model_loss(tokenizer):
    model = build_model(SIZES[0], tokenizer, seed=2).eval()
    src, tgt = "red city .", "rot stadt ."
    scores = score_targets(model, tokenizer, [src, "blue ."], [tgt, "blau ."], batch_size=2)[0]
    enc = tokenizer(src, return_tensors="pt")["input_ids"]
    labels = tokenizer(tgt, return_tensors="pt")["input_ids"]
    with torch.no_grad():
        loss = model(input_ids=enc, labels=labels).loss
    assert -scores.logprobs.mean() == pytest.approx(loss.item(), rel=1e-4)
    assert len(scores.logprobs) == labels.shape[1]
    assert np.all(scores.std >= 0) and np.all(scores.mean <= 0)


def test_bucketed_batches_cover_every_example_once_per_epoch():
    lengths = np.random.default_rng(0).integers(1, 50, size=103)
    gen = bucketed_batches(lengths, 10, np.random.default_rng(1))
    seen = np.concatenate([next(gen) for _ in range(11)])  # ceil(103 / 10) batches
    assert sorted(seen) == list(range(103))


def test_learning_rate_schedule():
    cfg = TrainConfig(steps=100, lr=1.0, warmup_steps=10)
    assert lr_at(0, cfg) == pytest.approx(0.1)
    assert lr_at(9, cfg) == pytest.approx(1.0)
    assert lr_at(99, cfg) == pytest.approx(0.1 + 0.9 * (1 - 89 / 90))


def test_continue_targets_matches_uncached_greedy_for_mixed_prefix_lengths(tokenizer):
    """Grouping by prefix length and batching must give what a plain argmax loop gives."""
    model = build_model(SIZES[0], tokenizer, seed=3)
    train_seq2seq(
        model,
        tokenizer,
        toy_pairs(),
        TrainConfig(steps=60, batch_size=16, lr=5e-3, warmup_steps=5, log_every=60, device="cpu"),
        log=lambda *_: None,
    )
    model.eval()
    pairs = toy_pairs(7, seed=9)
    prefixes = [tokenizer(t, add_special_tokens=False)["input_ids"][: 1 + k % 3] for k, t in enumerate(pairs.tgt)]
    ours = continue_targets(model, tokenizer, list(pairs.src), prefixes, max_new_tokens=8, batch_size=2)
    start = model.config.decoder_start_token_id
    for src, prefix, text in zip(pairs.src, prefixes, ours):
        enc = tokenizer(src, return_tensors="pt")["input_ids"]
        cur = [start, *prefix]
        for _ in range(7):  # the 8th new token is EOS, forced by Marian's forced_eos_token_id
            with torch.no_grad():
                logits = model(input_ids=enc, decoder_input_ids=torch.tensor([cur])).logits
            cur.append(int(logits[0, -1].argmax()))
            if cur[-1] == tokenizer.eos_token_id:
                break
        assert text == tokenizer.decode(cur[1:], skip_special_tokens=True).strip()


def test_static_width_and_full_batches_for_compile():
    assert [static_width(n) for n in (1, 8, 9, 16, 17, 64)] == [8, 8, 16, 16, 32, 64]
    assert static_width(3, 12, 5) == 16
    assert pad([[1, 2], [3]], 0, width=8).shape == (2, 8)
    gen = bucketed_batches(np.arange(1, 104), 10, np.random.default_rng(0), full_only=True)
    assert {len(next(gen)) for _ in range(40)} == {10}


def test_token_budget_batches_fit_the_budget_and_cover_every_pair_once_per_epoch():
    rng = np.random.default_rng(0)
    src, tgt = rng.integers(1, 30, size=500), rng.integers(1, 30, size=500)
    src[7], tgt[7] = 90, 80  # longer than the budget: a batch of its own
    gen = token_budget_batches(src, tgt, 150, np.random.default_rng(1))
    for _ in range(2):  # two epochs, each a fresh set of batches
        seen, batches = [], []
        while len(seen) < 500:
            batches.append(next(gen))
            seen += list(batches[-1])
        assert sorted(seen) == list(range(500))
        for b in batches:
            assert len(b) * (src[b].max() + tgt[b].max()) <= 150 or list(b) == [7]
        # Sorted by length before cutting: a batch pads little (here, under a third).
        padded = sum(len(b) * (src[b].max() + tgt[b].max()) for b in batches if len(b) > 1)
        assert padded < 1.35 * sum(src[b].sum() + tgt[b].sum() for b in batches if len(b) > 1)


@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_linear_cross_entropy_equals_head_then_cross_entropy(smoothing):
    from rotelab.training.linear_cross_entropy import linear_cross_entropy

    gen = torch.Generator().manual_seed(0)
    hidden = torch.randn(37, 16, generator=gen, requires_grad=True)
    weight = torch.randn(50, 16, generator=gen, requires_grad=True)
    bias = torch.randn(1, 50, generator=gen, requires_grad=True)
    labels = torch.randint(0, 50, (37,), generator=gen)
    labels[::4] = -100
    expected = torch.nn.functional.cross_entropy(hidden @ weight.T + bias, labels, label_smoothing=smoothing)
    fused = linear_cross_entropy(hidden, weight, bias, labels, label_smoothing=smoothing, chunk=8)
    assert fused.item() == pytest.approx(expected.item(), rel=1e-6)
    for ours, theirs in zip(
        torch.autograd.grad(2 * fused, (hidden, weight, bias)),
        torch.autograd.grad(2 * expected, (hidden, weight, bias)),
    ):
        torch.testing.assert_close(ours, theirs, rtol=1e-5, atol=1e-6)


def test_fused_seq2seq_loss_equals_the_models_own_head_and_loss(tokenizer):
    model = build_model(ModelConfig(d_model=32, heads=2, ffn_dim=64, dropout=0.0), tokenizer, seed=0).train()
    pairs = toy_pairs(24, seed=4)
    batch = (
        pad(tokenizer(list(pairs.src))["input_ids"], tokenizer.pad_token_id),
        pad(tokenizer(list(pairs.tgt))["input_ids"], tokenizer.pad_token_id),
    )
    args = (batch, tokenizer.pad_token_id, model.config.decoder_start_token_id, 0.1)
    params = [p for p in model.parameters() if p.requires_grad]
    plain = seq2seq_loss(model, *args)
    fused = seq2seq_loss_fused(
        model.base_model, model.get_output_embeddings().weight, model.final_logits_bias, *args, chunk=50
    )
    assert fused.item() == pytest.approx(plain.item(), rel=1e-6)
    for ours, theirs in zip(torch.autograd.grad(fused, params), torch.autograd.grad(plain, params)):
        torch.testing.assert_close(ours, theirs, rtol=1e-4, atol=1e-6)


def test_train_seq2seq_under_a_token_budget_learns(tokenizer):
    model = build_model(SIZES[0], tokenizer, seed=3)
    log = train_seq2seq(
        model,
        tokenizer,
        toy_pairs(),
        TrainConfig(steps=120, max_tokens=400, lr=5e-3, warmup_steps=5, log_every=40, device="cpu"),
        log=lambda *_: None,
    )
    assert log["loss"].iloc[-1] < 0.75 * log["loss"].iloc[0]
