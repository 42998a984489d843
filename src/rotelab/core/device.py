"""Pick the compute device and thread count for a job.

Snakemake counts GPUs (the ``gpu`` resource) but, run locally, does not say which GPU a job
gets: two GPU jobs on a two-GPU machine would both land on ``cuda:0``. So each job claims a
GPU slot itself: an exclusive ``flock`` on a per-GPU lock file, held until the process
exits. Lock files are named by the GPU's UUID, so jobs that see different
``CUDA_VISIBLE_DEVICES`` subsets (SLURM hands each job its own) agree on what is taken.

Small models leave most of an H200 idle, so ``ROTELAB_JOBS_PER_GPU=k`` gives every GPU k
slots (jobs spread over the GPUs first); run Snakemake with ``--resources gpu=<k x GPUs>``.

The lock files live in a directory of this user's own (mode 0700, checked on every claim) and
are opened without following symbolic links: on a shared host another user can neither make
a job write through a planted link nor hold a slot to block every job. A job that finds every
slot held waits at most ``ROTELAB_GPU_WAIT_S`` seconds (default one hour), then fails naming
the processes that hold them.
"""

from __future__ import annotations

import errno
import fcntl
import os
import stat
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch


LOCK_DIR_ENV = "ROTELAB_GPU_LOCK_DIR"
JOBS_PER_GPU_ENV = "ROTELAB_JOBS_PER_GPU"
WAIT_ENV = "ROTELAB_GPU_WAIT_S"
DEFAULT_WAIT_S = 3600.0
_held: list = []  # open lock files: a slot is ours while its descriptor stays open


def pick_device(preference: str = "auto") -> torch.device:
    """``auto`` takes CUDA when a GPU is visible to this job, else the CPU. On CUDA the
    job claims a free GPU slot (see the module docstring) and makes it the current device."""
    import torch  # here, not at the top: the workflow imports this module without torch

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
    import torch

    ids = []
    for i in range(torch.cuda.device_count()):
        uuid = getattr(torch.cuda.get_device_properties(i), "uuid", None)
        ids.append(str(uuid) if uuid else f"index-{i}")
    return ids


def claim_gpu(poll_s: float = 2.0) -> int:
    """Index (among the visible GPUs) of the slot this process holds; claimed once, then
    reused. Waits while every GPU is held by other jobs (more GPU jobs than GPUs, e.g. a
    local run without ``--resources gpu=N``), at most ``ROTELAB_GPU_WAIT_S`` seconds."""
    import torch

    if _held:  # slot s is on GPU s mod (number of GPUs), see below
        return _held[0][0] % torch.cuda.device_count()
    ids = gpu_ids()
    slots = gpu_slots(ids, int(os.environ.get(JOBS_PER_GPU_ENV, "1")))
    wait_s = float(os.environ.get(WAIT_ENV, DEFAULT_WAIT_S))
    slot = wait_for_slot(slots, lock_directory(), poll_s, wait_s)
    index = slot % len(ids)
    print(
        f"rotelab: GPU slot {slot} on GPU {index} ({torch.cuda.get_device_name(index)}, {ids[index]}) "
        f"for pid {os.getpid()}",
        flush=True,
    )
    return index


def lock_directory() -> Path:
    """This user's directory of GPU lock files: ``ROTELAB_GPU_LOCK_DIR``, else
    ``rotelab-gpu-locks-<uid>`` in ``$XDG_RUNTIME_DIR`` or the temp directory."""
    if os.environ.get(LOCK_DIR_ENV):
        return Path(os.environ[LOCK_DIR_ENV])
    base = os.environ.get("XDG_RUNTIME_DIR") or tempfile.gettempdir()
    return Path(base) / f"rotelab-gpu-locks-{os.getuid()}"


def private_directory(path: Path) -> Path:
    """``path``, created mode 0700 if missing; refused when it is a link, not a directory,
    owned by another user or open to others, since its lock files decide who gets a GPU."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = os.lstat(path)
    if not stat.S_ISDIR(info.st_mode):
        raise RuntimeError(f"GPU lock directory {path} is not a directory (a symbolic link?); remove it")
    if info.st_uid != os.getuid():
        raise RuntimeError(f"GPU lock directory {path} belongs to uid {info.st_uid}, not to you; set {LOCK_DIR_ENV}")
    if info.st_mode & 0o077:
        raise RuntimeError(
            f"GPU lock directory {path} is open to other users (mode {stat.S_IMODE(info.st_mode):o}); "
            f"chmod 700 it or set {LOCK_DIR_ENV}"
        )
    return path


def wait_for_slot(slots: list[str], lock_dir: Path, poll_s: float, wait_s: float) -> int:
    """Claim the first free slot, polling every ``poll_s`` seconds for at most ``wait_s``."""
    deadline = time.monotonic() + wait_s
    waited = False
    while True:
        slot = claim_slot(slots, lock_dir)
        if slot is not None:
            return slot
        if time.monotonic() >= deadline:
            raise TimeoutError(
                f"no GPU slot came free in {wait_s:g} s ({WAIT_ENV}); held by: {slot_holders(slots, lock_dir)}"
            )
        if not waited:
            print(f"rotelab: all {len(slots)} GPU slots are held by other jobs; waiting", flush=True)
            waited = True
        time.sleep(poll_s)


def slot_holders(slots: list[str], lock_dir: Path) -> str:
    """Each slot with the pid its holder wrote into the lock, and that process's command."""
    described = []
    for gpu in slots:
        try:
            with _open_lock(lock_dir / f"{gpu}.lock") as handle:
                pid = handle.read().strip()
        except OSError:
            pid = ""
        command = ""
        if pid.isdigit():
            try:
                command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                pass
        described.append(f"{gpu}: pid {pid or '?'}" + (f" ({command.strip()[:120]})" if command.strip() else ""))
    return "; ".join(described)


def _open_lock(path: Path):
    """A lock file opened read-write, created mode 0600, never through a symbolic link."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise RuntimeError(f"GPU lock file {path} is a symbolic link; refusing to follow it") from exc
        raise
    return os.fdopen(fd, "r+")


def gpu_slots(ids: list[str], per_gpu: int) -> list[str]:
    """Lock names of ``per_gpu`` slots on every GPU, ordered so that slot s is on GPU
    s mod len(ids): jobs fill every GPU once before any GPU gets a second job."""
    return [gpu if k == 0 else f"{gpu}.{k}" for k in range(max(1, per_gpu)) for gpu in ids]


def claim_slot(ids: list[str], lock_dir: Path) -> int | None:
    """Try each slot in order; lock the first free one and keep it. None if all are held."""
    private_directory(lock_dir)
    for index, gpu in enumerate(ids):
        handle = _open_lock(lock_dir / f"{gpu}.lock")
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
    import torch

    n = threads or int(os.environ.get("OMP_NUM_THREADS", "0")) or os.cpu_count() or 1
    torch.set_num_threads(max(1, n))
