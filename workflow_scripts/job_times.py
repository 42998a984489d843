from rotelab.core.io import write_text
from rotelab.core.logs import log_to
from rotelab.pipeline.benchmarks import family_table, markdown, read_benchmarks, rule_table, to_csv

# Job time per rule and per rule family, from every benchmark file present when this job
# runs: the last job of the default run (rules/job_times.smk says why).
with log_to(snakemake.log[0]):
    rules = rule_table(read_benchmarks(snakemake.params.benchmarks), snakemake.params.families)
    families = family_table(rules)
    write_text(to_csv(rules), snakemake.output.rules)
    write_text(to_csv(families), snakemake.output.families)
    print(markdown(families))
    print(markdown(rules))
