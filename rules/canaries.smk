rule make_canaries:
    output:
        "results/canaries/canaries.parquet",
    log:
        "results/logs/make_canaries.log",
    benchmark:
        "results/benchmarks/make_canaries/make_canaries.tsv"
    conda:
        "../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=resource(CANARY_TABLE_JOB, "mem_mb"),
        runtime=resource(CANARY_TABLE_JOB, "runtime"),
    params:
        canaries=config["canaries"],
    script:
        "../workflow_scripts/make_canaries.py"


rule inject_canaries:
    input:
        train="results/data/train.parquet",
        canaries="results/canaries/canaries.parquet",
    output:
        "results/canaries/train.parquet",
    log:
        "results/logs/inject_canaries.log",
    benchmark:
        "results/benchmarks/inject_canaries/inject_canaries.tsv"
    conda:
        "../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=resource(TRANSLATION_TABLE_JOB, "mem_mb"),
        runtime=resource(TRANSLATION_TABLE_JOB, "runtime"),
    params:
        seed=config["canaries"]["seed"],
    script:
        "../workflow_scripts/inject_canaries.py"
