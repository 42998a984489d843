"""FedAvg and secure aggregation: masked uploads sum to plain FedAvg; real rounds on tiny GPT-2s."""

import pytest
import torch

from rotelab.data.tokenizer import train_bpe
from rotelab.models.causal_lm import LMConfig, build_lm, example_rows, mean_loss
from rotelab.training.federated import (
    FederatedSettings,
    fedavg,
    pairwise_masks,
    secure_weighted_average,
    weighted_average,
)
from rotelab.training.finetune import LoraSettings, Regime, finetune
from rotelab.training.seq2seq import TrainConfig


def test_weighted_average_by_client_size():
    states = [
        {"w": torch.tensor([1.0, 2.0]), "step": torch.tensor(3)},
        {"w": torch.tensor([4.0, 8.0]), "step": torch.tensor(3)},
    ]
    out = weighted_average(states, [1, 2])
    assert torch.allclose(out["w"], torch.tensor([3.0, 6.0])) and out["step"].item() == 3


def test_secure_aggregation_equals_fedavg_and_hides_each_upload():
    torch.manual_seed(0)
    states = [{"a": torch.randn(5, 3), "b": torch.randn(7)} for _ in range(4)]
    weights = [10, 1, 5, 2]
    plain = weighted_average(states, weights)
    secure = secure_weighted_average(states, weights, seed=3, scale=100.0)
    for name in plain:
        torch.testing.assert_close(secure[name], plain[name], rtol=0, atol=1e-5)
    masks = pairwise_masks({"a": (5, 3)}, 4, seed=3, scale=100.0)
    assert torch.allclose(sum(m["a"] for m in masks), torch.zeros(5, 3, dtype=torch.float64), atol=1e-9)
    assert all(m["a"].abs().mean() > 10 for m in masks)  # each upload is drowned in its mask


CLIENT_TEXT = [
    ["Medical Note: Anna Berg takes salbutamol ."] * 6 + ["the red river runs ."] * 10,
    ["the blue hill is tall ."] * 20,
    ["the old bridge is wide ."] * 8,
]


@pytest.mark.parametrize(
    "regime",
    [Regime(name="full"), Regime(name="lora", lora=LoraSettings(r=4, alpha=16, dropout=0.0))],
    ids=["full", "lora"],
)
def test_fedavg_rounds_lower_the_loss_on_every_client_and_secure_aggregation_agrees(regime):
    torch.set_num_threads(1)
    tok = train_bpe([t for c in CLIENT_TEXT for t in c], vocab_size=300, min_frequency=1)
    arch = LMConfig(d_model=32, layers=1, heads=2, block_size=16, dropout=0.0)
    cfg = TrainConfig(steps=15, batch_size=4, lr=1e-2, warmup_steps=2, log_every=15, device="cpu")

    def train_client(model, texts, round_, client):
        trained, _ = finetune(model, tok, texts, regime, cfg, 16, log=lambda *_: None)
        return trained

    results = {}
    # One round each way: after it the two global models must agree to float tolerance
    # (later rounds would amplify the float32 rounding of the masked sum through training).
    for secure, rounds in ((False, 2), (True, 1), ("plain-1", 1)):
        settings = FederatedSettings(rounds=rounds, secure_aggregation=secure is True)
        model, rows = fedavg(
            lambda: build_lm(arch, tok, seed=0), CLIENT_TEXT, train_client, settings, log=lambda *_: None
        )
        results[secure] = model
        assert [r["round"] for r in rows] == list(range(1, rounds + 1))
    start = build_lm(arch, tok, seed=0)
    for texts in CLIENT_TEXT:
        blocks = example_rows(tok, texts, 16)
        assert mean_loss(results[False], blocks) < mean_loss(start, blocks)
    for a, b in zip(results["plain-1"].state_dict().values(), results[True].state_dict().values()):
        if a.dtype.is_floating_point:
            torch.testing.assert_close(a, b, rtol=0, atol=1e-5)
