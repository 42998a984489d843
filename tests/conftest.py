import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

# Tests run single-threaded like the workflow's jobs; it also keeps numbers reproducible.
os.environ.setdefault("OMP_NUM_THREADS", "1")
# Snakemake imports every installed executor plugin; the SLURM one asks `scontrol show config`
# at import, which waits 10 s for a controller when none runs (every dry run in the tests
# paid it). An empty config makes scontrol fail at once; the SLURM test's cluster sets its own.
os.environ.setdefault("SLURM_CONF", "/dev/null")
