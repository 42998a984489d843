from dataclasses import replace

from rotelab.core.device import set_threads
from rotelab.core.io import atomic_dir, read_parquet
from rotelab.core.logs import log_to
from rotelab.data.tokenizer import load_tokenizer
from rotelab.membership.matrix import from_table, members_of
from rotelab.models.seq2seq import ModelConfig, build_model, save_checkpoint
from rotelab.training.seq2seq import TrainConfig, train_seq2seq, train_seq2seq_ensemble

# One reference model (its own job) or several trained together as one batched ensemble;
# either way model k trains on the pairs the matrix marks IN for it, from seed seeds[k].
with log_to(snakemake.log[0]):
    set_threads(snakemake.threads)
    cfg = snakemake.params.cfg
    train_cfg = TrainConfig(**cfg["train"])
    matrix, example_ids = from_table(read_parquet(snakemake.input.matrix))
    pairs = read_parquet(snakemake.input.train).set_index("pair_id").loc[example_ids].reset_index()
    tokenizer = load_tokenizer(snakemake.input.tokenizer)
    models, subsets = [], []
    for k, seed in zip(cfg["indices"], cfg["seeds"]):
        subsets.append(pairs.iloc[members_of(matrix, k)])
        print(f"reference model {k}: {len(subsets[-1])} of {len(pairs)} corpus pairs IN, seed {seed}")
        models.append(build_model(ModelConfig(**cfg["model"]), tokenizer, seed=seed))
    if len(models) == 1:
        logs = [train_seq2seq(models[0], tokenizer, subsets[0], replace(train_cfg, seed=cfg["seeds"][0]))]
    else:
        print(f"training the {len(models)} models together as one ensemble")
        logs = train_seq2seq_ensemble(models, tokenizer, subsets, train_cfg, cfg["seeds"])
    for model, log, directory in zip(models, logs, snakemake.output):
        with atomic_dir(directory) as tmp:
            save_checkpoint(tmp, model, tokenizer, log)
