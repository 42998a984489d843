# The causal-LM track (P1): pretraining text -> tokenizer -> a base model pretrained until
# its validation loss plateaus. Fine-tuning regimes start from results/models/lm_base.
include: "functions/lm.smk"


rule prepare_lm_text:
    input:
        user_files(config["lm"]["pretrain_corpora"]),
    output:
        train="results/data/lm_pretrain_train.parquet",
        valid="results/data/lm_pretrain_valid.parquet",
    log:
        "results/logs/prepare_lm_text.log",
    benchmark:
        "results/benchmarks/prepare_lm_text/prepare_lm_text.tsv"
    conda:
        "../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=resource(LM_TEXT_TABLE_JOB, "mem_mb"),
        runtime=resource(LM_TEXT_TABLE_JOB, "runtime"),
    params:
        text=lm_text_params(),
    script:
        "../workflow_scripts/prepare_lm_text.py"


rule train_lm_tokenizer:
    input:
        train="results/data/lm_pretrain_train.parquet",
    output:
        directory("results/tokenizers/lm"),
    log:
        "results/logs/train_lm_tokenizer.log",
    benchmark:
        "results/benchmarks/train_lm_tokenizer/train_lm_tokenizer.tsv"
    conda:
        "../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=resource(LM_TEXT_TABLE_JOB, "mem_mb"),
        runtime=resource(LM_TEXT_TABLE_JOB, "runtime"),
    params:
        tokenizer=config["lm"]["tokenizer"],
        columns=["text"],
    script:
        "../workflow_scripts/train_tokenizer.py"


rule pretrain_base:
    input:
        train="results/data/lm_pretrain_train.parquet",
        valid="results/data/lm_pretrain_valid.parquet",
        tokenizer="results/tokenizers/lm",
    output:
        directory("results/models/lm_base"),
    log:
        "results/logs/pretrain_base.log",
    benchmark:
        "results/benchmarks/pretrain_base/pretrain_base.tsv"
    priority: 10
    conda:
        "../envs/torch.yaml"
    threads: config["runtime"]["threads"]
    resources:
        mem_mb=resource(pretraining_job, "mem_mb"),
        runtime=resource(pretraining_job, "runtime"),
        gpu=resource(pretraining_job, "gpu"),
    params:
        cfg=pretraining_params(),
    script:
        "../workflow_scripts/pretrain_base.py"
