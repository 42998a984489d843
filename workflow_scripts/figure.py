from rotelab.core.logs import log_to
from rotelab.figures.catalog import render

with log_to(snakemake.log[0]):
    name = snakemake.wildcards.figure
    table = render(
        name,
        snakemake.params.inputs,
        snakemake.output.png,
        snakemake.output.pdf,
        snakemake.output.csv,
    )
    print(table.to_string())
