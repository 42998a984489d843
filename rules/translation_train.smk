# Translation models (P3): the teacher T and baseline B on the canary-injected corpus, the
# students on their teacher's KD corpus; the adaptive students share the student's settings.
include: "functions/translation_train.smk"


rule train_model:
    input:
        data=training_data,
        tokenizer="results/tokenizers/joint",
    output:
        directory("results/models/{model}"),
    log:
        "results/logs/train_model/{model}.log",
    benchmark:
        "results/benchmarks/train_model/{model}.tsv"
    # The teacher -> KD corpus -> student path is the critical one; scoring can wait.
    priority: 10
    conda:
        "../envs/torch.yaml"
    threads: config["runtime"]["threads"]
    resources:
        mem_mb=resource(training_job, "mem_mb"),
        runtime=resource(training_job, "runtime"),
        gpu=resource(training_job, "gpu"),
    params:
        cfg=training_params,
    script:
        "../workflow_scripts/train_model.py"
