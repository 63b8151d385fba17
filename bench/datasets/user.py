"""Your own data without Python: ``files`` (CSV, TSV, JSONL, Parquet, image folders) and the entry shorthands.

An experiment names a user dataset like a built-in one::

    datasets:
      - {name: files, train: reviews.csv, test: reviews_test.csv, text_column: text, label: my reviews}
      - {name: files, train: measurements.parquet, label_column: species}   # numeric columns, 25% test split
      - {name: files, train: photos/}                                       # one sub-folder per class
      - reviews.csv                                                         # = {name: files, train: reviews.csv}
      - hf:stanfordnlp/imdb                                                 # see altbench.datasets.user_hf

Paths are relative to the directory ``altbench`` runs in.  The format
follows the suffix (``.csv``, ``.tsv``, ``.jsonl``, ``.parquet``; a folder is
an image folder) unless ``format:`` says otherwise; column roles, labels and
the ``test_size`` split are described in :mod:`altbench.datasets.user_tables`.

Identity: the SHA-256 of every file a load reads (tables, the images they
name, every image of an image folder, by sorted relative path) enters the
run id and the run record (``PluginSpec.content_hash``), so an edited file
is re-run, never silently reused.  The run records' dataset column is
``label`` (default: the train file's stem); two different datasets under one
label are refused.  Parsed splits are cached as Arrow files keyed by that
hash (:mod:`altbench.datasets.cache`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np

from altbench.datasets import Dataset
from altbench.datasets.user_tables import (DEFAULT_TEST_SIZE, IMAGE_SUFFIXES, UserData, UserDataError, content_sha256,
                                           dataset_from_cache, frames_to_tables, require_columns, tree_files)
from altbench.registry import DATASETS

TABLE_SUFFIXES = {".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl",
                  ".parquet": "parquet", ".pq": "parquet"}


def _read_csv(path: Path, nrows: int | None, sep: str = ","):
    import pandas as pd

    return pd.read_csv(path, sep=sep, nrows=nrows, keep_default_na=False, na_values=[""])  # "NA" stays text


def _read_jsonl(path: Path, nrows: int | None):
    import pandas as pd

    return pd.read_json(path, lines=True, nrows=nrows, dtype=False)  # values as written (no date guessing)


def _read_parquet(path: Path, nrows: int | None):
    import pandas as pd
    import pyarrow.parquet as pq

    if nrows is not None:  # a probe: the schema (and footer) only
        return pd.DataFrame(columns=pq.ParquetFile(path).schema_arrow.names)
    return pd.read_parquet(path)


READERS = {"csv": _read_csv, "tsv": lambda p, n: _read_csv(p, n, "\t"), "jsonl": _read_jsonl,
           "parquet": _read_parquet}  # format → (path, nrows or None for all) → DataFrame
PROBE_ROWS = 5  # rows read at config time to check the format and the columns


def read_table(path: Path, fmt: str, where: str, nrows: int | None = None):
    """The file (its first ``nrows`` rows) as a DataFrame, or a one-line error (empty, unreadable, corrupt)."""
    if path.stat().st_size == 0:
        raise UserDataError(f"{where}: {path} is empty; the split has no rows, put data in it")
    try:
        return READERS[fmt](path, nrows)
    except Exception as exc:  # pandas / pyarrow / json parser errors: all mean a corrupt or mis-typed file
        first = (str(exc).strip().splitlines() or [""])[0][:120]
        raise UserDataError(f"{where}: cannot read {path} as {fmt} ({type(exc).__name__}: {first}); "
                            "fix the file or set format: csv|tsv|jsonl|parquet") from None


@DATASETS.register(name="files")
@dataclass(frozen=True)
class Files(UserData):
    """Your data files: CSV, TSV, JSONL or Parquet tables (text or numeric columns), or image folders.

    Write ``{name: files, train: PATH, test: PATH, text_column: ..., label_column: ..., label: "my data"}``;
    without ``test``, ``test_size`` (default 0.25) of train is split off, stratified, with ``split_seed``.
    The files' SHA-256 is part of the run id: an edited file is re-run.
    """

    USAGE: ClassVar[str] = "{name: files, train: PATH, test: PATH, text_column: COL, label: NAME}, or PATH.csv"
    train: str = ""  # the training table, or a folder with one sub-folder of images per class (required)
    test: str | None = None  # the held-out table or image folder (default: test_size of train)
    format: Literal["auto", "csv", "tsv", "jsonl", "parquet", "images"] = "auto"  # auto: from the suffix

    def display_label(self) -> str:
        return self.label or Path(self.train).stem or Path(self.train).name

    def _path(self, which: str) -> Path:
        value = getattr(self, which)
        path = Path(value).expanduser()
        if not path.exists():
            raise UserDataError(f"files: {which} file {value} not found (relative paths start at {Path.cwd()}); "
                                "fix the path")
        return path

    def _format(self, path: Path) -> str:
        if self.format != "auto":
            return self.format
        if path.is_dir():
            return "images"
        fmt = TABLE_SUFFIXES.get(path.suffix.lower())
        if fmt is None:
            raise UserDataError(f"files: cannot tell the format of {path} from its suffix; "
                                "write format: csv|tsv|jsonl|parquet (or give an image folder)")
        return fmt

    def _splits(self) -> list[tuple[str, Path, str]]:
        """[(split, path, format)] of train and, if given, test."""
        if not self.train:
            raise UserDataError("files: parameter train is required; write e.g. `{name: files, train: reviews.csv}`")
        names = ["train", "test"] if self.test else ["train"]
        if self.test and self.test_size is not None:
            raise UserDataError("files: give test or test_size, not both; remove one of them")
        return [(s, p, self._format(p)) for s in names for p in (self._path(s),)]

    def data_files(self) -> list[tuple[str, Path]]:
        """(name, path) of every file a load reads: tables, the images they name, image folders' images."""
        out = []
        for split, path, fmt in self._splits():
            if fmt == "images":
                out += [(f"{split}/{rel}", p) for rel, p in _folder_images(path, f"files {split}")]
                continue
            out.append((split, path))
            df = read_table(path, fmt, f"files {split}", None if self.image_column else PROBE_ROWS)
            require_columns(df, self.roles(), f"files {split}")  # fail before any run starts
            if self.image_column:
                out += [(f"{split}:{rel}", path.parent / str(rel)) for rel in df[self.image_column]]
        return out

    def data_identity(self) -> tuple[str, str]:
        """(label for records and tables, SHA-256 of the data)."""
        return self.display_label(), content_sha256(self.data_files())

    def load(self, data_dir: Path | None = None, rng: np.random.Generator | None = None) -> Dataset:
        """Parse (or reopen from the Arrow cache) the splits; ``rng`` is unused (the split seed is fixed)."""
        from altbench.datasets.cache import cached_splits

        digest = content_sha256(self.data_files())
        cached = cached_splits("files", [digest, dataclasses.asdict(self)], self._tables)
        split = ("files train / test" if self.test else
                 f"stratified {self.test_size or DEFAULT_TEST_SIZE} of train as test, seed {self.split_seed}")
        return dataset_from_cache(self.display_label(), cached, source=str(Path(self.train).resolve()),
                                  split=split, content_sha256=digest)

    def _tables(self) -> dict:
        splits = self._splits()
        frames = {s: _frame(p, fmt, s, self.image_column) for s, p, fmt in splits}
        cfg = self
        if splits[0][2] == "images":  # folders: columns image (absolute path), label (sub-folder name)
            cfg = dataclasses.replace(self, image_column="image", label_column="label", text_column=None,
                                      feature_columns=None)
        return frames_to_tables(frames["train"], frames.get("test"), cfg, "files", Path("/"))


