from rotelab.core.io import read_parquet, write_parquet
from rotelab.core.logs import log_to
from rotelab.membership.attacks import AttackConfig
from rotelab.models.seq2seq import load_checkpoint
from rotelab.papers.lora_fl.runs import RunSpec, tag
from rotelab.scoring.canary_metrics import summarise_membership
from rotelab.scoring.lm_scores import note_membership

with log_to(snakemake.log[0]):
    params, out = snakemake.params, snakemake.output
    spec = RunSpec(**params.spec)
    model, tokenizer = load_checkpoint(snakemake.input.model, params.device, snakemake.threads, "AutoModelForCausalLM")

    # Membership attacks without references: inserted notes against never-inserted ones.
    per_example = note_membership(
        model,
        tokenizer,
        read_parquet(snakemake.input.canaries),
        params.attacks,
        AttackConfig(min_k_fraction=params.min_k_fraction),
        params.block_size,
    )
    membership, _ = summarise_membership(per_example, params.bootstrap, params.seed)
    print(membership.to_string())
    write_parquet(tag(per_example, spec), out.examples)
    write_parquet(tag(membership, spec), out.summary)
