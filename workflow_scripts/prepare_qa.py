from rotelab.core.io import write_parquet
from rotelab.core.logs import log_to
from rotelab.data.lm_text import prepare_qa

with log_to(snakemake.log[0]):
    cfg = snakemake.params.qa
    qa = prepare_qa(cfg["sources"], cfg["fraction"], cfg["n_test"], cfg["seed"])
    print(qa.groupby(["client", "source", "split"]).size().to_string())
    write_parquet(qa, snakemake.output[0])
