import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

# Tests run single-threaded like the workflow's jobs; it also keeps numbers reproducible.
os.environ.setdefault("OMP_NUM_THREADS", "1")
