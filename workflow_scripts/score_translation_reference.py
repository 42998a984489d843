from rotelab.core.io import read_parquet, write_parquet
from rotelab.core.logs import log_to
from rotelab.membership.matrix import from_table
from rotelab.models.seq2seq import load_checkpoint
from rotelab.papers.seqkd.subgroups import target_fit

with log_to(snakemake.log[0]):
    k = snakemake.params.index
    model, tokenizer = load_checkpoint(snakemake.input.model, snakemake.params.device, snakemake.threads)
    matrix, example_ids = from_table(read_parquet(snakemake.input.matrix))
    pairs = read_parquet(snakemake.input.train).set_index("pair_id").loc[example_ids]
    fit = target_fit(model, tokenizer, pairs["src"].tolist(), pairs["tgt"].tolist(), snakemake.params.batch_size)
    observations = fit.assign(model=k, example=example_ids, member=matrix[k])
    for member, part in observations.groupby("member"):
        print(
            f"{'IN ' if member else 'OUT'}: mean target probability {part['prob'].mean():.3f}, "
            f"token accuracy {part['correct'].mean():.3f} ({len(part)} pairs)"
        )
    write_parquet(observations[["model", "example", "member", "prob", "correct"]], snakemake.output[0])
