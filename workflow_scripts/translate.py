from rotelab.core.io import read_parquet, write_parquet
from rotelab.core.logs import log_to
from rotelab.models.seq2seq import load_checkpoint
from rotelab.models.seq2seq_decoding import DecodeConfig, translate

with log_to(snakemake.log[0]):
    params = dict(snakemake.params.decode)
    model, tokenizer = load_checkpoint(snakemake.input.model, params.pop("device"), snakemake.threads)
    table = read_parquet(snakemake.input.source)
    hyp = translate(model, tokenizer, table["src"].tolist(), DecodeConfig(**params))
    write_parquet(table.assign(hyp=hyp), snakemake.output[0])
