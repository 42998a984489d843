from rotelab.io import write_parquet
from rotelab.logs import log_to
from rotelab.skewed_memorization import prepare_samples

with log_to(snakemake.log[0]):
    samples = prepare_samples(**snakemake.params.samples)
    print(samples.groupby(["role", "source"]).size().to_string())
    write_parquet(samples, snakemake.output[0])
