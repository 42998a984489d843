# Two entry points: `make reproduce` runs the default experiment offline and writes
# results/report.html; `make test` runs the whole test suite. Both install what is missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The CPU wheel of torch 2.13.0 lies on disk on the dev/CI machines; on a GPU machine set
# TORCH='torch' (or your CUDA build) instead.
TORCH ?= torch==2.13.0
CORES ?= $(shell nproc)
DEB_PACKAGES := trans-de-en sword-text-web sword-text-sparv libsword-utils wordnet-base
# The test suite also runs a real SLURM cluster and a real browser.
TEST_DEB_PACKAGES := slurmctld slurmd slurm-client munge chromium chromium-driver
SNAKEMAKE_ARGS ?=
# Short names of papers to run alone (make reproduce PAPERS="acil dsm"); empty: every paper.
PAPERS ?=

.PHONY: setup debian-packages test-debian-packages reproduce reproduce-paper report test lint clean

setup: debian-packages $(VENV)/.installed

# Install the Debian packages in $(1) that are missing (as root, or through sudo).
define apt_install
	@missing=""; \
	for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:$$missing"; \
		SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
		$$SUDO apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	fi
endef

# The count of claims per verdict (every paper's, or those of $(PAPERS)) and the report's path.
define verdict_summary
	@if [ -z "$(PAPERS)" ]; then \
		$(1) -m rotelab.reproduction.verdicts results/tables/verdicts.csv results/report.html; \
	else for paper in $(PAPERS); do \
		$(1) -m rotelab.reproduction.verdicts results/papers/$$paper/verdicts.csv results/report.html; \
	done; fi
endef

# Job time per rule family from the benchmark files (a run of every paper only: the run's last
# job, rule job_times, wrote the same per family and per rule to results/tables/job_times*.csv,
# which the report shows).
define job_time_summary
	@if [ -z "$(PAPERS)" ]; then \
		$(1) -m rotelab.pipeline.benchmarks results/benchmarks --by family --markdown; \
	fi
endef

debian-packages:
	$(call apt_install,$(DEB_PACKAGES))

test-debian-packages:
	$(call apt_install,$(TEST_DEB_PACKAGES))

# The pins of envs/*.yaml constrain this install too, so the tests run the versions the conda
# environments declare (tests/test_envs.py checks that they agree) and a release upstream
# cannot change what `make test` runs with.
CONSTRAINTS := $(VENV)/constraints.txt
$(CONSTRAINTS): $(wildcard envs/*.yaml)
	mkdir -p $(VENV)
	sed -n 's/^ *- *\([A-Za-z0-9_.-]*==[^ ]*\) *$$/\1/p' $^ | sort -u > $@

$(VENV)/.installed: pyproject.toml $(CONSTRAINTS)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -c $(CONSTRAINTS) "$(TORCH)"
	$(BIN)/pip install -q -c $(CONSTRAINTS) -e '.[test]'
	touch $@

reproduce: setup
	$(BIN)/snakemake --cores $(CORES) $(PAPERS) $(SNAKEMAKE_ARGS)
	$(MAKE) report
	$(call verdict_summary,$(BIN)/python)
	$(call job_time_summary,$(BIN)/python)

report:
	$(BIN)/snakemake --report results/report.html $(PAPERS) $(SNAKEMAKE_ARGS)

# Paper scale on one GPU: configs/paper.yaml on CUDA through profiles/gpu, JOBS_PER_GPU small
# jobs sharing the GPU (ensembles ask for every slot and run alone). Resumable: run the same
# command again after an interruption (a machine that allows short commands runs it in
# turns); finished jobs stay, incomplete ones rerun. On an offline GPU machine whose Python
# already has the packages (bench/offline_gpu_env.sh):
#   make reproduce-paper PAPER_SETUP= SNAKEMAKE="python3 -m snakemake" PYTHON_BIN=python3
PAPER_CONFIG := --configfile config.yaml configs/paper.yaml configs/gpu.yaml
JOBS_PER_GPU ?= 4
PAPER_SETUP ?= setup
SNAKEMAKE ?= $(BIN)/snakemake
PYTHON_BIN ?= $(BIN)/python
reproduce-paper: $(PAPER_SETUP)
	$(SNAKEMAKE) --unlock $(PAPER_CONFIG) >/dev/null 2>&1 || true
	ROTELAB_JOBS_PER_GPU=$(JOBS_PER_GPU) $(SNAKEMAKE) --workflow-profile profiles/gpu $(PAPER_CONFIG) \
		--resources gpu=$(JOBS_PER_GPU) --rerun-incomplete --keep-going $(PAPERS) $(SNAKEMAKE_ARGS)
	$(SNAKEMAKE) --report results/report.html $(PAPER_CONFIG) $(PAPERS)
	$(call verdict_summary,$(PYTHON_BIN))
	$(call job_time_summary,$(PYTHON_BIN))

# Two pytest workers, one test file each at a time: the SLURM test (mostly waiting on the
# cluster) runs beside the tiny workflow instead of after it. The slowest tests are listed at
# the end, so every CI log says where the suite's time went.
test: setup test-debian-packages
	$(BIN)/python -m pytest -q -rs -n 2 --dist loadfile --durations=15

lint: setup
	$(BIN)/snakemake --lint
	$(BIN)/snakefmt --check Snakefile rules
	$(BIN)/ruff check src tests bench workflow_scripts
	$(BIN)/ruff format --check src tests bench workflow_scripts

clean:
	rm -rf results .snakemake
