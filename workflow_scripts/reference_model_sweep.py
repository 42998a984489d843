from rotelab.core.device import pick_device, set_threads
from rotelab.core.io import read_parquet, write_parquet
from rotelab.core.logs import log_to
from rotelab.membership.sweep import reference_model_sweep
from rotelab.models.classifier import ClassifierTrainConfig

with log_to(snakemake.log[0]):
    set_threads(snakemake.threads)
    params = snakemake.params
    cfg = ClassifierTrainConfig(**{**params.classifier, "hidden": tuple(params.classifier["hidden"])})
    table = reference_model_sweep(
        read_parquet(snakemake.input.pool),
        read_parquet(snakemake.input.population),
        params.sweep["models"],
        params.sweep["attacks"],
        cfg,
        params.seed,
        pick_device(params.device),
        params.bootstrap,
        params.bootstrap_seed,
    )
    write_parquet(table, snakemake.output[0])
