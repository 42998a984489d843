"""Planning the causal-LM runs from config: names, families and the params each job sees."""

import copy

import pytest
import yaml
from conftest import REPO

from rotelab.papers.lora_fl.runs import RunSpec, all_runs, lira_run_names, plan, reference_sets, run_params
from rotelab.pipeline.config import validate_config


@pytest.fixture(scope="module")
def lm():
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    return validate_config(config, REPO / "config.schema.yaml")["lm"]


def test_default_plan_has_the_papers_comparisons(lm):
    families = plan(lm)
    names = {family: [spec.name for spec in specs] for family, specs in families.items()}
    assert names["memorization"] == ["central-full", "central-lora16", "fedavg-full", "fedavg-lora16"]
    assert names["rank"] == ["central-full", "central-lora4", "central-lora16", "central-lora64"]
    assert names["defenses"] == [
        "fedavg-full",
        "fedavg-full-dp1",
        "fedavg-full-dp8",
        "fedavg-full-noise0.01",
        "fedavg-full-goldfish4",
        "fedavg-full-secagg",
        "fedavg-lora16",
        "fedavg-lora16-dp1",
        "fedavg-lora16-dp8",
        "fedavg-lora16-noise0.01",
        "fedavg-lora16-goldfish4",
        "fedavg-lora16-secagg",
    ]
    # Shared runs are trained once: 4 + 2 new ranks + 10 defended runs.
    assert len(all_runs(lm)) == 16


def test_params_hold_exactly_what_a_run_depends_on(lm):
    runs = all_runs(lm)
    dp = run_params(lm, runs["fedavg-lora16-dp8"])
    assert dp["dp"] == {"target_epsilon": 8.0, "delta": None, "max_grad_norm": 1.0}
    assert dp["lora"]["r"] == 16 and dp["train"]["lr"] == lm["finetune"]["lora"]["lr"]
    assert dp["federated"] == {"rounds": lm["federated"]["rounds"], "local_epochs": 1}
    # target_modules null: every projection of the base's recipe (P1), resolved per run
    assert dp["lora"]["target_modules"] == [
        "q_proj",
        "k_proj",
        "v_proj",
        "o_proj",
        "gate_proj",
        "up_proj",
        "down_proj",
    ]
    central = run_params(lm, runs["central-full"])
    assert set(central) == {"spec", "train"} and central["train"]["lr"] == lm["finetune"]["train"]["lr"]
    assert run_params(lm, runs["fedavg-full-goldfish4"])["goldfish"] == {"k": 4, "h": 13}
    assert run_params(lm, runs["fedavg-full-noise0.01"])["weight_noise"] == 0.01


def test_changing_an_epsilon_touches_only_the_dp_runs(lm):
    before = {name: run_params(lm, spec) for name, spec in all_runs(lm).items()}
    changed = copy.deepcopy(lm)
    changed["defenses"]["dp"]["epsilons"] = [2, 8]
    after = {name: run_params(changed, spec) for name, spec in all_runs(changed).items()}
    differ = {n for n in before.keys() | after.keys() if before.get(n) != after.get(n)}
    assert differ == {"fedavg-full-dp1", "fedavg-lora16-dp1", "fedavg-full-dp2", "fedavg-lora16-dp2"}


def test_centralized_defenses_drop_secure_aggregation(lm):
    changed = copy.deepcopy(lm)
    changed["defenses"].update(setting="centralized", secure_aggregation=False)
    names = [spec.name for spec in plan(changed)["defenses"]]
    assert "central-lora16-dp8" in names and not any("secagg" in n for n in names)


def test_labels_read_as_legends():
    assert RunSpec("federated", "lora", 16, "dp", 8.0).label == "LoRA r16, FedAvg, DP-SGD eps 8"
    assert RunSpec("centralized", "full").label == "full, centralized"
    assert RunSpec("federated", "full", None, "secure_aggregation").name == "fedavg-full-secagg"


def test_reference_sets_are_trained_as_the_runs_they_calibrate(lm):
    # the default: centralized full references and their FedAvg-matched twin
    assert reference_sets(lm) == {"full": RunSpec("centralized", "full"), "fedavg-full": RunSpec("federated", "full")}
    centralized = copy.deepcopy(lm)
    centralized["references"].update(settings=["centralized"])
    assert reference_sets(centralized) == {"full": RunSpec("centralized", "full")}
    both = copy.deepcopy(lm)
    both["references"].update(adapters=["full", "lora"], settings=["centralized", "federated"])
    sets = reference_sets(both)
    assert list(sets) == ["full", "lora", "fedavg-full", "fedavg-lora"]
    assert sets["fedavg-lora"] == RunSpec("federated", "lora", both["finetune"]["lora"]["r"])
    # a FedAvg set trains with P1's rounds; its params are those of the FedAvg run
    assert run_params(both, sets["fedavg-full"])["federated"] == dict(both["federated"])
    assert "fedavg-full/fedavg-lora16" in lira_run_names(both) and len(lira_run_names(both)) == 4 * 4


def test_tagged_tables_lead_with_the_run_columns(lm):
    import pandas as pd

    from rotelab.papers.lora_fl.runs import RUN_COLUMNS, tag

    spec = all_runs(lm)["fedavg-lora16-dp8"]
    table = tag(pd.DataFrame({"metric": ["auc"], "value": [0.5]}), spec)
    assert list(table.columns) == [*RUN_COLUMNS, "metric", "value"]
