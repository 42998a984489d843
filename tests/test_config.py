import copy

import pytest
import yaml
from conftest import REPO

from rotelab.pipeline.checks import ConfigError, check_job_memory, memory_limit_mb
from rotelab.pipeline.config import load_schema, resolve_ref, validate_config

SCHEMA = REPO / "config.schema.yaml"


def default_config():
    return yaml.safe_load((REPO / "config.yaml").read_text())


def merge(dst: dict, src: dict) -> dict:
    """Deep-merge ``src`` into ``dst`` as Snakemake merges --configfile overlays."""
    for k, v in src.items():
        if isinstance(v, dict) and isinstance(dst.get(k), dict):
            merge(dst[k], v)
        else:
            dst[k] = copy.deepcopy(v)
    return dst


def test_default_config_is_valid_and_gets_defaults():
    cfg = validate_config(default_config(), SCHEMA)
    assert cfg["scoring"]["min_k_fraction"] == 0.2
    assert cfg["teacher"]["train"]["label_smoothing"] == 0.1  # filled from the schema
    assert cfg["teacher"]["model"]["max_positions"] == 256


def test_empty_config_is_all_defaults():
    cfg = validate_config({}, SCHEMA)
    assert cfg["data"]["corpus"] == "ding-en-de"
    assert cfg["canaries"]["replicas"] == [1, 4, 16, 64, 256]


def test_every_schema_key_is_documented():
    schema = load_schema(SCHEMA)

    def walk(node, path):
        node = resolve_ref(node, schema)
        for key, sub in node.get("properties", {}).items():
            resolved = resolve_ref(sub, schema)
            assert resolved.get("description"), f"{path}{key} has no description"
            walk(sub, f"{path}{key}.")

    walk(schema, "")


