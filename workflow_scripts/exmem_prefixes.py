from rotelab.decoding import DecodeConfig, translate
from rotelab.device import pick_device, set_threads
from rotelab.io import read_parquet, write_parquet
from rotelab.logs import log_to
from rotelab.models import load_model
from rotelab.seqkd_scores import memorization_references, prefix_requests
from rotelab.tokenizer import load_tokenizer
from rotelab.translation_metrics import ExMemConfig

with log_to(snakemake.log[0]):
    set_threads(snakemake.threads)
    params = dict(snakemake.params.decode)
    device = pick_device(params.pop("device"))
    kd = read_parquet(snakemake.input.kd[0]) if snakemake.input.kd else None
    references = memorization_references(read_parquet(snakemake.input.train), kd)
    requests = prefix_requests(references, ExMemConfig())
    print(f"{requests[['pair_id', 'reference_kind']].drop_duplicates().shape[0]} replicated pairs, "
          f"{len(requests)} prefixes to translate")
    model = load_model(snakemake.input.model, device)
    tokenizer = load_tokenizer(snakemake.input.model)
    prefixes = requests["prefix"].drop_duplicates().tolist()
    outputs = dict(zip(prefixes, translate(model, tokenizer, prefixes, DecodeConfig(**params))))
    write_parquet(requests.assign(output=requests["prefix"].map(outputs)), snakemake.output[0])
