"""Crash-safe resume, failure isolation, concurrency and executors (dask)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from altbench.config import load_experiment
from conftest import plugin_dir
from altbench.runner import grid_status, run_grid
from altbench.store import RunStore

SLOW = '''
import time
import numpy as np
from altbench.strategies.uncertainty import margin

def slow_margin(view, pool, budget, rng):
    """margin, but 0.15 s per query (so a test can kill a grid mid-run)."""
    time.sleep(0.15)
    return margin(view, pool, budget, rng)

def explode(view, pool, budget, rng):
    """always raises"""
    raise RuntimeError("boom from a broken strategy")

def hog(view, pool, budget, rng):
    """allocates 4 GiB"""
    np.ones(2**29)  # 4 GiB of float64
    return pool[:budget]

def sleepy(view, pool, budget, rng):
    """sleeps far past any time limit"""
    time.sleep(60)
'''

EXP = """
name: crash
datasets: [wine]
methods: [logreg, {{name: mlp, hidden: [16], train: {{epochs: 5}}}}]
strategies: ["slowplug:slow_margin"]
seeds: 2
budget: {{initial: 6, query: 3, total: 21}}
results_dir: {out}
n_jobs: {jobs}
"""


@pytest.fixture()
def plug(tmp_path, monkeypatch):
    """The environment for CLI subprocesses, with the slow plugin importable."""
    plugin_dir(tmp_path, monkeypatch, "slowplug", SLOW)
    return dict(os.environ)


def _cfg(tmp_path, name, jobs=1):
    p = tmp_path / f"{name}.yaml"
    p.write_text(textwrap.dedent(EXP.format(out=tmp_path / name, jobs=jobs)))
    return p


def _cli(args, env, **kw):
    return subprocess.Popen([sys.executable, "-m", "altbench", *args, "--no-progress", "--no-report"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def _wait_for_rounds(runs: Path, n: int, timeout=60):
    end = time.time() + timeout
    while time.time() < end:
        lines = sum(p.read_bytes().count(b"\n") for p in runs.glob("*.jsonl")) if runs.exists() else 0
        if lines >= n:
            return
        time.sleep(0.05)
    raise AssertionError("grid made no progress")


def _run_processes(driver: int) -> list[int]:
    """Pids of the runs' processes: the driver's grandchildren (its children are the fork server
    and multiprocessing's resource tracker)."""
    import psutil

    return sorted(p.pid for p in psutil.Process(driver).children(recursive=True) if p.ppid() != driver)


def _parquets(d: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((d / "runs").glob("*.parquet"))}


def test_sigkill_of_worker_and_driver_then_resume_is_byte_identical(tmp_path, plug):
    ref = _cfg(tmp_path, "ref")
    assert _cli(["run", str(ref)], plug).wait() == 0
    expected = _parquets(tmp_path / "ref")
    assert len(expected) == 4

    cfg = _cfg(tmp_path, "crash", jobs=2)
    driver = _cli(["run", str(cfg)], plug, start_new_session=True)
    _wait_for_rounds(tmp_path / "crash" / "runs", 3)
    workers = _run_processes(driver.pid)
    assert workers, "no run processes to kill"
    os.kill(workers[-1], signal.SIGKILL)  # a run's process dies mid-run (it is retried once)
    time.sleep(0.3)
    os.killpg(driver.pid, signal.SIGKILL)  # then the whole driver
    driver.wait()
    store = RunStore(tmp_path / "crash")
    assert len(store.finished_ids()) < 4, "the kill came too late to test anything"
    partial_rounds = {p.stem: p.read_bytes().count(b"\n") for p in store.runs.glob("*.jsonl")}

    again = _cli(["run", str(cfg)], plug)
    out, err = again.communicate(timeout=300)
    assert again.returncode == 0, err
    assert _parquets(tmp_path / "crash") == expected
    resumed = {json.loads(store.path(i, ".json").read_text())["resumed_at_round"] for i in partial_rounds}
    assert max(resumed) > 0, "an interrupted run restarted from scratch instead of its checkpoint"
    for run_id, n in partial_rounds.items():
        meta = json.loads(store.path(run_id, ".json").read_text())
        assert meta["resumed_at_round"] >= n - 1, "more than the interrupted round was redone"


def test_truncated_checkpoint_line_is_ignored(tmp_path, plug):
    cfg = load_experiment(_cfg(tmp_path, "trunc"), ["methods=[logreg]", "seeds=1"])
    run_grid(cfg, progress=False)
    store = RunStore(cfg.results_dir)
    (run_id,) = store.finished_ids()
    expected = store.path(run_id, ".parquet").read_bytes()
    rounds = store.read_results()
    store.path(run_id, ".parquet").unlink()
    # rebuild a checkpoint of 3 rounds plus half a line, as a crash mid-write leaves it
    meta = json.loads(store.path(run_id, ".json").read_text())
    lines = []
    for r, row in rounds.iterrows():
        if r >= 3:
            break
        rec = {k: (v.tolist() if hasattr(v, "tolist") else v) for k, v in row.items()
               if k not in ("dataset", "method", "strategy", "seed", "run_id")}  # every per-round column
        rec.update({"round": int(row["round"]), "n_labelled": int(row.n_labelled),
                    "fit_seconds": meta["timings"]["fit_seconds"][r], "query_seconds": 0.0})
        lines.append(json.dumps(rec))
    store.path(run_id, ".jsonl").write_text("\n".join(lines) + "\n" + lines[0][:17])
    run_grid(cfg, progress=False)
    assert store.path(run_id, ".parquet").read_bytes() == expected
    assert json.loads(store.path(run_id, ".json").read_text())["resumed_at_round"] == 3


def test_failures_are_isolated_and_retry_failed_reruns_only_them(tmp_path, plug):
    p = _cfg(tmp_path, "fail")
    exp = load_experiment(p, ["methods=[logreg]", "seeds=1",
                              'strategies=[margin, "slowplug:explode", "slowplug:sleepy"]'])
    rep = run_grid(exp, progress=False, timeout_s=3)
    errors = dict(rep.failed)
    assert rep.done == 1 and len(rep.failed) == 2
    assert any("boom from a broken strategy" in e for e in errors.values())
    assert any("time limit of 3 s" in e for e in errors.values())
    assert grid_status(exp) == {"done": 1, "failed": 2, "partial": 0, "pending": 0}
    tb = json.loads(RunStore(exp.results_dir).path(next(iter(errors)), ".failed.json").read_text())
    assert "Traceback" in tb["traceback"]
    # a plain re-run leaves recorded failures alone; --retry-failed re-runs exactly them
    assert run_grid(exp, progress=False).skipped == 3
    retry = run_grid(exp, progress=False, retry_failed=True, timeout_s=3)
    assert (retry.done, len(retry.failed), retry.skipped) == (0, 2, 1)


def test_memory_limit_fails_the_run_not_the_grid(tmp_path, plug):
    vm_kb = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmSize:"))
    limit_gb = vm_kb / 2**20 + 1.5  # this process's address space plus 1.5 GiB of headroom
    exp = load_experiment(_cfg(tmp_path, "mem"), ["methods=[logreg]", "seeds=1", 'strategies=[margin, "slowplug:hog"]'])
    import resource

    before = resource.getrlimit(resource.RLIMIT_AS)
    rep = run_grid(exp, progress=False, memory_gb=limit_gb)
    assert rep.done == 1 and len(rep.failed) == 1
    assert "memory limit" in rep.failed[0][1] and "--memory-gb" in rep.failed[0][1]
    assert resource.getrlimit(resource.RLIMIT_AS) == before, "limit restored after the run"


def test_concurrent_drivers_lose_no_row_and_corrupt_no_file(tmp_path, plug):
    cfg = _cfg(tmp_path, "conc")
    procs = [_cli(["run", str(cfg), "strategies=[margin, entropy, random]"], plug) for _ in range(3)]
    status = subprocess.run([sys.executable, "-m", "altbench", "status", str(cfg), "strategies=[margin, entropy, random]"],
                            env=plug, capture_output=True, text=True, timeout=120)  # readable while running
    assert status.returncode == 0 and "of 12" in status.stdout, status.stderr
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    store = RunStore(tmp_path / "conc")
    df = store.read_results()
    assert len(store.finished_ids()) == 12
    assert (df.groupby("run_id").size() == 6).all()  # 6, 9, ..., 21 labels
    assert not list(store.runs.glob("*.jsonl")) and not list(store.runs.glob(".*.tmp"))
    assert not list(store.runs.glob("*.lock")), "finished runs leave no lock files"


def test_dask_localcluster_matches_local_executor(tmp_path):
    text = EXP.replace('strategies: ["slowplug:slow_margin"]', "strategies: [margin, random]")
    for name in ("local", "dask"):
        (tmp_path / f"{name}.yaml").write_text(textwrap.dedent(text.format(out=tmp_path / name, jobs=2)))
    local = run_grid(load_experiment(tmp_path / "local.yaml"), progress=False)
    dask = run_grid(load_experiment(tmp_path / "dask.yaml"), progress=False, executor="dask")
    assert local.failed == [] and dask.failed == [] and dask.done == 8
    assert _parquets(tmp_path / "dask") == _parquets(tmp_path / "local")


def test_dask_worker_config_removes_malloc_trim():
    import dask.config

    from altbench.executors import dask_worker_config
    from distributed.nanny import _get_env_variables

    with dask.config.set(dask_worker_config(3)):
        env = _get_env_variables("distributed.nanny.pre-spawn-environ")
        threads = dask.config.get("distributed.nanny.pre-spawn-environ.OMP_NUM_THREADS")
    assert "MALLOC_TRIM_THRESHOLD_" not in env and threads == 3
