from rotelab.decoding import DecodeConfig, translate
from rotelab.device import pick_device, set_threads
from rotelab.io import read_parquet, write_parquet
from rotelab.logs import log_to
from rotelab.models import load_model
from rotelab.tokenizer import load_tokenizer

with log_to(snakemake.log[0]):
    set_threads(snakemake.threads)
    params = dict(snakemake.params.decode)
    device = pick_device(params.pop("device"))
    model = load_model(snakemake.input.model, device)
    tokenizer = load_tokenizer(snakemake.input.model)
    table = read_parquet(snakemake.input.source)
    hyp = translate(model, tokenizer, table["src"].tolist(), DecodeConfig(**params))
    write_parquet(table.assign(hyp=hyp), snakemake.output[0])
