# Adaptive-SeqKD (P3 section 5): the teacher, fine-tuned one epoch on the pairs it already
# translates well and confidently (or, as control, on a random subset of the same size),
# writes a new KD corpus; the student is retrained on it with its usual settings.
include: "functions/adaptive_seqkd.smk"


rule adaptive_subsets:
    input:
        quality="results/scores/teacher/kd_quality.parquet",
    output:
        "results/adaptive/subsets.parquet",
    log:
        "results/logs/adaptive/subsets.log",
    benchmark:
        "results/benchmarks/adaptive_subsets/adaptive_subsets.tsv"
    conda:
        "../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=resource(TRANSLATION_TABLE_JOB, "mem_mb"),
        runtime=resource(TRANSLATION_TABLE_JOB, "runtime"),
    params:
        subsets=adaptive_subset_params(),
    script:
        "../workflow_scripts/adaptive_subsets.py"


rule finetune_teacher:
    input:
        model="results/models/teacher",
        subsets="results/adaptive/subsets.parquet",
    output:
        directory("results/models/teacher_{subset}"),
    log:
        "results/logs/adaptive/finetune_teacher_{subset}.log",
    benchmark:
        "results/benchmarks/finetune_teacher/{subset}.tsv"
    # On the path to the adaptive students, like the teacher's own training.
    priority: 10
    conda:
        "../envs/torch.yaml"
    threads: THREADS
    resources:
        mem_mb=resource(teacher_finetuning_job, "mem_mb"),
        runtime=resource(teacher_finetuning_job, "runtime"),
        gpu=resource(teacher_finetuning_job, "gpu"),
    params:
        finetune=teacher_finetuning_params(),
    script:
        "../workflow_scripts/finetune_teacher.py"
