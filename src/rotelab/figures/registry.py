"""Figure registry: each figure turns score tables into a PNG/PDF and a tidy CSV.

A figure declares the score files it reads (patterns over ``{model}``), a caption for the
report (what it reproduces and the paper's headline beside ours), the claims of its paper
it checks, and a function that returns the tidy table and draws from it. Adding a figure
is one decorated function in its paper's package; :mod:`rotelab.figures.catalog` lists the
packages whose figures register. This module imports no figure.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from rotelab.core.io import atomic_path, write_csv  # noqa: E402
from rotelab.core.registry import Registry  # noqa: E402
from rotelab.reproduction.verdicts import Claim  # noqa: E402

figures: Registry = Registry("figure")

MODELS = ("teacher", "student", "baseline")


@dataclass(frozen=True)
class Figure:
    inputs: tuple[str, ...]  # patterns; {model} expands over MODELS, {run} over a run family
    caption: str
    make: Callable[[dict[str, list[str]]], tuple[pd.DataFrame, plt.Figure]]
    runs: str | None = None  # the causal-LM run family (rotelab.papers.lora_fl.runs) that {run} expands over
    paper: str = ""  # the paper family it belongs to (a short name of rotelab.papers)
    claims: tuple[Claim, ...] = ()  # what its paper says this figure should show
    settings: tuple[str, ...] = ()  # dotted config keys its numbers depend on; its caption shows their values

    def setting_values(self, config: dict) -> dict:
        """``settings`` with their values in ``config``, for the report's caption."""
        values = {}
        for key in self.settings:
            node = config
            for part in key.split("."):
                node = node[part]
            values[key] = node
        return values

    def input_files(self, run_families: dict[str, list[str]] | None = None) -> dict[str, list[str]]:
        """Input paths per pattern; ``run_families`` maps a family to its run names."""
        runs = (run_families or {}).get(self.runs, []) if self.runs else []

        def expand(pattern):
            if "{model}" in pattern:
                return [pattern.format(model=m) for m in MODELS]
            if "{run}" in pattern:
                return [pattern.format(run=r) for r in runs]
            return [pattern]

        return {pattern: expand(pattern) for pattern in self.inputs}


def figure(
    name: str,
    inputs: tuple[str, ...],
    caption: str,
    runs: str | None = None,
    paper: str = "",
    claims: tuple[Claim, ...] = (),
    settings: tuple[str, ...] = (),
):
    def decorator(fn):
        figures.register(name)(
            Figure(
                inputs,
                caption,
                fn,
                runs,
                paper,
                tuple(replace(claim, figure=name) for claim in claims),
                tuple(settings),
            )
        )
        return fn

    return decorator


def render(name: str, inputs: dict[str, list[str]], png: str, pdf: str, csv: str) -> pd.DataFrame:
    table, fig = figures.get(name).make(inputs)
    table.insert(0, "figure", name)
    write_csv(table, csv)
    for path in (png, pdf):
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format=path.rsplit(".", 1)[1], dpi=150, bbox_inches="tight")
    plt.close(fig)
    return table
