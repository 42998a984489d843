# The top of rules/lm.smk: the family's constants and functions (included there;
# snakemake --lint wants no `def` in a file with rules).
# The LM constants below serve every causal-LM rules file (lm_finetune, lm_references,
# skewed_memorization), all included after this one.
LM = config["lm"]
LM_VOCAB = LM["tokenizer"]["vocab_size"]
N_LM_DOCUMENTS = estimate.lm_documents(LM)
N_LM_CANARIES = estimate.n_lm_canaries(LM)
LM_CANARY_KEYS = ("lm.canaries.n_per_group", "lm.canaries.duplication")
LM_TEXT_TABLE_JOB = light_job(N_LM_DOCUMENTS, "lm.max_documents")
LM_CANARY_TABLE_JOB = light_job(N_LM_CANARIES, *LM_CANARY_KEYS)


def lm_text_params():
    keys = ("pretrain_corpora", "max_documents", "n_valid", "seed")
    return {key: config["lm"][key] for key in keys}


def pretraining_params():
    base = config["lm"]["base"]
    return {
        "model": base["model"],
        "train": {**base["train"], "device": JOB_DEVICE},
        "plateau": base["plateau"],
    }


@sized_by("lm.base.model", "lm.base.train.batch_size", "lm.tokenizer.vocab_size")
def pretraining_job(wildcards):
    base = config["lm"]["base"]
    vocab = config["lm"]["tokenizer"]["vocab_size"]
    return estimate.causal_training(
        base["model"], base["train"], vocab, ON_GPU, THREADS
    )
