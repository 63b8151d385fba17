"""Run an experiment grid: skip finished runs, execute the rest in a pool.

Each run is independent and writes its own files, so a killed grid keeps
everything it finished, and re-running it only does what is missing.
"""

from __future__ import annotations

import functools
import json
import traceback
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from bench.config import Experiment, RunConfig, build_plugin
from bench.datasets import load_dataset
from bench.device import configure_worker, threads_per_worker
from bench.loop import run_active_learning
from bench.registry import DATASETS, METHODS, STRATEGIES
from bench.seeds import Streams
from bench.store import RunStore, provenance


@dataclass(frozen=True)
class GridReport:
    done: int  # finished now
    skipped: int  # already finished before
    failed: list[tuple[str, str]]  # (run id, one-line error)


@functools.lru_cache(maxsize=8)
def _dataset(name: str, params_json: str, data_dir: str | None, seed: int):
    streams = Streams(seed)
    return load_dataset(name, Path(data_dir) if data_dir else None, rng=streams.rng("split"),
                        **json.loads(params_json))


def execute_run(cfg: RunConfig, results_dir: str, data_dir: str | None, threads: int) -> tuple[str, str | None]:
    """Run one grid cell in this process and store it; returns (run id, error or None)."""
    configure_worker(threads)
    store = RunStore(Path(results_dir))
    run_id = cfg.run_id
    store.start(run_id)
    started = datetime.now(timezone.utc).isoformat()
    try:
        dataset = _dataset(cfg.dataset.name, json.dumps(cfg.dataset.params, sort_keys=True), data_dir, cfg.seed)
        method = build_plugin(METHODS, cfg.method)
        strategy = build_plugin(STRATEGIES, cfg.strategy)
        records = run_active_learning(dataset, method, strategy, cfg.budget, Streams(cfg.seed),
                                      names=(cfg.method.key(), cfg.strategy.key()),
                                      on_round=lambda rec: store.append_round(run_id, rec))
        identity = {"dataset": cfg.dataset.key(), "method": cfg.method.key(),
                    "strategy": cfg.strategy.key(), "seed": cfg.seed}
        meta = {"run_id": run_id, "config": cfg.to_dict(), "provenance": provenance(threads),
                "started": started, "finished": datetime.now(timezone.utc).isoformat()}
        store.finish(run_id, identity, records, meta)
        return run_id, None
    except Exception as exc:  # isolate: record it, let the grid go on
        msg = f"{type(exc).__name__}: {exc}".splitlines()[0]
        store.fail(run_id, cfg.to_dict(), msg, traceback.format_exc())
        return run_id, msg


def run_grid(exp: Experiment, *, force: bool = False, n_jobs: int | None = None,
             data_dir: Path | None = None, progress: bool = True) -> GridReport:
    """Execute every pending run of ``exp``; finished runs are skipped unless ``force``."""
    from joblib import Parallel, delayed
    from tqdm.auto import tqdm

    store = RunStore(exp.results_dir)
    store.root.mkdir(parents=True, exist_ok=True)
    (store.root / "experiment.json").write_text(json.dumps(exp.resolved, indent=1, sort_keys=True))
    pending = [r for r in exp.runs if force or not store.is_finished(r.run_id)]
    skipped = len(exp.runs) - len(pending)
    jobs = max(1, min(n_jobs or exp.n_jobs, len(pending) or 1))
    threads = threads_per_worker(jobs)
    args = (str(exp.results_dir), str(data_dir) if data_dir else None, threads)
    bar = tqdm(total=len(pending), desc=exp.name, unit="run", disable=not progress)
    failed = []
    if jobs == 1:
        results = (execute_run(r, *args) for r in pending)
    else:
        results = Parallel(n_jobs=jobs, backend="loky", return_as="generator_unordered")(
            delayed(execute_run)(r, *args) for r in pending)
    for run_id, err in results:
        if err is not None:
            failed.append((run_id, err))
            bar.write(f"run {run_id} failed: {err}")
        bar.update(1)
    bar.close()
    return GridReport(len(pending) - len(failed), skipped, failed)


def plugin_names() -> dict[str, list[str]]:
    """Every registered plugin name, by kind (for listings)."""
    return {r.kind: r.names() for r in (STRATEGIES, METHODS, DATASETS)}
