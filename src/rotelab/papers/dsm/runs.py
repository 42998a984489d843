"""P2's runs, named as the rules' outputs and the figures' inputs spell them
(``rules/dsm.smk``, ``figures.SCORE_CURVES`` and ``figures.DIFFUSION_METRICS``): a 1-D score
network per (diffusion time, learning rate), a 2-D diffusion network per learning rate. Values
are written with ``:g`` (0.5, 1e-05). Imports nothing, so the workflow reads it without torch."""

from __future__ import annotations

RUN = "t{t}_lr{lr}"  # the rules' wildcards {t} and {lr}
DIFFUSION_RUN = "lr{lr}"


def run_name(t: float, lr: float) -> str:
    return RUN.format(t=f"{t:g}", lr=f"{lr:g}")


def diffusion_run_name(lr: float) -> str:
    return DIFFUSION_RUN.format(lr=f"{lr:g}")


def run_names(cfg: dict) -> list[str]:
    """Every score-network run of the ``dsm`` config section: each time with each rate."""
    return [run_name(t, lr) for t in cfg["times"] for lr in cfg["learning_rates"]]


def diffusion_run_names(cfg: dict) -> list[str]:
    """Every diffusion run of the ``dsm`` config section, one per dsm.diffusion learning rate."""
    return [diffusion_run_name(lr) for lr in cfg["diffusion"]["learning_rates"]]
