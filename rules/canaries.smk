rule make_canaries:
    output:
        "results/canaries/canaries.parquet",
    params:
        canaries=config["canaries"],
    log:
        "results/logs/make_canaries.log",
    script:
        "../workflow_scripts/make_canaries.py"


rule inject_canaries:
    input:
        train="results/data/train.parquet",
        canaries="results/canaries/canaries.parquet",
    output:
        "results/canaries/train.parquet",
    params:
        seed=config["canaries"]["seed"],
    log:
        "results/logs/inject_canaries.log",
    script:
        "../workflow_scripts/inject_canaries.py"
