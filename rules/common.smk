# Helpers shared by the rules: the param functions that hand each stage exactly the
# config it depends on.
import dataclasses
import functools
import math
import re

from rotelab.papers.lora_fl import runs as lm_runs
from rotelab.papers.onion import layers as onion
from rotelab.papers.skew import n_pre as skewed_memorization
from rotelab.papers.seqkd.adaptive import SUBSETS as ADAPTIVE_SUBSETS
from rotelab.data.classification import classification_datasets
from rotelab.pipeline import job_estimates as estimate
from rotelab.figures.catalog import figures
from rotelab.papers import PAPERS
from rotelab.pipeline.library_path import host_has_gpus

MODELS = ["teacher", "student", "baseline"]
# Adaptive-SeqKD (P3): a fine-tuned teacher and the student distilled from it, per subset.
ADAPTIVE_TEACHERS = [f"teacher_{subset}" for subset in ADAPTIVE_SUBSETS]
ADAPTIVE_STUDENTS = [f"student_{subset}" for subset in ADAPTIVE_SUBSETS]
TRANSLATION_SPLITS = ["train", "test", "canaries"]


wildcard_constraints:
    model="|".join(MODELS + ADAPTIVE_STUDENTS),
    teacher="|".join(["teacher"] + ADAPTIVE_TEACHERS),
    subset="|".join(ADAPTIVE_SUBSETS),
    split="|".join(TRANSLATION_SPLITS),
    figure="|".join(figures.names()),
    paper="|".join(PAPERS),
    adapter="full|lora",


def role_config(model):
    """Baseline B and the adaptive students share the student's architecture and
    optimisation settings (P3); fine-tuned teachers keep the teacher's architecture."""
    return config["teacher"] if model.startswith("teacher") else config["student"]


def teacher_of(student):
    """The teacher whose KD corpus a student learns from: student -> teacher, student_hq ->
    teacher_hq."""
    return student.replace("student", "teacher", 1)


def kd_corpus(student):
    return f"results/generations/{teacher_of(student)}/kd_corpus.parquet"


def training_params(wildcards):
    role = role_config(wildcards.model)
    return {
        "model": role["model"],
        "train": {**role["train"], "device": JOB_DEVICE},
    }


def training_data(wildcards):
    if wildcards.model.startswith("student"):
        return kd_corpus(wildcards.model)
    return "results/canaries/train.parquet"


def decode_params(section):
    return {**config[section], "device": JOB_DEVICE}


def translation_source(wildcards):
    if wildcards.split == "canaries":
        return "results/canaries/canaries.parquet"
    return f"results/data/{wildcards.split}.parquet"


def figure_names(paper=None):
    """Every registered figure (of one paper, given its short name), but lm_lira only when
    the LM reference models are on."""
    return [
        name
        for name in figures.names()
        if (name != "lm_lira" or LM_REFERENCES["models"])
        and (paper is None or figures.get(name).paper == paper)
    ]


def claimed_figures(paper=None):
    """The figures whose claims a verdicts table judges: all registered ones (of one paper),
    so that a figure this run cannot make still lists its claims, as not measurable."""
    return [
        name
        for name in figures.names()
        if paper is None or figures.get(name).paper == paper
    ]


# One target per paper with figures, named by its short name (snakemake --cores 2 acil).
PAPER_TARGETS = [name for name in PAPERS if claimed_figures(name)]


def paper_category(wildcards):
    """The report's navigation groups each figure and its table under its paper."""
    paper = PAPERS[figures.get(wildcards.figure).paper]
    return f"{paper.code}: {paper.title}"


def figure_targets(paper=None):
    return expand(
        ["results/figures/{figure}.png", "results/tables/{figure}.csv"],
        figure=figure_names(paper),
    )


def kd_corpus_if_student(wildcards):
    """A student's secondary ExMem compares against its teacher's KD output."""
    return [kd_corpus(wildcards.model)] if wildcards.model.startswith("student") else []


