import numpy as np
import pandas as pd

from rotelab.core.device import set_threads
from rotelab.core.io import read_parquet, write_parquet
from rotelab.core.logs import log_to
from rotelab.papers.skew.n_pre import SkewRun, delta_similarity, load_sentence_encoder, run_samples

with log_to(snakemake.log[0]):
    set_threads(snakemake.threads)
    samples = read_parquet(snakemake.input.samples).reset_index(drop=True)
    encoder = load_sentence_encoder()
    full = encoder.encode(list(samples["prefix"] + samples["suffix"]), normalize_embeddings=True, batch_size=64)
    prefix = encoder.encode(list(samples["prefix"]), normalize_embeddings=True, batch_size=64)
    row = {sample_id: i for i, sample_id in enumerate(samples["sample_id"])}
    parts = []
    for spec in snakemake.params.runs:
        run = SkewRun(**spec)
        members = run_samples(samples, run, snakemake.params.ratio)
        idx = np.array([row[s] for s in members["sample_id"]])
        delta = delta_similarity(full[idx], prefix[idx])
        parts.append(
            pd.concat([members[["sample_id", "role"]].reset_index(drop=True), delta], axis=1).assign(run=run.name)
        )
        print(f"{run.name}: mean delta_S {delta['delta_s'].mean():.4f} over {len(idx)} samples")
    write_parquet(pd.concat(parts, ignore_index=True), snakemake.output[0])
