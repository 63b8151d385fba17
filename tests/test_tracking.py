"""Experiment tracking: ``altbench run --mlflow URI`` (a local file store) and the tracker interface."""

from __future__ import annotations

import json
import textwrap

import pytest

from altbench import tracking
from altbench.cli import main
from altbench.config import load_experiment


def _config(tmp_path, total: int = 12):
    p = tmp_path / "g.yaml"
    p.write_text(textwrap.dedent(f"""
        name: tracked_grid
        datasets: [iris]
        methods: [logreg]
        strategies: [margin]
        seeds: [0, 1]
        budget: {{initial: 6, query: 3, total: {total}}}
        results_dir: {tmp_path / 'out'}
        n_jobs: 1
    """))
    return p


def _client(tmp_path, monkeypatch):
    mlflow = pytest.importorskip("mlflow", reason="optional extra altbench[mlflow]")
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # MLflow >= 3.7 refuses a file store without it
    uri = (tmp_path / "mlruns").as_uri()
    return uri, mlflow.MlflowClient(tracking_uri=uri)


def test_mlflow_run_holds_run_id_config_and_per_round_metrics(tmp_path, monkeypatch):
    uri, client = _client(tmp_path, monkeypatch)
    config = _config(tmp_path)
    assert main(["run", str(config), "--mlflow", uri, "--no-progress", "--no-report"]) == 0

    exp = load_experiment(config, [])
    mlflow_exp = client.get_experiment_by_name("tracked_grid")
    assert mlflow_exp is not None
    runs = {r.data.tags["altbench.run_id"]: r for r in client.search_runs([mlflow_exp.experiment_id])}
    assert set(runs) == {cfg.run_id for cfg in exp.runs}
    for cfg in exp.runs:
        run = runs[cfg.run_id]
        assert run.info.status == "FINISHED" and run.info.run_name == cfg.run_id
        assert run.data.tags["altbench.seed"] == str(cfg.seed)
        assert run.data.tags["altbench.method"] == cfg.method.key()
        params = run.data.params
        assert params["budget.total"] == "12" and params["seed"] == str(cfg.seed)
        assert params["dataset.name"] == "iris" and params["strategy.name"] == "margin"
        stored = json.loads((tmp_path / "out" / "runs" / f"{cfg.run_id}.json").read_text())
        history = client.get_metric_history(run.info.run_id, "accuracy")
        assert [m.step for m in history] == [6, 9, 12]  # one point per round, step = labelled-set size
        results = sorted(stored_rounds(tmp_path, cfg.run_id), key=lambda r: r[0])
        assert [m.value for m in sorted(history, key=lambda m: m.step)] == pytest.approx([a for _, a in results])
        assert {"macro_f1", "fit_seconds"} <= set(run.data.metrics)
        assert stored["config"] == json.loads(_artifact(client, run.info.run_id, "config.json", tmp_path))


def stored_rounds(tmp_path, run_id: str) -> list[tuple[int, float]]:
    """(labelled-set size, accuracy) per round, from the run's results file."""
    import pandas as pd

    df = pd.read_parquet(tmp_path / "out" / "runs" / f"{run_id}.parquet")
    return list(zip(df.n_labelled.tolist(), df.accuracy.tolist()))


def _artifact(client, run_id: str, path: str, tmp_path) -> str:
    local = client.download_artifacts(run_id, path, str(tmp_path))
    with open(local) as f:
        return f.read()


def test_failed_run_is_marked_failed_in_mlflow(tmp_path, monkeypatch):
    uri, client = _client(tmp_path, monkeypatch)
    config = _config(tmp_path, total=400)  # more labels than iris has: every run fails
    assert main(["run", str(config), "--mlflow", uri, "--no-progress", "--no-report"]) == 1
    runs = client.search_runs([client.get_experiment_by_name("tracked_grid").experiment_id])
    assert len(runs) == 2 and {r.info.status for r in runs} == {"FAILED"}


def test_missing_tracker_library_is_a_one_line_error_before_any_run(tmp_path, monkeypatch, capsys):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "mlflow" else real(name, *a))
    code = main(["run", str(_config(tmp_path)), "--mlflow", "file:///nowhere", "--no-progress", "--no-report"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and err[-1].startswith("altbench: error: --mlflow needs the mlflow package")
    assert "pip install 'altbench[mlflow]'" in err[-1]
    assert not (tmp_path / "out" / "runs").exists() or not any((tmp_path / "out" / "runs").glob("*.json"))


def test_round_metrics_keep_finite_numbers_only():
    rec = {"round": 2, "n_labelled": 12, "accuracy": 0.5, "macro_f1": 0.25, "queried": [1, 2],
           "train_loss": None, "fit_seconds": float("nan"), "query_seconds": 0.01}
    assert tracking.round_metrics(rec) == {"accuracy": 0.5, "macro_f1": 0.25, "query_seconds": 0.01}


def test_flat_params_name_nested_keys_with_dots():
    cfg = {"method": {"name": "mlp", "params": {"hidden": [256], "train": {"epochs": 5}}}, "seed": 3}
    assert tracking.flat_params(cfg) == {"method.name": "mlp", "method.params.hidden": "[256]",
                                         "method.params.train.epochs": "5", "seed": "3"}


def test_trackers_are_one_registry():
    assert {"tensorboard", "mlflow"} <= set(tracking.TRACKERS.names())
