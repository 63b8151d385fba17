"""Runner + results store: reproducible files, resume, --force, failures, CLI."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import textwrap

import pytest

from altbench.config import load_experiment
from altbench.runner import run_grid
from altbench.store import RunStore

EXP = """
name: small
datasets: [iris, wine]
methods: [logreg, {{name: mlp, hidden: [16], train: {{epochs: 5}}}}]
strategies: [random, entropy]
seeds: 2
budget: {{initial: 6, query: 4, total: 18}}
results_dir: {out}
n_jobs: {jobs}
"""


def experiment(tmp_path, out="out", jobs=1, overrides=()):
    p = tmp_path / f"{out}.yaml"
    p.write_text(textwrap.dedent(EXP.format(out=tmp_path / out, jobs=jobs)))
    return load_experiment(p, list(overrides))


def test_same_config_and_seed_give_byte_identical_results(tmp_path):
    a = experiment(tmp_path, "a", jobs=2)  # process pool
    b = experiment(tmp_path, "b", jobs=1)  # in-process
    assert run_grid(a, progress=False).failed == []
    assert run_grid(b, progress=False).failed == []
    sa, sb = RunStore(a.results_dir), RunStore(b.results_dir)
    assert sa.finished_ids() == sb.finished_ids() and len(sa.finished_ids()) == 16
    for run_id in sa.finished_ids():
        assert sa.path(run_id, ".parquet").read_bytes() == sb.path(run_id, ".parquet").read_bytes()
        ma = json.loads(sa.path(run_id, ".json").read_text())
        mb = json.loads(sb.path(run_id, ".json").read_text())
        assert ma["config"] == mb["config"]
        assert not sa.path(run_id, ".jsonl").exists(), "partial log is removed when the run finishes"


def test_run_record_has_config_provenance_and_timings(tmp_path):
    exp = experiment(tmp_path, overrides=["datasets=[iris]", "methods=[logreg]", "seeds=1"])
    run_grid(exp, progress=False)
    store = RunStore(exp.results_dir)
    (run_id,) = store.finished_ids()[:1]
    meta = json.loads(store.path(run_id, ".json").read_text())
    assert meta["run_id"] == run_id and run_id in {r.run_id for r in exp.runs}
    assert meta["config"]["dataset"]["name"] == "iris"
    prov = meta["provenance"]
    assert prov["versions"]["torch"] and prov["versions"]["numpy"] and prov["host"]
    assert prov["torch_threads"] >= 1 and "git_commit" in prov
    assert len(meta["timings"]["fit_seconds"]) == 4  # rounds at 6, 10, 14, 18 labels
    df = store.read_results()
    assert list(df[df.run_id == run_id].n_labelled) == [6, 10, 14, 18]
    assert json.loads((exp.results_dir / "experiment.json").read_text())["name"] == "small"
    history = [json.loads(line) for line in (exp.results_dir / "invocations.jsonl").read_text().splitlines()]
    assert len(history) == 1 and history[0]["selected"] == 2 and history[0]["experiment"]["seeds"] == 1


def test_resume_skips_finished_and_force_reruns(tmp_path):
    exp = experiment(tmp_path, overrides=["datasets=[iris]", "methods=[logreg]"])
    store = RunStore(exp.results_dir)
    first = run_grid(exp, progress=False)
    assert (first.done, first.skipped) == (4, 0)
    victim = store.finished_ids()[0]
    kept = store.path(store.finished_ids()[1], ".parquet")
    mtime = kept.stat().st_mtime_ns
    store.path(victim, ".parquet").unlink()  # as if the grid was killed before this run ended
    again = run_grid(exp, progress=False)
    assert (again.done, again.skipped) == (1, 3)
    assert kept.stat().st_mtime_ns == mtime, "finished runs are not touched"
    forced = run_grid(exp, force=True, progress=False)
    assert (forced.done, forced.skipped) == (4, 0)


def test_failing_run_is_recorded_and_the_rest_completes(tmp_path):
    exp = experiment(tmp_path, overrides=["datasets=[iris]", "methods=[logreg]", "seeds=1",
                                          "budget.total=500"])  # iris has 105 train points
    rep = run_grid(exp, progress=False)
    assert rep.done == 0 and len(rep.failed) == 2
    store = RunStore(exp.results_dir)
    failed = json.loads(store.path(rep.failed[0][0], ".failed.json").read_text())
    assert "lower budget.total" in failed["error"] and "Traceback" in failed["traceback"]


def test_stale_runs_are_refused_by_reports_and_pruned(tmp_path):
    """A changed method default gives new run ids; the old runs must not be averaged in."""
    old = experiment(tmp_path, overrides=["datasets=[iris]", "methods=[{name: logreg, C: 1.0}]", "seeds=1"])
    run_grid(old, progress=False)
    new = experiment(tmp_path, overrides=["datasets=[iris]", "methods=[{name: logreg, max_iter: 999}]", "seeds=1"])
    # label them "logreg", as if logreg's default itself had changed: same cells, new run ids
    relabel = lambda r: dataclasses.replace(r, method=dataclasses.replace(r.method, label="logreg"))  # noqa: E731
    new = dataclasses.replace(new, runs=tuple(relabel(r) for r in new.runs))
    run_grid(new, progress=False)
    store = RunStore(old.results_dir)
    assert len(store.finished_ids()) == 4
    with pytest.raises(ValueError, match="more than one run .*--prune"):
        store.read_results()
    stale = {r.run_id for r in old.runs}
    store.path(sorted(stale)[0], ".jsonl").write_text("{}\n")  # checkpoint of a stale run: pruned too
    (store.runs / ".x.parquet.abc.tmp").write_bytes(b"")  # a write in flight is no run
    assert set(store.prune({r.run_id for r in new.runs})) == stale
    assert set(store.finished_ids()) == {r.run_id for r in new.runs}
    assert not list(store.runs.glob(f"{sorted(stale)[0]}*"))
    assert len(store.read_results()) > 0


def _cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "altbench", *args], capture_output=True, text=True, cwd=cwd)


def test_cli_run_writes_table_and_plot(tmp_path):
    p = tmp_path / "e.yaml"
    p.write_text(textwrap.dedent(EXP.format(out=tmp_path / "cli", jobs=1)))
    out = _cli("run", str(p), "datasets=[iris]", "methods=[logreg]", "seeds=2", "--no-progress")
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "cli" / "table.md").read_text().count("| iris") == 2
    assert (tmp_path / "cli" / "curves.png").stat().st_size > 10_000
    again = _cli("run", str(p), "datasets=[iris]", "methods=[logreg]", "seeds=2", "--no-progress")
    assert "skipped (already finished or failed) 4" in again.stderr


def test_cli_status_names_and_run_prune_deletes_runs_outside_the_grid(tmp_path):
    p = tmp_path / "e.yaml"
    p.write_text(textwrap.dedent(EXP.format(out=tmp_path / "pr", jobs=1)))
    grid = ["datasets=[iris]", "methods=[logreg]", "strategies=[random]"]
    assert _cli("run", str(p), *grid, "seeds=2", "--no-progress", "--no-report").returncode == 0
    status = _cli("status", str(p), *grid, "seeds=1")
    assert "done 1" in status.stdout and "1 other finished run(s)" in status.stdout, status.stdout
    pruned = _cli("run", str(p), *grid, "seeds=1", "--prune", "--no-progress", "--no-report")
    assert pruned.returncode == 0 and "pruned 1 run(s)" in pruned.stderr, pruned.stderr
    assert len(RunStore(tmp_path / "pr").finished_ids()) == 1
    assert "other finished" not in _cli("status", str(p), *grid, "seeds=1").stdout


@pytest.mark.parametrize("args, message", [
    (["run", "strategies=[margn]"], "did you mean margin"),
    (["run", "nope.yaml"], "not found"),
    (["run", "budget.total=oops"], "budget.total"),
    (["list", "strategies", "zzz*"], ""),
    (["report", "/nonexistent/dir"], "no finished runs"),
])
def test_cli_errors_are_one_line_without_traceback(tmp_path, args, message):
    out = _cli(*args, cwd=tmp_path)
    assert out.returncode != 0
    assert "Traceback" not in out.stderr
    if message:
        lines = [ln for ln in out.stderr.splitlines() if ln.strip()]
        assert len(lines) == 1 and message in lines[0] and lines[0].startswith("altbench: error:")
