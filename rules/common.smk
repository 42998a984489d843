# Helpers shared by the rules: the param functions that hand each stage exactly the
# config it depends on.
from rotelab.figures import figures

MODELS = ["teacher", "student", "baseline"]
TRANSLATION_SPLITS = ["train", "test", "canaries"]


wildcard_constraints:
    model="|".join(MODELS),
    split="|".join(TRANSLATION_SPLITS),
    figure="|".join(figures.names()),


def role_config(model):
    """Baseline B shares the student's architecture and optimisation settings (P3)."""
    return config["teacher"] if model == "teacher" else config["student"]


def training_params(wildcards):
    role = role_config(wildcards.model)
    return {
        "model": role["model"],
        "train": {**role["train"], "device": config["runtime"]["device"]},
    }


def training_data(wildcards):
    if wildcards.model == "student":
        return "results/generations/kd_corpus.parquet"
    return "results/canaries/train.parquet"


def decode_params(section):
    return {**config[section], "device": config["runtime"]["device"]}


def translation_source(wildcards):
    if wildcards.split == "canaries":
        return "results/canaries/canaries.parquet"
    return f"results/data/{wildcards.split}.parquet"


def figure_targets():
    return expand(
        ["results/figures/{figure}.png", "results/tables/{figure}.csv"],
        figure=figures.names(),
    )


def kd_corpus_if_student(wildcards):
    """The student's secondary ExMem compares against the teacher's KD output."""
    return (
        ["results/generations/kd_corpus.parquet"]
        if wildcards.model == "student"
        else []
    )


def figure_inputs(wildcards):
    files = figures.get(wildcards.figure).input_files()
    return [path for paths in files.values() for path in paths]
