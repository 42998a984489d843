# Skewed memorization in fine-tuning (P4), on the causal-LM track: one fine-tuning run per
# dataset size (and one with a dissimilar dataset mixed in), each saving checkpoints at the
# configured epochs; n_pre and per-token probabilities per checkpoint; delta_S per run.
include: "functions/skewed_memorization.smk"


wildcard_constraints:
    skew_run=skewed_memorization.RUN_PATTERN,


rule skew_samples:
    output:
        "results/skew/samples.parquet",
    log:
        "results/logs/skew/samples.log",
    benchmark:
        "results/benchmarks/skew_samples/skew_samples.tsv"
    conda:
        "../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=resource(light_job(200_000), "mem_mb"),
        runtime=resource(light_job(200_000), "runtime"),
    params:
        samples=skew_sample_params(),
    script:
        "../workflow_scripts/skew_samples.py"


rule skew_finetune:
    input:
        base="results/models/lm_base",
        samples="results/skew/samples.parquet",
    output:
        directory("results/skew/models/{skew_run}"),
    log:
        "results/logs/skew/finetune/{skew_run}.log",
    benchmark:
        "results/benchmarks/skew_finetune/{skew_run}.tsv"
    conda:
        "../envs/torch.yaml"
    threads: THREADS
    resources:
        mem_mb=resource(skew_finetuning_job, "mem_mb"),
        runtime=resource(skew_finetuning_job, "runtime"),
        gpu=resource(skew_finetuning_job, "gpu"),
    params:
        run=lambda wildcards: dataclasses.asdict(skew_run(wildcards)),
        ratio=SKEW["mixture"]["ratio"],
        epochs=SKEW["epochs"],
        train=SKEW["train"],
        block_size=LM["base"]["model"]["block_size"],
        device=JOB_DEVICE,
    script:
        "../workflow_scripts/skew_finetune.py"


rule skew_score:
    input:
        models="results/skew/models/{skew_run}",
        samples="results/skew/samples.parquet",
    output:
        "results/skew/scores/{skew_run}.parquet",
    log:
        "results/logs/skew/score/{skew_run}.log",
    benchmark:
        "results/benchmarks/skew_score/{skew_run}.tsv"
    conda:
        "../envs/torch.yaml"
    threads: THREADS
    resources:
        mem_mb=resource(skew_scoring_job, "mem_mb"),
        runtime=resource(skew_scoring_job, "runtime"),
        gpu=resource(skew_scoring_job, "gpu"),
    params:
        run=lambda wildcards: dataclasses.asdict(skew_run(wildcards)),
        ratio=SKEW["mixture"]["ratio"],
        epochs=SKEW["epochs"],
        device=JOB_DEVICE,
    script:
        "../workflow_scripts/skew_score.py"


# One job for every run's delta_S: the sentence encoder loads once and each sample is
# embedded once, whatever runs it belongs to.
rule skew_similarity:
    input:
        samples="results/skew/samples.parquet",
    output:
        "results/skew/similarity.parquet",
    log:
        "results/logs/skew/similarity.log",
    benchmark:
        "results/benchmarks/skew_similarity/skew_similarity.tsv"
    conda:
        "../envs/torch.yaml"
    threads: THREADS
    resources:
        mem_mb=resource(light_job(200_000), "mem_mb"),
        runtime=resource(light_job(200_000), "runtime"),
    params:
        runs=[dataclasses.asdict(run) for run in SKEW_RUNS],
        ratio=SKEW["mixture"]["ratio"],
    script:
        "../workflow_scripts/skew_similarity.py"
