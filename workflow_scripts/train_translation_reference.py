from rotelab.device import set_threads
from rotelab.io import atomic_dir, read_parquet
from rotelab.logs import log_to
from rotelab.membership import from_table, members_of
from rotelab.models import ModelConfig, build_model, save_checkpoint
from rotelab.tokenizer import load_tokenizer
from rotelab.training import TrainConfig, train_seq2seq

with log_to(snakemake.log[0]):
    set_threads(snakemake.threads)
    cfg, k = snakemake.params.cfg, snakemake.params.index
    train_cfg = TrainConfig(**cfg["train"])
    matrix, example_ids = from_table(read_parquet(snakemake.input.matrix))
    pairs = read_parquet(snakemake.input.train).set_index("pair_id").loc[example_ids].reset_index()
    members = pairs.iloc[members_of(matrix, k)]
    print(f"reference model {k}: {len(members)} of {len(pairs)} corpus pairs IN, seed {train_cfg.seed}")
    tokenizer = load_tokenizer(snakemake.input.tokenizer)
    model = build_model(ModelConfig(**cfg["model"]), tokenizer, seed=train_cfg.seed)
    log = train_seq2seq(model, tokenizer, members, train_cfg)
    with atomic_dir(snakemake.output[0]) as tmp:
        save_checkpoint(tmp, model, tokenizer, log)
