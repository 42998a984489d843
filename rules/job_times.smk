# The run's job time per rule and per rule family, from every job's benchmark file
# (rotelab.pipeline.benchmarks; each rule writes its own under results/benchmarks/<rule>/).
# Snakemake's report shows only files that rules output under report(), so the tables are
# this rule's outputs rather than something the Makefile writes after the run. Its inputs
# are the default run's other targets: every other job of that run is upstream of one of
# them, so this job starts after all of them have finished and written their benchmarks.
# It reads results/benchmarks/ when it runs instead of taking benchmark files as inputs:
# a Snakefile cannot list the jobs a run will plan. So the tables cover every benchmark
# file there: after `make clean`, exactly the default run's jobs but this one (its own
# benchmark is written after it ends); in a results/ kept across runs, each job's latest
# run, jobs of other targets and configs included.
from rotelab.pipeline.benchmarks import rule_families


rule job_times:
    input:
        run_targets(),
    output:
        rules=report(
            "results/tables/job_times.csv",
            caption="../report/job_times.rst",
            category="Run",
            labels={"content": "job time per rule"},
        ),
        families=report(
            "results/tables/job_times_families.csv",
            caption="../report/job_times.rst",
            category="Run",
            labels={"content": "job time per rule family"},
        ),
    log:
        "results/logs/job_times.log",
    benchmark:
        "results/benchmarks/job_times/job_times.tsv"
    conda:
        "../envs/plots.yaml"
    threads: 1
    resources:
        mem_mb=resource(light_job(10_000), "mem_mb"),
        runtime=resource(light_job(10_000), "runtime"),
    params:
        benchmarks="results/benchmarks",
        # rule -> the rules file that defines it (its family)
        families=rule_families(os.path.join(workflow.basedir, "rules")),
    script:
        "../workflow_scripts/job_times.py"
