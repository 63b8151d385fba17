"""Watching runs: readable run names, phase notes, and per-run progress lines under the grid bar.

A run is named ``dataset/method/strategy/s<seed>`` (:func:`run_name`); log lines
add its id (:func:`run_label`).  Progress reaches the driver by polling files
on the results directory, so it works for every executor (dask workers too,
on a shared filesystem) and adds nothing to the supervision path:

* the checkpoint ``runs/<id>.jsonl`` (one line per finished round, written
  by the run anyway) gives round, labels, last accuracy and, from the times
  the driver first saw each line, the mean round time and the ETA;
* ``runs/<id>.phase`` holds a one-line note while a run prepares (encoding
  features, adapting an encoder: :func:`phase`), written by the run's process
  and removed when the phase ends.

:class:`Watcher` turns those files into lines such as
``trec6/finetune/margin/s3  round 4/10  120 labels  acc 0.812  ETA 3m``;
:func:`progress_lines` shows them under a tqdm bar when stderr is a terminal
(``--no-progress`` or a pipe: nothing, the runs' INFO log lines instead).
Every clock is passed in, so the rendering is testable without waiting.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator

log = logging.getLogger("altbench")

PHASE = ".phase"  # suffix of a run's phase note in runs/
POLL_S = 1.0  # seconds between two looks at the in-flight runs' files
MTIME_SLACK_S = 1.0  # file times are coarse on some filesystems: this much before the start still counts
_phase_path: Path | None = None  # the current run's phase note (set in the run's process by `watching`)
_phase_who = ""  # the current run's label, for the phase's log line


def run_name(cfg) -> str:
    """``dataset/method/strategy/s<seed>`` of a :class:`~altbench.config.RunConfig`."""
    return f"{cfg.dataset.key()}/{cfg.method.key()}/{cfg.strategy.key()}/s{cfg.seed}"


def run_label(cfg) -> str:
    """The readable name plus the run id, for log lines: ``digits/logreg/margin/s0 [3f2a…]``."""
    return f"{run_name(cfg)} [{cfg.run_id}]"


def name_of_record(config: dict) -> str:
    """:func:`run_name` of a run record's ``config`` (a ``RunConfig.to_dict()``)."""
    def key(spec: dict) -> str:
        return spec.get("shown") or spec.get("label") or spec.get("name", "?")

    return f"{key(config['dataset'])}/{key(config['method'])}/{key(config['strategy'])}/s{config['seed']}"


def total_rounds(budget, rounds: list[dict]) -> int:
    """Rounds the run will have: its budget's sizes from the initial set (the first round's labels when
    known, else ``budget.initial``)."""
    n0 = rounds[0]["n_labelled"] if rounds else budget.initial
    if getattr(budget, "cost_total", None) is not None or getattr(budget, "cost_schedule", None) is not None:
        from altbench.purchase import cost_targets  # a budget in cost units: from the initial set's cost

        return len(cost_targets(budget, rounds[0]["cost"] if rounds and "cost" in rounds[0] else 0.0))
    return len(budget.sizes(n0))


# ---------------------------------------------------------------- in the run's process
@contextlib.contextmanager
def watching(path: Path, label: str) -> Iterator[None]:
    """Bind the run's phase note to ``path`` for the block (the run's process); removed afterwards."""
    global _phase_path, _phase_who
    _phase_path, _phase_who = Path(path), label
    try:
        yield
    finally:
        _phase_path, _phase_who = None, ""
        with contextlib.suppress(OSError):
            Path(path).unlink(missing_ok=True)


@contextlib.contextmanager
def phase(text: str) -> Iterator[None]:
    """Announce a long preparation step (``encoding trec6 with minilm``) of the current run for the block.

    Logged at INFO; inside a run (:func:`watching`) also written to its phase note for the driver's
    progress line.  A note that cannot be written is skipped: watching never fails a run."""
    log.info("%s%s", f"run {_phase_who}: " if _phase_who else "", text)
    path = _phase_path
    if path is not None:
        _write_note(path, text)
    try:
        yield
    finally:
        if path is not None:
            with contextlib.suppress(OSError):
                path.unlink(missing_ok=True)


def _write_note(path: Path, text: str) -> None:
    from altbench.atomic import atomic_write_bytes

    with contextlib.suppress(OSError):
        atomic_write_bytes(path, text.encode())


