"""Where a run's time goes: every job's Snakemake benchmark file, summed per rule and per rule
family.

Every rule of the workflow writes a benchmark (its ``benchmark:`` directive) to
``results/benchmarks/<rule>/<the job's wildcards>.tsv``: a header and one row with the job's
seconds from start to end ``s``, its peak resident memory ``max_rss`` (MB) and the CPU
seconds of its processes ``cpu_time``, among other columns. Snakemake samples memory and CPU
while the job runs; a job that ends before the first sample has ``NA`` there, and counts in
the seconds but not in the CPU or memory columns here.

A rule's family is the rules file that defines it (``rules/<family>.smk``); its papers are
those of the papers map whose rules files include that file (``rotelab.papers``), none for
shared stages such as the figures.

Job time is summed over jobs. Jobs run side by side, so it is not the run's wall time, which
no benchmark file records: a run whose jobs sum to two hours takes at least one on two cores.

    python -m rotelab.pipeline.benchmarks results/benchmarks > results/tables/job_times.csv
    python -m rotelab.pipeline.benchmarks results/benchmarks --by family --markdown
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import pandas as pd

from rotelab.papers import PAPERS

# The columns of a benchmark TSV this module reads (Snakemake writes more).
READ = ["s", "max_rss", "cpu_time"]
RULE_COLUMNS = ["rule", "family", "papers", "jobs", "job_s", "max_job_s", "cpu_s", "max_rss_mb", "share"]
FAMILY_COLUMNS = ["family", "papers", "rules", "jobs", "job_s", "max_job_s", "cpu_s", "max_rss_mb", "share"]
RULE_HEADER = re.compile(r"^\s*rule\s+([A-Za-z_]\w*)\s*:", re.M)


def read_benchmarks(root: str | Path) -> pd.DataFrame:
    """One row per row of every ``<root>/<rule>/**/*.tsv``: rule (the first directory under
    ``root``), job (the file's path under the rule's directory, without ``.tsv``) and the
    columns ``s``, ``max_rss`` and ``cpu_time`` (NaN where Snakemake wrote ``NA`` or ``-``)."""
    root = Path(root)
    frames = []
    for path in sorted(root.glob("*/**/*.tsv")):
        relative = path.relative_to(root)
        table = pd.read_csv(path, sep="\t", na_values=["NA", "-"], keep_default_na=False)
        missing = set(READ) - set(table.columns)
        if missing:
            raise ValueError(f"{path}: not a Snakemake benchmark file (no column {', '.join(sorted(missing))})")
        table = table[READ].apply(pd.to_numeric, errors="coerce")
        table.insert(0, "job", str(relative.relative_to(relative.parts[0]).with_suffix("")))
        table.insert(0, "rule", relative.parts[0])
        frames.append(table)
    if not frames:
        return pd.DataFrame({"rule": [], "job": [], **{column: pd.Series(dtype=float) for column in READ}})
    return pd.concat(frames, ignore_index=True)


def rule_families(rules_dir: str | Path) -> dict[str, str]:
    """Rule name -> the stem of the ``rules_dir/*.smk`` file that defines it (every branch of a
    conditional definition counts)."""
    families = {}
    for path in sorted(Path(rules_dir).glob("*.smk")):
        for name in RULE_HEADER.findall(path.read_text()):
            families[name] = path.stem
    return families


def family_papers(family: str) -> str:
    """The short names of the papers whose rules files include ``rules/<family>.smk``, in the
    papers map's order, space-separated; '' for none."""
    return " ".join(name for name, paper in PAPERS.items() if f"{family}.smk" in paper.rules)


def _summary(groups) -> pd.DataFrame:
    return groups.agg(
        jobs=("job", "nunique"),
        job_s=("s", "sum"),
        max_job_s=("s", "max"),
        cpu_s=("cpu_time", lambda v: v.sum(min_count=1)),
        max_rss_mb=("max_rss", "max"),
    )


def _finish(table: pd.DataFrame, columns: list[str], key: str) -> pd.DataFrame:
    total = table["job_s"].sum()
    table["share"] = table["job_s"] / total if total > 0 else 0.0
    table = table.sort_values(["job_s", key], ascending=[False, True], kind="stable")
    return table[columns].reset_index(drop=True)


def rule_table(benchmarks: pd.DataFrame, families: dict[str, str]) -> pd.DataFrame:
    """Per rule: its family ('' for a rule no rules file defines) and papers, the number of
    jobs (benchmark files), their summed and longest seconds, summed CPU seconds, the largest
    peak RSS in MB and the rule's share of all job seconds; longest total first."""
    if benchmarks.empty:
        return pd.DataFrame({column: [] for column in RULE_COLUMNS})
    table = _summary(benchmarks.groupby("rule")).reset_index()
    table["family"] = table["rule"].map(lambda rule: families.get(rule, ""))
    table["papers"] = table["family"].map(lambda family: family_papers(family) if family else "")
    return _finish(table, RULE_COLUMNS, "rule")


def family_table(rules: pd.DataFrame) -> pd.DataFrame:
    """:func:`rule_table`'s rows summed per family: its papers, the number of rules that ran,
    jobs, summed and longest job seconds, summed CPU seconds, largest peak RSS, share."""
    if rules.empty:
        return pd.DataFrame({column: [] for column in FAMILY_COLUMNS})
    table = (
        rules.groupby("family", dropna=False)
        .agg(
            papers=("papers", "first"),
            rules=("rule", "count"),
            jobs=("jobs", "sum"),
            job_s=("job_s", "sum"),
            max_job_s=("max_job_s", "max"),
            cpu_s=("cpu_s", lambda v: v.sum(min_count=1)),
            max_rss_mb=("max_rss_mb", "max"),
        )
        .reset_index()
    )
    return _finish(table, FAMILY_COLUMNS, "family")


def to_csv(table: pd.DataFrame) -> str:
    """A rule or family table as CSV: seconds to a hundredth, memory to a tenth of a MB, the
    share to four decimals."""
    digits = {"job_s": 2, "max_job_s": 2, "cpu_s": 2, "max_rss_mb": 1, "share": 4}
    return table.round(digits).to_csv(index=False)


def _number(value: float, digits: int) -> str:
    return "n/a" if pd.isna(value) else f"{value:,.{digits}f}"


def markdown(table: pd.DataFrame) -> str:
    """A rule or family table as Markdown (seconds to a tenth, memory in whole MB, the share in
    percent), with a closing line of the summed job time."""
    by_family = "rules" in table.columns
    head = ["family", "papers", "rules"] if by_family else ["rule", "family", "papers"]
    numbers = ["jobs", "job s", "longest job s", "CPU s", "peak RSS MB", "share"]
    lines = [
        "| " + " | ".join(head + numbers) + " |",
        "|" + "---|" * (2 if by_family else 3) + "---:|" * (len(numbers) + by_family),
    ]
    for row in table.itertuples(index=False):
        family = f"`{row.family}`" if row.family else "(none)"
        cells = [family, row.papers, str(row.rules)] if by_family else [f"`{row.rule}`", family, row.papers]
        cells += [
            str(row.jobs),
            _number(row.job_s, 1),
            _number(row.max_job_s, 1),
            _number(row.cpu_s, 1),
            _number(row.max_rss_mb, 0),
            f"{100 * row.share:.1f}%",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    jobs, seconds = int(table["jobs"].sum()), float(table["job_s"].sum())
    lines += ["", f"{jobs} jobs, {seconds:,.1f} s of job time (summed over jobs, not wall time)."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m rotelab.pipeline.benchmarks",
        description="Job time per rule or rule family from Snakemake benchmark files (CSV on stdout).",
    )
    parser.add_argument("benchmarks", nargs="?", default="results/benchmarks", help="the benchmark directory")
    parser.add_argument("--rules", default="rules", help="the rules directory that names each rule's family")
    parser.add_argument("--by", choices=["rule", "family"], default="rule", help="one row per rule or per family")
    parser.add_argument("--markdown", action="store_true", help="a Markdown table instead of CSV")
    args = parser.parse_args(argv)
    if not Path(args.benchmarks).is_dir():
        parser.error(f"no benchmark directory {args.benchmarks}")
    if not Path(args.rules).is_dir():
        parser.error(f"no rules directory {args.rules} (run from the repository root, or pass --rules)")
    table = rule_table(read_benchmarks(args.benchmarks), rule_families(args.rules))
    if args.by == "family":
        table = family_table(table)
    sys.stdout.write(markdown(table) if args.markdown else to_csv(table))


if __name__ == "__main__":
    main()
