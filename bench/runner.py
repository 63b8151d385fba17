"""Run an experiment grid: skip finished runs, execute the rest on an executor.

Each run is independent, claims its own lock, checkpoints after every round
and writes its own files, so a killed grid keeps everything it did and
re-running it redoes at most the interrupted round of each run.

The executor's task (:func:`_task`) only supervises: each run executes in its
own child process (:mod:`altbench.supervise`), so nothing a run does blocks the
grid.  A run over ``--timeout`` is killed and recorded as failed; a run whose
process dies (a signal: segfault, OOM kill) is retried once, from its
checkpoint, then recorded as failed with the cause.  A :class:`StorageError`
(disk full, read-only) stops the grid instead: it is no run's fault.

Cold start: the run processes come from a fork server that imports what every
run needs (:data:`~altbench.executors.RUN_BASE`) plus what the grid's plugins
name, and torch only when one of those plugins uses it (:func:`uses_torch`): a
scikit-learn grid never imports torch, in the driver or in its runs (the run
record's torch kernel fingerprint comes from a cached probe,
:func:`altbench.provenance.torch_kernels`).  ``altbench run`` starts the server
before it parses the config and :func:`run_grid` before it scans the results
directory, so those imports overlap the driver's own work.  Trackers
(TensorBoard, MLflow) are opened by the run's process (:mod:`altbench.tracking`).
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import resource
import time
import traceback
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from altbench import supervise
from altbench.atomic import StorageError
from altbench.config import Experiment, RunConfig, build_plugin
from altbench.datasets import load_dataset
from altbench.executors import (BASE_LATE, EXECUTORS, RUN_BASE, TORCH_LATE, TORCH_RUN,  # noqa: F401 (re-exported)
                                _preload_all, plugin_modules, preload_for, prestart, uses_torch)
from altbench.loop import run_active_learning
from altbench.registry import METHODS, STRATEGIES
from altbench.seeds import Streams
from altbench.store import RunStore, provenance
from altbench.tracking import check_trackers, tracked
from altbench.watch import PHASE, Watcher, progress_lines, run_label, watching

log = logging.getLogger("altbench")


@dataclass(frozen=True)
class RunSettings:
    """How (not what) to run: identical results whatever these are."""

    results_dir: str
    data_dir: str | None = None
    threads: int = 1  # torch/BLAS threads in the run's process
    timeout_s: float | None = None  # per-run wall-clock limit, enforced by the supervisor
    memory_gb: float | None = None  # per-run address-space limit
    log_level: str = "WARNING"
    trackers: tuple[tuple[str, str], ...] = ()  # (tracker, target): ("tensorboard", DIR), ("mlflow", URI)
    preload: tuple[str, ...] = ()  # modules run processes start with (default: every built-in plugin)
    experiment: str = "altbench"  # the grid's name (the MLflow experiment)


@dataclass(frozen=True)
class GridReport:
    done: int  # finished now
    skipped: int  # already finished (or failed, without --retry-failed)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (run id, one-line error)
    busy: int = 0  # claimed by another process


class WorkerLost(RuntimeError):
    """A worker process died (killed, out of memory); finished rounds are kept."""


def configure_logging(level: str) -> None:
    """Route altbench's own log (not the root logger's) to stderr at ``level``."""
    log.setLevel(level)
    if not log.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(message)s"))
        log.addHandler(handler)


@functools.lru_cache(maxsize=8)
def _dataset(name: str, params_json: str, data_dir: str | None, seed: int, content_hash: str = ""):
    """The dataset of a run (cached per process; ``content_hash`` keys it, so edited user data reload)."""
    return load_dataset(name, Path(data_dir) if data_dir else None, rng=Streams(seed).rng("split"),
                        **json.loads(params_json))


@contextlib.contextmanager
def _memory_limit(memory_gb: float | None):
    """RLIMIT_AS address-space limit for one run (restored afterwards)."""
    if not memory_gb:
        yield
        return
    old = resource.getrlimit(resource.RLIMIT_AS)
    resource.setrlimit(resource.RLIMIT_AS, (int(memory_gb * 2**30), old[1]))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, old)


def execute_run(cfg: RunConfig, settings: RunSettings, fresh: bool = False) -> tuple[str, str | None]:
    """Run (or resume) one grid cell in this process; returns (run id, error, or None if done).

    The error "busy" means another process holds the run's lock.  ``settings.timeout_s``
    is not enforced here (only a supervisor outside the run can do that: see :func:`_task`).
    """
    return _claim_then(cfg, settings, fresh, lambda store: _run_claimed(cfg, settings, fresh))


def _claim_then(cfg: RunConfig, settings: RunSettings, fresh: bool, body) -> tuple[str, str | None]:
    """(run id, ``body(store)``) with the run's lock held; "busy" if another process holds it,
    None without calling ``body`` if the run is already finished (and not ``fresh``)."""
    store = RunStore(Path(settings.results_dir))
    with store.claim(cfg.run_id) as mine:
        if not mine:
            return cfg.run_id, "busy"
        if store.is_finished(cfg.run_id) and not fresh:
            return cfg.run_id, None
        return cfg.run_id, body(store)


def _run_claimed(cfg: RunConfig, settings: RunSettings, fresh: bool) -> str | None:
    """The run itself (its lock is held): None when finished, else the recorded one-line error."""
    from altbench.device import configure_worker, late_imports_pinned

    configure_worker(settings.threads, with_torch=uses_torch([cfg]))  # torch threads only for a torch run
    configure_logging(settings.log_level)
    store = RunStore(Path(settings.results_dir))
    run_id, label = cfg.run_id, run_label(cfg)  # both hash the config: once per run, not per round
    started = datetime.now(timezone.utc).isoformat()
    done = store.checkpoint(run_id, fresh=fresh)
    try:
        with tracked(settings.trackers, cfg, settings.experiment) as track, _memory_limit(settings.memory_gb), \
                watching(store.path(run_id, PHASE), label), late_imports_pinned(settings.threads):
            def on_round(rec: dict) -> None:
                store.append_round(run_id, rec)
                log.info("run %s round %d: %d labels, accuracy %.4f", label, rec["round"],
                         rec["n_labelled"], rec["accuracy"])
                track(rec)

            dataset = _dataset(cfg.dataset.name, json.dumps(cfg.dataset.params, sort_keys=True),
                               settings.data_dir, cfg.seed, cfg.dataset.content_hash)
            method = build_plugin(METHODS, cfg.method)
            strategy = build_plugin(STRATEGIES, cfg.strategy)
            records = run_active_learning(dataset, method, strategy, cfg.budget, Streams(cfg.seed),
                                          names=(cfg.method.key(), cfg.strategy.key()),
                                          on_round=on_round, resume=done)
        identity = {"dataset": cfg.dataset.key(), "method": cfg.method.key(),
                    "strategy": cfg.strategy.key(), "seed": cfg.seed}
        meta = {"run_id": run_id, "config": cfg.to_dict(), "provenance": provenance(settings.threads),
                "started": started, "finished": datetime.now(timezone.utc).isoformat(),
                "resumed_at_round": len(done)}
        store.finish(run_id, identity, records, meta)
        return None
    except StorageError:  # not the run's fault, and recording it would fail too: stop the grid
        raise
    except Exception as exc:  # isolate: record it, let the grid go on
        if isinstance(exc, MemoryError):
            exc = MemoryError(f"run exceeded its memory limit of {settings.memory_gb} GB; raise --memory-gb")
        msg = f"{type(exc).__name__}: {exc}".splitlines()[0]
        store.fail(run_id, cfg.to_dict(), msg, traceback.format_exc())
        return msg


def _task(item: tuple[RunConfig, RunSettings, bool]) -> tuple[str, str | None]:
    """The executor's task: claim the run, then supervise it in a child process (see module doc)."""
    cfg, settings, fresh = item
    return _claim_then(cfg, settings, fresh, lambda store: _supervise(cfg, settings, fresh, store))


