from rotelab.io import write_parquet
from rotelab.lm_data import prepare_pretraining
from rotelab.logs import log_to

with log_to(snakemake.log[0]):
    cfg = snakemake.params.text
    train, valid = prepare_pretraining(cfg["pretrain_corpora"], cfg["max_documents"], cfg["n_valid"], cfg["seed"])
    print(f"{len(train)} training and {len(valid)} validation documents from {', '.join(cfg['pretrain_corpora'])}")
    write_parquet(train, snakemake.output.train)
    write_parquet(valid, snakemake.output.valid)
