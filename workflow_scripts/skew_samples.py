from rotelab.core.io import write_parquet
from rotelab.core.logs import log_to
from rotelab.papers.skew.n_pre import prepare_samples

with log_to(snakemake.log[0]):
    samples = prepare_samples(**snakemake.params.samples)
    print(samples.groupby(["role", "source"]).size().to_string())
    write_parquet(samples, snakemake.output[0])
