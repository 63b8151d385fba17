"""Where grid runs execute: one interface, several engines.

An executor maps a function over run configs and yields results as they
finish.  ``local`` is a joblib/loky process pool (the default); ``dask`` uses
dask.distributed, either an existing scheduler (``--scheduler tcp://HOST:PORT``)
or a LocalCluster it starts.  For HPC, start a dask-jobqueue cluster yourself,
e.g. ``SLURMCluster(cores=2, processes=1, memory="8GB")``, ``cluster.scale(20)``,
and pass its ``cluster.scheduler_address`` as ``--scheduler``.  Every worker must
have altbench importable (same environment) and the results directory on a
shared filesystem.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any, Callable, Iterable, Iterator

EXECUTORS: dict[str, Callable[..., contextlib.AbstractContextManager]] = {}


def executor(name: str):
    def add(fn):
        EXECUTORS[name] = fn
        return fn

    return add


@executor("local")
@contextlib.contextmanager
def local(n_jobs: int, threads: int, **_: Any) -> Iterator[Callable]:
    """joblib/loky process pool with ``n_jobs`` workers (in-process when 1)."""
    from joblib import Parallel, delayed

    def imap(fn: Callable, items: Iterable) -> Iterator:
        items = list(items)
        if n_jobs == 1:
            return (fn(x) for x in items)
        return Parallel(n_jobs=n_jobs, backend="loky", return_as="generator_unordered")(
            delayed(fn)(x) for x in items)

    yield imap


@contextlib.contextmanager
def _restore_level(logger: logging.Logger, level: int) -> Iterator[None]:
    try:
        yield
    finally:
        logger.setLevel(level)


def dask_worker_config(threads: int) -> dict:
    """dask config for torch workers.

    dask's nanny sets ``MALLOC_TRIM_THRESHOLD_`` before spawning workers; any
    explicit value switches off glibc's dynamic mmap threshold, so torch's
    many large temporary tensors are mmap'ed and unmapped one by one, which
    makes training several times slower.  ``None`` removes it.  BLAS/OpenMP
    threads follow altbench's cores ÷ workers rule instead of dask's 1.
    """
    env = {"MALLOC_TRIM_THRESHOLD_": None, "OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads,
           "OPENBLAS_NUM_THREADS": threads}
    return {"distributed.nanny.pre-spawn-environ": env}


@executor("dask")
@contextlib.contextmanager
def dask(n_jobs: int, threads: int, scheduler: str | None = None, **_: Any) -> Iterator[Callable]:
    """dask.distributed: connect to ``scheduler`` or start a LocalCluster on 127.0.0.1."""
    import dask.config
    from distributed import Client, LocalCluster, as_completed

    quiet = logging.getLogger("altbench").getEffectiveLevel() > logging.INFO
    dist_log = logging.getLogger("distributed")
    old_level = dist_log.level
    if quiet:  # dask logs every scheduler/worker event at INFO
        dist_log.setLevel(logging.WARNING)
    with dask.config.set(dask_worker_config(threads)), _restore_level(dist_log, old_level):
        with contextlib.ExitStack() as stack:
            if scheduler:
                client = stack.enter_context(Client(scheduler))
            else:
                cluster = stack.enter_context(LocalCluster(
                    n_workers=n_jobs, threads_per_worker=1, processes=True, host="127.0.0.1",
                    dashboard_address=None, silence_logs=logging.WARNING))
                client = stack.enter_context(Client(cluster))

            def imap(fn: Callable, items: Iterable) -> Iterator:
                futures = [client.submit(fn, x, pure=False) for x in items]
                for fut in as_completed(futures):
                    yield fut.result()

            yield imap
