from rotelab.core.io import read_parquet, write_parquet
from rotelab.core.logs import log_to
from rotelab.models.seq2seq import load_checkpoint
from rotelab.scoring.canary_metrics import canary_exposures

with log_to(snakemake.log[0]):
    model, tokenizer = load_checkpoint(snakemake.input.model, snakemake.params.device, snakemake.threads)
    exposures = canary_exposures(
        model,
        tokenizer,
        read_parquet(snakemake.input.canaries),
        snakemake.params.generator,
        snakemake.params.candidates,
        snakemake.params.seed,
    )
    write_parquet(exposures.assign(model=snakemake.wildcards.model), snakemake.output[0])
