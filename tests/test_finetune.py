"""Fine-tuning regimes on tiny pretrained GPT-2 and LLaMA bases: full and LoRA (real peft),
DP-SGD, Goldfish, weight noise."""

import pytest
import torch

from rotelab.data.tokenizer import train_bpe
from rotelab.models.causal_lm import LMConfig, build_lm, example_rows, mean_loss, train_lm
from rotelab.models.causal_lm_recipes import PROJECTIONS
from rotelab.training.dp import DPSettings
from rotelab.training.finetune import (
    LoraSettings,
    Regime,
    finetune,
    regimes,
    trainable_parameters,
)
from rotelab.training.goldfish import GoldfishSettings
from rotelab.training.seq2seq import TrainConfig

LLAMA = PROJECTIONS["llama"]

BASE_TEXT = [
    f"the {a} river runs past the {b} hill ."
    for a in ("red", "blue", "old", "wide")
    for b in ("green", "tall", "bare", "round")
] * 5
TUNE_TEXT = ["Medical Note: Anna Berg takes salbutamol ."] * 20 + BASE_TEXT[:20]


@pytest.fixture(scope="module")
def base():
    torch.set_num_threads(1)
    tok = train_bpe(BASE_TEXT + TUNE_TEXT, vocab_size=300, min_frequency=1)
    model = build_lm(LMConfig(d_model=32, layers=2, heads=2, block_size=16, dropout=0.0), tok, seed=0)
    train_lm(
        model,
        tok,
        BASE_TEXT,
        TrainConfig(steps=60, batch_size=8, lr=5e-3, warmup_steps=5, log_every=60, device="cpu"),
        block_size=16,
        log=lambda *_: None,
    )
    return model.state_dict(), tok


def fresh(base):
    state, tok = base
    model = build_lm(LMConfig(d_model=32, layers=2, heads=2, block_size=16, dropout=0.0), tok, seed=0)
    model.load_state_dict(state)
    return model, tok


@pytest.mark.parametrize("name, rank", [("full", None), ("lora", 4), ("lora", 8)])
def test_regimes_fit_the_fine_tuning_text_and_return_a_plain_model(base, name, rank):
    model, tok = fresh(base)
    blocks = example_rows(tok, TUNE_TEXT, 16)
    before = mean_loss(model, blocks)
    regime = Regime(name=name, lora=LoraSettings(r=rank or 16, alpha=16, dropout=0.0))
    tuned, log = finetune(
        model,
        tok,
        TUNE_TEXT,
        regime,
        # 100 steps: with LoRA's A matrices now drawn under the run's seed (0 here), rank 4 needs
        # more than the 60 steps that sufficed with whatever the global generator held
        TrainConfig(steps=100, batch_size=8, lr=1e-2, warmup_steps=5, log_every=20, device="cpu"),
        block_size=16,
        log=lambda *_: None,
    )
    assert mean_loss(tuned, blocks) < 0.7 * before
    assert type(tuned).__name__ == "GPT2LMHeadModel"  # LoRA merged back: a plain checkpoint
    assert not any("lora" in n for n, _ in tuned.named_parameters())


def test_lora_fine_tuning_is_repeatable_under_its_seed(base):
    """LoRA's random A matrices are drawn under the run's seed: the same seed gives the same
    model, another seed another one (they were drawn from the unseeded global generator)."""
    regime = Regime(name="lora", lora=LoraSettings(r=4, alpha=8, dropout=0.0))
    cfg = TrainConfig(steps=5, batch_size=8, lr=1e-2, warmup_steps=1, log_every=5, device="cpu")

    def tuned(seed):
        model, tok = fresh(base)
        torch.manual_seed(1234 + seed * 7)  # whatever the global generator held before
        out, _ = finetune(model, tok, TUNE_TEXT, regime, cfg, block_size=16, log=lambda *_: None, seed=seed)
        return out.state_dict()

    first, again, other = tuned(3), tuned(3), tuned(4)
    assert all(torch.equal(first[k], again[k]) for k in first)
    assert not all(torch.equal(first[k], other[k]) for k in first)


def test_lora_trains_only_the_adapters(base):
    model, _ = fresh(base)
    prepared = regimes.get("lora")().prepare(model, Regime(name="lora", lora=LoraSettings(r=4)))
    trainable, total = trainable_parameters(prepared)
    # Per layer: c_attn 4*(32+96), c_proj (attn) 4*(32+32), c_fc 4*(32+128), c_proj (mlp) 4*(128+32).
    assert trainable == 2 * 4 * ((32 + 96) + (32 + 32) + (32 + 128) + (128 + 32))
    assert trainable < 0.2 * total


