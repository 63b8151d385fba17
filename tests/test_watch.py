"""A run you can watch: progress lines from checkpoints, readable run names, `status` tables, `show RUN_ID`."""

from __future__ import annotations

import contextlib
import io
import textwrap
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from altbench.cache import FeatureCache
from altbench.cli import main
from altbench.config import load_experiment
from altbench.runner import RunSettings, execute_run, run_grid
from altbench.store import RunStore
from altbench.watch import PHASE, Watcher, format_eta, phase, run_label, sub_line, watching
from conftest import plugin_dir

PLUGIN = '''
from altbench.strategies.uncertainty import margin


def fails_late(view, pool, budget, rng):
    """margin, until it gives up in round 2"""
    if view.al_round >= 2:
        raise RuntimeError(f"gave up in round {view.al_round}\\nsecond line never shown")
    return margin(view, pool, budget, rng)


def interrupted(view, pool, budget, rng):
    """margin in round 0, then Ctrl-C"""
    if view.al_round >= 1:
        raise KeyboardInterrupt
    return margin(view, pool, budget, rng)
'''

EXP = """
name: watched
datasets: [digits]
methods: [logreg]
strategies: {strategies}
seeds: [3]
budget: {{initial: 20, query: 10, total: 50}}
results_dir: {out}
n_jobs: 1
"""


def _config(tmp_path: Path, strategies: str, name: str) -> Path:
    p = tmp_path / f"{name}.yaml"
    p.write_text(textwrap.dedent(EXP.format(strategies=strategies, out=tmp_path / "out")))
    return p


def _round(r: int, labels: int, acc: float) -> dict:
    return {"round": r, "n_labelled": labels, "accuracy": acc, "macro_f1": acc, "queried": [],
            "fit_seconds": 2.0, "query_seconds": 1.0}


# ---------------------------------------------------------------- the progress renderer
def test_eta_is_formatted_in_seconds_minutes_or_hours():
    assert [format_eta(s) for s in (None, 0, 44.6, 180, 3599, 3900)] == ["?", "0s", "45s", "3m", "60m", "1h05m"]


def test_sub_line_uses_the_mean_round_time_seen_else_the_rounds_own_seconds():
    rounds = [_round(r, 20 + 10 * r, 0.5) for r in range(4)]
    assert sub_line("d/m/s/s0", rounds, 10, [0.0, 30.0, 60.0, 90.0]) == \
        "d/m/s/s0  round 4/10  50 labels  acc 0.500  ETA 3m"
    assert sub_line("d/m/s/s0", rounds[:1], 10, [5.0]).endswith("ETA 27s"), "9 rounds left × (2 + 1) s"
    assert sub_line("d/m/s/s0", [], 10, []) == "d/m/s/s0  starting"
    assert sub_line("d/m/s/s0", rounds, 10, [], note="encoding trec6 with minilm") == \
        "d/m/s/s0  preparing: encoding trec6 with minilm"


def test_watcher_renders_in_flight_runs_from_their_checkpoint_and_phase_files(tmp_path):
    exp = load_experiment(_config(tmp_path, "[margin]", "w"), [])
    cfg, store = exp.runs[0], RunStore(exp.results_dir)
    now = [100.0]
    watcher = Watcher(store, exp.runs, since=0.0, clock=lambda: now[0])
    assert watcher.lines() == [], "no file yet: not in flight"
    store.checkpoint(cfg.run_id, fresh=True)
    assert watcher.lines() == ["digits/logreg/margin/s3  starting"]
    with watching(store.path(cfg.run_id, PHASE), run_label(cfg)), phase("encoding digits with minilm"):
        assert watcher.lines() == ["digits/logreg/margin/s3  preparing: encoding digits with minilm"]
    assert not store.path(cfg.run_id, PHASE).exists(), "the note goes with its phase"
    for r, acc in enumerate((0.7, 0.75, 0.8125)):
        store.append_round(cfg.run_id, _round(r, 20 + 10 * r, acc))
        now[0] += 60.0
        line = watcher.lines()[0]
    assert line == "digits/logreg/margin/s3  round 3/4  40 labels  acc 0.812  ETA 1m", line
    assert watcher.done(cfg.run_id) == run_label(cfg) and watcher.lines() == []


def test_runs_untouched_since_the_grid_started_are_not_shown(tmp_path):
    exp = load_experiment(_config(tmp_path, "[margin]", "w"), [])
    store = RunStore(exp.results_dir)
    store.checkpoint(exp.runs[0].run_id, fresh=True)
    assert Watcher(store, exp.runs, since=store.path(exp.runs[0].run_id, ".jsonl").stat().st_mtime + 60).lines() == []


