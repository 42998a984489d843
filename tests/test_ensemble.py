"""Batched ensemble training must equal K separate trainings (parametrized over an MLP
classifier and a tiny GPT-2 with tied embeddings)."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from rotelab.models.classifier import MLPClassifier, build_classifier, cross_entropy_loss
from rotelab.models.ensemble import (
    EnsembleTrainConfig,
    index_stream,
    train_ensemble,
    train_sequential,
)


def mlp(seed):
    return build_classifier(8, [16], 3, seed)


def gpt2(seed):
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(seed)
    return GPT2LMHeadModel(
        GPT2Config(
            vocab_size=50,
            n_positions=8,
            n_embd=16,
            n_layer=1,
            n_head=2,
            resid_pdrop=0,
            embd_pdrop=0,
            attn_pdrop=0,
            attn_implementation="eager",
        )
    )


def lm_loss(forward, batch):
    return forward(input_ids=batch["input_ids"], labels=batch["input_ids"]).loss


torch.manual_seed(0)
TASKS = {
    "mlp": (mlp, {"x": torch.randn(30, 8), "labels": torch.randint(0, 3, (30,))}, cross_entropy_loss),
    "gpt2": (gpt2, {"input_ids": torch.randint(0, 50, (30, 8))}, lm_loss),
}


@pytest.mark.parametrize("task", sorted(TASKS))
@pytest.mark.parametrize("clip", [None, 0.05])
def test_ensemble_equals_sequential_training(task, clip):
    make, data, loss = TASKS[task]
    members = [np.arange(k % 2, 30, 2) if k < 2 else np.arange(0, 20) for k in range(3)]
    # lr 1e-3: Adam divides by sqrt(v), so at large lr float noise in tiny gradients grows to ~lr
    cfg = EnsembleTrainConfig(steps=12, batch_size=4, lr=1e-3, weight_decay=0.01, grad_clip=clip)
    ensemble = train_ensemble([make(k) for k in range(3)], data, members, loss, cfg, [7, 8, 9], log=lambda *_: None)
    for k in range(3):
        alone = train_sequential(make(k), data, members[k], loss, cfg, seed=7 + k)
        together = ensemble.model(k, make(99))
        initial = make(k)
        for (name, a), b, c in zip(
            alone.state_dict().items(), together.state_dict().values(), initial.state_dict().values()
        ):
            assert torch.allclose(a, b, atol=1e-5), (task, k, name)
        # and training moved the weights: the comparison is not between two copies of init
        assert any(not torch.allclose(a, c) for a, c in zip(alone.parameters(), initial.parameters()))


def test_models_differ_and_each_saves_as_a_hugging_face_directory(tmp_path):
    make, data, loss = TASKS["mlp"]
    members = [np.arange(0, 15), np.arange(15, 30)]
    ensemble = train_ensemble(
        [make(0), make(1)],
        data,
        members,
        loss,
        EnsembleTrainConfig(steps=20, batch_size=5, lr=1e-2),
        [0, 1],
        log=lambda *_: None,
    )
    for k in range(2):
        ensemble.model(k, make(5)).save_pretrained(tmp_path / f"m{k}", safe_serialization=True)
    assert (tmp_path / "m0" / "model.safetensors").exists() and not list(tmp_path.glob("**/*.bin"))
    loaded = [MLPClassifier.from_pretrained(tmp_path / f"m{k}") for k in range(2)]
    with torch.no_grad():
        direct = F.softmax(ensemble.forward_shared({"x": data["x"]}), -1)
        for k, model in enumerate(loaded):
            assert torch.allclose(F.softmax(model(data["x"]), -1), direct[k], atol=1e-6)
    assert not torch.allclose(direct[0], direct[1])


def test_index_stream_walks_whole_epochs_of_the_members():
    members = np.array([3, 5, 9, 11, 20])
    stream = index_stream(members, steps=5, batch_size=3, seed=0)
    assert stream.shape == (5, 3)
    assert sorted(stream.reshape(-1)[:5]) == list(members) and sorted(stream.reshape(-1)[5:10]) == list(members)


def test_ensemble_rejects_layerdrop():
    """A random per-batch layer skip cannot run batched: say so instead of failing in vmap."""
    from rotelab.models.ensemble import Ensemble

    class Dropping(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.linear = torch.nn.Linear(2, 2)
            self.layerdrop = 0.1

    with pytest.raises(ValueError, match="layerdrop 0.1"):
        Ensemble([Dropping(), Dropping()])
