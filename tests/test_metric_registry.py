"""One metric registry (issue #15 part 5): a metric registered in this file alone reaches the loop,
the results file, the summaries, the report's tables and the trackers."""

from __future__ import annotations

import json
import textwrap
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import accuracy_score, balanced_accuracy_score, f1_score

from altbench import metric_registry, tracking
from altbench.cli import main
from altbench.config import load_experiment
from altbench.metric_registry import metric
from altbench.metrics import require_round_metric, run_summaries
from altbench.registry import METRICS, REGISTRIES
from altbench.report import ReportOptions, require_higher_is_better, write_report
from altbench.runner import RunSettings, execute_run
from altbench.store import RunStore


@pytest.fixture
def toy():
    """A probability metric registered here only; unregistered afterwards."""

    @metric(label="Mean confidence", needs_proba=True)
    def mean_confidence(pred, y, proba, n_classes):
        """Mean top-class test probability (a toy metric of the tests)."""
        return float(proba.max(1).mean())

    yield METRICS.get("mean_confidence")
    METRICS.pop("mean_confidence")


class CapturedScalars(tracking.TensorBoard):
    """The TensorBoard tracker with its ``SummaryWriter`` replaced by a list of (tag, value, step)."""

    seen: list = []

    def __init__(self, target, cfg, experiment):
        self.writer = SimpleNamespace(add_scalar=lambda *a: CapturedScalars.seen.append(a), close=lambda: None)


@pytest.fixture
def captured():
    CapturedScalars.seen = []
    tracking.TRACKERS.add("captured", CapturedScalars)
    yield CapturedScalars.seen
    tracking.TRACKERS.pop("captured")


def _tiny_grid(tmp_path, trackers=()) -> RunStore:
    """iris × logreg × {random, margin} × 2 seeds, 6 → 12 labels, run in this process."""
    config = tmp_path / "g.yaml"
    config.write_text(textwrap.dedent(f"""
        name: metric_grid
        datasets: [iris]
        methods: [logreg]
        strategies: [random, margin]
        seeds: [0, 1]
        budget: {{initial: 6, query: 3, total: 12}}
        results_dir: {tmp_path / 'out'}
    """))
    exp = load_experiment(config, [])
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "experiment.json").write_text(json.dumps({"name": "metric_grid"}))
    for cfg in exp.runs:
        assert execute_run(cfg, RunSettings(str(tmp_path / "out"), trackers=trackers)) == (cfg.run_id, None)
    return RunStore(tmp_path / "out")


def test_builtins_are_listed_with_labels_and_their_docstrings(capsys):
    assert REGISTRIES["metrics"] is METRICS
    assert [m.name for m in metric_registry.ordered()][:2] == ["accuracy", "macro_f1"]  # the core columns first
    assert {n: METRICS.get(n).label for n in ("accuracy", "macro_f1", "balanced_accuracy")} == \
           {"accuracy": "Accuracy", "macro_f1": "Macro-F1", "balanced_accuracy": "Balanced accuracy"}
    assert main(["list", "metrics"]) == 0
    lines = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()}
    assert {"accuracy", "macro_f1", "balanced_accuracy"} <= set(lines)
    assert "Brodersen" in lines["balanced_accuracy"]  # its own docstring, not the Metric class's


def test_report_metric_choices_come_from_the_registry(toy):
    labels = metric_registry.run_metric_labels()
    assert list(labels)[:4] == ["aubc", "final_accuracy", "aubc_macro_f1", "final_macro_f1"]
    assert labels["aubc_balanced_accuracy"] == "AUBC of balanced accuracy"
    assert labels["aubc_mean_confidence"] == "AUBC of mean confidence"
    assert labels["final_mean_confidence"] == "final mean confidence"


@pytest.mark.filterwarnings("ignore::UserWarning")  # sklearn: classes absent from y
@settings(max_examples=60, deadline=None)
@given(st.integers(1, 6).flatmap(lambda c: st.tuples(
    st.just(c), st.lists(st.tuples(st.integers(0, c - 1), st.integers(0, c - 1)), min_size=1, max_size=40))))
def test_builtins_equal_scikit_learn_bit_for_bit(case):
    n_classes, pairs = case
    pred, y = (np.array(v, dtype=np.int64) for v in zip(*pairs))
    got = metric_registry.evaluate(pred, y, n_classes)
    expected = {"accuracy": accuracy_score(y, pred),
                "macro_f1": f1_score(y, pred, average="macro", labels=np.arange(n_classes), zero_division=0),
                "balanced_accuracy": balanced_accuracy_score(y, pred)}
    assert {k: got[k].hex() for k in expected} == {k: float(v).hex() for k, v in expected.items()}