def _frame(path: Path, fmt: str, split: str, image_column: str | None):
    """A split's DataFrame, image paths made absolute (they are relative to the table's folder);
    an image folder becomes columns image (absolute path), label (sub-folder name)."""
    import pandas as pd

    if fmt != "images":
        df = read_table(path, fmt, f"files {split}")
        if image_column in df.columns:
            df[image_column] = [str((path.parent / v).resolve()) if isinstance(v, str) else v
                                for v in df[image_column]]
        return df
    files = _folder_images(path, f"files {split}")
    return pd.DataFrame({"image": [str(p.resolve()) for _, p in files],
                         "label": [rel.split("/")[0] for rel, _ in files]})


def _folder_images(root: Path, where: str) -> list[tuple[str, Path]]:
    """(class/…/file, path) of the images in ``root``'s class sub-folders."""
    if not root.is_dir():
        raise UserDataError(f"{where}: {root} is not a folder; an image dataset is a folder of class sub-folders")
    files = [(rel, p) for rel, p in tree_files(root, IMAGE_SUFFIXES) if "/" in rel]
    if not files:
        raise UserDataError(f"{where}: {root} holds no images in class sub-folders; "
                            "put each class's images in ROOT/<class>/")
    return files


# ---------------------------------------------------------------- experiment entries
def expand_shorthand(item: Any) -> Any:
    """``hf:ID`` → ``{name: hf, path: ID}``; ``reviews.csv`` → ``{name: files, train: reviews.csv}``
    (also as a mapping's ``name``); anything else unchanged."""
    from altbench.strict import ConfigError

    entry: dict = {"name": item} if isinstance(item, str) else dict(item) if isinstance(item, dict) else {}
    name = entry.get("name")
    if not isinstance(name, str):
        return item
    if name.startswith("hf:"):
        if "path" in entry:
            raise ConfigError(f"dataset {name!r} also sets path; write either `hf:ID` or `{{name: hf, path: ID}}`")
        return {**entry, "name": "hf", "path": name[3:]}
    if Path(name).suffix.lower() in TABLE_SUFFIXES and name not in DATASETS:
        if "train" in entry:
            raise ConfigError(f"dataset {name!r} also sets train; write `{{name: files, train: PATH}}`")
        return {**entry, "name": "files", "train": name}
    return item


