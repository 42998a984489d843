# P3 section 3: on which corpus pairs does the student inherit memorization? K reference
# models of the baseline's architecture, each trained on the pairs the membership matrix
# marks IN for it, give every pair a counterfactual-memorization score; the teacher's
# confidence in its own output gives a second grouping.
include: "functions/seqkd_subgroups.smk"


wildcard_constraints:
    reference="ref[0-9]+",


rule translation_matrix:
    input:
        pool="results/data/train.parquet",
    output:
        "results/membership/translation/matrix.parquet",
    log:
        "results/logs/membership/translation/matrix.log",
    benchmark:
        "results/benchmarks/translation_matrix/translation_matrix.tsv"
    conda:
        "../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=resource(TRANSLATION_TABLE_JOB, "mem_mb"),
        runtime=resource(TRANSLATION_TABLE_JOB, "runtime"),
    params:
        matrix={
            "reference_models": SUBGROUPS["reference_models"],
            "seed": SUBGROUPS["seed"],
        },
        id_column="pair_id",
    script:
        "../workflow_scripts/membership_matrix.py"


# One job per reference model (the K run side by side on CPUs), or all K as one batched
# ensemble in one job (seqkd_subgroups.ensemble: fast on a GPU).
if SUBGROUPS["ensemble"]:

    rule train_translation_references:
        input:
            matrix="results/membership/translation/matrix.parquet",
            train="results/data/train.parquet",
            tokenizer="results/tokenizers/joint",
        output:
            [directory(path) for path in translation_reference_dirs()],
        log:
            "results/logs/membership/translation/train_references.log",
        benchmark:
            "results/benchmarks/train_translation_references/train_translation_references.tsv"
        conda:
            "../envs/torch.yaml"
        threads: THREADS
        resources:
            mem_mb=resource(translation_references_job, "mem_mb"),
            runtime=resource(translation_references_job, "runtime"),
            gpu=whole_gpu(translation_references_job),
        params:
            cfg=translation_reference_params(range(SUBGROUPS["reference_models"])),
        script:
            "../workflow_scripts/train_translation_reference.py"

else:

    rule train_translation_reference:
        input:
            matrix="results/membership/translation/matrix.parquet",
            train="results/data/train.parquet",
            tokenizer="results/tokenizers/joint",
        output:
            directory("results/membership/translation/models/{reference}"),
        log:
            "results/logs/membership/translation/train_{reference}.log",
        benchmark:
            "results/benchmarks/train_translation_reference/{reference}.tsv"
        conda:
            "../envs/torch.yaml"
        threads: THREADS
        resources:
            mem_mb=resource(translation_reference_job, "mem_mb"),
            runtime=resource(translation_reference_job, "runtime"),
            gpu=resource(translation_reference_job, "gpu"),
        params:
            cfg=lambda wildcards: translation_reference_params(
                [reference_index(wildcards)]
            ),
        script:
            "../workflow_scripts/train_translation_reference.py"


rule score_translation_reference:
    input:
        model="results/membership/translation/models/{reference}",
        matrix="results/membership/translation/matrix.parquet",
        train="results/data/train.parquet",
        test="results/data/test.parquet",
    output:
        observations="results/membership/translation/observations/{reference}.parquet",
        population="results/membership/translation/population/{reference}.parquet",
    log:
        "results/logs/membership/translation/score_{reference}.log",
    benchmark:
        "results/benchmarks/score_translation_reference/{reference}.tsv"
    conda:
        "../envs/torch.yaml"
    threads: THREADS
    resources:
        mem_mb=resource(decoding_job(N_TRAIN), "mem_mb"),
        runtime=resource(decoding_job(N_TRAIN), "runtime"),
        gpu=resource(decoding_job(N_TRAIN), "gpu"),
    params:
        index=reference_index,
        batch_size=config["decode"]["batch_size"],
        device=JOB_DEVICE,
    script:
        "../workflow_scripts/score_translation_reference.py"


