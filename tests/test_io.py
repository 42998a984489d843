"""Atomic writes: permissions follow the umask, and an interrupted write's leftovers go."""

import os
import signal
import stat
import subprocess
import sys

import pandas as pd

from rotelab.core.io import atomic_dir, write_parquet, write_text

KILLED_WRITER = """
import sys, time
from rotelab.core.io import atomic_dir, atomic_path
with atomic_path(sys.argv[1]) as tmp:
    tmp.write_text("half")
    with atomic_dir(sys.argv[2]) as d:
        (d / "weights").write_text("half")
        print("writing", flush=True)
        time.sleep(60)
"""


def test_outputs_get_the_users_umask(tmp_path):
    old = os.umask(0o027)
    try:
        write_parquet(pd.DataFrame({"a": [1]}), tmp_path / "t.parquet")
        write_text("x", tmp_path / "t.txt")
        with atomic_dir(tmp_path / "model") as d:
            (d / "w").write_text("w")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "t.parquet").stat().st_mode) == 0o640
    assert stat.S_IMODE((tmp_path / "t.txt").stat().st_mode) == 0o640
    assert stat.S_IMODE((tmp_path / "model").stat().st_mode) == 0o750


def test_a_killed_write_leaves_temporaries_that_the_next_write_removes(tmp_path):
    table, model = tmp_path / "scores.parquet", tmp_path / "model"
    writer = subprocess.Popen([sys.executable, "-c", KILLED_WRITER, str(table), str(model)], stdout=subprocess.PIPE)
    assert writer.stdout.readline().strip() == b"writing"
    writer.send_signal(signal.SIGKILL)
    writer.wait()
    left = sorted(p.name for p in tmp_path.iterdir())
    assert len(left) == 2 and all(name.startswith(".") and name.endswith(".tmp") for name in left)
    assert not table.exists() and not model.exists()
    # a neighbour whose name extends the target's keeps its own temporary
    neighbour = tmp_path / ".scores.parquet.bak.abcdefgh.tmp"
    neighbour.write_text("not ours")

    write_parquet(pd.DataFrame({"a": [1]}), table)
    with atomic_dir(model) as d:
        (d / "weights").write_text("done")
    assert sorted(p.name for p in tmp_path.iterdir()) == [neighbour.name, "model", "scores.parquet"]
    assert (model / "weights").read_text() == "done"
