"""A config whose sizes make some job ask for more memory than one job may have is rejected
before any job starts, naming the keys that job grows with (issue: a canary count whose
corpus could not fit in memory crashed after the compute before it was spent)."""

import pytest
from workflow_cli import snakemake

pytestmark = pytest.mark.e2e


def test_a_job_above_the_memory_limit_stops_the_run_before_any_job(tmp_path):
    overlay = tmp_path / "small_nodes.yaml"
    # Enough for every tiny job (at most 2.7 GB) but an LM reference ensemble of 64 models
    # (about 7.9 GB), which would run after its fine-tuning data and base were made.
    overlay.write_text("runtime:\n  max_mem_mb: 5000\nlm:\n  references:\n    models: 64\n")
    proc = snakemake(tmp_path, "--cores", "2", overlays=[overlay], check=False)
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "rule train_lm_references" in output
    assert "config key lm.references.models: this job would ask for" in output
    assert "more than the 5,000 MB of runtime.max_mem_mb" in output
    assert not (tmp_path / "results").exists()


def test_a_size_that_outgrows_this_machine_is_named_in_a_dry_run(tmp_path):
    overlay = tmp_path / "huge_ensemble.yaml"
    overlay.write_text("membership:\n  reference_models: 100000\n")
    proc = snakemake(tmp_path, "-n", overlays=[overlay], check=False)
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "rule train_reference_models" in output
    assert "config key membership.reference_models: this job would ask for" in output
    assert "this machine's memory (runtime.max_mem_mb unset)" in output
