"""The tiny workflow end to end, then the caching guarantees, through real Snakemake."""

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from workflow_cli import planned_jobs, snakemake

pytestmark = pytest.mark.e2e

FIGURES = [
    "seqkd_quality",
    "seqkd_memorization",
    "canary_extraction",
    "canary_mia",
    "lora_fl_memorization",
    "lora_rank",
    "lora_fl_defenses",
    "lira_roc",
    "onion_effect",
    "seqkd_cm_subgroups",
    "seqkd_adaptive",
    "acil_equivalence",
    "acil_accuracy",
    "relu_capacity",
    "dsm_scores",
    "dsm_excess_risk",
    "dsm_mmd",
    "skew_distribution",
    "skew_dataset_size",
    "skew_mixture",
    "lm_lira",
    "rmia_vs_lira",
    "dp_audit",
    "seqkd_audit",
]
# configs/tiny.yaml plans 13 causal-LM runs: 4 (memorization) + 1 new rank + 8 defended.
N_LM_RUNS = 13
# Membership is scored for the runs whose membership a figure reads: lora_fl_defenses' 10
# (the 8 defended FedAvg runs and their 2 undefended baselines).
N_LM_DEFENSE_RUNS = 10


def overlay(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    wd = tmp_path_factory.mktemp("tiny")
    snakemake(wd, "--cores", "2")
    snakemake(wd, "--report", "results/report.html")
    return wd


def test_every_figure_and_table_is_written(workdir):
    for fig in FIGURES:
        assert (workdir / f"results/figures/{fig}.png").stat().st_size > 1000
        assert (workdir / f"results/figures/{fig}.pdf").exists()
        table = pd.read_csv(workdir / f"results/tables/{fig}.csv")
        assert len(table) > 0 and (table["figure"] == fig).all()
        assert {"value", "n", "ci_low", "ci_high"} <= set(table.columns)


def test_every_job_left_a_benchmark_and_the_job_times_list_every_rule(workdir):
    """Each job of the run wrote its benchmark under results/benchmarks/<rule>/; the last job,
    job_times, summed them per rule and family before its own was written."""
    ran = planned_jobs(workdir, targets=["--forceall"])  # the run's jobs, from a clean start
    assert ran.pop("all") == 1 and ran["job_times"] == 1
    benchmarks = workdir / "results/benchmarks"
    written = {rule.name: sorted(rule.rglob("*.tsv")) for rule in benchmarks.iterdir()}
    assert {rule: len(files) for rule, files in written.items()} == ran
    for files in written.values():
        for file in files:
            row = pd.read_csv(file, sep="\t")
            assert len(row) == 1 and row["s"].iloc[0] > 0, file
    table = pd.read_csv(workdir / "results/tables/job_times.csv", keep_default_na=False)
    assert dict(zip(table["rule"], table["jobs"])) == {rule: n for rule, n in ran.items() if rule != "job_times"}
    assert (table["family"] != "").all() and table["job_s"].is_monotonic_decreasing
    assert table.set_index("rule").loc["finetune_lm", "papers"] == "lora_fl privacy_audit"
    assert table["share"].sum() == pytest.approx(1.0, abs=1e-3)
    families = pd.read_csv(workdir / "results/tables/job_times_families.csv", keep_default_na=False)
    assert families["jobs"].sum() == sum(ran.values()) - 1
    assert families["job_s"].sum() == pytest.approx(table["job_s"].sum(), abs=0.1)


def test_tables_hold_what_the_figures_show(workdir):
    quality = pd.read_csv(workdir / "results/tables/seqkd_quality.csv")
    assert set(quality["model"]) == {"teacher", "student", "baseline"}
    assert set(quality["metric"]) == {"bleu", "chrf"}
    assert (quality["n"] == 200).all()  # data.n_test in the tiny config

    extraction = pd.read_csv(workdir / "results/tables/canary_extraction.csv")
    assert sorted(extraction["replicas"].unique()) == [0, 1, 8, 32]
    rates = extraction[extraction.metric == "extraction"]
    assert ((rates.ci_low <= rates.value + 1e-9) & (rates.value <= rates.ci_high + 1e-9)).all()

    mia = pd.read_csv(workdir / "results/tables/canary_mia.csv")
    auc = mia[(mia.metric == "auc") & (mia.replicas == -1)]
    assert len(auc) == 3 * 4  # models x attacks
    assert auc["value"].between(0, 1).all() and (auc["n"] == 24).all()

    memo = pd.read_csv(workdir / "results/tables/seqkd_memorization.csv")
    assert {"replication", "exmem", "osc_hallucination", "nat_hallucination"} <= set(memo["metric"])
    assert "exmem_secondary" in set(memo[memo.model == "student"]["metric"])


def test_causal_lm_tables_cover_every_regime(workdir):
    memorization = pd.read_csv(workdir / "results/tables/lora_fl_memorization.csv")
    assert set(memorization["run"]) == {"central-full", "central-lora4", "fedavg-full", "fedavg-lora4"}
    per_length = memorization[memorization["summary"] == "per_length"]
    assert sorted(per_length["duplication"].unique()) == [0, 1, 4]  # 0: never inserted
    assert sorted(per_length["prompt_length"].unique()) == [4, 8]
    assert (per_length["n"] == per_length["duplication"].map({0: 4, 1: 2, 4: 2})).all()

    rank = pd.read_csv(workdir / "results/tables/lora_rank.csv")
    assert sorted(rank.loc[rank.adapter == "lora", "rank"].unique()) == [2, 4]

    defenses = pd.read_csv(workdir / "results/tables/lora_fl_defenses.csv")
    loss = defenses[defenses.metric == "answer_loss"].set_index("run")
    assert len(loss) == 10 and set(loss["defense"]) == {"none", "dp", "weight_noise", "goldfish", "secure_aggregation"}
    assert loss.loc[["fedavg-full-dp8", "fedavg-lora4-dp8"], "epsilon"].between(7.5, 8.0 + 1e-6).all()
    assert loss.drop(index=["fedavg-full-dp8", "fedavg-lora4-dp8"])["epsilon"].isna().all()
    # Secure aggregation computes the plain FedAvg aggregate from masked uploads.
    for adapter in ("full", "lora4"):
        plain, masked = loss.loc[f"fedavg-{adapter}", "value"], loss.loc[f"fedavg-{adapter}-secagg", "value"]
        assert masked == pytest.approx(plain, abs=1e-3)
    auc = defenses[defenses.metric == "loss_attack_auc"]
    assert len(auc) == 10 and auc["value"].between(0, 1).all()
    model = workdir / "results/lm/models/fedavg-lora4"
    assert (model / "model.safetensors").exists() and (model / "run.json").exists()
    log = pd.read_parquet(model / "training_log.parquet")
    assert set(log["round"]) == {1, 2} and set(log["client"]) == {0, 1, 2}


def test_every_lm_run_is_audited_and_no_dp_run_is_shown_to_leak_beyond_its_epsilon(workdir, tmp_path):
    canaries = pd.read_parquet(workdir / "results/lm/audit/canaries.parquet")
    assert len(canaries) == 200 and 70 <= canaries["included"].sum() <= 130
    audit = pd.read_csv(workdir / "results/tables/dp_audit.csv").set_index("run")
    assert len(audit) == N_LM_RUNS and (audit["canaries"] == 200).all() and (audit["guesses"] == 40).all()
    assert audit["correct"].between(0, 40).all() and set(audit["attack"]) <= {"loss", "loss_vs_base"}
    assert (audit["delta"] == 1e-5).all()
    dp = audit[audit["defense"] == "dp"]
    assert list(dp.index) == ["fedavg-full-dp8", "fedavg-lora4-dp8"]
    # calibrated to epsilon 8 at the clients' delta; at the audit's smaller delta it is larger
    assert dp["target_epsilon"].between(7.5, 8.0 + 1e-6).all() and (dp["target_delta"] > 1e-5).all()
    assert (dp["accountant_epsilon"] > dp["target_epsilon"]).all()
    # DP-SGD's guarantee: at 95% confidence no audit refutes the accountant's epsilon.
    assert (dp["epsilon_lower"] <= dp["accountant_epsilon"]).all()
    assert audit.drop(index=dp.index)[["accountant_epsilon", "target_epsilon"]].isna().all().all()
    assert (audit["epsilon_lower"] <= audit["epsilon_ceiling"] + 1e-9).all() and (audit["epsilon_ceiling"] > 2).all()
    # epsilon 8 is out of reach of an audit of 200 canaries (ceiling ~2.3): the claim says so
    verdicts = pd.read_csv(workdir / "results/tables/verdicts.csv")
    row = verdicts[verdicts["figure"] == "dp_audit"]
    assert row["verdict"].tolist() == ["not measurable"] and "ceiling" in row["note"].iloc[0]
    seqkd = pd.read_csv(workdir / "results/tables/seqkd_audit.csv").set_index("model")
    assert list(seqkd.index) == ["teacher", "student", "baseline"] and (seqkd["epsilon_lower"] >= 0).all()
    assert (seqkd["members"] > 0).all() and (seqkd["members"] == seqkd["nonmembers"]).all()
    # A setting of the auditor's rescores the saved models; no run is trained again.
    guesses = overlay(tmp_path, "guesses.yaml", "lm:\n  audit:\n    guesses: 10\n")
    assert planned_jobs(workdir, [guesses]) == {
        "audit_lm_runs": 1,
        "figure": 1,
        "verdicts": 1,
        "job_times": 1,
        "all": 1,
    }


def test_dp_epsilon_change_retrains_only_the_dp_runs(workdir, tmp_path):
    change = overlay(tmp_path, "eps.yaml", "lm:\n  defenses:\n    dp:\n      epsilons: [4]\n")
    assert planned_jobs(workdir, [change]) == {
        "finetune_lm": 2,
        "score_lm_extraction": 2,
        "score_lm_membership": 2,
        "audit_lm_runs": 1,
        "figure": 2,
        "verdicts": 1,
        "job_times": 1,
        "all": 1,
    }
    prompts = overlay(tmp_path, "prompts.yaml", "lm:\n  extraction:\n    prompt_lengths: [2, 8]\n")
    # The prompts change extraction only: no note is rescored for membership.
    assert planned_jobs(workdir, [prompts]) == {
        "score_lm_extraction": N_LM_RUNS,
        "figure": 3,
        "verdicts": 1,
        "job_times": 1,
        "all": 1,
    }


def test_membership_engine_tables(workdir):
    pools = workdir / "results/membership/classifier"
    assert sorted(p.name for p in pools.iterdir() if p.is_dir()) == ["full", "random1", "targeted1"]
    # a tenth of digits' 1,797 examples is RMIA's population: in no pool, seen by every model
    population = pd.read_parquet(pools / "full/population.parquet")["example"]
    n_pool = 1797 - len(population)
    assert len(population) == 180 and not set(population) & set(
        pd.read_parquet(pools / "full/examples.parquet")["example"]
    )
    for pool in ("full", "targeted1"):
        seen = pd.read_parquet(pools / pool / "population_observations.parquet")
        assert set(seen["example"]) == set(population) and not seen["member"].any() and seen["model"].nunique() == 8
    matrix = pd.read_parquet(pools / "full/matrix.parquet")
    assert matrix["model"].nunique() == 8 and (matrix.groupby("example")["member"].sum() == 4).all()
    models = sorted((pools / "full/models").glob("model_*"))
    assert len(models) == 8 and all((m / "model.safetensors").exists() for m in models)
    observations = pd.read_parquet(pools / "full/observations.parquet")
    assert observations.loc[observations["member"], "correct"].mean() > 0.95
    roc = pd.read_csv(workdir / "results/tables/lira_roc.csv")
    auc = roc[roc.metric == "auc"].set_index("attack")
    assert set(auc.index) == {
        "lira_online",
        "lira_online_fixed",
        "lira_offline",
        "lira_offline_fixed",
        "rmia_online",
        "rmia_offline",
        "reference",
        "loss",
    }
    assert (auc["n"] == 8 * n_pool).all()
    # With 8 models an example's IN/OUT variances come from 3-4 scores each, so per-example
    # online LiRA is unreliable (the LiRA paper fixes the variance below 64 models); the
    # fixed-variance and offline attacks must still beat chance and the loss attack.
    calibrated = auc.loc[["lira_online_fixed", "lira_offline_fixed", "reference"], "value"]
    assert (calibrated > 0.52).all() and (calibrated > auc.loc["loss", "value"]).all()
    onion = pd.read_csv(workdir / "results/tables/onion_effect.csv")
    assert set(zip(onion["arm"], onion["layer"])) == {("targeted", 0), ("targeted", 1), ("random", 0), ("random", 1)}
    layer1 = onion[(onion["layer"] == 1) & (onion["measure"] == "vulnerable")].set_index("arm")
    assert (layer1["n"] == n_pool - 50).all()
    removed = (
        pd.read_parquet(pools / "full/examples.parquet")["example"].nunique()
        - pd.read_parquet(pools / "targeted1/examples.parquet")["example"].nunique()
    )
    assert removed == 50


def test_rmia_against_lira_over_the_number_of_models(workdir):
    sweep = pd.read_csv(workdir / "results/tables/rmia_vs_lira.csv")
    auc = sweep[sweep["metric"] == "auc"].set_index(["models", "attack"])
    assert sorted(pd.unique(sweep["models"])) == [2, 4, 8, 16]
    # LiRA needs two IN and two OUT references per example: nothing below K = 6, with the reason
    for k in (2, 4):
        assert (
            np.isnan(auc.loc[(k, "lira_online_fixed"), "value"])
            and "two IN and two OUT" in auc.loc[(k, "lira_online_fixed"), "note"]
        )
    # RMIA runs with a single reference and beats the loss attack there
    assert auc.loc[(2, "rmia_online"), "ci_low"] > auc.loc[(2, "loss"), "ci_high"]
    n_pool = 1797 - 180
    computed = sweep[sweep["value"].notna()]
    assert (computed["n"] == computed["models"] * n_pool).all()


def test_onion_changes_rerun_only_the_pools_they_touch(workdir, tmp_path):
    remove = overlay(tmp_path, "remove.yaml", "membership:\n  onion:\n    remove: 40\n")
    assert planned_jobs(workdir, [remove]) == {
        "membership_pool": 2,
        "membership_matrix": 2,
        "train_reference_models": 2,
        "score_reference_models": 2,
        "figure": 1,
        "verdicts": 1,
        "job_times": 1,
        "all": 1,
    }
    k = overlay(tmp_path, "k.yaml", "membership:\n  reference_models: 10\n")
    assert planned_jobs(workdir, [k]) == {
        "membership_pool": 1,
        "membership_matrix": 3,
        "train_reference_models": 3,
        "score_reference_models": 3,
        "figure": 2,
        "verdicts": 1,
        "job_times": 1,
        "all": 1,
    }


def test_lm_reference_models_score_every_note(workdir, tmp_path):
    """configs/tiny.yaml trains 6 full and 6 LoRA reference fine-tunes of the base, centralized
    (each set one ensemble) and by FedAvg as P1's federated runs; every note is IN for 3
    models of each set (one shared matrix), and LiRA scores each (model, note) pair."""
    notes = pd.read_parquet(workdir / "results/lm/canaries.parquet")
    members = {}
    for adapter in ("full", "lora", "fedavg-full", "fedavg-lora"):
        refs = workdir / "results/lm/references" / adapter
        observations = pd.read_parquet(refs / "observations.parquet")
        assert len(observations) == 6 * len(notes)
        assert (observations.groupby("example")["member"].sum() == 3).all()
        assert observations[["phi", "logprob", "prob", "correct"]].notna().all().all()
        members[adapter] = observations.set_index(["model", "example"])["member"]
        # RMIA's population: 50 fresh notes, none a canary, seen by every model, trained on by none
        population = pd.read_parquet(refs / "population_observations.parquet")
        assert len(population) == 6 * 50 and not population["member"].any()
        assert not set(population["example"]) & set(notes["canary_id"])
        attacks = pd.read_parquet(refs / "attacks.parquet")
        auc = attacks[attacks["metric"] == "auc"].set_index("attack")
        assert {
            "lira_online",
            "lira_online_fixed",
            "lira_offline_fixed",
            "rmia_online",
            "rmia_offline",
            "loss",
        } <= set(auc.index)
        assert (auc["n"] == 6 * len(notes)).all() and auc["value"].between(0, 1).all()
        models = sorted(p.name for p in (refs / "models").iterdir() if p.is_dir())
        assert models == [f"model_{k:03d}" for k in range(6)]
        # LoRA references are merged into plain checkpoints, loadable on their own
        assert (refs / "models/model_005/model.safetensors").exists()
        assert not (refs / "models/model_005/adapter_config.json").exists()
    assert members["full"].equals(members["lora"]) and members["full"].equals(members["fedavg-lora"])
    fedavg = json.loads((workdir / "results/lm/references/fedavg-lora/models/ensemble.json").read_text())
    assert fedavg["setting"] == "federated" and not fedavg["trained_as_ensemble"]
    more = overlay(tmp_path, "refs.yaml", "lm:\n  references:\n    models: 8\n")
    assert planned_jobs(workdir, [more]) == {
        "lm_reference_matrix": 1,
        "train_lm_references": 4,
        "score_lm_references": 4,
        "lira_lm_run": 16,
        "figure": 1,
        "verdicts": 1,
        "job_times": 1,
        "all": 1,
    }
    # new LoRA settings retrain the LoRA references and runs, never the full ones or the matrix:
    # LiRA reruns for the 4 runs against the 2 LoRA sets and the 2 LoRA runs against the 2 full sets
    alpha = overlay(tmp_path, "alpha.yaml", "lm:\n  finetune:\n    lora:\n      alpha: 16\n")
    planned = planned_jobs(workdir, [alpha])
    assert planned["train_lm_references"] == 2 and planned["score_lm_references"] == 2
    assert planned["lira_lm_run"] == 12 and "lm_reference_matrix" not in planned
    # P1's four memorization runs, each scored against every reference set
    table = pd.read_csv(workdir / "results/tables/lm_lira.csv")
    sets = {"full": 4, "lora": 4, "fedavg-full": 4, "fedavg-lora": 4}
    assert table.groupby("references")["run"].nunique().to_dict() == sets
    assert (table["n"] == len(notes)).all()
    rmia = table[(table["attack"] == "rmia_online") & (table["metric"] == "auc")]
    assert len(rmia) == 16 and rmia["value"].between(0, 1).all()


def test_seqkd_subgroup_and_adaptive_tables(workdir):
    translation = workdir / "results/membership/translation"
    matrix = pd.read_parquet(translation / "matrix.parquet")
    train = pd.read_parquet(workdir / "results/data/train.parquet")
    assert matrix["model"].nunique() == 2 and (matrix.groupby("example")["member"].sum() == 1).all()
    assert set(matrix["example"]) == set(train["pair_id"])
    cm = pd.read_parquet(translation / "counterfactual.parquet")
    assert len(cm) == len(train) and (cm[["n_in", "n_out"]] == 1).all().all()
    assert cm["cm_probability"].between(-1, 1).all() and cm["in_probability"].between(0, 1).all()
    # Each reference model fits its own half better than the other half.
    observations = pd.concat(pd.read_parquet(p) for p in sorted((translation / "observations").glob("*.parquet")))
    fit = observations.groupby(["model", "member"])["prob"].mean().unstack()
    assert (fit[True] > fit[False]).all()
    # RMIA on the two references, the test pairs as its population; LiRA needs six models
    population = pd.concat(pd.read_parquet(p) for p in sorted((translation / "population").glob("*.parquet")))
    test = pd.read_parquet(workdir / "results/data/test.parquet")
    assert len(population) == 2 * len(test) and not population["member"].any()
    attacks = pd.read_parquet(translation / "attacks.parquet")
    auc = attacks[attacks["metric"] == "auc"].set_index("attack")
    assert auc.loc["rmia_online", "value"] > 0.5 and auc.loc["rmia_online", "n"] == 2 * len(train)
    assert np.isnan(auc.loc["lira_online_fixed", "value"])
    assert "at least 6 reference models" in auc.loc["lira_online_fixed", "note"]
    rates = pd.read_csv(workdir / "results/tables/seqkd_cm_subgroups.csv")
    everything = rates[(rates.grouping == "all") & (rates.metric == "replication")]
    assert set(everything["model"]) == {"teacher", "student", "baseline"} and (everything["n"] == len(train)).all()
    per_bucket = rates[(rates.grouping == "cm") & (rates.metric == "replication") & (rates.model == "teacher")]
    assert per_bucket["n"].sum() == len(train)

    subsets = pd.read_parquet(workdir / "results/adaptive/subsets.parquet")
    sizes = subsets.groupby("subset").size()
    assert sizes["hq"] == sizes["random"] > 0
    hq = subsets[subsets.subset == "hq"]
    assert (hq["chrf"] > 8).all() and (hq["confidence"] > 0.02).all()
    log = pd.read_parquet(workdir / "results/models/teacher_hq/training_log.parquet")
    assert log["step"].iloc[-1] == max(1, round(sizes["hq"] / 32))
    kd = pd.read_parquet(workdir / "results/generations/teacher_hq/kd_corpus.parquet")
    assert len(kd) == len(pd.read_parquet(workdir / "results/canaries/train.parquet"))
    adaptive = pd.read_csv(workdir / "results/tables/seqkd_adaptive.csv")
    assert {"student", "student_hq", "student_random", "student_hq_vs_student"} <= set(adaptive["model"])


def test_seqkd_extension_changes_rerun_only_their_stages(workdir, tmp_path):
    chrf = overlay(tmp_path, "chrf.yaml", "adaptive_seqkd:\n  chrf: 7\n")
    assert planned_jobs(workdir, [chrf]) == {
        "adaptive_subsets": 1,
        "finetune_teacher": 2,
        "distill_corpus": 2,
        "train_model": 2,
        "translate": 4,
        "exmem_prefixes": 2,
        "score_translation": 2,
        "figure": 1,
        "verdicts": 1,
        "job_times": 1,
        "all": 1,
    }
    k = overlay(tmp_path, "k.yaml", "seqkd_subgroups:\n  reference_models: 4\n")
    assert planned_jobs(workdir, [k]) == {
        "translation_matrix": 1,
        "train_translation_reference": 4,
        "score_translation_reference": 4,
        "translation_counterfactual": 1,
        "translation_reference_attacks": 1,
        "seqkd_subgroups": 1,
        "figure": 1,
        "verdicts": 1,
        "job_times": 1,
        "all": 1,
    }
    buckets = overlay(tmp_path, "buckets.yaml", "seqkd_subgroups:\n  cm_buckets: [0.1, 0.3]\n")
    assert planned_jobs(workdir, [buckets]) == {
        "seqkd_subgroups": 1,
        "figure": 1,
        "verdicts": 1,
        "job_times": 1,
        "all": 1,
    }


def test_translation_references_train_as_one_ensemble(workdir, tmp_path):
    """seqkd_subgroups.ensemble swaps the K reference-training jobs for one batched job whose
    models score as the separate ones do (run on a copy: the shared workdir stays as it is)."""
    together = overlay(tmp_path, "ensemble.yaml", "seqkd_subgroups:\n  ensemble: true\n")
    target = "results/membership/translation/counterfactual.parquet"
    assert planned_jobs(workdir, [together], [target]) == {
        "train_translation_references": 1,
        "score_translation_reference": 2,
        "translation_counterfactual": 1,
    }
    copy = tmp_path / "copy"
    shutil.copytree(workdir, copy)
    snakemake(copy, "--cores", "2", target, overlays=[together])
    models = "results/membership/translation/models"
    for k in range(2):
        separate = pd.read_parquet(workdir / models / f"ref{k}/training_log.parquet")
        ensemble = pd.read_parquet(copy / models / f"ref{k}/training_log.parquet")
        assert ensemble["step"].tolist() == separate["step"].tolist()
        # same data order and schedule; dropout masks differ, so close but not equal
        assert ensemble["loss"].iloc[-1] == pytest.approx(separate["loss"].iloc[-1], rel=0.02)
    separate = pd.read_parquet(workdir / target)
    ensemble = pd.read_parquet(copy / target)
    assert len(ensemble) == len(separate) and ensemble.select_dtypes("number").notna().all().all()
    assert planned_jobs(copy, [together], [target]) == {}


def test_acil_equals_joint_training_and_caches_per_phase_count(workdir, tmp_path):
    accuracy = pd.read_csv(workdir / "results/tables/acil_accuracy.csv")
    final = accuracy[accuracy["phase"] == accuracy["phases"]].set_index(["phases", "method"])["value"]
    assert final[5, "acil"] == final[10, "acil"] == final[5, "joint"] > 0.9 and final[5, "sgd"] < 0.5
    equivalence = pd.read_csv(workdir / "results/tables/acil_equivalence.csv")
    assert set(equivalence["phases"]) == {5, 10} and (equivalence["value"] < 1e-9).all()
    lr = overlay(tmp_path, "lr.yaml", "acil:\n  sgd:\n    lr: 0.1\n")
    assert planned_jobs(workdir, [lr]) == {"acil_phases": 2, "figure": 2, "verdicts": 1, "job_times": 1, "all": 1}
    more = overlay(tmp_path, "more.yaml", "acil:\n  phases: [5, 10, 3]\n")
    assert planned_jobs(workdir, [more]) == {"acil_phases": 1, "figure": 2, "verdicts": 1, "job_times": 1, "all": 1}


def test_relu_capacity_runs_one_job_per_size_and_depth(workdir, tmp_path):
    table = pd.read_csv(workdir / "results/tables/relu_capacity.csv")
    widths = table[table.metric == "median_width"]
    assert set(zip(widths["depth"], widths["n"])) == {(1, 8), (1, 16), (2, 8), (2, 16)}
    assert widths["value"].between(1, 17).all()
    sizes = overlay(tmp_path, "sizes.yaml", "relu_capacity:\n  sizes: [8, 16, 4]\n")
    assert planned_jobs(workdir, [sizes]) == {
        "fit_relu_networks": 2,
        "figure": 1,
        "verdicts": 1,
        "job_times": 1,
        "all": 1,
    }
    # One paper alone: its short name is a target; after the full run only its verdicts remain.
    assert planned_jobs(workdir, targets=["relu_capacity"]) == {"paper_verdicts": 1, "relu_capacity": 1}
    assert planned_jobs(workdir, [sizes], targets=["relu_capacity"]) == {
        "fit_relu_networks": 2,
        "figure": 1,
        "paper_verdicts": 1,
        "relu_capacity": 1,
    }


def test_dsm_runs_one_job_per_learning_rate(workdir, tmp_path):
    risk = pd.read_csv(workdir / "results/tables/dsm_excess_risk.csv")
    assert set(risk["lr"]) == {0.5, 0.25} and (risk["value"] > 0).all() and (risk["n"] == 2).all()
    mmd = pd.read_csv(workdir / "results/tables/dsm_mmd.csv")
    assert set(zip(mmd["sampler"], mmd["lr"])) == {(s, lr) for s in ("network", "optimal") for lr in (1.0, 0.5)}
    assert (mmd["value"] >= 0).all()
    # Changing one learning rate trains only that run and redraws its two figures.
    one = overlay(tmp_path, "dsm_lr.yaml", "dsm:\n  learning_rates: [0.5, 0.2]\n")
    assert planned_jobs(workdir, [one]) == {"dsm_score_net": 1, "figure": 2, "verdicts": 1, "job_times": 1, "all": 1}
    bandwidth = overlay(tmp_path, "dsm_bw.yaml", "dsm:\n  diffusion:\n    bandwidth: 0.5\n")
    assert planned_jobs(workdir, [bandwidth]) == {
        "dsm_diffusion": 2,
        "figure": 1,
        "verdicts": 1,
        "job_times": 1,
        "all": 1,
    }


def test_skew_runs_checkpoint_each_epoch_and_cache_per_run(workdir, tmp_path):
    for run in ("n16", "n32", "n32-mixed"):
        models = workdir / "results/skew/models" / run
        assert sorted(p.name for p in models.glob("epoch*")) == ["epoch1", "epoch4"]
        assert (models / "epoch4" / "model.safetensors").exists()
    scores = pd.read_parquet(workdir / "results/skew/scores/n32-mixed.parquet")
    assert set(scores["epoch"]) == {1, 4} and (scores.groupby(["epoch", "role"]).size() == 32).all()
    assert (scores["n_pre"] <= scores["suffix_tokens"]).all()
    assert (scores["token_logprobs"].map(len) == scores["suffix_tokens"]).all()
    similarity = pd.read_parquet(workdir / "results/skew/similarity.parquet")
    assert similarity.groupby("run").size().to_dict() == {"n16": 16, "n32": 32, "n32-mixed": 64}
    mixture = pd.read_csv(workdir / "results/tables/skew_mixture.csv")
    assert {"mean_n_pre", "signed_rank_p", "mean_delta_s", "spearman_delta_s_n_pre"} <= set(mixture["metric"])
    # A new size trains one run (the sample pool is unchanged); a new learning rate retrains
    # every run but leaves delta_S, which depends on the data only.
    sizes = overlay(tmp_path, "skew_sizes.yaml", "skewed_memorization:\n  sizes: [16, 32, 8]\n")
    assert planned_jobs(workdir, [sizes]) == {
        "skew_finetune": 1,
        "skew_score": 1,
        "skew_similarity": 1,
        "figure": 3,
        "verdicts": 1,
        "job_times": 1,
        "all": 1,
    }
    lr = overlay(tmp_path, "skew_lr.yaml", "skewed_memorization:\n  train:\n    lr: 0.001\n")
    assert planned_jobs(workdir, [lr]) == {
        "skew_finetune": 3,
        "skew_score": 3,
        "figure": 3,
        "verdicts": 1,
        "job_times": 1,
        "all": 1,
    }


def test_artifacts_follow_the_contract(workdir):
    for model in ("teacher", "student", "baseline"):
        ckpt = workdir / "results/models" / model
        assert (ckpt / "model.safetensors").exists() and (ckpt / "tokenizer.json").exists()
        log = pd.read_parquet(ckpt / "training_log.parquet")
        assert list(log.columns) == ["step", "loss", "lr", "tokens_per_s"]
        assert log["loss"].iloc[-1] < log["loss"].iloc[0]
    canaries = pd.read_parquet(workdir / "results/canaries/canaries.parquet")
    assert {"canary_id", "replicas", "inserted", "secret"} <= set(canaries.columns)
    kd = pd.read_parquet(workdir / "results/generations/teacher/kd_corpus.parquet")
    train = pd.read_parquet(workdir / "results/canaries/train.parquet")
    assert len(kd) == len(train) and (kd["src"] == train["src"]).all()
    scores = pd.read_parquet(workdir / "results/scores/teacher/membership_examples.parquet")
    assert set(scores["attack"]) == {"loss", "zlib", "min_k", "min_k_pp"}
    assert not list(workdir.rglob("*.tmp"))  # atomic writes leave no partial files
    log_dir = workdir / "results/logs"
    assert (log_dir / "train_model/teacher.log").read_text().count("step ") >= 5


def test_the_run_judges_every_claim_of_every_figure(workdir):
    from rotelab.figures.catalog import figures
    from rotelab.reproduction.verdicts import VERDICTS

    verdicts = pd.read_csv(workdir / "results/tables/verdicts.csv", keep_default_na=False)
    claims = [claim for name in figures.names() if name in FIGURES for claim in figures.get(name).claims]
    assert verdicts["claim"].tolist() == [claim.statement for claim in claims]
    assert set(verdicts["figure"]) == set(FIGURES) and set(verdicts["verdict"]) <= set(VERDICTS)
    measured = verdicts[verdicts["verdict"] != "not measurable"]
    assert len(measured) and (measured["ci_low"].astype(float) <= measured["ci_high"].astype(float)).all()
    assert (verdicts.loc[verdicts["verdict"] == "not measurable", "note"].str.len() > 0).all()
    summary = subprocess.run(
        [
            sys.executable,
            "-m",
            "rotelab.reproduction.verdicts",
            str(workdir / "results/tables/verdicts.csv"),
            "results/report.html",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert summary.startswith(f"{len(claims)} claims: ") and "Report: results/report.html" in summary


def test_report_shows_every_figure_with_its_caption(workdir):
    html = (workdir / "results/report.html").read_text()
    for fig in FIGURES:
        assert f"{fig}.png" in html
    assert "job_times.csv" in html and "job_times_families.csv" in html
    assert "P3&#x27;s headline" in html or "P3's headline" in html or "P3\\u0027s headline" in html


def test_complete_run_leaves_nothing_to_do(workdir):
    assert planned_jobs(workdir) == {}


def test_min_k_change_reruns_only_scoring_and_plots(workdir, tmp_path):
    change = overlay(tmp_path, "mink.yaml", "scoring:\n  min_k_fraction: 0.35\n")
    jobs = planned_jobs(workdir, [change])
    # Attack settings rescore membership; the causal-LM runs' extraction decoding stays.
    assert jobs.get("score_membership") == 3 and jobs.get("score_lm_membership") == N_LM_DEFENSE_RUNS
    assert set(jobs) <= {"score_membership", "score_lm_membership", "figure", "verdicts", "job_times", "all"}, jobs
    models = {p: p.stat().st_mtime_ns for p in (workdir / "results/models").rglob("*") if p.is_file()}
    snakemake(workdir, "--cores", "2", overlays=[change])
    after = {p: p.stat().st_mtime_ns for p in (workdir / "results/models").rglob("*") if p.is_file()}
    assert after == models
    assert planned_jobs(workdir, [change]) == {}


def test_replica_change_retrains_but_keeps_corpus_and_tokenizer(workdir, tmp_path):
    change = overlay(tmp_path, "replicas.yaml", "canaries:\n  replicas: [1, 8, 16]\n")
    jobs = planned_jobs(workdir, [change])
    assert jobs.get("make_canaries") == 1 and jobs.get("inject_canaries") == 1
    # T, S, B and the two adaptive students; the reference models never see canaries.
    assert jobs.get("train_model") == 5 and jobs.get("distill_corpus") == 3 and jobs.get("finetune_teacher") == 2
    assert "prepare_corpus" not in jobs and "train_tokenizer" not in jobs
    assert "train_translation_reference" not in jobs


def test_lm_base_is_pretrained_to_a_plateau_and_cached(workdir, tmp_path):
    target = "results/models/lm_base"
    snakemake(workdir, "--cores", "2", target)
    base = workdir / target
    assert (base / "model.safetensors").exists() and (base / "tokenizer.json").exists()
    evaluated = pd.read_parquet(base / "training_log.parquet").dropna(subset=["val_loss"])
    assert len(evaluated) >= 2 and evaluated["val_loss"].iloc[-1] < evaluated["val_loss"].iloc[0]
    assert (workdir / "results/logs/pretrain_base.log").read_text().count("validation loss") == len(evaluated)
    patience = overlay(tmp_path, "patience.yaml", "lm:\n  base:\n    plateau:\n      patience: 3\n")
    assert planned_jobs(workdir, [patience], [target]) == {"pretrain_base": 1}
    replicas = overlay(tmp_path, "replicas.yaml", "canaries:\n  replicas: [1, 8, 16]\n")
    assert planned_jobs(workdir, [replicas], [target]) == {}  # the base never sees canaries


def test_bad_config_fails_fast_and_keeps_results(workdir, tmp_path):
    bad = overlay(tmp_path, "bad.yaml", "data:\n  corpus: klingon\n")
    proc = snakemake(workdir, "-n", overlays=[bad], check=False)
    assert proc.returncode != 0
    assert "config key data.corpus: unknown corpus 'klingon'" in proc.stdout + proc.stderr
    assert (workdir / "results/models/teacher/model.safetensors").exists()
    assert planned_jobs(workdir) == {} or set(planned_jobs(workdir)) <= {
        "score_membership",
        "score_lm_membership",
        "figure",
        "verdicts",
        "job_times",
        "all",
    }


def test_report_shows_every_figure_in_a_real_browser(workdir):
    """Headless Chromium opens the self-contained report, shows each figure (decoded image,
    natural width > 0) and its caption, and logs no console errors."""
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    from rotelab.figures.catalog import figures
    from rotelab.papers import PAPERS

    chromium, driver = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
    if not (chromium.exists() and driver.exists()):
        pytest.skip("Debian chromium and chromium-driver are not installed (make test installs them as root)")
    opts = webdriver.ChromeOptions()
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1400,1000",
    ):
        opts.add_argument(arg)
    opts.binary_location = str(chromium)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    browser = webdriver.Chrome(service=webdriver.ChromeService(str(driver)), options=opts)
    # Short implicit waits: the explicit waits below (shows) poll for what each step renders.
    browser.implicitly_wait(2)
    try:

        def shows(condition) -> bool:
            """Whether ``condition(browser)`` becomes true within 15 s (the app renders
            asynchronously after a click)."""
            try:
                WebDriverWait(browser, 15).until(condition)
                return True
            except TimeoutException:
                return False

        def click(element):
            """Click as a user would, waiting out the menu's CSS transitions (during one,
            the neighbouring button can still sit under the pointer)."""
            from selenium.common.exceptions import ElementClickInterceptedException

            for _ in range(20):
                try:
                    return element.click()
                except ElementClickInterceptedException:
                    time.sleep(0.25)
            return element.click()

        def paper_of(fig):
            paper = PAPERS[figures.get(fig).paper]
            return f"{paper.code}: {paper.title}"

        def result_links(category, content, subcategory=None):
            """(show, info) buttons of one result, from a freshly loaded report: its category
            (a paper, or Reproduction), then its subcategory (a figure), then its row. The
            app renders after each click and a click during the menu's transition can land
            on a neighbour, so each step waits for what it should show, and a navigation
            that did not arrive is retried from a fresh load (three times at most)."""
            row = row_xpath(content)
            for _ in range(3):
                browser.get((workdir / "results/report.html").as_uri())
                click(browser.find_element(By.LINK_TEXT, category))
                if subcategory:
                    # A paper with one figure (P6) opens straight onto its rows: no subcategory link.
                    arrived = shows(
                        lambda b: b.find_elements(By.LINK_TEXT, subcategory) or b.find_elements(By.XPATH, row)
                    )
                    links = browser.find_elements(By.LINK_TEXT, subcategory) if arrived else []
                    if links:
                        click(links[0])
                if shows(lambda b: b.find_elements(By.XPATH, row)):
                    return row_links(content)
            raise AssertionError(f"the report shows no {content!r} row under {category} / {subcategory}")

        def figure_links(fig):
            return result_links(paper_of(fig), "figure", fig)

        def row_xpath(content):
            return f"//tr[td[normalize-space()='{content}']]"

        def row_links(content):
            row = browser.find_element(By.XPATH, row_xpath(content))
            return row.find_elements(By.TAG_NAME, "a")[:2]

        def opens(fig, button, condition) -> bool:
            """Click one of a figure's buttons (0: show, 1: info), from a fresh navigation,
            until ``condition`` holds (three tries: a click can be lost to a transition)."""
            for _ in range(3):
                click(figure_links(fig)[button])
                if shows(condition):
                    return True
            return False

        def image_loaded(b) -> bool:
            images = b.find_elements(By.CSS_SELECTOR, f"img[src*='filename={fig}.png']")
            loaded = "return arguments[0].complete && arguments[0].naturalWidth"
            return bool(images) and b.execute_script(loaded, images[0]) > 0

        for fig in FIGURES:
            figure_links(fig)
            # the figure's tidy table sits beside it, under its paper
            assert len(row_links("table")) == 2, f"no table beside {fig}"
            assert opens(fig, 0, image_loaded), f"{fig}.png did not load"
            browser.save_screenshot(str(workdir / f"results/report_{fig}.png"))
            caption = figures.get(fig).caption[:40]
            assert opens(fig, 1, lambda b: caption in " ".join(b.find_element(By.TAG_NAME, "body").text.split())), (
                f"caption of {fig} not shown"
            )
            # The caption lists the settings this figure depends on, with their values.
            body = browser.find_element(By.TAG_NAME, "body").text
            assert "Settings it depends on" in body and figures.get(fig).settings[0] in body
        # The navigation groups results by paper, with the Reproduction page beside them.
        browser.get((workdir / "results/report.html").as_uri())
        menu = {a.text.strip() for a in browser.find_elements(By.CSS_SELECTOR, "nav a, ul a")}
        assert {paper_of(fig) for fig in FIGURES} | {"Reproduction"} <= menu, menu
        assert not {"Figures", "Tables"} & menu
        # The opening page points to the Reproduction page, which shows every verdict in colour.
        body = browser.find_element(By.TAG_NAME, "body").text
        assert "Reproduction" in body and "reproduction.html" in body
        click(result_links("Reproduction", "verdicts page")[0])
        frames = browser.find_elements(By.TAG_NAME, "iframe")
        if frames:
            browser.switch_to.frame(frames[0])
        verdicts = pd.read_csv(workdir / "results/tables/verdicts.csv")
        assert shows(lambda b: f"{len(verdicts)} claims" in b.find_element(By.TAG_NAME, "body").text)
        cells = browser.find_elements(By.CSS_SELECTOR, "td.verdict")
        assert [c.text for c in cells] == verdicts["verdict"].tolist()
        browser.switch_to.default_content()
        browser.save_screenshot(str(workdir / "results/report_reproduction.png"))
        errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
        assert not errors, errors
    finally:
        browser.quit()
    assert (workdir / "results/report_canary_mia.png").stat().st_size > 10_000
