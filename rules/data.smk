rule prepare_corpus:
    output:
        train="results/data/train.parquet",
        valid="results/data/valid.parquet",
        test="results/data/test.parquet",
    log:
        "results/logs/prepare_corpus.log",
    conda:
        "../envs/rotelab.yaml"
    params:
        data=config["data"],
    script:
        "../workflow_scripts/prepare_corpus.py"


rule train_tokenizer:
    input:
        train="results/data/train.parquet",
    output:
        directory("results/tokenizers/joint"),
    log:
        "results/logs/train_tokenizer.log",
    conda:
        "../envs/rotelab.yaml"
    params:
        tokenizer=config["tokenizer"],
    script:
        "../workflow_scripts/train_tokenizer.py"
