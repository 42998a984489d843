"""Figures render from hand-built score tables, including degenerate ones."""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from rotelab.figures.catalog import MODELS, figures, render

PATTERN = "results/scores/{model}/translation.parquet"


def write_scores(tmp_path, exmem_n: int):
    paths = []
    for model in MODELS:
        rows = [
            {"model": model, "metric": metric, "value": value, "n": n, "ci_low": value / 2, "ci_high": value * 1.5}
            for metric, value, n in [
                ("bleu", 20.0, 100),
                ("chrf", 40.0, 100),
                ("replication", 0.2, 1000),
                ("exmem", 0.1 if exmem_n else np.nan, exmem_n),
                ("exmem_secondary", 0.05, 50),
                ("osc_hallucination", 0.01, 1000),
                ("nat_hallucination", 0.02, 1000),
            ]
        ]
        path = tmp_path / f"{model}.parquet"
        pd.DataFrame(rows).to_parquet(path)
        paths.append(str(path))
    return {PATTERN: paths}


@pytest.mark.parametrize("exmem_n", [0, 200], ids=["nothing-replicates", "some-exmem"])
def test_seqkd_memorization_renders_with_relative_change(tmp_path, exmem_n):
    out = render(
        "seqkd_memorization",
        write_scores(tmp_path, exmem_n),
        str(tmp_path / "f.png"),
        str(tmp_path / "f.pdf"),
        str(tmp_path / "f.csv"),
    )
    assert (tmp_path / "f.png").stat().st_size > 1000 and (tmp_path / "f.pdf").exists()
    rel = out[out.model == "student_vs_baseline"].set_index("metric")
    assert rel.loc["replication", "value"] == pytest.approx(0.0)  # equal rates -> 0%
    assert np.isnan(rel.loc["exmem", "value"]) == (exmem_n == 0)
    assert list(pd.read_csv(tmp_path / "f.csv").columns) == [
        "figure",
        "model",
        "metric",
        "value",
        "n",
        "ci_low",
        "ci_high",
    ]


def test_every_figure_declares_inputs_and_a_caption():
    for name in figures.names():
        fig = figures.get(name)
        assert fig.caption and fig.inputs
        families = {fig.runs: ["run-a", "run-b"]} if fig.runs else None
        assert all(len(paths) in (1, 2, len(MODELS)) for paths in fig.input_files(families).values())
        assert all(paths for paths in fig.input_files(families).values())


def write_canary_scores(tmp_path, n_candidates: int | None):
    """Per-model canary summaries; ``n_candidates=None`` is a table from before exposure by
    extrapolation (no ``exposure_extrapolated`` or ``exposure_ceiling`` rows)."""
    paths = []
    for model in MODELS:
        rows = []
        for replicas in (0, 1, 4):
            metrics = {"extraction": 0.1 * replicas, "extraction_source": 0.0, "exposure": 2.0 + replicas}
            if n_candidates:
                ceiling = float(np.log2(n_candidates + 1))
                metrics |= {"exposure_extrapolated": 3.0 * (1 + replicas), "exposure_ceiling": ceiling}
            rows += [
                {"model": model, "metric": m, "replicas": replicas, "value": v, "n": 10, "ci_low": v, "ci_high": v}
                for m, v in metrics.items()
            ]
        path = tmp_path / f"canaries-{model}.parquet"
        pd.DataFrame(rows).to_parquet(path)
        paths.append(str(path))
    return {"results/scores/{model}/canaries.parquet": paths}


@pytest.mark.parametrize("n_candidates", [None, 250, 1000], ids=["old-table", "250", "1000"])
def test_canary_extraction_shows_extrapolated_exposure_beside_the_sampled_ceiling(tmp_path, n_candidates):
    table, fig = figures.get("canary_extraction").make(write_canary_scores(tmp_path, n_candidates))
    labels = fig.axes[1].get_legend_handles_labels()[1]
    plt.close(fig)
    assert "log2(candidates + 1)" in figures.get("canary_extraction").caption
    if n_candidates is None:
        assert set(table["metric"]) == {"extraction", "extraction_source", "exposure"}
        assert not any("ceiling" in label for label in labels)
        return
    ceiling = np.log2(n_candidates + 1)
    assert f"sampled ceiling ({ceiling:.2f} bits)" in labels  # 7.97 at 250 candidates, read from the table
    assert sum("extrapolated" in label for label in labels) == len(MODELS)
    assert set(table["metric"]) == {
        "extraction",
        "extraction_source",
        "exposure",
        "exposure_extrapolated",
        "exposure_ceiling",
    }


