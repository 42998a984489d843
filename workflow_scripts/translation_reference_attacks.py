import pandas as pd

from rotelab.core.io import read_parquet, write_parquet
from rotelab.core.logs import log_to
from rotelab.membership.reference_scores import summarise_each_attack


def stacked(paths):
    table = pd.concat([read_parquet(p) for p in paths], ignore_index=True)
    return table.sort_values(["model", "example"], kind="stable", ignore_index=True)


# Membership attacks on the K translation references, each the target in turn with the
# others as its references; RMIA compares each training pair with the test pairs.
with log_to(snakemake.log[0]):
    params = snakemake.params
    observations, population = stacked(snakemake.input.observations), stacked(snakemake.input.population)
    summary = summarise_each_attack(observations, params.attacks, params.bootstrap, params.seed, population)
    print(summary.to_string())
    write_parquet(summary.assign(models=observations["model"].nunique()), snakemake.output[0])
