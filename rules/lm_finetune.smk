# The causal-LM track (P1), continued: QA clients and canary notes -> one fine-tuning run per
# planned (setting, adapter, defense) -> extraction, utility and membership scores per run.
# Runs are planned from config by rotelab.papers.lora_fl.runs; each run's params hold exactly the
# settings it depends on, so changing one defense retrains only the runs that use it.
include: "functions/lm_finetune.smk"


wildcard_constraints:
    run="|".join(re.escape(name) for name in LM_RUNS),


rule prepare_qa:
    input:
        user_files(LM["qa"]["sources"]),
    output:
        "results/lm/data/qa.parquet",
    log:
        "results/logs/lm/prepare_qa.log",
    benchmark:
        "results/benchmarks/prepare_qa/prepare_qa.tsv"
    conda:
        "../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=resource(light_job(30_000), "mem_mb"),
        runtime=resource(light_job(30_000), "runtime"),
    params:
        qa=LM["qa"],
    script:
        "../workflow_scripts/prepare_qa.py"


rule make_lm_canaries:
    input:
        qa="results/lm/data/qa.parquet",
    output:
        "results/lm/canaries.parquet",
    log:
        "results/logs/lm/make_lm_canaries.log",
    benchmark:
        "results/benchmarks/make_lm_canaries/make_lm_canaries.tsv"
    conda:
        "../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=resource(LM_CANARY_TABLE_JOB, "mem_mb"),
        runtime=resource(LM_CANARY_TABLE_JOB, "runtime"),
    params:
        canaries=LM["canaries"],
    script:
        "../workflow_scripts/make_lm_canaries.py"


# Audit canaries (lm.audit): short records every run trains on, each inserted once with
# probability 1/2; after training, how well they can be told apart bounds each run's epsilon.
rule make_lm_audit_canaries:
    input:
        qa="results/lm/data/qa.parquet",
    output:
        "results/lm/audit/canaries.parquet",
    log:
        "results/logs/lm/make_lm_audit_canaries.log",
    benchmark:
        "results/benchmarks/make_lm_audit_canaries/make_lm_audit_canaries.tsv"
    conda:
        "../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=resource(LM_CANARY_TABLE_JOB, "mem_mb"),
        runtime=resource(LM_CANARY_TABLE_JOB, "runtime"),
    params:
        canaries=LM["audit"]["canaries"],
        seed=LM["audit"]["seed"],
    script:
        "../workflow_scripts/make_lm_audit_canaries.py"


rule finetune_lm:
    input:
        base="results/models/lm_base",
        qa="results/lm/data/qa.parquet",
        canaries="results/lm/canaries.parquet",
        audit="results/lm/audit/canaries.parquet",
    output:
        directory("results/lm/models/{run}"),
    log:
        "results/logs/lm/finetune/{run}.log",
    benchmark:
        "results/benchmarks/finetune_lm/{run}.tsv"
    conda:
        "../envs/torch.yaml"
    threads: THREADS
    resources:
        mem_mb=resource(finetuning_job, "mem_mb"),
        runtime=resource(finetuning_job, "runtime"),
        gpu=resource(finetuning_job, "gpu"),
    params:
        run=lm_run_params,
        block_size=LM["base"]["model"]["block_size"],
        device=JOB_DEVICE,
    script:
        "../workflow_scripts/finetune_lm.py"


# Extraction and utility share one job per run: both decode with the loaded model, and
# separate jobs would pay the interpreter and model start-up twice for seconds of work each.
rule score_lm_extraction:
    input:
        model="results/lm/models/{run}",
        qa="results/lm/data/qa.parquet",
        canaries="results/lm/canaries.parquet",
    output:
        extraction_examples="results/lm/scores/{run}/extraction_examples.parquet",
        extraction="results/lm/scores/{run}/extraction.parquet",
        utility_examples="results/lm/scores/{run}/utility_examples.parquet",
        utility="results/lm/scores/{run}/utility.parquet",
    log:
        "results/logs/lm/score_lm_extraction/{run}.log",
    benchmark:
        "results/benchmarks/score_lm_extraction/{run}.tsv"
    conda:
        "../envs/torch.yaml"
    threads: THREADS
    resources:
        mem_mb=resource(LM_EXTRACTION_JOB, "mem_mb"),
        runtime=resource(LM_EXTRACTION_JOB, "runtime"),
        gpu=resource(LM_EXTRACTION_JOB, "gpu"),
    params:
        spec=lm_run_spec,
        extraction=LM["extraction"],
        block_size=LM["base"]["model"]["block_size"],
        bootstrap=config["scoring"]["bootstrap"],
        seed=config["scoring"]["seed"],
        device=JOB_DEVICE,
    script:
        "../workflow_scripts/score_lm_extraction.py"


# Membership is its own job so that an attack setting (scoring.*) rescores the notes
# without decoding the extraction prompts again.
rule score_lm_membership:
    input:
        model="results/lm/models/{run}",
        canaries="results/lm/canaries.parquet",
    output:
        examples="results/lm/scores/{run}/membership_examples.parquet",
        summary="results/lm/scores/{run}/membership.parquet",
    log:
        "results/logs/lm/score_lm_membership/{run}.log",
    benchmark:
        "results/benchmarks/score_lm_membership/{run}.tsv"
    conda:
        "../envs/torch.yaml"
    threads: THREADS
    resources:
        mem_mb=resource(LM_MEMBERSHIP_JOB, "mem_mb"),
        runtime=resource(LM_MEMBERSHIP_JOB, "runtime"),
        gpu=resource(LM_MEMBERSHIP_JOB, "gpu"),
    params:
        spec=lm_run_spec,
        block_size=LM["base"]["model"]["block_size"],
        attacks=config["scoring"]["attacks"],
        min_k_fraction=config["scoring"]["min_k_fraction"],
        bootstrap=config["scoring"]["bootstrap"],
        seed=config["scoring"]["seed"],
        device=JOB_DEVICE,
    script:
        "../workflow_scripts/score_lm_membership.py"


# One job audits every run: the base's scores calibrate them all, and each run's part is a
# second of scoring beside a model load.
rule audit_lm_runs:
    input:
        base="results/models/lm_base",
        canaries="results/lm/audit/canaries.parquet",
        models=expand("results/lm/models/{run}", run=LM_RUNS),
    output:
        scores="results/lm/audit/scores.parquet",
        table="results/lm/audit/runs.parquet",
    log:
        "results/logs/lm/audit_lm_runs.log",
    benchmark:
        "results/benchmarks/audit_lm_runs/audit_lm_runs.tsv"
    conda:
        "../envs/torch.yaml"
    threads: THREADS
    resources:
        mem_mb=resource(LM_AUDIT_JOB, "mem_mb"),
        runtime=resource(LM_AUDIT_JOB, "runtime"),
        gpu=resource(LM_AUDIT_JOB, "gpu"),
    params:
        audit=LM["audit"],
        specs=LM_RUN_SPECS,
        block_size=LM["base"]["model"]["block_size"],
        device=JOB_DEVICE,
    script:
        "../workflow_scripts/audit_lm_runs.py"
