from rotelab.core.io import read_parquet, write_parquet
from rotelab.core.logs import log_to
from rotelab.papers.seqkd.adaptive import SubsetConfig, select_subsets

with log_to(snakemake.log[0]):
    quality = read_parquet(snakemake.input.quality)
    subsets = select_subsets(quality, SubsetConfig(**snakemake.params.subsets))
    for name, part in subsets.groupby("subset"):
        print(
            f"{name}: {len(part)} of {len(quality)} pairs, {int((part['canary_id'] >= 0).sum())} of them canaries, "
            f"mean chrF {part['chrf'].mean():.1f}, mean confidence {part['confidence'].mean():.3f}"
        )
    write_parquet(subsets, snakemake.output[0])
