"""Results store: one finished file per run, keyed by the run id.

Layout under a results directory::

    runs/<run_id>.jsonl         rounds appended while the run is going
    runs/<run_id>.parquet       the results: deterministic per-round metrics
                                (byte-identical for the same config + seed)
    runs/<run_id>.json          run record: resolved config, provenance
                                (versions, git commit, host, threads, hardware),
                                per-round fit/query seconds and train loss (not
                                deterministic), and the SHA-256 of the .parquet
    runs/<run_id>.failed.json   traceback of a run that raised
    runs/<run_id>.phase         a running run's preparation note (altbench.watch)
    runs/<run_id>.lock          held (flock) by the process executing the run;
                                removed once the run has finished
    runs/<run_id>.parquet.corrupt   a results file that failed verification,
                                kept for inspection until the run is re-run

**Finished and verified.**  The ``.json`` is written first, then (last,
through a temporary file and ``os.replace``) the ``.parquet``, so a crash
never leaves a half file.  :meth:`RunStore.verify` (behind ``is_finished``,
used by ``run`` and ``status``) checks that the parquet is present, the record
parses and the parquet's SHA-256 matches the record's ``parquet_sha256``
(records written before that field existed: the parquet must read).  A
corrupt results file is moved aside to ``<run_id>.parquet.corrupt`` with a
warning on the ``altbench`` logger; the run then counts as not finished (and
as "corrupt" until it has been re-run), so ``altbench run`` recomputes it.

**Checkpoint.**  The ``.jsonl`` holds one line per finished round (metrics and
the indices it bought) with a trailing ``"sha"`` field: the first 16 hex
digits of the SHA-256 of the round's canonical JSON (sorted keys, no spaces).
Every round's random streams derive from (seed, round) alone, so the labelled
set and the next round's randomness are restored from those lines.  Reading
stops at the first damaged line (cut short, not JSON, checksum mismatch,
missing fields, out of order): it and the lines after it are dropped (a
checksum or format problem with a warning) and those rounds are redone.
Lines without a ``"sha"`` (older versions) are accepted if well-formed.

**Crash semantics.**  Each line is written to the OS at once, so killing the
process (even ``SIGKILL``) loses no finished round: the page cache keeps it.
``fsync`` runs at most once per :data:`SYNC_INTERVAL_S` (one per round costs
milliseconds), so an OS crash or power loss can lose the last second of
rounds, which are then simply redone; finished results are always fsync'ed.

**Storage errors** (disk full, quota, read-only, permission) come out as a
one-line :class:`altbench.atomic.StorageError` naming the path.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import hashlib
import json
import logging
import os
import time
from datetime import datetime, timezone
from pathlib import Path

from altbench.atomic import atomic_write_bytes, storage_guard
from altbench.metric_registry import core_names, extra_names
from altbench.provenance import git_commit, provenance  # noqa: F401  (re-exported: altbench.runner imports them here)
from altbench.stop_signals import SIGNAL_COLUMNS  # written only when the rounds hold them (older files lack them)

log = logging.getLogger("altbench")

IDENTITY_COLUMNS = ("run_id", "dataset", "method", "strategy", "seed", "round", "n_labelled")  # then metrics
TIMING_COLUMNS = ("fit_seconds", "query_seconds")
SYNC_INTERVAL_S = 1.0  # fsync a checkpoint at most this often
ASIDE = ".parquet.corrupt"  # suffix of a results file that failed verification


@functools.cache
def results_schema(signals: bool = False):
    """The results file's Arrow schema (pyarrow is imported only when results are written or read);
    ``signals``: with the stopping-signal columns."""
    import pyarrow as pa

    extra = [("stop_pred", pa.list_(pa.int64())), ("stop_max_conf", pa.float64()),
             ("stop_entropy", pa.float64())] if signals else []
    return pa.schema([("run_id", pa.string()), ("dataset", pa.string()), ("method", pa.string()),
                      ("strategy", pa.string()), ("seed", pa.int64()), ("round", pa.int64()),
                      ("n_labelled", pa.int64()), *((m, pa.float64()) for m in core_names()),
                      ("queried", pa.list_(pa.int64())), *extra])


def result_columns() -> tuple[str, ...]:
    """Columns of every results file: identity, the core metrics (:mod:`altbench.metric_registry`), queried."""
    return (*IDENTITY_COLUMNS, *core_names(), "queried")


def round_keys() -> tuple[str, ...]:
    """Keys every checkpoint line holds."""
    return ("round", "n_labelled", *core_names(), "queried", *TIMING_COLUMNS)


def __getattr__(name: str):
    if name == "SCHEMA":  # kept for callers of the old constant
        return results_schema()
    if name in ("RESULT_COLUMNS", "ROUND_KEYS"):  # the old constants, now read from the metric registry
        return result_columns() if name == "RESULT_COLUMNS" else round_keys()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def line_digest(canonical: str) -> str:
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def encode_round(rec: dict) -> bytes:
    """One checkpoint line: the round's canonical JSON with a trailing ``"sha"`` of it."""
    body = json.dumps(rec, sort_keys=True, separators=(",", ":"))
    sep = "," if len(rec) else ""
    return f'{body[:-1]}{sep}"sha":"{line_digest(body)}"}}\n'.encode()