def test_probability_metrics_are_skipped_for_prediction_only_models(toy):
    pred, y = np.array([0, 1, 1]), np.array([0, 1, 0])
    proba = np.array([[0.9, 0.1], [0.2, 0.8], [0.4, 0.6]])
    assert metric_registry.evaluate(pred, y, 2, lambda: proba)["mean_confidence"] == pytest.approx(0.1 * 23 / 3)
    without = metric_registry.evaluate(pred, y, 2, lambda: None)
    assert "mean_confidence" not in without and without["accuracy"] == pytest.approx(2 / 3)
    asked = []
    METRICS.pop("mean_confidence")
    metric_registry.evaluate(pred, y, 2, lambda: asked.append(1))
    assert asked == []  # no metric needs probabilities: they are not computed
    METRICS.add("mean_confidence", toy)


def test_a_metric_registered_here_reaches_results_summaries_report_and_trackers(tmp_path, toy, captured):
    store = _tiny_grid(tmp_path, trackers=(("captured", "unused"),))
    run_id = store.finished_ids()[0]
    columns = pq.read_table(store.path(run_id, ".parquet")).schema.names
    assert columns[7:10] == ["accuracy", "macro_f1", "queried"]  # the first schema's place, unchanged
    assert columns[-2:] == ["balanced_accuracy", "mean_confidence"]  # later metrics: appended, by name
    df = store.read_results()
    assert ((df.mean_confidence > 0.3) & (df.mean_confidence <= 1)).all()
    tags = {tag for tag, _, _ in captured}
    assert {"accuracy", "macro_f1", "balanced_accuracy", "mean_confidence"} <= tags
    assert sorted({step for tag, _, step in captured if tag == "mean_confidence"}) == [6, 9, 12]

    write_report(store.root, command="altbench report out",
                 options=ReportOptions(targets=("baseline",), metric="aubc_mean_confidence"))
    summ = pd.read_csv(store.root / "summary.csv", comment="#")
    assert {"final_mean_confidence", "aubc_mean_confidence", "aubc_balanced_accuracy"} <= set(summ.columns)
    table = pd.read_csv(store.root / "report" / "tables" / "summary.csv", comment="#")
    assert "final_mean_confidence_mean" in table.columns
    pairwise = (store.root / "report" / "tables" / "pairwise.md").read_text()
    assert "Δ AUBC of mean confidence (pp)" in pairwise


def test_runs_older_than_a_metric_load_and_are_summarised_on_what_they_hold(tmp_path, toy):
    store = RunStore(tmp_path)
    base = {"n_labelled": 10, "accuracy": 0.5, "macro_f1": 0.4, "queried": [], "fit_seconds": 0.0,
            "query_seconds": 0.0}
    for run_id, seed, extra in (("old", 0, {}), ("new", 1, {"mean_confidence": 0.75})):
        recs = [{**base, "round": r, "n_labelled": 10 * (r + 1), **extra} for r in range(2)]
        store.finish(run_id, {"dataset": "d", "method": "m", "strategy": "random", "seed": seed}, recs, {})
    assert pq.read_table(store.path("old", ".parquet")).schema.names[-1] == "queried"
    summ = run_summaries(store.read_results(), targets=("0.5",)).set_index("run_id")
    assert summ.loc["new", "aubc_mean_confidence"] == 0.75 and np.isnan(summ.loc["old", "aubc_mean_confidence"])
    assert "final_balanced_accuracy" not in summ  # no run holds that column
    with pytest.raises(ValueError, match="needs the per-round column 'balanced_accuracy'"):
        require_round_metric(store.read_results(), "aubc_balanced_accuracy")


def test_report_refuses_a_lower_is_better_metric_in_one_line():
    @metric(label="Toy loss", higher_is_better=False)
    def toy_loss(pred, y, proba, n_classes):
        """Error rate (a toy loss of the tests)."""
        return float((pred != y).mean())

    try:
        with pytest.raises(ValueError, match="better when lower") as err:
            require_higher_is_better("aubc_toy_loss")
        assert "\n" not in str(err.value)
        require_higher_is_better("aubc")
    finally:
        METRICS.pop("toy_loss")