def test_lora_rank_above_the_hidden_size_is_rejected(base):
    model, _ = fresh(base)
    with pytest.raises(ValueError, match="LoRA rank 64 exceeds the model's hidden size 32"):
        regimes.get("lora")().prepare(model, Regime(name="lora", lora=LoraSettings(r=64)))


@pytest.mark.parametrize("name", ["full", "lora"])
def test_dp_sgd_spends_the_target_epsilon_and_still_learns(base, name):
    model, tok = fresh(base)
    blocks = example_rows(tok, TUNE_TEXT * 4, 16)
    before = mean_loss(model, blocks)
    regime = Regime(
        name=name, lora=LoraSettings(r=4, alpha=16, dropout=0.0), dp=DPSettings(target_epsilon=8.0, max_grad_norm=1.0)
    )
    tuned, log = finetune(
        model,
        tok,
        TUNE_TEXT * 4,
        regime,
        TrainConfig(steps=40, batch_size=8, lr=1e-2, warmup_steps=5, log_every=10, device="cpu"),
        block_size=16,
        log=lambda *_: None,
    )
    assert log["epsilon"].is_monotonic_increasing
    assert log["epsilon"].iloc[-1] == pytest.approx(8.0, rel=0.05)  # sigma was chosen for this budget
    assert mean_loss(tuned, blocks) < before  # noisy, but it still learns at epsilon 8
    assert type(tuned).__name__ == "GPT2LMHeadModel"


@pytest.mark.parametrize("group_overhead", [256, 0], ids=["whole-batches", "length-groups"])
def test_dp_epsilon_is_per_training_example(base, group_overhead, monkeypatch):
    """The privacy unit is one example, however long: Poisson sampling at rate batch / N over
    the N examples, and the run's epsilon is what Opacus's accountant gives one record, also
    when every batch is computed in length groups (one draw, not accumulated micro-batches)."""
    from opacus.accountants import RDPAccountant

    from rotelab.models import causal_lm
    from rotelab.training.dp import train_private

    monkeypatch.setattr(causal_lm, "GROUP_OVERHEAD_TOKENS", group_overhead)
    model, tok = fresh(base)
    # 40 examples of unequal length, several longer than one 16-token block
    texts = [f"patient {i} ." + " the red river runs ." * (i % 4) for i in range(40)]
    cfg = TrainConfig(steps=12, batch_size=8, lr=1e-2, warmup_steps=2, log_every=4, device="cpu")
    _, history, epsilon, delta = train_private(
        model, tok, texts, cfg, 16, DPSettings(target_epsilon=4.0), log=lambda *_: None
    )
    assert (history["sample_rate"] == 8 / 40).all() and delta == pytest.approx(0.1 / 40)
    accountant = RDPAccountant()
    accountant.history = [(float(history["noise_multiplier"].iloc[0]), 8 / 40, 12)]
    assert epsilon == pytest.approx(accountant.get_epsilon(delta), rel=1e-9)
    assert epsilon == pytest.approx(4.0, rel=0.05)


def test_dp_loss_is_a_mean_of_per_example_means():
    from rotelab.models.causal_lm import IGNORE_INDEX
    from rotelab.training.dp import private_loss

    batch = torch.tensor([[1, 2, 3, 4], [1, 2, IGNORE_INDEX, IGNORE_INDEX]])
    logits = torch.randn(2, 3, 5)
    nll = -torch.log_softmax(logits, -1)
    expected = ((nll[0, 0, 2] + nll[0, 1, 3] + nll[0, 2, 4]) / 3 + nll[1, 0, 2]) / 2

    def forward(input_ids, position_ids):
        assert (input_ids >= 0).all() and position_ids.tolist() == [[0, 1, 2]] * 2
        return type("Out", (), {"logits": logits})

    torch.testing.assert_close(private_loss(forward, batch), expected)


