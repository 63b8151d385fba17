"""User data as arrays: the settings and the table → (X, y) pipeline shared by ``files`` and ``hf``.

A table (a ``pandas.DataFrame`` per split) becomes a dataset by column roles:
``text_column`` (one ``str`` per row), ``image_column`` (an image path
relative to the table's folder, image bytes, or a PIL image per row) or,
by default, numeric ``feature_columns`` (every column but the label).
Labels may be strings or integers: the sorted unique train labels become
0..C-1; a test label unseen in train is refused.  Without a test split,
``test_size`` of train is split off, stratified by label, with the fixed
``split_seed`` (the split belongs to the data, not to the run; like
scikit-learn's bundled sets, 0 by default).  Numeric features are z-scored
with train statistics unless ``standardize: false``.

Every problem is one :class:`UserDataError` line: what is wrong and what to
write instead.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from altbench.datasets import stratified_split
from altbench.datasets.files import DataFileError, named_files_sha256

DEFAULT_TEST_SIZE = 0.25  # fraction of train held out when there is no test file / split
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")
META_KEY = b"altbench"  # schema metadata of cached tables: classes, modality, per-row shape


class UserDataError(DataFileError):
    """A user's data file, folder or column that cannot be used (one-line message)."""


@dataclass(frozen=True)
class UserData:
    """Settings shared by ``files`` and ``hf`` datasets (how columns become X and y)."""

    label_column: str = "label"  # column holding the class (strings or integers)
    text_column: str | None = None  # column of raw text: a text dataset (backbones such as tfidf, minilm)
    feature_columns: tuple[str, ...] | None = None  # numeric columns (default: every column but the label)
    image_column: str | None = None  # column of image paths relative to the table's folder (or image bytes)
    image_size: tuple[int, int] | None = None  # resize every image to [height, width] (default: must all match)
    test_size: float | None = None  # fraction of train split off as test when there is no test (default 0.25)
    split_seed: int = 0  # seed of that stratified split (fixed: the split is part of the data)
    standardize: bool = True  # z-score numeric features with train statistics
    label: str | None = None  # the name in run records, tables and figures (default: file stem or hub id)
    label_names: tuple[str, ...] | None = None  # display names of the classes, in sorted-label order

    @property
    def modality(self) -> str:
        return "text" if self.text_column else "image" if self.image_column else "tabular"

    def roles(self) -> list[str]:
        """The columns the pipeline reads (feature columns only when listed)."""
        named = [self.text_column, self.image_column, *(self.feature_columns or ())]
        return [self.label_column, *(c for c in named if c)]


# ---------------------------------------------------------------- columns → X
def require_columns(df, names: list[str], where: str) -> None:
    """Refuse a column the table lacks, naming the ones it has."""
    for name in names:
        if name not in df.columns:
            have = ", ".join(map(str, df.columns)) or "none"
            raise UserDataError(f"{where}: no column {name!r}; its columns are: {have}; "
                                "set label_column / text_column / feature_columns / image_column to one of them")


def _text(df, cfg: UserData, where: str, base: Path) -> np.ndarray:
    """(n,) object array of str."""
    col = df[cfg.text_column]
    if int(col.isna().sum()):
        raise UserDataError(f"{where}: text column {cfg.text_column!r} has {int(col.isna().sum())} empty rows; "
                            "fill or drop them")
    return np.asarray([str(v) for v in col], dtype=object)


def _numeric(df, cfg: UserData, where: str, base: Path) -> np.ndarray:
    """(n, d) float32 from the feature columns."""
    import pandas as pd

    names = list(cfg.feature_columns or [c for c in df.columns if c != cfg.label_column])
    require_columns(df, names, where)
    bad = [c for c in names if not pd.api.types.is_numeric_dtype(df[c])]
    if bad:
        raise UserDataError(f"{where}: column {bad[0]!r} is not numeric; list numeric feature_columns, "
                            f"or write text_column: {bad[0]} for a text dataset")
    if not names:
        raise UserDataError(f"{where}: no feature columns besides the label; add columns or set text_column")
    X = df[names].to_numpy(dtype=np.float32)
    nan_cols = [c for c, bad_col in zip(names, np.isnan(X).any(axis=0)) if bad_col]
    if nan_cols:
        raise UserDataError(f"{where}: column {nan_cols[0]!r} has missing values; fill or drop those rows")
    return X


