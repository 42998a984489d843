# The top of rules/lm_finetune.smk: the family's constants and functions (included there;
# snakemake --lint wants no `def` in a file with rules).
import re
from dataclasses import asdict

from rotelab.papers.lora_fl import runs as lm_runs

LM_RUNS = lm_runs.all_runs(LM)
LM_RUN_SPECS = {name: asdict(spec) for name, spec in LM_RUNS.items()}


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


@sized_by("lm.base.model", "lm.finetune.train.batch_size", "lm.tokenizer.vocab_size")
def finetuning_job(wildcards):
    spec = LM_RUNS[wildcards.run]
    return finetuning_estimate(
        estimate.lm_finetune_steps(LM, spec.setting, spec.defense)
    )


def lm_scoring_job(sequences: int):
    """A job that scores ``sequences`` causal-LM sequences of up to a block each; the same
    for every run, so it is estimated once."""
    job = estimate.causal_decoding(
        LM["base"]["model"],
        LM_VOCAB,
        sequences,
        LM["base"]["model"]["block_size"],
        ON_GPU,
        THREADS,
    )
    return sized_by("lm.base.model", "lm.tokenizer.vocab_size")(lambda wildcards: job)


# Extraction (a continuation per canary and prompt length) and utility (a scored and a
# greedy answer per test question); membership (every canary note, teacher-forced in blocks).
LM_EXTRACTION_JOB = lm_scoring_job(estimate.lm_decoding_sequences(LM))
LM_MEMBERSHIP_JOB = lm_scoring_job(estimate.lm_membership_sequences(LM))
# The audit: every audit canary under the base and under each run.
LM_AUDIT_JOB = lm_scoring_job(estimate.lm_audit_sequences(LM, len(LM_RUNS)))
