from rotelab.core.device import set_threads
from rotelab.core.io import atomic_dir, read_parquet
from rotelab.core.logs import log_to
from rotelab.data.tokenizer import load_tokenizer
from rotelab.models.seq2seq import ModelConfig, build_model, count_parameters, save_checkpoint
from rotelab.training.seq2seq import TrainConfig, train_seq2seq

with log_to(snakemake.log[0]):
    set_threads(snakemake.threads)
    cfg = snakemake.params.cfg
    train_cfg = TrainConfig(**cfg["train"])
    arch = ModelConfig(**cfg["model"])
    # A pretrained model brings its own vocabulary; models built here share the joint BPE.
    tokenizer = load_tokenizer(arch.pretrained if arch.recipe == "pretrained" else snakemake.input.tokenizer)
    model = build_model(arch, tokenizer, seed=train_cfg.seed)
    pairs = read_parquet(snakemake.input.data)
    print(f"{snakemake.wildcards.model}: {count_parameters(model):,} parameters, {len(pairs)} pairs")
    log = train_seq2seq(model, tokenizer, pairs, train_cfg)
    with atomic_dir(snakemake.output[0]) as tmp:
        save_checkpoint(tmp, model, tokenizer, log)
