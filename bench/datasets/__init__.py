"""Datasets: the in-memory form the AL loop consumes, plus the data directory.

A dataset plugin is a callable registered in ``DATASETS`` and called as
``loader(data_dir=Path, rng=Generator, **params) -> Dataset``, or a frozen
dataclass (its fields are the parameters) with ``load(data_dir, rng) ->
Dataset``, such as ``files`` and ``hf`` (:mod:`altbench.datasets.user`).
``rng`` is the run's "split" stream, used only by per-seed split protocols;
loaders with an official or fixed split ignore it.  A dataclass plugin that
also has ``data_identity() -> (label, sha256)`` names its runs' dataset
column and puts its data's hash in the run id.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from altbench.registry import DATASETS

DATA_DIR_ENV = "ALTBENCH_DATA_DIR"


@dataclass(frozen=True, eq=False)
class Dataset:
    """A classification task with a train pool and a held-out test set.

    X_train: (n_train, ...) features (float/uint8 array, or object array of str)
    y_train: (n_train,) int64 labels in [0, C)
    X_test:  (n_test, ...), y_test: (n_test,)
    """

    name: str
    modality: str  # "tabular" | "text" | "image"
    X_train: Any
    y_train: np.ndarray
    X_test: Any
    y_test: np.ndarray
    classes: tuple[str, ...]
    info: dict = field(default_factory=dict)  # split rule, source, etc.
    X_dev: Any = None  # optional official dev split (e.g. SST), never used as pool or test
    y_dev: np.ndarray | None = None  # (n_dev,) int64 labels of X_dev
    tables: dict = field(default_factory=dict, repr=False)  # backing memory-mapped Arrow tables by split

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    def fingerprint(self) -> str:
        """Stable identity of the data content (for caches keyed by dataset)."""
        import hashlib

        h = hashlib.sha256(self.name.encode())
        for a in (self.X_train, self.y_train, self.X_test, self.y_test):
            arr = np.asarray(a)
            h.update(arr.tobytes() if arr.dtype != object else "\x00".join(map(str, arr)).encode())
        return h.hexdigest()[:16]


def default_data_dir() -> Path:
    """``$ALTBENCH_DATA_DIR`` if set, else the user cache dir (``~/.cache/altbench``)."""
    env = os.environ.get(DATA_DIR_ENV)
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("altbench"))


def load_dataset(name: str, data_dir: Path | None = None, rng: np.random.Generator | None = None,
                 **params: Any) -> Dataset:
    """Load a registered dataset by name."""
    from altbench.plugin_params import build, is_config_class

    loader = DATASETS.get(name)
    data_dir = Path(data_dir) if data_dir else default_data_dir()
    if is_config_class(loader):  # a dataclass plugin: its fields are the parameters
        ds = build(loader, params).load(data_dir, rng)
    else:
        ds = loader(data_dir=data_dir, rng=rng, **params)
    if not isinstance(ds, Dataset):
        raise TypeError(f"dataset plugin {name!r} returned {type(ds).__name__}, expected altbench.datasets.Dataset")
    return ds


def stratified_split(y: np.ndarray, test_fraction: float, seed: int | np.random.Generator):
    """Train/test indices, stratified by label, from a fixed seed or generator."""
    from sklearn.model_selection import train_test_split

    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    idx = np.arange(len(y))
    tr, te = train_test_split(idx, test_size=test_fraction, stratify=y,
                              random_state=int(rng.integers(0, 2**31 - 1)))
    return np.sort(tr), np.sort(te)