def data_identity(spec: Any, where: str) -> tuple[str, str] | None:
    """(label, content SHA-256) of a dataset whose plugin exposes ``data_identity()``; None for the others."""
    from altbench.plugin_params import build, is_config_class
    from altbench.strict import ConfigError

    plugin = DATASETS.get(spec.name)
    if not (is_config_class(plugin) and hasattr(plugin, "data_identity")):
        return None
    try:
        return build(plugin, spec.params).data_identity()
    except UserDataError as exc:
        raise ConfigError(f"{where} ({spec.name}): {exc}") from None


def check_distinct_labels(specs: list, source: str) -> None:
    """Refuse two different dataset entries that would share one name in records and tables."""
    from altbench.strict import ConfigError

    seen: dict[str, int] = {}
    for i, spec in enumerate(specs):
        j = seen.setdefault(spec.key(), i)
        if j != i:
            raise ConfigError(f"{source}: datasets.{j} and datasets.{i} are both named {spec.key()!r} in results; "
                              "give each a distinct `label:`")


def dataset_specs(items: list, source: str) -> list:
    """The grid's dataset specs: shorthands expanded; user data labelled and hashed; labels distinct."""
    from altbench.config import resolve_plugin

    specs = []
    for i, item in enumerate(items):
        where = f"datasets.{i}"
        spec = resolve_plugin(DATASETS, expand_shorthand(item), where)
        found = data_identity(spec, where)
        specs.append(spec if found is None else
                     dataclasses.replace(spec, label=found[0], content_hash=found[1]))
    check_distinct_labels(specs, source)
    return specs
