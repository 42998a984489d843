"""rotelab: memorization and privacy experiments as a cached workflow.

The package holds all logic; the Snakemake rules under ``rules/`` only wire stages
together and call into it (the layout: docs/extending.md, *Where things live*). No module
imports Snakemake.
"""

__version__ = "0.1.0"
