from rotelab.core.io import write_parquet
from rotelab.core.logs import log_to
from rotelab.data.canaries import make_population_notes

with log_to(snakemake.log[0]):
    cfg = snakemake.params.canaries
    options = {"visits": cfg["visits"]} if cfg["generator"] == "patient-notes" else {}
    notes = make_population_notes(
        cfg["generator"], cfg["duplication"], cfg["n_per_group"], snakemake.params.n, cfg["seed"], **options
    )
    print(f"{len(notes)} population notes, ids {notes['canary_id'].min()}-{notes['canary_id'].max()}")
    write_parquet(notes, snakemake.output[0])
