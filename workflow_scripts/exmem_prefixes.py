from rotelab.core.io import read_parquet, write_parquet
from rotelab.core.logs import log_to
from rotelab.models.seq2seq import load_checkpoint
from rotelab.models.seq2seq_decoding import DecodeConfig, translate
from rotelab.papers.seqkd.scores import memorization_references, prefix_requests
from rotelab.scoring.translation_metrics import ExMemConfig

with log_to(snakemake.log[0]):
    params = dict(snakemake.params.decode)
    device = params.pop("device")
    kd = read_parquet(snakemake.input.kd[0]) if snakemake.input.kd else None
    references = memorization_references(read_parquet(snakemake.input.train), kd)
    requests = prefix_requests(references, ExMemConfig())
    print(
        f"{requests[['pair_id', 'reference_kind']].drop_duplicates().shape[0]} replicated pairs, "
        f"{len(requests)} prefixes to translate"
    )
    model, tokenizer = load_checkpoint(snakemake.input.model, device, snakemake.threads)
    prefixes = requests["prefix"].drop_duplicates().tolist()
    outputs = dict(zip(prefixes, translate(model, tokenizer, prefixes, DecodeConfig(**params))))
    write_parquet(requests.assign(output=requests["prefix"].map(outputs)), snakemake.output[0])
