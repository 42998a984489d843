# ReLU memorization capacity (P6): one job per dataset size N and depth, each a binary
# search for the smallest width that fits N random labels. Runs are named as
# rotelab.papers.relu_capacity.runs spells them.
from rotelab.papers.relu_capacity import runs as relu_capacity_runs


wildcard_constraints:
    n="[0-9]+",
    depth="[12]",


rule fit_relu_networks:
    output:
        f"results/relu_capacity/{relu_capacity_runs.RUN}.parquet",
    log:
        f"results/logs/relu_capacity/{relu_capacity_runs.RUN}.log",
    benchmark:
        f"results/benchmarks/fit_relu_networks/{relu_capacity_runs.RUN}.tsv"
    conda:
        "../envs/torch.yaml"
    threads: 1
    resources:
        mem_mb=resource(light_job(10_000), "mem_mb"),
        runtime=resource(light_job(10_000), "runtime"),
    params:
        capacity={
            key: value
            for key, value in config["relu_capacity"].items()
            if key not in ("sizes", "depths")
        },
        n=lambda wildcards: int(wildcards.n),
        depth=lambda wildcards: int(wildcards.depth),
    script:
        "../workflow_scripts/relu_capacity.py"