def _images(df, cfg: UserData, where: str, base: Path) -> np.ndarray:
    """(n, H, W) or (n, H, W, 3) uint8 from the image column."""
    return read_images(list(df[cfg.image_column]), base, cfg.image_size, where)


EXTRACT: dict[str, Callable[..., np.ndarray]] = {"text": _text, "tabular": _numeric, "image": _images}


def _open_image(item: Any, base: Path, where: str):
    """A PIL image from a path (relative to ``base``), a hub image dict ({bytes, path}), bytes or a PIL image."""
    from PIL import Image, UnidentifiedImageError

    if isinstance(item, dict):
        item = item.get("bytes") or item.get("path")
    try:
        if isinstance(item, (bytes, bytearray)):
            return Image.open(io.BytesIO(item))
        if isinstance(item, (str, Path)):
            path = base / item
            if not path.is_file():
                raise UserDataError(f"{where}: image {path} not found; image paths are relative to {base}")
            return Image.open(path)
    except (UnidentifiedImageError, OSError) as exc:
        raise UserDataError(f"{where}: cannot read image {item if isinstance(item, (str, Path)) else '(bytes)'} "
                            f"({type(exc).__name__}); replace or remove it") from None
    if hasattr(item, "convert"):
        return item
    raise UserDataError(f"{where}: image cell {str(item)[:40]!r} is not a path, bytes or image; "
                        "the image column must hold file paths")


def read_images(items: list, base: Path, size: tuple[int, int] | None, where: str) -> np.ndarray:
    """Images → uint8 (n, H, W) if all are greyscale, else (n, H, W, 3); resized to ``size`` (H, W) if given."""
    images = [_open_image(it, base, where) for it in items]
    grey = all(im.mode in ("1", "L", "I;16", "I") for im in images)
    arrays = []
    for im in images:
        im = im.convert("L" if grey else "RGB")
        if size is not None:
            im = im.resize((size[1], size[0]))
        arrays.append(np.asarray(im, dtype=np.uint8))
    shapes = sorted({a.shape for a in arrays})
    if len(shapes) > 1:
        raise UserDataError(f"{where}: images differ in size ({shapes[0][:2]} and {shapes[-1][:2]}); "
                            "write image_size: [H, W] to resize them")
    if not arrays:
        raise UserDataError(f"{where}: no images; add images or fix the path")
    return np.stack(arrays)


# ---------------------------------------------------------------- labels
def _label_values(col, where: str) -> np.ndarray:
    """Labels as a sortable array: int64 for integral numbers, str otherwise."""
    arr = np.asarray(col)
    if len(arr) and any(v is None or (isinstance(v, float) and np.isnan(v)) for v in arr.tolist()):
        raise UserDataError(f"{where}: the label column has empty rows; fill or drop them")
    if arr.dtype.kind in "iub":
        return arr.astype(np.int64)
    if arr.dtype.kind == "f":
        if not np.all(arr == np.round(arr)):
            raise UserDataError(f"{where}: labels are non-integer numbers; use class names or integers")
        return arr.astype(np.int64)
    return np.asarray([str(v) for v in arr], dtype=object)


def encode_labels(y_train: Any, y_test: Any, cfg: UserData, where: str) -> tuple[np.ndarray, np.ndarray, tuple]:
    """(y_train (n,), y_test (m,), classes): sorted unique train labels → 0..C-1."""
    tr, te = _label_values(y_train, f"{where} train"), _label_values(y_test, f"{where} test")
    if tr.dtype != te.dtype:  # e.g. "1" in one file, 1 in the other: compare as text
        tr, te = tr.astype(str).astype(object), te.astype(str).astype(object)
    values = np.unique(tr)
    if len(values) < 2:
        raise UserDataError(f"{where}: train has {len(values)} class(es) ({', '.join(map(str, values))}); "
                            "a classification task needs at least 2: check label_column")
    index = {v: i for i, v in enumerate(values.tolist())}
    unseen = sorted({v for v in te.tolist() if v not in index}, key=str)
    if unseen:
        raise UserDataError(f"{where}: test label {unseen[0]!r} does not occur in train; "
                            "drop those test rows or add training examples of it")
    names = tuple(str(v) for v in values.tolist())
    if cfg.label_names is not None:
        if len(cfg.label_names) != len(values):
            raise UserDataError(f"{where}: label_names has {len(cfg.label_names)} names for {len(values)} classes "
                                f"({', '.join(names)}); give one name per class in that order")
        names = tuple(cfg.label_names)
    encode = np.vectorize(index.__getitem__, otypes=[np.int64])
    return encode(tr) if len(tr) else tr.astype(np.int64), encode(te) if len(te) else te.astype(np.int64), names


