import json
from pathlib import Path

from rotelab.core.io import read_parquet, write_parquet
from rotelab.core.logs import log_to
from rotelab.models.seq2seq import load_checkpoint
from rotelab.papers.lora_fl.runs import RunSpec, tag
from rotelab.scoring.lm_extraction import (
    ExtractionConfig,
    continue_prompts,
    extraction_requests,
    memorization_rates,
    score_continuations,
)
from rotelab.scoring.lm_scores import qa_utility, summarise_utility

with log_to(snakemake.log[0]):
    params, out = snakemake.params, snakemake.output
    spec = RunSpec(**params.spec)
    model, tokenizer = load_checkpoint(snakemake.input.model, params.device, snakemake.threads, "AutoModelForCausalLM")
    canaries = read_parquet(snakemake.input.canaries)

    # P1's extraction protocol on every canary note, inserted or not.
    cfg = ExtractionConfig(**{**params.extraction, "prompt_lengths": tuple(params.extraction["prompt_lengths"])})
    requests = extraction_requests(tokenizer, canaries, cfg)
    scored = score_continuations(
        tokenizer, requests, continue_prompts(model, list(requests["prompt"]), cfg, tokenizer.pad_token_id), cfg
    )
    rates = memorization_rates(scored)
    print(rates.to_string())
    write_parquet(tag(scored, spec), out.extraction_examples)
    write_parquet(tag(rates, spec), out.extraction)

    # Utility on held-out questions; the run's facts (DP epsilon, steps) travel with it.
    qa = read_parquet(snakemake.input.qa)
    per_pair = qa_utility(model, tokenizer, qa[qa["split"] == "test"], params.block_size)
    run = json.loads((Path(snakemake.input.model) / "run.json").read_text())
    utility = tag(summarise_utility(per_pair, params.bootstrap, params.seed), spec).assign(
        steps=run["steps"], epsilon=run.get("epsilon"), delta=run.get("delta")
    )
    print(utility.to_string())
    write_parquet(tag(per_pair, spec), out.utility_examples)
    write_parquet(utility, out.utility)
