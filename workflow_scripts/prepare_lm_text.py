from rotelab.core.io import write_parquet
from rotelab.core.logs import log_to
from rotelab.data.lm_text import prepare_pretraining

with log_to(snakemake.log[0]):
    cfg = snakemake.params.text
    train, valid = prepare_pretraining(cfg["pretrain_corpora"], cfg["max_documents"], cfg["n_valid"], cfg["seed"])
    print(f"{len(train)} training and {len(valid)} validation documents from {', '.join(cfg['pretrain_corpora'])}")
    write_parquet(train, snakemake.output.train)
    write_parquet(valid, snakemake.output.valid)
