# rotelab: memorization experiments as a cached workflow. What runs is in config.yaml
# (validated against config.schema.yaml); how it runs is in profiles/.
import os

from snakemake.utils import min_version

from rotelab.config import validate_config

min_version("9.0")


configfile: os.path.join(workflow.basedir, "config.yaml")


validate_config(config, workflow.source_path("config.schema.yaml"))


include: "rules/common.smk"
include: "rules/data.smk"
include: "rules/canaries.smk"
include: "rules/train.smk"
include: "rules/distill.smk"
include: "rules/score.smk"
include: "rules/plots.smk"


report: "report/workflow.rst"


rule all:
    default_target: True
    input:
        figure_targets(),
