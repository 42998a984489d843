# The membership engine on a small classifier: a pool of examples -> its IN/OUT matrix ->
# K reference models trained as one ensemble -> attack scores, vulnerability and
# counterfactual memorization. The privacy onion effect (P5) chains pools: each layer
# removes the previous pool's most vulnerable (or, as control, random) examples.
include: "functions/membership.smk"


wildcard_constraints:
    pool=onion.POOL_PATTERN,


rule membership_pool:
    input:
        unpack(onion_pool_inputs),
    output:
        examples="results/membership/classifier/{pool}/examples.parquet",
        population="results/membership/classifier/{pool}/population.parquet",
    log:
        "results/logs/membership/{pool}/pool.log",
    benchmark:
        "results/benchmarks/membership_pool/{pool}.tsv"
    conda:
        "../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=resource(light_job(10_000), "mem_mb"),
        runtime=resource(light_job(10_000), "runtime"),
    params:
        pool=onion_pool_params,
    script:
        "../workflow_scripts/membership_pool.py"


rule membership_matrix:
    input:
        pool="results/membership/classifier/{pool}/examples.parquet",
    output:
        "results/membership/classifier/{pool}/matrix.parquet",
    log:
        "results/logs/membership/{pool}/matrix.log",
    benchmark:
        "results/benchmarks/membership_matrix/{pool}.tsv"
    conda:
        "../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=resource(light_job(10_000), "mem_mb"),
        runtime=resource(light_job(10_000), "runtime"),
    params:
        matrix={
            "reference_models": MEMBERSHIP["reference_models"],
            "seed": MEMBERSHIP["seed"],
        },
        id_column="example",
    script:
        "../workflow_scripts/membership_matrix.py"


rule train_reference_models:
    input:
        pool="results/membership/classifier/{pool}/examples.parquet",
        population="results/membership/classifier/{pool}/population.parquet",
        matrix="results/membership/classifier/{pool}/matrix.parquet",
    output:
        models=directory("results/membership/classifier/{pool}/models"),
        observations="results/membership/classifier/{pool}/observations.parquet",
        population="results/membership/classifier/{pool}/population_observations.parquet",
    log:
        "results/logs/membership/{pool}/train.log",
    benchmark:
        "results/benchmarks/train_reference_models/{pool}.tsv"
    conda:
        "../envs/torch.yaml"
    threads: THREADS
    resources:
        mem_mb=resource(reference_training_job, "mem_mb"),
        runtime=resource(reference_training_job, "runtime"),
        gpu=resource(reference_training_job, "gpu"),
    params:
        classifier=MEMBERSHIP["classifier"],
        seed=MEMBERSHIP["seed"],
        device=JOB_DEVICE,
    script:
        "../workflow_scripts/train_reference_models.py"


rule score_reference_models:
    input:
        observations="results/membership/classifier/{pool}/observations.parquet",
        population="results/membership/classifier/{pool}/population_observations.parquet",
    output:
        attack_scores="results/membership/classifier/{pool}/attack_scores.parquet",
        attacks="results/membership/classifier/{pool}/attacks.parquet",
        vulnerability="results/membership/classifier/{pool}/vulnerability.parquet",
        counterfactual="results/membership/classifier/{pool}/counterfactual.parquet",
        counterfactual_summary="results/membership/classifier/{pool}/counterfactual_summary.parquet",
    log:
        "results/logs/membership/{pool}/score.log",
    benchmark:
        "results/benchmarks/score_reference_models/{pool}.tsv"
    conda:
        "../envs/torch.yaml"
    threads: 1
    resources:
        mem_mb=resource(light_job(100_000), "mem_mb"),
        runtime=resource(light_job(100_000), "runtime"),
    params:
        attacks=MEMBERSHIP["attacks"],
        # A classifier example is one score, whose lowest k% is itself: min-k% equals the
        # loss attack here whatever scoring.min_k_fraction says, so it is not passed (a
        # change to it reruns the LM references' scoring only).
        attack_config={},
        onion={
            key: MEMBERSHIP["onion"][key]
            for key in ("attack", "fpr", "vulnerable_tpr")
        },
        bootstrap=config["scoring"]["bootstrap"],
        seed=config["scoring"]["seed"],
    script:
        "../workflow_scripts/score_reference_models.py"


rule reference_model_sweep:
    input:
        pool="results/membership/classifier/full/examples.parquet",
        population="results/membership/classifier/full/population.parquet",
    output:
        "results/membership/classifier/sweep.parquet",
    log:
        "results/logs/membership/sweep.log",
    benchmark:
        "results/benchmarks/reference_model_sweep/sweep.tsv"
    conda:
        "../envs/torch.yaml"
    threads: THREADS
    resources:
        mem_mb=resource(reference_sweep_job, "mem_mb"),
        runtime=resource(reference_sweep_job, "runtime"),
        gpu=resource(reference_sweep_job, "gpu"),
    params:
        sweep=MEMBERSHIP["sweep"],
        classifier=MEMBERSHIP["classifier"],
        seed=MEMBERSHIP["seed"],
        device=JOB_DEVICE,
        bootstrap=config["scoring"]["bootstrap"],
        bootstrap_seed=config["scoring"]["seed"],
    script:
        "../workflow_scripts/reference_model_sweep.py"
