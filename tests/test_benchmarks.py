"""Job time per rule and rule family from Snakemake benchmark files (rotelab.pipeline.benchmarks),
and every rule's log and benchmark directives."""

import re

import pandas as pd
import pytest
from conftest import REPO

from rotelab.pipeline.benchmarks import (
    family_papers,
    family_table,
    main,
    markdown,
    read_benchmarks,
    rule_families,
    rule_table,
)

HEADER = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"


def bench(root, path, s, max_rss="NA", cpu_time="NA"):
    """A benchmark file as Snakemake writes it: NA where no sample was taken."""
    file = root / path
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text(HEADER + f"{s}\t0:00:00\t{max_rss}\t900.0\t-\t-\t1.0\t2.0\t90.0\t{cpu_time}\n")


@pytest.fixture
def run(tmp_path):
    """Six jobs of four rules from three rules files, and one of a rule no file defines."""
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "lm_finetune.smk").write_text(
        "rule finetune_lm:\n    output: 'a'\n\n\nrule score_lm_extraction:\n    output: 'b'\n"
    )
    (rules / "translation_train.smk").write_text("if X:\n\n    rule train_model:\n        output: 'c'\n")
    (rules / "plots.smk").write_text("rule figure:\n    output: 'd'\n")
    root = tmp_path / "benchmarks"
    bench(root, "finetune_lm/central-full.tsv", 60.0, 800.5, 58.0)
    bench(root, "finetune_lm/fedavg-lora4.tsv", 40.0, 900.0, 35.5)
    bench(root, "score_lm_extraction/central-full.tsv", 10.0, 300.0, 9.0)
    bench(root, "train_model/teacher.tsv", 80.0, 1200.0, 79.0)
    bench(root, "figure/lora_rank.tsv", 0.4)  # faster than the first sample: NA
    bench(root, "figure/lira_roc.tsv", 5.6, 200.0, 5.0)
    bench(root, "old_rule/old_rule.tsv", 4.0, 100.0, 4.0)
    return root, rules


def test_benchmark_files_are_read_per_job(run):
    root, _ = run
    frame = read_benchmarks(root)
    assert len(frame) == 7
    row = frame.set_index(["rule", "job"]).loc[("finetune_lm", "central-full")]
    assert (row["s"], row["max_rss"], row["cpu_time"]) == (60.0, 800.5, 58.0)
    unsampled = frame.set_index(["rule", "job"]).loc[("figure", "lora_rank")]
    assert unsampled["s"] == 0.4 and pd.isna(unsampled["max_rss"]) and pd.isna(unsampled["cpu_time"])
    assert read_benchmarks(root.parent / "nothing").empty


def test_job_time_per_rule(run):
    root, rules = run
    families = rule_families(rules)
    assert families == {
        "finetune_lm": "lm_finetune",
        "score_lm_extraction": "lm_finetune",
        "train_model": "translation_train",
        "figure": "plots",
    }
    table = rule_table(read_benchmarks(root), families).set_index("rule")
    # longest total job time first
    assert table.index.tolist() == ["finetune_lm", "train_model", "score_lm_extraction", "figure", "old_rule"]
    assert table.loc["finetune_lm"].to_dict() == {
        "family": "lm_finetune",
        "papers": "lora_fl privacy_audit",
        "jobs": 2,
        "job_s": 100.0,
        "max_job_s": 60.0,
        "cpu_s": 93.5,
        "max_rss_mb": 900.0,
        "share": pytest.approx(100 / 200),
    }
    # an unsampled job counts in the seconds, not in CPU or memory
    figure = table.loc["figure"]
    assert (figure["jobs"], figure["job_s"], figure["max_job_s"]) == (2, 6.0, 5.6)
    assert (figure["cpu_s"], figure["max_rss_mb"], figure["papers"]) == (5.0, 200.0, "")
    assert table.loc["train_model", "papers"] == "seqkd"
    assert table.loc["old_rule", "family"] == ""  # no rules file defines it any more
    assert table["share"].sum() == pytest.approx(1.0)
    assert table.loc["score_lm_extraction", "share"] == pytest.approx(10 / 200)


