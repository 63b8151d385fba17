"""``hf``: any Hugging Face dataset by hub id or local folder, read through the ``datasets`` library.

Write ``hf:stanfordnlp/imdb`` in ``datasets:``, or the mapping form with
its options::

    - {name: hf, path: stanfordnlp/imdb, text_column: text, label: IMDb}
    - {name: hf, path: ./my_saved_dict, train_split: train, test_split: validation, text_column: sentence}

``path`` is one of

* a folder written by ``Dataset.save_to_disk`` / ``DatasetDict.save_to_disk``
  (read with ``datasets.load_from_disk``; a single ``Dataset`` is the train split);
* a folder of data files (CSV, JSON, Parquet named by split), read with
  ``datasets.load_dataset(FOLDER)``;
* a hub id (``datasets.load_dataset(ID, config, revision=...)``; needs the
  internet once, then the hub cache under the Arrow cache directory).

Columns, labels and the ``test_size`` split work as for ``files``
(:mod:`altbench.datasets.user_tables`); a ``ClassLabel`` label column keeps
its class names.  Identity: a local folder's SHA-256 (every file, by sorted
relative path), or the hub splits' ``datasets`` fingerprints (which follow
the hub revision), enters the run id and the run record.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from altbench.datasets import Dataset
from altbench.datasets.user_tables import (DEFAULT_TEST_SIZE, UserData, UserDataError, content_sha256,
                                           dataset_from_cache, frames_to_tables, tree_files)
from altbench.registry import DATASETS


@DATASETS.register(name="hf")
@dataclass(frozen=True)
class HubData(UserData):
    """A Hugging Face dataset (hub id, save_to_disk folder or folder of data files) via ``datasets``.

    Write ``hf:<hub id or folder>`` or ``{name: hf, path: ID, config: NAME, train_split: train,
    test_split: test, text_column: COL, label_column: label, label: NAME}``.  Without internet a hub id
    fails in one line; save the dataset once with ``DatasetDict.save_to_disk(FOLDER)`` and write ``hf:FOLDER``.
    """

    USAGE: ClassVar[str] = "hf:<hub id or folder>, or {name: hf, path: ID, config: NAME, text_column: COL}"
    path: str = ""  # hub id (e.g. stanfordnlp/imdb), a save_to_disk folder, or a folder of data files (required)
    config: str | None = None  # hub configuration name (e.g. "cropped_digits")
    revision: str | None = None  # hub revision (branch, tag or commit) to pin
    train_split: str = "train"  # split used as the AL pool
    test_split: str | None = "test"  # held-out split; null (or setting test_size) splits off test_size of train

    def display_label(self) -> str:
        return self.label or (Path(self.path).name if self._local() else self.path)

    def _local(self) -> Path | None:
        p = Path(self.path).expanduser()
        return p if self.path and p.is_dir() else None

    def _where(self) -> str:
        return f"hf:{self.path}"

    def _load(self) -> Any:
        """The ``DatasetDict`` (or single ``Dataset``) behind ``path``."""
        import datasets

        from altbench.datasets.cache import cache_root

        if not self.path:
            raise UserDataError("hf: parameter path is required; write e.g. `hf:stanfordnlp/imdb` or `hf:FOLDER`")
        local = self._local()
        if local is None and self.path.startswith((".", "/", "~")):
            raise UserDataError(f"{self._where()}: folder {self.path} not found (relative paths start at "
                                f"{Path.cwd()}); fix the path, or give a hub id such as stanfordnlp/imdb")
        try:
            if local is not None and any((local / f).is_file() for f in ("dataset_dict.json", "state.json")):
                return datasets.load_from_disk(str(local))
            return datasets.load_dataset(str(local or self.path), self.config, revision=self.revision,
                                         cache_dir=str(cache_root() / "hf"))
        except Exception as exc:  # no internet, unknown id, unreadable folder: all one line
            first = (str(exc).strip().splitlines() or [""])[0][:120]
            if local is not None:
                raise UserDataError(f"{self._where()}: cannot load the folder ({type(exc).__name__}: {first}); "
                                    "write it with DatasetDict.save_to_disk or put data files named by split "
                                    "in it") from None
            raise UserDataError(f"{self._where()}: cannot load it from the Hugging Face hub "
                                f"({type(exc).__name__}: {first}); check the id and the internet connection, "
                                "or save it once with DatasetDict.save_to_disk(FOLDER) and write hf:FOLDER") from None

    def _digest(self, raw: Any = None) -> str:
        """SHA-256 of a local folder's files, else of the hub splits' fingerprints and the revision."""
        local = self._local()
        if local is not None:
            return content_sha256(tree_files(local))
        raw = self._load() if raw is None else raw
        splits = {"train": raw} if not hasattr(raw, "keys") else dict(raw)
        prints = {name: getattr(ds, "_fingerprint", None) for name, ds in sorted(splits.items())}
        blob = json.dumps([self.path, self.config, self.revision, prints], sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()

    def data_identity(self) -> tuple[str, str]:
        """(label for records and tables, SHA-256 of the data)."""
        return self.display_label(), self._digest()

    def load(self, data_dir: Path | None = None, rng: np.random.Generator | None = None) -> Dataset:
        """Convert (or reopen from the Arrow cache) the splits; ``rng`` is unused (the split seed is fixed)."""
        from altbench.datasets.cache import cached_splits

        raw = None if self._local() else self._load()
        digest = self._digest(raw)
        cached = cached_splits("hf", [digest, dataclasses.asdict(self)], lambda: self._tables(raw))
        split = (f"{self.train_split} / {self.test_split}" if self._test_name() else
                 f"stratified {self.test_size or DEFAULT_TEST_SIZE} of {self.train_split} as test, "
                 f"seed {self.split_seed}")
        return dataset_from_cache(self.display_label(), cached, source=self._where(), split=split,
                                  content_sha256=digest)

    def _test_name(self) -> str | None:
        return None if self.test_size is not None else self.test_split

    def _split(self, raw: Any, name: str, option: str) -> Any:
        splits = {"train": raw} if not hasattr(raw, "keys") else raw
        if name not in splits:
            alt = " or test_size: 0.25 to split train" if option == "test_split" else ""
            raise UserDataError(f"{self._where()}: no split {name!r} (splits: {', '.join(splits)}); "
                                f"set {option}: NAME{alt}")
        return splits[name]

    def _tables(self, raw: Any) -> dict:
        raw = self._load() if raw is None else raw
        train = self._split(raw, self.train_split, "train_split")
        test_name = self._test_name()
        test = self._split(raw, test_name, "test_split") if test_name else None
        cfg = self._with_class_names(train)
        base = self._local() or Path.cwd()
        return frames_to_tables(train.to_pandas(), test.to_pandas() if test is not None else None, cfg,
                                self._where(), base)

    def _with_class_names(self, train: Any) -> HubData:
        """A ``ClassLabel`` label column's names as ``label_names`` (unless given)."""
        feature = getattr(train, "features", {}).get(self.label_column)
        names = getattr(feature, "names", None)
        if self.label_names is not None or not names:
            return self
        values = np.unique(np.asarray(train[self.label_column], dtype=np.int64))
        return dataclasses.replace(self, label_names=tuple(names[v] for v in values))