rule translation_counterfactual:
    input:
        expand(
            "results/membership/translation/observations/ref{k}.parquet",
            k=range(SUBGROUPS["reference_models"]),
        ),
    output:
        per_example="results/membership/translation/counterfactual.parquet",
        summary="results/membership/translation/counterfactual_summary.parquet",
    log:
        "results/logs/membership/translation/counterfactual.log",
    benchmark:
        "results/benchmarks/translation_counterfactual/translation_counterfactual.tsv"
    conda:
        "../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=resource(TRANSLATION_TABLE_JOB, "mem_mb"),
        runtime=resource(TRANSLATION_TABLE_JOB, "runtime"),
    params:
        bootstrap=config["scoring"]["bootstrap"],
        seed=config["scoring"]["seed"],
    script:
        "../workflow_scripts/translation_counterfactual.py"


# The membership engine's attacks on the translation references (RMIA's population: the
# test pairs), each reference the target in turn.
rule translation_reference_attacks:
    input:
        observations=expand(
            "results/membership/translation/observations/ref{k}.parquet",
            k=range(SUBGROUPS["reference_models"]),
        ),
        population=expand(
            "results/membership/translation/population/ref{k}.parquet",
            k=range(SUBGROUPS["reference_models"]),
        ),
    output:
        "results/membership/translation/attacks.parquet",
    log:
        "results/logs/membership/translation/attacks.log",
    benchmark:
        "results/benchmarks/translation_reference_attacks/translation_reference_attacks.tsv"
    conda:
        "../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=resource(TRANSLATION_TABLE_JOB, "mem_mb"),
        runtime=resource(TRANSLATION_TABLE_JOB, "runtime"),
    params:
        attacks=TRANSLATION_REFERENCE_ATTACKS,
        bootstrap=config["scoring"]["bootstrap"],
        seed=config["scoring"]["seed"],
    script:
        "../workflow_scripts/translation_reference_attacks.py"


# The teacher's confidence in (and chrF of) its own KD output: P3's second grouping, and
# what Adaptive-SeqKD selects its fine-tuning pairs by.
rule teacher_kd_quality:
    input:
        model="results/models/teacher",
        kd="results/generations/teacher/kd_corpus.parquet",
    output:
        "results/scores/teacher/kd_quality.parquet",
    log:
        "results/logs/teacher_kd_quality.log",
    benchmark:
        "results/benchmarks/teacher_kd_quality/teacher_kd_quality.tsv"
    conda:
        "../envs/torch.yaml"
    threads: THREADS
    resources:
        mem_mb=resource(decoding_job(SPLIT_SIZES["train"]), "mem_mb"),
        runtime=resource(decoding_job(SPLIT_SIZES["train"]), "runtime"),
        gpu=resource(decoding_job(SPLIT_SIZES["train"]), "gpu"),
    params:
        batch_size=config["decode"]["batch_size"],
        device=JOB_DEVICE,
    script:
        "../workflow_scripts/teacher_kd_quality.py"


rule seqkd_subgroups:
    input:
        train="results/data/train.parquet",
        counterfactual="results/membership/translation/counterfactual.parquet",
        quality="results/scores/teacher/kd_quality.parquet",
        examples=expand("results/scores/{model}/train_examples.parquet", model=MODELS),
    output:
        groups="results/scores/seqkd_subgroups/pairs.parquet",
        rates="results/scores/seqkd_subgroups/rates.parquet",
    log:
        "results/logs/seqkd_subgroups.log",
    benchmark:
        "results/benchmarks/seqkd_subgroups/seqkd_subgroups.tsv"
    conda:
        "../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=resource(TRANSLATION_TABLE_JOB, "mem_mb"),
        runtime=resource(TRANSLATION_TABLE_JOB, "runtime"),
    params:
        cm_buckets=SUBGROUPS["cm_buckets"],
        confidence_share=SUBGROUPS["confidence_share"],
    script:
        "../workflow_scripts/seqkd_subgroups.py"