def test_feature_encoding_is_announced_as_the_runs_phase(tmp_path):
    note = tmp_path / f"run{PHASE}"
    seen = []

    def encode():
        seen.append(note.read_text())
        return np.zeros((2, 3)), np.zeros((1, 3))

    with watching(note, "digits/logreg/margin/s0 [x]"):
        FeatureCache(tmp_path / "cache").get_or_compute("k", encode, {"dataset": "trec6", "backbone": "minilm"})
    assert seen == ["encoding trec6 with minilm"] and not note.exists()


# ---------------------------------------------------------------- a real grid: status and show
@pytest.fixture(scope="module")
def grid(tmp_path_factory):
    """digits × logreg × {random, fails_late, interrupted}: one finished, one failed in round 2,
    one interrupted after round 0 (partial); returns (config path, experiment, captured grid output)."""
    tmp = tmp_path_factory.mktemp("watch")
    with pytest.MonkeyPatch.context() as mp:
        plugin_dir(tmp, mp, "watchplug", PLUGIN)
        ran = load_experiment(_config(tmp, '[random, "watchplug:fails_late"]', "ran"), [])
        out = io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            rep = run_grid(ran, progress=False)
        assert rep.done == 1 and len(rep.failed) == 1, rep
        path = _config(tmp, '[random, "watchplug:fails_late", "watchplug:interrupted"]', "all")
        exp = load_experiment(path, [])
        with pytest.raises(KeyboardInterrupt):
            execute_run(exp.runs[2], RunSettings(str(exp.results_dir)))
        yield path, exp, out.getvalue()


def test_a_failed_run_is_reported_by_its_readable_name_and_id(grid):
    _, exp, out = grid
    assert f"run {run_label(exp.runs[1])} failed: RuntimeError: gave up in round 2" in out


def test_status_lists_failed_and_partial_runs_with_rounds_and_last_error(grid, capsys):
    path, exp, _ = grid
    assert main(["status", str(path)]) == 0
    out = capsys.readouterr().out
    assert "done 1, failed 1, partial 1, pending 0 of 3" in out
    rows = {line.split()[0]: line.split(None, 4) for line in out.splitlines()[2:]}
    failed, partial = exp.runs[1], exp.runs[2]
    assert rows["digits/logreg/watchplug:fails_late/s3"] == [
        "digits/logreg/watchplug:fails_late/s3", failed.run_id, "failed", "2/4", "RuntimeError: gave up in round 2"]
    assert rows["digits/logreg/watchplug:interrupted/s3"] == [
        "digits/logreg/watchplug:interrupted/s3", partial.run_id, "partial", "1/4"]
    assert "digits/logreg/random/s3" not in rows, "finished runs are not in the table"


def test_show_run_id_prints_config_and_the_curve_of_the_results_file(grid, capsys):
    _, exp, _ = grid
    run = exp.runs[0]
    assert main(["show", run.run_id, "--results", str(exp.results_dir)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"digits/logreg/random/s3  run {run.run_id}\n  state: finished")
    assert "  strategy  random\n  seed      3\n" in out and '"total": 50' in out
    table = pq.read_table(RunStore(exp.results_dir).path(run.run_id, ".parquet")).to_pylist()
    curve = out.split("curve:\n")[1].split("timings:")[0].splitlines()[1:]
    assert [line.split()[:4] for line in curve] == [
        [str(r["round"]), str(r["n_labelled"]), f"{r['accuracy']:.4f}", f"{r['macro_f1']:.4f}"] for r in table]
    assert "over 4 round(s)" in out and "resumed at round 0" in out


def test_show_of_a_failed_run_gives_its_error_and_checkpointed_rounds(grid, capsys):
    _, exp, _ = grid
    run = exp.runs[1]
    path = RunStore(exp.results_dir).path(run.run_id, ".failed.json")
    assert main(["show", str(path)]) == 0
    out = capsys.readouterr().out
    assert "state: failed" in out and "last error: RuntimeError: gave up in round 2 (at " in out
    assert len(out.split("curve:\n")[1].split("timings:")[0].splitlines()) == 1 + 2


def test_show_of_an_unknown_run_id_says_where_it_looked(grid, capsys):
    _, exp, _ = grid
    assert main(["show", "0123456789abcdef", "--results", str(exp.results_dir)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"no run 0123456789abcdef in {exp.results_dir}/runs" in err
    assert "--results DIR" in err
