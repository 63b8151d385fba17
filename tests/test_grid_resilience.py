"""Nothing blocks a grid: dying runs, hung runs, SIGTERM, a dead driver, full disks; --threads."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil
import pytest

from altbench.atomic import StorageError
from altbench.config import load_experiment
from altbench.device import load_warning, resolve_threads
from altbench.runner import RunSettings, _task, execute_run, run_grid
from altbench.store import RunStore
from conftest import plugin_dir

PLUGIN = '''
import os
import signal
import time
from pathlib import Path

from altbench.atomic import StorageError
from altbench.strategies.uncertainty import margin


def _count(name):
    with open(Path(os.environ["CALLS_DIR"]) / name, "a") as f:
        f.write("x")


def segv(view, pool, budget, rng):
    """crashes its process, as a bug in native code does"""
    _count("segv")
    os.kill(os.getpid(), signal.SIGSEGV)


def oom(view, pool, budget, rng):
    """dies as the kernel's OOM killer leaves it"""
    os.kill(os.getpid(), signal.SIGKILL)


def stubborn(view, pool, budget, rng):
    """hangs, and swallows whatever is raised to stop it"""
    while True:
        try:
            time.sleep(0.01)
        except BaseException:
            pass


def slow_margin(view, pool, budget, rng):
    """margin, 0.2 s per query"""
    time.sleep(0.2)
    return margin(view, pool, budget, rng)


def full_disk(view, pool, budget, rng):
    """the results store found the disk full"""
    raise StorageError("cannot write /results/runs/x.jsonl: no space left on device; free space and re-run")
