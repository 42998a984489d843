from rotelab.core.io import write_parquet
from rotelab.core.logs import log_to
from rotelab.data.splits import DataConfig, prepare_splits

with log_to(snakemake.log[0]):
    splits = prepare_splits(DataConfig(**snakemake.params.data))
    for name, frame in splits.items():
        print(f"{name}: {len(frame)} pairs")
        write_parquet(frame, snakemake.output[name])
