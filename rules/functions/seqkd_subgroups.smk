# The top of rules/seqkd_subgroups.smk: the family's constants and functions (included there;
# snakemake --lint wants no `def` in a file with rules).
from rotelab.membership.attacks import REFERENCE_ATTACKS

SUBGROUPS = config["seqkd_subgroups"]


def reference_index(wildcards):
    return int(wildcards.reference[len("ref") :])


def translation_reference_train(wildcards=None):
    """The baseline's optimisation on half the corpus: half its steps by default, so each
    reference model passes over its pairs as often as B over all of them."""
    train = dict(config["student"]["train"])
    train["steps"] = SUBGROUPS["steps"] or max(1, train["steps"] // 2)
    train["warmup_steps"] = min(train["warmup_steps"], train["steps"])
    return train


def translation_reference_params(indices):
    """The baseline's architecture and (halved) optimisation for the reference models
    ``indices``; model k is seeded student.train.seed + seqkd_subgroups.seed + k."""
    train = translation_reference_train()
    return {
        "model": config["student"]["model"],
        "train": {**train, "device": JOB_DEVICE},
        "indices": list(indices),
        "seeds": [train["seed"] + SUBGROUPS["seed"] + k for k in indices],
    }


@sized_by("student.model", "student.train.batch_size", "tokenizer.vocab_size")
def translation_reference_job(wildcards=None, n_models=1):
    return estimate.training(
        config["student"]["model"],
        translation_reference_train(),
        VOCAB,
        ON_GPU,
        THREADS,
    ).times(n_models)


@sized_by(
    "seqkd_subgroups.reference_models", "seqkd_subgroups.ensemble", "student.model"
)
def translation_references_job(wildcards=None):
    return translation_reference_job(n_models=SUBGROUPS["reference_models"])


def translation_reference_dirs():
    return expand(
        "results/membership/translation/models/ref{k}",
        k=range(SUBGROUPS["reference_models"]),
    )


# membership.attacks that run on the references' observations: the reference attacks and
# the loss attack (the text attacks and min-k% need the tokens, which are not kept).
TRANSLATION_REFERENCE_ATTACKS = [
    name
    for name in config["membership"]["attacks"]
    if name in REFERENCE_ATTACKS or name == "loss"
]
