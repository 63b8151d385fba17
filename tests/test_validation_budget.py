"""budget.validation: validation labels drawn seeded, charged, never queried or trained on;
per-round grid tuning on them (altbench.validation, altbench.methods.tuning)."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest

from altbench.config import QUICKSTART, ConfigError, build_plugin, load_experiment
from altbench.datasets import Dataset
from altbench.loop import Budget, BudgetError, run_active_learning
from altbench.methods.sklearn_models import LogReg
from altbench.methods.tuning import Tuned, build_tuned, grid_points, validation_accuracy
from altbench.registry import METHODS, STRATEGIES
from altbench.seeds import Streams
from altbench.store import RunStore
from altbench.validation import training_sizes
from conftest import load_script, make_blobs

ROOT = Path(__file__).resolve().parents[1]


def indexed_blobs(n_train: int = 160, n_test: int = 60) -> Dataset:
    """Blobs whose column 0 is the train row's index (−1 on test rows), so a fit reveals its rows."""
    X, y = make_blobs(n=n_train + n_test, d=4, n_classes=3, seed=3)
    idx = np.concatenate([np.arange(n_train), -np.ones(n_test)]).astype(np.float32)[:, None]
    X = np.hstack([idx, X])
    return Dataset("blobs", "tabular", X[:n_train], y[:n_train], X[n_train:], y[n_train:], ("a", "b", "c"))


class DropIndex:
    """A fitted LogReg model that ignores column 0 (the row index)."""

    def __init__(self, inner):
        self.inner, self.n_classes = inner, inner.n_classes

    def predict_proba(self, X):
        return self.inner.predict_proba(X[:, 1:])


@dataclass(frozen=True)
class Spy:
    """LogReg on columns 1.. that records (training rows, validation rows, validation labels) per fit."""

    uses_validation: ClassVar[bool] = True
    fits: list = field(default_factory=list, compare=False)

    def fit(self, X, y, *, n_classes, rng_init, rng_order, validation=(np.zeros((0, 1)), np.zeros(0))):
        X_val, y_val = validation
        self.fits.append((X[:, 0].astype(int), X_val[:, 0].astype(int), np.asarray(y_val)))
        return DropIndex(LogReg().fit(X[:, 1:], y, n_classes=n_classes, rng_init=rng_init, rng_order=rng_order))


class Blind(Spy):
    """A Spy that asks for no validation labels."""

    uses_validation = False


def spy_strategy(seen: list):
    def spy(view, pool, budget, rng):
        seen.append((np.asarray(pool).copy(), np.asarray(view.labelled).copy()))
        return STRATEGIES.get("margin")(view, pool, budget, rng)
    return spy


BUDGET = Budget(initial=10, query=10, total=60, validation=12)


def _spy_run(seed: int = 0, budget: Budget = BUDGET):
    ds, method, seen = indexed_blobs(), Spy(), []
    recs = run_active_learning(ds, method, spy_strategy(seen), budget, Streams(seed))
    return ds, method, seen, recs


def test_validation_rows_are_charged_never_queried_never_trained_on():
    ds, method, seen, recs = _spy_run()
    val = method.fits[0][1]
    assert len(val) == 12 and len(np.unique(val)) == 12
    assert all(np.array_equal(f[1], val) for f in method.fits), "the validation set changed between rounds"
    np.testing.assert_array_equal(method.fits[0][2], ds.y_train[val])  # their true labels
    for train_rows, _, _ in method.fits:
        assert not np.isin(train_rows, val).any(), "a validation row was trained on"
    for pool, labelled in seen:
        assert not np.isin(pool, val).any() and not np.isin(labelled, val).any(), "strategy saw a validation row"
    queried = np.concatenate([r["queried"] for r in recs]).astype(int)
    assert not np.isin(queried, val).any()
    assert [r["n_labelled"] for r in recs] == [22, 32, 42, 52, 60]  # training + validation labels
    assert [len(f[0]) for f in method.fits] == [10, 20, 30, 40, 48]  # the last model: total − validation
    assert all(r["n_validation"] == 12 and "chosen" not in r for r in recs)


