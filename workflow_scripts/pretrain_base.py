from rotelab.core.device import set_threads
from rotelab.core.io import atomic_dir, read_parquet
from rotelab.core.logs import log_to
from rotelab.data.tokenizer import load_tokenizer
from rotelab.models.causal_lm import LMConfig, PlateauConfig, build_lm, pretrain
from rotelab.models.seq2seq import count_parameters, save_checkpoint
from rotelab.training.seq2seq import TrainConfig

with log_to(snakemake.log[0]):
    set_threads(snakemake.threads)
    cfg = snakemake.params.cfg
    arch, train_cfg = LMConfig(**cfg["model"]), TrainConfig(**cfg["train"])
    # A pretrained model brings its own vocabulary; models built here use the LM tokenizer.
    tokenizer = load_tokenizer(arch.pretrained if arch.recipe == "pretrained" else snakemake.input.tokenizer)
    model = build_lm(arch, tokenizer, seed=train_cfg.seed)
    train, valid = read_parquet(snakemake.input.train), read_parquet(snakemake.input.valid)
    print(f"base: {count_parameters(model):,} parameters, {len(train)} training documents")
    log = pretrain(
        model, tokenizer, train["text"], valid["text"], train_cfg, PlateauConfig(**cfg["plateau"]), arch.block_size
    )
    with atomic_dir(snakemake.output[0]) as tmp:
        save_checkpoint(tmp, model, tokenizer, log)
