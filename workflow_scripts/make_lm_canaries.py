from rotelab.core.io import read_parquet, write_parquet
from rotelab.core.logs import log_to
from rotelab.data.canaries import make_document_canaries

with log_to(snakemake.log[0]):
    cfg = snakemake.params.canaries
    qa = read_parquet(snakemake.input.qa)
    sizes = qa[qa["split"] == "train"].groupby("client").size().sort_index()
    options = {"visits": cfg["visits"]} if cfg["generator"] == "patient-notes" else {}
    canaries = make_document_canaries(
        cfg["generator"], cfg["duplication"], cfg["n_per_group"], sizes.to_numpy(), cfg["seed"], **options
    )
    print(canaries.groupby(["duplication", "client"]).size().to_string())
    write_parquet(canaries, snakemake.output[0])