def test_validation_rows_are_seeded_and_leave_the_other_streams_alone():
    a, b, other = (_spy_run(seed)[1].fits for seed in (0, 0, 1))
    np.testing.assert_array_equal(a[0][1], b[0][1])
    assert not np.array_equal(a[0][1], other[0][1])
    untuned = Blind()
    run_active_learning(indexed_blobs(), untuned, STRATEGIES.get("margin"), Budget(initial=10, query=10, total=30),
                        Streams(0))
    np.testing.assert_array_equal(untuned.fits[0][0], a[0][0])  # same initial set as the untuned run
    assert len(untuned.fits[0][1]) == 0  # a method that does not ask gets no validation labels


def test_budget_sizes_hold_with_validation():
    assert training_sizes(Budget(total=200, validation=20), 20) == list(range(20, 180, 10)) + [180]
    assert training_sizes(Budget(schedule=(50, 100, 200), validation=20), 20) == [20, 30, 80, 180]
    assert training_sizes(Budget(total=200), 20) == Budget(total=200).sizes(20)
    with pytest.raises(BudgetError, match="budget.validation=195"):
        training_sizes(Budget(total=200, validation=195), 20)


def test_checkpoint_resume_with_validation_gives_the_same_run():
    ds = indexed_blobs()
    full = run_active_learning(ds, Spy(), STRATEGIES.get("margin"), BUDGET, Streams(4))
    resumed = run_active_learning(ds, Spy(), STRATEGIES.get("margin"), BUDGET, Streams(4), resume=full[:2])
    strip = ("fit_seconds", "query_seconds")
    assert [{k: v for k, v in r.items() if k not in strip} for r in resumed] == \
        [{k: v for k, v in r.items() if k not in strip} for r in full]


# ---------------------------------------------------------------- the grid
@pytest.fixture(scope="module")
def digits_split():
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float64)
    rng = np.random.default_rng(0)
    rows = rng.permutation(len(y))
    return X[rows[:60]], y[rows[:60]], X[rows[60:100]], y[rows[60:100]]


def test_grid_choice_is_the_candidate_with_the_best_validation_accuracy(digits_split):
    X, y, X_val, y_val = digits_split
    grid = {"C": [0.001, 0.01, 1.0, 100.0]}
    tuned = build_tuned(LogReg, {"C": 1.0, "max_iter": 1000, "tune": grid})
    rng_init, rng_order = np.random.default_rng(5), np.random.default_rng(6)
    scores, models = [], []
    for c in grid["C"]:
        m = LogReg(C=c).fit(X, y, n_classes=10, rng_init=copy.deepcopy(rng_init), rng_order=copy.deepcopy(rng_order))
        models.append(m)
        scores.append(validation_accuracy(m, X_val, y_val, 10))
    assert len(set(scores)) > 1, "the grid must matter on this data for the test to mean anything"
    best = int(np.argmax(scores))  # first of the ties
    model = tuned.fit(X, y, n_classes=10, rng_init=rng_init, rng_order=rng_order, validation=(X_val, y_val))
    assert model.chosen_ == {"C": grid["C"][best]} and model.validation_accuracy_ == scores[best]
    np.testing.assert_array_equal(model.predict_proba(X_val), models[best].predict_proba(X_val))


def test_one_point_grid_reproduces_the_untuned_model(digits_split):
    X, y, X_val, y_val = digits_split
    tuned = build_tuned(LogReg, {"C": 1.0, "max_iter": 1000, "tune": {"C": [0.5]}})
    kw = dict(n_classes=10, rng_init=np.random.default_rng(1), rng_order=np.random.default_rng(2))
    got = tuned.fit(X, y, validation=(X_val, y_val), **copy.deepcopy(kw))
    want = LogReg(C=0.5).fit(X, y, **kw)
    np.testing.assert_array_equal(got.predict_proba(X_val), want.predict_proba(X_val))
    with pytest.raises(ValueError, match="budget.validation"):
        tuned.fit(X, y, **kw)


