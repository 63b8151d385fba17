"""Arrow cache: parsed datasets stored once, then memory-mapped on every load.

A loader parses its raw files into one ``pyarrow.Table`` per split; the cache
writes each as an Arrow IPC stream (a single record batch, so columns stay
contiguous) — the on-disk format of a Hugging Face ``datasets.Dataset`` — and
reopens it memory-mapped with pyarrow (no ``datasets`` import on the fast
path; :meth:`Cached.hf` gives the ``datasets.Dataset`` view of a split).
:func:`column` hands out zero-copy, read-only numpy views in the native
dtype (uint8 images stay uint8).

The cache lives in ``$ALTBENCH_CACHE_DIR``, else ``<user cache>/altbench/arrow``
(never inside the data directory, which may be read-only).  Its key covers
the loader, a format version and the identity (path, size, mtime) of the raw
files, so replacing a file rebuilds the cache.

A cache folder that does not open (an ``.arrow`` file of another size than
``done`` records, one Arrow cannot read, or a damaged ``done`` file) is
reported as a warning on the ``altbench`` logger, removed and rebuilt.
Building holds an exclusive ``flock`` on ``<folder>.lock``, so parallel
workers parse a dataset once; a full or read-only cache directory gives a
one-line :class:`altbench.atomic.StorageError`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pyarrow as pa

from altbench.atomic import CACHE_ENV  # noqa: F401 (re-exported)
from altbench.atomic import CACHE_HINT, dir_mode, exclusive_lock, storage_guard, user_cache_dir
from altbench.datasets.files import FileSpec, fetch, locate, verify

log = logging.getLogger("altbench")

FORMAT_VERSION = 1  # bump when a loader's parsing changes: old caches are then ignored


def cache_root() -> Path:
    """``$ALTBENCH_CACHE_DIR`` if set, else ``<user cache dir>/altbench/arrow``."""
    return user_cache_dir("arrow")


def file_identity(paths: list[Path]) -> list[list]:
    """(resolved path, size, mtime_ns) of each file: cheap, and changes when a file is replaced."""
    out = []
    for p in paths:
        st = Path(p).stat()
        out.append([str(Path(p).resolve()), st.st_size, st.st_mtime_ns])
    return out


def cache_key(name: str, parts: Any) -> str:
    blob = json.dumps([name, FORMAT_VERSION, parts], sort_keys=True, default=str)
    return f"{name}-{hashlib.sha256(blob.encode()).hexdigest()[:16]}"


@dataclass(frozen=True)
class Cached:
    """A loader's cached splits: memory-mapped Arrow tables plus where they live."""

    tables: dict[str, pa.Table]  # split → memory-mapped table with columns x, label
    hit: bool  # True when read from an existing cache (nothing was parsed)
    folder: Path  # the cache folder holding <split>.arrow

    def file(self, split: str) -> Path:
        return self.folder / f"{split}.arrow"

    def hf(self, split: str) -> Any:
        """Split ``split`` as a memory-mapped Hugging Face ``datasets.Dataset``."""
        import datasets

        return datasets.Dataset.from_file(str(self.file(split)), in_memory=False)


def cached_splits(name: str, parts: Any, build: Callable[[], dict[str, pa.Table]]) -> Cached:
    """Cached splits of loader ``name``; ``build()`` parses the raw data when the cache misses.

    ``parts``: anything JSON-able identifying the inputs (file identities,
    generator settings).
    """
    folder = cache_root() / cache_key(name, parts)
    tables = _open_checked(folder)
    if tables is not None:
        return Cached(tables, True, folder)
    with exclusive_lock(folder.with_name(f"{folder.name}.lock"), hint=CACHE_HINT):
        tables = _open_checked(folder)  # another worker may have built it while we waited
        if tables is not None:
            return Cached(tables, True, folder)
        _discard(folder)
        _write(folder, build())
    return Cached(_open(folder), False, folder)


def cached_files(name: str, specs: tuple[FileSpec, ...], data_dir: Path,
                 build: Callable[[list[Path]], dict[str, pa.Table]], *, also: tuple[Path, ...] = (),
                 extra: Any = None) -> Cached:
    """:func:`cached_splits` for a loader that parses ``specs``: ``build(paths)`` on a miss.

    Files are located (data dir, then ``also``), downloaded if missing, and
    verified against their SHA-256 whenever the cache is (re)built; a cache
    hit only stats them, so the second load skips hashing.
    """
    paths = [locate(s, data_dir, also) for s in specs]
    if any(p is None for p in paths):
        paths = [fetch(s, data_dir, also) for s in specs]  # downloads and verifies

    def verified_build() -> dict[str, pa.Table]:
        for spec, path in zip(specs, paths):
            verify(spec, path)
        return build(paths)

    return cached_splits(name, [file_identity(paths), extra], verified_build)


def _write(folder: Path, tables: dict[str, pa.Table]) -> None:
    """Write all splits into a temp folder, then rename it into place (safe for parallel workers)."""
    with storage_guard(folder, CACHE_HINT):
        _write_unguarded(folder, tables)


