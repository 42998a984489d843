from rotelab.core.io import read_parquet, write_parquet
from rotelab.core.logs import log_to
from rotelab.membership.attacks import AttackConfig
from rotelab.models.seq2seq import load_checkpoint
from rotelab.scoring.canary_metrics import membership_scores, summarise_membership

with log_to(snakemake.log[0]):
    model, tokenizer = load_checkpoint(snakemake.input.model, snakemake.params.device, snakemake.threads)
    per_example = membership_scores(
        model,
        tokenizer,
        read_parquet(snakemake.input.canaries),
        snakemake.params.attacks,
        AttackConfig(min_k_fraction=snakemake.params.min_k_fraction),
    )
    summary, roc = summarise_membership(per_example, snakemake.params.bootstrap, snakemake.params.seed)
    model_name = snakemake.wildcards.model
    summary.insert(0, "model", model_name)
    print(summary.to_string())
    write_parquet(per_example.assign(model=model_name), snakemake.output.examples)
    write_parquet(summary, snakemake.output.summary)
    write_parquet(roc.assign(model=model_name), snakemake.output.roc)
