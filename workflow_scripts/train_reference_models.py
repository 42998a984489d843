import json

import numpy as np

from rotelab.core.device import pick_device, set_threads
from rotelab.core.io import atomic_dir, read_parquet, write_parquet
from rotelab.core.logs import log_to
from rotelab.membership.matrix import from_table
from rotelab.models.classifier import ClassifierTrainConfig, build_classifier, observe, train_reference_classifiers

with log_to(snakemake.log[0]):
    set_threads(snakemake.threads)
    params = snakemake.params
    device = pick_device(params.device)
    pool = read_parquet(snakemake.input.pool)
    matrix, ids = from_table(read_parquet(snakemake.input.matrix))
    if list(ids) != pool["example"].tolist():
        raise ValueError(f"{snakemake.input.matrix} does not list the examples of {snakemake.input.pool}")
    cfg = ClassifierTrainConfig(**{**params.classifier, "hidden": tuple(params.classifier["hidden"])})
    ensemble = train_reference_classifiers(pool, matrix, cfg, params.seed, device)
    observations = observe(ensemble, pool, matrix, device)
    # RMIA's population samples z: observed under every model, trained on by none.
    population = read_parquet(snakemake.input.population)
    population_observations = observe(ensemble, population, np.zeros((ensemble.size, len(population)), bool), device)
    train_acc = observations.loc[observations["member"], "correct"].mean()
    held_out_acc = observations.loc[~observations["member"], "correct"].mean()
    print(f"accuracy: training {train_acc:.4f}, held out {held_out_acc:.4f}")
    n_classes = int(pool["label"].max()) + 1
    with atomic_dir(snakemake.output.models) as tmp:
        for k in range(ensemble.size):
            like = build_classifier(ensemble.template.config.in_features, list(cfg.hidden), n_classes, 0)
            ensemble.model(k, like).save_pretrained(tmp / f"model_{k:03d}", safe_serialization=True)
        (tmp / "ensemble.json").write_text(
            json.dumps(
                {
                    "models": ensemble.size,
                    "examples": len(pool),
                    "seed": params.seed,
                    "classifier": params.classifier,
                    "train_accuracy": train_acc,
                    "held_out_accuracy": held_out_acc,
                },
                indent=1,
            )
        )
    write_parquet(observations, snakemake.output.observations)
    write_parquet(population_observations, snakemake.output.population)
