# ReLU memorization capacity (P6): one job per dataset size N and depth, each a binary
# search for the smallest width that fits N random labels.


wildcard_constraints:
    n="[0-9]+",
    depth="[12]",


rule fit_relu_networks:
    output:
        "results/relu_capacity/depth{depth}_n{n}.parquet",
    log:
        "results/logs/relu_capacity/depth{depth}_n{n}.log",
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
