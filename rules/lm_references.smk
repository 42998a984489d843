# The membership engine on the causal-LM track: one IN/OUT matrix over the canary notes ->
# per reference set (each adapter of lm.references.adapters, trained centralized and/or by
# FedAvg as lm.references.settings says), K reference fine-tunes of the base (one job) ->
# LiRA, RMIA, the other reference attacks and counterfactual memorization per note, through
# the classifier pool's own scoring script.
include: "functions/lm_references.smk"


wildcard_constraints:
    references="|".join(re.escape(name) for name in LM_REFERENCE_SETS),


rule lm_reference_matrix:
    input:
        pool="results/lm/canaries.parquet",
    output:
        "results/lm/references/matrix.parquet",
    log:
        "results/logs/lm/references/matrix.log",
    benchmark:
        "results/benchmarks/lm_reference_matrix/lm_reference_matrix.tsv"
    conda:
        "../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=resource(LM_CANARY_TABLE_JOB, "mem_mb"),
        runtime=resource(LM_CANARY_TABLE_JOB, "runtime"),
    params:
        matrix={
            "reference_models": LM_REFERENCES["models"],
            "seed": LM_REFERENCES["seed"],
        },
        id_column="canary_id",
    script:
        "../workflow_scripts/membership_matrix.py"


# RMIA's population samples: notes from the canaries' own stream that no model trains on.
rule lm_population_notes:
    output:
        "results/lm/references/population.parquet",
    log:
        "results/logs/lm/references/population.log",
    benchmark:
        "results/benchmarks/lm_population_notes/lm_population_notes.tsv"
    conda:
        "../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=resource(LM_CANARY_TABLE_JOB, "mem_mb"),
        runtime=resource(LM_CANARY_TABLE_JOB, "runtime"),
    params:
        canaries=LM["canaries"],
        n=LM_REFERENCES["population"],
    script:
        "../workflow_scripts/lm_population_notes.py"


rule train_lm_references:
    input:
        base="results/models/lm_base",
        qa="results/lm/data/qa.parquet",
        canaries="results/lm/canaries.parquet",
        audit="results/lm/audit/canaries.parquet",
        matrix="results/lm/references/matrix.parquet",
        population="results/lm/references/population.parquet",
    output:
        models=directory("results/lm/references/{references}/models"),
        observations="results/lm/references/{references}/observations.parquet",
        population="results/lm/references/{references}/population_observations.parquet",
    log:
        "results/logs/lm/references/{references}/train.log",
    benchmark:
        "results/benchmarks/train_lm_references/{references}.tsv"
    conda:
        "../envs/torch.yaml"
    threads: THREADS
    resources:
        mem_mb=resource(lm_references_job, "mem_mb"),
        runtime=resource(lm_references_job, "runtime"),
        gpu=whole_gpu(lm_references_job),
    params:
        run=lm_reference_params,
        seed=LM_REFERENCES["seed"],
        ensemble=LM_REFERENCES["ensemble"],
        block_size=LM["base"]["model"]["block_size"],
        device=JOB_DEVICE,
    script:
        "../workflow_scripts/train_lm_references.py"


rule score_lm_references:
    input:
        observations="results/lm/references/{references}/observations.parquet",
        population="results/lm/references/{references}/population_observations.parquet",
    output:
        attack_scores="results/lm/references/{references}/attack_scores.parquet",
        attacks="results/lm/references/{references}/attacks.parquet",
        vulnerability="results/lm/references/{references}/vulnerability.parquet",
        counterfactual="results/lm/references/{references}/counterfactual.parquet",
        counterfactual_summary="results/lm/references/{references}/counterfactual_summary.parquet",
    log:
        "results/logs/lm/references/{references}/score.log",
    benchmark:
        "results/benchmarks/score_lm_references/{references}.tsv"
    conda:
        "../envs/torch.yaml"
    threads: 1
    resources:
        mem_mb=resource(LM_REFERENCE_SCORING_JOB, "mem_mb"),
        runtime=resource(LM_REFERENCE_SCORING_JOB, "runtime"),
    params:
        attacks=MEMBERSHIP["attacks"],
        attack_config=membership_attack_config(),
        onion={
            key: MEMBERSHIP["onion"][key]
            for key in ("attack", "fpr", "vulnerable_tpr")
        },
        bootstrap=config["scoring"]["bootstrap"],
        seed=config["scoring"]["seed"],
    script:
        "../workflow_scripts/score_reference_models.py"


# P1's runs as LiRA targets: each run's notes against each set of K reference fine-tunes;
# inserted notes are the members, never-inserted ones the non-members.
rule lira_lm_run:
    input:
        model="results/lm/models/{run}",
        canaries="results/lm/canaries.parquet",
        references="results/lm/references/{references}/observations.parquet",
        population="results/lm/references/population.parquet",
        population_references="results/lm/references/{references}/population_observations.parquet",
    output:
        scores="results/lm/lira/{references}/{run}_examples.parquet",
        summary="results/lm/lira/{references}/{run}.parquet",
    log:
        "results/logs/lm/lira_lm_run/{references}/{run}.log",
    benchmark:
        "results/benchmarks/lira_lm_run/{references}/{run}.tsv"
    wildcard_constraints:
        run=r"[a-z0-9.-]+",  # run names (lm_runs.RunSpec.name) have no "_"
    conda:
        "../envs/torch.yaml"
    threads: THREADS
    resources:
        mem_mb=resource(LM_MEMBERSHIP_JOB, "mem_mb"),
        runtime=resource(LM_MEMBERSHIP_JOB, "runtime"),
        gpu=resource(LM_MEMBERSHIP_JOB, "gpu"),
    params:
        spec=lm_run_spec,
        attacks=MEMBERSHIP["attacks"],
        attack_config=membership_attack_config(),
        block_size=LM["base"]["model"]["block_size"],
        bootstrap=config["scoring"]["bootstrap"],
        seed=config["scoring"]["seed"],
        device=JOB_DEVICE,
    script:
        "../workflow_scripts/lira_lm_run.py"