'''

EXP = """
name: resilience
datasets: [wine]
methods: [logreg]
strategies: {strategies}
seeds: {seeds}
budget: {{initial: 6, query: 3, total: 15}}
results_dir: {out}
n_jobs: {jobs}
"""


@pytest.fixture()
def plug(tmp_path, monkeypatch):
    """Plugin module importable by the runs (sys.path here, PYTHONPATH for the CLI); call counters."""
    plugin_dir(tmp_path, monkeypatch, "resplug", PLUGIN)
    monkeypatch.setenv("CALLS_DIR", str(tmp_path))
    return tmp_path


def _config(tmp_path: Path, strategies: str, jobs: int = 1, seeds: int = 1, name: str = "out") -> Path:
    p = tmp_path / f"{name}.yaml"
    p.write_text(textwrap.dedent(EXP.format(strategies=strategies, seeds=seeds, out=tmp_path / name, jobs=jobs)))
    return p


def _cli(*args: str, **kw) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "altbench", *args, "--no-progress", "--no-report"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def _gone(procs: list[psutil.Process], within_s: float = 10) -> list[psutil.Process]:
    """The processes of ``procs`` still alive after ``within_s`` seconds."""
    _, alive = psutil.wait_procs(procs, timeout=within_s)
    return alive


@pytest.mark.parametrize("plugin, cause", [("segv", "SIGSEGV"), ("oom", "SIGKILL (likely out of memory")])
def test_a_run_whose_process_dies_is_retried_once_then_failed_and_the_grid_finishes(plug, plugin, cause):
    exp = load_experiment(_config(plug, f'[margin, "resplug:{plugin}"]', jobs=2, seeds=2))
    rep = run_grid(exp, progress=False)
    assert rep.done == 2 and len(rep.failed) == 2, rep
    assert all(cause in err and err.startswith("WorkerDied:") for _, err in rep.failed)
    store = RunStore(exp.results_dir)
    record = json.loads(store.path(rep.failed[0][0], ".failed.json").read_text())
    assert cause in record["error"] and "attempt 2 of 2" in record["traceback"]
    if plugin == "segv":
        assert (plug / "segv").read_text() == "xxxx", "each of the 2 runs ran twice: once more after the crash"
    assert len(store.finished_ids()) == 2


@pytest.mark.parametrize("jobs", [1, 2])
def test_timeout_kills_a_run_that_catches_everything(plug, jobs):
    cfg = _config(plug, '[margin, "resplug:stubborn"]', jobs=jobs)
    out, err = _cli("run", str(cfg), "--timeout", "2").communicate(timeout=90)
    assert "done 1" in err and "failed 1" in err, err
    assert "time limit of 2 s" in err and "Traceback" not in err


def test_timeout_works_on_the_dask_executor(plug):
    exp = load_experiment(_config(plug, '[margin, "resplug:stubborn"]', jobs=2))
    rep = run_grid(exp, progress=False, executor="dask", timeout_s=2)
    assert rep.done == 1 and len(rep.failed) == 1
    assert "time limit of 2 s" in rep.failed[0][1]


def _descendants_once_running(driver: subprocess.Popen, runs: Path, at_least: int = 2) -> list[psutil.Process]:
    """The driver's process tree, once the grid has checkpointed a round."""
    end = time.monotonic() + 60
    while time.monotonic() < end:
        if sum(p.read_bytes().count(b"\n") for p in runs.glob("*.jsonl")) >= 1:
            kids = psutil.Process(driver.pid).children(recursive=True)
            if len(kids) >= at_least:
                return kids
        assert driver.poll() is None, driver.communicate()[1]
        time.sleep(0.05)
    raise AssertionError("the grid made no progress")


def test_sigterm_exits_cleanly_with_a_resume_line_and_no_orphans(plug):
    cfg = _config(plug, '["resplug:slow_margin"]', jobs=2, seeds=2)
    driver = _cli("run", str(cfg))
    kids = _descendants_once_running(driver, plug / "out" / "runs")
    driver.send_signal(signal.SIGTERM)
    _, err = driver.communicate(timeout=30)
    assert driver.returncode == 143, err
    lines = [ln for ln in err.splitlines() if ln.startswith("altbench")]
    assert lines == ["altbench: interrupted; finished runs and rounds are kept — re-run the same command to resume"]
    assert "Traceback" not in err
    assert _gone(kids) == [], "processes outlived the driver"
    runs = RunStore(plug / "out")
    assert runs.failed_ids() == [] and sum(runs.rounds_done(r.stem) for r in runs.runs.glob("*.jsonl")) >= 1


def test_run_processes_exit_promptly_when_the_driver_is_killed(plug):
    cfg = _config(plug, '["resplug:slow_margin"]', jobs=2, seeds=2)
    driver = _cli("run", str(cfg))
    kids = _descendants_once_running(driver, plug / "out" / "runs")
    driver.kill()
    driver.communicate(timeout=10)
    assert _gone(kids, within_s=5) == [], "run processes outlived a SIGKILLed driver"


def test_storage_error_stops_the_grid_without_recording_a_failure(plug):
    cfg = _config(plug, '[margin, "resplug:full_disk", entropy]')
    exp = load_experiment(cfg)
    with pytest.raises(StorageError, match="no space left"):
        run_grid(exp, progress=False)
    store = RunStore(exp.results_dir)
    assert len(store.finished_ids()) == 1, "the run before the error is kept"
    assert store.failed_ids() == [], "a full disk is no run's fault"
    cli = _cli("run", str(cfg))
    _, err = cli.communicate(timeout=60)
    lines = [ln for ln in err.splitlines() if ln.startswith("altbench")]
    assert cli.returncode == 1 and len(lines) == 1 and "no space left on device; free space" in lines[0], err
    assert "Traceback" not in err and store.failed_ids() == []


def test_supervised_run_equals_the_in_process_run_and_records_threads(tmp_path):
    exp = load_experiment(_config(tmp_path, "[margin]"))
    (cfg,) = exp.runs
    a, b = RunSettings(str(tmp_path / "a"), threads=2), RunSettings(str(tmp_path / "b"), threads=2)
    assert execute_run(cfg, a) == (cfg.run_id, None) and _task((cfg, b, False)) == (cfg.run_id, None)
    sa, sb = RunStore(tmp_path / "a"), RunStore(tmp_path / "b")
    assert sa.path(cfg.run_id, ".parquet").read_bytes() == sb.path(cfg.run_id, ".parquet").read_bytes()
    prov = json.loads(sb.path(cfg.run_id, ".json").read_text())["provenance"]
    assert prov["threads_requested"] == 2 and prov["torch_threads"] == 2


def test_threads_option_is_recorded_in_the_run_record(tmp_path):
    cfg = _config(tmp_path, "[random]")
    out = _cli("run", str(cfg), "--threads", "3")
    _, err = out.communicate(timeout=60)
    assert out.returncode == 0, err
    (run_id,) = RunStore(tmp_path / "out").finished_ids()
    prov = json.loads(RunStore(tmp_path / "out").path(run_id, ".json").read_text())["provenance"]
    assert prov["threads_requested"] == 3 and prov["torch_threads"] == 3


def test_default_threads_respect_omp_num_threads_else_cores_over_jobs():
    assert resolve_threads(None, 2, environ={"OMP_NUM_THREADS": "5"}) == 5
    assert resolve_threads(4, 2, environ={"OMP_NUM_THREADS": "5"}) == 4  # --threads wins
    cores = len(os.sched_getaffinity(0))
    assert resolve_threads(None, 1, environ={}) == cores
    assert resolve_threads(None, cores * 4, environ={"OMP_NUM_THREADS": "x"}) == 1


def test_a_busy_machine_is_warned_about():
    assert load_warning(2, load=1.5, n_cores=2) is None
    msg = load_warning(2, load=7.25, n_cores=2)
    assert msg is not None and "load average 7.2 on 2 core(s)" in msg and "\n" not in msg