def write_lm_scores(tmp_path, specs):
    """Per-run extraction, utility and membership tables as the scoring job writes them;
    full fine-tuning memorizes more than LoRA, and a DP run spent epsilon 8."""
    from rotelab.papers.lora_fl.runs import tag
    from rotelab.scoring.lm_extraction import memorization_rates
    from rotelab.scoring.lm_scores import summarise_utility

    files = {
        "results/lm/scores/{run}/extraction.parquet": [],
        "results/lm/scores/{run}/utility.parquet": [],
        "results/lm/scores/{run}/membership.parquet": [],
    }
    rng = np.random.default_rng(0)
    for spec in specs:
        memorized = 0.6 if spec.adapter == "full" else 0.1
        scored = pd.DataFrame(
            [
                {
                    "canary_id": c,
                    "duplication": d,
                    "prompt_length": p,
                    "exact": rng.random() < memorized * (d > 1),
                    "approximate": rng.random() < memorized,
                }
                for c, d in enumerate([0] * 4 + [1] * 2 + [10] * 2)
                for p in (8, 16)
            ]
        )
        utility = summarise_utility(
            pd.DataFrame({"answer_nll": rng.uniform(3, 4, 20), "answer_tokens": 1, "exact_match": False}), 50, 0
        )
        utility = tag(utility, spec).assign(epsilon=8.0 if spec.defense == "dp" else np.nan, steps=10, delta=0.01)
        membership = tag(
            pd.DataFrame(
                {
                    "attack": ["loss"],
                    "replicas": [-1],
                    "metric": ["auc"],
                    "value": [0.7],
                    "n": [4],
                    "ci_low": [0.5],
                    "ci_high": [0.9],
                }
            ),
            spec,
        )
        for pattern, table in zip(files, [tag(memorization_rates(scored), spec), utility, membership]):
            path = tmp_path / f"{spec.name}-{pattern.rsplit('/', 1)[1]}"
            table.to_parquet(path)
            files[pattern].append(str(path))
    return files


@pytest.mark.parametrize("name", ["lora_fl_memorization", "lora_rank", "lora_fl_defenses"])
def test_causal_lm_figures_render_from_run_tables(tmp_path, name):
    from rotelab.papers.lora_fl.runs import RunSpec

    specs = [
        RunSpec("centralized", "full"),
        RunSpec("centralized", "lora", 4),
        RunSpec("federated", "lora", 16),
        RunSpec("federated", "lora", 16, "dp", 8.0),
    ]
    files = write_lm_scores(tmp_path, specs)
    inputs = {pattern: files[pattern] for pattern in figures.get(name).inputs}
    out = render(name, inputs, str(tmp_path / "f.png"), str(tmp_path / "f.pdf"), str(tmp_path / "f.csv"))
    assert (tmp_path / "f.png").stat().st_size > 1000
    assert set(out["run"]) == {s.name for s in specs}
    assert ((out["ci_low"] <= out["value"] + 1e-9) & (out["value"] <= out["ci_high"] + 1e-9)).all()
    if name == "lora_fl_defenses":
        assert out.loc[out.run == "fedavg-lora16-dp8", "epsilon"].eq(8.0).all()
        assert out.loc[out.run == "fedavg-lora16", "epsilon"].isna().all()


