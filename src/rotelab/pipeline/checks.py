"""Config checks that JSON Schema cannot express: registry names, files, cross-key rules.

They run when the Snakefile is parsed, so a bad config fails before any job starts and
nothing already computed is touched.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from rotelab.core.registry import Registry
from rotelab.data.canaries import canary_generators
from rotelab.data.classification import classification_datasets
from rotelab.data.corpora import corpora, parse_spec
from rotelab.data.lm_text import text_corpora
from rotelab.data.user_tables import FILE_FORMATS
from rotelab.membership.attacks import POPULATION_ATTACKS, REFERENCE_ATTACKS, TEXT_ATTACKS, attacks
from rotelab.models.causal_lm_recipes import PROJECTIONS, lm_recipes
from rotelab.models.seq2seq import model_recipes


class ConfigError(ValueError):
    """A config value that is well-typed but unusable; the message names the key."""


def check_config(config: dict) -> None:
    corpus = config["data"]["corpus"]
    kind, path = parse_spec(corpus)
    if path is None and kind not in corpora:
        raise ConfigError(
            f"config key data.corpus: unknown corpus {corpus!r}; registered: "
            f"{', '.join(n for n in corpora.names() if n not in FILE_FORMATS)}, "
            f"or a file as {', '.join(f + ':PATH' for f in FILE_FORMATS)}"
        )
    if path is not None and not Path(path).is_file():
        raise ConfigError(f"config key data.corpus: file {path!r} does not exist")

    generator = config["canaries"]["generator"]
    if generator not in canary_generators:
        raise ConfigError(
            f"config key canaries.generator: unknown canary generator {generator!r}; "
            f"registered: {', '.join(canary_generators.names())}"
        )

    for i, attack in enumerate(config["scoring"]["attacks"]):
        if attack not in attacks:
            raise ConfigError(
                f"config key scoring.attacks[{i}]: unknown attack {attack!r}; registered: {', '.join(attacks.names())}"
            )
        if attack in REFERENCE_ATTACKS:
            raise ConfigError(
                f"config key scoring.attacks[{i}]: {attack!r} needs reference models, which single "
                "trained models do not have; list it under membership.attacks"
            )

    for role in ("teacher", "student"):
        check_model(f"{role}.model", config[role]["model"], model_recipes)
        check_train(f"{role}.train", config[role]["train"])
    check_sequence_lengths(config)
    check_sizes(config)
    check_sweep_names(config)

    lm = config["lm"]
    for i, name in enumerate(lm["pretrain_corpora"]):
        check_table_source(f"lm.pretrain_corpora[{i}]", name, text_corpora)
    check_model("lm.base.model", lm["base"]["model"], lm_recipes)
    if lm["base"]["model"]["recipe"] == "pretrained" and lm["base"]["model"]["dropout"] is not None:
        raise ConfigError(
            "config key lm.base.model.dropout: recipe 'pretrained' keeps the dropout of the model "
            "it loads; leave this key null"
        )
    check_train("lm.base.train", lm["base"]["train"])
    if lm["base"]["train"].get("max_tokens") is not None:
        raise ConfigError(
            "config key lm.base.train.max_tokens: token budgets are for seq2seq training only; "
            "the base pretrains on packed blocks of batch_size x block_size tokens"
        )
    check_finetuning(lm)
    check_membership(config["membership"])
    if config["lm"]["references"]["models"]:
        check_lm_reference_attacks(config["membership"]["attacks"], config["lm"]["references"]["population"])
    check_seqkd_subgroups(config["seqkd_subgroups"])
    check_acil(config["acil"])
    check_dsm(config["dsm"])
    check_skewed_memorization(config["skewed_memorization"])

    data = config["data"]
    if data["min_words"] > data["max_words"]:
        raise ConfigError("config key data.min_words: larger than data.max_words")


def check_sequence_lengths(config: dict) -> None:
    """Every sequence a translation model sees or writes fits its position table: training
    pairs truncated at ``max_len``, and decoded outputs of ``max_new_tokens`` (KD corpus by the
    teacher, test and canary outputs by every model) after the start token."""
    for role in ("teacher", "student"):
        positions, max_len = config[role]["model"]["max_positions"], config[role]["train"]["max_len"]
        if max_len > positions:
            raise ConfigError(
                f"config key {role}.train.max_len: {max_len} tokens exceed {role}.model.max_positions={positions}"
            )
    decoders = {"distill": ("teacher",), "decode": ("teacher", "student")}
    for key, roles in decoders.items():
        tokens = config[key]["max_new_tokens"]
        for role in roles:
            positions = config[role]["model"]["max_positions"]
            if tokens >= positions:
                raise ConfigError(
                    f"config key {key}.max_new_tokens: {tokens} tokens after the start token exceed "
                    f"{role}.model.max_positions={positions}"
                )


def check_sizes(config: dict) -> None:
    """Held-out sizes that leave data to train on."""
    data = config["data"]
    if data["max_pairs"] is not None and data["n_valid"] + data["n_test"] >= data["max_pairs"]:
        raise ConfigError(
            f"config key data.max_pairs: {data['max_pairs']} pairs leave none for training after "
            f"data.n_valid={data['n_valid']} and data.n_test={data['n_test']}"
        )
    lm = config["lm"]
    if lm["max_documents"] is not None and lm["n_valid"] >= lm["max_documents"]:
        raise ConfigError(
            f"config key lm.n_valid: {lm['n_valid']} validation documents leave none of "
            f"lm.max_documents={lm['max_documents']} for pretraining"
        )


# Sweeps whose values name runs with ``:g`` (six significant digits; see each paper's runs
# module): two values that print alike would become one run and one would vanish.
SWEEPS_NAMED_WITH_G = (
    ("lm", "defenses", "dp", "epsilons"),
    ("lm", "defenses", "weight_noise"),
    ("dsm", "times"),
    ("dsm", "learning_rates"),
    ("dsm", "diffusion", "learning_rates"),
)


def check_sweep_names(config: dict) -> None:
    for path in SWEEPS_NAMED_WITH_G:
        values = config
        for part in path:
            values = values[part]
        named = {}
        for i, value in enumerate(values):
            name = f"{value:g}"
            if name in named:
                key = ".".join(path)
                raise ConfigError(
                    f"config key {key}[{i}]: {value!r} and {key}[{named[name]}]={values[named[name]]!r} "
                    f"both name the run '{name}'; make them differ in their first six digits"
                )
            named[name] = i


def memory_limit_mb(max_mem_mb: int | None) -> int:
    """The most memory one job may ask for: ``runtime.max_mem_mb``, or when unset the
    physical memory of the machine that plans the run (right for local runs; on a cluster
    whose nodes differ from the submit host, set the key)."""
    if max_mem_mb is not None:
        return max_mem_mb
    return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // 2**20


def check_job_memory(mem_mb: int, limit_mb: int, limit_is_set: bool, sized_by: Sequence[str]) -> int:
    """``mem_mb``, a job's estimated memory (rotelab.pipeline.job_estimates), when it is at
    most ``limit_mb``; otherwise the job could only be killed for memory after its inputs
    were computed, so the config is rejected naming the keys the estimate grows with."""
    if mem_mb <= limit_mb:
        return mem_mb
    limit = "runtime.max_mem_mb" if limit_is_set else "this machine's memory (runtime.max_mem_mb unset)"
    keys = ", ".join(sized_by) if sized_by else "its config section"
    key = sized_by[0] if sized_by else "runtime.max_mem_mb"
    raise ConfigError(
        f"config key {key}: this job would ask for {mem_mb:,} MB of memory, more than the "
        f"{limit_mb:,} MB of {limit}; its size grows with {keys}. Make them smaller, or set "
        "runtime.max_mem_mb to the memory one job may use (a cluster node's)"
    )


def check_registered(key: str, name: str, registry: Registry) -> None:
    if name not in registry:
        raise ConfigError(
            f"config key {key}: unknown {registry.kind} {name!r}; registered: {', '.join(registry.names())}"
        )


def check_table_source(key: str, name: str, registry: Registry) -> None:
    """A registered name, an existing tsv/jsonl/parquet file, or a Hugging Face dataset id
    (``hf:OWNER/NAME``, looked up when the data stage runs)."""
    kind, _, location = name.partition(":")
    if not location:
        check_registered(key, name, registry)
    elif kind in FILE_FORMATS:
        if not Path(location).is_file():
            raise ConfigError(f"config key {key}: file {location!r} does not exist")
    elif kind != "hf":
        raise ConfigError(f"config key {key}: {name!r} is not tsv:PATH, jsonl:PATH, parquet:PATH or hf:OWNER/NAME")


def check_model(key: str, model: dict, recipes: Registry) -> None:
    """A registered recipe, a model id for ``pretrained``, heads that divide d_model."""
    check_registered(f"{key}.recipe", model["recipe"], recipes)
    if model["recipe"] == "pretrained" and not model.get("pretrained"):
        raise ConfigError(f"config key {key}.pretrained: recipe 'pretrained' needs a model id or path")
    if model["d_model"] % model["heads"]:
        raise ConfigError(f"config key {key}.heads: {model['heads']} heads do not divide d_model={model['d_model']}")


def check_train(key: str, train: dict) -> None:
    if train["warmup_steps"] > train["steps"]:
        raise ConfigError(
            f"config key {key}.warmup_steps: {train['warmup_steps']} exceeds {key}.steps={train['steps']}"
        )


def check_finetuning(lm: dict) -> None:
    """Combinations of the P1 runs that cannot work, named by key."""
    from rotelab.data.canaries import canary_generators
    from rotelab.data.lm_text import qa_sources

    for i, name in enumerate(lm["qa"]["sources"]):
        check_table_source(f"lm.qa.sources[{i}]", name, qa_sources)
    check_registered("lm.canaries.generator", lm["canaries"]["generator"], canary_generators)
    model = lm["base"]["model"]
    lora = lm["finetune"]["lora"]
    projections = PROJECTIONS.get(model["recipe"])
    if projections is not None:
        for key, ranks in (("lm.finetune.lora.r", [lora["r"]]), ("lm.finetune.lora.ranks", lora["ranks"])):
            for r in ranks:
                if r > model["d_model"]:
                    raise ConfigError(
                        f"config key {key}: LoRA rank {r} exceeds the base's hidden size "
                        f"lm.base.model.d_model={model['d_model']}"
                    )
        unknown = sorted(set(lora["target_modules"] or ()) - set(projections))
        if unknown:
            raise ConfigError(
                f"config key lm.finetune.lora.target_modules: {unknown} are not modules of the "
                f"{model['recipe']} recipe ({', '.join(sorted(projections))})"
            )
    extraction = lm["extraction"]
    needed = max(extraction["prompt_lengths"]) + extraction["completion_tokens"]
    if projections is not None and needed > model["block_size"]:
        raise ConfigError(
            f"config key lm.extraction.prompt_lengths: the longest prompt plus completion_tokens is "
            f"{needed} tokens, more than lm.base.model.block_size={model['block_size']}"
        )
    defenses = lm["defenses"]
    if defenses["setting"] == "centralized" and defenses["secure_aggregation"]:
        raise ConfigError(
            "config key lm.defenses.secure_aggregation: secure aggregation needs federated runs "
            "(set lm.defenses.setting: federated, or secure_aggregation: false)"
        )
    if len(lm["qa"]["sources"]) < 2:
        raise ConfigError("config key lm.qa.sources: FedAvg needs at least two clients (one per source)")
    if defenses["dp"]["epsilons"] and lm["finetune"]["train"]["batch_size"] < 2:
        raise ConfigError("config key lm.finetune.train.batch_size: DP-SGD needs an expected batch of at least 2")
    references = lm["references"]["models"]
    if 0 < references < 6:
        raise ConfigError(
            f"config key lm.references.models: {references} reference models leave a note fewer "
            "than two IN and two OUT references once one is the target; use 0 (off) or at least 6"
        )
    audit = lm["audit"]
    if audit["canaries"] and audit["guesses"] > audit["canaries"]:
        raise ConfigError(
            f"config key lm.audit.guesses: {audit['guesses']} guesses about {audit['canaries']} audit "
            "canaries (lm.audit.canaries); the auditor guesses at most once per canary"
        )


def check_membership(membership: dict) -> None:
    check_registered("membership.dataset", membership["dataset"], classification_datasets)
    for i, attack in enumerate(membership["attacks"]):
        check_registered(f"membership.attacks[{i}]", attack, attacks)
        if attack in TEXT_ATTACKS:
            raise ConfigError(
                f"config key membership.attacks[{i}]: {attack!r} reads the example's text, "
                "which classifier examples do not have"
            )
        if attack in POPULATION_ATTACKS and not membership["population"]:
            raise ConfigError(
                f"config key membership.attacks[{i}]: {attack!r} compares each example with "
                "population samples, and membership.population is 0: hold out a share (e.g. 0.1)"
            )
    for i, attack in enumerate(membership["sweep"]["attacks"]):
        check_registered(f"membership.sweep.attacks[{i}]", attack, attacks)
        if attack in TEXT_ATTACKS or (attack in POPULATION_ATTACKS and not membership["population"]):
            raise ConfigError(
                f"config key membership.sweep.attacks[{i}]: {attack!r} needs "
                + ("the example's text" if attack in TEXT_ATTACKS else "membership.population > 0")
            )
    onion = membership["onion"]
    if onion["attack"] not in membership["attacks"]:
        raise ConfigError(
            f"config key membership.onion.attack: {onion['attack']!r} is not one of "
            f"membership.attacks ({', '.join(membership['attacks'])})"
        )
    size = len(classification_datasets.get(membership["dataset"])().labels)
    removed = onion["layers"] * onion["remove"]
    if removed > size // 2:
        raise ConfigError(
            f"config key membership.onion.remove: {onion['layers']} layers x {onion['remove']} "
            f"removes {removed} of the {size} examples of {membership['dataset']!r}; keep it to "
            "at most half"
        )


def check_lm_reference_attacks(names: list[str], population: int) -> None:
    """The LM references score membership.attacks too; RMIA there compares each note with
    the population notes (lm.references.population), so it needs some."""
    for i, attack in enumerate(names):
        if attack in POPULATION_ATTACKS and not population:
            raise ConfigError(
                f"config key membership.attacks[{i}]: {attack!r} needs population samples, and the "
                "causal-LM references (lm.references.models > 0) observe none with "
                "lm.references.population: 0; set it above 0"
            )


def check_seqkd_subgroups(subgroups: dict) -> None:
    edges = subgroups["cm_buckets"]
    if any(b <= a for a, b in zip(edges, edges[1:])):
        raise ConfigError(f"config key seqkd_subgroups.cm_buckets: bucket edges {edges} must increase")


def check_acil(acil: dict) -> None:
    check_registered("acil.dataset", acil["dataset"], classification_datasets)
    n_classes = classification_datasets.get(acil["dataset"])().n_classes
    if acil["base_classes"] >= n_classes:
        raise ConfigError(
            f"config key acil.base_classes: {acil['base_classes']} base classes leave none of "
            f"{acil['dataset']!r}'s {n_classes} classes to learn incrementally"
        )


def check_dsm(dsm: dict) -> None:
    diffusion = dsm["diffusion"]
    if not diffusion["t_end"] < diffusion["t_max"] or not diffusion["t_min"] < diffusion["t_max"]:
        raise ConfigError(
            f"config key dsm.diffusion.t_max: {diffusion['t_max']} must exceed t_min "
            f"({diffusion['t_min']}) and t_end ({diffusion['t_end']}): sampling runs from t_max down"
        )


def check_skewed_memorization(skew: dict) -> None:
    """Each dataset is a QA source or a text corpus (registered), or a user table."""
    from rotelab.data.lm_text import qa_sources

    for key, name in (("dataset", skew["dataset"]), ("mixture.dataset", skew["mixture"]["dataset"])):
        if ":" in name:
            check_table_source(f"skewed_memorization.{key}", name, qa_sources)
        elif name not in qa_sources and name not in text_corpora:
            known = ", ".join(qa_sources.names() + text_corpora.names())
            raise ConfigError(
                f"config key skewed_memorization.{key}: unknown dataset {name!r}; registered QA "
                f"sources and text corpora: {known}"
            )