def _write_unguarded(folder: Path, tables: dict[str, pa.Table]) -> None:
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}."))
    try:
        os.chmod(tmp, dir_mode())  # mkdtemp makes 0700
        for split, table in tables.items():
            table = table.combine_chunks()
            with pa.OSFile(str(tmp / f"{split}.arrow"), "wb") as f, pa.ipc.new_stream(f, table.schema) as w:
                w.write_table(table, max_chunksize=max(1, table.num_rows))
        sizes = {s: (tmp / f"{s}.arrow").stat().st_size for s in sorted(tables)}
        (tmp / "done").write_text(json.dumps({"sizes": sizes}))
        try:
            os.replace(tmp, folder)
        except OSError:  # another worker finished first: keep theirs
            if not (folder / "done").is_file():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _open_checked(folder: Path) -> dict[str, pa.Table] | None:
    """The folder's tables, or None if there is no cache there or it is damaged (reported)."""
    if not (folder / "done").is_file():
        return None
    try:
        return _open(folder)
    except (OSError, ValueError, pa.ArrowException) as exc:
        log.warning("dataset cache %s is damaged (%s); rebuilding it", folder,
                    str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        return None


def _discard(folder: Path) -> None:
    """Remove a (damaged) cache folder: renamed away first, so no reader sees it half deleted."""
    if not folder.exists():
        return
    trash = folder.with_name(f".{folder.name}.damaged-{os.getpid()}")
    with storage_guard(folder, CACHE_HINT):
        os.replace(folder, trash)
    shutil.rmtree(trash, ignore_errors=True)


def _open(folder: Path) -> dict[str, pa.Table]:
    """Memory-map each split; ``done`` lists them with their byte sizes (older caches: names only)."""
    done = json.loads((folder / "done").read_text())
    sizes = done["sizes"] if isinstance(done, dict) else dict.fromkeys(done)
    tables = {}
    for split, size in sizes.items():
        path = folder / f"{split}.arrow"
        if size is not None and path.stat().st_size != size:
            raise ValueError(f"{path.name} has {path.stat().st_size} bytes, expected {size}")
        tables[split] = pa.ipc.open_stream(pa.memory_map(str(path))).read_all()
    return tables


def column(table: pa.Table, name: str, shape: tuple[int, ...] | None = None) -> np.ndarray:
    """Column ``name`` of a cached split as numpy: a zero-copy view for numbers, ``str`` objects for text.

    ``shape``: per-row shape of a fixed-size-list column, e.g. (28, 28) → (n, 28, 28).
    """
    col = table.column(name)
    arr = col.chunk(0) if col.num_chunks == 1 else col.combine_chunks()
    if pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type):
        return np.asarray(arr.to_pylist(), dtype=object)
    if pa.types.is_fixed_size_list(arr.type):
        flat = _numeric_view(arr.flatten())
        return flat.reshape((len(arr), *(shape or (arr.type.list_size,))))
    return _numeric_view(arr)


def _numeric_view(arr: pa.Array) -> np.ndarray:
    """Zero-copy numpy view of a null-free primitive Arrow array (without pyarrow's pandas import)."""
    if arr.null_count or arr.type not in _NUMPY_TYPES:
        return arr.to_numpy(zero_copy_only=False)
    dtype = np.dtype(_NUMPY_TYPES[arr.type])
    return np.frombuffer(arr.buffers()[1], dtype=dtype, count=len(arr), offset=arr.offset * dtype.itemsize)


_NUMPY_TYPES = {pa.uint8(): np.uint8, pa.int8(): np.int8, pa.int16(): np.int16, pa.int32(): np.int32,
                pa.int64(): np.int64, pa.float32(): np.float32, pa.float64(): np.float64}


def fixed_list(x: np.ndarray) -> pa.Array:
    """(n, ...) array → Arrow fixed-size-list column (row-major, dtype preserved)."""
    x = np.ascontiguousarray(x)
    per_row = int(np.prod(x.shape[1:])) if x.ndim > 1 else 1
    return pa.FixedSizeListArray.from_arrays(pa.array(x.reshape(-1)), per_row)


def labelled_table(x: Any, y: np.ndarray) -> pa.Table:
    """Arrow table with columns ``x`` (str, or fixed-size list for arrays) and ``label`` (int64)."""
    if isinstance(x, np.ndarray) and x.dtype != object:
        col = fixed_list(x) if x.ndim > 1 else pa.array(x)
    else:
        col = pa.array(list(x), type=pa.string())
    return pa.table({"x": col, "label": pa.array(np.asarray(y, dtype=np.int64))})


def split_tables(x: Any, y: np.ndarray, parts: dict[str, np.ndarray]) -> dict[str, pa.Table]:
    """{split: labelled_table(x[idx], y[idx])} for index arrays ``parts``."""
    x = x if isinstance(x, np.ndarray) else np.asarray(x, dtype=object)
    return {s: labelled_table(x[idx], y[idx]) for s, idx in parts.items()}


def to_dataset(name: str, modality: str, classes: tuple[str, ...], cached: Cached,
               shape: tuple[int, ...] | None = None, **info: Any):
    """A :class:`altbench.datasets.Dataset` viewing cached splits ``train``, ``test`` (and ``dev``)."""
    from altbench.datasets import Dataset

    def xy(split: str):
        return column(cached.tables[split], "x", shape), column(cached.tables[split], "label")

    (Xtr, ytr), (Xte, yte) = xy("train"), xy("test")
    Xdev, ydev = xy("dev") if "dev" in cached.tables else (None, None)
    info = {**info, "cache_hit": cached.hit, "arrow_files": {s: str(cached.file(s)) for s in cached.tables}}
    return Dataset(name, modality, Xtr, ytr, Xte, yte, tuple(classes), info, X_dev=Xdev, y_dev=ydev,
                   tables=dict(cached.tables))
