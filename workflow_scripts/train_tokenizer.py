from rotelab.core.io import atomic_dir, read_parquet
from rotelab.core.logs import log_to
from rotelab.data.tokenizer import train_bpe

with log_to(snakemake.log[0]):
    train = read_parquet(snakemake.input.train)
    cfg = snakemake.params.tokenizer
    texts = [text for column in snakemake.params.columns for text in train[column]]
    tokenizer = train_bpe(texts, cfg["vocab_size"], cfg["min_frequency"])
    print(f"vocabulary: {len(tokenizer)} tokens from {len(texts)} texts")
    with atomic_dir(snakemake.output[0]) as tmp:
        tokenizer.save_pretrained(tmp)