def test_job_time_per_family(run):
    root, rules = run
    table = family_table(rule_table(read_benchmarks(root), rule_families(rules))).set_index("family")
    assert table.index.tolist() == ["lm_finetune", "translation_train", "plots", ""]
    assert table.loc["lm_finetune"].to_dict() == {
        "papers": "lora_fl privacy_audit",
        "rules": 2,
        "jobs": 3,
        "job_s": 110.0,
        "max_job_s": 60.0,
        "cpu_s": 102.5,
        "max_rss_mb": 900.0,
        "share": pytest.approx(110 / 200),
    }
    assert table["jobs"].sum() == 7 and table["job_s"].sum() == pytest.approx(200.0)


def test_papers_of_a_family_come_from_the_papers_map():
    assert family_papers("membership") == "onion lira rmia"
    assert family_papers("translation_score") == "seqkd secret_sharer"
    assert family_papers("plots") == ""


def test_markdown_and_csv_on_the_command_line(run, capsys):
    root, rules = run
    main([str(root), "--rules", str(rules), "--by", "family", "--markdown"])
    text = capsys.readouterr().out
    assert text.splitlines()[0].startswith("| family | papers | rules | jobs | job s |")
    assert "| `lm_finetune` | lora_fl privacy_audit | 2 | 3 | 110.0 | 60.0 | 102.5 | 900 | 55.0% |" in text
    assert "| (none) |  | 1 | 1 | 4.0 |" in text
    assert text.rstrip().endswith("7 jobs, 200.0 s of job time (summed over jobs, not wall time).")
    main([str(root), "--rules", str(rules)])
    csv = capsys.readouterr().out
    assert csv.splitlines()[0] == "rule,family,papers,jobs,job_s,max_job_s,cpu_s,max_rss_mb,share"
    assert csv.splitlines()[1] == "finetune_lm,lm_finetune,lora_fl privacy_audit,2,100.0,60.0,93.5,900.0,0.5"
    assert "figure,plots,,2,6.0,5.6,5.0,200.0,0.03" in csv
    with pytest.raises(SystemExit):
        main([str(root.parent / "nothing"), "--rules", str(rules)])


def test_no_benchmarks_make_empty_tables(tmp_path):
    rules = rule_table(read_benchmarks(tmp_path), {})
    assert rules.empty and family_table(rules).empty
    assert "0 jobs, 0.0 s of job time" in markdown(family_table(rules))


RULE = re.compile(r"^[ \t]*rule\b(?:[ \t]+(\w+))?[ \t]*:", re.M)
ACTION = re.compile(r"^\s+(?:script|shell|run|wrapper|notebook|cwl):", re.M)


def directive(block: str, name: str) -> str | None:
    """The one path a rule's ``log:`` or ``benchmark:`` names, as written (f-strings too)."""
    found = re.search(rf"^\s+{name}:\s*\n\s+(f?\"[^\"]*\")", block, re.M)
    return found and found.group(1)


def test_every_rule_has_a_log_and_a_benchmark_per_job():
    """Each rule with a job (every rule but the per-paper targets) logs under results/logs/ and
    writes its benchmark to results/benchmarks/<rule>/, both with the rule's wildcards, so that
    every job has its own files."""
    checked, targets = [], []
    for path in sorted((REPO / "rules").glob("*.smk")):
        text = path.read_text()
        headers = list(RULE.finditer(text))
        for header, after in zip(headers, [*headers[1:], None]):
            block = text[header.end() : after.start() if after else len(text)]
            if not ACTION.search(block):
                targets.append(path.name)
                continue
            rule = header.group(1)
            log, benchmark = directive(block, "log"), directive(block, "benchmark")
            assert log and log.lstrip("f").startswith('"results/logs/'), (path.name, rule)
            assert benchmark, f"{path.name}: rule {rule} has no benchmark"
            assert benchmark.lstrip("f").startswith(f'"results/benchmarks/{rule}/') and benchmark.endswith('.tsv"')
            assert re.findall(r"{[^}]*}", benchmark) == re.findall(r"{[^}]*}", log), (path.name, rule)
            checked.append(rule)
    # the per-paper target rules (rules/plots.smk), whose jobs run nothing
    assert targets == ["plots.smk"]
    assert len(checked) == len(set(checked)) == 55
    assert set(checked) == set(rule_families(REPO / "rules"))
