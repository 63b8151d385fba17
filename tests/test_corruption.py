"""Corruption is detected and repaired; storage errors are one line; files are readable.

Results files verified by checksum (truncated / garbled → moved aside, counted
by status, re-run by run), checksummed checkpoint lines, batched fsync,
train loss and hardware in the run record, damaged dataset and feature caches
rebuilt, one encode across processes, disk full / read-only as one line, and
ordinary file modes.
"""

from __future__ import annotations

import errno
import json
import logging
import multiprocessing
import os
import textwrap
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from altbench import atomic
from altbench.atomic import StorageError, atomic_write_bytes
from altbench.cache import FeatureCache
from altbench.config import load_experiment
from altbench.datasets import cache as dcache
from altbench.provenance import hardware, hardware_id, provenance
from altbench.runner import grid_status, run_grid
from altbench.store import ASIDE, RunStore, decode_round, encode_round

REPO = Path(__file__).resolve().parents[1]
EXP = """
name: corrupt
datasets: [iris]
methods: [logreg]
strategies: [margin]
seeds: 1
budget: {{initial: 6, query: 4, total: 18}}
results_dir: {out}
n_jobs: 1
"""


@pytest.fixture()
def finished(tmp_path):
    """(experiment, store, run id, parquet bytes) of one finished run."""
    p = tmp_path / "exp.yaml"
    p.write_text(textwrap.dedent(EXP.format(out=tmp_path / "out")))
    exp = load_experiment(p, [])
    assert run_grid(exp, progress=False).failed == []
    store = RunStore(exp.results_dir)
    (run_id,) = store.finished_ids()
    return exp, store, run_id, store.path(run_id, ".parquet").read_bytes()


def _record(store: RunStore, run_id: str) -> dict:
    return json.loads(store.path(run_id, ".json").read_text())


