"""Plot helpers the figures of several papers share: score tables read back, error bars,
rate ratios and the teacher/student/baseline bar panels."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from rotelab.core.io import read_parquet  # noqa: E402
from rotelab.core.stats import relative_change  # noqa: E402
from rotelab.figures.registry import MODELS  # noqa: E402

MODEL_LABELS = {"teacher": "T (teacher)", "student": "S (SeqKD student)", "baseline": "B (baseline)"}
COLORS = {"teacher": "#1b9e77", "student": "#d95f02", "baseline": "#7570b3"}


def concat(paths: list[str]) -> pd.DataFrame:
    return pd.concat([read_parquet(p) for p in paths], ignore_index=True)


def yerr(rows: pd.DataFrame) -> np.ndarray:
    """Error-bar half-widths; a percentile interval need not contain the point estimate,
    and Wilson bounds at 0 or 1 carry float noise, so clip at zero."""
    err = np.vstack([rows["value"] - rows["ci_low"], rows["ci_high"] - rows["value"]])
    return np.clip(np.nan_to_num(err.astype(float)), 0, None)


def rate_ratio_row(table: pd.DataFrame, model: str, reference: str, metric: str) -> dict | None:
    """``model``'s rate relative to ``reference``'s in percent (Katz interval), from the
    (value, n) rows of a score table; None when either row is missing."""
    rows = [table[(table["model"] == m) & (table["metric"] == metric)] for m in (model, reference)]
    if not all(len(r) for r in rows):
        return None
    # A rate over n = 0 pairs is NaN (e.g. ExMem when nothing replicates): count 0.
    counts = [
        (int(round(np.nan_to_num(float(r["value"].iloc[0])) * int(r["n"].iloc[0]))), int(r["n"].iloc[0])) for r in rows
    ]
    return {"model": f"{model}_vs_{reference}", "metric": metric, **relative_change(*counts[0], *counts[1])}


def grouped_bars(
    ax, table: pd.DataFrame, series_column: str, series, x_column: str, categories, colors=None, labels=None, capsize=3
):
    """Bars with 95% error bars: a group per category of ``x_column`` along x, within it a bar
    per value of ``series_column`` (in ``series`` order, centred on the group). Returns the
    groups' x positions."""
    width = 0.8 / len(series)
    x = np.arange(len(categories))
    for j, name in enumerate(series):
        rows = table[table[series_column] == name].set_index(x_column).reindex(categories)
        ax.bar(
            x + (j - (len(series) - 1) / 2) * width,
            rows["value"],
            width,
            yerr=yerr(rows),
            capsize=capsize,
            color=(colors or {}).get(name),
            label=(labels or {}).get(name, name),
        )
    return x


def bar_panel(ax, table: pd.DataFrame, metrics: list[str], title: str):
    """Teacher, student and baseline side by side for each metric."""
    x = grouped_bars(ax, table, "model", MODELS, "metric", metrics, COLORS, MODEL_LABELS)
    ax.set_xticks(x, metrics)
    ax.set_title(title)