@pytest.mark.parametrize(
    "patch, message",
    [
        ({"data": {"bogus": 1}}, r"config key data\.bogus: unknown key"),
        (
            {"teacher": {"train": {"steps": "many"}}},
            r"config key teacher\.train\.steps: 'many' is not of type 'integer'",
        ),
        ({"canaries": {"replicas": [1, 0]}}, r"config key canaries\.replicas\[1\]: 0 is less than the minimum"),
        ({"data": {"corpus": "klingon"}}, r"config key data\.corpus: unknown corpus 'klingon'"),
        (
            {"data": {"corpus": "tsv:/no/such/file.tsv"}},
            r"config key data\.corpus: file '/no/such/file\.tsv' does not exist",
        ),
        (
            {"scoring": {"attacks": ["loss", "telepathy"]}},
            r"config key scoring\.attacks\[1\]: unknown attack 'telepathy'",
        ),
        ({"scoring": {"min_k_fraction": 1.5}}, r"config key scoring\.min_k_fraction"),
        ({"student": {"model": {"d_model": 100, "heads": 3}}}, r"config key student\.model\.heads"),
        ({"canaries": {"generator": "nope"}}, r"config key canaries\.generator: unknown canary generator"),
        ({"teacher": {"model": {"recipe": "pretrained"}}}, r"config key teacher\.model\.pretrained"),
        (
            {"lm": {"pretrain_corpora": ["web-bible", "mars"]}},
            r"config key lm\.pretrain_corpora\[1\]: unknown text corpus 'mars'",
        ),
        ({"lm": {"base": {"model": {"recipe": "lstm"}}}}, r"config key lm\.base\.model\.recipe: unknown causal LM"),
        ({"lm": {"base": {"model": {"d_model": 96, "heads": 5}}}}, r"config key lm\.base\.model\.heads"),
        ({"lm": {"base": {"train": {"steps": 10, "warmup_steps": 50}}}}, r"config key lm\.base\.train\.warmup_steps"),
        ({"lm": {"max_documents": 5}}, r"config key lm\.max_documents"),
        (
            {"lm": {"base": {"model": {"recipe": "pretrained", "pretrained": "org/model", "dropout": 0.1}}}},
            r"config key lm\.base\.model\.dropout: recipe 'pretrained' keeps the dropout",
        ),
        (
            {"lm": {"base": {"train": {"max_tokens": 4096}}}},
            r"config key lm\.base\.train\.max_tokens: token budgets are for seq2seq training only",
        ),
        ({"teacher": {"train": {"max_tokens": 0}}}, r"config key teacher\.train\.max_tokens"),
        (
            {"lm": {"finetune": {"lora": {"r": 256}}}},
            r"config key lm\.finetune\.lora\.r: LoRA rank 256 exceeds the base's hidden size "
            r"lm\.base\.model\.d_model=128",
        ),
        ({"lm": {"finetune": {"lora": {"ranks": [4, 512]}}}}, r"config key lm\.finetune\.lora\.ranks: LoRA rank 512"),
        (
            {"lm": {"finetune": {"lora": {"target_modules": ["c_attn"]}}}},
            r"config key lm\.finetune\.lora\.target_modules: \['c_attn'\] are not modules of the llama recipe",
        ),
        (
            {"lm": {"base": {"model": {"recipe": "gpt2"}}, "finetune": {"lora": {"target_modules": ["q_proj"]}}}},
            r"config key lm\.finetune\.lora\.target_modules: \['q_proj'\] are not modules of the gpt2 recipe",
        ),
        (
            {"lm": {"extraction": {"prompt_lengths": [8, 250]}}},
            r"config key lm\.extraction\.prompt_lengths: .* 266 tokens, more than lm\.base\.model\.block_size=256",
        ),
        (
            {"lm": {"defenses": {"setting": "centralized"}}},
            r"config key lm\.defenses\.secure_aggregation: secure aggregation needs federated runs",
        ),
        ({"lm": {"qa": {"sources": ["wordnet-medical"]}}}, r"config key lm\.qa\.sources: FedAvg needs at least two"),
        (
            {"lm": {"qa": {"sources": ["wordnet-medical", "astrology"]}}},
            r"config key lm\.qa\.sources\[1\]: unknown QA source 'astrology'",
        ),
        (
            {"lm": {"qa": {"sources": ["wordnet-medical", "tsv:/no/qa.tsv"]}}},
            r"config key lm\.qa\.sources\[1\]: file '/no/qa\.tsv' does not exist",
        ),
        ({"lm": {"defenses": {"dp": {"epsilons": [0]}}}}, r"config key lm\.defenses\.dp\.epsilons\[0\]"),
        ({"lm": {"canaries": {"generator": "pets"}}}, r"config key lm\.canaries\.generator: unknown canary generator"),
        (
            {"lm": {"audit": {"canaries": 10, "guesses": 12}}},
            r"config key lm\.audit\.guesses: 12 guesses about 10 audit canaries",
        ),
        ({"lm": {"audit": {"attacks": ["zlib"]}}}, r"config key lm\.audit\.attacks\[0\]"),
        (
            {"scoring": {"attacks": ["loss", "lira_online"]}},
            r"config key scoring\.attacks\[1\]: 'lira_online' needs reference models",
        ),
        ({"membership": {"dataset": "imagenet"}}, r"config key membership\.dataset: unknown classification dataset"),
        (
            {"membership": {"reference_models": 7}},
            r"config key membership\.reference_models: 7 is not a multiple of 2",
        ),
        (
            {"membership": {"reference_models": 4}},
            r"config key membership\.reference_models: 4 is less than the minimum",
        ),
        (
            {"membership": {"attacks": ["lira_online", "zlib"]}},
            r"config key membership\.attacks\[1\]: 'zlib' reads the example's text",
        ),
        (
            {"membership": {"attacks": ["lira_online"]}},
            r"config key membership\.onion\.attack: 'lira_online_fixed' is not one of membership\.attacks",
        ),
        (
            {"membership": {"onion": {"layers": 5, "remove": 200}}},
            r"config key membership\.onion\.remove: 5 layers x 200 removes 1000 of the 1797 examples",
        ),
        (
            {"seqkd_subgroups": {"reference_models": 3}},
            r"config key seqkd_subgroups\.reference_models: 3 is not a multiple of 2",
        ),
        (
            {"seqkd_subgroups": {"cm_buckets": [0.3, 0.2]}},
            r"config key seqkd_subgroups\.cm_buckets: bucket edges \[0\.3, 0\.2\] must increase",
        ),
        ({"seqkd_subgroups": {"confidence_share": 0.7}}, r"config key seqkd_subgroups\.confidence_share"),
        ({"adaptive_seqkd": {"chrf": 120}}, r"config key adaptive_seqkd\.chrf: 120 is greater than the maximum"),
        ({"adaptive_seqkd": {"confidence": 1.0}}, r"config key adaptive_seqkd\.confidence"),
        ({"acil": {"base_classes": 10}}, r"config key acil\.base_classes: 10 base classes leave none of 'digits'"),
        ({"acil": {"phases": [5, 5]}}, r"config key acil\.phases"),
        ({"acil": {"dataset": "cifar"}}, r"config key acil\.dataset: unknown classification dataset"),
        ({"dsm": {"diffusion": {"t_max": 0.01}}}, r"config key dsm\.diffusion\.t_max: 0\.01 must exceed t_min"),
        ({"dsm": {"learning_rates": [0.5, -0.1]}}, r"config key dsm\.learning_rates"),
        (
            {"skewed_memorization": {"mixture": {"dataset": "klingon"}}},
            r"config key skewed_memorization\.mixture\.dataset: unknown dataset 'klingon'; registered QA sources",
        ),
        (
            {"skewed_memorization": {"dataset": "tsv:/nonexistent.tsv"}},
            r"config key skewed_memorization\.dataset: file '/nonexistent.tsv' does not exist",
        ),
        ({"skewed_memorization": {"epochs": [0, 2]}}, r"config key skewed_memorization\.epochs"),
        ({"lm": {"references": {"models": 4}}}, r"config key lm\.references\.models: 4 reference models"),
        # RMIA needs population samples: none held out, or none observed (the LM references)
        (
            {"membership": {"population": 0, "attacks": ["rmia_online", "lira_online_fixed"]}},
            r"config key membership\.attacks\[0\]: 'rmia_online' compares each example with population samples",
        ),
        (
            {"membership": {"population": 0}},
            r"config key membership\.attacks\[4\]: 'rmia_online' compares each example with population samples",
        ),
        (
            {"membership": {"population": 0, "attacks": ["lira_online_fixed", "loss"]}},
            r"config key membership\.sweep\.attacks\[0\]: 'rmia_online' needs membership\.population > 0",
        ),
        (
            {
                "membership": {"attacks": ["rmia_offline", "lira_online_fixed"]},
                "lm": {"references": {"models": 8, "population": 0}},
            },
            r"config key membership\.attacks\[0\]: 'rmia_offline' needs population samples, and the causal-LM",
        ),
        (
            {"membership": {"sweep": {"models": [2, 3]}}},
            r"config key membership\.sweep\.models\[1\]: 3 is not a multiple",
        ),
        ({"membership": {"sweep": {"attacks": ["lira", "loss"]}}}, r"config key membership\.sweep\.attacks\[0\]"),
        ({"membership": {"population": 0.5}}, r"config key membership\.population: 0\.5"),
        ({"lm": {"references": {"models": 7}}}, r"config key lm\.references\.models: 7 is not a multiple of 2"),
        ({"lm": {"references": {"adapters": ["qlora"]}}}, r"config key lm\.references\.adapters\[0\]: 'qlora'"),
        ({"lm": {"references": {"adapters": ["lora", "lora"]}}}, r"config key lm\.references\.adapters"),
        # numbers that would crash late or give wrong numbers
        ({"data": {"n_valid": 100.0}}, r"config key data\.n_valid: 100\.0 is not of type 'integer'"),
        ({"teacher": {"train": {"lr": float("inf")}}}, r"config key teacher\.train\.lr: inf is not a finite number"),
        (
            {"lm": {"defenses": {"dp": {"epsilons": [1, float("nan")]}}}},
            r"config key lm\.defenses\.dp\.epsilons\[1\]: nan is not a finite number",
        ),
        ({"canaries": {"seed": -1}}, r"config key canaries\.seed: -1 is less than the minimum of 0"),
        (
            {"teacher": {"model": {"dropout": 1.0}}},
            r"config key teacher\.model\.dropout: 1\.0 is greater than or equal",
        ),
        ({"student": {"train": {"label_smoothing": 1}}}, r"config key student\.train\.label_smoothing: 1 is greater"),
        # repeats: one run, attack or client counted twice
        (
            {"scoring": {"attacks": ["loss", "zlib", "loss"]}},
            r"config key scoring\.attacks\[2\]: 'loss' repeats scoring\.attacks\[0\]",
        ),
        (
            {"lm": {"qa": {"sources": ["wordnet-medical", "wordnet-living", "wordnet-medical"]}}},
            r"config key lm\.qa\.sources\[2\]: 'wordnet-medical' repeats lm\.qa\.sources\[0\]",
        ),
        ({"canaries": {"replicas": [1, 8, 8]}}, r"config key canaries\.replicas\[2\]: 8 repeats"),
        (
            {"lm": {"defenses": {"dp": {"epsilons": [8, 8.0000001]}}}},
            r"config key lm\.defenses\.dp\.epsilons\[1\]: 8\.0000001 and lm\.defenses\.dp\.epsilons\[0\]=8 "
            r"both name the run '8'",
        ),
        ({"dsm": {"learning_rates": [0.5, 0.50000001]}}, r"config key dsm\.learning_rates\[1\]: .* both name"),
        # contradictions between keys
        (
            {"teacher": {"model": {"max_positions": 32}}},
            r"config key teacher\.train\.max_len: 64 tokens exceed teacher\.model\.max_positions=32",
        ),
        (
            {"decode": {"max_new_tokens": 300}},
            r"config key decode\.max_new_tokens: 300 tokens .* teacher\.model\.max_positions=256",
        ),
        (
            {"data": {"max_pairs": 1000, "n_valid": 500, "n_test": 500}},
            r"config key data\.max_pairs: 1000 pairs leave none for training",
        ),
        ({"lm": {"max_documents": 1000, "n_valid": 1000}}, r"config key lm\.n_valid: 1000 validation documents"),
        (
            {"lm": {"pretrain_corpora": ["web-bible", "xls:/a.xls"]}},
            r"config key lm\.pretrain_corpora\[1\]: 'xls:/a\.xls' is not tsv:PATH, jsonl:PATH, parquet:PATH "
            r"or hf:OWNER/NAME",
        ),
    ],
)
def test_bad_config_names_the_key(patch, message):
    cfg = merge(default_config(), patch)
    with pytest.raises(ConfigError, match=message):
        validate_config(cfg, SCHEMA)


