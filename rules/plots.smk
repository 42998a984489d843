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
    conda:
        "../envs/plots.yaml"
    threads: 1
    resources:
        mem_mb=resource(light_job(N_CANARIES), "mem_mb"),
        runtime=resource(light_job(N_CANARIES), "runtime"),
    params:
        caption=lambda wildcards: figures.get(wildcards.figure).caption,
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
    conda:
        "../envs/plots.yaml"
    threads: 1
    resources:
        mem_mb=resource(light_job(N_CANARIES), "mem_mb"),
        runtime=resource(light_job(N_CANARIES), "runtime"),
    script:
        "../workflow_scripts/verdicts.py"
