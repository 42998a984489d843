from pathlib import Path

import pandas as pd

from rotelab.core.io import write_csv, write_text
from rotelab.core.logs import log_to
from rotelab.figures.catalog import figures
from rotelab.reproduction.verdicts import reproduction_page, summary_line, verdict_table

# Every claim of the figures this rule judges (all registered ones, or one paper's), on the
# figure's table from this run; a figure this run did not make leaves its claims "not
# measurable".
with log_to(snakemake.log[0]):
    tables = {Path(path).stem: pd.read_csv(path) for path in snakemake.input}
    claims = [claim for name in snakemake.params.figures for claim in figures.get(name).claims]
    verdicts = verdict_table(claims, tables)
    write_csv(verdicts, snakemake.output.csv)
    write_text(reproduction_page(verdicts), snakemake.output.html)
    print(verdicts[["figure", "paper", "verdict", "effect", "ci_low", "ci_high", "note"]].to_string())
    print(summary_line(verdicts, "results/report.html"))