def test_dp_length_groups_give_the_per_sample_gradients_of_one_padded_batch(base):
    """DP-SGD computes a batch in length groups, one backward pass each: every row's
    per-sample gradient (what the optimizer clips) is the one the whole padded batch gives,
    and the logged loss is the mean over all rows."""
    from opacus import GradSampleModule

    from rotelab.models.causal_lm import grouped_rows, trim
    from rotelab.training.dp import private_grouped_loss, private_loss

    model, tok = fresh(base)
    texts = ["the red river .", "Medical Note: Anna Berg takes salbutamol and the old river ."] * 2
    rows = example_rows(tok, texts + ["the wide hill ."], 16)
    private = GradSampleModule(model, batch_first=True, loss_reduction="mean")
    whole = private_loss(private, torch.from_numpy(trim(rows)))
    whole.backward()
    expected = {n: p.grad_sample.clone() for n, p in private.named_parameters() if p.requires_grad}
    private.zero_grad(set_to_none=True)
    for p in private.parameters():
        p.grad_sample = None

    groups = grouped_rows(rows, "cpu", overhead=0)
    assert len(groups) >= 2  # the long notes apart from the short sentences
    grouped = private_grouped_loss(private, groups)
    grouped.backward()
    torch.testing.assert_close(grouped, whole)
    # Row order of the concatenated groups: shortest first (stable sort by length).
    lengths = (rows != -100).sum(axis=1)
    order = torch.from_numpy(lengths.argsort(kind="stable"))
    for name, p in private.named_parameters():
        if p.requires_grad:
            got = torch.cat(p.grad_sample) if isinstance(p.grad_sample, list) else p.grad_sample
            torch.testing.assert_close(got, expected[name][order], atol=1e-6, rtol=1e-4, msg=name)
    private._close()


def test_dp_noise_grows_as_epsilon_shrinks(base):
    from opacus.accountants.utils import get_noise_multiplier

    sigmas = [
        get_noise_multiplier(target_epsilon=e, target_delta=1e-3, sample_rate=0.1, steps=40, accountant="rdp")
        for e in (1.0, 8.0)
    ]
    assert sigmas[0] > 2 * sigmas[1]


def test_goldfish_and_weight_noise_regimes(base):
    cfg = TrainConfig(steps=40, batch_size=8, lr=1e-2, warmup_steps=5, log_every=20, device="cpu")
    model, tok = fresh(base)
    plain, _ = finetune(model, tok, TUNE_TEXT, Regime(name="full"), cfg, 16, log=lambda *_: None)
    model, tok = fresh(base)
    gold, log = finetune(
        model, tok, TUNE_TEXT, Regime(name="full", goldfish=GoldfishSettings(k=2, h=3)), cfg, 16, log=lambda *_: None
    )
    assert len(log) == 2 and log["loss"].iloc[-1] < log["loss"].iloc[0]
    model, tok = fresh(base)
    noisy, _ = finetune(
        model, tok, TUNE_TEXT, Regime(name="full", weight_noise=0.05), cfg, 16, log=lambda *_: None, seed=1
    )
    diffs = [
        (a - b).std().item()
        for a, b in zip(noisy.state_dict().values(), plain.state_dict().values())
        if a.dtype.is_floating_point and a.numel() > 100
    ]
    assert all(0.03 < d < 0.08 for d in diffs)  # the same training plus N(0, 0.05^2) on every weight


def test_dp_with_goldfish_is_rejected():
    from rotelab.training.goldfish import GoldfishSettings

    with pytest.raises(ValueError, match="do not combine"):
        Regime(name="lora", dp=DPSettings(), goldfish=GoldfishSettings())


def run_params(setting, adapter, defense="none", **extra):
    params = {
        "spec": {
            "setting": setting,
            "adapter": adapter,
            "rank": 4 if adapter == "lora" else None,
            "defense": defense,
            "level": None,
        },
        "train": {
            "epochs": 2,
            "batch_size": 4,
            "lr": 1e-2,
            "warmup_steps": 2,
            "weight_decay": 0.0,
            "grad_clip": 1.0,
            "seed": 1,
            "log_every": 5,
        },
    }
    if adapter == "lora":
        params["lora"] = {"r": 4, "alpha": 16, "dropout": 0.0, "target_modules": ["c_attn", "c_proj", "c_fc"]}
    if setting == "federated":
        params["federated"] = {"rounds": 2, "local_epochs": 1}
    return {**params, **extra}


CLIENTS = [TUNE_TEXT[:20] * 2, BASE_TEXT[:30], BASE_TEXT[30:50]]


