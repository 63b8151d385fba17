"""Class imbalance: long-tailed dataset variants, balanced accuracy, the class-balanced query wrapper."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from altbench.config import RunConfig, resolve_plugin
from altbench.datasets import load_dataset
from altbench.datasets.imbalance import class_sizes
from altbench.datasets.user import dataset_specs
from altbench.loop import Budget, run_active_learning
from altbench.registry import METHODS, STRATEGIES
from altbench.seeds import Streams
from altbench.strategies.class_balanced import balanced_query, class_quotas
from altbench.strategies.testing import FakeView
from altbench.strategies.uncertainty import SCORES


# ---------------------------------------------------------------- the long-tailed pool
@pytest.mark.parametrize("ratio", [1, 2, 5, 10, 50])
def test_class_sizes_decay_geometrically_at_the_exact_ratio(ratio):
    available = np.array([300, 500, 450, 400, 350, 320])
    sizes = class_sizes(available, ratio)
    assert sizes.max() / sizes.min() == ratio
    assert (sizes <= available).all()
    ranked = sizes[np.argsort(-available, kind="stable")]  # largest base class is the head
    assert (np.diff(ranked) <= 0).all()
    expected = ranked[0] * float(ratio) ** (-np.arange(6) / 5)
    assert np.abs(ranked - expected).max() <= 0.5 + 1e-9  # rounded geometric decay


def test_class_sizes_refuse_a_ratio_that_empties_the_tail():
    with pytest.raises(ValueError, match="lower the ratio"):
        class_sizes(np.array([10, 10, 10]), 100)


@pytest.fixture(scope="module")
def digits_pair():
    base = load_dataset("digits")
    return base, load_dataset("imbalanced", base="digits", ratio=10)


def test_imbalanced_pool_ratio_subset_and_untouched_test_set(digits_pair):
    base, imb = digits_pair
    counts = np.bincount(imb.y_train, minlength=imb.n_classes)
    assert counts.max() / counts.min() == 10
    assert counts.tolist() == imb.info["imbalance"]["train_sizes"]
    rows = np.asarray(imb.info["train_rows"])
    np.testing.assert_array_equal(imb.X_train, base.X_train[rows])  # a subsample, order kept
    np.testing.assert_array_equal(imb.y_train, base.y_train[rows])
    assert (np.diff(rows) > 0).all()
    np.testing.assert_array_equal(imb.X_test, base.X_test)  # the test set is the base's
    np.testing.assert_array_equal(imb.y_test, base.y_test)
    assert imb.classes == base.classes
    assert imb.name == "digits_imb10" and imb.fingerprint() != base.fingerprint()


def test_imbalanced_pool_is_fixed_by_its_split_seed_not_the_run(digits_pair):
    _, imb = digits_pair
    again = load_dataset("imbalanced", base="digits", ratio=10, rng=np.random.default_rng(99))
    np.testing.assert_array_equal(again.info["train_rows"], imb.info["train_rows"])
    other = load_dataset("imbalanced", base="digits", ratio=10, split_seed=1)
    assert other.info["train_rows"] != imb.info["train_rows"]
    assert np.bincount(other.y_train).tolist() == np.bincount(imb.y_train).tolist()  # same sizes, other rows


def test_imbalanced_runs_get_their_own_label_and_run_ids():
    imb, base = dataset_specs([{"name": "imbalanced", "base": "digits", "ratio": 10}, "digits"], "x.yaml")
    assert imb.key() == "digits_imb10"
    method, strategy = resolve_plugin(METHODS, "logreg", "m"), resolve_plugin(STRATEGIES, "random", "s")
    ids = {RunConfig(d, method, strategy, 0, Budget()).run_id for d in (imb, base)}
    assert len(ids) == 2


# ---------------------------------------------------------------- the class-balanced wrapper
@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 40), min_size=1, max_size=8), st.integers(0, 2**32 - 1), st.data())
def test_quotas_are_as_even_as_the_class_sizes_allow(sizes, seed, data):
    sizes = np.array(sizes)
    k = data.draw(st.integers(0, int(sizes.sum())))
    q = class_quotas(sizes, k, np.random.default_rng(seed))
    assert q.sum() == k and (q <= sizes).all() and (q >= 0).all()
    short = q < sizes  # classes that could take more hold at least as many as any other minus one
    if short.any():
        assert q.max() <= q[short].min() + 1


class LabelGuard:
    """A view that forwards predictions and raises on any attempt to read labels."""

    def __init__(self, view):
        self._view = view

    def __getattr__(self, name):
        if name.startswith("y") or "label" in name and name != "labelled":
            raise AssertionError(f"the wrapper read {name}")
        return getattr(self._view, name)


def _skewed_view(rng):
    """300 pool rows predicted 200 / 90 / 10 over 3 classes, random confidences."""
    pred = np.repeat([0, 1, 2], [200, 90, 10])
    P = rng.dirichlet(np.ones(3), size=300) * 0.5
    P[np.arange(300), pred] += 0.5  # argmax = pred
    return FakeView(np.zeros((300, 2)), P=P), pred


def test_picks_split_evenly_over_predicted_classes_never_reading_labels():
    view, pred = _skewed_view(np.random.default_rng(0))
    strategy = STRATEGIES.get("class_balanced")(base="margin")
    picks = strategy(LabelGuard(view), np.arange(300), 30, np.random.default_rng(1))
    assert np.bincount(pred[picks], minlength=3).tolist() == [10, 10, 10]
    picks = strategy(LabelGuard(view), np.arange(300), 40, np.random.default_rng(1))
    counts = sorted(np.bincount(pred[picks], minlength=3).tolist())
    assert counts == [10, 15, 15]  # class 2 has 10 members; the rest is split evenly


def test_each_class_gets_the_base_strategys_best():
    view, pred = _skewed_view(np.random.default_rng(2))
    picks = balanced_query(STRATEGIES.get("margin"), view, np.arange(300), 9, np.random.default_rng(3))
    score = SCORES["margin"](view.P)
    for c in range(3):
        members = np.flatnonzero(pred == c)
        best = members[np.argsort(-score[members])[:3]]
        assert set(picks[pred[picks] == c]) == set(best)


def test_picks_are_seeded_and_count_exactly():
    view, _ = _skewed_view(np.random.default_rng(4))
    strategy = STRATEGIES.get("class_balanced")(base="random")
    a = strategy(view, np.arange(300), 17, np.random.default_rng(5))
    b = strategy(view, np.arange(300), 17, np.random.default_rng(5))
    np.testing.assert_array_equal(a, b)
    assert len(np.unique(a)) == 17


def test_class_balanced_runs_in_the_loop_on_an_imbalanced_pool(digits_pair):
    _, imb = digits_pair
    strategy = STRATEGIES.get("class_balanced")(base="margin")
    records = run_active_learning(imb, METHODS.get("logreg")(), strategy, Budget(initial=20, query=20, total=60),
                                  Streams(0), names=("logreg", "class_balanced"))
    assert [r["n_labelled"] for r in records] == [20, 40, 60]
    for r in records:
        assert 0 <= r["balanced_accuracy"] <= 1
    assert len(set(records[0]["queried"]) | set(records[1]["queried"])) == 40


def test_results_gain_a_balanced_accuracy_column_and_older_files_still_load(tmp_path):
    from altbench.store import RunStore

    store = RunStore(tmp_path)
    base = {"n_labelled": 10, "accuracy": 0.5, "macro_f1": 0.4, "queried": [], "fit_seconds": 0.0,
            "query_seconds": 0.0}
    for run_id, seed, extra in (("old", 0, {}), ("new", 1, {"balanced_accuracy": 0.25})):
        records = [{"round": 0, **base, **extra}]
        store.finish(run_id, {"dataset": "d", "method": "m", "strategy": "s", "seed": seed}, records, {})
    df = store.read_results().set_index("run_id")
    assert df.loc["new", "balanced_accuracy"] == 0.25
    assert np.isnan(df.loc["old", "balanced_accuracy"])