@pytest.mark.parametrize(
    "model, dropout",
    [
        ({"recipe": "llama"}, 0.0),  # Llama 2 and 3 set attention_dropout to 0
        ({"recipe": "gpt2"}, 0.1),  # GPT-2's own
        ({"recipe": "llama", "dropout": 0.2}, 0.2),
        ({"recipe": "gpt2", "dropout": 0.0}, 0.0),
        ({"recipe": "pretrained", "pretrained": "org/model"}, None),
    ],
)
def test_lm_dropout_left_out_is_the_recipes_own_in_every_jobs_params(model, dropout):
    config = {"lm": {"base": {"model": model}}}
    assert validate_config(config, SCHEMA)["lm"]["base"]["model"]["dropout"] == dropout


def test_the_default_lm_base_has_no_dropout_as_p1s_llama_models():
    # The default leaves the key to the recipe: the same params as its earlier explicit 0.0.
    assert "dropout" not in default_config()["lm"]["base"]["model"]
    assert validate_config(default_config(), SCHEMA)["lm"]["base"]["model"]["dropout"] == 0.0


def test_config_reference_doc_is_current():
    from rotelab.pipeline.config_docs import render

    assert (REPO / "docs" / "config.md").read_text() == render(load_schema(SCHEMA)), (
        "docs/config.md is stale: run `python -m rotelab.pipeline.config_docs config.schema.yaml > docs/config.md`"
    )


