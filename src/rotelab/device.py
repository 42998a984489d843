"""Pick the compute device and thread count for a job."""

from __future__ import annotations

import os

import torch


def pick_device(preference: str = "auto") -> torch.device:
    """``auto`` takes CUDA when a GPU is visible to this job, else the CPU."""
    if preference == "cpu":
        return torch.device("cpu")
    if preference == "cuda" or (preference == "auto" and torch.cuda.is_available()):
        if not torch.cuda.is_available():
            raise RuntimeError("runtime.device is 'cuda' but no GPU is visible to this job")
        return torch.device("cuda")
    return torch.device("cpu")


def set_threads(threads: int | None) -> None:
    """Use exactly the threads Snakemake gave the job (two 1-thread jobs beat one 2-thread)."""
    n = threads or int(os.environ.get("OMP_NUM_THREADS", "0")) or os.cpu_count() or 1
    torch.set_num_threads(max(1, n))