def test_lm_lira_figure_renders_one_panel_per_reference_set(tmp_path):
    from rotelab.membership.reference_scores import summarise_attacks
    from rotelab.papers.lora_fl.figures import LIRA
    from rotelab.papers.lora_fl.runs import RunSpec, tag

    rng = np.random.default_rng(0)
    paths = []
    specs = [RunSpec("centralized", "full"), RunSpec("federated", "lora", 16)]
    for references in ("full", "lora"):
        for spec, shift in zip(specs, (2.0, 0.3)):
            member = np.arange(20) < 10
            scores = pd.concat(
                [
                    pd.DataFrame(
                        {
                            "attack": a,
                            "model": 6,
                            "example": np.arange(20),
                            "member": member,
                            "score": rng.normal(size=20) + s * member,
                        }
                    )
                    for a, s in (("lira_online_fixed", shift), ("lira_offline_fixed", shift), ("loss", 0.1))
                ]
            )
            path = tmp_path / f"{references}-{spec.name}.parquet"
            tag(summarise_attacks(scores, 50, 0), spec).assign(references=references).to_parquet(path)
            paths.append(str(path))
    out = render("lm_lira", {LIRA: paths}, str(tmp_path / "f.png"), str(tmp_path / "f.pdf"), str(tmp_path / "f.csv"))
    assert (tmp_path / "f.png").stat().st_size > 1000
    auc = out[(out["metric"] == "auc") & (out["attack"] == "lira_online_fixed")].set_index(["references", "run"])
    for references in ("full", "lora"):
        assert auc.loc[(references, "central-full"), "value"] > auc.loc[(references, "fedavg-lora16"), "value"]
    assert (out["n"] == 20).all() and len(auc) == 4


def test_membership_figures_render_from_pool_tables(tmp_path):
    from rotelab.membership.figures import POOL_SCORES, POOL_SUMMARY
    from rotelab.membership.reference_scores import summarise_attacks
    from rotelab.papers.onion.figures import VULNERABILITY

    rng = np.random.default_rng(0)
    member = rng.random(400) < 0.5
    scores = pd.concat(
        [
            pd.DataFrame(
                {
                    "attack": a,
                    "model": np.arange(400) % 8,
                    "example": np.arange(400) // 8,
                    "member": member,
                    "score": rng.normal(size=400) + shift * member,
                }
            )
            for a, shift in (("lira_online_fixed", 2.0), ("loss", 0.2))
        ],
        ignore_index=True,
    )
    (tmp_path / "full").mkdir()
    scores.to_parquet(tmp_path / "full" / "attack_scores.parquet")
    summarise_attacks(scores, 50, 0).to_parquet(tmp_path / "full" / "attacks.parquet")
    out = render(
        "lira_roc",
        {
            POOL_SCORES: [str(tmp_path / "full" / "attack_scores.parquet")],
            POOL_SUMMARY: [str(tmp_path / "full" / "attacks.parquet")],
        },
        str(tmp_path / "r.png"),
        str(tmp_path / "r.pdf"),
        str(tmp_path / "r.csv"),
    )
    curve = out[out["metric"] == "tpr"]
    assert set(curve["attack"]) == {"lira_online_fixed", "loss"} and curve["fpr"].between(1e-4, 1).all()
    strong, weak = (curve[curve["attack"] == a].set_index("fpr")["value"] for a in ("lira_online_fixed", "loss"))
    assert (strong >= weak - 0.05).all() and strong.iloc[-1] == 1.0
    assert out.loc[out["metric"] == "auc", "value"].between(0.5, 1).all()

    # onion: example ids 0-9; 0-2 vulnerable in full; after targeted removal 3-4 become vulnerable
    vulnerable = {"full": {0, 1, 2}, "targeted1": {3, 4}, "random1": {0, 3}}
    pools = {"full": range(10), "targeted1": range(3, 10), "random1": [0, 1, 3, 4, 5, 6, 7, 8]}
    paths = []
    for pool, examples in pools.items():
        (tmp_path / pool).mkdir(exist_ok=True)
        path = tmp_path / pool / "vulnerability.parquet"
        pd.DataFrame({"example": list(examples), "vulnerable": [e in vulnerable[pool] for e in examples]}).to_parquet(
            path
        )
        paths.append(str(path))
    out = render(
        "onion_effect",
        {VULNERABILITY: paths},
        str(tmp_path / "o.png"),
        str(tmp_path / "o.pdf"),
        str(tmp_path / "o.csv"),
    ).set_index(["measure", "arm", "layer"])
    assert out.loc[("vulnerable", "targeted", 0), "count"] == 3 and out.loc[("vulnerable", "random", 0), "count"] == 3
    assert out.loc[("newly_vulnerable", "targeted", 1), "value"] == pytest.approx(2 / 7)
    assert out.loc[("newly_vulnerable", "random", 1), "value"] == pytest.approx(1 / 6)
    assert (out["ci_low"] <= out["value"] + 1e-9).all() and (out["value"] <= out["ci_high"] + 1e-9).all()


