from rotelab.canary_scores import canary_exposures
from rotelab.device import pick_device, set_threads
from rotelab.io import read_parquet, write_parquet
from rotelab.logs import log_to
from rotelab.models import load_model
from rotelab.tokenizer import load_tokenizer

with log_to(snakemake.log[0]):
    set_threads(snakemake.threads)
    model = load_model(snakemake.input.model, pick_device(snakemake.params.device))
    tokenizer = load_tokenizer(snakemake.input.model)
    exposures = canary_exposures(
        model,
        tokenizer,
        read_parquet(snakemake.input.canaries),
        snakemake.params.generator,
        snakemake.params.candidates,
        snakemake.params.seed,
    )
    write_parquet(exposures.assign(model=snakemake.wildcards.model), snakemake.output[0])
