"""The one place that touches torch's process-wide state: threads and device.

Each run's process calls :func:`configure_worker` before it starts so
that ``jobs × threads`` never exceeds the cores (thread oversubscription is
the main slowdown on small machines).  The compute device is chosen here,
once: ``ALTBENCH_DEVICE`` if set, else CUDA, else MPS, else CPU.
"""

from __future__ import annotations

import functools
import os


class _Torch:
    """``torch``, imported on first use: the driver (threads, load warning) never pays its 1 s import."""

    def __getattr__(self, name: str):
        import torch

        return getattr(torch, name)


torch = _Torch()


def available_cores() -> int:
    """CPU cores this process may use."""
    n = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return int(n or 1)


def threads_per_worker(n_jobs: int, cores: int | None = None) -> int:
    """Cores ÷ jobs, at least 1."""
    return max(1, int(cores or available_cores()) // max(1, n_jobs))


def resolve_threads(threads: int | None, n_jobs: int, environ=os.environ) -> int:
    """Threads per run: ``threads`` if given, else ``$OMP_NUM_THREADS``, else cores ÷ jobs."""
    if threads:
        return int(threads)
    omp = environ.get("OMP_NUM_THREADS", "").strip()
    if omp.isdigit() and int(omp) > 0:
        return int(omp)
    return threads_per_worker(n_jobs)


def load_warning(wanted: int, load: float | None = None, n_cores: int | None = None) -> str | None:
    """A one-line warning when the machine is already busier than its cores (else None)."""
    n_cores = n_cores or available_cores()
    if load is None:
        try:
            load = os.getloadavg()[0]
        except (OSError, AttributeError):  # not on every platform
            return None
    if load <= n_cores:
        return None
    return (f"the machine is busy: load average {load:.1f} on {n_cores} core(s) before this grid adds "
            f"{wanted} thread(s); runs will be slower (wall times in the run records too); "
            "lower --jobs/--threads or wait")


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
