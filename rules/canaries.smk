rule make_canaries:
    output:
        "results/canaries/canaries.parquet",
    log:
        "results/logs/make_canaries.log",
    conda:
        "../envs/rotelab.yaml"
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
    conda:
        "../envs/rotelab.yaml"
    params:
        seed=config["canaries"]["seed"],
    script:
        "../workflow_scripts/inject_canaries.py"
