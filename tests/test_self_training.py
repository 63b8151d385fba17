"""Self-training (altbench.methods.self_training): confident pseudo-labels from the pool,
capped per class, seeded, never counted as labels and never drawn from the test split."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from altbench.config import ConfigError, build_plugin, resolve_plugin
from altbench.datasets import Dataset
from altbench.loop import Budget, run_active_learning
from altbench.methods.self_training import SelfTraining, confident_picks
from altbench.methods.sklearn_models import LogReg
from altbench.registry import METHODS, STRATEGIES
from altbench.seeds import Streams
from conftest import make_blobs


def test_confident_picks_respect_threshold_and_cap():
    proba = np.array([[0.95, 0.05], [0.99, 0.01], [0.97, 0.03], [0.5, 0.5], [0.08, 0.92], [0.2, 0.8]])
    rows, labels = confident_picks(proba, threshold=0.9, per_class_cap=2)
    assert rows.tolist() == [1, 2, 4] and labels.tolist() == [0, 0, 1]  # row 0 (0.95) loses to the cap
    rows, labels = confident_picks(proba, threshold=0.9, per_class_cap=None)
    assert rows.tolist() == [0, 1, 2, 4] and labels.tolist() == [0, 0, 0, 1]
    assert len(confident_picks(proba, threshold=1.0, per_class_cap=None)[0]) == 0


def blob_split(n_lab_per_class=3, seed=0):
    X, y = make_blobs(n=600, d=6, n_classes=3, seed=seed)
    lab = np.concatenate([np.flatnonzero(y == c)[:n_lab_per_class] for c in range(3)])
    pool = np.setdiff1d(np.arange(500), lab)
    return X, y, lab, pool


def fit_st(method, X, y, lab, pool, seed=0):
    return method.fit(X[lab], y[lab], n_classes=3, rng_init=np.random.default_rng(seed),
                      rng_order=np.random.default_rng(seed + 100), pool=X[pool])


class Recorder:
    """Wraps a method: records every (X, y) its fit gets and every X its models score."""

    def __init__(self, inner):
        self.inner, self.fits, self.scored = inner, [], []

    def fit(self, X, y, **kw):
        self.fits.append((np.asarray(X).copy(), np.asarray(y).copy()))
        model = self.inner.fit(X, y, **kw)
        predict, scored = model.predict_proba, self.scored

        def spy(Xs):
            scored.append(np.asarray(Xs).copy())
            return predict(Xs)

        model.predict_proba = spy
        return model


def test_pseudo_labels_respect_threshold_cap_and_rounds(monkeypatch):
    X, y, lab, pool = blob_split()
    rec = Recorder(LogReg())
    monkeypatch.setattr(SelfTraining, "base_method", lambda self: rec)
    model = fit_st(SelfTraining(base="logreg", threshold=0.8, per_class_cap=20, rounds=2), X, y, lab, pool)
    assert len(rec.fits) == 3  # the labels alone, then one refit per round
    first_proba = rec.inner.fit(X[lab], y[lab], n_classes=3, rng_init=np.random.default_rng(0),
                                rng_order=np.random.default_rng(0)).predict_proba(X[pool])
    X1, y1 = rec.fits[1]
    assert np.array_equal(X1[:len(lab)], X[lab]) and np.array_equal(y1[:len(lab)], y[lab])  # labels kept first
    new = X1[len(lab):]
    rows = np.array([np.flatnonzero((X[pool] == r).all(1))[0] for r in new])
    assert 0 < len(rows) <= 3 * 20 and np.bincount(y1[len(lab):], minlength=3).max() <= 20
    assert (first_proba[rows].max(1) >= 0.8).all()  # only confident rows
    assert np.array_equal(first_proba[rows].argmax(1), y1[len(lab):])  # labelled with the model's argmax
    X2, y2 = rec.fits[2]
    assert len(y2) > len(y1) and np.array_equal(X2[:len(y1)], X1)  # round 2 adds to round 1's pseudo-labels
    assert len(rec.scored[1]) == len(pool) - len(rows)  # round 2 scores only rows not yet pseudo-labelled
    assert model.n_pseudo_ == len(y2) - len(lab)


def test_no_confident_rows_gives_the_base_model(monkeypatch):
    X, y, lab, pool = blob_split()
    rec = Recorder(LogReg())
    monkeypatch.setattr(SelfTraining, "base_method", lambda self: rec)
    model = fit_st(SelfTraining(threshold=1.0, rounds=3), X, y, lab, pool)
    assert len(rec.fits) == 1 and model.n_pseudo_ == 0


def test_self_training_is_seeded():
    X, y, lab, pool = blob_split()
    st = build_plugin(METHODS, resolve_plugin(METHODS, {"name": "self-training", "base": {
        "name": "mlp", "hidden": [16], "train": {"epochs": 20}}, "threshold": 0.7}, "methods.0"))
    p = [fit_st(st, X, y, lab, pool, seed).predict_proba(X[500:]) for seed in (1, 1, 2)]
    assert np.array_equal(p[0], p[1]) and not np.allclose(p[0], p[2])


def test_self_training_helps_on_separable_blobs():
    X, y, lab, pool = blob_split(n_lab_per_class=2, seed=3)
    st = SelfTraining(base="logreg", threshold=0.9, per_class_cap=None, rounds=2)
    acc = [(m.predict_proba(X[500:]).argmax(1) == y[500:]).mean()
           for m in (fit_st(st, X, y, lab, pool), LogReg().fit(X[lab], y[lab], n_classes=3,
                                                               rng_init=np.random.default_rng(0),
                                                               rng_order=np.random.default_rng(0)))]
    assert acc[0] >= acc[1] and acc[0] > 0.9


def test_loop_never_counts_pseudo_labels():
    X, y = make_blobs(n=400, d=6, n_classes=3, seed=1)
    ds = Dataset("blobs", "tabular", X[:300], y[:300], X[300:], y[300:], ("a", "b", "c"))
    seen = []

    def spy(view, pool, budget, rng):
        seen.append((len(view.labelled), view._model.n_pseudo_, len(pool)))
        assert not np.isin(pool, view.labelled).any()
        return STRATEGIES.get("random")(view, pool, budget, rng)

    st = SelfTraining(base="logreg", threshold=0.6, per_class_cap=30, rounds=1)
    recs = run_active_learning(ds, st, spy, Budget(initial=12, query=6, total=30), Streams(0))
    assert [r["n_labelled"] for r in recs] == [12, 18, 24, 30]
    assert [s[0] for s in seen] == [12, 18, 24] and [s[2] for s in seen] == [288, 282, 276]
    assert all(s[1] > 0 for s in seen), "pseudo-labels were drawn (else this test shows nothing)"
    again = run_active_learning(ds, st, STRATEGIES.get("random"), Budget(initial=12, query=6, total=30), Streams(0))
    assert [r["queried"] for r in again] == [r["queried"] for r in recs]


@dataclass(frozen=True)
class CharCount:
    """A text method for the canary test: logistic regression on letter counts."""

    def fit(self, X, y, *, n_classes, rng_init, rng_order):
        from altbench.methods.sklearn_models import LogReg

        return TextModel(LogReg().fit(counts(X), y, n_classes=n_classes, rng_init=rng_init, rng_order=rng_order))


class TextModel:
    def __init__(self, inner):
        self.inner, self.n_classes = inner, inner.n_classes

    def predict_proba(self, X):
        return self.inner.predict_proba(counts(X))


def counts(X) -> np.ndarray:
    return np.array([[s.count(ch) for ch in "abcxyz"] for s in X], dtype=np.float64)


def test_test_split_canary_never_reaches_pseudo_labelling(monkeypatch):
    rng = np.random.default_rng(0)
    words = [("aaab", 0), ("bbba", 0), ("xxyz", 1), ("zzyx", 1)]
    pick = rng.integers(0, 4, size=120)
    texts = np.array([words[i][0] * int(rng.integers(1, 4)) for i in pick], dtype=object)
    labels = np.array([words[i][1] for i in pick], dtype=np.int64)
    X_test = np.array([f"CANARY-TEST-{i} " + t for i, t in enumerate(texts[:30])], dtype=object)
    ds = Dataset("canary", "text", texts[30:], labels[30:], X_test, labels[:30], ("a", "x"))
    pools, rec, in_fit = [], Recorder(CharCount()), []  # in_fit: texts scored while pseudo-labelling
    real_fit = SelfTraining.fit

    def spy_fit(self, X, y, **kw):
        pools.append(np.asarray(kw["pool"]))
        before = len(rec.scored)
        model = real_fit(self, X, y, **kw)
        in_fit.extend(t for batch in rec.scored[before:] for t in batch)
        return model

    monkeypatch.setattr(SelfTraining, "base_method", lambda self: rec)
    monkeypatch.setattr(SelfTraining, "prepare", lambda self, d: (d.X_train, d.X_test))
    monkeypatch.setattr(SelfTraining, "fit", spy_fit)
    recs = run_active_learning(ds, SelfTraining(threshold=0.6), STRATEGIES.get("random"),
                               Budget(initial=6, query=4, total=14), Streams(0))
    assert [r["n_labelled"] for r in recs] == [6, 10, 14] and len(pools) == 3
    assert [len(p) for p in pools] == [84, 80, 76]  # the unlabelled train rows
    fitted = [t for X, _ in rec.fits for t in X]
    assert len(fitted) > sum(r["n_labelled"] for r in recs), "no pseudo-labels were used"
    assert len(in_fit) >= sum(len(p) for p in pools)
    for texts_seen in (np.concatenate(pools), fitted, in_fit):
        assert not any("CANARY" in t for t in texts_seen)
    assert sum("CANARY" in t for batch in rec.scored for t in batch) == 3 * 30  # only the loop's evaluation


def test_bad_settings_are_one_line_errors():
    for bad, says in [({"threshold": 1.5}, "threshold must be at most 1"),
                      ({"per_class_cap": 0}, "per_class_cap must be at least 1"),
                      ({"base": "self-training"}, "parameter base has an invalid value"),
                      ({"base": "no-such-method"}, "parameter base has an invalid value")]:
        with pytest.raises(ConfigError, match=says):
            resolve_plugin(METHODS, {"name": "self-training", **bad}, "methods.0")


def test_run_id_pins_the_resolved_base():
    spec = resolve_plugin(METHODS, "self-training", "methods.0")
    assert spec.params["base"]["name"] == "linear-probe" and spec.params["base"]["head"] == "logreg"
    torch = resolve_plugin(METHODS, {"name": "self-training", "base": {"name": "linear-probe", "head": "torch"}},
                           "methods.0")
    assert torch.params["base"]["head"] == "torch"  # written out inside base, though omitted at top level
    assert build_plugin(METHODS, torch).base_method().head == "torch"
    assert resolve_plugin(METHODS, {"name": "self-training", **torch.params}, "m").params == torch.params
