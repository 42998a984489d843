from rotelab.core.io import read_parquet, write_parquet
from rotelab.core.logs import log_to
from rotelab.models.seq2seq import load_checkpoint
from rotelab.models.seq2seq_decoding import DecodeConfig, translate

with log_to(snakemake.log[0]):
    params = dict(snakemake.params.decode)
    model, tokenizer = load_checkpoint(snakemake.input.model, params.pop("device"), snakemake.threads)
    train = read_parquet(snakemake.input.train)
    # Decode each distinct source once; replicated canaries keep their multiplicity.
    sources = train["src"].drop_duplicates().tolist()
    outputs = dict(zip(sources, translate(model, tokenizer, sources, DecodeConfig(**params))))
    kd = train.assign(reference=train["tgt"], tgt=train["src"].map(outputs))
    print(f"{len(sources)} sources decoded; {int((kd.tgt == kd.reference).sum())} rows equal their reference")
    write_parquet(kd, snakemake.output[0])
