from rotelab.core.device import set_threads
from rotelab.core.io import atomic_dir, read_parquet
from rotelab.core.logs import log_to
from rotelab.models.ensemble import epochs_to_steps
from rotelab.models.seq2seq import load_checkpoint, save_checkpoint
from rotelab.training.seq2seq import TrainConfig, train_seq2seq

with log_to(snakemake.log[0]):
    set_threads(snakemake.threads)
    params = dict(snakemake.params.finetune)
    subset = read_parquet(snakemake.input.subsets).query("subset == @snakemake.wildcards.subset")
    steps = epochs_to_steps(params.pop("epochs"), len(subset), params["batch_size"])
    model, tokenizer = load_checkpoint(snakemake.input.model, params["device"], snakemake.threads)
    print(f"fine-tuning the teacher on {len(subset)} pairs ({snakemake.wildcards.subset}), {steps} steps")
    log = train_seq2seq(model, tokenizer, subset, TrainConfig(steps=steps, warmup_steps=0, **params))
    with atomic_dir(snakemake.output[0]) as tmp:
        save_checkpoint(tmp, model, tokenizer, log)