def decode_round(line: bytes) -> tuple[dict | None, str]:
    """(record, "") for a good checkpoint line, else (None, what is wrong with it)."""
    if not line.endswith(b"\n"):
        return None, "cut short"
    try:
        rec = json.loads(line)
    except ValueError:
        return None, "not JSON"
    if not isinstance(rec, dict):
        return None, "not a record"
    sha = rec.pop("sha", None)
    if sha is not None and sha != line_digest(json.dumps(rec, sort_keys=True, separators=(",", ":"))):
        return None, "checksum mismatch"
    if any(k not in rec for k in round_keys()):
        return None, "fields missing"
    return rec, ""


CELL = ("dataset", "method", "strategy", "seed")  # at most one run per cell in a results directory


class RunStore:
    """Reads and writes the files of runs under ``root/runs``."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.runs = self.root / "runs"
        self._synced: dict[str, float] = {}  # run id → time.monotonic() of its checkpoint's last fsync

    def path(self, run_id: str, suffix: str) -> Path:
        return self.runs / f"{run_id}{suffix}"

    def is_finished(self, run_id: str) -> bool:
        """True if the run's results file is present and verified (a corrupt one is moved aside)."""
        return self.verify(run_id) == "ok"

    def verify(self, run_id: str) -> str:
        """"ok", "missing", or "corrupt" (moved aside now or earlier, not yet re-run)."""
        try:
            data = self.path(run_id, ".parquet").read_bytes()
        except FileNotFoundError:
            return "corrupt" if self.path(run_id, ASIDE).exists() else "missing"
        problem = self._problem(run_id, data)
        if problem is None:
            return "ok"
        self._move_aside(run_id, problem)
        return "corrupt"

    def _problem(self, run_id: str, data: bytes) -> str | None:
        """What is wrong with a finished run's files (``data``: its parquet bytes), or None."""
        try:
            meta = json.loads(self.path(run_id, ".json").read_bytes())
        except FileNotFoundError:
            return "its run record .json is missing"
        except (OSError, ValueError):
            return "its run record .json is unreadable"
        if not isinstance(meta, dict):
            return "its run record .json is not a JSON object"
        expected = meta.get("parquet_sha256")
        if expected is not None:
            return None if hashlib.sha256(data).hexdigest() == expected else "checksum mismatch"
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:  # record from before checksums: valid if the parquet reads
            pq.read_table(pa.BufferReader(data))
        except (pa.ArrowException, OSError, ValueError) as exc:
            return f"unreadable parquet ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})"
        return None

    def _move_aside(self, run_id: str, problem: str) -> None:
        src, dst = self.path(run_id, ".parquet"), self.path(run_id, ASIDE)
        try:
            os.replace(src, dst)
        except FileNotFoundError:  # another process moved it first
            return
        except OSError as exc:  # e.g. a read-only results directory: report, leave it
            log.warning("run %s: results file %s is corrupt (%s) and could not be moved aside (%s); "
                        "delete it, then `altbench run` re-runs it", run_id, src, problem, exc.strerror)
            return
        log.warning("run %s: results file %s is corrupt (%s); moved to %s, `altbench run` re-runs it",
                    run_id, src, problem, dst.name)

    def is_failed(self, run_id: str) -> bool:
        return self.path(run_id, ".failed.json").exists()

    @contextlib.contextmanager
    def claim(self, run_id: str):
        """Exclusive right to execute ``run_id``; yields False if another process has it."""
        with storage_guard(self.path(run_id, ".lock")):
            self.runs.mkdir(parents=True, exist_ok=True)
            lock = open(self.path(run_id, ".lock"), "a")  # noqa: SIM115 (held for the block)
        with lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                if self.path(run_id, ".parquet").exists():  # a finished run needs no lock file
                    self.path(run_id, ".lock").unlink(missing_ok=True)
                fcntl.flock(lock, fcntl.LOCK_UN)

    def checkpoint(self, run_id: str, *, fresh: bool) -> list[dict]:
        """Rounds already done (good lines only, see the module doc); ``fresh`` discards them."""
        path = self.path(run_id, ".jsonl")
        with storage_guard(path):
            self.runs.mkdir(parents=True, exist_ok=True)
            self.path(run_id, ".failed.json").unlink(missing_ok=True)
            if fresh or not path.exists():
                path.write_bytes(b"")
                return []
            done, good_bytes = self._read_checkpoint(run_id, path)
            with open(path, "r+b") as f:  # drop the damaged tail so appends stay valid
                f.truncate(good_bytes)
        return done

    def _read_checkpoint(self, run_id: str, path: Path) -> tuple[list[dict], int]:
        """(good records, their byte length) from the start of the checkpoint."""
        done, good_bytes = [], 0
        with open(path, "rb") as f:
            for line in f:
                rec, problem = decode_round(line)
                if rec is not None and rec["round"] != len(done):
                    problem = "out of order"
                if problem:
                    report = log.info if problem == "cut short" else log.warning  # cut short: a kill mid-write
                    report("run %s: checkpoint line %d is damaged (%s); it and later lines are dropped, "
                           "rounds from %d are redone", run_id, len(done) + 1, problem, len(done))
                    break
                done.append(rec)
                good_bytes += len(line)
        return done, good_bytes

    def append_round(self, run_id: str, record: dict) -> None:
        """Append one round's checkpoint line (fsync at most every :data:`SYNC_INTERVAL_S`)."""
        path = self.path(run_id, ".jsonl")
        with storage_guard(path), open(path, "ab") as f:
            f.write(encode_round(record))
            now = time.monotonic()
            if now - self._synced.get(run_id, -SYNC_INTERVAL_S) >= SYNC_INTERVAL_S:
                f.flush()
                os.fsync(f.fileno())
                self._synced[run_id] = now

    def finish(self, run_id: str, identity: dict, records: list[dict], record_meta: dict) -> None:
        """Write the run record (with the parquet's SHA-256), then (last, atomically) the results file."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        signals = any(k in r for r in records for k in SIGNAL_COLUMNS)
        columns = result_columns() + (SIGNAL_COLUMNS if signals else ())
        schema = results_schema(signals)
        for name in extra_names():  # metrics after the first schema: only when the rounds hold them
            if any(name in r for r in records):
                columns += (name,)
                schema = schema.append(pa.field(name, pa.float64()))
        for col, kind in (("n_validation", pa.int64()), ("chosen", pa.string()),  # budget.validation runs only
                          ("cost", pa.float64())):  # budget.cost_model runs only
            if any(col in r for r in records):
                columns += (col,)
                schema = schema.append(pa.field(col, kind))
        rows = [{**{k: r[k] for k in columns if k in r}, **identity, "run_id": run_id} for r in records]
        sink = pa.BufferOutputStream()
        pq.write_table(pa.Table.from_pylist(rows, schema=schema), sink, compression="zstd",
                       store_schema=False)
        parquet = sink.getvalue().to_pybytes()
        meta = {**record_meta, "timings": {c: [r[c] for r in records] for c in TIMING_COLUMNS},
                "train_loss": [r.get("train_loss") for r in records],
                "train_steps": [r.get("train_steps") for r in records],  # optimizer steps per fit (torch methods)
                "parquet_sha256": hashlib.sha256(parquet).hexdigest()}
        atomic_write_bytes(self.path(run_id, ".json"), json.dumps(meta, indent=1, sort_keys=True).encode())
        atomic_write_bytes(self.path(run_id, ".parquet"), parquet)
        with storage_guard(self.runs):
            self.path(run_id, ".jsonl").unlink(missing_ok=True)
            self.path(run_id, ASIDE).unlink(missing_ok=True)
        self._synced.pop(run_id, None)

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

    def read_rounds(self, run_id: str) -> list[dict]:
        """The good checkpoint lines of a run, read only (no truncation, no warning): for watchers."""
        done = []
        try:
            with open(self.path(run_id, ".jsonl"), "rb") as f:
                for line in f:
                    rec, problem = decode_round(line)
                    if problem or rec["round"] != len(done):
                        break
                    done.append(rec)
        except OSError:
            pass
        return done

    def read_json(self, run_id: str, suffix: str) -> dict | None:
        """A run's ``.json`` record or ``.failed.json`` as a dict; None if absent or unreadable."""
        try:
            data = json.loads(self.path(run_id, suffix).read_bytes())
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def read_results(self):
        """All finished runs' rounds as one DataFrame, timings joined in."""
        import pandas as pd
        import pyarrow as pa
        import pyarrow.parquet as pq

        frames = []
        for run_id in self.finished_ids():
            try:
                df = pq.read_table(self.path(run_id, ".parquet")).to_pandas()
                meta = json.loads(self.path(run_id, ".json").read_text())
            except (OSError, ValueError, pa.ArrowException) as exc:
                raise ValueError(f"results file of run {run_id} in {self.runs} is unreadable ({exc}); "
                                 "`altbench run` on its config moves it aside and re-runs it") from None
            for col in TIMING_COLUMNS:
                df[col] = meta["timings"][col]
            df["threads"] = (meta.get("provenance") or {}).get("torch_threads")  # the timings' thread count
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
                for suffix in (".parquet", ".json", ".jsonl", ".failed.json", ASIDE, ".phase"):
                    self.path(run_id, suffix).unlink(missing_ok=True)
            self.path(run_id, ".lock").unlink(missing_ok=True)
            gone.append(run_id)
        return gone
