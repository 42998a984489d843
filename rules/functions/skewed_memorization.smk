# The top of rules/skewed_memorization.smk: the family's constants and functions (included there;
# snakemake --lint wants no `def` in a file with rules).
# Runs are planned by rotelab.papers.skew.n_pre, which also spells their names.
import dataclasses

from rotelab.papers.skew import n_pre as skewed_memorization

SKEW = config["skewed_memorization"]
SKEW_RUNS = skewed_memorization.plan(SKEW)
SKEW_BY_NAME = {run.name: run for run in SKEW_RUNS}


def skew_sample_params():
    largest = max(SKEW["sizes"])
    return {
        "dataset": SKEW["dataset"],
        "n_scored": largest,
        "mixture": SKEW["mixture"]["dataset"],
        "n_mixture": round(SKEW["mixture"]["ratio"] * largest),
        "seed": SKEW["seed"],
    }


def skew_run(wildcards):
    return SKEW_BY_NAME[wildcards.skew_run]


@sized_by(
    "lm.base.model", "skewed_memorization.train.batch_size", "lm.tokenizer.vocab_size"
)
def skew_finetuning_job(wildcards):
    run = skew_run(wildcards)
    block = LM["base"]["model"]["block_size"]
    steps = estimate.skew_finetune_steps(SKEW, run.size, run.mixed, block)
    return estimate.causal_training(
        LM["base"]["model"],
        {"batch_size": SKEW["train"]["batch_size"], "steps": steps},
        LM_VOCAB,
        ON_GPU,
        THREADS,
    )


@sized_by("lm.base.model", "skewed_memorization.sizes", "lm.tokenizer.vocab_size")
def skew_scoring_job(wildcards):
    run = skew_run(wildcards)
    return estimate.causal_decoding(
        LM["base"]["model"],
        LM_VOCAB,
        estimate.skew_scoring_sequences(SKEW, run.size, run.mixed),
        estimate.SKEW_SAMPLE_TOKENS,
        ON_GPU,
        THREADS,
    )
