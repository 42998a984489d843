from rotelab.decoding import DecodeConfig, translate
from rotelab.io import read_parquet, write_parquet
from rotelab.logs import log_to
from rotelab.models import load_checkpoint

with log_to(snakemake.log[0]):
    params = dict(snakemake.params.decode)
    model, tokenizer = load_checkpoint(snakemake.input.model, params.pop("device"), snakemake.threads)
    table = read_parquet(snakemake.input.source)
    hyp = translate(model, tokenizer, table["src"].tolist(), DecodeConfig(**params))
    write_parquet(table.assign(hyp=hyp), snakemake.output[0])
