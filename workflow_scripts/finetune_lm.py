import json

import pandas as pd

from rotelab.core.device import set_threads
from rotelab.core.io import atomic_dir, read_parquet
from rotelab.core.logs import log_to
from rotelab.data.lm_text import client_documents
from rotelab.data.tokenizer import load_tokenizer
from rotelab.models.seq2seq import load_model, save_checkpoint
from rotelab.training.finetune import train_run, trainable_parameters

with log_to(snakemake.log[0]):
    set_threads(snakemake.threads)
    params = snakemake.params.run
    base = snakemake.input.base
    tokenizer = load_tokenizer(base)
    # The audit canaries join the notes: each inserted once (duplication 1) or never (0).
    canaries = pd.concat([read_parquet(snakemake.input.canaries), read_parquet(snakemake.input.audit)])
    clients = client_documents(read_parquet(snakemake.input.qa), canaries, params["train"]["seed"])
    print(f"run {snakemake.wildcards.run}: {json.dumps(params)}")
    print(f"client documents: {[len(c) for c in clients]}")
    model, history, summary = train_run(
        lambda: load_model(base, "cpu", "AutoModelForCausalLM").train(),
        tokenizer,
        clients,
        params,
        snakemake.params.block_size,
        snakemake.params.device,
    )
    summary.update(run=snakemake.wildcards.run, **params["spec"])
    print(f"done: {json.dumps(summary)}; {trainable_parameters(model)[1]:,} parameters")
    with atomic_dir(snakemake.output[0]) as tmp:
        save_checkpoint(tmp, model, tokenizer, history)
        (tmp / "run.json").write_text(json.dumps(summary, indent=1))
