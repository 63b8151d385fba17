"""The one place that touches torch's process-wide state: threads and device.

Each run's process calls :func:`configure_worker` before it starts so
that ``jobs × threads`` never exceeds the cores (thread oversubscription is
the main slowdown on small machines).  The compute device is chosen here,
once: ``ALTBENCH_DEVICE`` if set, else CUDA, else MPS, else CPU.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
from typing import Iterator


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


def configure_worker(threads: int, with_torch: bool = True) -> None:
    """Pin BLAS/OpenMP (threadpoolctl) and torch to ``threads`` threads.

    torch is pinned when ``with_torch`` (imported if need be) or when it is already
    loaded; a run whose plugins do not use torch passes False and never imports it
    (its BLAS is pinned all the same, see :func:`torch_threads`; a torch imported
    later anyway is pinned by :func:`late_imports_pinned`).
    """
    _configured[:] = [int(threads)]
    if with_torch or "torch" in sys.modules:
        torch.set_num_threads(threads)
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(threads)
    except ImportError:  # pragma: no cover - scikit-learn always brings it
        pass


@contextlib.contextmanager
def late_imports_pinned(threads: int) -> Iterator[None]:
    """``OMP_NUM_THREADS`` and ``MKL_NUM_THREADS`` = ``threads`` inside the block (restored after), so
    that a torch first imported there (a run whose plugins' modules do not declare torch, e.g. a
    wrapper method with a torch base) starts with that many threads (at most the cores)."""
    old = {k: os.environ.get(k) for k in LATE_ENV}
    os.environ.update(dict.fromkeys(LATE_ENV, str(int(threads))))
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


LATE_ENV = ("OMP_NUM_THREADS", "MKL_NUM_THREADS")  # read by torch's (and OpenMP's) start-up


def torch_threads() -> int:
    """torch's thread count: asked of torch when it is loaded, else the count :func:`configure_worker`
    set for this process (what torch gets if it is pinned), else torch's default (it imports torch)."""
    if "torch" in sys.modules or not _configured:
        return int(torch.get_num_threads())
    return _configured[0]


_configured: list[int] = []  # [threads] of the last configure_worker call in this process


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
