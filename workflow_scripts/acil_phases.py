import numpy as np
import pandas as pd

from rotelab.core.io import write_parquet
from rotelab.core.logs import log_to
from rotelab.data.classification import classification_datasets
from rotelab.papers.acil.analytic import SGDHeadConfig, random_relu_expansion, run_phases

with log_to(snakemake.log[0]):
    p = snakemake.params.acil
    data = classification_datasets.get(p["dataset"])()
    order = np.random.default_rng(p["seed"]).permutation(len(data.labels))
    n_test = round(p["test_fraction"] * len(order))
    test, train = order[:n_test], order[n_test:]
    X = random_relu_expansion(data.features, p["expansion"], p["seed"])
    rows = run_phases(
        X[train],
        data.labels[train],
        X[test],
        data.labels[test],
        p["base_classes"],
        snakemake.params.phases,
        p["gamma"],
        SGDHeadConfig(**p["sgd"]),
        p["seed"],
    )
    table = pd.DataFrame(rows)
    print(table[table["phase"] == table["phase"].max()].to_string())
    print(f"max |W_ACIL - W_joint| over all phases: {table['max_abs_diff'].max():.3e}")
    write_parquet(table, snakemake.output[0])