def test_seqkd_subgroup_figure_renders_every_group(tmp_path):
    from rotelab.papers.seqkd.extension_figures import SUBGROUP_RATES
    from rotelab.papers.seqkd.subgroups import assign_groups, subgroup_rates

    rng = np.random.default_rng(0)
    ids = np.arange(300)
    cm = rng.uniform(-0.1, 0.8, 300)
    groups = assign_groups(
        pd.DataFrame({"pair_id": ids}),
        pd.DataFrame({"example": ids, "cm_probability": cm}),
        pd.DataFrame({"pair_id": ids, "confidence": rng.uniform(size=300)}),
    )
    # Replication rises with CM for every model, as P3 finds.
    examples = pd.concat(
        [
            pd.DataFrame(
                {
                    "model": m,
                    "pair_id": ids,
                    "reference_kind": "corpus",
                    "replicated": rng.uniform(size=300) < cm * scale,
                    "exmem": cm > 0.7,
                }
            )
            for m, scale in (("teacher", 1.2), ("student", 0.8), ("baseline", 0.6))
        ]
    )
    path = tmp_path / "rates.parquet"
    subgroup_rates(examples, groups).to_parquet(path)
    out = render(
        "seqkd_cm_subgroups",
        {SUBGROUP_RATES: [str(path)]},
        str(tmp_path / "f.png"),
        str(tmp_path / "f.pdf"),
        str(tmp_path / "f.csv"),
    )
    assert (tmp_path / "f.png").stat().st_size > 1000
    teacher = out[(out.model == "teacher") & (out.metric == "replication") & (out.grouping == "cm")].set_index("group")
    assert teacher.loc[">=0.4", "value"] > teacher.loc["<0.2", "value"]
    assert teacher["n"].sum() == 300


def test_seqkd_adaptive_figure_compares_each_student_with_s(tmp_path):
    from rotelab.papers.seqkd.extension_figures import ADAPTIVE_SUBSETS, STUDENT_SCORES

    inputs = {}
    for pattern, (model, exmem) in zip(STUDENT_SCORES, [("student", 40), ("student_hq", 30), ("student_random", 40)]):
        rows = [
            {"model": model, "metric": metric, "value": k / n, "n": n, "ci_low": 0.0, "ci_high": 1.0}
            for metric, k, n in [
                ("replication", 100, 1000),
                ("exmem", exmem, 100),
                ("osc_hallucination", 10, 1000),
                ("nat_hallucination", 0, 1000),
                ("bleu", 20, 100),
                ("chrf", 45, 100),
            ]
        ]
        path = tmp_path / f"{model}.parquet"
        pd.DataFrame(rows).to_parquet(path)
        inputs[pattern] = [str(path)]
    subsets = pd.DataFrame({"subset": ["hq"] * 5 + ["random"] * 5, "pair_id": range(10)})
    subsets.to_parquet(tmp_path / "subsets.parquet")
    inputs[ADAPTIVE_SUBSETS] = [str(tmp_path / "subsets.parquet")]
    out = render("seqkd_adaptive", inputs, str(tmp_path / "f.png"), str(tmp_path / "f.pdf"), str(tmp_path / "f.csv"))
    rel = out.set_index(["model", "metric"])["value"]
    assert rel["student_hq_vs_student", "exmem"] == pytest.approx(-25.0)
    assert rel["student_random_vs_student", "exmem"] == pytest.approx(0.0)
    assert np.isnan(rel["student_hq_vs_student", "nat_hallucination"])  # 0 of 1000 against 0 of 1000
    assert rel["teacher_hq", "finetuning_pairs"] == 5