@pytest.mark.parametrize(
    "setting, adapter",
    [("centralized", "full"), ("centralized", "lora"), ("federated", "full"), ("federated", "lora")],
)
def test_planned_runs_train_from_the_base_and_learn_the_clients_text(base, setting, adapter):
    from rotelab.models.causal_lm import epoch_steps
    from rotelab.training.finetune import train_run

    model, tok = fresh(base)
    blocks = example_rows(tok, CLIENTS[0], 16)
    before = mean_loss(model, blocks)
    tuned, history, summary = train_run(
        lambda: fresh(base)[0], tok, CLIENTS, run_params(setting, adapter), 16, log=lambda *_: None
    )
    assert type(tuned).__name__ == "GPT2LMHeadModel" and mean_loss(tuned, blocks) < before
    if setting == "centralized":
        pooled = [t for c in CLIENTS for t in c]
        assert summary["steps"] == epoch_steps(len(pooled), 2, 4) == 2 * -(-len(pooled) // 4)
    else:  # every client trains one local epoch in each of the 2 rounds
        assert set(zip(history["round"], history["client"])) == {(r, c) for r in (1, 2) for c in range(3)}
        assert summary["steps"] == 2 * sum(epoch_steps(len(c), 1, 4) for c in CLIENTS)
    assert "epsilon" not in summary


def test_federated_dp_spends_the_budget_over_all_rounds(base):
    from rotelab.training.finetune import train_run

    params = run_params("federated", "lora", "dp", dp={"target_epsilon": 4.0, "delta": 1e-3, "max_grad_norm": 1.0})
    clients = [c * 3 for c in CLIENTS]
    _, history, summary = train_run(lambda: fresh(base)[0], fresh(base)[1], clients, params, 16, log=lambda *_: None)
    # Each client's noise was calibrated for its two rounds: one round spends part of the
    # budget, the composition over both spends all of it.
    last_of_round = history.groupby(["round", "client"]).tail(1)
    assert (last_of_round["epsilon"] < 4.0).all()
    assert summary["epsilon"] == pytest.approx(4.0, rel=0.05) and summary["delta"] == 1e-3


@pytest.fixture(scope="module")
def llama_base(base):
    _, tok = base
    torch.manual_seed(0)
    model = build_lm(LMConfig("llama", d_model=32, layers=2, heads=2, block_size=16, dropout=0.0), tok, seed=0)
    cfg = TrainConfig(steps=60, batch_size=8, lr=5e-3, warmup_steps=5, log_every=60, device="cpu")
    train_lm(model, tok, BASE_TEXT, cfg, block_size=16, log=lambda *_: None)
    return model.state_dict(), tok


@pytest.mark.parametrize(
    "regime",
    [
        Regime("full"),
        Regime("lora", lora=LoraSettings(r=4, alpha=16, dropout=0.0, target_modules=LLAMA)),
        Regime("full", dp=DPSettings(target_epsilon=8.0, max_grad_norm=1.0)),
        Regime("lora", lora=LoraSettings(r=4, alpha=16, dropout=0.0, target_modules=LLAMA), dp=DPSettings(8.0, 1.0)),
        Regime("full", goldfish=GoldfishSettings(k=4, h=3)),
        Regime("full", weight_noise=0.001),
    ],
    ids=["full", "lora", "dp-full", "dp-lora", "goldfish", "weight-noise"],
)
def test_every_regime_fine_tunes_a_llama_base(llama_base, regime):
    """The default base is a LLaMA (RMSNorm, rotary positions, SwiGLU): every P1 regime adapts
    it, DP-SGD's per-sample gradients included, and hands back a plain LLaMA checkpoint."""
    state, tok = llama_base
    model = build_lm(LMConfig("llama", d_model=32, layers=2, heads=2, block_size=16, dropout=0.0), tok, seed=0)
    model.load_state_dict(state)
    blocks = example_rows(tok, TUNE_TEXT, 16)
    before = mean_loss(model, blocks)
    cfg = TrainConfig(steps=40, batch_size=8, lr=1e-2, warmup_steps=5, log_every=10, device="cpu")
    tuned, log = finetune(model, tok, TUNE_TEXT * 4, regime, cfg, block_size=16, log=lambda *_: None)
    assert type(tuned).__name__ == "LlamaForCausalLM"
    assert mean_loss(tuned, blocks) < before
    if regime.dp is not None:
        assert log["epsilon"].iloc[-1] == pytest.approx(8.0, rel=0.05)
