import pandas as pd

from rotelab.core.device import set_threads
from rotelab.core.io import write_parquet
from rotelab.core.logs import log_to
from rotelab.papers.relu_capacity.capacity import CapacityConfig, random_dataset, smallest_width

with log_to(snakemake.log[0]):
    set_threads(snakemake.threads)
    p = dict(snakemake.params.capacity)
    n, depth, seeds = snakemake.params.n, snakemake.params.depth, p.pop("seeds")
    cfg = CapacityConfig(**p)
    rows = []
    for seed in range(seeds):
        x, y = random_dataset(n, cfg, seed)
        width = smallest_width(x, y, depth, cfg, seed, max_width=n)
        print(f"N={n}, {depth} hidden layer(s), dataset {seed}: smallest width {width}")
        rows.append({"n": n, "depth": depth, "seed": seed, "width": width, "fitted": width <= n})
    write_parquet(pd.DataFrame(rows), snakemake.output[0])
