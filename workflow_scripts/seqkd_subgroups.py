import pandas as pd

from rotelab.core.io import read_parquet, write_parquet
from rotelab.core.logs import log_to
from rotelab.papers.seqkd.subgroups import assign_groups, subgroup_rates

with log_to(snakemake.log[0]):
    params = snakemake.params
    groups = assign_groups(
        read_parquet(snakemake.input.train),
        read_parquet(snakemake.input.counterfactual),
        read_parquet(snakemake.input.quality),
        params.cm_buckets,
        params.confidence_share,
    )
    print(groups["cm_bucket"].value_counts().to_string())
    examples = pd.concat([read_parquet(p) for p in snakemake.input.examples], ignore_index=True)
    rates = subgroup_rates(examples, groups, params.cm_buckets)
    print(rates.to_string())
    write_parquet(groups, snakemake.output.groups)
    write_parquet(rates, snakemake.output.rates)
