from rotelab.core.io import read_parquet, write_parquet
from rotelab.core.logs import log_to
from rotelab.membership.attacks import AttackConfig
from rotelab.membership.lm_references import observe_notes
from rotelab.membership.reference_scores import summarise_attacks, target_attack_scores
from rotelab.models.seq2seq import load_checkpoint
from rotelab.papers.lora_fl.runs import RunSpec, tag

with log_to(snakemake.log[0]):
    params = snakemake.params
    spec = RunSpec(**params.spec)
    model, tokenizer = load_checkpoint(snakemake.input.model, params.device, snakemake.threads, "AutoModelForCausalLM")
    canaries = read_parquet(snakemake.input.canaries)
    target = observe_notes(model, tokenizer, canaries, params.block_size).assign(
        member=canaries["inserted"].to_numpy()
    )
    # RMIA's population notes, under the references and under this run
    population = read_parquet(snakemake.input.population)
    under_target = observe_notes(model, tokenizer, population, params.block_size)
    scores = target_attack_scores(
        read_parquet(snakemake.input.references),
        target,
        params.attacks,
        AttackConfig(**params.attack_config),
        (read_parquet(snakemake.input.population_references), under_target),
    )
    summary = summarise_attacks(scores, params.bootstrap, params.seed)
    print(summary.to_string())
    # which reference set calibrated the attack: LiRA assumes it was trained like the target
    references = snakemake.wildcards.references
    write_parquet(tag(scores, spec).assign(references=references), snakemake.output.scores)
    write_parquet(tag(summary, spec).assign(references=references), snakemake.output.summary)
