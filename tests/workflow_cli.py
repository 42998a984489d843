"""Snakemake on the command line, as the end-to-end tests run it: the tiny config plus
overlays, in a working directory of the test's own."""

import os
import re
import subprocess
import sys
from pathlib import Path

from conftest import REPO

TINY = REPO / "configs" / "tiny.yaml"


def snakemake(workdir: Path, *args: str, overlays=(), check=True) -> subprocess.CompletedProcess:
    cmd = [
        sys.executable,
        "-m",
        "snakemake",
        "-s",
        str(REPO / "Snakefile"),
        "--directory",
        str(workdir),
        "--configfile",
        str(TINY),
        *map(str, overlays),
        *args,
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=workdir)
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(args)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}")
    return proc


def planned_jobs(workdir: Path, overlays=(), targets=()) -> dict[str, int]:
    """Rule -> job count of a dry run (empty when there is nothing to do)."""
    out = snakemake(workdir, "-n", *targets, overlays=overlays)
    text = out.stdout + out.stderr
    if "Nothing to be done" in text:
        return {}
    table = text.split("Job stats:", 1)[1].split("total", 1)[0]
    return {m[0]: int(m[1]) for m in re.findall(r"^(\w+)\s+(\d+)\s*$", table, flags=re.M)}
