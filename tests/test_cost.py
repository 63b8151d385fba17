"""Annotation cost: cost models, cost curves on a hand-made run, the cost-aware wrapper, balanced accuracy."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from sklearn.metrics import balanced_accuracy_score

from altbench.config import resolve_plugin
from altbench.cost import COST_MODELS, build_cost_model, cost_aubc, cost_curve, replay_initial
from altbench.datasets import Dataset, load_dataset
from altbench.loop import Budget, label_metrics, run_active_learning
from altbench.metrics import normalised_aubc, run_summaries
from altbench.registry import METHODS, STRATEGIES
from altbench.seeds import Streams
from altbench.strict import ConfigError
from altbench.strategies.testing import FakeView
from altbench.strategies.uncertainty import SCORES
from test_nonfinite import label_pairs


def _texts():
    X = np.array(["a", "a b c", "a b", "one two three four five", "x", "p q r s"], dtype=object)
    y = np.array([0, 1, 0, 1, 1, 0])
    return Dataset("toy", "text", X, y, X[:2], y[:2], ("neg", "pos"))


def test_cost_models_by_hand():
    ds = _texts()
    assert build_cost_model("constant").costs(ds.X_train).tolist() == [1.0] * 6
    tl = build_cost_model({"name": "text_length", "a": 2.0, "b": 0.5})
    assert tl.costs(ds.X_train).tolist() == [2.5, 3.5, 3.0, 4.5, 2.5, 4.0]
    cd = build_cost_model({"name": "class_dependent", "costs_by_class": {"pos": 3.0}, "default": 1.0})
    assert cd.costs(ds.X_train, ds.y_train, ds.classes).tolist() == [1, 3, 1, 3, 3, 1]
    assert set(COST_MODELS.names()) == {"constant", "text_length", "class_dependent", "column"}


def test_class_dependent_cost_is_refused_before_labelling():
    with pytest.raises(ValueError, match="known only after labelling"):
        build_cost_model("class_dependent").costs(_texts().X_train)
    with pytest.raises(ConfigError, match="reads true labels"):
        resolve_plugin(STRATEGIES, {"name": "cost_aware", "cost": {"name": "class_dependent"}}, "strategies.0")


def test_cost_model_errors_are_one_line():
    with pytest.raises(ConfigError, match="no parameter 'c'; valid: a, b"):
        build_cost_model({"name": "text_length", "c": 1})
    with pytest.raises(ValueError, match="needs raw texts"):
        build_cost_model("text_length").costs(np.zeros((3, 2)))
    with pytest.raises(ValueError, match="must be > 0"):
        build_cost_model({"name": "constant", "cost": 0.0}).costs(np.zeros(2))


def test_column_cost_reads_an_aligned_file(tmp_path):
    (tmp_path / "train.csv").write_text("text,label,seconds\na,x,2\nb,y,5\nc,x,1\n")
    model = build_cost_model({"name": "column", "path": str(tmp_path / "train.csv"), "column": "seconds"})
    assert model.costs(np.arange(3)).tolist() == [2.0, 5.0, 1.0]
    with pytest.raises(ValueError, match="3 rows but the train pool has 4"):
        model.costs(np.arange(4))


def test_cost_curve_and_aubc_on_a_hand_made_run():
    ds = _texts()
    model = build_cost_model({"name": "text_length", "a": 0.0, "b": 1.0})  # cost = tokens: 1 3 2 5 1 4
    rounds = [{"round": 0, "n_labelled": 2, "accuracy": 0.5, "queried": [3]},
              {"round": 1, "n_labelled": 3, "accuracy": 0.6, "queried": [1, 5]},
              {"round": 2, "n_labelled": 5, "accuracy": 0.9, "queried": []}]
    cost, acc = cost_curve(pd.DataFrame(rounds[::-1]), ds, model, initial=np.array([0, 2]))
    assert cost.tolist() == [3.0, 8.0, 15.0] and acc.tolist() == [0.5, 0.6, 0.9]
    # area: 5·(0.5+0.6)/2 + 7·(0.6+0.9)/2 = 2.75 + 5.25 = 8 over a cost range of 12
    assert cost_aubc(cost, acc) == pytest.approx(8 / 12)
    with pytest.raises(ValueError, match="holds 2 labels"):
        cost_curve(rounds, ds, model, initial=np.array([0]))


def test_cost_curve_of_a_real_run_with_its_replayed_initial_set():
    ds = load_dataset("digits")
    budget = Budget(initial=10, query=10, total=30)
    records = run_active_learning(ds, METHODS.get("logreg")(), STRATEGIES.get("margin"), budget, Streams(3))
    cost, acc = cost_curve(records, ds, build_cost_model({"name": "constant", "cost": 2.0}),
                           initial=replay_initial(ds, budget, 3))
    assert cost.tolist() == [20.0, 40.0, 60.0]
    assert cost_aubc(cost, acc) == pytest.approx(normalised_aubc([10, 20, 30], acc))


def test_cost_aware_prefers_cheap_examples_at_equal_score():
    P = np.array([[0.5, 0.5], [0.5, 0.5], [0.9, 0.1], [0.6, 0.4]])
    X = np.array(["w " * 20, "w", "w", "w w"], dtype=object)
    strategy = STRATEGIES.get("cost_aware")(base="margin", cost={"name": "text_length", "a": 1.0, "b": 1.0})
    bound = strategy.for_pool(X)  # costs 21, 2, 2, 3
    view = FakeView(np.zeros((4, 2)), P=P)
    ratio = SCORES["margin"](P) / np.array([21.0, 2.0, 2.0, 3.0])
    picks = bound(view, np.arange(4), 2, np.random.default_rng(0))
    assert set(picks) == set(np.argsort(-ratio)[:2]) == {1, 3}
    plain = strategy.__class__(base="margin")  # constant cost: the base's picks
    assert set(plain(view, np.arange(4), 2, np.random.default_rng(0))) == {0, 1}


def test_cost_aware_unbound_refuses_a_cost_it_cannot_compute():
    strategy = STRATEGIES.get("cost_aware")(cost={"name": "text_length"})
    with pytest.raises(ValueError, match="needs the pool's features"):
        strategy(FakeView(np.zeros((3, 2)), P=np.full((3, 2), 0.5)), np.arange(3), 1, np.random.default_rng(0))


def test_cost_aware_inside_class_balanced_gets_its_costs_in_the_loop():
    ds = _texts()
    ds = Dataset("toy", "text", np.repeat(ds.X_train, 5), np.tile(ds.y_train, 5), ds.X_test, ds.y_test, ds.classes)
    strategy = STRATEGIES.get("class_balanced")(base="cost_aware",
                                                base_params={"cost": {"name": "text_length"}})
    bound = strategy.for_pool(ds.X_train)
    view = FakeView(np.zeros((30, 2)), P=np.tile([[0.55, 0.45], [0.45, 0.55]], (15, 1)))
    picks = bound(view, np.arange(30), 4, np.random.default_rng(0))
    assert len(set(picks)) == 4 and sorted(np.bincount(view.P[picks].argmax(1), minlength=2)) == [2, 2]


# ---------------------------------------------------------------- balanced accuracy
@settings(max_examples=300, deadline=None)
@given(label_pairs())
def test_balanced_accuracy_equals_sklearn_bit_for_bit(case):
    y, pred, n_classes = case
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sklearn warns about classes predicted but never true
        expected = float(balanced_accuracy_score(y, pred))
    assert label_metrics(pred, y, n_classes)["balanced_accuracy"].hex() == expected.hex()


def test_summaries_show_balanced_accuracy_only_when_present():
    rows = [{"run_id": r, "dataset": "d", "method": "m", "strategy": "s", "seed": i, "round": k,
             "n_labelled": 10 * (k + 1), "accuracy": 0.5, "macro_f1": 0.4, "fit_seconds": 0.0,
             "query_seconds": 0.0} for i, r in enumerate(["a", "b"]) for k in range(2)]
    old = run_summaries(pd.DataFrame(rows))
    assert "aubc_balanced_accuracy" not in old
    new = pd.DataFrame(rows).assign(balanced_accuracy=[0.2, 0.4, np.nan, np.nan])  # run b: an older file
    summ = run_summaries(new).set_index("run_id")
    assert summ.loc["a", "aubc_balanced_accuracy"] == pytest.approx(0.3)
    assert summ.loc["a", "final_balanced_accuracy"] == 0.4
    assert np.isnan(summ.loc["b", "aubc_balanced_accuracy"])


def test_report_metric_needing_a_missing_column_is_refused_in_one_line():
    from altbench.metrics import require_round_metric

    df = pd.DataFrame({"accuracy": [0.5], "macro_f1": [0.4]})
    with pytest.raises(ValueError, match="needs the per-round column 'balanced_accuracy'"):
        require_round_metric(df, "aubc_balanced_accuracy")
    require_round_metric(df.assign(balanced_accuracy=[0.3]), "final_balanced_accuracy")
    require_round_metric(df, "aubc")  # always present