# ---------------------------------------------------------------- in the driver
def format_eta(seconds: float | None) -> str:
    """``45s``, ``3m``, ``1h05m``; ``?`` when unknown."""
    if seconds is None:
        return "?"
    s = max(0, round(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{round(s / 60)}m"
    return f"{s // 3600}h{(s % 3600) // 60:02d}m"


def mean_round_s(rounds: list[dict], seen_at: list[float]) -> float | None:
    """Mean wall time per round: between the first and last round the driver saw finish
    (``seen_at``: clock times, one per round seen), else the rounds' own fit + query seconds."""
    if len(seen_at) >= 2:
        return (seen_at[-1] - seen_at[0]) / (len(seen_at) - 1)
    if rounds:
        return sum(r["fit_seconds"] + r["query_seconds"] for r in rounds) / len(rounds)
    return None


def sub_line(name: str, rounds: list[dict], total: int, seen_at: list[float], note: str = "") -> str:
    """One run's progress line: ``NAME  round 4/10  120 labels  acc 0.812  ETA 3m``, or
    ``NAME  preparing: NOTE`` while a phase note is newer than its last round."""
    if note:
        return f"{name}  preparing: {note}"
    if not rounds:
        return f"{name}  starting"
    last, mean = rounds[-1], mean_round_s(rounds, seen_at)
    eta = None if mean is None else mean * max(0, total - len(rounds))
    return (f"{name}  round {len(rounds)}/{total}  {last['n_labelled']} labels  "
            f"acc {last['accuracy']:.3f}  ETA {format_eta(eta)}")


@dataclass
class _Seen:
    rounds: list[dict] = field(default_factory=list)
    seen_at: list[float] = field(default_factory=list)  # clock time each round was first seen


class Watcher:
    """Progress of a grid's in-flight runs, read from their files (see the module doc).

    ``runs``: the runs submitted; ``since``: the grid's start on the wall clock (files touched
    before it belong to earlier grids); ``clock``: the monotonic clock of ETAs (tests pass a fake)."""

    def __init__(self, store, runs: Iterable, since: float, clock: Callable[[], float] = time.monotonic):
        self.store, self.since, self.clock = store, since, clock
        self.pending = {r.run_id: r for r in runs}
        self._seen: dict[str, _Seen] = {}

    def done(self, run_id: str) -> str:
        """The executor returned ``run_id``: stop watching it; returns its :func:`run_label`."""
        cfg = self.pending.pop(run_id, None)
        self._seen.pop(run_id, None)
        return run_label(cfg) if cfg is not None else run_id

    def lines(self) -> list[str]:
        """One line per run that is in flight now (its checkpoint or phase note touched since the start)."""
        out, now = [], self.clock()
        for run_id, cfg in self.pending.items():
            note, active = self._files(run_id)
            if not active:
                continue
            seen = self._seen.setdefault(run_id, _Seen())
            rounds = self.store.read_rounds(run_id)
            if len(rounds) < len(seen.rounds):  # restarted (a retry from an earlier checkpoint)
                seen = self._seen[run_id] = _Seen()
            seen.seen_at += [now] * (len(rounds) - len(seen.rounds))
            seen.rounds = rounds
            out.append(sub_line(run_name(cfg), rounds, total_rounds(cfg.budget, rounds), seen.seen_at, note))
        return out

    def _files(self, run_id: str) -> tuple[str, bool]:
        """(phase note newer than the checkpoint, or ""; whether the run was touched since the start)."""
        stamps = {}
        for suffix in (".jsonl", PHASE):
            with contextlib.suppress(OSError):
                stamps[suffix] = self.store.path(run_id, suffix).stat().st_mtime
        if not stamps or max(stamps.values()) < self.since - MTIME_SLACK_S:
            return "", False
        note = ""
        if stamps.get(PHASE, -1.0) >= stamps.get(".jsonl", -1.0):
            with contextlib.suppress(OSError, UnicodeDecodeError):
                note = self.store.path(run_id, PHASE).read_text().strip()
        return note, True


@contextlib.contextmanager
def progress_lines(bar, watcher: Watcher, slots: int, interval_s: float = POLL_S) -> Iterator[None]:
    """Show ``watcher``'s lines under tqdm ``bar`` (at most ``slots``), refreshed every ``interval_s``
    by a daemon thread; a no-op when the bar is disabled or stderr is not a terminal."""
    import sys

    if getattr(bar, "disable", True) or not sys.stderr.isatty():
        yield
        return
    from tqdm.auto import tqdm

    rows = [tqdm(total=0, position=i + 1, bar_format="{desc}", leave=False) for i in range(slots)]
    stop = threading.Event()

    def refresh() -> None:
        while not stop.wait(interval_s):
            with contextlib.suppress(Exception):  # a display hiccup must never stop the grid
                shown = watcher.lines()[:slots]
                for row, text in zip(rows, shown + [""] * (slots - len(shown))):
                    row.set_description_str(text)

    thread = threading.Thread(target=refresh, name="altbench-progress", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
        for row in rows:
            row.close()
