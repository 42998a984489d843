# ACIL (P7): one run per phase count K; each compares the recursive ridge classifier with
# the joint solution and with an SGD head after every phase; runs are named by K
# (rotelab.papers.acil.runs).
ACIL = config["acil"]


wildcard_constraints:
    phases="[0-9]+",


rule acil_phases:
    output:
        "results/acil/phases_{phases}.parquet",
    log:
        "results/logs/acil/phases_{phases}.log",
    benchmark:
        "results/benchmarks/acil_phases/phases_{phases}.tsv"
    conda:
        "../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=resource(light_job(10_000), "mem_mb"),
        runtime=resource(light_job(10_000), "runtime"),
    params:
        acil={key: value for key, value in ACIL.items() if key != "phases"},
        phases=lambda wildcards: int(wildcards.phases),
    script:
        "../workflow_scripts/acil_phases.py"
