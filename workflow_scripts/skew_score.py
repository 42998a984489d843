import pandas as pd

from rotelab.core.io import read_parquet, write_parquet
from rotelab.core.logs import log_to
from rotelab.models.seq2seq import load_checkpoint
from rotelab.papers.skew.n_pre import SkewRun, checkpoint_name, prefix_match_scores, run_samples, tail_quantiles

with log_to(snakemake.log[0]):
    run = SkewRun(**snakemake.params.run)
    samples = run_samples(read_parquet(snakemake.input.samples), run, snakemake.params.ratio)
    log = read_parquet(f"{snakemake.input.models}/training_log.parquet")
    parts = []
    for epoch in snakemake.params.epochs:
        path = f"{snakemake.input.models}/{checkpoint_name(epoch)}"
        model, tokenizer = load_checkpoint(path, snakemake.params.device, snakemake.threads, "AutoModelForCausalLM")
        scores = prefix_match_scores(model, tokenizer, samples).assign(run=run.name, epoch=epoch)
        train_loss = float(log.loc[log["epoch"] == epoch, "loss"].iloc[-1])
        parts.append(scores.assign(train_loss=train_loss))
        scored = scores[scores["role"] == "scored"]
        print(
            f"epoch {epoch}: n_pre {tail_quantiles(scored['n_pre'])}, suffix loss {scored['suffix_loss'].mean():.3f}"
        )
    write_parquet(pd.concat(parts, ignore_index=True), snakemake.output[0])
