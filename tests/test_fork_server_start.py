"""Cold start of ``altbench run``: the driver stays light, the fork server starts early and is reused.

No timings here (they live in tests/benchmarks/test_harness_overhead.py and
scripts/harness_overhead.py); these check the mechanisms the speed rests on.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from multiprocessing import forkserver

import psutil

from altbench import supervise
from altbench.config import load_experiment
from altbench.executors import RUN_BASE
from altbench.runner import preload_for, run_grid

GRID = """
name: cold
datasets: [iris]
methods: [logreg]
strategies: [margin]
seeds: 1
budget: {{initial: 6, query: 3, total: 12}}
results_dir: {out}
n_jobs: 1
"""


def _config(tmp_path):
    p = tmp_path / "cold.yaml"
    p.write_text(textwrap.dedent(GRID.format(out=tmp_path / "out")))
    return p


def _server_pid() -> int | None:
    return getattr(getattr(forkserver, "_forkserver", None), "_forkserver_pid", None)


def test_the_driver_of_a_scikit_learn_grid_never_imports_torch(tmp_path):
    code = (f"import sys; from altbench.cli import main; rc = main(['run', {str(_config(tmp_path))!r}, "
            "'--no-progress', '--no-report']); print(json.dumps([rc, 'torch' in sys.modules]))")
    out = subprocess.run([sys.executable, "-c", "import json; " + code], capture_output=True, text=True, check=True)
    rc, torch_loaded = json.loads(out.stdout.strip().splitlines()[-1])
    assert rc == 0 and torch_loaded is False
    assert len(list((tmp_path / "out" / "runs").glob("*.parquet"))) == 1  # the run itself did happen


def test_a_prestarted_server_serves_the_grid_without_a_restart(tmp_path):
    exp = load_experiment(_config(tmp_path), [])
    supervise.prestart(RUN_BASE)  # as `altbench run` does before it parses the config
    pid = _server_pid()
    assert pid is not None and psutil.pid_exists(pid)
    assert all(m.startswith("altbench.") for m in set(preload_for(exp.runs)) - set(RUN_BASE))  # plugin modules
    rep = run_grid(exp, progress=False)
    assert rep.done == 1 and not rep.failed
    assert _server_pid() == pid, "the grid's own plugin modules must not restart the fork server"


def test_a_library_the_server_lacks_restarts_it_at_once(tmp_path):
    supervise.prestart(RUN_BASE)
    old = _server_pid()
    supervise.prestart((*RUN_BASE, "email.mime.text"))  # a library module the running server did not import
    new = _server_pid()
    assert new is not None and new != old
    assert not psutil.pid_exists(old) or psutil.Process(old).status() == psutil.STATUS_ZOMBIE


def test_a_grid_with_nothing_left_to_run_stops_the_server_started_for_it(tmp_path):
    exp = load_experiment(_config(tmp_path), [])
    assert run_grid(exp, progress=False).done == 1
    supervise.prestart((*RUN_BASE, "email.mime.base"))  # a fresh server, as `altbench run` starts one
    pid = _server_pid()
    rep = run_grid(exp, progress=False)  # everything finished: no run process will ever come from it
    assert rep.skipped == 1 and rep.done == 0
    assert _server_pid() is None
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
