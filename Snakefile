# rotelab: memorization experiments as a cached workflow. What runs is in config.yaml
# (validated against config.schema.yaml); how it runs is in profiles/.
from snakemake.utils import min_version, validate

min_version("9.0")


configfile: "config.yaml"


validate(config, "config.schema.yaml", set_default=True)


include: "rules/common.smk"
include: "rules/data.smk"
include: "rules/canaries.smk"
include: "rules/train.smk"
include: "rules/distill.smk"
include: "rules/score.smk"
include: "rules/plots.smk"


report: "report/workflow.rst"


rule all:
    input:
        figure_targets(),
    default_target: True
