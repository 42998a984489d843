import copy
import json
from dataclasses import replace

import numpy as np

from rotelab.core.device import pick_device, set_threads
from rotelab.core.io import atomic_dir, read_parquet, write_parquet
from rotelab.core.logs import log_to
from rotelab.data.tokenizer import load_tokenizer
from rotelab.membership.lm_references import (
    federated_reference_documents,
    observations,
    observe_notes,
    reference_documents,
)
from rotelab.membership.matrix import from_table
from rotelab.models.causal_lm import epoch_steps, train_lm, train_lm_ensemble
from rotelab.models.seq2seq import load_model, save_checkpoint
from rotelab.training.finetune import prepared_copies, regime_for, regimes, train_run
from rotelab.training.seq2seq import TrainConfig

# K reference fine-tunes of the base, trained as the P1 run of the set's spec (centralized or
# FedAvg, full or LoRA), model k on the QA training set and the P1 runs' audit records plus
# the notes the matrix marks IN for it; then every model observes every note and the
# population notes.
with log_to(snakemake.log[0]):
    set_threads(snakemake.threads)
    params = snakemake.params
    device = pick_device(params.device)
    qa, canaries = read_parquet(snakemake.input.qa), read_parquet(snakemake.input.canaries)
    audit = read_parquet(snakemake.input.audit)
    matrix, ids = from_table(read_parquet(snakemake.input.matrix))
    if list(ids) != canaries["canary_id"].tolist():
        raise ValueError(f"{snakemake.input.matrix} does not list the notes of {snakemake.input.canaries}")
    tokenizer = load_tokenizer(snakemake.input.base)
    train = dict(params.run["train"])
    epochs = train.pop("epochs")
    seeds = [train["seed"] + params.seed + k for k in range(len(matrix))]
    texts = [reference_documents(qa, canaries, matrix[k], seed, audit) for k, seed in enumerate(seeds)]
    # One step count for all K (an ensemble steps together): the mean size's epochs.
    examples = sum(len(model_texts) for model_texts in texts) / len(texts)
    steps = epoch_steps(round(examples), epochs, train["batch_size"])
    cfg = TrainConfig(
        **{**train, "steps": steps, "warmup_steps": min(train["warmup_steps"], steps), "device": device.type}
    )
    regime = regime_for(params.run)
    federated = params.run["spec"]["setting"] == "federated"
    print(
        f"{len(matrix)} {regime.name} reference models ({'FedAvg' if federated else 'centralized'}), "
        f"documents {[len(t) for t in texts]}"
    )
    base = load_model(snakemake.input.base, "cpu", "AutoModelForCausalLM").train()
    if federated:
        # Trained as P1's FedAvg run of this adapter (rounds, clients, fresh merged LoRA
        # adapters per round), model k on its IN notes; one after another.
        models, logs = [], []
        for k, seed in enumerate(seeds):
            clients = federated_reference_documents(qa, canaries, matrix[k], seed, audit)
            run = {**params.run, "train": {**params.run["train"], "seed": seed}}
            model, log, summary = train_run(
                lambda: copy.deepcopy(base), tokenizer, clients, run, params.block_size, device.type
            )
            print(
                f"reference {k}: {summary['steps']} FedAvg client steps, client documents {[len(c) for c in clients]}"
            )
            models.append(model)
            logs.append(log)
        steps = int(summary["steps"])
    else:
        print(f"{steps} steps each")
        models = prepared_copies(base, regime, seeds)
        if params.ensemble:
            logs = train_lm_ensemble(models, tokenizer, texts, cfg, params.block_size, seeds)
        else:
            logs = [
                train_lm(model, tokenizer, model_texts, replace(cfg, seed=seed), params.block_size)
                for model, model_texts, seed in zip(models, texts, seeds)
            ]
        finish = regimes.get(regime.name)().finish
        models = [finish(model) for model in models]  # LoRA: merged, a plain checkpoint
    models = [model.to(device).eval() for model in models]
    observed = observations([observe_notes(model, tokenizer, canaries, params.block_size) for model in models], matrix)
    # RMIA's population: notes no model trained on, observed under every model.
    population = read_parquet(snakemake.input.population)
    population_observed = observations(
        [observe_notes(model, tokenizer, population, params.block_size) for model in models],
        np.zeros((len(models), len(population)), dtype=bool),
    )
    member = observed["member"]
    print(
        f"mean note log-probability: IN {observed.loc[member, 'logprob'].mean():.3f}, "
        f"OUT {observed.loc[~member, 'logprob'].mean():.3f}"
    )
    with atomic_dir(snakemake.output.models) as tmp:
        for k, (model, log) in enumerate(zip(models, logs)):
            save_checkpoint(tmp / f"model_{k:03d}", model, tokenizer, log)
        (tmp / "ensemble.json").write_text(
            json.dumps(
                {
                    "models": len(models),
                    "notes": len(canaries),
                    "steps": steps,
                    "seeds": seeds,
                    "adapter": regime.name,
                    "setting": params.run["spec"]["setting"],
                    "trained_as_ensemble": params.ensemble and not federated,
                },
                indent=1,
            )
        )
    write_parquet(observed, snakemake.output.observations)
    write_parquet(population_observed, snakemake.output.population)
