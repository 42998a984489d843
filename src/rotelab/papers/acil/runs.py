"""P7's runs: one per phase count K, named K (``results/acil/phases_<K>.parquet``, the rules'
wildcard {phases} and ``figures.PHASE_TABLE``). Imports nothing."""

from __future__ import annotations


def run_names(cfg: dict) -> list[str]:
    """Every run of the ``acil`` config section, one per phase count."""
    return [str(phases) for phases in cfg["phases"]]
