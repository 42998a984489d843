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
    train = read_parquet(snakemake.input.train)
    # Decode each distinct source once; replicated canaries keep their multiplicity.
    sources = train["src"].drop_duplicates().tolist()
    outputs = dict(zip(sources, translate(model, tokenizer, sources, DecodeConfig(**params))))
    kd = train.assign(reference=train["tgt"], tgt=train["src"].map(outputs))
    print(f"{len(sources)} sources decoded; {int((kd.tgt == kd.reference).sum())} rows equal their reference")
    write_parquet(kd, snakemake.output[0])
