"""GPU slots: concurrent jobs on one host never share a GPU (simulated with lock files,
so it runs without GPUs; the two-GPU demonstration is in docs/running.md)."""

import subprocess
import sys
import time

from rotelab.core.device import claim_slot, release_slots

HOLDER = """
import sys, time
from pathlib import Path
from rotelab.core.device import claim_slot
print(claim_slot(sys.argv[1].split(","), Path(sys.argv[2])), flush=True)
time.sleep(float(sys.argv[3]))
"""


def hold(ids, lock_dir, seconds):
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, ",".join(ids), str(lock_dir), str(seconds)], stdout=subprocess.PIPE, text=True
    )
    return proc, proc.stdout.readline().strip()


def test_each_job_gets_its_own_gpu_and_slots_free_on_exit(tmp_path):
    ids = ["GPU-aaaa", "GPU-bbbb"]
    first, slot_a = hold(ids, tmp_path, 30)
    second, slot_b = hold(ids, tmp_path, 30)
    third, slot_c = hold(ids, tmp_path, 0)
    assert (slot_a, slot_b, slot_c) == ("0", "1", "None")  # a third job finds both taken
    assert (tmp_path / "GPU-aaaa.lock").read_text().strip() == str(first.pid)
    first.kill()
    first.wait()
    time.sleep(0.1)
    assert claim_slot(ids, tmp_path) == 0  # the killed job's slot is free again
    release_slots()
    second.kill()
    second.wait()
    third.wait()


def test_several_slots_per_gpu_spread_over_the_gpus_first():
    from rotelab.core.device import gpu_slots

    assert gpu_slots(["a", "b"], 1) == ["a", "b"]
    slots = gpu_slots(["a", "b"], 3)
    assert slots == ["a", "b", "a.1", "b.1", "a.2", "b.2"]
    assert [s.split(".")[0] for s in slots] == [["a", "b"][i % 2] for i in range(6)]


def test_lock_directory_is_private_to_its_user(tmp_path, monkeypatch):
    import os
    import stat

    import pytest

    from rotelab.core.device import LOCK_DIR_ENV, lock_directory, private_directory

    monkeypatch.delenv(LOCK_DIR_ENV, raising=False)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    assert lock_directory() == tmp_path / f"rotelab-gpu-locks-{os.getuid()}"
    made = private_directory(lock_directory())
    assert stat.S_IMODE(made.stat().st_mode) == 0o700

    shared = tmp_path / "shared"
    shared.mkdir(mode=0o777)
    shared.chmod(0o777)
    with pytest.raises(RuntimeError, match="open to other users"):
        claim_slot(["GPU-a"], shared)
    assert not (shared / "GPU-a.lock").exists()

    planted = tmp_path / "planted"
    planted.symlink_to(made)
    with pytest.raises(RuntimeError, match="not a directory"):
        private_directory(planted)

    if os.geteuid() == 0:  # only root can hand a directory to another user
        theirs = tmp_path / "theirs"
        theirs.mkdir(mode=0o700)
        os.chown(theirs, 4321, -1)
        with pytest.raises(RuntimeError, match="belongs to uid 4321"):
            private_directory(theirs)


def test_lock_files_are_created_private_and_never_followed(tmp_path):
    import stat

    import pytest

    locks = tmp_path / "locks"
    assert claim_slot(["GPU-a"], locks) == 0
    assert stat.S_IMODE((locks / "GPU-a.lock").stat().st_mode) == 0o600
    release_slots()

    victim = tmp_path / "victim.txt"
    victim.write_text("someone's data\n")
    (locks / "GPU-b.lock").symlink_to(victim)
    with pytest.raises(RuntimeError, match="symbolic link"):
        claim_slot(["GPU-b"], locks)
    assert victim.read_text() == "someone's data\n"


def test_a_job_waits_for_a_slot_only_so_long_and_names_the_holders(tmp_path):
    import pytest

    from rotelab.core.device import wait_for_slot

    ids = ["GPU-aaaa"]
    holder, slot = hold(ids, tmp_path, 30)
    assert slot == "0"
    start = time.monotonic()
    with pytest.raises(TimeoutError) as failure:
        wait_for_slot(ids, tmp_path, poll_s=0.05, wait_s=0.3)
    assert 0.3 <= time.monotonic() - start < 5
    message = str(failure.value)
    assert f"GPU-aaaa: pid {holder.pid}" in message and "ROTELAB_GPU_WAIT_S" in message
    assert "-c" in message  # the holder's command line
    holder.kill()
    holder.wait()
    time.sleep(0.1)
    assert wait_for_slot(ids, tmp_path, poll_s=0.05, wait_s=0.3) == 0
    release_slots()