def test_acil_figures_render_from_phase_tables(tmp_path):
    from rotelab.papers.acil.analytic import SGDHeadConfig, run_phases
    from rotelab.papers.acil.figures import PHASE_TABLE

    rng = np.random.default_rng(0)
    X = np.abs(rng.normal(size=(200, 20)))
    y = np.repeat(np.arange(4), 50)
    paths = []
    for k in (2, 3):
        path = tmp_path / f"phases_{k}.parquet"
        pd.DataFrame(run_phases(X[::2], y[::2], X[1::2], y[1::2], 2, k, 1.0, SGDHeadConfig(epochs=2), 0)).to_parquet(
            path
        )
        paths.append(str(path))
    out = render(
        "acil_equivalence",
        {PHASE_TABLE: paths},
        str(tmp_path / "e.png"),
        str(tmp_path / "e.pdf"),
        str(tmp_path / "e.csv"),
    )
    assert len(out) == (2 + 1) + (3 + 1) and (out["value"] < 1e-9).all()
    out = render(
        "acil_accuracy",
        {PHASE_TABLE: paths},
        str(tmp_path / "a.png"),
        str(tmp_path / "a.pdf"),
        str(tmp_path / "a.csv"),
    )
    assert set(out["method"]) == {"acil", "joint", "sgd"} and len(out) == 3 * 7
    assert ((out["ci_low"] <= out["value"]) & (out["value"] <= out["ci_high"])).all()
    assert (tmp_path / "a.png").stat().st_size > 1000


def test_relu_capacity_figure_fits_each_depths_exponent(tmp_path):
    from rotelab.papers.relu_capacity.figures import CAPACITY_TABLE

    paths = []
    for depth, exponent in ((1, 1.0), (2, 0.5)):
        for n in (16, 32, 64, 128):
            path = tmp_path / f"depth{depth}_n{n}.parquet"
            widths = [round(0.5 * n**exponent * f) for f in (0.9, 1.1)]
            pd.DataFrame({"n": n, "depth": depth, "seed": [0, 1], "width": widths, "fitted": True}).to_parquet(path)
            paths.append(str(path))
    out = render(
        "relu_capacity",
        {CAPACITY_TABLE: paths},
        str(tmp_path / "c.png"),
        str(tmp_path / "c.pdf"),
        str(tmp_path / "c.csv"),
    )
    fits = out[out.metric == "exponent"].set_index("depth")
    assert fits.loc[1, "value"] == pytest.approx(1.0, abs=0.1) and fits.loc[2, "value"] == pytest.approx(0.5, abs=0.1)
    assert (fits["ci_low"] <= fits["value"]).all() and (fits["value"] <= fits["ci_high"]).all()
    assert (tmp_path / "c.png").stat().st_size > 1000


