"""The one place that touches torch's process-wide state: threads and device.

Each worker process calls :func:`configure_worker` before its first run so
that ``jobs × threads`` never exceeds the cores (thread oversubscription is
the main slowdown on small machines).  The compute device is chosen here,
once: ``ALTBENCH_DEVICE`` if set, else CUDA, else MPS, else CPU.
"""

from __future__ import annotations

import functools
import os

import torch


def threads_per_worker(n_jobs: int, cores: int | None = None) -> int:
    """Cores ÷ jobs, at least 1."""
    if cores is None:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, int(cores or 1) // max(1, n_jobs))


def configure_worker(threads: int) -> None:
    """Pin torch (and BLAS through threadpoolctl) to ``threads`` threads."""
    torch.set_num_threads(threads)
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(threads)
    except ImportError:  # pragma: no cover - scikit-learn always brings it
        pass


@functools.cache
def device() -> torch.device:
    """The device every method trains on, chosen once per process."""
    forced = os.environ.get("ALTBENCH_DEVICE")
    if forced:
        return torch.device(forced)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")
