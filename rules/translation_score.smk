# Every translation model's decodings (train, test and canary splits, word prefixes, canary
# prompts) and their scores: translation quality and ExMem, canary extraction, exposure and
# membership inference.
include: "functions/translation_score.smk"


rule translate:
    input:
        model="results/models/{model}",
        source=translation_source,
    output:
        "results/generations/{model}/{split}.parquet",
    log:
        "results/logs/translate/{model}_{split}.log",
    benchmark:
        "results/benchmarks/translate/{model}_{split}.tsv"
    conda:
        "../envs/torch.yaml"
    threads: config["runtime"]["threads"]
    resources:
        mem_mb=resource(
            decoding_job(lambda w: SPLIT_SIZES[w.split], "decode"), "mem_mb"
        ),
        runtime=resource(
            decoding_job(lambda w: SPLIT_SIZES[w.split], "decode"), "runtime"
        ),
        gpu=resource(decoding_job(lambda w: SPLIT_SIZES[w.split], "decode"), "gpu"),
    params:
        decode=decode_params("decode"),
    script:
        "../workflow_scripts/translate.py"


# P3's ExMem needs the translation of every word prefix of each replicated pair.
rule exmem_prefixes:
    input:
        model="results/models/{model}",
        train="results/generations/{model}/train.parquet",
        kd=kd_corpus_if_student,
    output:
        "results/generations/{model}/prefixes.parquet",
    log:
        "results/logs/exmem_prefixes/{model}.log",
    benchmark:
        "results/benchmarks/exmem_prefixes/{model}.tsv"
    conda:
        "../envs/torch.yaml"
    threads: config["runtime"]["threads"]
    resources:
        mem_mb=resource(decoding_job(N_TRAIN), "mem_mb"),
        runtime=resource(decoding_job(N_TRAIN), "runtime"),
        gpu=resource(decoding_job(N_TRAIN), "gpu"),
    params:
        decode=decode_params("decode"),
    script:
        "../workflow_scripts/exmem_prefixes.py"


rule score_translation:
    input:
        train="results/generations/{model}/train.parquet",
        test="results/generations/{model}/test.parquet",
        prefixes="results/generations/{model}/prefixes.parquet",
        kd=kd_corpus_if_student,
    output:
        summary="results/scores/{model}/translation.parquet",
        examples="results/scores/{model}/train_examples.parquet",
    log:
        "results/logs/score_translation/{model}.log",
    benchmark:
        "results/benchmarks/score_translation/{model}.tsv"
    conda:
        "../envs/torch.yaml"
    threads: 1
    resources:
        mem_mb=resource(TRANSLATION_TABLE_JOB, "mem_mb"),
        runtime=resource(TRANSLATION_TABLE_JOB, "runtime"),
    params:
        exmem_threshold=config["scoring"]["exmem_threshold"],
        bootstrap=config["scoring"]["bootstrap"],
        seed=config["scoring"]["seed"],
    script:
        "../workflow_scripts/score_translation.py"


rule score_exposure:
    input:
        model="results/models/{model}",
        canaries="results/canaries/canaries.parquet",
    output:
        "results/scores/{model}/exposure.parquet",
    log:
        "results/logs/score_exposure/{model}.log",
    benchmark:
        "results/benchmarks/score_exposure/{model}.tsv"
    conda:
        "../envs/torch.yaml"
    threads: config["runtime"]["threads"]
    resources:
        mem_mb=resource(
            decoding_job(
                N_CANARIES,
                candidates=config["scoring"]["exposure_candidates"] + 1,
                sizes=CANARY_KEYS + ("scoring.exposure_candidates",),
            ),
            "mem_mb",
        ),
        runtime=resource(
            decoding_job(
                N_CANARIES,
                candidates=config["scoring"]["exposure_candidates"] + 1,
                sizes=CANARY_KEYS + ("scoring.exposure_candidates",),
            ),
            "runtime",
        ),
        gpu=resource(
            decoding_job(
                N_CANARIES,
                candidates=config["scoring"]["exposure_candidates"] + 1,
                sizes=CANARY_KEYS + ("scoring.exposure_candidates",),
            ),
            "gpu",
        ),
    params:
        generator=config["canaries"]["generator"],
        candidates=config["scoring"]["exposure_candidates"],
        seed=config["scoring"]["seed"],
        device=JOB_DEVICE,
    script:
        "../workflow_scripts/score_exposure.py"


rule prompt_canaries:
    input:
        model="results/models/{model}",
        canaries="results/canaries/canaries.parquet",
    output:
        "results/generations/{model}/canary_prompts.parquet",
    log:
        "results/logs/prompt_canaries/{model}.log",
    benchmark:
        "results/benchmarks/prompt_canaries/{model}.tsv"
    conda:
        "../envs/torch.yaml"
    threads: config["runtime"]["threads"]
    resources:
        mem_mb=resource(CANARY_DECODING_JOB, "mem_mb"),
        runtime=resource(CANARY_DECODING_JOB, "runtime"),
        gpu=resource(CANARY_DECODING_JOB, "gpu"),
    params:
        decode=decode_params("decode"),
    script:
        "../workflow_scripts/prompt_canaries.py"


rule score_canaries:
    input:
        canaries="results/canaries/canaries.parquet",
        hyps="results/generations/{model}/canaries.parquet",
        prompted="results/generations/{model}/canary_prompts.parquet",
        exposure="results/scores/{model}/exposure.parquet",
    output:
        examples="results/scores/{model}/canary_examples.parquet",
        summary="results/scores/{model}/canaries.parquet",
    log:
        "results/logs/score_canaries/{model}.log",
    benchmark:
        "results/benchmarks/score_canaries/{model}.tsv"
    conda:
        "../envs/torch.yaml"
    threads: 1
    resources:
        mem_mb=resource(CANARY_TABLE_JOB, "mem_mb"),
        runtime=resource(CANARY_TABLE_JOB, "runtime"),
    params:
        bootstrap=config["scoring"]["bootstrap"],
        seed=config["scoring"]["seed"],
    script:
        "../workflow_scripts/score_canaries.py"


rule score_membership:
    input:
        model="results/models/{model}",
        canaries="results/canaries/canaries.parquet",
    output:
        examples="results/scores/{model}/membership_examples.parquet",
        summary="results/scores/{model}/membership.parquet",
        roc="results/scores/{model}/roc.parquet",
    log:
        "results/logs/score_membership/{model}.log",
    benchmark:
        "results/benchmarks/score_membership/{model}.tsv"
    conda:
        "../envs/torch.yaml"
    threads: config["runtime"]["threads"]
    resources:
        mem_mb=resource(CANARY_DECODING_JOB, "mem_mb"),
        runtime=resource(CANARY_DECODING_JOB, "runtime"),
        gpu=resource(CANARY_DECODING_JOB, "gpu"),
    params:
        attacks=config["scoring"]["attacks"],
        min_k_fraction=config["scoring"]["min_k_fraction"],
        bootstrap=config["scoring"]["bootstrap"],
        seed=config["scoring"]["seed"],
        device=JOB_DEVICE,
    script:
        "../workflow_scripts/score_membership.py"
