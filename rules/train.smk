rule train_model:
    input:
        data=training_data,
        tokenizer="results/tokenizers/joint",
    output:
        directory("results/models/{model}"),
    params:
        cfg=training_params,
    threads: config["runtime"]["threads"]
    log:
        "results/logs/train_model/{model}.log",
    script:
        "../workflow_scripts/train_model.py"
