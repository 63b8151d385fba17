"""Results store: one finished file per run, keyed by the run id.

Layout under a results directory::

    runs/<run_id>.jsonl         rounds appended while the run is going
    runs/<run_id>.parquet       the results: deterministic per-round metrics
                                (byte-identical for the same config + seed)
    runs/<run_id>.json          run record: resolved config, provenance
                                (versions, git commit, host, threads) and
                                per-round fit/query seconds (not deterministic)
    runs/<run_id>.failed.json   traceback of a run that raised
    runs/<run_id>.lock          held (flock) by the process executing the run;
                                removed once the run has finished

A run is finished when its ``.parquet`` exists; it is written last, through a
temporary file and ``os.replace``, so a crash never leaves a half file.  The
``.jsonl`` is the per-round checkpoint: each line is one finished round
(metrics and the indices it bought), fsync'ed; because every round's random
streams are derived from (seed, round) alone, the labelled set and the next
round's randomness are fully restored from those lines.  A line cut short by
a crash is ignored, so at most the interrupted round is redone.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import platform
import subprocess
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from bench.atomic import atomic_write_bytes

RESULT_COLUMNS = ("run_id", "dataset", "method", "strategy", "seed", "round", "n_labelled",
                  "accuracy", "macro_f1", "queried")
TIMING_COLUMNS = ("fit_seconds", "query_seconds")
SCHEMA = pa.schema([("run_id", pa.string()), ("dataset", pa.string()), ("method", pa.string()),
                    ("strategy", pa.string()), ("seed", pa.int64()), ("round", pa.int64()),
                    ("n_labelled", pa.int64()), ("accuracy", pa.float64()), ("macro_f1", pa.float64()),
                    ("queried", pa.list_(pa.int64()))])


def provenance(threads: int) -> dict:
    """Library versions, git commit, host and threads of this process."""
    import torch

    versions = {}
    for dist in ("altbench", "numpy", "scipy", "scikit-learn", "torch", "pyarrow", "datasets"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = None
    return {"versions": versions, "python": platform.python_version(), "git_commit": git_commit(),
            "host": platform.node(), "platform": platform.platform(),
            "torch_threads": torch.get_num_threads(), "threads_requested": threads}


def git_commit() -> str | None:
    """HEAD of the altbench source tree (``+dirty`` if modified), or None."""
    here = Path(__file__).resolve().parent
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True,
                              timeout=5).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=here,
                               capture_output=True, text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return (head + ("+dirty" if dirty else "")) or None


CELL = ("dataset", "method", "strategy", "seed")  # at most one run per cell in a results directory


class RunStore:
    """Reads and writes the files of runs under ``root/runs``."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.runs = self.root / "runs"

    def path(self, run_id: str, suffix: str) -> Path:
        return self.runs / f"{run_id}{suffix}"

    def is_finished(self, run_id: str) -> bool:
        return self.path(run_id, ".parquet").exists()

    def is_failed(self, run_id: str) -> bool:
        return self.path(run_id, ".failed.json").exists()

    @contextlib.contextmanager
    def claim(self, run_id: str):
        """Exclusive right to execute ``run_id``; yields False if another process has it."""
        self.runs.mkdir(parents=True, exist_ok=True)
        with open(self.path(run_id, ".lock"), "a") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                if self.is_finished(run_id):  # a finished run needs no lock file
                    self.path(run_id, ".lock").unlink(missing_ok=True)
                fcntl.flock(lock, fcntl.LOCK_UN)

    def checkpoint(self, run_id: str, *, fresh: bool) -> list[dict]:
        """Rounds already done (complete lines only); ``fresh`` discards them."""
        self.runs.mkdir(parents=True, exist_ok=True)
        path = self.path(run_id, ".jsonl")
        self.path(run_id, ".failed.json").unlink(missing_ok=True)
        if fresh or not path.exists():
            path.write_text("")
            return []
        done, good_bytes = [], 0
        with open(path, "rb") as f:
            for line in f:
                if not line.endswith(b"\n"):
                    break  # cut short by a crash mid-write
                try:
                    rec = json.loads(line)
                except ValueError:
                    break
                if not isinstance(rec, dict) or rec.get("round") != len(done):
                    break
                done.append(rec)
                good_bytes += len(line)
        with open(path, "r+b") as f:  # drop the damaged tail so appends stay valid
            f.truncate(good_bytes)
        return done

    def append_round(self, run_id: str, record: dict) -> None:
        with open(self.path(run_id, ".jsonl"), "a") as f:
            f.write(json.dumps(record) + "\n")
            f.flush()
            os.fsync(f.fileno())

    def finish(self, run_id: str, identity: dict, records: list[dict], record_meta: dict) -> None:
        """Write the run record, then (last, atomically) the results file."""
        meta = {**record_meta, "timings": {c: [r[c] for r in records] for c in TIMING_COLUMNS}}
        atomic_write_bytes(self.path(run_id, ".json"), json.dumps(meta, indent=1, sort_keys=True).encode())
        rows = [{**{k: r[k] for k in RESULT_COLUMNS if k in r}, **identity, "run_id": run_id} for r in records]
        table = pa.Table.from_pylist(rows, schema=SCHEMA)
        sink = pa.BufferOutputStream()
        pq.write_table(table, sink, compression="zstd", store_schema=False)
        atomic_write_bytes(self.path(run_id, ".parquet"), sink.getvalue().to_pybytes())
        self.path(run_id, ".jsonl").unlink(missing_ok=True)

    def fail(self, run_id: str, config: dict, error: str, tb: str) -> None:
        atomic_write_bytes(self.path(run_id, ".failed.json"), json.dumps(
            {"config": config, "error": error, "traceback": tb,
             "when": datetime.now(timezone.utc).isoformat()}, indent=1).encode())

    def finished_ids(self) -> list[str]:
        return sorted(p.stem for p in self.runs.glob("*.parquet"))

    def failed_ids(self) -> list[str]:
        return sorted(p.name.removesuffix(".failed.json") for p in self.runs.glob("*.failed.json"))

    def rounds_done(self, run_id: str) -> int:
        """Rounds checkpointed by a run in progress (0 if none)."""
        try:
            return self.path(run_id, ".jsonl").read_bytes().count(b"\n")
        except OSError:
            return 0

    def read_results(self):
        """All finished runs' rounds as one DataFrame, timings joined in."""
        import pandas as pd

        frames = []
        for run_id in self.finished_ids():
            try:
                df = pq.read_table(self.path(run_id, ".parquet")).to_pandas()
                meta = json.loads(self.path(run_id, ".json").read_text())
            except (OSError, ValueError, pa.ArrowException) as exc:
                raise ValueError(f"results file of run {run_id} in {self.runs} is unreadable ({exc}); "
                                 "delete it and re-run to regenerate it") from None
            for col in TIMING_COLUMNS:
                df[col] = meta["timings"][col]
            frames.append(df)
        if not frames:
            raise FileNotFoundError(f"no finished runs under {self.runs}; run `altbench run` first")
        df = pd.concat(frames, ignore_index=True)
        ids = df.groupby(list(CELL), sort=True)["run_id"].unique()
        clash = ids[ids.map(len) > 1]
        if len(clash):
            cell = "/".join(map(str, clash.index[0]))
            raise ValueError(f"{self.runs} holds {len(clash)} dataset/method/strategy/seed cell(s) with more "
                             f"than one run (e.g. {cell}: {', '.join(clash.iloc[0])}), left by an older config "
                             "or a different budget; `altbench run CONFIG --prune` deletes the runs CONFIG no "
                             "longer produces") from None
        return df

    def prune(self, keep: set[str]) -> list[str]:
        """Delete every run (finished, failed or checkpointed) whose id is not in ``keep``;
        runs locked by a live process are left alone.  Returns the deleted ids."""
        ids = {p.name.split(".")[0] for p in self.runs.glob("[!.]*")}  # not the hidden temp files of writes
        gone = []
        for run_id in sorted(ids - keep):
            with self.claim(run_id) as mine:
                if not mine:  # being executed right now
                    continue
                for suffix in (".parquet", ".json", ".jsonl", ".failed.json"):
                    self.path(run_id, suffix).unlink(missing_ok=True)
            self.path(run_id, ".lock").unlink(missing_ok=True)
            gone.append(run_id)
        return gone