def figure_input_files(wildcards):
    """Input paths per pattern of a figure ({run} patterns expand over its run family)."""
    families = {
        family: [spec.name for spec in specs] for family, specs in LM_FAMILIES.items()
    }
    families["onion"] = ONION_POOLS
    families["acil"] = [str(k) for k in ACIL["phases"]]
    families["relu_capacity"] = [
        f"depth{d}_n{n}"
        for d in config["relu_capacity"]["depths"]
        for n in config["relu_capacity"]["sizes"]
    ]
    families["dsm"] = [
        f"t{t:g}_lr{lr:g}" for t in DSM["times"] for lr in DSM["learning_rates"]
    ]
    families["dsm_diffusion"] = [
        f"lr{lr:g}" for lr in DSM["diffusion"]["learning_rates"]
    ]
    families["lm_lira"] = lm_lira_targets()
    families["skew"] = [run.name for run in SKEW_RUNS]
    return figures.get(wildcards.figure).input_files(families)


def figure_inputs(wildcards):
    return [path for paths in figure_input_files(wildcards).values() for path in paths]


# ---- resources: what each job asks its scheduler for, estimated from the config ----------
# (rotelab.pipeline.job_estimates; partitions and accounts live in profiles/, never here)
# A job computes on CUDA exactly when it is given a GPU: runtime.device cuda, or auto on a
# host with NVIDIA devices (on clusters, set cuda or cpu explicitly: the submit host decides).
ON_GPU = config["runtime"]["device"] == "cuda" or (
    config["runtime"]["device"] == "auto" and host_has_gpus()
)
JOB_DEVICE = "cuda" if ON_GPU else "cpu"
THREADS = config["runtime"]["threads"]
VOCAB = config["tokenizer"]["vocab_size"]
# Training pairs the config implies; the whole corpus (max_pairs unset) is taken as 1M.
N_TRAIN = config["data"]["max_pairs"] or 1_000_000
N_CANARIES = (
    2 * len(config["canaries"]["replicas"]) * config["canaries"]["n_per_replica"]
)
N_CANARY_LINES = (
    N_CANARIES
    // 2
    * sum(config["canaries"]["replicas"])
    // len(config["canaries"]["replicas"])
)
SPLIT_SIZES = {
    "train": N_TRAIN + N_CANARY_LINES,
    "test": config["data"]["n_test"],
    "canaries": N_CANARIES,
}


def resource(job, field):
    """One field of a JobResources estimate, as a Snakemake resource callable."""
    return lambda wildcards: getattr(job(wildcards), field)


def training_job(wildcards):
    role = role_config(wildcards.model)
    return estimate.training(role["model"], role["train"], VOCAB, ON_GPU, THREADS)


def decoding_job(n_sentences, section="decode", candidates=1):
    def job(wildcards):
        model = wildcards.get("model", "teacher")
        sentences = n_sentences(wildcards) if callable(n_sentences) else n_sentences
        return estimate.decoding(
            role_config(model)["model"],
            VOCAB,
            sentences,
            config[section]["batch_size"],
            config[section]["max_new_tokens"],
            ON_GPU,
            THREADS,
            candidates,
        )

    return job


def light_job(n_rows):
    return lambda wildcards: estimate.light(n_rows)


# ---- causal-LM track ---------------------------------------------------------------------
N_LM_DOCUMENTS = config["lm"]["max_documents"] or 150_000


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


def pretraining_job(wildcards):
    base = config["lm"]["base"]
    vocab = config["lm"]["tokenizer"]["vocab_size"]
    return estimate.causal_training(
        base["model"], base["train"], vocab, ON_GPU, THREADS
    )


