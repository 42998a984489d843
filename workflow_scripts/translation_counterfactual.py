import pandas as pd

from rotelab.core.io import read_parquet, write_parquet
from rotelab.core.logs import log_to
from rotelab.membership.reference_scores import counterfactual_memorization, summarise_counterfactual

with log_to(snakemake.log[0]):
    observations = pd.concat([read_parquet(p) for p in snakemake.input], ignore_index=True)
    observations = observations.sort_values(["model", "example"], kind="stable", ignore_index=True)
    per_example = counterfactual_memorization(observations)
    summary = summarise_counterfactual(per_example, snakemake.params.bootstrap, snakemake.params.seed)
    print(summary.to_string())
    write_parquet(per_example, snakemake.output.per_example)
    write_parquet(summary, snakemake.output.summary)
