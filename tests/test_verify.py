"""altbench verify: re-run a seeded sample of finished runs, byte identity or measured differences."""

from __future__ import annotations

import json
import textwrap

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from altbench.cli import main
from altbench.config import load_experiment
from altbench.runner import run_grid
from altbench.store import SCHEMA, RunStore
from altbench.verify import hardware_of, passed, run_config, sample_runs, verify

EXP = """
name: tiny
datasets: [iris]
methods: [logreg]
strategies: [random, margin]
seeds: 2
budget: {{initial: 6, query: 4, total: 18}}
results_dir: {out}
n_jobs: 1
"""


@pytest.fixture(scope="module")
def grid(tmp_path_factory):
    """A finished 4-run grid (iris × logreg × random/margin × 2 seeds); copy it before tampering."""
    root = tmp_path_factory.mktemp("verify")
    p = root / "tiny.yaml"
    p.write_text(textwrap.dedent(EXP.format(out=root / "out")))
    exp = load_experiment(p)
    assert run_grid(exp, progress=False).failed == []
    return exp


def copy_of(grid, tmp_path):
    import shutil

    return shutil.copytree(grid.results_dir, tmp_path / "copy")


def tamper(results_dir, run_id, fn):
    """Rewrite a results file with ``fn`` applied to its accuracy column."""
    path = results_dir / "runs" / f"{run_id}.parquet"
    df = pq.read_table(path).to_pandas()
    df["accuracy"] = fn(df["accuracy"].to_numpy())
    pq.write_table(pa.Table.from_pandas(df, schema=SCHEMA, preserve_index=False), path, compression="zstd")


def forget_hardware(results_dir, run_id):
    """Make a record look written by an altbench without the hardware fingerprint."""
    path = results_dir / "runs" / f"{run_id}.json"
    rec = json.loads(path.read_text())
    rec["provenance"].pop("hardware_id", None)
    rec["provenance"].pop("hardware", None)
    path.write_text(json.dumps(rec))


def ids_of(grid, strategy):
    return sorted(r.run_id for r in grid.runs if r.strategy.name == strategy)


def test_records_rebuild_their_run_config(grid):
    store = RunStore(grid.results_dir)
    for r in grid.runs:
        rec = json.loads(store.path(r.run_id, ".json").read_text())
        assert run_config(rec) == r and run_config(rec).run_id == r.run_id
        assert hardware_of(rec), "run records carry the hardware fingerprint id"


def test_sample_is_seeded_and_a_subset():
    ids = [f"{i:04d}" for i in range(20)]
    a = sample_runs(ids, 5, seed=3)
    assert a == sample_runs(list(reversed(ids)), 5, seed=3) and len(set(a)) == 5 and set(a) <= set(ids)
    assert a != sample_runs(ids, 5, seed=4)
    assert sample_runs(ids, 50, seed=0) == ids


def test_untouched_runs_are_byte_identical_on_the_same_hardware(grid, capsys):
    checks, changes = verify(grid.results_dir, sample=10)
    assert len(checks) == 4 and changes == [] and passed(checks, changes)
    assert all(c.identical and c.same_hardware and c.max_abs_diff == 0.0 for c in checks)
    assert main(["verify", str(grid.results_dir), "--sample", "2", "--seed", "1"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("verify: OK: 2 run(s) re-run; same hardware: 2 identical / 0 differ")


def test_a_tampered_results_file_fails_on_the_same_hardware(grid, tmp_path, capsys):
    d = copy_of(grid, tmp_path)
    bad = ids_of(grid, "margin")[0]
    tamper(d, bad, lambda acc: acc + np.eye(len(acc))[-1] * 0.02)  # the last round, +2 points
    checks, _ = verify(d, sample=10)
    by_id = {c.run_id: c for c in checks}
    assert not by_id[bad].identical and by_id[bad].max_abs_diff == pytest.approx(0.02)
    assert sum(c.identical for c in checks) == 3 and not passed(checks, [])
    assert main(["verify", str(d), "--sample", "10"]) == 1
    out = capsys.readouterr().out
    assert "FAILED" in out and "3 identical / 1 differ" in out and bad in out


def test_other_hardware_reports_the_difference_and_unchanged_conclusions(grid, tmp_path, capsys):
    d = copy_of(grid, tmp_path)
    run = ids_of(grid, "margin")[0]
    forget_hardware(d, run)
    tamper(d, run, lambda acc: acc + 1e-9)  # last-bit-sized noise: no conclusion can move
    checks, changes = verify(d, sample=10)
    c = {c.run_id: c for c in checks}[run]
    assert not c.same_hardware and not c.identical and c.max_abs_diff == pytest.approx(1e-9)
    assert changes == [] and passed(checks, changes)
    assert main(["verify", str(d), "--sample", "10"]) == 0
    assert "other or unrecorded hardware: 0 identical / 1 differ" in capsys.readouterr().out


def test_other_hardware_fails_when_a_ranking_changes(grid, tmp_path, capsys):
    from altbench.verify import conclusions

    best, worst = conclusions(RunStore(grid.results_dir).read_results())["rank iris/logreg"]
    d = copy_of(grid, tmp_path)
    for run in ids_of(grid, best) + ids_of(grid, worst):
        forget_hardware(d, run)
    for run in ids_of(grid, best):
        tamper(d, run, lambda acc: acc * 0.0)  # recorded: the better strategy at zero, so ranked last
    checks, changes = verify(d, sample=10)
    assert f"rank iris/logreg: {(worst, best)} → {(best, worst)}" in changes
    assert not passed(checks, changes)
    assert main(["verify", str(d)]) == 1
    assert "changed: rank iris/logreg" in capsys.readouterr().out


def test_bad_directory_and_sample_are_one_line_errors(tmp_path, capsys):
    assert main(["verify", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("altbench: error: no finished runs under") and "\n" not in err
    with pytest.raises(SystemExit):
        main(["verify", str(tmp_path), "--sample", "0"])
    assert "--sample must be a positive whole number" in capsys.readouterr().err


def test_a_rerun_with_newer_columns_is_identical_on_the_recorded_ones(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from altbench.verify import same_recorded_columns

    old = pa.table({"round": [0, 1], "accuracy": [0.5, 0.75]})
    pq.write_table(old, tmp_path / "old.parquet")
    pq.write_table(old.append_column("balanced_accuracy", pa.array([0.4, 0.7])), tmp_path / "new.parquet")
    pq.write_table(pa.table({"round": [0, 1], "accuracy": [0.5, 0.8], "balanced_accuracy": [0.4, 0.7]}),
                   tmp_path / "moved.parquet")
    assert same_recorded_columns(tmp_path / "old.parquet", tmp_path / "new.parquet")
    assert not same_recorded_columns(tmp_path / "old.parquet", tmp_path / "moved.parquet")  # a value moved
    assert not same_recorded_columns(tmp_path / "new.parquet", tmp_path / "old.parquet")  # a column lost
