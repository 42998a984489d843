from rotelab.core.io import read_parquet, write_parquet
from rotelab.core.logs import log_to
from rotelab.data.canaries import make_audit_canaries

with log_to(snakemake.log[0]):
    qa = read_parquet(snakemake.input.qa)
    sizes = qa[qa["split"] == "train"].groupby("client").size().sort_index()
    canaries = make_audit_canaries(snakemake.params.canaries, sizes.to_numpy(), snakemake.params.seed)
    print(f"{int(canaries['included'].sum())} of {len(canaries)} audit canaries inserted")
    print(canaries[canaries["included"]].groupby("client").size().to_string())
    write_parquet(canaries, snakemake.output[0])
