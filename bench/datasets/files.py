"""Dataset files: find in the data directory, else download, verify SHA-256.

Every file a loader reads is a :class:`FileSpec` (path relative to the data
directory, SHA-256, public URL).  :func:`fetch` looks in the data directory
first, then in any extra places (e.g. a Debian package's folder), then
downloads into the data directory, and always checks the checksum.  Setting
``ALTBENCH_OFFLINE=1`` (or ``HF_HUB_OFFLINE=1``) skips the download attempt.
Errors are one line: which file, where to put it, where to get it.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from altbench.atomic import atomic_open

OFFLINE_ENVS = ("ALTBENCH_OFFLINE", "HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE")
DOWNLOAD_TIMEOUT_S = 60  # per connection attempt


class DataFileError(FileNotFoundError):
    """A dataset file that is missing, corrupt or cannot be downloaded (one-line message)."""


class MissingDataFile(DataFileError):
    """A dataset file that is neither local nor downloadable."""


@dataclass(frozen=True)
class FileSpec:
    """One dataset file: where it lives under the data dir, its checksum, its public URL."""

    path: str  # relative to the data directory, e.g. "text/TREC.train.all"
    sha256: str  # of the file's bytes, or of its decompressed bytes if `gunzip_sha`
    url: str  # original source or a stable public mirror
    gunzip_sha: bool = False  # checksum the gunzipped content (same for any gzip re-pack)

    @property
    def name(self) -> str:
        return Path(self.path).name


def sha256_file(path: Path, gunzip: bool = False) -> str:
    """Hex SHA-256 of a file's bytes (of its decompressed bytes if ``gunzip``)."""
    h = hashlib.sha256()
    opener = gzip.open if gunzip else open
    try:
        with opener(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
    except (OSError, EOFError) as exc:  # truncated or not gzip: report as a mismatch
        return f"unreadable ({type(exc).__name__})"
    return h.hexdigest()


def verify(spec: FileSpec, path: Path) -> Path:
    """``path`` if its checksum matches ``spec``, else a one-line :class:`DataFileError`."""
    got = sha256_file(path, spec.gunzip_sha)
    if got != spec.sha256:
        raise DataFileError(
            f"{path}: SHA-256 {got[:16]}… does not match the expected {spec.sha256[:16]}… "
            f"(corrupt or wrong version); delete it and download it again from {spec.url}")
    return path


def offline() -> bool:
    """True when an offline env var (``ALTBENCH_OFFLINE=1`` …) forbids downloads."""
    return any(os.environ.get(v, "").lower() in ("1", "true", "yes") for v in OFFLINE_ENVS)


def locate(spec: FileSpec, data_dir: Path, also: tuple[Path, ...] = ()) -> Path | None:
    """First existing copy of ``spec``: ``data_dir/spec.path``, else ``<dir>/<name>`` for ``also``."""
    for candidate in (Path(data_dir) / spec.path, *(Path(d) / spec.name for d in also)):
        if candidate.is_file():
            return candidate
    return None


def fetch(spec: FileSpec, data_dir: Path, also: tuple[Path, ...] = ()) -> Path:
    """Local verified path of ``spec``: ``data_dir/spec.path``, else ``also/<name>``, else download."""
    found = locate(spec, data_dir, also)
    if found is not None:
        return verify(spec, found)
    target = Path(data_dir) / spec.path
    where = f"put it at {target}"
    if offline():
        raise MissingDataFile(f"dataset file {spec.name} not found; {where} (download: {spec.url}) "
                            "or point --data-dir / ALTBENCH_DATA_DIR at a folder holding it")
    try:
        _download(spec.url, target)
    except OSError as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise MissingDataFile(f"dataset file {spec.name} not found and its download failed ({reason}); "
                            f"{where} (download: {spec.url}) or point --data-dir / "
                            "ALTBENCH_DATA_DIR at a folder holding it") from None
    try:
        return verify(spec, target)
    except DataFileError:
        target.unlink(missing_ok=True)  # never leave a bad download behind
        raise


def _download(url: str, target: Path) -> None:
    """Stream ``url`` to ``target`` atomically (a partial file never appears)."""
    req = urllib.request.Request(url, headers={"User-Agent": "altbench"})
    with atomic_open(target, suffix=".part") as out, \
            urllib.request.urlopen(req, timeout=DOWNLOAD_TIMEOUT_S) as r:
        shutil.copyfileobj(r, out, 1 << 20)


def named_files_sha256(files: Iterable[tuple[str, Path]]) -> str:
    """One SHA-256 over named files, in the given order: name, NUL, the file's bytes (read in
    1 MB blocks), NUL for each.  Raises the OSError of a file it cannot read."""
    h = hashlib.sha256()
    for name, path in files:
        h.update(name.encode() + b"\0")
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        h.update(b"\0")
    return h.hexdigest()


def tree_sha256(root: Path, pattern: str = "*.txt") -> str:
    """One SHA-256 over every file matching ``pattern`` under ``root`` (relative path + bytes)."""
    return named_files_sha256((p.relative_to(root).as_posix(), p) for p in sorted(root.rglob(pattern)))
