"""Figures render from hand-built score tables, including degenerate ones."""

import numpy as np
import pandas as pd
import pytest

from rotelab.figures import MODELS, figures, render

PATTERN = "results/scores/{model}/translation.parquet"


def write_scores(tmp_path, exmem_n: int):
    paths = []
    for model in MODELS:
        rows = [
            {"model": model, "metric": metric, "value": value, "n": n, "ci_low": value / 2, "ci_high": value * 1.5}
            for metric, value, n in [
                ("bleu", 20.0, 100), ("chrf", 40.0, 100), ("replication", 0.2, 1000),
                ("exmem", 0.1 if exmem_n else np.nan, exmem_n), ("exmem_secondary", 0.05, 50),
                ("osc_hallucination", 0.01, 1000), ("nat_hallucination", 0.02, 1000),
            ]
        ]
        path = tmp_path / f"{model}.parquet"
        pd.DataFrame(rows).to_parquet(path)
        paths.append(str(path))
    return {PATTERN: paths}


@pytest.mark.parametrize("exmem_n", [0, 200], ids=["nothing-replicates", "some-exmem"])
def test_seqkd_memorization_renders_with_relative_change(tmp_path, exmem_n):
    out = render("seqkd_memorization", write_scores(tmp_path, exmem_n), str(tmp_path / "f.png"),
                 str(tmp_path / "f.pdf"), str(tmp_path / "f.csv"))
    assert (tmp_path / "f.png").stat().st_size > 1000 and (tmp_path / "f.pdf").exists()
    rel = out[out.model == "student_vs_baseline"].set_index("metric")
    assert rel.loc["replication", "value"] == pytest.approx(0.0)  # equal rates -> 0%
    assert np.isnan(rel.loc["exmem", "value"]) == (exmem_n == 0)
    assert list(pd.read_csv(tmp_path / "f.csv").columns) == ["figure", "model", "metric", "value", "n", "ci_low", "ci_high"]


def test_every_figure_declares_inputs_and_a_caption():
    for name in figures.names():
        fig = figures.get(name)
        assert fig.caption and fig.inputs
        assert all(len(paths) in (1, len(MODELS)) for paths in fig.input_files().values())
