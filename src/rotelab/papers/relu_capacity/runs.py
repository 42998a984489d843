"""P6's runs: one per hidden-layer depth and dataset size N, named as the rules' outputs and
the figure's inputs spell them (``rules/relu_capacity.smk``, ``figures.CAPACITY_TABLE``).
Imports nothing, so the workflow reads it without loading torch."""

from __future__ import annotations

RUN = "depth{depth}_n{n}"  # the rules' wildcards {depth} and {n}


def run_name(depth: int, n: int) -> str:
    return RUN.format(depth=depth, n=n)


def run_names(cfg: dict) -> list[str]:
    """Every run of the ``relu_capacity`` config section: each depth with each size."""
    return [run_name(depth, n) for depth in cfg["depths"] for n in cfg["sizes"]]
