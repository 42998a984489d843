from rotelab.core.io import read_parquet, write_parquet
from rotelab.core.logs import log_to
from rotelab.models.seq2seq import load_checkpoint
from rotelab.scoring.canary_metrics import prompted_continuations

with log_to(snakemake.log[0]):
    decode = snakemake.params.decode
    model, tokenizer = load_checkpoint(snakemake.input.model, decode["device"], snakemake.threads)
    continuations = prompted_continuations(
        model,
        tokenizer,
        read_parquet(snakemake.input.canaries),
        decode["max_new_tokens"],
        decode["batch_size"],
    )
    print(continuations.head(10).to_string())
    write_parquet(continuations, snakemake.output[0])
