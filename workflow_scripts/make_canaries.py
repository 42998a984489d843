from rotelab.canaries import CanaryConfig, make_canaries
from rotelab.io import write_parquet
from rotelab.logs import log_to

with log_to(snakemake.log[0]):
    canaries = make_canaries(CanaryConfig(**snakemake.params.canaries))
    print(canaries.groupby("replicas").size().to_string())
    write_parquet(canaries, snakemake.output[0])
