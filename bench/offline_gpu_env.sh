#!/usr/bin/env bash
# Prepare an offline GPU machine that has Python, torch and transformers but no network:
# install the wheels in WHEELS (default .whl/, made beforehand with `pip download` or
# `pip wheel` for snakemake, jsonschema, faker, faker-healthcare-provider and whatever
# else is missing there) and the Ding dictionary from a gzipped copy of
# /usr/share/trans/de-en. Source it:  source bench/offline_gpu_env.sh WHEELS DING_GZ
wheels=${1:-.whl}
ding=${2:-.gpu/de-en.gz}
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site "$wheels"/*.whl || return 1
export PYTHONPATH=/tmp/site:$PWD/src PATH=/tmp/site/bin:$PATH PYTHONUNBUFFERED=1
if [ ! -e /usr/share/trans/de-en ]; then
    mkdir -p /usr/share/trans && gunzip -c "$ding" > /usr/share/trans/de-en
fi
python3 -c "import torch, transformers, snakemake; print(torch.__version__, transformers.__version__, snakemake.__version__)"
