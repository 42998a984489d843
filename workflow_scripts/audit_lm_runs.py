import json
from pathlib import Path

import pandas as pd

from rotelab.core.io import read_parquet, write_parquet
from rotelab.core.logs import log_to
from rotelab.models.seq2seq import load_checkpoint
from rotelab.papers.lora_fl.audit import audit_table
from rotelab.papers.lora_fl.runs import RunSpec, tag
from rotelab.scoring.lm_scores import audit_canary_scores, mean_token_logprobs

with log_to(snakemake.log[0]):
    params, out = snakemake.params, snakemake.output
    canaries = read_parquet(snakemake.input.canaries)
    texts = list(canaries["text"])

    def mean_logprobs(path):
        model, tokenizer = load_checkpoint(path, params.device, snakemake.threads, "AutoModelForCausalLM")
        return mean_token_logprobs(model, tokenizer, texts, params.block_size)

    # The base's scores calibrate every run's (loss_vs_base), so they are computed once.
    base = mean_logprobs(snakemake.input.base)
    frames, summaries = [], {}
    for path in snakemake.input.models:
        summary = json.loads((Path(path) / "run.json").read_text())
        summaries[summary["run"]] = summary
        for attack, score in audit_canary_scores(mean_logprobs(path), base).items():
            if attack in params.audit["attacks"]:
                frames.append(
                    canaries[["canary_id", "included"]].assign(run=summary["run"], attack=attack, score=score)
                )
    scores = pd.concat(frames, ignore_index=True)
    table = audit_table(scores, canaries, summaries, params.audit)
    print(table.to_string())
    specs = {run: RunSpec(**spec) for run, spec in params.specs.items()}
    write_parquet(
        pd.concat([tag(part.drop(columns="run"), specs[run]) for run, part in scores.groupby("run", sort=False)]),
        out.scores,
    )
    write_parquet(
        pd.concat([tag(table[table["run"] == run].drop(columns="run"), specs[run]) for run in table["run"]]),
        out.table,
    )