@pytest.mark.parametrize("overlay", ["tiny.yaml", "paper.yaml"])
def test_overlays_validate_on_top_of_the_default(overlay):
    cfg = merge(default_config(), yaml.safe_load((REPO / "configs" / overlay).read_text()))
    cfg = validate_config(cfg, SCHEMA)
    if overlay == "paper.yaml":
        assert cfg["data"]["max_pairs"] is None and cfg["teacher"]["model"]["d_model"] == 512


def test_keys_follow_the_schema_order_whichever_file_set_them():
    # Snakemake compares a job's params with their key order: an overlay must not reorder them.
    overlay = {"skewed_memorization": {"train": {"lr": 0.001, "batch_size": 16}}}
    config = validate_config(overlay, REPO / "config.schema.yaml")
    assert list(config["skewed_memorization"]["train"]) == ["batch_size", "lr", "warmup_steps", "seed"]
    assert list(config)[:2] == list(yaml.safe_load((REPO / "config.schema.yaml").read_text())["properties"])[:2]


# Each config object and the dataclass its job builds with ``Cls(**params.section)``. Keys only
# the schema has configure the job around the dataclass (sweeps that name jobs, seeds of the
# job, settings of another stage); ``device`` is set by the workflow from runtime.device.
SECTION_CLASSES = {
    ("$defs", "model"): ("rotelab.models.seq2seq", "ModelConfig", set()),
    ("$defs", "train"): ("rotelab.training.seq2seq", "TrainConfig", set()),
    ("$defs", "decode"): ("rotelab.models.seq2seq_decoding", "DecodeConfig", set()),
    ("$defs", "lm_model"): ("rotelab.models.causal_lm_recipes", "LMConfig", set()),
    ("$defs", "plateau"): ("rotelab.models.causal_lm", "PlateauConfig", set()),
    ("data",): ("rotelab.data.splits", "DataConfig", set()),
    ("canaries",): ("rotelab.data.canaries", "CanaryConfig", set()),
    ("membership", "classifier"): ("rotelab.models.classifier", "ClassifierTrainConfig", set()),
    ("membership", "onion"): ("rotelab.papers.onion.layers", "OnionConfig", set()),
    ("lm", "extraction"): ("rotelab.scoring.lm_extraction", "ExtractionConfig", set()),
    ("relu_capacity",): ("rotelab.papers.relu_capacity.capacity", "CapacityConfig", {"depths", "seeds", "sizes"}),
    ("adaptive_seqkd",): ("rotelab.papers.seqkd.adaptive", "SubsetConfig", {"batch_size", "epochs", "lr"}),
    ("dsm",): (
        "rotelab.papers.dsm.score_matching",
        "DSMConfig",
        {"diffusion", "learning_rates", "seed", "seeds", "step_budget", "times"},
    ),
    ("dsm", "diffusion"): (
        "rotelab.papers.dsm.score_matching",
        "DiffusionConfig",
        {"learning_rates", "sample_seeds", "seed", "step_budget"},
    ),
    ("scoring",): (
        "rotelab.membership.registry",
        "AttackConfig",
        {"attacks", "bootstrap", "exmem_threshold", "exposure_candidates", "seed"},
    ),
}


