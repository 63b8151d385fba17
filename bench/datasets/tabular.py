"""Tabular suite: the 34 libsvm datasets of Zhan et al. (2021).

Zhan, Liu, Li & Chan, "A Comparative Survey: Benchmarking for Pool-based
Active Learning", IJCAI 2021.  Files ``<data_dir>/tabular/<stem>-svmstyle.txt``
(libsvm format, mostly pre-standardised), mirrored in the authors' repository.

Protocols (the ``protocol`` parameter, a config parameter like
``{name: zhan_heart, protocol: zhan2021}``):

* ``"zhan2021"`` (default) — the classic per-seed protocol: a random 60/40
  train/test split drawn from the run's "split" stream ``rng`` (seed 0 when
  no ``rng`` is given).  Pair it with ``budget.initial: 20`` and
  ``budget.initial_all_classes: true`` for the random initial set of 20 with
  every class present.
* ``"fixed"`` — one stratified 60/40 split with fixed seed 0 for every run.

``standardize=True`` rescales features with the train split's mean and std.
X: (n, d) float32; y: (n,) int64 indexing the sorted raw labels.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from altbench.datasets import Dataset, stratified_split
from altbench.datasets.cache import cached_files, column, labelled_table
from altbench.datasets.cards import Card, CARDS, add
from altbench.datasets.files import FileSpec
from altbench.registry import DATASETS

MIRROR = "https://github.com/SineZHAN/ComparativeSurveyIJCAI2021PoolBasedAL/raw/c200b47/Dataset/dealeddata/"
CITATION = ("Zhan, Liu, Li & Chan (2021), 'A Comparative Survey: Benchmarking for Pool-based Active "
            "Learning', IJCAI.")
TEST_FRACTION = 0.4  # Zhan et al.: 60% pool, 40% test
FIXED_SEED = 0  # the "fixed" protocol's split, and the fallback when no rng is given
PROTOCOLS = ("zhan2021", "fixed")

# stem: (SHA-256, samples, features, labels) — labels "pm" = (-1, +1), "01" = (0, 1), k = 1..k
ZHAN: dict[str, tuple[str, int, int, str | int]] = {
    "appendicitis": ("50b0bea51c188bd769319150e4b52bdb0b9d9144851bee1babfeac3533236c5f", 106, 7, "pm"),
    "australian": ("2cd070cb79b304b9f2397c04799fd49553a57caf5e8a14c13d99622886998e41", 690, 14, "pm"),
    "banana": ("5e29d8d1c7ce4333a20db5d1742ec769c5b19ac5c95208ec6b9ea3934df0eaa1", 5300, 2, "pm"),
    "breast": ("0e990f7fff974197e2c942d6c54b2316a0e9a6282336846ff19b8cd2ef463e47", 478, 10, "pm"),
    "checkerboard": ("248e720e47caa65bad739fa231f6c96f155fc9727829dc9d008663675d104d31", 1600, 2, "pm"),
    "clean1": ("5f6fabcba1ae2bc906916beee6a3c39a59c65231c04f8cd40488374418d191d2", 476, 166, "pm"),
    "d31": ("aa2da1b924a2243c1ce68a0faaffe2c154e5df9c2a4afbc164b32544ca6afccb", 3100, 2, 31),
    "diabetes": ("2dca3b76a3d138de239bd5a24ff9703530a74064ae2569e06b3274c0e7262074", 768, 8, "pm"),
    "ex8a": ("831d50cfb2ca2b0bb0da551e5baad82be816467db8f6ae97f7039e5356db3fa3", 766, 2, "pm"),
    "ex8b": ("6e6e4fd65f665119a320ea42e8eb8106048929641d8e1388bfe5ded743107e54", 210, 2, "pm"),
    "gcloudb": ("71a3f5c3bb327cc22b0724fdcd5fd5e6dc08bf26bdc542922e010d52838fa864", 1000, 2, "pm"),
    "gcloudub": ("6afa2a61dbcf814da2f29badca27aa61ec3aba4a2e12662322ae8bea54e62e1a", 1000, 2, "pm"),
    "german": ("e461161650598fda2988f2a4c3b592634bbcae1c0eec382c94ceda5f30d4dab4", 1000, 24, "pm"),
    "glass": ("f2d4cb0b57ce78c411b8c1d1db47e53dba1da4d2016370ca4463295c70ae3bbd", 214, 9, 6),
    "haberman": ("83577dadf4451e7b163b2fb944273e4a8648b8a73960aa56066a1d5c0ed70bdd", 306, 3, "pm"),
    "heart": ("671652b87f81e679315026d3582ff2c6f6d50b4c20e026050a0dc2200a9a7e2f", 270, 13, "pm"),
    "ionosphere": ("c4f7fb384c95f758fbc92e06652b952cdf906e28707a5f24ab5b1d691d9296e3", 351, 34, "pm"),
    "iris": ("4b6f903a179a3d373880fbc9d06660c8de92b5d4573f9c7a0ec22c463b72e314", 150, 4, 3),
    "mammographic": ("df438dab48f576b2ad85a4aa0d46c811e8bb55622a0f1675b03029dde3220914", 830, 5, "pm"),
    "parkinsons": ("aec5103b7edf76c4ad8ef851fc266db3e45d05c0a11810b4b7ae7fff30290d37", 195, 22, "01"),
    "phishing": ("d04532820d4decc40a699f8e3e98a9fd3841934fb11f6704017e4191ae177543", 11055, 30, "pm"),
    "phoneme": ("ac22caf09e9f5fa54c6433d2f9ae59f7682fb1ff3ea0a400a12f324aaeffe17f", 5404, 5, "pm"),
    "r15": ("7e102dc07bf9c46ccf266b33a506c6382d21e3af01e509eab78917a0a45fe65c", 600, 2, 15),
    "ringnorm": ("97e7e9e06a29476858e157e0e1e70d101a0c6a231b9d8a992ca4448968316200", 7400, 20, "pm"),
    "seeds": ("5998b98561260d77e6642121b7490f8adc92939280cdca402b9f1bd3bd02ae1c", 210, 7, 3),
    "sonar": ("5d820b62d9873f13b283738971b02aef67900fcd98b310c8e77eca3d0dc53daa", 208, 60, "pm"),
    "spambase": ("2b402a28eba6efeebed937eb9e68d286f59080b854a49820fede46c284b55846", 4601, 57, "pm"),
    "splice": ("a2d597dff4e95ee6a5e153571b7126b798130e27ed1812b2b892860f55bc8c04", 1000, 60, "pm"),
    "thyroid": ("1091df161dbf0dd50c061f96284c353e8fb93b11957958649759cdb3ec66a85a", 215, 5, 3),
    "tictactoe": ("e2bd8dd47d38e8df822e4c69d9179642eacf064c4ef30a23808f4199c8cd6428", 958, 18, "pm"),
    "twonorm": ("bb4e1f034beb93a3d2d57a630259e2d018f264703f64c1033c40d76d26e3ed81", 7400, 20, "pm"),
    "vehicle": ("1c1b4cb16370301bc3e048329826508a710f1e112c3cfaaa7ac85c3a7561e2ef", 846, 18, 4),
    "wdbc": ("66704dc3f9630f2589f6297e3a75af6b62a2f6db14f2a097c4ee9e4441b57636", 569, 30, "pm"),
    "wine": ("7f879aac5750917376ed24f424c735e76cbe5c2573a73203b08f65180d013f97", 178, 13, 3),
}


def _class_names(labels: str | int) -> tuple[str, ...]:
    return {"pm": ("-1", "1"), "01": ("0", "1")}.get(labels) or tuple(str(k) for k in range(1, labels + 1))


def _card(stem: str) -> Card:
    sha, n, d, labels = ZHAN[stem]
    n_test = math.ceil(TEST_FRACTION * n)
    return add(Card(f"zhan_{stem}", f"{stem} (Zhan et al. 2021 suite, {d} features)", "tabular",
                    _class_names(labels), {"train": n - n_test, "test": n_test}, MIRROR, CITATION,
                    "as the original source (UCI / KEEL / LIBSVM / synthetic); research use",
                    "zhan2021: random 60/40 per seed from the run's split stream; fixed: stratified "
                    "60/40 seed 0; optional standardisation fitted on the train split",
                    (FileSpec(f"tabular/{stem}-svmstyle.txt", sha, f"{MIRROR}{stem}-svmstyle.txt"),),
                    notes={"features": d}))


def read_svmlight(path: Path, n_features: int, labels: str | int):
    """(X (n, d) float32 dense, y (n,) int64 in [0, C)) from a libsvm file."""
    from sklearn.datasets import load_svmlight_file

    X, raw = load_svmlight_file(str(path), n_features=n_features)
    names = _class_names(labels)
    values = np.asarray([float(c) for c in names])
    y = np.searchsorted(values, raw).clip(0, len(values) - 1).astype(np.int64)
    if not np.array_equal(values[y], raw):
        raise ValueError(f"{path}: labels {sorted(set(raw) - set(values))} not in the expected {names}; "
                         "re-download the file")
    return np.asarray(X.todense(), dtype=np.float32), y


def split_indices(n: int, y: np.ndarray, protocol: str, rng: np.random.Generator | None):
    """(train, test) sorted index arrays for a protocol (see the module docstring)."""
    if protocol == "fixed":
        return stratified_split(y, TEST_FRACTION, FIXED_SEED)
    rng = rng if rng is not None else np.random.default_rng(FIXED_SEED)
    perm = rng.permutation(n)
    n_test = math.ceil(TEST_FRACTION * n)
    return np.sort(perm[n_test:]), np.sort(perm[:n_test])


def load_zhan(stem: str, data_dir: Path, rng: np.random.Generator | None = None,
              protocol: str = "zhan2021", standardize: bool = True) -> Dataset:
    """One Zhan et al. (2021) dataset under ``protocol``; see the module docstring."""
    if protocol not in PROTOCOLS:
        raise ValueError(f"zhan_{stem}: unknown protocol {protocol!r}; use one of {', '.join(PROTOCOLS)}")
    card = CARDS[f"zhan_{stem}"]
    _, _, d, labels = ZHAN[stem]
    cached = cached_files(card.name, card.files, data_dir,
                              lambda paths: {"all": labelled_table(*read_svmlight(paths[0], d, labels))})
    X, y = column(cached.tables["all"], "x", (d,)), column(cached.tables["all"], "label")
    tr, te = split_indices(len(y), y, protocol, rng)
    Xtr, Xte = X[tr], X[te]
    if standardize:
        mu, sd = Xtr.mean(0), Xtr.std(0)
        sd[sd == 0] = 1.0
        Xtr, Xte = (Xtr - mu) / sd, (Xte - mu) / sd
    return Dataset(card.name, "tabular", Xtr.astype(np.float32), y[tr], Xte.astype(np.float32), y[te],
                   card.classes, {"source": card.source, "split": card.split, "protocol": protocol,
                                  "standardized": standardize, "cache_hit": cached.hit},
                   tables=dict(cached.tables))


def _make_loader(stem: str):
    def loader(data_dir: Path, rng: np.random.Generator | None = None, protocol: str = "zhan2021",
               standardize: bool = True) -> Dataset:
        return load_zhan(stem, data_dir, rng, protocol, standardize)

    _, n, d, labels = ZHAN[stem]
    k = len(_class_names(labels))
    loader.__name__ = loader.__qualname__ = f"zhan_{stem}"
    loader.__doc__ = (f"{stem} from Zhan et al. (2021): {n} samples, {d} features, {k} classes; "
                      "per-seed random 60/40 split (protocol='zhan2021') or fixed.")
    return loader


for _stem in ZHAN:  # module attributes zhan_<stem>, named in pyproject's entry points
    _card(_stem)
    globals()[f"zhan_{_stem}"] = DATASETS.register(_make_loader(_stem))
