# rotelab: memorization experiments as a cached workflow. What runs is in config.yaml
# (validated against config.schema.yaml); how it runs is in profiles/.
import os
import sys

from snakemake.utils import min_version

# The library is imported from this checkout, by the workflow and by every job's script
# (whatever environment --sdm conda gives it), so the envs/ need third-party packages only.
SRC = os.path.join(workflow.basedir, "src")
if SRC not in sys.path:
    sys.path.insert(0, SRC)

from rotelab.pipeline.library_path import export_library_path

export_library_path(SRC)
from rotelab.pipeline.config import check_config_files, validate_config

min_version("9.0")


configfile: os.path.join(workflow.basedir, "config.yaml")


check_config_files(workflow.configfiles)
validate_config(config, workflow.source_path("config.schema.yaml"))


include: "rules/common.smk"
include: "rules/translation_data.smk"
include: "rules/canaries.smk"
include: "rules/translation_train.smk"
include: "rules/seqkd_distill.smk"
include: "rules/translation_score.smk"
include: "rules/plots.smk"
include: "rules/lm.smk"
include: "rules/lm_finetune.smk"
include: "rules/lm_references.smk"
include: "rules/membership.smk"
include: "rules/seqkd_subgroups.smk"
include: "rules/adaptive_seqkd.smk"
include: "rules/acil.smk"
include: "rules/relu_capacity.smk"
include: "rules/dsm.smk"
include: "rules/skewed_memorization.smk"
include: "rules/job_times.smk"


report: "report/workflow.rst"


rule all:
    default_target: True
    input:
        run_targets(),
        # job time per rule, from the benchmark files: made last (rules/job_times.smk)
        rules.job_times.output,
