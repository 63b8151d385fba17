"""Zhan et al. (2021) tabular suite: sizes, per-seed protocol, initial set with every class."""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import pytest

from altbench.config import BudgetModel, resolve_plugin, ConfigError
from altbench.datasets import load_dataset
from altbench.datasets.tabular import ZHAN
from altbench.loop import Budget, BudgetError, initial_set
from altbench.registry import DATASETS
from altbench.seeds import Streams

DATA = Path(os.environ.get("ALTBENCH_DATA_DIR") or Path(__file__).resolve().parents[2] / "shared" / "data")
pytestmark = [pytest.mark.skipif(not (DATA / "tabular").is_dir(), reason=f"offline data not found at {DATA}; "
                                 "set ALTBENCH_DATA_DIR to the shared data folder"),
              pytest.mark.usefixtures("isolated_cache")]  # fresh Arrow cache, no network

# Published (UCI / KEEL / Zhan et al. 2021) samples, features, classes of a few sets
PUBLISHED = {"australian": (690, 14, 2), "heart": (270, 13, 2), "sonar": (208, 60, 2), "wdbc": (569, 30, 2),
             "ionosphere": (351, 34, 2), "diabetes": (768, 8, 2), "german": (1000, 24, 2), "glass": (214, 9, 6),
             "iris": (150, 4, 3), "wine": (178, 13, 3), "vehicle": (846, 18, 4), "spambase": (4601, 57, 2),
             "haberman": (306, 3, 2), "seeds": (210, 7, 3), "banana": (5300, 2, 2), "phishing": (11055, 30, 2),
             "ringnorm": (7400, 20, 2), "twonorm": (7400, 20, 2), "d31": (3100, 2, 31), "r15": (600, 2, 15)}


def test_all_34_registered_under_their_names():
    names = DATASETS.names("zhan_*")
    assert len(ZHAN) == 34 and names == sorted(f"zhan_{s}" for s in ZHAN)
    assert "texture" not in ZHAN  # missing from the authors' release


@pytest.mark.parametrize("stem", sorted(ZHAN))
def test_zhan_sizes_classes_and_per_seed_split(stem):
    _, n, d, _ = ZHAN[stem]
    if stem in PUBLISHED:
        assert (n, d) == PUBLISHED[stem][:2]
    a = load_dataset(f"zhan_{stem}", DATA, rng=Streams(3).rng("split"))
    b = load_dataset(f"zhan_{stem}", DATA, rng=Streams(3).rng("split"))
    c = load_dataset(f"zhan_{stem}", DATA, rng=Streams(4).rng("split"))
    n_test = math.ceil(0.4 * n)
    assert a.X_train.shape == (n - n_test, d) and a.X_test.shape == (n_test, d)
    assert a.X_train.dtype == np.float32 and a.y_train.dtype == np.int64 and a.modality == "tabular"
    y_all = np.concatenate([a.y_train, a.y_test])
    assert set(np.unique(y_all)) == set(range(a.n_classes))
    if stem in PUBLISHED:
        assert a.n_classes == PUBLISHED[stem][2]
    assert np.array_equal(a.X_train, b.X_train) and np.array_equal(a.y_test, b.y_test)  # same seed
    assert not np.array_equal(a.X_train, c.X_train)  # another seed, another split
    np.testing.assert_allclose(a.X_train.mean(0), 0, atol=1e-4)  # standardised on the train split


def test_fixed_protocol_ignores_rng_and_stratifies():
    a = load_dataset("zhan_glass", DATA, rng=np.random.default_rng(1), protocol="fixed")
    b = load_dataset("zhan_glass", DATA, rng=np.random.default_rng(2), protocol="fixed")
    assert np.array_equal(a.X_test, b.X_test)
    assert set(np.unique(a.y_test)) == set(range(6))


def test_protocol_is_a_config_parameter_and_validated():
    spec = resolve_plugin(DATASETS, {"name": "zhan_heart", "protocol": "fixed"}, "datasets")
    assert spec.params == {"protocol": "fixed", "standardize": True} and "fixed" in spec.label
    with pytest.raises(ValueError, match="unknown protocol 'zhan'"):
        load_dataset("zhan_heart", DATA, protocol="zhan")
    with pytest.raises(ConfigError, match="no parameter 'protocl'"):
        resolve_plugin(DATASETS, {"name": "zhan_heart", "protocl": "fixed"}, "datasets")


def test_raw_features_without_standardisation_are_the_files_values():
    raw = load_dataset("zhan_heart", DATA, protocol="fixed", standardize=False)
    assert raw.X_train.min() >= -1 and raw.X_train.max() <= 1  # heart is scaled to [-1, 1] in the file


def test_initial_set_with_every_class_present():
    y = load_dataset("zhan_glass", DATA, rng=Streams(0).rng("split")).y_train  # 6 classes, 2 rare
    budget = Budget(initial=20, initial_all_classes=True)
    picks = [initial_set(y, budget, Streams(s).rng("initial")) for s in range(20)]
    for p in picks:
        assert len(p) == 20 and len(np.unique(p)) == 20 and set(y[p]) == set(range(6))
    assert np.array_equal(picks[0], initial_set(y, budget, Streams(0).rng("initial")))
    plain = initial_set(y, Budget(initial=20), Streams(0).rng("initial"))
    assert len(plain) == 20  # the default stays a plain random draw
    with pytest.raises(BudgetError, match="cannot hold all 31 classes"):
        initial_set(load_dataset("zhan_d31", DATA).y_train, budget, np.random.default_rng(0))
    many = load_dataset("zhan_r15", DATA).y_train  # 15 classes in 20: the constructive fallback
    p = initial_set(many, budget, np.random.default_rng(0))
    assert len(np.unique(p)) == 20 and set(many[p]) == set(range(15))
    assert BudgetModel(initial_all_classes=True).initial_all_classes is True
