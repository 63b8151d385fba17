"""Where grid runs execute: one interface, several engines.

An executor maps a function over run configs and yields results as they
finish.  The function only supervises: each run executes in its own child
process (see :mod:`altbench.supervise`), so a worker is cheap.  ``local`` (the
default) supervises ``n_jobs`` runs at a time from threads of the driver;
``dask`` uses
dask.distributed, either an existing scheduler (``--scheduler tcp://HOST:PORT``)
or a LocalCluster it starts.  For HPC, start a dask-jobqueue cluster yourself,
e.g. ``SLURMCluster(cores=2, processes=1, memory="8GB")``, ``cluster.scale(20)``,
and pass its ``cluster.scheduler_address`` as ``--scheduler``.  Every worker must
have altbench importable (same environment) and the results directory on a
shared filesystem.  On exit with an error or interrupt (Ctrl-C, SIGTERM), an
executor kills the runs it started, so no process outlives the driver.
An executor may carry a ``prestart(preload)`` hook: ``local``'s starts the
run processes' fork server before the grid is even parsed (:func:`prestart`).
What a run's process starts with is decided here too (:func:`preload_for`):
torch only for a grid whose plugins use it (:func:`uses_torch`).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import sys
from typing import Any, Callable, Iterable, Iterator

from altbench.registry import DATASETS, EXECUTORS, METHODS, STRATEGIES  # EXECUTORS: entry points altbench.executors

BASE_LATE = ("sklearn.datasets", "sklearn.linear_model", "sklearn.svm", "sklearn.model_selection",
             "sklearn.metrics", "platformdirs", "threadpoolctl", "pyarrow.parquet", "pyarrow.pandas_compat",
             "altbench.device", "altbench.provenance")  # imported late by every run, torch or not
TORCH_LATE = ("torch._dynamo",)  # imported late by torch.optim, by runs that train with torch: 1-2 s
TORCH_RUN = ("torch", *TORCH_LATE)  # added when a grid's plugins use torch (uses_torch below): ~3 s
RUN_BASE = ("altbench.runner", *BASE_LATE)  # what every run's process starts with, whatever its plugins


def prestart(name: str, preload: tuple[str, ...] = RUN_BASE) -> None:
    """Let executor ``name`` start its run processes' imports now, while the caller parses the grid
    and scans its results (``altbench run``: about 0.5 s of a cold call); a no-op for executors
    without a ``prestart`` hook (dask: the workers import)."""
    hook = getattr(EXECUTORS.get(name, None), "prestart", None)
    if hook is not None:
        hook(preload)


def plugin_modules(runs) -> list[str]:
    """Sorted names of the modules defining the datasets, methods and strategies of ``runs`` (imported)."""
    mods = {getattr(reg.get(spec.name), "__module__", None) for cfg in runs
            for reg, spec in ((DATASETS, cfg.dataset), (METHODS, cfg.method), (STRATEGIES, cfg.strategy))}
    return sorted(m for m in mods if m)


def module_uses_torch(name: str) -> bool:
    """Whether plugin module ``name`` uses torch, as it declares it: it imports torch (a ``torch``
    name in its namespace) or names a torch module in its ``PRELOAD`` (torch imported when fitting).
    A method that takes a backbone lives in such a module (altbench's backbones are torch modules)."""
    module = sys.modules.get(name)
    if module is None:
        return False
    return "torch" in vars(module) or any(x.split(".")[0] == "torch" for x in getattr(module, "PRELOAD", ()))


def uses_torch(runs) -> bool:
    """Whether any run of ``runs`` needs torch (one of its plugin modules uses it: :func:`module_uses_torch`)."""
    return any(module_uses_torch(m) for m in plugin_modules(runs))


def preload_for(runs) -> tuple[str, ...]:
    """Modules a run's process starts with (imported once, by the fork server, 3 s saved per run):
    the runner, what runs import late, and altbench's own plugin modules that ``runs`` use, with the
    modules they name in ``PRELOAD`` (heavy ones they import only when fitting).  torch and its late
    imports (:data:`~altbench.executors.TORCH_RUN`) come only if :func:`uses_torch`, so a
    scikit-learn grid starts without torch (~1 s), not in ~5 s."""
    own = [m for m in plugin_modules(runs) if m.split(".")[0] == "altbench"]
    named = [x for m in own for x in getattr(sys.modules.get(m), "PRELOAD", ())]
    torch = TORCH_RUN if uses_torch(runs) else ()
    return tuple(dict.fromkeys((*RUN_BASE, *torch, *own, *named)))


@functools.cache
def _preload_all() -> tuple[str, ...]:
    """The preload of a run started without a grid's (``RunSettings.preload`` empty): every built-in plugin."""
    from altbench.builtins import modules

    builtin = {m for kind in ("methods", "strategies", "datasets") for m in modules(kind)}
    return (*RUN_BASE, *TORCH_RUN, *sorted(builtin))


@EXECUTORS.register(name="local")
@contextlib.contextmanager
def local(n_jobs: int, threads: int, **_: Any) -> Iterator[Callable]:
    """``n_jobs`` supervisor threads in this process (in the calling thread when 1), each with its run process."""
    from concurrent.futures import ThreadPoolExecutor, as_completed

    from altbench import supervise

    pool = ThreadPoolExecutor(max_workers=n_jobs, thread_name_prefix="altbench-supervisor")

    def imap(fn: Callable, items: Iterable) -> Iterator:
        if n_jobs == 1:
            yield from (fn(x) for x in items)
            return
        for fut in as_completed([pool.submit(fn, x) for x in items]):
            yield fut.result()

    try:
        yield imap
    except BaseException:
        supervise.stop_all()  # the supervisors see their runs die and stop too
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        supervise.close_idle()
        supervise.allow_runs()  # the stop was for this grid's runs only


def _prestart_local(preload: tuple[str, ...]) -> None:
    """Start the run processes' fork server early (``run_grid`` calls it before scanning results)."""
    from altbench import supervise

    supervise.prestart(preload)


local.prestart = _prestart_local  # type: ignore[attr-defined]


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


@EXECUTORS.register(name="dask")
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

            futures: list = []

            def imap(fn: Callable, items: Iterable) -> Iterator:
                futures.extend(client.submit(fn, x, pure=False) for x in items)
                for fut in as_completed(futures):
                    yield fut.result()

            try:
                yield imap
            except BaseException:
                client.cancel(futures)  # a LocalCluster's workers, and their runs, also go on close
                raise