# ---- causal-LM fine-tuning runs (P1): planned by rotelab.papers.lora_fl.runs ------------------------
LM = config["lm"]
LM_FAMILIES = lm_runs.plan(LM)
LM_RUNS = lm_runs.all_runs(LM)
LM_VOCAB = LM["tokenizer"]["vocab_size"]
# Fine-tuning tokens the config implies, for resource estimates only (4k BPE): ~40 per QA pair
# of the ~27k the default sources hold, ~180 per one-visit canary note copy.
LM_CANARY_COPIES = LM["canaries"]["n_per_group"] * sum(LM["canaries"]["duplication"])
LM_FINETUNE_TOKENS = (
    LM["qa"]["fraction"] * 27_000 * 40
    + (50 + 130 * LM["canaries"]["visits"]) * LM_CANARY_COPIES
)
N_LM_CANARIES = 2 * LM["canaries"]["n_per_group"] * len(LM["canaries"]["duplication"])


def lm_run_params(wildcards):
    return lm_runs.run_params(LM, LM_RUNS[wildcards.run])


def lm_run_spec(wildcards):
    return lm_run_params(wildcards)["spec"]


LM_REFERENCES = LM["references"]


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


def lm_lira_targets():
    """Every P1 memorization run against every reference set: ``{adapter}/{run}``."""
    return [
        f"{adapter}/{spec.name}"
        for adapter in LM_REFERENCES["adapters"]
        for spec in LM_FAMILIES["memorization"]
    ]


def lm_references_job(wildcards):
    """K centralized fine-tunes (about the P1 runs' data each) and their scoring; a LoRA set
    gets the full set's estimate, an upper bound."""
    one = finetuning_estimate(centralized_finetune_steps())
    k = LM_REFERENCES["models"]
    if LM_REFERENCES["ensemble"]:
        return one.times(k)
    # one after another: K times the time, one training's memory (the K small models aside)
    return estimate.JobResources(one.mem_mb, one.runtime * k, one.gpu)


def centralized_finetune_steps():
    """Optimizer steps of a centralized run over the pooled client data."""
    train = LM["finetune"]["train"]
    block = LM["base"]["model"]["block_size"]
    return math.ceil(
        train["epochs"] * LM_FINETUNE_TOKENS / (train["batch_size"] * block)
    )


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
    steps = centralized_finetune_steps()
    if spec.setting == "federated":
        steps = math.ceil(
            steps
            * LM["federated"]["rounds"]
            * LM["federated"]["local_epochs"]
            / LM["finetune"]["train"]["epochs"]
        )
    # Opacus materialises a gradient per sample: about 3x the work of a plain step.
    steps *= 3 if spec.defense == "dp" else 1
    return finetuning_estimate(steps)


def lm_scoring_job(wildcards):
    """Extraction (a continuation per canary and prompt length), utility (a scored and a
    greedy answer per test question) and membership (every canary note, strided)."""
    extraction = LM["extraction"]
    block = LM["base"]["model"]["block_size"]
    sequences = (
        N_LM_CANARIES * len(extraction["prompt_lengths"])
        + 2 * LM["qa"]["n_test"] * len(LM["qa"]["sources"])
        + N_LM_CANARIES * 300 // block
    )
    return estimate.causal_decoding(
        LM["base"]["model"], LM_VOCAB, sequences, block, ON_GPU, THREADS
    )


# ---- membership engine (P5): pools of examples, each with its matrix and ensemble --------
MEMBERSHIP = config["membership"]
ONION_POOL_PATTERN = onion.POOL_PATTERN
ONION_POOLS = onion.pool_names(MEMBERSHIP["onion"]["layers"])


def onion_pool_inputs(wildcards):
    """Layer l of an arm starts from layer l-1 of that arm; targeted removal also reads
    that pool's vulnerability."""
    arm, _ = onion.parse_pool(wildcards.pool)
    if arm is None:
        return {}
    previous = f"results/membership/classifier/{onion.previous_pool(wildcards.pool)}"
    inputs = {"previous": f"{previous}/examples.parquet"}
    if arm == "targeted":
        inputs["vulnerability"] = f"{previous}/vulnerability.parquet"
    return inputs


def onion_pool_params(wildcards):
    arm, layer = onion.parse_pool(wildcards.pool)
    if arm is None:
        return {"dataset": MEMBERSHIP["dataset"]}
    return {
        "arm": arm,
        "layer": layer,
        "remove": MEMBERSHIP["onion"]["remove"],
        "seed": MEMBERSHIP["seed"] + layer,
    }


