from rotelab.core.io import write_parquet
from rotelab.core.logs import log_to
from rotelab.data.canaries import CanaryConfig, make_canaries

with log_to(snakemake.log[0]):
    canaries = make_canaries(CanaryConfig(**snakemake.params.canaries))
    print(canaries.groupby("replicas").size().to_string())
    write_parquet(canaries, snakemake.output[0])
