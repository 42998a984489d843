rule train_model:
    input:
        data=training_data,
        tokenizer="results/tokenizers/joint",
    output:
        directory("results/models/{model}"),
    log:
        "results/logs/train_model/{model}.log",
    conda:
        "../envs/rotelab.yaml"
    threads: config["runtime"]["threads"]
    params:
        cfg=training_params,
    script:
        "../workflow_scripts/train_model.py"
