from rotelab.core.io import read_parquet, write_parquet
from rotelab.core.logs import log_to
from rotelab.models.seq2seq import load_checkpoint
from rotelab.papers.seqkd.subgroups import target_fit
from rotelab.scoring.translation_metrics import sentence_chrf

with log_to(snakemake.log[0]):
    model, tokenizer = load_checkpoint(snakemake.input.model, snakemake.params.device, snakemake.threads)
    # One row per distinct training pair; inserted canaries keep one row however often inserted.
    kd = read_parquet(snakemake.input.kd).drop_duplicates("pair_id").reset_index(drop=True)
    fit = target_fit(model, tokenizer, kd["src"].tolist(), kd["tgt"].tolist(), snakemake.params.batch_size)
    quality = kd.rename(columns={"tgt": "hyp", "reference": "tgt"}).assign(
        confidence=fit["prob"].to_numpy(),
        chrf=[sentence_chrf(hyp, ref) for hyp, ref in zip(kd["tgt"], kd["reference"])],
    )
    print(quality[["confidence", "chrf"]].describe(percentiles=[0.5, 0.9, 0.99]).to_string())
    write_parquet(quality[["pair_id", "canary_id", "src", "tgt", "hyp", "confidence", "chrf"]], snakemake.output[0])
