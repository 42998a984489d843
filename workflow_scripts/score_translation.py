from rotelab.core.io import read_parquet, write_parquet
from rotelab.core.logs import log_to
from rotelab.papers.seqkd.scores import memorization_references, summarise, training_examples
from rotelab.scoring.translation_metrics import ExMemConfig, HallucinationConfig

with log_to(snakemake.log[0]):
    kd = read_parquet(snakemake.input.kd[0]) if snakemake.input.kd else None
    references = memorization_references(read_parquet(snakemake.input.train), kd)
    examples = training_examples(
        references,
        read_parquet(snakemake.input.prefixes),
        ExMemConfig(threshold=snakemake.params.exmem_threshold),
        HallucinationConfig(),
    )
    summary = summarise(
        examples, read_parquet(snakemake.input.test), snakemake.params.bootstrap, snakemake.params.seed
    )
    summary.insert(0, "model", snakemake.wildcards.model)
    print(summary.to_string())
    write_parquet(examples.assign(model=snakemake.wildcards.model), snakemake.output.examples)
    write_parquet(summary, snakemake.output.summary)