@pytest.mark.parametrize("path", list(SECTION_CLASSES), ids=".".join)
def test_each_config_section_and_its_dataclass_share_keys_and_defaults(path):
    """One source of truth: the dataclass a job builds has exactly the schema's keys (less the
    job-level ones listed above) and the schema's defaults."""
    import dataclasses
    import importlib

    module, name, job_level = SECTION_CLASSES[path]
    cls = getattr(importlib.import_module(module), name)
    schema = load_schema(SCHEMA)
    node = schema[path[0]][path[1]] if path[0] == "$defs" else schema["properties"][path[0]]
    for key in path[1:] if path[0] != "$defs" else ():
        node = node["properties"][key]
    schema_defaults = {key: spec.get("default") for key, spec in node["properties"].items()}
    fields = {f.name: f.default for f in dataclasses.fields(cls) if f.name != "device"}
    assert set(fields) == set(schema_defaults) - job_level
    for key, default in fields.items():
        assert (list(default) if isinstance(default, tuple) else default) == schema_defaults[key], key


def test_repeated_widths_are_a_network_not_a_repeat():
    cfg = validate_config(merge(default_config(), {"membership": {"classifier": {"hidden": [64, 64]}}}), SCHEMA)
    assert cfg["membership"]["classifier"]["hidden"] == [64, 64]


def test_a_key_set_twice_in_one_yaml_file_names_the_file_line_and_key(tmp_path):
    from rotelab.pipeline.config import check_config_files

    good, bad = tmp_path / "good.yaml", tmp_path / "bad.yaml"
    good.write_text("teacher:\n  train:\n    lr: 0.001\nstudent:\n  train:\n    lr: 0.002\n")
    bad.write_text("teacher:\n  train:\n    lr: 0.001\n    steps: 10\n    lr: 0.01\n")
    check_config_files([REPO / "config.yaml", good])
    with pytest.raises(ConfigError, match=rf"{bad}, line 5: config key teacher\.train\.lr is set twice .*line 3"):
        check_config_files([good, bad])


def test_job_memory_within_the_limit_passes_and_above_it_names_the_keys():
    assert check_job_memory(2_000, 2_000, True, ("membership.reference_models",)) == 2_000
    with pytest.raises(ConfigError) as err:
        check_job_memory(2_001, 2_000, True, ("membership.reference_models", "membership.classifier.hidden"))
    message = str(err.value)
    assert message.startswith("config key membership.reference_models: this job would ask for 2,001 MB")
    assert "2,000 MB of runtime.max_mem_mb" in message
    assert "membership.classifier.hidden" in message
    with pytest.raises(ConfigError, match="this machine's memory"):
        check_job_memory(10**9, 2_000, False, ())


def test_memory_limit_is_the_key_or_this_machines_memory():
    assert memory_limit_mb(4096) == 4096
    with open("/proc/meminfo") as meminfo:
        total_kb = int(meminfo.readline().split()[1])
    assert abs(memory_limit_mb(None) - total_kb // 1024) <= 1