def test_truncated_parquet_is_counted_by_status_and_rerun_by_run(finished, caplog):
    exp, store, run_id, original = finished
    assert _record(store, run_id)["parquet_sha256"] and store.verify(run_id) == "ok"
    store.path(run_id, ".parquet").write_bytes(original[: len(original) // 2])
    with caplog.at_level(logging.WARNING, logger="altbench"):
        counts = grid_status(exp)
    assert counts == {"done": 0, "failed": 0, "partial": 0, "pending": 0, "corrupt": 1}
    assert "corrupt (checksum mismatch)" in caplog.text and run_id in caplog.text
    assert store.path(run_id, ASIDE).is_file() and not store.path(run_id, ".parquet").exists()
    assert grid_status(exp)["corrupt"] == 1, "still counted as corrupt until it is re-run"
    assert run_grid(exp, progress=False).done == 1
    assert store.path(run_id, ".parquet").read_bytes() == original
    assert not store.path(run_id, ASIDE).exists()
    assert grid_status(exp) == {"done": 1, "failed": 0, "partial": 0, "pending": 0}


def test_garbled_run_record_reruns_the_run(finished):
    exp, store, run_id, original = finished
    store.path(run_id, ".json").write_text('{"run_id": "garb')
    assert store.verify(run_id) == "corrupt" and not store.is_finished(run_id)
    assert run_grid(exp, progress=False).done == 1
    assert store.path(run_id, ".parquet").read_bytes() == original
    assert _record(store, run_id)["run_id"] == run_id


def test_old_records_without_checksum_stay_valid_if_the_parquet_reads(finished):
    _, store, run_id, original = finished
    meta = _record(store, run_id)
    del meta["parquet_sha256"]
    store.path(run_id, ".json").write_text(json.dumps(meta))
    assert store.verify(run_id) == "ok"
    store.path(run_id, ".parquet").write_bytes(original[:-20])
    assert store.verify(run_id) == "corrupt"
    committed = RunStore(REPO / "results" / "quickstart")
    ids = committed.finished_ids()
    assert ids and all(committed.verify(i) == "ok" for i in ids)


def test_run_record_has_train_loss_checksum_and_hardware(finished, tmp_path):
    _, store, run_id, original = finished
    meta = _record(store, run_id)
    assert len(meta["train_loss"]) == len(meta["timings"]["fit_seconds"])
    assert meta["provenance"]["hardware_id"] == hardware_id(meta["provenance"]["hardware"])
    # train loss goes to the record, never into the (byte-identical) parquet
    other = RunStore(tmp_path / "other")
    rows = store.read_results()
    recs = [{"round": int(r["round"]), "n_labelled": int(r.n_labelled), "accuracy": r.accuracy,
             "macro_f1": r.macro_f1, "balanced_accuracy": r.balanced_accuracy,
             "queried": [int(i) for i in r.queried], "fit_seconds": 0.0,
             "query_seconds": 0.0, "train_loss": 0.5 + i, "stop_pred": [int(p) for p in r.stop_pred],
             "stop_max_conf": r.stop_max_conf, "stop_entropy": r.stop_entropy} for i, (_, r) in enumerate(rows.iterrows())]
    identity = {k: str(rows.iloc[0][k]) for k in ("dataset", "method", "strategy")} | {"seed": 0}
    other.finish(run_id, identity, recs, {"run_id": run_id})
    assert other.path(run_id, ".parquet").read_bytes() == original
    assert _record(other, run_id)["train_loss"] == [0.5 + i for i in range(len(recs))]


def test_hardware_fingerprint_names_cpu_blas_and_ignores_threads():
    hw = provenance(1)["hardware"]
    assert hw["cpu_model"] and hw["machine"]
    assert any(lib["user_api"] == "blas" and lib["internal_api"] for lib in hw["blas"])
    hid = hardware_id(hw)
    assert len(hid) == 12 and hid == hardware_id(hardware())
    more_threads = {**hw, "blas": [{**lib, "num_threads": 64} for lib in hw["blas"]]}
    assert hardware_id(more_threads) == hid
    other_blas = {**hw, "blas": [{**lib, "version": "9.9"} for lib in hw["blas"]]}
    assert hardware_id(other_blas) != hid
    assert hardware_id({**hw, "cpu_model": "another CPU"}) != hid


def _round(r: int) -> dict:
    return {"round": r, "n_labelled": 6 + 4 * r, "accuracy": 0.5 + r / 10, "macro_f1": 0.4,
            "queried": [r, r + 10], "fit_seconds": 0.01, "query_seconds": 0.0}


def test_checkpoint_lines_carry_a_checksum_and_never_crash():
    line = encode_round(_round(1))
    assert json.loads(line)["sha"] and decode_round(line) == (_round(1), "")
    assert decode_round(line.replace(b'"accuracy":0.6', b'"accuracy":0.9'))[1] == "checksum mismatch"
    assert decode_round(json.dumps(_round(1)).encode() + b"\n") == (_round(1), "")  # older line, no sha
    assert decode_round(line[:-5])[1] == "cut short"
    for junk, why in ((b"\xff\xfe garbage\n", "not JSON"), (b"[1, 2]\n", "not a record"),
                      (b'{"round": 0}\n', "fields missing")):
        assert decode_round(junk) == (None, why)


def test_edited_checkpoint_line_is_dropped_with_a_warning(tmp_path, caplog):
    store = RunStore(tmp_path)
    store.checkpoint("r", fresh=True)
    for r in range(3):
        store.append_round("r", _round(r))
    path = store.path("r", ".jsonl")
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(lines[0] + lines[1].replace(b'"accuracy":0.6', b'"accuracy":0.7') + lines[2])
    with caplog.at_level(logging.WARNING, logger="altbench"):
        assert store.checkpoint("r", fresh=False) == [_round(0)]
    assert "checkpoint line 2 is damaged (checksum mismatch)" in caplog.text
    assert path.read_bytes() == lines[0], "the damaged tail is cut so appends stay valid"


def test_edited_checkpoint_line_round_is_redone_identically(finished):
    exp, store, run_id, original = finished
    rows = store.read_results()
    store.path(run_id, ".parquet").unlink()
    recs = [{"round": int(r["round"]), "n_labelled": int(r.n_labelled), "accuracy": r.accuracy,
             "macro_f1": r.macro_f1, "balanced_accuracy": r.balanced_accuracy,
             "queried": [int(i) for i in r.queried], "fit_seconds": 0.0,
             "query_seconds": 0.0, "stop_pred": [int(p) for p in r.stop_pred], "stop_max_conf": r.stop_max_conf,
             "stop_entropy": r.stop_entropy} for _, r in rows.iloc[:3].iterrows()]
    lines = [encode_round(rec) for rec in recs]
    lines[1] = lines[1].replace(b'"accuracy":', b'"accuracy":1', 1)  # still valid JSON, wrong value
    store.path(run_id, ".jsonl").write_bytes(b"".join(lines))
    assert run_grid(exp, progress=False).done == 1
    assert store.path(run_id, ".parquet").read_bytes() == original
    assert _record(store, run_id)["resumed_at_round"] == 1


def test_checkpoint_fsync_is_batched(tmp_path, monkeypatch):
    import altbench.store as store_mod

    clock, synced = [0.0], []
    monkeypatch.setattr(store_mod.time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(store_mod.os, "fsync", lambda fd: synced.append(clock[0]))
    store = RunStore(tmp_path)
    store.checkpoint("r", fresh=True)
    for r in range(5):  # five rounds within 0.4 s: one fsync (the first)
        clock[0] = r / 10
        store.append_round("r", _round(r))
    clock[0] = 1.5
    store.append_round("r", _round(5))
    assert synced == [0.0, 1.5]
    assert len(store.checkpoint("r", fresh=False)) == 6, "unsynced lines are in the file (page cache)"


def _no_temp_files(folder: Path) -> bool:
    return not [p for p in folder.rglob(".*") if p.is_file() or p.is_dir()]


def _raise(code: int):
    def fail(*args, **kwargs):
        raise OSError(code, os.strerror(code))
    return fail


def test_disk_full_is_one_line_naming_the_path_and_cleans_up(tmp_path, monkeypatch):
    target = tmp_path / "runs" / "x.parquet"
    atomic_write_bytes(target, b"old")
    monkeypatch.setattr(atomic.os, "fsync", _raise(errno.ENOSPC))
    with pytest.raises(StorageError) as info:
        atomic_write_bytes(target, b"new")
    assert str(info.value) == (f"cannot write {target}: disk full (No space left on device); free space or "
                               "point --results-dir elsewhere; finished runs are kept")
    assert info.value.errno == errno.ENOSPC and "\n" not in str(info.value)
    assert target.read_bytes() == b"old" and _no_temp_files(tmp_path)


@pytest.mark.parametrize("code, words", [(errno.EROFS, "read-only file system"),
                                         (errno.EACCES, "permission denied"),
                                         (errno.EDQUOT, "disk quota exceeded")])
def test_read_only_or_denied_results_dir_is_one_line(tmp_path, monkeypatch, code, words):
    store = RunStore(tmp_path)
    monkeypatch.setattr(atomic.os, "replace", _raise(code))
    with pytest.raises(StorageError, match=rf"^cannot write {tmp_path}/runs/r\.json: {words} \(") as info:
        store.finish("r", {"dataset": "d", "method": "m", "strategy": "s", "seed": 0}, [_round(0)], {})
    assert "--results-dir" in str(info.value) and "\n" not in str(info.value)
    assert not store.path("r", ".parquet").exists() and _no_temp_files(tmp_path)


def test_checkpoint_write_errors_are_storage_errors(tmp_path, monkeypatch):
    import altbench.store as store_mod

    store = RunStore(tmp_path)
    store.checkpoint("r", fresh=True)
    monkeypatch.setattr(store_mod.os, "fsync", _raise(errno.ENOSPC))
    with pytest.raises(StorageError, match=r"^cannot write .*r\.jsonl: disk full"):
        store.append_round("r", _round(0))


def test_cache_write_errors_name_the_cache_dir_setting(tmp_path, monkeypatch):
    monkeypatch.setattr(atomic.os, "replace", _raise(errno.ENOSPC))
    with pytest.raises(StorageError, match=r"disk full .*ALTBENCH_CACHE_DIR"):
        FeatureCache(tmp_path / "feat").get_or_compute("k", lambda: (np.ones((2, 2)), np.ones((1, 2))))
    assert _no_temp_files(tmp_path / "feat")
    monkeypatch.setenv(dcache.CACHE_ENV, str(tmp_path / "arrow"))
    monkeypatch.setattr(dcache.os, "replace", _raise(errno.EROFS))
    with pytest.raises(StorageError, match=r"read-only file system .*ALTBENCH_CACHE_DIR"):
        dcache.cached_splits("toy", 1, lambda: {"train": pa.table({"x": [1, 2]})})
    assert _no_temp_files(tmp_path / "arrow")


@pytest.fixture()
def umask022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_files_are_readable_like_ordinary_files(umask022, finished, tmp_path, monkeypatch):
    _, store, run_id, _ = finished
    modes = {p.name: p.stat().st_mode & 0o777 for p in store.runs.iterdir()}
    assert modes == {f"{run_id}.parquet": 0o644, f"{run_id}.json": 0o644}
    atomic_write_bytes(tmp_path / "f", b"x")
    assert (tmp_path / "f").stat().st_mode & 0o777 == 0o644
    os.umask(0o077)
    atomic_write_bytes(tmp_path / "g", b"x")
    assert (tmp_path / "g").stat().st_mode & 0o777 == 0o600
    os.umask(0o022)
    with store.claim("other"):
        assert store.path("other", ".lock").stat().st_mode & 0o777 == 0o644
    FeatureCache(tmp_path / "feat").get_or_compute("k", lambda: (np.ones((2, 2)), np.ones((1, 2))))
    assert {p.stat().st_mode & 0o777 for p in (tmp_path / "feat").iterdir()} == {0o644}
    monkeypatch.setenv(dcache.CACHE_ENV, str(tmp_path / "arrow"))
    cached = dcache.cached_splits("toy", 1, lambda: {"train": pa.table({"x": [1, 2]})})
    assert cached.folder.stat().st_mode & 0o777 == 0o755
    assert cached.file("train").stat().st_mode & 0o777 == 0o644


def _toy_build(calls: list):
    def build():
        calls.append(1)
        return {"train": pa.table({"x": np.arange(1000), "label": np.arange(1000) % 3}),
                "test": pa.table({"x": np.arange(10), "label": np.arange(10) % 3})}
    return build


def test_truncated_dataset_cache_is_rebuilt_with_a_warning(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv(dcache.CACHE_ENV, str(tmp_path))
    calls = []
    first = dcache.cached_splits("toy", 1, _toy_build(calls))
    path = first.file("train")
    path.write_bytes(path.read_bytes()[:300])  # cut inside the record batch
    with caplog.at_level(logging.WARNING, logger="altbench"):
        again = dcache.cached_splits("toy", 1, _toy_build(calls))
    assert "dataset cache" in caplog.text and "damaged" in caplog.text
    assert calls == [1, 1] and again.hit is False and again.tables["train"].num_rows == 1000
    assert dcache.cached_splits("toy", 1, _toy_build(calls)).hit is True and calls == [1, 1]
    (again.folder / "done").write_text('["train", "test"]')  # an older cache: split names only
    assert dcache.cached_splits("toy", 1, _toy_build(calls)).hit is True
    (again.folder / "done").write_text('{"sizes": ')  # garbled
    assert dcache.cached_splits("toy", 1, _toy_build(calls)).hit is False and len(calls) == 3
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "damaged folders are removed"


def test_truncated_cache_of_a_real_dataset_is_rebuilt(tmp_path, monkeypatch):
    monkeypatch.setenv(dcache.CACHE_ENV, str(tmp_path))
    from altbench.datasets import load_dataset

    data = Path(os.environ.get("ALTBENCH_DATA_DIR", "/work/shared/data"))
    a = load_dataset("zhan_appendicitis", data, protocol="fixed")
    (arrow,) = tmp_path.glob("*/*.arrow")
    size = arrow.stat().st_size
    arrow.write_bytes(arrow.read_bytes()[:-64])
    b = load_dataset("zhan_appendicitis", data, protocol="fixed")
    assert arrow.stat().st_size == size and list(tmp_path.glob("*/*.arrow")) == [arrow]
    assert np.array_equal(a.X_train, b.X_train) and np.array_equal(a.y_test, b.y_test)


def test_damaged_feature_cache_entry_is_rebuilt(tmp_path, caplog):
    cache, calls = FeatureCache(tmp_path), []

    def compute():
        calls.append(1)
        return np.arange(600, dtype=np.float32).reshape(200, 3), np.ones((4, 3))

    cache.get_or_compute("k", compute)
    p_train, _ = cache.paths("k")
    p_train.write_bytes(p_train.read_bytes()[:500])
    with caplog.at_level(logging.WARNING, logger="altbench"):
        F_train, _ = cache.get_or_compute("k", compute)
    assert "feature cache entry k" in caplog.text and calls == [1, 1]
    assert F_train.shape == (200, 3) and F_train[-1, -1] == 599
    cache.get_or_compute("k", compute)
    assert calls == [1, 1] and (cache.misses, cache.hits) == (2, 1)


def _encode_in_worker(root: str, counter: str, barrier) -> None:
    def slow_encode():
        with open(counter, "a") as f:
            f.write("encode\n")
        time.sleep(0.5)  # long enough for the other worker to find no entry and wait on the lock
        return np.full((3, 2), 7.0), np.zeros((1, 2))

    barrier.wait(10)
    F_train, _ = FeatureCache(Path(root)).get_or_compute("shared", slow_encode)
    assert float(F_train.sum()) == 42.0


def test_one_encode_per_entry_across_processes(tmp_path):
    ctx = multiprocessing.get_context("fork")
    barrier = ctx.Barrier(2)
    counter = tmp_path / "calls.txt"
    procs = [ctx.Process(target=_encode_in_worker, args=(str(tmp_path / "feat"), str(counter), barrier))
             for _ in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0, 0]
    assert counter.read_text() == "encode\n", "the second worker waited and read the first one's entry"


def test_status_command_says_corrupt_results_are_moved_aside_and_rerun(finished, tmp_path, capsys):
    from altbench.cli import main

    exp, store, run_id, original = finished
    store.path(run_id, ".parquet").write_bytes(original[:100])
    assert main(["status", str(tmp_path / "exp.yaml")]) == 0
    out = capsys.readouterr().out
    assert "corrupt 1 of 1" in out and "runs/*.parquet.corrupt" in out and "`altbench run CONFIG` re-runs" in out
