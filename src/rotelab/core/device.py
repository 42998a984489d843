"""Pick the compute device and thread count for a job.

Snakemake counts GPUs (the ``gpu`` resource) but, run locally, does not say which GPU a job
gets: two GPU jobs on a two-GPU machine would both land on ``cuda:0``. So each job claims a
GPU slot itself: an exclusive ``flock`` on a per-GPU lock file, held until the process
exits. Lock files are named by the GPU's UUID, so jobs that see different
``CUDA_VISIBLE_DEVICES`` subsets (SLURM hands each job its own) agree on what is taken.

Small models leave most of an H200 idle, so ``ROTELAB_JOBS_PER_GPU=k`` gives every GPU k
slots (jobs spread over the GPUs first); run Snakemake with ``--resources gpu=<k x GPUs>``.
"""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path

import torch

LOCK_DIR_ENV = "ROTELAB_GPU_LOCK_DIR"
JOBS_PER_GPU_ENV = "ROTELAB_JOBS_PER_GPU"
_held: list = []  # open lock files: a slot is ours while its descriptor stays open


def pick_device(preference: str = "auto") -> torch.device:
    """``auto`` takes CUDA when a GPU is visible to this job, else the CPU. On CUDA the
    job claims a free GPU slot (see the module docstring) and makes it the current device."""
    if preference == "cpu":
        return torch.device("cpu")
    if preference == "cuda" or (preference == "auto" and torch.cuda.is_available()):
        if not torch.cuda.is_available():
            raise RuntimeError("runtime.device is 'cuda' but no GPU is visible to this job")
        index = claim_gpu()
        torch.cuda.set_device(index)
        return torch.device("cuda", index)
    return torch.device("cpu")


def gpu_ids() -> list[str]:
    """A host-wide identity for every visible GPU (its UUID where torch reports one)."""
    ids = []
    for i in range(torch.cuda.device_count()):
        uuid = getattr(torch.cuda.get_device_properties(i), "uuid", None)
        ids.append(str(uuid) if uuid else f"index-{i}")
    return ids


def claim_gpu(poll_s: float = 2.0) -> int:
    """Index (among the visible GPUs) of the slot this process holds; claimed once, then
    reused. Waits while every GPU is held by other jobs (more GPU jobs than GPUs, e.g. a
    local run without ``--resources gpu=N``)."""
    if _held:  # slot s is on GPU s mod (number of GPUs), see below
        return _held[0][0] % torch.cuda.device_count()
    ids = gpu_ids()
    slots = gpu_slots(ids, int(os.environ.get(JOBS_PER_GPU_ENV, "1")))
    lock_dir = Path(os.environ.get(LOCK_DIR_ENV, "/tmp/rotelab-gpu-locks"))
    waited = False
    while True:
        slot = claim_slot(slots, lock_dir)
        if slot is not None:
            index = slot % len(ids)
            print(
                f"rotelab: GPU slot {slot} on GPU {index} ({torch.cuda.get_device_name(index)}, {ids[index]}) "
                f"for pid {os.getpid()}",
                flush=True,
            )
            return index
        if not waited:
            print(f"rotelab: all {len(slots)} GPU slots are held by other jobs; waiting", flush=True)
            waited = True
        time.sleep(poll_s)


def gpu_slots(ids: list[str], per_gpu: int) -> list[str]:
    """Lock names of ``per_gpu`` slots on every GPU, ordered so that slot s is on GPU
    s mod len(ids): jobs fill every GPU once before any GPU gets a second job."""
    return [gpu if k == 0 else f"{gpu}.{k}" for k in range(max(1, per_gpu)) for gpu in ids]


def claim_slot(ids: list[str], lock_dir: Path) -> int | None:
    """Try each slot in order; lock the first free one and keep it. None if all are held."""
    lock_dir.mkdir(parents=True, exist_ok=True)
    for index, gpu in enumerate(ids):
        handle = open(lock_dir / f"{gpu}.lock", "a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            continue
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        _held.append((index, handle))
        return index
    return None


def release_slots() -> None:
    """Give back every slot this process holds (exit does the same)."""
    while _held:
        _held.pop()[1].close()


def set_threads(threads: int | None) -> None:
    """Use exactly the threads Snakemake gave the job (two 1-thread jobs beat one 2-thread)."""
    n = threads or int(os.environ.get("OMP_NUM_THREADS", "0")) or os.cpu_count() or 1
    torch.set_num_threads(max(1, n))
