"""Run functions in a disposable child process, supervised from outside.

Whatever a call does (a segfault, an OOM kill, a hang in C code, a plugin
that catches every exception), the supervisor stays in control: it waits
with a deadline, kills the child when the deadline passes, and reports how
the call ended.  A child serves one supervising thread and is reused for its
next call while it behaves (warm imports and caches, as a pool worker); one
that overran or died is never reused.  Nothing outlives the supervisor:

* on Linux children come from a *fork server* that imports altbench once and
  never runs torch, so a new child is cheap and safe even when the
  supervising process has used OpenMP threads (a plain fork of such a
  process hangs);
* a child dies with its parent (``PR_SET_PDEATHSIG``, plus a watch on
  ``os.getppid()``), the fork server exits with the supervisor, and an idle
  child exits after :data:`IDLE_EXIT_S`;
* :func:`prestart` starts the fork server early, without waiting (its imports
  overlap the caller's work); a grid needing a library it lacks restarts it
  (killed, not waited for), altbench's own modules a child imports itself;
* :func:`stop_all` kills every child at once (the driver's Ctrl-C / SIGTERM);
  :func:`close_idle` lets the idle ones exit (the end of a grid).

A child ignores SIGINT: a Ctrl-C reaches the whole process group, and it is
the supervisor's job to stop the child, not the run's to notice.
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing as mp
import multiprocessing.connection
import multiprocessing.spawn
import os
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

KILL_GRACE_S = 1.0  # after SIGTERM, before SIGKILL
IDLE_EXIT_S = 120.0  # a child with no call for this long exits
_workers: set[_Worker] = set()  # live children of this process, for stop_all() / close_idle()
_lock = threading.Lock()
_stopping = threading.Event()
_mine = threading.local()  # .worker: this thread's child; .starting: True while it starts one


class Stopped(KeyboardInterrupt):
    """The driver is shutting down (Ctrl-C, SIGTERM): no retry, no failure record."""


@dataclass(frozen=True)
class Ended:
    """How a call ended: it returned ``value``, ran out of time, or its process died (``exitcode``)."""

    value: Any = None
    timed_out: bool = False
    exitcode: int | None = None  # negative: killed by that signal; None: it returned

    @property
    def died(self) -> bool:
        return not self.timed_out and self.exitcode is not None

    def cause(self) -> str:
        """One phrase: ``was killed by SIGKILL (likely out of memory ...)``."""
        if self.exitcode is None or self.exitcode >= 0:
            return f"exited with code {self.exitcode} without reporting a result"
        sig = signal.Signals(-self.exitcode).name
        return f"was killed by {sig}" + _SIGNAL_HINTS.get(sig, "")


_SIGNAL_HINTS = {
    "SIGKILL": " (likely out of memory: the kernel's OOM killer; lower --jobs or set --memory-gb)",
    "SIGSEGV": " (a segmentation fault in native code)",
    "SIGBUS": " (a bus error in native code; is the disk or a memory-mapped file gone?)",
    "SIGABRT": " (native code aborted)",
}


@dataclass(eq=False)
class _Worker:
    process: Any  # multiprocessing.Process
    conn: Any  # duplex Connection to it
    busy: bool = field(default=False)


def run_in_child(fn: Callable, args: tuple, timeout_s: float | None = None, preload: tuple[str, ...] = ()) -> Ended:
    """``fn(*args)`` in this thread's child process; waits at most ``timeout_s`` s (None: no limit).

    ``fn`` must be importable (not defined in ``__main__``).  ``preload``: modules the
    fork server imports once, so that new children start warm (they must import
    cleanly and run no torch ops).  An exception ``fn`` raises is re-raised here (it
    must pickle); an overrun or a dead child is reported in :class:`Ended`.  Raises
    :class:`Stopped` if :func:`stop_all` was called meanwhile.
    """
    call = (fn, args, dict(os.environ), list(sys.path))  # the child's environment and path may be older
    w = _worker(preload)
    try:
        w.conn.send(call)
    except OSError:  # it exited while idle
        _discard(w)
        w = _worker(preload)
        w.conn.send(call)
    w.busy, ok = True, False
    try:
        end = _wait(w, timeout_s)
        ok = end.exitcode is None and not end.timed_out
        return end
    except Exception:  # an exception fn raised: the child itself is fine
        ok = w.process.exitcode is None
        raise
    finally:
        w.busy = False
        if not ok:
            _discard(w)


def _wait(w: _Worker, timeout_s: float | None) -> Ended:
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    while True:
        left = None if deadline is None else deadline - time.monotonic()
        if left is not None and left <= 0:
            return Ended(timed_out=True)
        ready = mp.connection.wait([w.conn, w.process.sentinel], timeout=left)
        if w.conn in ready:
            try:
                kind, payload = w.conn.recv()
            except (EOFError, OSError):  # the child is gone without a word
                w.process.join()
                return _died(w)
            if kind == "raised":
                raise payload
            return Ended(value=payload)
        if w.process.sentinel in ready and not w.conn.poll():
            w.process.join()
            return _died(w)


def _died(w: _Worker) -> Ended:
    if _stopping.is_set():
        raise Stopped()
    return Ended(exitcode=w.process.exitcode)


def _worker(preload: tuple[str, ...]) -> _Worker:
    """This thread's live child, started if needed."""
    w = getattr(_mine, "worker", None)
    if w is not None and w.process.exitcode is None:
        return w
    if w is not None:
        _discard(w)
    ctx = _context(list(preload))
    if mp.current_process().daemon:  # dask workers are daemonic; we tie children to us ourselves
        mp.current_process().daemon = False
    ours, theirs = ctx.Pipe(duplex=True)
    process = ctx.Process(target=_serve, args=(theirs,), name="altbench-run", daemon=False)
    with _lock:
        if _stopping.is_set():
            raise Stopped()
        _mine.starting = True
        try:
            process.start()
        finally:
            _mine.starting = False
        w = _mine.worker = _Worker(process, ours)
        _workers.add(w)
        _unused_server.clear()
    theirs.close()
    return w