def membership_attack_config():
    """min-k% settings reach the membership scores only when a min-k attack is listed."""
    if {"min_k", "min_k_pp"} & set(MEMBERSHIP["attacks"]):
        return {"min_k_fraction": config["scoring"]["min_k_fraction"]}
    return {}


@functools.cache
def membership_data_shape():
    """(examples, features, classes) of the membership dataset, loaded once per run."""
    data = classification_datasets.get(MEMBERSHIP["dataset"])()
    return len(data.labels), data.features.shape[1], data.n_classes


def reference_training_job(wildcards):
    n_examples, n_features, n_classes = membership_data_shape()
    classifier = MEMBERSHIP["classifier"]
    return estimate.ensemble_training(
        MEMBERSHIP["reference_models"],
        n_examples,
        n_features,
        classifier["hidden"],
        n_classes,
        classifier["epochs"],
        ON_GPU,
        THREADS,
    )


# ---- SeqKD subgroups and Adaptive-SeqKD (P3) ---------------------------------------------
SUBGROUPS = config["seqkd_subgroups"]
ADAPTIVE = config["adaptive_seqkd"]


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


def translation_reference_job(wildcards=None, n_models=1):
    return estimate.training(
        config["student"]["model"],
        translation_reference_train(),
        VOCAB,
        ON_GPU,
        THREADS,
    ).times(n_models)


def translation_references_job(wildcards=None):
    return translation_reference_job(n_models=SUBGROUPS["reference_models"])


def translation_reference_dirs():
    return expand(
        "results/membership/translation/models/ref{k}",
        k=range(SUBGROUPS["reference_models"]),
    )


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


def teacher_finetuning_job(wildcards):
    """At most one epoch over the whole corpus (the subset's size is known only at run time)."""
    steps = max(1, math.ceil(ADAPTIVE["epochs"] * N_TRAIN / ADAPTIVE["batch_size"]))
    train = {"batch_size": ADAPTIVE["batch_size"], "steps": steps}
    return estimate.training(config["teacher"]["model"], train, VOCAB, ON_GPU, THREADS)


# ---- ACIL (P7) ---------------------------------------------------------------------------
ACIL = config["acil"]


# ---- score matching (P2) -------------------------------------------------------------------
DSM = config["dsm"]
# What each job depends on: the swept lists only name the jobs.
DSM_SCORE = {
    key: value
    for key, value in DSM.items()
    if key not in ("times", "learning_rates", "diffusion")
}
DSM_DIFFUSION = {
    key: value for key, value in DSM["diffusion"].items() if key != "learning_rates"
}


# ---- skewed memorization (P4), on the causal-LM track ---------------------------------------
SKEW = config["skewed_memorization"]
SKEW_RUNS = skewed_memorization.plan(SKEW)
SKEW_BY_NAME = {run.name: run for run in SKEW_RUNS}
# Tokens per sample, for resource estimates only: QA pairs in the template are ~30 tokens.
SKEW_SAMPLE_TOKENS = 40


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


def skew_run_samples(wildcards):
    run = skew_run(wildcards)
    return run.size + (round(SKEW["mixture"]["ratio"] * run.size) if run.mixed else 0)


def skew_finetuning_job(wildcards):
    train = SKEW["train"]
    block = LM["base"]["model"]["block_size"]
    tokens = skew_run_samples(wildcards) * SKEW_SAMPLE_TOKENS * max(SKEW["epochs"])
    steps = math.ceil(tokens / (train["batch_size"] * block))
    return estimate.causal_training(
        LM["base"]["model"],
        {"batch_size": train["batch_size"], "steps": steps},
        LM_VOCAB,
        ON_GPU,
        THREADS,
    )


def skew_scoring_job(wildcards):
    sequences = skew_run_samples(wildcards) * len(SKEW["epochs"])
    return estimate.causal_decoding(
        LM["base"]["model"], LM_VOCAB, sequences, SKEW_SAMPLE_TOKENS, ON_GPU, THREADS
    )
