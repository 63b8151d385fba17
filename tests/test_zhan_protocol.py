"""Zhan et al. (2021) / Lu et al. (2023) protocol: SVM options, US-C, exact k-center, their AUBC, gains."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.calibration import CalibratedClassifierCV
from sklearn.svm import SVC

from altbench.config import resolve_plugin
from altbench.methods.sklearn_models import SvmRbf
from altbench.registry import METHODS, STRATEGIES
from altbench.reproduce import compare, get, render
from altbench.view import ModelView
from altbench.zhan2021 import paired_gains, run_aubcs, zhan_aubc, zhan_table
from altbench.strategies import _geometry as geo
from altbench.strategies.coreset import Coreset
from altbench.strategies.us_c import UsC

us_c = UsC(ties="first")  # the protocol's configuration


def _blobs(seed: int, n: int = 80, d: int = 4, classes: int = 2):
    g = np.random.default_rng(seed)
    y = np.arange(n) % classes
    X = g.normal(size=(n, d)) + 1.5 * y[:, None]
    return X, y


def _fit(X, y, n_classes=2, **opts):
    return SvmRbf(**opts).fit(X, y, n_classes=n_classes, rng_init=np.random.default_rng(0),
                              rng_order=np.random.default_rng(1))


# ------------------------------------------------------------ svm_rbf options
def test_svm_without_calibration_is_the_plain_svc():
    X, y = _blobs(0)
    model = _fit(X[:30], y[:30], gamma="auto", C=1.0, probability="none")
    ref = SVC(C=1.0, gamma=1.0 / X.shape[1]).fit(X[:30], y[:30])  # gamma 'auto' = 1 / d
    f = ref.decision_function(X)
    np.testing.assert_array_equal(model.predict(X), ref.predict(X))
    np.testing.assert_allclose(model.decision_function(X), np.stack([-f / 2, f / 2], 1), rtol=1e-12)
    p = model.predict_proba(X)
    np.testing.assert_allclose(p[:, 1], 1 / (1 + np.exp(-f)), rtol=1e-9)  # softmax of (−f/2, f/2)
    np.testing.assert_array_equal(p.argmax(1), model.predict(X))


def test_default_svm_is_calibrated_and_its_probability_always_enters_the_run_id():
    X, y = _blobs(1)
    model = _fit(X[:40], y[:40])
    assert type(model.clf).__name__ == "CalibratedSvc" and not hasattr(model, "predict")  # argmax of Platt probs
    assert not hasattr(model, "decision_function")
    spec = resolve_plugin(METHODS, "svm_rbf", "methods")  # the default changed (libsvm → platt): in the id
    assert spec.params == {"C": 1.0, "gamma": "scale", "probability": "platt"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        old = _fit(X[:40], y[:40], probability="libsvm")  # the former default, still available
    assert old.clf.probability
    libsvm = resolve_plugin(METHODS, {"name": "svm_rbf", "probability": "libsvm"}, "methods")
    assert libsvm.params["probability"] == "libsvm" and libsvm.label == 'svm_rbf(probability="libsvm")'
    spec = resolve_plugin(METHODS, {"name": "svm_rbf", "probability": "none"}, "methods")
    assert spec.params["probability"] == "none" and spec.label == 'svm_rbf(probability="none")'


def test_platt_option_is_calibrated_classifier_cv():
    X, y = _blobs(2)
    model = _fit(X[:40], y[:40], probability="platt", calibration_cv=3)
    ref = CalibratedClassifierCV(SVC(), method="sigmoid", cv=3, ensemble=False).fit(X[:40], y[:40])
    np.testing.assert_allclose(model.predict_proba(X), ref.predict_proba(X), rtol=1e-12)
    tiny = _fit(X[:5], np.array([0, 0, 0, 0, 1]), probability="platt")  # one example of class 1
    np.testing.assert_allclose(tiny.predict_proba(X).sum(1), 1.0)


def test_unknown_probability_option_is_a_one_line_error():
    from altbench.config import ConfigError

    with pytest.raises(ConfigError, match="probability") as err:
        resolve_plugin(METHODS, {"name": "svm_rbf", "probability": "sigmoid"}, "methods")
    assert "\n" not in str(err.value)


def test_multiclass_scores_rank_unseen_classes_last():
    X, y = _blobs(3, classes=3)
    lab = np.flatnonzero(y < 2)[:20]  # class 2 never labelled
    model = _fit(X[lab], y[lab], n_classes=3, probability="none")
    s = model.decision_function(X)
    assert s.shape == (len(X), 3) and (s[:, 2] < s[:, :2].min(1)).all()
    assert (model.predict_proba(X)[:, 2] == 0).all()
    single = _fit(X[:3], np.zeros(3, int), n_classes=3, probability="none")
    assert (single.predict(X) == 0).all() and np.isfinite(single.decision_function(X)).all()


# ------------------------------------------------------------ US-C
def test_us_c_picks_the_smallest_absolute_decision_values():
    X, y = _blobs(4)
    lab = np.arange(20)
    model = _fit(X[lab], y[lab], gamma="auto", probability="none")
    view = ModelView(model, X, lab, y[lab], "svm_rbf")
    pool = np.arange(20, len(X))
    f = SVC(gamma="auto").fit(X[lab], y[lab]).decision_function(X[pool])
    got = us_c(view, pool, 5, np.random.default_rng(0))
    np.testing.assert_array_equal(got, pool[np.argsort(np.abs(f), kind="stable")[:5]])
    assert "us_c" in STRATEGIES.names()
    spec = resolve_plugin(STRATEGIES, {"name": "us_c", "ties": "first"}, "strategies")
    assert spec.label == 'us_c(ties="first")'


class _TiedModel:
    """Decision scores fixed by hand: rows 0..5 of a 3-class problem."""
    n_classes = 3
    S = np.array([[3., 1., 0.], [2., 1.5, 0.], [0., 0.5, 0.], [5., 4.5, -1.], [0., 2., 1.], [1., 1., 1.]])

    def predict_proba(self, X):
        return np.full((len(X), 3), 1 / 3)

    def decision_function(self, X):
        return self.S[np.asarray(X, dtype=int)[:, 0]]


def test_us_c_ties_first_go_to_the_first_pool_position_without_rng():
    X = np.arange(6)[:, None]
    view = ModelView(_TiedModel(), X, np.zeros(0, int), np.zeros(0, int), "fake")
    pool = np.arange(6)
    # top-two gaps: 2, 0.5, 0.5, 0.5, 1, 0 → row 5, then the tied rows 1, 2, 3 in pool order
    for seed in range(3):
        assert us_c(view, pool, 4, np.random.default_rng(seed)).tolist() == [5, 1, 2, 3]
    assert us_c(view, pool[::-1].copy(), 2, None).tolist() == [5, 3]  # "first" = first in the pool given
    seeded = {tuple(UsC()(view, pool, 2, np.random.default_rng(s)).tolist()) for s in range(8)}
    assert {p[0] for p in seeded} == {5} and {p[1] for p in seeded} == {1, 2, 3}  # default: rng breaks ties


def test_us_c_without_decision_values_uses_the_log_probability_gap():
    X, y = _blobs(5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        model = _fit(X[:20], y[:20])  # libsvm Platt: probabilities only
    pool = np.arange(20, 60)
    p = model.predict_proba(X[pool])
    got = us_c(ModelView(model, X, np.arange(20), y[:20], "svm_rbf"), pool, 4, None)
    np.testing.assert_array_equal(got, pool[np.argsort(np.abs(np.log(p[:, 1] / p[:, 0])), kind="stable")[:4]])


# ------------------------------------------------------------ k-center float64
def _brute_kcenter(X, lab, pool, k):
    """Naive float64 k-center: full distance matrix, argmax (first maximiser)."""
    X = np.asarray(X, np.float64)
    D = np.sqrt(((X[:, None, :] - X[None, :, :]) ** 2).sum(-1))
    centres, picks = list(lab), []
    for _ in range(k):
        cand = [i for i in pool if i not in picks]
        score = [D[i, centres].min() if centres else np.inf for i in cand]
        c = cand[int(np.argmax(score))]
        picks.append(c)
        centres.append(c)
    return picks


class _EmbedView:
    def __init__(self, H, labelled):
        self.H, self.labelled = H, np.asarray(labelled, dtype=np.int64)

    def embed(self, idx):
        return self.H[idx]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_float64_kcenter_equals_brute_force(seed):
    g = np.random.default_rng(seed)
    H = g.normal(size=(70, 5)).astype(np.float32)
    lab, pool = np.arange(6), np.arange(6, 70)
    got = Coreset(dtype="float64", ties="first")(_EmbedView(H, lab), pool, 15, np.random.default_rng(9))
    assert got.tolist() == _brute_kcenter(H, lab, pool, 15)


def test_kcenter_ties_first_on_a_grid():
    H = np.array([[x, y] for x in range(5) for y in range(5)], dtype=np.float32)  # many exact ties
    pool = np.arange(1, 25)
    want = _brute_kcenter(H, [0], pool, 8)
    for dtype in ("float64", "float32"):
        got = Coreset(dtype=dtype, ties="first")(_EmbedView(H, [0]), pool, 8, np.random.default_rng(0))
        assert got.tolist() == want, dtype
    none = Coreset(dtype="float64", ties="first")(_EmbedView(H, []), pool, 3, None)
    assert none.tolist() == _brute_kcenter(H, [], pool, 3) and none[0] == 1  # nothing labelled: first row


def test_exact_distances_are_blocked_and_float64(monkeypatch):
    g = np.random.default_rng(3)
    Q, X = g.normal(size=(30, 4)), g.normal(size=(11, 4))
    want = np.sqrt(((Q[:, None] - X[None]) ** 2).sum(-1)).min(1)
    monkeypatch.setattr(geo, "BLOCK", 50)  # ~1 row per block
    got = geo.euclidean_exact(Q, X)
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, want, rtol=1e-15)
    assert np.isinf(geo.euclidean_exact(Q, X[:0])).all()


# ------------------------------------------------------------ AUBC and the table
def test_zhan_aubc_excludes_the_initial_point():
    n, acc = np.array([20, 21, 22, 23]), np.array([0.5, 0.6, 0.8, 0.7])
    # post-query points 0.6, 0.8, 0.7: ((0.6 + 0.8) / 2 + (0.8 + 0.7) / 2) / U, U = 3 labels bought
    assert zhan_aubc(n, acc) == pytest.approx(1.45 / 3, abs=1e-15)
    lu = sum((acc[1:][i] + acc[1:][i + 1]) / 2 for i in range(2)) / 3  # Lu et al.'s AUBC(), bsize 1
    assert zhan_aubc(n, acc) == pytest.approx(lu, abs=1e-15)
    assert zhan_aubc(n[:2], acc[:2]) == 0.6 and np.isnan(zhan_aubc(n[:1], acc[:1]))


def _rounds(curves):
    rows = []
    for (dataset, strategy, seed), acc in curves.items():
        for r, a in enumerate(acc):
            rows.append({"run_id": f"{dataset}-{strategy}-{seed}", "dataset": dataset, "method": "svm_rbf",
                         "strategy": strategy, "seed": seed, "round": r, "n_labelled": 20 + r, "accuracy": a,
                         "macro_f1": a, "query_seconds": 0.0, "fit_seconds": 0.0})
    return pd.DataFrame(rows)


def test_paired_gain_and_standard_error_by_hand():
    cs = 'coreset(dtype="float64",ties="first")'
    df = _rounds({("zhan_heart", "random", 0): [0.5, 0.6, 0.6], ("zhan_heart", "random", 1): [0.5, 0.7, 0.7],
                  ("zhan_heart", "us_c", 0): [0.5, 0.7, 0.7], ("zhan_heart", "us_c", 1): [0.5, 0.7, 0.9],
                  ("zhan_heart", cs, 0): [0.5, 0.6, 0.6]})
    runs = run_aubcs(df)
    assert set(runs.strategy) == {"random", "us_c", "coreset"}
    gains = paired_gains(runs).set_index("strategy")
    # per-seed Zhan AUBCs (one trapezoid ÷ U = 2): random 0.3, 0.35; us_c 0.35, 0.4 → differences 0.05, 0.05
    assert gains.loc["us_c", "gain"] == pytest.approx(0.05) and gains.loc["us_c", "gain_se"] == pytest.approx(0)
    assert gains.loc["coreset", "pairs"] == 1 and np.isnan(gains.loc["coreset", "gain_se"])
    table = zhan_table(df).set_index("strategy")
    assert table.loc["us_c", "ours"] == pytest.approx(0.375)
    assert table.loc["us_c", "aubc_altbench"] == pytest.approx(np.mean([0.65, 0.7]))  # initial point included
    assert np.isnan(table.loc["random", "gain"])


def test_binary_reproduction_prints_gains_beside_lu():
    repro = get("zhan2021_binary")
    curves = {("zhan_wdbc", s, seed): [0.9, 0.95 + 0.01 * (s == "us_c") + 0.001 * seed, 0.96]
              for s in ("random", "us_c") for seed in range(3)}
    table = compare(repro, _rounds(curves))
    row = table[(table.dataset == "zhan_wdbc") & (table.strategy == "us_c")].iloc[0]
    assert row.gain == pytest.approx(0.0025) and row.gain_se == pytest.approx(0, abs=1e-12)  # 0.01 / 2 / U
    assert row.lu_gain == 0.0113 and row.lu_sig == "**" and row.reference == 0.9652
    text = render(repro, table, "altbench reproduce zhan2021_binary")
    assert "gain vs random" in text and "Lu gain" in text and "initial point excluded" in text
