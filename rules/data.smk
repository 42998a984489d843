rule prepare_corpus:
    output:
        train="results/data/train.parquet",
        valid="results/data/valid.parquet",
        test="results/data/test.parquet",
    params:
        data=config["data"],
    log:
        "results/logs/prepare_corpus.log",
    script:
        "../workflow_scripts/prepare_corpus.py"


rule train_tokenizer:
    input:
        train="results/data/train.parquet",
    output:
        directory("results/tokenizers/joint"),
    params:
        tokenizer=config["tokenizer"],
    log:
        "results/logs/train_tokenizer.log",
    script:
        "../workflow_scripts/train_tokenizer.py"
