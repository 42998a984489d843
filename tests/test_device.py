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
