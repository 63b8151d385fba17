"""On-disk cache of frozen-backbone features, read back memory-mapped.

A frozen backbone's features depend only on (backbone name, its config —
which holds its preprocessing, e.g. ``max_length`` or image size — and the
dataset's content), so they are computed once and every later run of a grid
(strategies × seeds × rounds) reads them with ``np.load(mmap_mode="r")``
instead of re-encoding.  Files are written to a temporary name and renamed
(``os.replace``), so a killed run or two concurrent workers never leave a
half-written entry.

One encode per entry across workers: a miss takes an exclusive ``flock`` on
``<key>.lock`` around "check → encode → write", so a second worker waits and
then reads the first one's files.  An entry that does not load (truncated or
damaged ``.npy``) is logged as a warning on the ``altbench`` logger and
rebuilt.  A full or read-only cache directory gives a one-line
:class:`altbench.atomic.StorageError`.

Location: ``$ALTBENCH_CACHE_DIR`` if set, else ``<user cache>/altbench/embeddings``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
from pathlib import Path
from typing import Any, Callable

import numpy as np

from altbench.atomic import CACHE_ENV  # noqa: F401 (re-exported)
from altbench.atomic import CACHE_HINT, atomic_open, atomic_write_bytes, exclusive_lock, user_cache_dir

log = logging.getLogger("altbench")

FORMAT_VERSION = 1  # bump when the stored layout or an encoder's semantics change


def cache_dir() -> Path:
    """The embedding cache directory (the env setting wins)."""
    return user_cache_dir("embeddings")


def feature_key(backbone_name: str, backbone_config: Any, dataset_fingerprint: str) -> str:
    """Hex key of (backbone name, its config incl. preprocessing, dataset content)."""
    cfg = dataclasses.asdict(backbone_config) if dataclasses.is_dataclass(backbone_config) else backbone_config
    blob = json.dumps({"v": FORMAT_VERSION, "backbone": backbone_name, "config": cfg,
                       "data": dataset_fingerprint}, sort_keys=True, default=list)
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


def _save_atomic(path: Path, arr: np.ndarray) -> None:
    with atomic_open(path, hint=CACHE_HINT) as fh:
        np.save(fh, np.ascontiguousarray(arr, dtype=np.float32))


class FeatureCache:
    """Key → (train, test) float32 feature matrices stored as ``.npy`` files.

    ``hits`` / ``misses`` count lookups in this object (tests and benchmarks
    read them).
    """

    def __init__(self, root: Path | None = None):
        self.root = Path(root) if root is not None else cache_dir()
        self.hits = 0
        self.misses = 0

    def paths(self, key: str) -> tuple[Path, Path]:
        return self.root / f"{key}.train.npy", self.root / f"{key}.test.npy"

    def get_or_compute(self, key: str, compute: Callable[[], tuple[np.ndarray, np.ndarray]],
                       meta: dict | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Memory-mapped (train (n, d), test (m, d)); ``compute()`` runs only on a miss, in one process."""
        found = self._load(key)
        if found is None:
            with exclusive_lock(self.root / f"{key}.lock", hint=CACHE_HINT):
                found = self._load(key)  # another worker may have written it while we waited
                if found is None:
                    found = self._build(key, compute, meta)
                    self.misses += 1
                    return found
        self.hits += 1
        return found

    def _load(self, key: str) -> tuple[np.ndarray, np.ndarray] | None:
        """The entry memory-mapped, or None if absent or damaged (a damaged one is reported)."""
        p_train, p_test = self.paths(key)
        if not p_train.is_file():  # train is written last: no train file, no entry
            return None
        try:
            return np.load(p_train, mmap_mode="r"), np.load(p_test, mmap_mode="r")
        except (OSError, ValueError, EOFError) as exc:
            log.warning("feature cache entry %s in %s is damaged (%s); rebuilding it", key, self.root,
                        str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
            return None

    def _build(self, key: str, compute: Callable[[], tuple[np.ndarray, np.ndarray]],
               meta: dict | None) -> tuple[np.ndarray, np.ndarray]:
        from altbench.watch import phase  # the driver's progress line shows it (altbench.watch)

        with phase(f"encoding {(meta or {}).get('dataset', 'a dataset')} with {(meta or {}).get('backbone', key)}"):
            F_train, F_test = compute()
        p_train, p_test = self.paths(key)
        _save_atomic(p_test, F_test)  # train last: its presence marks a complete entry
        _save_atomic(p_train, F_train)
        if meta is not None:
            atomic_write_bytes(self.root / f"{key}.json", json.dumps(meta, sort_keys=True, default=list).encode(),
                               hint=CACHE_HINT)
        return np.load(p_train, mmap_mode="r"), np.load(p_test, mmap_mode="r")
