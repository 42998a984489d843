"""The tiny workflow's SeqKD chain submitted to a real SLURM cluster through profiles/slurm,
then a parameter change rerun through SLURM: only the affected jobs are submitted again.
The chain is data, tokenizer, canaries, teacher, KD corpus, student and baseline, their
translations and scores, and two figures (25 jobs). The other families go through the same
executor; the tiny workflow test runs them all, so this one stays short."""

import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO
from slurm_cluster import SYSTEM_CONF, Cluster, unavailable_reason

pytestmark = [pytest.mark.e2e, pytest.mark.skipif(unavailable_reason() is not None, reason=unavailable_reason() or "")]

SUBMITTED = re.compile(r"Job (\d+) has been submitted with SLURM jobid (\d+)")
FIGURES = ("seqkd_quality", "canary_mia")
TARGETS = [f"results/figures/{fig}.png" for fig in FIGURES]


def submit(workdir: Path, env: dict, *extra: str) -> tuple[list[tuple[str, str]], str]:
    """Run the tiny workflow through the SLURM profile; (rule, SLURM job id) per submitted job."""
    cmd = [
        "timeout",
        "-k",
        "10",
        "1500",
        sys.executable,
        "-m",
        "snakemake",
        "-s",
        str(REPO / "Snakefile"),
        "--workflow-profile",
        str(REPO / "profiles" / "slurm"),
        "--directory",
        str(workdir),
        *TARGETS,
        "--configfile",
        str(REPO / "configs" / "tiny.yaml"),
        *extra,
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=workdir, env={**env, "OMP_NUM_THREADS": "1"})
    text = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"snakemake through SLURM failed:\n{text[-6000:]}"
    # Snakemake prints "rule NAME:" blocks, each followed by its "jobid: N" and, once
    # submitted, "Job N has been submitted with SLURM jobid M".
    rule_of = {}
    for block in re.split(r"\n(?=(?:local)?rule \w+:)", text):
        name = re.match(r"(?:local)?rule (\w+):", block)
        job = re.search(r"jobid: (\d+)", block)
        if name and job:
            rule_of[job.group(1)] = name.group(1)
    return [(rule_of.get(job, "?"), slurm) for job, slurm in SUBMITTED.findall(text)], text


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    with Cluster(tmp_path_factory.mktemp("slurm")) as env:
        yield env
    assert not SYSTEM_CONF.exists(), "the test cluster's config was left at the system path"


def test_tiny_workflow_runs_as_slurm_jobs_and_reruns_only_what_changed(cluster, tmp_path):
    jobs, text = submit(tmp_path, cluster)
    rules = [rule for rule, _ in jobs]
    assert rules.count("train_model") == 3 and "distill_corpus" in rules and rules.count("figure") == 2
    slurm_ids = [int(s) for _, s in jobs]
    assert len(set(slurm_ids)) == len(jobs) == 25  # every job its own SLURM job
    for fig in FIGURES:
        assert (tmp_path / f"results/figures/{fig}.png").stat().st_size > 1000
    # Each job's SLURM log names its job id: the work really ran inside SLURM jobs.
    logs = list((tmp_path / ".snakemake" / "slurm_logs").rglob("*.log"))
    assert {int(p.stem) for p in logs} >= set(slurm_ids)
    train_log = next(p for p in logs if "train_model" in str(p)).read_text()
    assert "SLURM" in train_log or "slurm" in train_log

    models = {p: p.stat().st_mtime_ns for p in (tmp_path / "results" / "models").rglob("*") if p.is_file()}
    changed = tmp_path / "min_k.yaml"
    changed.write_text("scoring:\n  min_k_fraction: 0.3\n")
    rerun, _ = submit(tmp_path, cluster, "--configfile", str(REPO / "configs" / "tiny.yaml"), str(changed))
    assert sorted(rule for rule, _ in rerun) == ["figure", "score_membership", "score_membership", "score_membership"]
    assert min(int(s) for _, s in rerun) > max(slurm_ids)  # new SLURM jobs, not replays
    assert {p: p.stat().st_mtime_ns for p in models} == models
