# SeqKD (Kim & Rush 2016): the teacher's greedy/beam translations of every training
# source become the student's training targets.
rule distill_corpus:
    input:
        model="results/models/{teacher}",
        train="results/canaries/train.parquet",
    output:
        "results/generations/{teacher}/kd_corpus.parquet",
    log:
        "results/logs/distill_corpus/{teacher}.log",
    benchmark:
        "results/benchmarks/distill_corpus/{teacher}.tsv"
    # The teacher -> KD corpus -> student path is the critical one; scoring can wait.
    priority: 10
    conda:
        "../envs/torch.yaml"
    threads: config["runtime"]["threads"]
    resources:
        mem_mb=resource(decoding_job(SPLIT_SIZES["train"], "distill"), "mem_mb"),
        runtime=resource(decoding_job(SPLIT_SIZES["train"], "distill"), "runtime"),
        gpu=resource(decoding_job(SPLIT_SIZES["train"], "distill"), "gpu"),
    params:
        decode=decode_params("distill"),
    script:
        "../workflow_scripts/distill_corpus.py"
