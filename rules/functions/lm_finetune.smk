# The top of rules/lm_finetune.smk: the family's constants and functions (included there;
# snakemake --lint wants no `def` in a file with rules).
import re

from rotelab.papers.lora_fl import runs as lm_runs

LM_RUNS = lm_runs.all_runs(LM)


def lm_run_params(wildcards):
    return lm_runs.run_params(LM, LM_RUNS[wildcards.run])


def lm_run_spec(wildcards):
    return lm_run_params(wildcards)["spec"]


def finetuning_estimate(steps):
    return estimate.causal_training(
        LM["base"]["model"],
        {"batch_size": LM["finetune"]["train"]["batch_size"], "steps": steps},
        LM_VOCAB,
        ON_GPU,
        THREADS,
    )


def finetuning_job(wildcards):
    spec = LM_RUNS[wildcards.run]
    return finetuning_estimate(
        estimate.lm_finetune_steps(LM, spec.setting, spec.defense)
    )


def lm_extraction_job(wildcards):
    """Extraction (a continuation per canary and prompt length) and utility (a scored and
    a greedy answer per test question)."""
    return estimate.causal_decoding(
        LM["base"]["model"],
        LM_VOCAB,
        estimate.lm_decoding_sequences(LM),
        LM["base"]["model"]["block_size"],
        ON_GPU,
        THREADS,
    )


def lm_membership_job(wildcards):
    """Every canary note, scored teacher-forced in blocks."""
    return estimate.causal_decoding(
        LM["base"]["model"],
        LM_VOCAB,
        estimate.lm_membership_sequences(LM),
        LM["base"]["model"]["block_size"],
        ON_GPU,
        THREADS,
    )
