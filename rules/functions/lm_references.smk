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


def lm_reference_targets():
    """The causal-LM membership tables of every reference set, when lm.references.models > 0."""
    if not LM_REFERENCES["models"]:
        return []
    return expand(
        [
            "results/lm/references/{adapter}/attacks.parquet",
            "results/lm/references/{adapter}/counterfactual_summary.parquet",
        ],
        adapter=LM_REFERENCES["adapters"],
    )


def lm_reference_params(wildcards):
    """A reference set trains as P1's centralized run of its adapter would (LoRA: lm.finetune.lora)."""
    rank = LM["finetune"]["lora"]["r"] if wildcards.adapter == "lora" else None
    return lm_runs.run_params(
        LM, lm_runs.RunSpec("centralized", wildcards.adapter, rank)
    )


@sized_by("lm.references.models", "lm.references.ensemble", "lm.base.model")
def lm_references_job(wildcards):
    """K centralized fine-tunes (about the P1 runs' data each) and their scoring; a LoRA set
    gets the full set's estimate, an upper bound."""
    one = finetuning_estimate(estimate.centralized_finetune_steps(LM))
    k = LM_REFERENCES["models"]
    if LM_REFERENCES["ensemble"]:
        return one.times(k)
    # one after another: K times the time, one training's memory (the K small models aside)
    return one.in_sequence(k)


# Scoring the reference set: every canary note under every reference model.
LM_REFERENCE_SCORING_JOB = light_job(
    N_LM_CANARIES * max(1, LM_REFERENCES["models"]),
    *LM_CANARY_KEYS,
    "lm.references.models",
)
