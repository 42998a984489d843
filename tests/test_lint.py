"""The workflow stays `snakemake --lint` and `snakefmt` clean, the Python `ruff` clean (check and format)."""

import subprocess
import sys
from pathlib import Path

from conftest import REPO


def test_snakemake_lint_is_clean():
    proc = subprocess.run([sys.executable, "-m", "snakemake", "--lint"], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Congratulations" in proc.stdout + proc.stderr


def test_snakefmt_is_clean():
    snakefmt = Path(sys.executable).with_name("snakefmt")
    proc = subprocess.run([str(snakefmt), "--check", "Snakefile", "rules"], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_ruff_check_and_format_are_clean():
    ruff = Path(sys.executable).with_name("ruff")
    paths = ["src", "tests", "bench", "workflow_scripts"]
    for args in (["check", *paths], ["format", "--check", *paths]):
        proc = subprocess.run([str(ruff), *args], cwd=REPO, capture_output=True, text=True)
        assert proc.returncode == 0, proc.stdout + proc.stderr
