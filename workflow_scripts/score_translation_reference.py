from rotelab.core.io import read_parquet, write_parquet
from rotelab.core.logs import log_to
from rotelab.membership.matrix import from_table
from rotelab.models.seq2seq import load_checkpoint
from rotelab.papers.seqkd.subgroups import target_fit

# The engine's observation columns; min-k%++'s normalisers are not computed for translations.
COLUMNS = ["model", "example", "member", "phi", "logprob", "logprob_mean", "logprob_std", "prob", "correct"]

with log_to(snakemake.log[0]):
    k, batch_size = snakemake.params.index, snakemake.params.batch_size
    model, tokenizer = load_checkpoint(snakemake.input.model, snakemake.params.device, snakemake.threads)
    matrix, example_ids = from_table(read_parquet(snakemake.input.matrix))
    pairs = read_parquet(snakemake.input.train).set_index("pair_id").loc[example_ids]
    fit = target_fit(model, tokenizer, pairs["src"].tolist(), pairs["tgt"].tolist(), batch_size)
    observations = fit.assign(model=k, example=example_ids, member=matrix[k], logprob_mean=float("nan"))
    for member, part in observations.groupby("member"):
        print(
            f"{'IN ' if member else 'OUT'}: mean target probability {part['prob'].mean():.3f}, "
            f"token accuracy {part['correct'].mean():.3f} ({len(part)} pairs)"
        )
    write_parquet(observations.assign(logprob_std=float("nan"))[COLUMNS], snakemake.output.observations)

    # RMIA's population: the test pairs, which no reference trains on.
    test = read_parquet(snakemake.input.test)
    outside = target_fit(model, tokenizer, test["src"].tolist(), test["tgt"].tolist(), batch_size)
    outside = outside.assign(model=k, example=test["pair_id"].to_numpy(), member=False)
    print(f"population: mean target probability {outside['prob'].mean():.3f} ({len(outside)} test pairs)")
    write_parquet(
        outside.assign(logprob_mean=float("nan"), logprob_std=float("nan"))[COLUMNS], snakemake.output.population
    )
