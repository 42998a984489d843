"""Make this checkout's library importable by every job of the workflow."""

from __future__ import annotations

import os


def export_library_path(src: str) -> None:
    """Put ``src`` on PYTHONPATH so that job scripts find ``rotelab`` whichever Python runs
    them (the venv, a ``--sdm conda`` environment, a SLURM job); the envs/ then need
    third-party packages only."""
    parts = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    if src not in parts:
        os.environ["PYTHONPATH"] = os.pathsep.join([src, *parts])


def host_has_gpus() -> bool:
    """Whether this host has NVIDIA devices (a cheap check: no CUDA initialisation, no
    torch import while the workflow is planned)."""
    import glob

    return bool(glob.glob("/dev/nvidia[0-9]*"))
