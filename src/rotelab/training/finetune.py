"""Fine-tuning regimes for the causal-LM track (P1): a registry of ways to adapt the base.

A regime prepares a freshly loaded base model for training and turns the trained model back
into a plain checkpoint. ``full`` trains every weight; ``lora`` trains peft LoRA adapters on
the attention and MLP projections and merges them into the weights afterwards, which is what
P1's clients upload (``tuneinsight/federated-llms`` ``src/merge_lora.py``). Federated
averaging, DP-SGD, weight noise, Goldfish loss and secure aggregation combine with these and
are added as further regimes and wrappers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from rotelab.core.registry import Registry
from rotelab.models.causal_lm_recipes import ALL_LINEAR, PROJECTIONS
from rotelab.training.dp import DPSettings
from rotelab.training.goldfish import GoldfishSettings

regimes: Registry = Registry("fine-tuning regime")


@dataclass(frozen=True)
class LoraSettings:
    """LoRA adapters (P1: r 16, alpha 8, dropout 0.05 on all attention and MLP projections).

    target_modules: module names to adapt; GPT-2's are ``c_attn`` (q, k, v), ``c_proj``
    (attention and MLP output) and ``c_fc`` (MLP input); ``("all-linear",)`` lets peft adapt
    every linear layer but the LM head (``causal_lm_recipes.lora_target_modules``).
    """

    r: int = 16
    alpha: int = 8
    dropout: float = 0.05
    target_modules: tuple[str, ...] = PROJECTIONS["gpt2"]


@dataclass(frozen=True)
class Regime:
    """How to train.

    name: the registered regime (``full``, ``lora``); ``lora`` configures LoRA.
    dp: train with DP-SGD instead of plain AdamW (optional).
    goldfish: leave a hashed 1/k of the targets out of the loss (optional; not with DP,
        whose accountant assumes every sample's loss is a mean over the same tokens).
    weight_noise: P1's own "DP": Gaussian noise of this standard deviation added to the
        trained weights (for LoRA, to the adapters before merging) after training. It is a
        defense without a privacy guarantee, named as such.
    """

    name: str = "full"
    lora: LoraSettings = field(default_factory=LoraSettings)
    dp: DPSettings | None = None
    goldfish: GoldfishSettings | None = None
    weight_noise: float | None = None

    def __post_init__(self):
        if self.dp is not None and self.goldfish is not None:
            raise ValueError(
                "DP-SGD and the goldfish loss do not combine: the accountant assumes "
                "every sample's loss averages the same number of tokens"
            )


class FullFineTuning:
    """Every weight of the base is trained."""

    def prepare(self, model, regime: Regime):
        for p in model.parameters():
            p.requires_grad_(True)
        return model

    def finish(self, model):
        return model


class LoraFineTuning:
    """Fresh LoRA adapters on the base, merged into its weights when training ends."""

    def prepare(self, model, regime: Regime):
        from peft import LoraConfig, get_peft_model

        lora = regime.lora
        hidden = getattr(model.config, "n_embd", None) or getattr(model.config, "hidden_size")
        if lora.r > hidden:
            raise ValueError(f"LoRA rank {lora.r} exceeds the model's hidden size {hidden}")
        config = LoraConfig(
            r=lora.r,
            lora_alpha=lora.alpha,
            lora_dropout=lora.dropout,
            target_modules=ALL_LINEAR if lora.target_modules == (ALL_LINEAR,) else list(lora.target_modules),
            # GPT-2's projections are Conv1D layers whose weights are stored transposed.
            fan_in_fan_out=model.config.model_type == "gpt2",
            bias="none",
            task_type="CAUSAL_LM",
        )
        return get_peft_model(model, config)

    def finish(self, model):
        return model.merge_and_unload()


regimes.register("full")(FullFineTuning)
regimes.register("lora")(LoraFineTuning)


def prepared_copies(base, regime: Regime, seeds: list[int]) -> list:
    """One fresh copy of ``base`` per seed, prepared for ``regime``, for models trained side
    by side (e.g. reference sets); LoRA's random A matrices are drawn under each model's seed."""
    import copy

    import torch

    strategy = regimes.get(regime.name)()
    copies = []
    for seed in seeds:
        torch.manual_seed(seed)
        copies.append(strategy.prepare(copy.deepcopy(base), regime))
    return copies


def trainable_parameters(model) -> tuple[int, int]:
    """(trainable, total) parameter counts."""
    total = sum(p.numel() for p in model.parameters())
    return sum(p.numel() for p in model.parameters() if p.requires_grad), total


def finetune(
    model,
    tokenizer,
    texts,
    regime: Regime,
    cfg,
    block_size: int,
    log=print,
    seed: int = 0,
    dp_horizon: int | None = None,
):
    """Adapt ``model`` to ``texts`` under ``regime``; returns (plain trained model, log).
    Under DP-SGD the log carries the ``epsilon`` spent (by this call; ``dp_horizon`` is
    the number of steps the privacy budget covers, see ``dp.train_private``)."""
    import torch

    from rotelab.models.causal_lm import next_token_nll, train_lm
    from rotelab.training.dp import train_private
    from rotelab.training.goldfish import goldfish_nll

    strategy = regimes.get(regime.name)()
    # LoRA's A matrices are random: draw them under this run's seed (per round and client in
    # FedAvg), as prepared_copies does for references, so a rerun gives the same model.
    torch.manual_seed(seed)
    prepared = strategy.prepare(model, regime)
    trainable, total = trainable_parameters(prepared)
    extras = [
        name
        for name, on in (("DP-SGD", regime.dp), ("goldfish", regime.goldfish), ("weight noise", regime.weight_noise))
        if on
    ]
    log(f"regime {' + '.join([regime.name, *extras])}: {trainable:,} of {total:,} parameters trainable")
    if regime.dp is not None:
        prepared, history, _, _ = train_private(
            prepared, tokenizer, texts, cfg, block_size, regime.dp, log, horizon=dp_horizon
        )
    else:
        nll = (lambda fwd, rows: goldfish_nll(fwd, rows, regime.goldfish)) if regime.goldfish else next_token_nll
        history = train_lm(prepared, tokenizer, texts, cfg, block_size, log, nll=nll)
    if regime.weight_noise:
        generator = torch.Generator().manual_seed(seed)
        with torch.no_grad():
            for p in prepared.parameters():
                if p.requires_grad:
                    p.add_(torch.randn(p.shape, generator=generator).to(p.device) * regime.weight_noise)
    return strategy.finish(prepared), history


def regime_for(params: dict) -> Regime:
    """The Regime of a planned run (``lm_runs.run_params``)."""
    from rotelab.training.dp import DPSettings
    from rotelab.training.goldfish import GoldfishSettings

    lora = params.get("lora")
    return Regime(
        name=params["spec"]["adapter"],
        lora=LoraSettings(**{**lora, "target_modules": tuple(lora["target_modules"])}) if lora else LoraSettings(),
        dp=DPSettings(**params["dp"]) if "dp" in params else None,
        goldfish=GoldfishSettings(**params["goldfish"]) if "goldfish" in params else None,
        weight_noise=params.get("weight_noise"),
    )


def train_run(
    load_base, tokenizer, client_texts: list[list[str]], params: dict, block_size: int, device: str = "cpu", log=print
):
    """Train one planned run from a fresh copy of the base (``load_base()``).

    Every text is one example (a QA pair or one copy of a note: ``causal_lm.example_rows``).
    Centralized runs train on the pooled client data for ``train.epochs`` passes. FedAvg runs
    make ``federated.rounds`` rounds in which every client trains ``local_epochs`` passes over
    its own data from the global weights (LoRA: a fresh adapter each round, merged before
    upload), and the server averages the uploads weighted by client size, through pairwise
    masks for secure aggregation. Returns (model, training log, summary dict); the summary
    carries the optimizer steps and, for DP-SGD, the epsilon the whole run spent.
    """
    from rotelab.models.causal_lm import epoch_steps
    from rotelab.training.dp_accounting import epsilon_spent
    from rotelab.training.federated import FederatedSettings, fedavg
    from rotelab.training.seq2seq import TrainConfig

    spec, train = params["spec"], dict(params["train"])
    epochs = train.pop("epochs")
    regime = regime_for(params)

    def config(texts, passes, seed):
        steps = epoch_steps(len(texts), passes, train["batch_size"])
        return TrainConfig(
            **{
                **train,
                "steps": steps,
                "warmup_steps": min(train["warmup_steps"], steps),
                "seed": seed,
                "device": device,
            }
        )

    if spec["setting"] == "centralized":
        pooled = [t for texts in client_texts for t in texts]
        cfg = config(pooled, epochs, train["seed"])
        model, history = finetune(load_base(), tokenizer, pooled, regime, cfg, block_size, log, seed=train["seed"])
        summary = {"steps": cfg.steps}
        if regime.dp is not None:
            last = history.iloc[-1]
            summary.update(
                epsilon=float(last["epsilon"]),
                delta=float(last["delta"]),
                dp_accounting=[_accounting(last, int(last["step"]))],
            )
        return model, history, summary

    fed = params["federated"]
    settings = FederatedSettings(
        rounds=fed["rounds"],
        local_epochs=fed["local_epochs"],
        secure_aggregation=spec["defense"] == "secure_aggregation",
        seed=train["seed"],
    )
    histories, dp_rows = [], {}

    def train_client(model, texts, round_, client):
        # Every (round, client) draws its own batches and weight noise.
        seed = train["seed"] + 1000 * (round_ + 1) + client
        cfg = config(texts, settings.local_epochs, seed)
        trained, history = finetune(
            model, tokenizer, texts, regime, cfg, block_size, log, seed=seed, dp_horizon=cfg.steps * settings.rounds
        )
        histories.append(history.assign(round=round_ + 1, client=client))
        if regime.dp is not None:
            dp_rows[client] = history.iloc[-1]
        return trained

    model, _ = fedavg(load_base, client_texts, train_client, settings, log)
    history = pd.concat(histories, ignore_index=True)
    summary = {"steps": int(history.groupby(["round", "client"])["step"].max().sum())}
    if regime.dp is not None:
        # Each client's data is only ever seen by its own DP-SGD, so the run's guarantee is the
        # worst client's composition over all its rounds.
        spent = [
            epsilon_spent(r["noise_multiplier"], r["sample_rate"], int(r["step"]) * settings.rounds, r["delta"])
            for r in dp_rows.values()
        ]
        summary.update(
            epsilon=float(max(spent)),
            delta=float(max(r["delta"] for r in dp_rows.values())),
            dp_accounting=[_accounting(r, int(r["step"]) * settings.rounds) for r in dp_rows.values()],
        )
    return model, history, summary


def _accounting(row, steps: int) -> dict:
    """What the accountant needs of one DP-SGD part (``dp_accounting.accountant_epsilon``)."""
    return {
        "noise_multiplier": float(row["noise_multiplier"]),
        "sample_rate": float(row["sample_rate"]),
        "steps": steps,
    }
