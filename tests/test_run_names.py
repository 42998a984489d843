"""Each paper's runs are named once, in its package: the rules spell their outputs with those
names (rules/dsm.smk, rules/relu_capacity.smk, rules/skewed_memorization.smk) and the figures'
{run} patterns expand over them (rules/common.smk, run_families)."""

import re
import string

import pytest
import yaml
from conftest import REPO

from rotelab.figures.catalog import figures
from rotelab.papers.acil import runs as acil_runs
from rotelab.papers.dsm import runs as dsm_runs
from rotelab.papers.lora_fl import runs as lm_runs
from rotelab.papers.relu_capacity import runs as relu_capacity_runs
from rotelab.papers.skew import n_pre
from rotelab.pipeline.config import validate_config


def fields(pattern):
    return {name for _, name, _, _ in string.Formatter().parse(pattern) if name}


@pytest.fixture(scope="module")
def config():
    return validate_config(yaml.safe_load((REPO / "config.yaml").read_text()), REPO / "config.schema.yaml")


def test_relu_capacity_runs_are_depth_by_size():
    assert fields(relu_capacity_runs.RUN) == {"depth", "n"}  # the rule's wildcards
    names = relu_capacity_runs.run_names({"depths": [1, 2], "sizes": [16, 32]})
    assert names == ["depth1_n16", "depth1_n32", "depth2_n16", "depth2_n32"]
    paths = figures.get("relu_capacity").input_files({"relu_capacity": names})
    assert f"results/relu_capacity/{relu_capacity_runs.run_name(2, 32)}.parquet" in sum(paths.values(), [])


def test_dsm_runs_write_their_values_with_g():
    assert fields(dsm_runs.RUN) == {"t", "lr"} and fields(dsm_runs.DIFFUSION_RUN) == {"lr"}
    cfg = {"times": [0.05, 2.0], "learning_rates": [0.5, 1e-5], "diffusion": {"learning_rates": [1.0, 0.3]}}
    assert dsm_runs.run_names(cfg) == ["t0.05_lr0.5", "t0.05_lr1e-05", "t2_lr0.5", "t2_lr1e-05"]
    assert dsm_runs.diffusion_run_names(cfg) == ["lr1", "lr0.3"]
    scores = figures.get("dsm_scores").input_files({"dsm": dsm_runs.run_names(cfg)})
    assert "results/dsm/t0.05_lr0.5/scores.parquet" in sum(scores.values(), [])
    mmd = figures.get("dsm_mmd").input_files({"dsm_diffusion": dsm_runs.diffusion_run_names(cfg)})
    assert "results/dsm/diffusion/lr0.3.parquet" in sum(mmd.values(), [])


def test_acil_runs_are_phase_counts():
    names = acil_runs.run_names({"phases": [5, 10]})
    assert names == ["5", "10"]
    paths = figures.get("acil_accuracy").input_files({"acil": names})
    assert sum(paths.values(), []) == ["results/acil/phases_5.parquet", "results/acil/phases_10.parquet"]


def test_skew_run_names_match_the_rules_wildcard():
    names = n_pre.run_names({"sizes": [64, 32, 32]})
    assert names == ["n32", "n64", "n64-mixed"]
    assert all(re.fullmatch(n_pre.RUN_PATTERN, name) for name in names)
    assert [n_pre.SkewRun.from_name(name).name for name in names] == names


def test_lm_run_names_by_family_and_against_every_reference_set(config):
    lm = config["lm"]
    names = lm_runs.run_names(lm)
    assert names == {family: [spec.name for spec in specs] for family, specs in lm_runs.plan(lm).items()}
    sets = list(lm_runs.reference_sets(lm))
    assert sets == ["full", "fedavg-full"]
    assert lm_runs.lira_run_names(lm) == [f"{s}/{run}" for s in sets for run in names["memorization"]]
    assert lm_runs.lira_run_names({**lm, "references": {**lm["references"], "adapters": ["lora"]}})[0] == (
        "lora/central-full"
    )
