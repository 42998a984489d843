# The top of rules/lm_references.smk: the family's constants and functions (included there;
# snakemake --lint wants no `def` in a file with rules).
LM_REFERENCES = LM["references"]
# The membership engine's settings, shared with rules/membership.smk (included after this).
MEMBERSHIP = config["membership"]


def membership_attack_config():
    """min-k% settings reach the membership scores only when a min-k attack is listed."""
    if {"min_k", "min_k_pp"} & set(MEMBERSHIP["attacks"]):
        return {"min_k_fraction": config["scoring"]["min_k_fraction"]}
    return {}


LM_REFERENCE_SETS = lm_runs.reference_sets(LM)


def lm_reference_targets():
    """The causal-LM membership tables of every reference set, when lm.references.models > 0."""
    if not LM_REFERENCES["models"]:
        return []
    return expand(
        [
            "results/lm/references/{references}/attacks.parquet",
            "results/lm/references/{references}/counterfactual_summary.parquet",
        ],
        references=LM_REFERENCE_SETS,
    )


def lm_reference_params(wildcards):
    """A reference set trains as the P1 run its spec names would (LoRA: lm.finetune.lora;
    FedAvg: lm.federated)."""
    return lm_runs.run_params(LM, LM_REFERENCE_SETS[wildcards.references])


@sized_by(
    "lm.references.models",
    "lm.references.ensemble",
    "lm.references.settings",
    "lm.base.model",
)
def lm_references_job(wildcards):
    """K fine-tunes (about the P1 runs' data each) and their scoring; a LoRA set gets the
    full set's estimate, an upper bound. FedAvg sets train one model after another."""
    spec = LM_REFERENCE_SETS[wildcards.references]
    one = finetuning_estimate(estimate.lm_finetune_steps(LM, spec.setting, "none"))
    k = LM_REFERENCES["models"]
    if LM_REFERENCES["ensemble"] and spec.setting == "centralized":
        return one.times(k)
    # one after another: K times the time, one training's memory (the K small models aside)
    return one.in_sequence(k)


# Scoring the reference set: every canary note under every reference model.
LM_REFERENCE_SCORING_JOB = light_job(
    N_LM_CANARIES * max(1, LM_REFERENCES["models"]),
    *LM_CANARY_KEYS,
    "lm.references.models",
)