def _supervise(cfg: RunConfig, settings: RunSettings, fresh: bool, store: RunStore) -> str | None:
    """Run in a child; retry once (from the checkpoint) if it dies; record a death or overrun."""
    for attempt in (1, 2):
        end = supervise.run_in_child(_run_claimed, (cfg, settings, fresh and attempt == 1), settings.timeout_s,
                                     preload=settings.preload or _preload_all())
        if end.timed_out:
            msg = (f"RunTimeout: run exceeded its time limit of {settings.timeout_s:g} s; "
                   "raise --timeout or shrink the run")
            detail = f"No Python traceback: the supervisor killed the run's process after {settings.timeout_s:g} s."
            break
        if not end.died:
            return end.value
        msg = f"WorkerDied: the run's process {end.cause()}, also when retried"
        detail = (f"No Python traceback: the run's process ended abnormally on attempt {attempt} of 2 "
                  f"({end.cause()}). Rounds finished before that are kept in the checkpoint.")
        log.warning("run %s: process %s (attempt %d of 2)", run_label(cfg), end.cause(), attempt)
    store.fail(cfg.run_id, cfg.to_dict(), msg, detail)
    return msg


def select_runs(exp: Experiment, store: RunStore, *, force: bool, retry_failed: bool) -> list[RunConfig]:
    """Runs to execute: all with ``force``; failed only with ``retry_failed``; else unfinished, unfailed."""
    if force:
        return list(exp.runs)
    if retry_failed:
        return [r for r in exp.runs if store.is_failed(r.run_id) and not store.is_finished(r.run_id)]
    return [r for r in exp.runs if not store.is_finished(r.run_id) and not store.is_failed(r.run_id)]


