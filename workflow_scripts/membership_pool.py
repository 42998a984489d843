from rotelab.core.io import read_parquet, write_parquet
from rotelab.core.logs import log_to
from rotelab.data.classification import dataset_table
from rotelab.papers.onion.layers import next_pool

with log_to(snakemake.log[0]):
    params = snakemake.params.pool
    if "dataset" in params:  # the full pool: the whole dataset
        pool = dataset_table(params["dataset"])
    else:  # one onion layer further: remove the most vulnerable (or random) examples
        previous = read_parquet(snakemake.input.previous)
        vulnerability = read_parquet(snakemake.input.vulnerability) if params["arm"] == "targeted" else None
        pool = next_pool(previous, vulnerability, params["arm"], params["remove"], params["seed"])
        removed = sorted(set(previous["example"]) - set(pool["example"]))
        print(f"{params['arm']} layer {params['layer']}: removed {len(removed)} examples: {removed}")
    print(f"pool {snakemake.wildcards.pool}: {len(pool)} examples, labels {pool['label'].value_counts().to_dict()}")
    write_parquet(pool, snakemake.output[0])
