# The top of rules/translation_train.smk: the family's constants and functions (included there;
# snakemake --lint wants no `def` in a file with rules).
def teacher_of(student):
    """The teacher whose KD corpus a student learns from: student -> teacher, student_hq ->
    teacher_hq."""
    return student.replace("student", "teacher", 1)


def kd_corpus(student):
    return f"results/generations/{teacher_of(student)}/kd_corpus.parquet"


def training_data(wildcards):
    if wildcards.model.startswith("student"):
        return kd_corpus(wildcards.model)
    return "results/canaries/train.parquet"


def training_params(wildcards):
    role = role_config(wildcards.model)
    return {
        "model": role["model"],
        "train": {**role["train"], "device": JOB_DEVICE},
    }


@sized_by(
    "teacher.model",
    "student.model",
    "teacher.train.batch_size",
    "student.train.batch_size",
    "tokenizer.vocab_size",
)
def training_job(wildcards):
    role = role_config(wildcards.model)
    return estimate.training(role["model"], role["train"], VOCAB, ON_GPU, THREADS)
