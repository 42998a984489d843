from rotelab.core.io import read_parquet, write_parquet
from rotelab.core.logs import log_to
from rotelab.data.canaries import inject

with log_to(snakemake.log[0]):
    mixed = inject(
        read_parquet(snakemake.input.train),
        read_parquet(snakemake.input.canaries),
        snakemake.params.seed,
    )
    print(f"{len(mixed)} training pairs, {int((mixed.canary_id >= 0).sum())} canary copies")
    write_parquet(mixed, snakemake.output[0])
