# Plumbing every rules file shares: the device jobs compute on, the wildcard constraints,
# the resource helpers and the figure targets. Each family's own constants and functions sit
# at the top of its rules file (in rules/functions/<family>.smk, included there, where it
# has functions); job-size arithmetic is in rotelab.pipeline.job_estimates, run names in
# each paper's package.
import os

from rotelab.core.device import JOBS_PER_GPU_ENV
from rotelab.data.corpora import user_files
from rotelab.figures.catalog import figures
from rotelab.papers import PAPERS
from rotelab.papers.acil import runs as acil_runs
from rotelab.papers.dsm import runs as dsm_runs
from rotelab.papers.lora_fl import runs as lm_runs
from rotelab.papers.onion import layers as onion
from rotelab.papers.relu_capacity import runs as relu_capacity_runs
from rotelab.papers.seqkd.adaptive import SUBSETS as ADAPTIVE_SUBSETS
from rotelab.papers.skew import n_pre as skewed_memorization
from rotelab.pipeline import job_estimates as estimate
from rotelab.pipeline.checks import check_job_memory, memory_limit_mb
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


# ---- downloads: none unless the user opts in -----------------------------------------------
# Jobs inherit this environment (locally and in the SLURM job that re-reads this Snakefile), so
# the Hugging Face libraries read only their local cache.
if not config["runtime"]["allow_downloads"]:
    os.environ.update(
        HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", TRANSFORMERS_OFFLINE="1"
    )


# ---- device: where a job computes --------------------------------------------------------
# A job computes on CUDA exactly when it is given a GPU: runtime.device cuda, or auto on a
# host with NVIDIA devices (on clusters, set cuda or cpu explicitly: the submit host decides).
ON_GPU = config["runtime"]["device"] == "cuda" or (
    config["runtime"]["device"] == "auto" and host_has_gpus()
)
JOB_DEVICE = "cuda" if ON_GPU else "cpu"
THREADS = config["runtime"]["threads"]


def role_config(model):
    """Baseline B and the adaptive students share the student's architecture and
    optimisation settings (P3); fine-tuned teachers keep the teacher's architecture."""
    return config["teacher"] if model.startswith("teacher") else config["student"]


def decode_params(section):
    return {**config[section], "device": JOB_DEVICE}


# ---- figures: every figure's targets and inputs, and one target per paper ----------------
def figure_names(paper=None):
    """Every registered figure (of one paper, given its short name), but lm_lira only when
    the LM reference models are on, and dp_audit only with audit canaries."""
    switched_off = {
        "lm_lira": not config["lm"]["references"]["models"],
        "dp_audit": not config["lm"]["audit"]["canaries"],
    }
    return [
        name
        for name in figures.names()
        if not switched_off.get(name, False)
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


def run_targets():
    """What the default run makes: every figure with its table, the verdicts, the LM
    reference tables and the attacks on the translation references (rule all adds the
    job-time tables, made after these)."""
    return [
        *figure_targets(),
        "results/tables/verdicts.csv",
        *lm_reference_targets(),
        "results/membership/translation/attacks.parquet",
    ]


def run_families():
    """The run names a figure's {run} patterns expand over, per family (its ``runs``),
    from the config through each paper's package, whose spelling the rules use too."""
    families = lm_runs.run_names(config["lm"])
    families["lm_lira"] = lm_runs.lira_run_names(config["lm"])
    families["onion"] = onion.pool_names(config["membership"]["onion"]["layers"])
    families["acil"] = acil_runs.run_names(config["acil"])
    families["relu_capacity"] = relu_capacity_runs.run_names(config["relu_capacity"])
    families["dsm"] = dsm_runs.run_names(config["dsm"])
    families["dsm_diffusion"] = dsm_runs.diffusion_run_names(config["dsm"])
    families["skew"] = skewed_memorization.run_names(config["skewed_memorization"])
    return families


RUN_FAMILIES = run_families()


def figure_input_files(wildcards):
    """Input paths per pattern of a figure ({run} patterns expand over its run family)."""
    return figures.get(wildcards.figure).input_files(RUN_FAMILIES)


def figure_inputs(wildcards):
    return [path for paths in figure_input_files(wildcards).values() for path in paths]


# ---- resources: what each job asks its scheduler for, estimated from the config ----------
# (rotelab.pipeline.job_estimates; partitions and accounts live in profiles/, never here)
VOCAB = config["tokenizer"]["vocab_size"]
# Training pairs the config implies; the whole corpus (max_pairs unset) is taken as 1M.
N_TRAIN = estimate.translation_pairs(config["data"])
N_CANARIES = estimate.n_canaries(config["canaries"])
SPLIT_SIZES = estimate.translation_split_sizes(config["data"], config["canaries"])


# The most memory one job may ask for: a config that makes some job ask for more is rejected
# before any job starts (the handler at the end of this file evaluates every planned job's
# resources first), naming the keys that job's size grows with.
MEMORY_LIMIT_MB = memory_limit_mb(config["runtime"]["max_mem_mb"])


def sized_by(*keys):
    """Marks a job estimate with the config keys its size grows with."""

    def mark(job):
        job.sized_by = keys
        return job

    return mark


def resource(job, field):
    """One field of a JobResources estimate, as a Snakemake resource callable; memory
    within MEMORY_LIMIT_MB."""
    if field != "mem_mb":
        return lambda wildcards: getattr(job(wildcards), field)
    return lambda wildcards: check_job_memory(
        job(wildcards).mem_mb,
        MEMORY_LIMIT_MB,
        config["runtime"]["max_mem_mb"] is not None,
        getattr(job, "sized_by", ()),
    )


# GPU jobs may share a GPU, ROTELAB_JOBS_PER_GPU of them (rotelab.core.device); a job that
# holds a whole ensemble asks for every slot instead, so Snakemake runs it alone there.
GPU_SLOTS = int(os.environ.get(JOBS_PER_GPU_ENV, "1"))


def whole_gpu(job):
    return lambda wildcards: job(wildcards).gpu * GPU_SLOTS


def decoding_job(
    n_sentences, section="decode", candidates=1, sizes=("data.max_pairs",)
):
    """Decoding ``n_sentences`` (a number or a function of the wildcards, growing with the
    keys ``sizes``) with a translation model of the {model} wildcard's role (the teacher's
    without one)."""

    @sized_by(
        *sizes,
        f"{section}.batch_size",
        f"{section}.max_new_tokens",
        "tokenizer.vocab_size",
    )
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


def light_job(n_rows, *sizes):
    """Table work over ``n_rows`` rows, a number that grows with the keys ``sizes``."""
    return sized_by(*sizes)(lambda wildcards: estimate.light(n_rows))


CANARY_KEYS = ("canaries.n_per_replica", "canaries.replicas")
TRANSLATION_TABLE_JOB = light_job(N_TRAIN, "data.max_pairs")
CANARY_TABLE_JOB = light_job(N_CANARIES, *CANARY_KEYS)
CANARY_DECODING_JOB = decoding_job(N_CANARIES, sizes=CANARY_KEYS)


# Snakemake evaluates a job's resources only when the job is about to run. Evaluating every
# planned job's here, before the first starts, makes a job that would ask for more memory
# than MEMORY_LIMIT_MB stop the run while nothing has been computed.
onstart:
    for job in workflow.dag.needrun_jobs():
        job.resources
