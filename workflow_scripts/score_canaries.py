from rotelab.core.io import read_parquet, write_parquet
from rotelab.core.logs import log_to
from rotelab.scoring.canary_metrics import summarise_canaries

with log_to(snakemake.log[0]):
    examples, summary = summarise_canaries(
        read_parquet(snakemake.input.canaries),
        read_parquet(snakemake.input.hyps),
        read_parquet(snakemake.input.prompted),
        read_parquet(snakemake.input.exposure).drop(columns="model"),
        snakemake.params.bootstrap,
        snakemake.params.seed,
    )
    summary.insert(0, "model", snakemake.wildcards.model)
    print(summary.to_string())
    write_parquet(examples.assign(model=snakemake.wildcards.model), snakemake.output.examples)
    write_parquet(summary, snakemake.output.summary)
