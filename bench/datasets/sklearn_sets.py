"""scikit-learn's bundled datasets (offline, no files needed).

Split rule: stratified 70/30 train/test with fixed seed 0 (there is no
official split), features standardised with train-split statistics.
"""

from __future__ import annotations

import numpy as np

from altbench.datasets import Dataset, stratified_split
from altbench.registry import DATASETS

SPLIT_SEED = 0  # fixed: the split is part of the dataset, not of the run
TEST_FRACTION = 0.3


def _bundled(name: str, loader_name: str) -> Dataset:
    import sklearn.datasets as skd

    bunch = getattr(skd, loader_name)()
    X = np.asarray(bunch.data, dtype=np.float32)
    y = np.asarray(bunch.target, dtype=np.int64)
    tr, te = stratified_split(y, TEST_FRACTION, SPLIT_SEED)
    mu, sd = X[tr].mean(0), X[tr].std(0)
    sd[sd == 0] = 1.0
    X = (X - mu) / sd
    classes = tuple(str(c) for c in getattr(bunch, "target_names", np.unique(y)))
    return Dataset(name, "tabular", X[tr], y[tr], X[te], y[te], classes,
                   info={"source": f"sklearn.datasets.{loader_name}",
                         "split": f"stratified {1 - TEST_FRACTION:.0%}/{TEST_FRACTION:.0%}, seed {SPLIT_SEED}"})


@DATASETS.register
def digits(data_dir=None, rng=None) -> Dataset:
    """8×8 handwritten digits, 1,797 images, 10 classes (as 64 features)."""
    return _bundled("digits", "load_digits")


@DATASETS.register
def breast_cancer(data_dir=None, rng=None) -> Dataset:
    """Wisconsin diagnostic breast cancer, 569 samples, 30 features, 2 classes."""
    return _bundled("breast_cancer", "load_breast_cancer")


@DATASETS.register
def wine(data_dir=None, rng=None) -> Dataset:
    """UCI wine, 178 samples, 13 features, 3 classes."""
    return _bundled("wine", "load_wine")


@DATASETS.register
def iris(data_dir=None, rng=None) -> Dataset:
    """Fisher's iris, 150 samples, 4 features, 3 classes."""
    return _bundled("iris", "load_iris")
