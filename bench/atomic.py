"""Safe file writes: atomic replacement, ordinary file modes, one-line storage errors, file locks.

* :func:`atomic_open` / :func:`atomic_write_bytes`: readers see the old file or
  the whole new one, never a part; the temporary file is removed on any error.
* New files get the mode of an ordinary ``open()``: ``0o666 & ~umask`` (0o644
  under umask 022), so colleagues sharing a results directory can read them.
* :func:`storage_guard` turns "disk full", "quota exceeded", "read-only file
  system" and "permission denied" into a :class:`StorageError` whose message is
  one line naming the path and the fix.
* :func:`exclusive_lock`: a blocking ``flock`` on a lock file, for
  "check → build → write" sections that several workers may enter at once.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import tempfile
from pathlib import Path
from typing import BinaryIO, Iterator


class StorageError(OSError):
    """The file system refused a write (disk full, read-only, no permission).

    The message is one line naming the path and what to do.  It is not a run's
    fault: the grid stops (every run would hit it) and nothing finished is lost.
    """


RESULTS_HINT = "point --results-dir elsewhere; finished runs are kept"
CACHE_ENV = "ALTBENCH_CACHE_DIR"
CACHE_HINT = f"set ${CACHE_ENV} to another directory"


def user_cache_dir(subdir: str = "") -> Path:
    """Where the cache ``subdir`` lives: ``$ALTBENCH_CACHE_DIR`` itself when set (the setting
    names the one directory to use), else ``<user cache dir>/altbench/<subdir>``."""
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("altbench")) / subdir

# errno → (what happened, how to fix it; the caller's hint follows)
_STORAGE_ERRNOS = {
    errno.ENOSPC: ("disk full", "free space or "),
    errno.EDQUOT: ("disk quota exceeded", "free space or "),
    errno.EROFS: ("read-only file system", ""),
    errno.EACCES: ("permission denied", "make it writable or "),
    errno.EPERM: ("operation not permitted", "make it writable or "),
}


def storage_error(path: Path, exc: OSError, hint: str = RESULTS_HINT) -> StorageError | None:
    """The one-line :class:`StorageError` for ``exc`` while writing ``path``, or None if it is no storage error."""
    if isinstance(exc, StorageError) or exc.errno not in _STORAGE_ERRNOS:
        return None
    what, fix = _STORAGE_ERRNOS[exc.errno]
    strerror = exc.strerror or os.strerror(exc.errno)
    err = StorageError(f"cannot write {path}: {what} ({strerror}); {fix}{hint}")
    err.errno = exc.errno  # str() stays the one-line message (no strerror/filename set)
    return err


@contextlib.contextmanager
def storage_guard(path: Path, hint: str = RESULTS_HINT) -> Iterator[None]:
    """Re-raise storage ``OSError``s of the block as :class:`StorageError` naming ``path``."""
    try:
        yield
    except OSError as exc:
        err = storage_error(path, exc, hint)
        if err is None:
            raise
        raise err from None


def current_umask() -> int:
    """The process umask, read without changing it (``/proc``), else by a set-and-restore."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def file_mode() -> int:
    """Mode of a new ordinary file: ``0o666 & ~umask``."""
    return 0o666 & ~current_umask()


def dir_mode() -> int:
    """Mode of a new ordinary directory: ``0o777 & ~umask``."""
    return 0o777 & ~current_umask()


@contextlib.contextmanager
def atomic_open(path: Path, suffix: str = ".tmp", hint: str = RESULTS_HINT) -> Iterator[BinaryIO]:
    """A binary file handle whose content replaces ``path`` (fsync + ``os.replace``) on success.

    On any error the temporary file is removed and ``path`` is left untouched;
    storage errors come out as one-line :class:`StorageError` (``hint`` says where else to write).
    """
    path = Path(path)
    with storage_guard(path, hint):
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=suffix)
        try:
            os.fchmod(fd, file_mode())  # mkstemp makes 0600
            with os.fdopen(fd, "wb") as f:
                yield f
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def atomic_write_bytes(path: Path, data: bytes, hint: str = RESULTS_HINT) -> None:
    """Replace ``path`` with ``data`` atomically."""
    with atomic_open(path, hint=hint) as f:
        f.write(data)


@contextlib.contextmanager
def exclusive_lock(path: Path, hint: str = RESULTS_HINT) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``path`` (created, never removed) for the block; waits for it."""
    path = Path(path)
    with storage_guard(path, hint):
        path.parent.mkdir(parents=True, exist_ok=True)
        lock = open(path, "a")  # noqa: SIM115 (held for the block)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield
    finally:
        lock.close()  # releases the lock
