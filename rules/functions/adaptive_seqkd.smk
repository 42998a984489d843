# The top of rules/adaptive_seqkd.smk: the family's constants and functions (included there;
# snakemake --lint wants no `def` in a file with rules).
ADAPTIVE = config["adaptive_seqkd"]


def adaptive_subset_params():
    return {
        key: ADAPTIVE[key] for key in ("chrf", "confidence", "min_source_words", "seed")
    }


def teacher_finetuning_params():
    """P3 continues at its teacher's last learning rate: 10% of the peak here."""
    lr = ADAPTIVE["lr"] or 0.1 * config["teacher"]["train"]["lr"]
    return {
        "epochs": ADAPTIVE["epochs"],
        "batch_size": ADAPTIVE["batch_size"],
        "lr": lr,
        "seed": ADAPTIVE["seed"],
        "max_len": config["teacher"]["train"].get("max_len", 64),
        "device": JOB_DEVICE,
    }


@sized_by("teacher.model", "adaptive_seqkd.batch_size", "tokenizer.vocab_size")
def teacher_finetuning_job(wildcards):
    """At most one epoch over the whole corpus (the subset's size is known only at run time)."""
    train = {
        "batch_size": ADAPTIVE["batch_size"],
        "steps": estimate.teacher_finetune_steps(ADAPTIVE, N_TRAIN),
    }
    return estimate.training(config["teacher"]["model"], train, VOCAB, ON_GPU, THREADS)