@dataclass(frozen=True)
class Recorder:
    """A candidate that records the validation rows its fit got."""

    uses_validation: bool
    got: list = field(default_factory=list, compare=False)

    def fit(self, X, y, *, n_classes, rng_init, rng_order, validation=None):
        self.got.append(validation)
        return LogReg(C=1.0).fit(X, y, n_classes=n_classes, rng_init=rng_init, rng_order=rng_order)


def test_candidates_that_stop_on_val_loss_get_the_validation_rows(digits_split):
    X, y, X_val, y_val = digits_split
    reads, ignores = Recorder(True), Recorder(False)
    tuned = Tuned(reads, (reads, ignores), ({"p": 0}, {"p": 1}))
    tuned.fit(X, y, n_classes=10, rng_init=np.random.default_rng(1), rng_order=np.random.default_rng(2),
              validation=(X_val, y_val))
    assert reads.got[0][0] is X_val and reads.got[0][1] is y_val and ignores.got == [None]


def test_val_loss_on_a_tuned_method_is_checked_against_the_method_as_written():
    stop = "{monitor: val_loss}"
    ok = load_experiment(QUICKSTART, ["budget.validation=10", "datasets=[trec6]",
                                      f"methods=[{{name: finetune, train: {{early_stop: {stop}}}, "
                                      "tune: {head_lr: [0.001, 0.005]}}]"])
    assert build_plugin(METHODS, ok.runs[0].method).candidates[0].uses_validation
    with pytest.raises(ConfigError, match="'mlp' does not pass validation rows"):
        load_experiment(QUICKSTART, ["budget.validation=10", f"methods=[{{name: mlp, train: {{early_stop: {stop}}}, "
                                     "tune: {train.lr: [0.01, 0.1]}}]"])


def test_grid_points_product_and_dotted_keys():
    assert grid_points({"b": [1, 2], "a": ["x"]}) == [{"a": "x", "b": 1}, {"a": "x", "b": 2}]
    exp = load_experiment(QUICKSTART, ["budget.validation=10", "methods=[{name: mlp, tune: {train.lr: [0.01, 0.1]}}]"])
    tuned = build_plugin(METHODS, exp.runs[0].method)
    assert isinstance(tuned, Tuned) and [c.train.lr for c in tuned.candidates] == [0.01, 0.1]
    assert tuned.train.lr == tuned.base.train.lr  # settings read off the method as written


def test_tuned_run_records_chosen_and_store_writes_the_columns(tmp_path):
    exp = load_experiment(QUICKSTART, ["budget.validation=12", "budget.total=52",
                                       "methods=[{name: logreg, tune: {C: [0.1, 10]}}]"])
    cfg = exp.runs[0]
    ds = indexed_blobs()
    ds = Dataset("blobs", "tabular", ds.X_train[:, 1:], ds.y_train, ds.X_test[:, 1:], ds.y_test, ds.classes)
    recs = run_active_learning(ds, build_plugin(METHODS, cfg.method), STRATEGIES.get("margin"), cfg.budget,
                               Streams(0))
    assert [r["n_labelled"] for r in recs] == [32, 42, 52]
    assert all(json.loads(r["chosen"])["C"] in (0.1, 10.0) for r in recs)
    store = RunStore(tmp_path)
    store.finish("abc", {"dataset": "blobs", "method": cfg.method.key(), "strategy": "margin", "seed": 0}, recs,
                 {"config": {}})
    df = store.read_results()
    assert list(df["n_validation"]) == [12] * 3 and list(df["chosen"]) == [r["chosen"] for r in recs]


# ---------------------------------------------------------------- config: ids and refusals
def test_run_ids_unchanged_for_validation_zero():
    base = load_experiment(QUICKSTART)
    zero = load_experiment(QUICKSTART, ["budget.validation=0"])
    assert [r.run_id for r in base.runs] == [r.run_id for r in zero.runs]
    committed = {p.stem for p in (ROOT / "results" / "quickstart" / "runs").glob("*.parquet")}
    assert {r.run_id for r in base.runs} <= committed
    charged = load_experiment(QUICKSTART, ["budget.validation=20"])
    assert not {r.run_id for r in charged.runs} & committed