# ---------------------------------------------------------------- frames → cached tables
def frames_to_tables(train, test, cfg: UserData, where: str, base: Path) -> dict:
    """{"train", "test"} Arrow tables (columns x, label) from DataFrames; ``test`` None → split off train."""
    for split, df in (("train", train), ("test", test)):
        if df is not None and len(df) == 0:
            raise UserDataError(f"{where}: the {split} split has no rows; add data or point at another file")
    require_columns(train, cfg.roles(), f"{where} train")
    if test is not None:
        require_columns(test, cfg.roles(), f"{where} test")
    X, y = EXTRACT[cfg.modality](train, cfg, f"{where} train", base), train[cfg.label_column]
    if test is None:
        X, Xte, y, yte = _split(X, np.asarray(y), cfg, where)
    else:
        Xte, yte = EXTRACT[cfg.modality](test, cfg, f"{where} test", base), test[cfg.label_column]
    return arrays_to_tables(X, Xte, *encode_labels(y, yte, cfg, where), cfg)


def arrays_to_tables(X, Xte, y, yte, classes: tuple, cfg: UserData) -> dict:
    """Tables carrying ``classes``, modality and per-row shape in their schema metadata."""
    from altbench.datasets.cache import labelled_table

    if cfg.modality == "tabular" and cfg.standardize:
        mu, sd = X.mean(0), X.std(0)
        sd[sd == 0] = 1.0
        X, Xte = (X - mu) / sd, (Xte - mu) / sd
    meta = json.dumps({"classes": list(classes), "modality": cfg.modality,
                       "shape": list(X.shape[1:]) if isinstance(X, np.ndarray) and X.dtype != object else None})
    return {s: labelled_table(x, yy).replace_schema_metadata({META_KEY: meta})
            for s, x, yy in (("train", X, y), ("test", Xte, yte))}


def _split(X, y: np.ndarray, cfg: UserData, where: str):
    """Stratified split of train into (X_train, X_test, y_train, y_test) with ``split_seed``."""
    size = DEFAULT_TEST_SIZE if cfg.test_size is None else cfg.test_size
    if not 0 < size < 1:
        raise UserDataError(f"{where}: test_size={size} must lie strictly between 0 and 1; write e.g. test_size: 0.25")
    y_sort = _label_values(y, where).astype(str)
    try:
        tr, te = stratified_split(y_sort, size, cfg.split_seed)
    except ValueError as exc:  # a class with one example, or too few rows for the test size
        raise UserDataError(f"{where}: cannot split off test_size={size} stratified by label "
                            f"({str(exc).splitlines()[0]}); add rows, change test_size or give a test file") from None
    return X[tr], X[te], y[tr], y[te]


def dataset_from_cache(name: str, cached, **info: Any):
    """The :class:`~altbench.datasets.Dataset` of cached user tables (metadata read from the train table)."""
    from altbench.datasets.cache import to_dataset

    meta = json.loads(cached.tables["train"].schema.metadata[META_KEY])
    shape = tuple(meta["shape"]) if meta["shape"] else None
    return to_dataset(name, meta["modality"], tuple(meta["classes"]), cached, shape=shape, **info)


# ---------------------------------------------------------------- content hash
def content_sha256(files: list[tuple[str, Path]]) -> str:
    """SHA-256 over (name, bytes) of every file a load reads, in the given order."""
    try:
        return named_files_sha256(files)
    except OSError as exc:
        raise UserDataError(f"cannot read {exc.filename} ({type(exc).__name__}); "
                            "check it exists and is readable") from None


def tree_files(root: Path, suffixes: tuple[str, ...] | None = None) -> list[tuple[str, Path]]:
    """(relative path, path) of every file under ``root`` (hidden ones skipped), sorted; filtered by suffix."""
    out = []
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root)
        if p.is_file() and not any(part.startswith(".") for part in rel.parts) and (
                suffixes is None or p.suffix.lower() in suffixes):
            out.append((rel.as_posix(), p))
    return out