def run_grid(exp: Experiment, *, force: bool = False, retry_failed: bool = False, n_jobs: int | None = None,
             data_dir: Path | None = None, progress: bool = True, executor: str = "local",
             scheduler: str | None = None, timeout_s: float | None = None, memory_gb: float | None = None,
             log_level: str = "WARNING", tensorboard_dir: str | None = None, mlflow_uri: str | None = None,
             threads: int | None = None) -> GridReport:
    """Execute the selected runs of ``exp`` on ``executor``; see :func:`select_runs`.

    ``threads`` per run defaults to ``$OMP_NUM_THREADS``, else cores ÷ jobs.  ``tensorboard_dir`` /
    ``mlflow_uri``: also log each run there (:mod:`altbench.tracking`).  Raises
    :class:`StorageError` (finished runs kept) when the results directory cannot be written.
    """
    configure_logging(log_level)
    if executor not in EXECUTORS:
        raise ValueError(f"unknown executor {executor!r}; choose one of {', '.join(sorted(EXECUTORS))}")
    trackers = tuple((k, v) for k, v in (("tensorboard", tensorboard_dir), ("mlflow", mlflow_uri)) if v)
    check_trackers(trackers)
    store = RunStore(exp.results_dir)
    preload: tuple[str, ...] = ()
    if force or any(not store.is_finished(r.run_id) for r in exp.runs):  # something to run: its processes'
        preload = preload_for(exp.runs)  # start-up imports begin now, beside the results scan below
        prestart(executor, preload)
        if "torch" not in preload:  # runs without torch read its kernel info from a cache: fill it now
            from altbench.provenance import prefetch_torch_kernels

            prefetch_torch_kernels()
    from tqdm.auto import tqdm

    from altbench.device import load_warning, resolve_threads

    store.root.mkdir(parents=True, exist_ok=True)
    (store.root / "experiment.json").write_text(json.dumps(exp.resolved, indent=1, sort_keys=True))
    todo = select_runs(exp, store, force=force, retry_failed=retry_failed)
    with open(store.root / "invocations.jsonl", "a") as f:  # history, when several (partial) grids share a dir
        f.write(json.dumps({"when": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                            "experiment": exp.resolved, "runs": len(exp.runs), "selected": len(todo),
                            "force": force, "retry_failed": retry_failed}, sort_keys=True) + "\n")
    if not todo:
        supervise.stop_server_if_idle()  # `altbench run` started it before it knew
    jobs = max(1, min(n_jobs or exp.n_jobs, len(todo) or 1))
    settings = RunSettings(str(exp.results_dir), str(data_dir) if data_dir else None,
                           resolve_threads(threads, jobs), timeout_s, memory_gb, log_level, trackers, preload,
                           exp.name)
    if todo and (busy_cpu := load_warning(jobs * settings.threads)):
        log.warning(busy_cpu)
    failed, busy = [], 0
    t0 = time.perf_counter()
    watcher = Watcher(store, todo, time.time())  # one line per run in flight, under the bar (altbench.watch)
    with tqdm(total=len(todo), desc=exp.name, unit="run", disable=not progress) as bar, \
            EXECUTORS[executor](n_jobs=jobs, threads=settings.threads, scheduler=scheduler) as imap, \
            progress_lines(bar, watcher, jobs):
        try:
            for run_id, err in imap(_task, [(r, settings, force) for r in todo]):
                who = watcher.done(run_id)  # the run's readable label
                if err == "busy":
                    busy += 1
                elif err is not None:
                    failed.append((run_id, err))
                    bar.write(f"run {who} failed: {err}")
                bar.update(1)
        except (KeyboardInterrupt, StorageError):
            raise
        except Exception as exc:  # dask KilledWorker, a lost connection, ...
            first = str(exc).splitlines()[0] if str(exc) else ""
            raise WorkerLost(f"a worker died ({type(exc).__name__}: {first[:160]}); "
                             "finished runs and rounds are kept, re-run the same command to resume") from None
    log.info("grid %s: %d runs in %.1f s", exp.name, len(todo), time.perf_counter() - t0)
    return GridReport(len(todo) - len(failed) - busy, len(exp.runs) - len(todo), failed, busy)


def grid_status(exp: Experiment) -> dict[str, int]:
    """Counts of done / failed / running-or-interrupted / pending runs of ``exp``."""
    store = RunStore(exp.results_dir)
    counts = {"done": 0, "failed": 0, "partial": 0, "pending": 0}
    for r in exp.runs:
        state = store.verify(r.run_id)  # a corrupt results file is moved aside: re-run by `run`
        if state == "ok":
            counts["done"] += 1
        elif store.is_failed(r.run_id):
            counts["failed"] += 1
        elif state == "corrupt":
            counts["corrupt"] = counts.get("corrupt", 0) + 1  # only when there are any
        elif store.rounds_done(r.run_id):
            counts["partial"] += 1
        else:
            counts["pending"] += 1
    return counts
