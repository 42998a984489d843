rule prepare_corpus:
    input:
        # the user's corpus file, if data.corpus names one: an edit reruns the chain
        user_files([config["data"]["corpus"]]),
    output:
        train="results/data/train.parquet",
        valid="results/data/valid.parquet",
        test="results/data/test.parquet",
    log:
        "results/logs/prepare_corpus.log",
    benchmark:
        "results/benchmarks/prepare_corpus/prepare_corpus.tsv"
    conda:
        "../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=resource(TRANSLATION_TABLE_JOB, "mem_mb"),
        runtime=resource(TRANSLATION_TABLE_JOB, "runtime"),
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
    benchmark:
        "results/benchmarks/train_tokenizer/train_tokenizer.tsv"
    conda:
        "../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=resource(TRANSLATION_TABLE_JOB, "mem_mb"),
        runtime=resource(TRANSLATION_TABLE_JOB, "runtime"),
    params:
        tokenizer=config["tokenizer"],
        columns=["src", "tgt"],
    script:
        "../workflow_scripts/train_tokenizer.py"
