rule figure:
    input:
        figure_inputs,
    output:
        png=report(
            "results/figures/{figure}.png",
            caption="../report/figure.rst",
            category=paper_category,
            subcategory="{figure}",
            labels={"content": "figure"},
        ),
        pdf="results/figures/{figure}.pdf",
        csv=report(
            "results/tables/{figure}.csv",
            caption="../report/table.rst",
            category=paper_category,
            subcategory="{figure}",
            labels={"content": "table"},
        ),
    log:
        "results/logs/figure/{figure}.log",
    benchmark:
        "results/benchmarks/figure/{figure}.tsv"
    conda:
        "../envs/plots.yaml"
    threads: 1
    resources:
        mem_mb=resource(CANARY_TABLE_JOB, "mem_mb"),
        runtime=resource(CANARY_TABLE_JOB, "runtime"),
    params:
        caption=lambda wildcards: figures.get(wildcards.figure).caption,
        settings=lambda wildcards: figures.get(wildcards.figure).setting_values(config),
        inputs=figure_input_files,
    script:
        "../workflow_scripts/figure.py"


rule verdicts:
    input:
        expand("results/tables/{figure}.csv", figure=figure_names()),
    output:
        csv=report(
            "results/tables/verdicts.csv",
            caption="../report/verdicts.rst",
            category="Reproduction",
            labels={"content": "verdicts table"},
        ),
        html=report(
            "results/reproduction.html",
            caption="../report/verdicts.rst",
            category="Reproduction",
            labels={"content": "verdicts page"},
        ),
    log:
        "results/logs/verdicts.log",
    benchmark:
        "results/benchmarks/verdicts/verdicts.tsv"
    conda:
        "../envs/plots.yaml"
    threads: 1
    resources:
        mem_mb=resource(CANARY_TABLE_JOB, "mem_mb"),
        runtime=resource(CANARY_TABLE_JOB, "runtime"),
    params:
        figures=claimed_figures(),
    script:
        "../workflow_scripts/verdicts.py"


# One paper's claims, for a run of that paper alone (its target below).
rule paper_verdicts:
    input:
        lambda wildcards: expand(
            "results/tables/{figure}.csv", figure=figure_names(wildcards.paper)
        ),
    output:
        csv="results/papers/{paper}/verdicts.csv",
        html="results/papers/{paper}/reproduction.html",
    log:
        "results/logs/paper_verdicts/{paper}.log",
    benchmark:
        "results/benchmarks/paper_verdicts/{paper}.tsv"
    conda:
        "../envs/plots.yaml"
    threads: 1
    resources:
        mem_mb=resource(CANARY_TABLE_JOB, "mem_mb"),
        runtime=resource(CANARY_TABLE_JOB, "runtime"),
    params:
        figures=lambda wildcards: claimed_figures(wildcards.paper),
    script:
        "../workflow_scripts/verdicts.py"


for paper in PAPER_TARGETS:

    rule:
        name:
            paper
        input:
            figure_targets(paper),
            f"results/papers/{paper}/verdicts.csv",
        localrule: True
