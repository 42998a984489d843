from rotelab.core.io import read_parquet, write_parquet
from rotelab.core.logs import log_to
from rotelab.data.classification import dataset_table
from rotelab.membership.matrix import hold_out_population
from rotelab.papers.onion.layers import next_pool

with log_to(snakemake.log[0]):
    params = snakemake.params.pool
    if "dataset" in params:  # the full pool: the dataset less its population samples
        pool, population = hold_out_population(dataset_table(params["dataset"]), params["population"], params["seed"])
    else:  # one onion layer further: remove the most vulnerable (or random) examples
        previous = read_parquet(snakemake.input.previous)
        population = read_parquet(snakemake.input.population)
        vulnerability = read_parquet(snakemake.input.vulnerability) if params["arm"] == "targeted" else None
        pool = next_pool(previous, vulnerability, params["arm"], params["remove"], params["seed"])
        removed = sorted(set(previous["example"]) - set(pool["example"]))
        print(f"{params['arm']} layer {params['layer']}: removed {len(removed)} examples: {removed}")
    print(f"pool {snakemake.wildcards.pool}: {len(pool)} examples, labels {pool['label'].value_counts().to_dict()}")
    print(f"population: {len(population)} examples no model trains on")
    write_parquet(pool, snakemake.output.examples)
    write_parquet(population, snakemake.output.population)
