# Large learning rates in denoising score matching (P2): one job per (diffusion time,
# learning rate) trains every seed's 1-D score network together; one job per learning rate
# trains the 2-D time-conditioned network and samples from it.


wildcard_constraints:
    t="[0-9.e+-]+",
    lr="[0-9.e+-]+",


rule dsm_score_net:
    output:
        curves="results/dsm/t{t}_lr{lr}/scores.parquet",
        risk="results/dsm/t{t}_lr{lr}/excess_risk.parquet",
    log:
        "results/logs/dsm/t{t}_lr{lr}.log",
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
        metrics="results/dsm/diffusion/lr{lr}.parquet",
        samples="results/dsm/diffusion/lr{lr}_samples.parquet",
    log:
        "results/logs/dsm/diffusion_lr{lr}.log",
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
