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
SNAKEMAKE_ARGS ?=

.PHONY: setup debian-packages reproduce report test lint clean

setup: debian-packages $(VENV)/.installed

debian-packages:
	@missing=""; \
	for p in $(DEB_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:$$missing"; \
		SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
		$$SUDO apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	fi

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q "$(TORCH)"
	$(BIN)/pip install -q -e '.[test]'
	touch $@

reproduce: setup
	$(BIN)/snakemake --cores $(CORES) $(SNAKEMAKE_ARGS)
	$(MAKE) report

report:
	$(BIN)/snakemake --report results/report.html $(SNAKEMAKE_ARGS)

test: setup
	$(BIN)/python -m pytest -q -rs

lint: setup
	$(BIN)/snakemake --lint
	$(BIN)/snakefmt --check Snakefile rules

clean:
	rm -rf results .snakemake
