"""Your data without Python: `files` (CSV/TSV/JSONL/Parquet/image folders), `hf:`, content-hash run ids."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from altbench.cli import main
from altbench.config import ConfigError, identity, load_experiment
from altbench.datasets import load_dataset
from altbench.datasets.user_tables import UserDataError
from altbench.store import RunStore

FORMATS = {"csv": lambda df, p: df.to_csv(p, index=False), "tsv": lambda df, p: df.to_csv(p, sep="\t", index=False),
           "jsonl": lambda df, p: df.to_json(p, orient="records", lines=True),
           "parquet": lambda df, p: df.to_parquet(p, index=False)}
WORDS = {"pos": ["great fun", "lovely film", "superb acting", "great story"],
         "neg": ["dull plot", "awful mess", "boring film", "awful acting"]}


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """A fresh Arrow cache per test, no network."""
    monkeypatch.setenv("ALTBENCH_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("ALTBENCH_OFFLINE", "1")


def table(n: int = 40, seed: int = 0) -> pd.DataFrame:
    """Numeric columns a, b; a text column; string labels pos/neg; an int column kind (0/1/2)."""
    rng = np.random.default_rng(seed)
    y = np.array(["pos", "neg"])[np.arange(n) % 2]
    return pd.DataFrame({"a": rng.normal(size=n).round(3), "b": rng.normal(size=n).round(3),
                         "text": [WORDS[c][i % 4] + f" {i}" for i, c in enumerate(y)], "label": y,
                         "kind": np.arange(n) % 3})


def write(df: pd.DataFrame, path: Path) -> Path:
    FORMATS[path.suffix[1:]](df, path)
    return path


# ---------------------------------------------------------------- formats
@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_each_table_format_round_trips_numeric_and_text(tmp_path, fmt):
    train, test = table(40, 0), table(12, 1)
    tr, te = write(train, tmp_path / f"tr.{fmt}"), write(test, tmp_path / f"te.{fmt}")
    ds = load_dataset("files", train=str(tr), test=str(te), feature_columns=("a", "b"), standardize=False)
    assert ds.modality == "tabular" and ds.name == "tr" and ds.classes == ("neg", "pos")
    np.testing.assert_allclose(ds.X_train, train[["a", "b"]].to_numpy(np.float32))
    np.testing.assert_allclose(ds.X_test, test[["a", "b"]].to_numpy(np.float32))
    assert ds.y_train.tolist() == (train.label == "pos").astype(int).tolist()
    assert ds.info["content_sha256"] and Path(ds.info["arrow_files"]["train"]).is_file()

    txt = load_dataset("files", train=str(tr), test=str(te), text_column="text", label="my reviews")
    assert txt.modality == "text" and txt.name == "my reviews"
    assert txt.X_train.tolist() == train.text.tolist() and txt.X_test.tolist() == test.text.tolist()


def test_integer_labels_sorted_and_named_default_features_standardised(tmp_path):
    df = table(30).drop(columns=["text", "label"])
    tr = write(df, tmp_path / "k.csv")
    ds = load_dataset("files", train=str(tr), label_column="kind", label_names=("zero", "one", "two"))
    assert ds.classes == ("zero", "one", "two") and ds.X_train.shape[1] == 2  # a, b: every column but the label
    assert set(ds.y_train.tolist()) == {0, 1, 2}
    np.testing.assert_allclose(ds.X_train.mean(0), 0, atol=1e-5)  # z-scored with train statistics


def write_png(path: Path, pixels: np.ndarray) -> None:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path)


def test_image_folder_one_subfolder_per_class_round_trips(tmp_path):
    rng = np.random.default_rng(0)
    pix = {}
    for split, n in (("train", 4), ("test", 2)):
        for cls in ("cat", "dog"):
            for i in range(n):
                pix[split, cls, i] = rng.integers(0, 256, (5, 4), dtype=np.uint8)
                write_png(tmp_path / split / cls / f"{i}.png", pix[split, cls, i])
    (tmp_path / "train" / "notes.txt").write_text("not an image")  # ignored
    ds = load_dataset("files", train=str(tmp_path / "train"), test=str(tmp_path / "test"))
    assert ds.modality == "image" and ds.X_train.dtype == np.uint8 and ds.X_train.shape == (8, 5, 4)
    assert ds.classes == ("cat", "dog") and ds.y_train.tolist() == [0] * 4 + [1] * 4
    np.testing.assert_array_equal(ds.X_test[3], pix["test", "dog", 1])
    assert ds.name == "train"


def test_image_column_paths_relative_to_the_table_rgb(tmp_path):
    rng = np.random.default_rng(1)
    rows = []
    for i in range(8):
        write_png(tmp_path / "imgs" / f"{i}.png", rng.integers(0, 256, (3, 3, 3), dtype=np.uint8))
        rows.append({"file": f"imgs/{i}.png", "label": i % 2})
    tr = write(pd.DataFrame(rows), tmp_path / "pics.csv")
    ds = load_dataset("files", train=str(tr), image_column="file", test_size=0.5)
    assert ds.modality == "image" and ds.X_train.shape == (4, 3, 3, 3) and ds.X_test.shape == (4, 3, 3, 3)
    small = load_dataset("files", train=str(tr), image_column="file", test_size=0.5, image_size=(2, 2))
    assert small.X_train.shape == (4, 2, 2, 3)


def test_test_size_split_is_seeded_and_stratified(tmp_path):
    df = table(100)
    df["label"] = np.where(np.arange(100) < 80, "major", "minor")  # 80 / 20
    tr = write(df, tmp_path / "s.csv")
    a = load_dataset("files", train=str(tr), feature_columns=("a", "b"), test_size=0.25, standardize=False)
    b = load_dataset("files", train=str(tr), feature_columns=("a", "b"), test_size=0.25, standardize=False)
    c = load_dataset("files", train=str(tr), feature_columns=("a", "b"), test_size=0.25, split_seed=1,
                     standardize=False)
    assert len(a.y_test) == 25 and np.bincount(a.y_test).tolist() == [20, 5]  # stratified: 80/20 kept
    np.testing.assert_array_equal(a.X_test, b.X_test)  # same seed, same split
    assert not np.array_equal(a.X_test, c.X_test)  # another split_seed, another split
    default = load_dataset("files", train=str(tr), feature_columns=("a", "b"))
    assert len(default.y_test) == 25  # default test_size 0.25


# ---------------------------------------------------------------- hf
def save_dict(folder: Path) -> Path:
    import datasets

    feats = datasets.Features(text=datasets.Value("string"), label=datasets.ClassLabel(names=["neg", "pos"]))
    df = table(20)
    split = {s: datasets.Dataset.from_dict({"text": d.text.tolist(), "label": (d.label == "pos").astype(int).tolist()},
                                          features=feats) for s, d in (("train", df[:14]), ("test", df[14:]))}
    datasets.DatasetDict(split).save_to_disk(str(folder))
    return folder


def test_hf_datasetdict_saved_to_disk(tmp_path):
    folder = save_dict(tmp_path / "saved")
    exp = load_experiment(experiment(tmp_path, [f"hf:{folder}"]))
    spec = exp.runs[0].dataset
    assert spec.name == "hf" and spec.params["path"] == str(folder) and spec.key() == "saved"
    assert len(spec.content_hash) == 64
    ds = load_dataset("hf", path=str(folder), text_column="text")
    assert ds.classes == ("neg", "pos") and len(ds.y_train) == 14 and len(ds.y_test) == 6
    assert ds.X_train[0] == table(20).text[0] and ds.modality == "text"
    with pytest.raises(UserDataError, match=r"no split 'validation' \(splits: train, test\); set test_split"):
        load_dataset("hf", path=str(folder), text_column="text", test_split="validation")
    with pytest.raises(ConfigError, match=r"hf:\./nowhere: folder \./nowhere not found"):
        load_experiment(experiment(tmp_path, ["hf:./nowhere"]))
    again = load_experiment(experiment(tmp_path, [f"hf:{folder}"]))
    assert again.runs[0].run_id == exp.runs[0].run_id  # same bytes, same id


def test_hf_single_dataset_and_folder_of_data_files(tmp_path):
    import datasets

    df = table(20)
    datasets.Dataset.from_pandas(df[["a", "b", "label"]]).save_to_disk(str(tmp_path / "one"))
    ds = load_dataset("hf", path=str(tmp_path / "one"), test_size=0.5)
    assert ds.X_train.shape == (10, 2) and ds.classes == ("neg", "pos")
    (tmp_path / "files").mkdir()
    df[:14].to_csv(tmp_path / "files" / "train.csv", index=False)
    df[14:].to_csv(tmp_path / "files" / "test.csv", index=False)
    ds = load_dataset("hf", path=str(tmp_path / "files"), text_column="text")
    assert len(ds.y_train) == 14 and ds.X_test.tolist() == df.text[14:].tolist()


def test_hf_without_internet_is_one_line(tmp_path):
    yaml = experiment(tmp_path, ["hf:nobody/no_such_dataset"])
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    out = subprocess.run([sys.executable, "-m", "altbench", "run", str(yaml), "--no-progress"], env=env,
                         capture_output=True, text=True, timeout=120)
    err = out.stderr.strip().splitlines()
    assert out.returncode != 0 and len(err) == 1, out.stderr
    assert "hf:nobody/no_such_dataset: cannot load it from the Hugging Face hub" in err[0]
    assert "save_to_disk(FOLDER) and write hf:FOLDER" in err[0]


# ---------------------------------------------------------------- identity and the CLI
def experiment(tmp_path: Path, datasets: list, text: bool = False, name: str = "mine") -> Path:
    method = "{name: linear-probe, backbone: tfidf}" if text else "logreg"
    entries = ", ".join(json.dumps(d) if isinstance(d, dict) else d for d in datasets)
    path = tmp_path / f"{name}.yaml"
    path.write_text(f"name: {name}\ndatasets: [{entries}]\nmethods: [{method}]\nstrategies: [random, margin]\n"
                    f"seeds: 1\nbudget: {{initial: 6, query: 4, total: 14}}\nresults_dir: {tmp_path / 'res'}\n")
    return path


def test_editing_one_byte_changes_the_run_id_builtins_keep_theirs(tmp_path):
    csv = write(table(), tmp_path / "reviews.csv")
    before = load_experiment(experiment(tmp_path, [str(csv), "digits"]))
    mine, builtin = before.runs[0], before.runs[-1]
    assert mine.dataset.key() == "reviews" and "content_hash" in identity(mine)["dataset"]
    assert builtin.dataset.key() == "digits" and "content_hash" not in identity(builtin)["dataset"]
    data = bytearray(csv.read_bytes())
    data[-2] = ord("0") if data[-2] != ord("0") else ord("1")  # one byte of the last row
    csv.write_bytes(bytes(data))
    after = load_experiment(experiment(tmp_path, [str(csv), "digits"]))
    assert after.runs[0].run_id != mine.run_id and after.runs[-1].run_id == builtin.run_id


def test_cli_run_on_a_csv_uses_the_label_and_reruns_an_edited_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write(table(), tmp_path / "reviews.csv")
    yaml = experiment(tmp_path, [{"name": "files", "train": "reviews.csv", "feature_columns": ["a", "b"],
                                  "label": "my numbers"}])
    assert main(["run", str(yaml), "--jobs", "1", "--no-progress"]) == 0
    store = RunStore(tmp_path / "res")
    df = store.read_results()
    assert set(df.dataset) == {"my numbers"} and len(store.finished_ids()) == 2
    record = json.loads(next(store.runs.glob("*.json")).read_text())
    assert len(record["config"]["dataset"]["content_hash"]) == 64
    first = set(store.finished_ids())
    assert main(["run", str(yaml), "--jobs", "1", "--no-progress"]) == 0  # unchanged: reused
    assert set(store.finished_ids()) == first
    with open(tmp_path / "reviews.csv", "a") as f:
        f.write("0.5,0.5,extra row,neg,1\n")
    assert main(["run", str(yaml), "--jobs", "1", "--no-progress", "--prune"]) == 0  # edited: re-run, new ids
    again = set(store.finished_ids())
    assert len(again) == 2 and not again & first


def test_cli_run_text_csv_with_linear_probe_tfidf(tmp_path):
    csv = write(table(), tmp_path / "reviews.csv")
    yaml = experiment(tmp_path, [{"name": "files", "train": str(csv), "text_column": "text", "label": "my reviews"}],
                      text=True)
    assert main(["run", str(yaml), "--jobs", "1", "--no-progress"]) == 0
    df = RunStore(tmp_path / "res").read_results()
    assert set(df.dataset) == {"my reviews"} and df.accuracy.notna().all() and df.n_labelled.max() == 14


def test_datasets_listing_explains_the_syntax(capsys):
    assert main(["datasets"]) == 0
    out = capsys.readouterr().out
    assert "{name: files, train: PATH" in out and "hf:<hub id or folder>" in out
    assert main(["datasets", "show", "hf"]) == 0 and "save_to_disk" in capsys.readouterr().out


# ---------------------------------------------------------------- errors: one line each
def error_of(tmp_path: Path, entry, **files) -> str:
    for name, content in files.items():
        (tmp_path / name.replace("_", ".")).write_bytes(content)
    with pytest.raises(ConfigError) as info:
        load_experiment(experiment(tmp_path, [entry]))
    msg = str(info.value)
    assert "\n" not in msg and "Traceback" not in msg
    return msg


def test_errors_are_one_line(tmp_path):
    ok = table().to_csv(index=False).encode()
    assert "train file missing.csv not found" in error_of(tmp_path, "missing.csv")
    bad = error_of(tmp_path, {"name": "files", "train": str(tmp_path / "bad.parquet")}, bad_parquet=b"not parquet")
    assert "cannot read" in bad and "as parquet" in bad
    msg = error_of(tmp_path, {"name": "files", "train": str(tmp_path / "ok.csv"), "label_column": "y"}, ok_csv=ok)
    assert "no column 'y'; its columns are: a, b, text, label, kind" in msg
    msg = error_of(tmp_path, {"name": "files", "train": str(tmp_path / "ok.csv"), "test": str(tmp_path / "ok.csv"),
                              "test_size": 0.2})
    assert "give test or test_size, not both" in msg
    assert "cannot tell the format" in error_of(tmp_path, {"name": "files", "train": str(tmp_path / "x.dat")},
                                                x_dat=ok)
    two = f"{{name: files, train: {tmp_path / 'ok.csv'}}}"
    with pytest.raises(ConfigError, match="are both named 'ok' in results; give each a distinct `label:`"):
        load_experiment(experiment(tmp_path, [two, f"{{name: files, train: {tmp_path / 'ok.csv'}, test_size: 0.5}}"]))


@pytest.mark.parametrize("case, match", [
    ("one_class", r"train has 1 class\(es\) \(pos\); a classification task needs at least 2"),
    ("empty", r"is empty; the split has no rows"),
    ("header_only", r"the train split has no rows"),
    ("unseen", r"test label 'maybe' does not occur in train"),
    ("text_as_number", r"column 'text' is not numeric; list numeric feature_columns, or write text_column: text"),
    ("sizes", r"images differ in size .*; write image_size: \[H, W\]"),
])
def test_data_errors_at_load_are_one_line(tmp_path, case, match):
    df = table(20)
    params = {"train": str(tmp_path / "t.csv"), "feature_columns": ("a", "b")}
    if case == "one_class":
        df["label"] = "pos"
    if case == "unseen":
        params["test"] = str(write(df.assign(label="maybe"), tmp_path / "u.csv"))
    if case == "text_as_number":
        params.pop("feature_columns")
    write(df, tmp_path / "t.csv")
    if case == "empty":
        (tmp_path / "t.csv").write_text("")
    if case == "header_only":
        (tmp_path / "t.csv").write_text("a,b,label\n")
    if case == "sizes":
        write_png(tmp_path / "im" / "x" / "0.png", np.zeros((2, 2), np.uint8))
        write_png(tmp_path / "im" / "y" / "0.png", np.zeros((3, 3), np.uint8))
        params = {"train": str(tmp_path / "im"), "test": str(tmp_path / "im")}
    with pytest.raises(UserDataError, match=match) as info:
        load_dataset("files", **params)
    assert "\n" not in str(info.value)
