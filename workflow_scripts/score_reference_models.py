from rotelab.core.io import read_parquet, write_parquet
from rotelab.core.logs import log_to
from rotelab.membership.attacks import AttackConfig
from rotelab.membership.reference_scores import (
    attack_scores,
    counterfactual_memorization,
    summarise_attacks,
    summarise_counterfactual,
)
from rotelab.papers.onion.layers import vulnerability

with log_to(snakemake.log[0]):
    params, out = snakemake.params, snakemake.output
    observations = read_parquet(snakemake.input.observations)

    # Population samples (RMIA's z): every model observed them and none trained on them.
    population = read_parquet(snakemake.input.population)
    scores = attack_scores(observations, params.attacks, AttackConfig(**params.attack_config), population)
    summary = summarise_attacks(scores, params.bootstrap, params.seed)
    print(summary.to_string())
    write_parquet(scores, out.attack_scores)
    write_parquet(summary, out.attacks)

    onion = params.onion
    per_example = vulnerability(scores[scores["attack"] == onion["attack"]], onion["fpr"], onion["vulnerable_tpr"])
    print(
        f"{int(per_example['vulnerable'].sum())} of {len(per_example)} examples vulnerable "
        f"({onion['attack']}, TPR >= {onion['vulnerable_tpr']} at FPR {onion['fpr']})"
    )
    write_parquet(per_example, out.vulnerability)

    counterfactual = counterfactual_memorization(observations)
    cm_summary = summarise_counterfactual(counterfactual, params.bootstrap, params.seed)
    print(cm_summary.to_string())
    write_parquet(counterfactual, out.counterfactual)
    write_parquet(cm_summary, out.counterfactual_summary)
