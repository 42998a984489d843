# Large learning rates in denoising score matching (P2): one job per (diffusion time,
# learning rate) trains every seed's 1-D score network together; one job per learning rate
# trains the 2-D time-conditioned network and samples from it. Runs are named as
# rotelab.papers.dsm.runs spells them.
from rotelab.papers.dsm import runs as dsm_runs

DSM = config["dsm"]
# What each job depends on: the swept lists only name the jobs.
DSM_SCORE = {
    key: value
    for key, value in DSM.items()
    if key not in ("times", "learning_rates", "diffusion")
}
DSM_DIFFUSION = {
    key: value for key, value in DSM["diffusion"].items() if key != "learning_rates"
}


wildcard_constraints:
    t="[0-9.e+-]+",
    lr="[0-9.e+-]+",


rule dsm_score_net:
    output:
        curves=f"results/dsm/{dsm_runs.RUN}/scores.parquet",
        risk=f"results/dsm/{dsm_runs.RUN}/excess_risk.parquet",
    log:
        f"results/logs/dsm/{dsm_runs.RUN}.log",
    benchmark:
        f"results/benchmarks/dsm_score_net/{dsm_runs.RUN}.tsv"
    conda:
        "../envs/torch.yaml"
    threads: 1
    resources:
        mem_mb=resource(light_job(10_000), "mem_mb"),
        runtime=resource(light_job(10_000), "runtime"),
    params:
        dsm=DSM_SCORE,
        t=lambda wildcards: float(wildcards.t),
        lr=lambda wildcards: float(wildcards.lr),
    script:
        "../workflow_scripts/dsm_score_net.py"


rule dsm_diffusion:
    output:
        metrics=f"results/dsm/diffusion/{dsm_runs.DIFFUSION_RUN}.parquet",
        samples=f"results/dsm/diffusion/{dsm_runs.DIFFUSION_RUN}_samples.parquet",
    log:
        f"results/logs/dsm/diffusion_{dsm_runs.DIFFUSION_RUN}.log",
    benchmark:
        f"results/benchmarks/dsm_diffusion/{dsm_runs.DIFFUSION_RUN}.tsv"
    conda:
        "../envs/torch.yaml"
    threads: 1
    resources:
        mem_mb=resource(light_job(10_000), "mem_mb"),
        runtime=resource(light_job(10_000), "runtime"),
    params:
        diffusion=DSM_DIFFUSION,
        lr=lambda wildcards: float(wildcards.lr),
    script:
        "../workflow_scripts/dsm_diffusion.py"