def test_dsm_figures_render_from_run_tables(tmp_path):
    from rotelab.papers.dsm.figures import DIFFUSION_METRICS, EXCESS_RISK, SCORE_CURVES

    curves, risks, metrics = [], [], []
    grid = np.linspace(-3, 3, 50)
    for lr, floor in ((0.5, 0.8), (0.1, 0.05)):
        run = tmp_path / f"t0.2_lr{lr:g}"
        run.mkdir()
        pd.DataFrame(
            {
                "t": 0.2,
                "lr": lr,
                "seed": 0,
                "kind": "curve",
                "y": grid,
                "learned": -grid,
                "optimal": -grid * (1 + floor),
            }
        ).to_parquet(run / "scores.parquet")
        pd.DataFrame(
            {"t": 0.2, "lr": lr, "steps": 100, "seed": [0, 1, 2], "excess_risk": [floor * 0.9, floor * 1.1, np.inf]}
        ).to_parquet(run / "risk.parquet")
        pd.DataFrame(
            {
                "lr": lr,
                "steps": 100,
                "sample_seed": [0, 0],
                "sampler": ["network", "optimal"],
                "finite": True,
                "mmd_train": [floor / 10, 0.01],
                "mmd_gaussian": [0.02, 0.05],
                "nearest_median": [floor, 0.2],
            }
        ).to_parquet(tmp_path / f"lr{lr:g}.parquet")
        curves.append(str(run / "scores.parquet"))
        risks.append(str(run / "risk.parquet"))
        metrics.append(str(tmp_path / f"lr{lr:g}.parquet"))
    out = render(
        "dsm_excess_risk",
        {EXCESS_RISK: risks},
        str(tmp_path / "r.png"),
        str(tmp_path / "r.pdf"),
        str(tmp_path / "r.csv"),
    ).set_index("lr")
    # The diverged seed is counted, not averaged in.
    assert out.loc[0.5, "value"] == pytest.approx(0.8) and (out["diverged"] == 1).all() and (out["n"] == 2).all()
    gaps = render(
        "dsm_scores", {SCORE_CURVES: curves}, str(tmp_path / "s.png"), str(tmp_path / "s.pdf"), str(tmp_path / "s.csv")
    ).set_index("lr")["value"]
    assert gaps[0.5] > gaps[0.1] > 0
    mmd = render(
        "dsm_mmd",
        {DIFFUSION_METRICS: metrics},
        str(tmp_path / "m.png"),
        str(tmp_path / "m.pdf"),
        str(tmp_path / "m.csv"),
    )
    network = mmd[(mmd.sampler == "network") & (mmd.metric == "mmd_train")].set_index("lr")["value"]
    assert network[0.5] == pytest.approx(0.08) and network[0.1] == pytest.approx(0.005)
    assert (tmp_path / "m.png").stat().st_size > 1000


def test_every_figure_names_the_settings_its_caption_shows():
    """Each figure declares the config keys its numbers depend on; they exist in the schema
    (with defaults filled in), and the report caption shows their values: the route from
    scoring.min_k_fraction in config.yaml to canary_mia's caption."""
    import yaml
    from conftest import REPO

    from rotelab.pipeline.config import validate_config

    config = yaml.safe_load((REPO / "config.yaml").read_text())
    validate_config(config, REPO / "config.schema.yaml")
    for name in figures.names():
        values = figures.get(name).setting_values(config)
        assert values, f"{name} declares no settings"
    assert figures.get("canary_mia").setting_values(config)["scoring.min_k_fraction"] == 0.2
    # Only the figures whose numbers use min-k% show it (the SLURM test reruns exactly those).
    assert [n for n in figures.names() if "scoring.min_k_fraction" in figures.get(n).settings] == ["canary_mia"]
    caption = (REPO / "report" / "figure.rst").read_text()
    assert "snakemake.params.settings" in caption and "snakemake.config" not in caption


def test_grouped_bars_centre_each_series_on_its_group():
    from rotelab.figures.plots import grouped_bars

    table = pd.DataFrame(
        {
            "side": ["a", "a", "b", "b", "c"],
            "metric": ["x", "y", "x", "y", "x"],  # c has no y: its bar is missing, not shifted
            "value": [1.0, 2.0, 3.0, 4.0, 5.0],
            "ci_low": [0.5, 1.5, 2.5, 3.5, 4.0],
            "ci_high": [1.5, 2.5, 3.5, 4.5, 7.0],
        }
    )
    fig, ax = plt.subplots()
    x = grouped_bars(ax, table, "side", ["a", "b", "c"], "metric", ["x", "y"], labels={"a": "A"})
    bars = ax.patches
    assert list(x) == [0, 1] and len(bars) == 6
    width = 0.8 / 3
    centres = [bar.get_x() + bar.get_width() / 2 for bar in bars]
    assert centres == pytest.approx([-width, 1 - width, 0, 1, width, 1 + width])
    heights = [bar.get_height() for bar in bars]
    assert heights[:5] == [1.0, 2.0, 3.0, 4.0, 5.0] and np.isnan(heights[5])
    assert [t.get_text() for t in ax.legend().get_texts()] == ["A", "b", "c"]
    plt.close(fig)
