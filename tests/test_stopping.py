"""Stopping criteria (issue #16 part 1): hand-made signals, the loop's signals, post-hoc tables, old runs."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score, f1_score

from altbench.cli import main
from altbench.datasets import load_dataset
from altbench.loop import Budget, run_active_learning
from altbench.methods.sklearn_models import LogReg
from altbench.registry import STOPPING, STRATEGIES
from altbench.seeds import Streams
from altbench.stop_signals import STOP_SET_SIZE, cohen_kappa, signals_of, stop_set
from altbench.stopping import (ClassificationChange, KappaLag, MaxConfidence, OverallUncertainty, PredictedChangeF,
                               Signals, StabilizingPredictions, evaluate_stopping, f_agreement, stopping_table,
                               write_stopping)
from altbench.store import RunStore

BUILTIN = {"stabilizing_predictions", "kappa_lag", "overall_uncertainty", "max_confidence",
           "classification_change", "predicted_change_f"}


def _preds(settle: int, rounds: int = 8, n: int = 200, seed: int = 0) -> np.ndarray:
    """(rounds, n) predictions that change completely each round until ``settle``, then stay fixed."""
    rng = np.random.default_rng(seed)
    pred = rng.integers(0, 3, size=(rounds, n))
    if settle < rounds:
        pred[settle:] = pred[settle]
    return pred


def _sig(pred=None, max_conf=None, entropy=None, rounds=8) -> Signals:
    pred = _preds(rounds) if pred is None else pred
    nan = np.full(len(pred), np.nan)
    return Signals(pred, nan if max_conf is None else np.asarray(max_conf, float),
                   nan if entropy is None else np.asarray(entropy, float))


def test_stabilizing_predictions_waits_for_a_window_of_agreement():
    s = _sig(_preds(settle=3))  # κ(r−1, r) = 1 from round 4 on
    assert StabilizingPredictions()(s) == 6  # κ at rounds 4, 5, 6 averaged
    assert StabilizingPredictions(window=1)(s) == 4
    assert StabilizingPredictions()(_sig(_preds(settle=8))) is None  # never stable within the budget


def test_kappa_lag_compares_with_the_model_lag_rounds_back():
    s = _sig(_preds(settle=3))
    assert KappaLag(lag=2)(s) == 5
    assert KappaLag(lag=3)(s) == 6


def test_classification_change_stops_at_the_first_round_without_changes():
    pred = _preds(settle=3)
    assert ClassificationChange()(_sig(pred)) == 4
    pred[5, :5] = (pred[5, :5] + 1) % 3  # 2.5% change in round 5 only
    pred[6:] = pred[5]
    assert ClassificationChange()(_sig(pred)) == 4
    nearly = _preds(settle=3)
    nearly[4, :5] = (nearly[4, :5] + 1) % 3
    nearly[5:] = nearly[4]
    assert ClassificationChange()(_sig(nearly)) == 5
    assert ClassificationChange(max_changed=0.05)(_sig(nearly)) == 4


def test_uncertainty_and_confidence_thresholds_skip_unmeasured_rounds():
    ent = [0.9, 0.3, np.nan, 0.04, 0.01]
    conf = [0.6, 0.9, np.nan, 0.97, 0.99]
    s = _sig(_preds(5, rounds=5), max_conf=conf, entropy=ent)
    assert OverallUncertainty()(s) == 3
    assert OverallUncertainty(threshold=0.35)(s) == 1
    assert MaxConfidence()(s) == 3
    assert MaxConfidence(threshold=0.999)(s) is None


def test_predicted_change_of_f_is_one_minus_macro_f_agreement():
    rng = np.random.default_rng(1)
    old, new = rng.integers(0, 4, 300), rng.integers(0, 4, 300)
    assert f_agreement(old, new) == pytest.approx(f1_score(old, new, average="macro"))
    assert PredictedChangeF()(_sig(_preds(settle=3))) == 4
    assert PredictedChangeF(window=2)(_sig(_preds(settle=3))) == 5


def test_cohen_kappa_matches_scikit_learn_and_is_one_for_identical_constants():
    rng = np.random.default_rng(2)
    a = rng.integers(0, 5, 400)
    b = np.where(rng.random(400) < 0.7, a, rng.integers(0, 5, 400))
    assert cohen_kappa(a, b) == pytest.approx(cohen_kappa_score(a, b))
    assert cohen_kappa(np.zeros(10, int), np.zeros(10, int)) == 1.0
    with pytest.raises(ValueError, match="equal-length"):
        cohen_kappa(a, b[:-1])


def test_signals_average_over_the_unlabelled_stop_rows_only():
    p = np.array([[0.5, 0.5], [0.9, 0.1], [0.2, 0.8]])
    sig = signals_of(p, np.array([True, False, True]))
    assert sig["stop_pred"] == [0, -1, 1]  # labelled rows are not predicted
    assert sig["stop_max_conf"] == pytest.approx((0.5 + 0.8) / 2)
    assert sig["stop_entropy"] == pytest.approx((np.log(2) - 0.2 * np.log(0.2) - 0.8 * np.log(0.8)) / 2)
    assert signals_of(p, np.zeros(3, bool))["stop_max_conf"] is None


def test_stop_set_is_seeded_sorted_and_capped():
    a, b = stop_set(10_000, Streams(3).rng("stopset")), stop_set(10_000, Streams(3).rng("stopset"))
    np.testing.assert_array_equal(a, b)
    assert len(a) == STOP_SET_SIZE and np.all(np.diff(a) > 0)
    assert len(stop_set(40, Streams(3).rng("stopset"))) == 40


@pytest.fixture(scope="module")
def real_runs(tmp_path_factory):
    """A results dir with two real wine runs (LogReg, margin and random) that recorded the signals."""
    ds, store = load_dataset("wine"), RunStore(tmp_path_factory.mktemp("stop") / "res")
    for strategy in ("margin", "random"):
        recs = run_active_learning(ds, LogReg(), STRATEGIES.get(strategy), Budget(initial=10, query=6, total=58),
                                   Streams(0))
        store.finish(f"wine-{strategy}", {"dataset": "wine", "method": "logreg", "strategy": strategy, "seed": 0},
                     recs, {"run_id": f"wine-{strategy}"})
    return ds, store


def test_the_loop_records_signals_that_survive_the_results_file(real_runs):
    ds, store = real_runs
    df = store.read_results()
    g = df[df.strategy == "margin"].sort_values("round")
    assert {len(p) for p in g.stop_pred} == {min(STOP_SET_SIZE, len(ds.y_train))}
    assert g.stop_max_conf.between(1 / ds.n_classes, 1).all()
    assert g.stop_entropy.between(0, np.log(ds.n_classes)).all()
    assert g.stop_entropy.iloc[-1] < g.stop_entropy.iloc[0]  # more labels, more confident


def test_post_hoc_table_of_a_real_run_is_consistent(real_runs):
    _, store = real_runs
    df = store.read_results()
    per_run = evaluate_stopping(df)
    assert set(per_run.criterion) == BUILTIN and per_run.recorded.all()
    assert (per_run.labels_saved == per_run.labels_full - per_run.labels_at_stop).all()
    assert np.allclose(per_run.accuracy_lost, per_run.accuracy_full - per_run.accuracy_at_stop)
    assert (per_run.labels_full == 58).all() and (per_run.labels_at_stop <= 58).all()
    unfired = per_run[~per_run.fired]
    assert (unfired.labels_saved == 0).all()
    margin = df[df.strategy == "margin"].sort_values("round")
    row = per_run[(per_run.strategy == "margin") & (per_run.criterion == "stabilizing_predictions")].iloc[0]
    assert row.accuracy_at_stop == margin.accuracy.iloc[int(row.stop_round)]
    table = stopping_table(per_run)
    assert len(table) == 2 * len(BUILTIN) and (table.recorded == 1).all()


def _old_run(store: RunStore, run_id: str, strategy: str) -> None:
    recs = [{"round": r, "n_labelled": 10 + 5 * r, "accuracy": 0.5 + 0.05 * r, "macro_f1": 0.5, "queried": [],
             "fit_seconds": 0.0, "query_seconds": 0.0} for r in range(4)]
    store.finish(run_id, {"dataset": "wine", "method": "logreg", "strategy": strategy, "seed": 1}, recs,
                 {"run_id": run_id})


def test_old_runs_without_signals_load_and_say_not_recorded(real_runs, tmp_path):
    import pyarrow.parquet as pq

    old = RunStore(tmp_path / "old")
    _old_run(old, "old-1", "entropy")  # a cell of its own
    assert "stop_pred" not in pq.read_schema(old.path("old-1", ".parquet")).names  # old files' format unchanged
    assert write_stopping(tmp_path / "t", old.read_results(), "h") == []  # nothing to report
    _, new = real_runs
    for suffix in (".parquet", ".json"):  # one directory with an old and new runs
        for run_id in new.finished_ids():
            old.path(run_id, suffix).write_bytes(new.path(run_id, suffix).read_bytes())
    df = old.read_results()
    per_run = evaluate_stopping(df)
    assert not per_run[per_run.run_id == "old-1"].recorded.any()
    assert per_run[per_run.run_id != "old-1"].recorded.all()
    md, csv, summary = write_stopping(tmp_path / "t", df, "made by a test")
    text = md.read_text()
    assert text.startswith("<!-- made by a test -->") and "not recorded" in text and "## Across settings" in text
    assert summary.name == "stopping_summary.csv" and summary.read_text().startswith("# made by a test")
    assert all(name in text for name in BUILTIN) and csv.read_text().startswith("# made by a test")


def test_report_writes_the_stopping_table_only_when_signals_exist(real_runs, tmp_path):
    from altbench.report import write_report

    _, store = real_runs
    (store.root / "experiment.json").write_text(json.dumps({"name": "stop"}))
    names = {p.name for p in write_report(store.root, command="altbench report res")}
    assert {"stopping.md", "stopping.csv", "stopping_summary.csv"} <= names
    assert "(report/tables/stopping.md)" in (store.root / "report.md").read_text()
    old = RunStore(tmp_path / "old")
    for i, s in enumerate(("margin", "random")):
        _old_run(old, f"old-{i}", s)
    assert not {"stopping.md", "stopping.csv"} & {p.name for p in write_report(old.root)}
    assert "Stopping criteria" not in (old.root / "report.md").read_text()


def test_altbench_list_stopping_names_every_criterion_with_its_paper(capsys):
    assert BUILTIN <= set(STOPPING.names())
    assert main(["list", "stopping"]) == 0
    lines = {ln.split()[0]: ln for ln in capsys.readouterr().out.splitlines()}
    assert BUILTIN <= set(lines)
    for name in BUILTIN:
        assert re.search(r"\b(19|20)\d\d\b", lines[name]), f"{name} cites no paper: {lines[name]}"


def test_the_probe_reuses_the_strategys_predictions_and_gives_the_same_signals():
    """An uncertainty strategy predicts the whole pool: the probe then predicts only the labelled stop rows,
    and its signals equal a direct prediction of the whole stop set."""
    ds = load_dataset("digits")
    calls: list[int] = []

    class Counting(LogReg):
        def fit(self, X, y, **kw):
            model = super().fit(X, y, **kw)
            inner = model.predict_proba

            def predict_proba(Xq):
                calls.append(len(Xq))
                return inner(Xq)

            model.predict_proba = predict_proba
            return model

    budget = Budget(initial=20, query=10, total=40)
    recs = run_active_learning(ds, Counting(), STRATEGIES.get("margin"), budget, Streams(3))
    plain = run_active_learning(ds, LogReg(), STRATEGIES.get("margin"), budget, Streams(3))
    for a, b in zip(recs, plain):
        assert a["stop_pred"] == b["stop_pred"] and a["queried"] == b["queried"]
        assert a["stop_max_conf"] == pytest.approx(b["stop_max_conf"], rel=1e-12)
    n_stop, n_test, n_pool = len(recs[0]["stop_pred"]), len(ds.y_test), len(ds.y_train)
    probe_calls = [c for c in calls if c != n_test and c < n_pool - 40]  # not the test set, not the pool
    unlabelled_last = sum(p >= 0 for p in recs[-1]["stop_pred"])
    assert probe_calls == [unlabelled_last]  # only the last round (no strategy) predicts the stop set itself
    assert unlabelled_last < n_stop and -1 in recs[0]["stop_pred"]