def _discard(w: _Worker) -> None:
    """Kill (SIGTERM, then SIGKILL after a grace period) and forget a child."""
    with _lock:
        _workers.discard(w)
    if getattr(_mine, "worker", None) is w:
        _mine.worker = None
    if w.process.exitcode is None:
        w.process.terminate()
        w.process.join(KILL_GRACE_S)
    if w.process.exitcode is None:
        w.process.kill()
        w.process.join()
    w.conn.close()


def stop_all() -> None:
    """Kill every child of this process now; their supervisors raise :class:`Stopped`."""
    _stopping.set()
    with _lock:
        workers = list(_workers)
    for w in workers:
        try:
            w.process.kill()
        except (OSError, ValueError):  # already gone
            pass


def allow_runs() -> None:
    """Undo :func:`stop_all` (a new grid starts in the same process)."""
    _stopping.clear()


def close_idle(wait_s: float = 5.0) -> None:
    """Let every idle child exit (they see their pipe close); kill those that do not in ``wait_s``."""
    with _lock:
        idle = [w for w in _workers if not w.busy]
    for w in idle:
        w.conn.close()
    for w in idle:
        w.process.join(wait_s)
        _discard(w)


def prestart(preload: tuple[str, ...]) -> None:
    """Start the fork server now, without waiting for it: it imports ``preload`` while the caller
    goes on (parses, scans the results directory), so the first run's process is ready sooner."""
    if sys.platform.startswith("linux"):
        from multiprocessing import forkserver

        _context(list(preload))
        before = _server_pid()
        forkserver.ensure_running()
        if _server_pid() != before:
            _unused_server[:] = [_server_pid()]


def stop_server_if_idle() -> None:
    """Stop a fork server that :func:`prestart` started and no child has come from yet (a grid with
    nothing to run: its imports would only take CPU from the report that follows)."""
    with _lock:
        if not _workers and _unused_server and _unused_server[0] == _server_pid():
            _stop_fork_server()
        _unused_server.clear()