def test_tune_is_in_the_label_and_run_id():
    plain = load_experiment(QUICKSTART, ["budget.validation=20", "methods=[logreg]"]).runs[0]
    tuned = load_experiment(QUICKSTART, ["budget.validation=20", "methods=[{name: logreg, tune: {C: [0.1, 1]}}]"])
    spec = tuned.runs[0].method
    assert spec.key() == 'logreg(tune={"C":[0.1,1.0]})' and spec.params["tune"] == {"C": [0.1, 1.0]}
    assert tuned.runs[0].run_id != plain.run_id


@pytest.mark.parametrize("override, message", [
    ("methods=[{name: logreg, tune: {gamma: [1, 2]}}]", "'gamma' is not a setting of method logreg; tune one of: C"),
    ("methods=[{name: logreg, tune: {C: []}}]", "non-empty lists"),
    ("methods=[{name: logreg, tune: [0.1, 1]}]", "non-empty lists"),
    ("methods=[{name: logreg, tune: {C: [abc]}}]", "methods.0.tune"),
    ("methods=[{name: svm_rbf, tune: {probability: [platt, sigmoid]}}]", "methods.0.tune"),
])
def test_bad_grids_are_refused_in_one_line(override, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace("[", r"\[")) as err:
        load_experiment(QUICKSTART, ["budget.validation=20", override])
    assert "\n" not in str(err.value) and "pydantic" not in str(err.value)


def test_tune_without_validation_and_oversized_validation_are_refused():
    with pytest.raises(ConfigError, match="set budget.validation"):
        load_experiment(QUICKSTART, ["methods=[{name: logreg, tune: {C: [0.1, 1]}}]"])
    with pytest.raises(ConfigError, match="budget.validation=190 leaves 10 training labels"):
        load_experiment(QUICKSTART, ["budget.validation=190"])
    with pytest.raises(ConfigError, match="budget.validation"):
        load_experiment(QUICKSTART, ["budget.validation=-1"])


def test_ablation_script_pairs_arms_on_the_common_label_range():
    import pandas as pd

    script = load_script("validation_ablation")
    rows = []
    for seed in (0, 1):
        for n, acc in ((20, 0.1), (40, 0.5), (60, 0.7)):  # untuned: its first point lies outside the common range
            rows.append(dict(dataset="d", method="logreg", strategy="margin", seed=seed, n_labelled=n, accuracy=acc,
                             fit_seconds=1.0, n_validation=np.nan, chosen=None))
        for n, acc in ((40, 0.4), (60, 0.8)):
            rows.append(dict(dataset="d", method='logreg(tune={"C":[1.0]})', strategy="margin", seed=seed,
                             n_labelled=n, accuracy=acc, fit_seconds=3.0, n_validation=20, chosen='{"C":1.0}'))
    df = script.arms(pd.DataFrame(rows))
    runs = script.per_run(df)
    untuned = runs[runs.arm == "untuned"].iloc[0]
    assert untuned.aubc == pytest.approx(0.6) and untuned.final == 0.7  # area over 40..60 only
    out = script.paired(runs).iloc[0]
    assert out["Δ AUBC"] == pytest.approx(0.0) and out["Δ final"] == pytest.approx(0.1) and out["seeds"] == 2
    assert script.chosen_counts(df)["rounds"].tolist() == [4]


def test_ablation_script_file_names_the_command_that_wrote_it(tmp_path, capsys):
    script = load_script("validation_ablation")
    out = tmp_path / "paired.md"
    assert script.main(["results/validation_ablation", "--out", str(out)]) == 0
    first, rest = out.read_text().split("\n", 1)
    assert first == f"<!-- generated by `python scripts/validation_ablation.py results/validation_ablation --out {out}`; do not edit -->"
    assert rest == capsys.readouterr().out and "Tuned − untuned" in rest
