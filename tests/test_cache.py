"""Embedding cache: miss then hit, invalidation on changed preprocessing or
data, memory-mapped reads, atomic writes, and the cache-dir setting."""

from __future__ import annotations

import numpy as np
import pytest

from altbench.backbones import cached_features
from altbench.backbones.text import Tfidf
from altbench.cache import CACHE_ENV, FeatureCache, cache_dir
from altbench.datasets import Dataset
from altbench.registry import METHODS


def text_dataset(extra: str = "") -> Dataset:
    train = np.array(["red apple pie", "green apple", "red car", "fast red car" + extra], dtype=object)
    test = np.array(["green car", "apple"], dtype=object)
    return Dataset("toy", "text", train, np.array([0, 0, 1, 1]), test, np.array([1, 0]), ("fruit", "car"))


class CountingTfidf(Tfidf):
    calls = 0

    def encode_split(self, X_train, X_test):
        CountingTfidf.calls += 1
        return super().encode_split(X_train, X_test)


CountingTfidf.registry_name = "tfidf"


def test_miss_then_hit_then_invalidation(tmp_path):
    cache = FeatureCache(tmp_path)
    CountingTfidf.calls = 0
    a_train, a_test = cached_features(CountingTfidf(), text_dataset(), cache)
    b_train, _ = cached_features(CountingTfidf(), text_dataset(), cache)
    assert (cache.misses, cache.hits, CountingTfidf.calls) == (1, 1, 1)
    assert isinstance(b_train, np.memmap) and np.array_equal(a_train, b_train)
    assert a_train.shape[0] == 4 and a_test.shape[0] == 2
    cached_features(CountingTfidf(ngram_max=1), text_dataset(), cache)  # changed preprocessing
    assert (cache.misses, CountingTfidf.calls) == (2, 2)
    cached_features(CountingTfidf(), text_dataset(extra=" now"), cache)  # changed data
    assert (cache.misses, CountingTfidf.calls) == (3, 3)
    cached_features(CountingTfidf(ngram_max=1), text_dataset(), cache)  # old entries still valid
    assert (cache.hits, CountingTfidf.calls) == (2, 3)
    assert not list(tmp_path.glob("*.tmp"))


def test_failed_encode_leaves_no_entry(tmp_path):
    cache = FeatureCache(tmp_path)

    def boom():
        raise RuntimeError("encoder crashed")

    with pytest.raises(RuntimeError):
        cache.get_or_compute("k", boom)
    calls = []
    cache.get_or_compute("k", lambda: calls.append(1) or (np.ones((2, 3)), np.zeros((1, 3))))
    F_train, F_test = cache.get_or_compute("k", lambda: calls.append(1) or (None, None))
    assert calls == [1] and F_train.dtype == np.float32 and np.all(F_train == 1)
    assert not list(tmp_path.glob("*.tmp"))


def test_cache_dir_setting(tmp_path, monkeypatch):
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "emb"))
    assert cache_dir() == tmp_path / "emb"
    method = METHODS.get("linear-probe")(backbone="tfidf")
    X_train, X_test = method.prepare(text_dataset())
    assert isinstance(X_train, np.memmap) and len(list((tmp_path / "emb").glob("*.train.npy"))) == 1
    monkeypatch.delenv(CACHE_ENV)
    assert cache_dir().parts[-2:] == ("altbench", "embeddings")