def _server_pid() -> int | None:
    from multiprocessing import forkserver

    return getattr(getattr(forkserver, "_forkserver", None), "_forkserver_pid", None)


_unused_server: list[int | None] = []  # [pid] of a prestarted fork server no child has come from


def _context(preload: list[str]) -> mp.context.BaseContext:
    if sys.platform.startswith("linux"):
        ctx = mp.get_context("forkserver")
        with _lock:
            missing = [m for m in preload if m not in _server_preload]
            if any(not m.startswith(_OWN) for m in missing):  # a grid needing a library the server lacks
                if not _workers:  # (its children would die with it): restart it with both
                    _stop_fork_server()
            _server_preload.update(dict.fromkeys(preload))  # altbench's own modules alone: children import them
            ctx.set_forkserver_preload(list(_server_preload))  # takes effect when the server (re)starts
        return ctx
    return mp.get_context("spawn")


_server_preload: dict[str, None] = {}  # modules (in order) the fork server imports when it (re)starts
_OWN = __name__.split(".")[0] + "."  # "altbench.": modules cheap enough for a child to import itself


def _stop_fork_server() -> None:
    """Stop this process's fork server, if one runs (the next child starts a new one).  It is killed
    first: one still importing its preload would otherwise finish that (seconds) before it exits."""
    from multiprocessing import forkserver

    server = getattr(forkserver, "_forkserver", None)
    pid = _server_pid()
    if pid is not None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    stop = getattr(server, "_stop", None)
    if stop is not None:
        stop()


def _serve(conn) -> None:
    """The child: run calls from the supervisor until its pipe closes or it idles too long."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    die_with_parent()
    while conn.poll(IDLE_EXIT_S):
        try:
            fn, args, environ, path = conn.recv()
        except (EOFError, OSError):
            return
        os.environ.clear()
        os.environ.update(environ)
        sys.path[:] = path  # plugin modules the supervisor can import, the run can too
        try:
            msg = ("returned", fn(*args))
        except Exception as exc:  # noqa: BLE001 - handed to the supervisor, which re-raises it
            msg = ("raised", _picklable(exc))
        conn.send(msg)


def _picklable(exc: Exception) -> Exception:
    import pickle

    try:
        pickle.loads(pickle.dumps(exc))
        return exc
    except Exception:  # noqa: BLE001
        return RuntimeError(f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")


def die_with_parent(poll_s: float = 0.5) -> None:
    """Exit promptly when the parent process dies: the kernel's PDEATHSIG plus a polling thread."""
    parent = os.getppid()
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL))  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass
        _release_fork_server()
    if os.getppid() != parent:  # it died before the prctl took effect
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(poll_s)
        os._exit(1)

    threading.Thread(target=watch, name="altbench-parent-watch", daemon=True).start()


def _release_fork_server() -> None:
    """Close this child's copy of the fork server's "alive" pipe: the server (our parent) then
    exits as soon as its supervisor does, and PDEATHSIG takes us with it."""
    from multiprocessing import forkserver

    server = getattr(forkserver, "_forkserver", None)
    fd = getattr(server, "_forkserver_alive_fd", None)
    if fd is not None:
        try:
            os.close(fd)
        except OSError:
            pass
        server._forkserver_alive_fd = None


def _without_main(get_preparation_data: Callable) -> Callable:
    """Wrap multiprocessing's start-up data so that, for our children only, it leaves out the
    caller's ``__main__``: the child's code lives in importable modules, and re-running an
    unguarded script (or pytest's) in every child would be slow or, worse, start the grid again."""
    def data(name: str) -> dict:
        d = get_preparation_data(name)
        if getattr(_mine, "starting", False):
            d.pop("init_main_from_path", None)
            d.pop("init_main_from_name", None)
        return d

    data.wrapped = get_preparation_data
    return data


if not hasattr(mp.spawn.get_preparation_data, "wrapped"):
    mp.spawn.get_preparation_data = _without_main(mp.spawn.get_preparation_data)
