"""The report's cost pieces: accuracy-vs-cost curves and AUBC over cost, only for runs that carry costs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from altbench.cost import cost_aubc
from altbench.cost_report import cost_bands, run_curve
from altbench.report import write_report
from altbench.store import RunStore

COST_FILES = ("report/figures/curves_cost.png", "report/figures/curves_cost.pdf", "report/tables/cost.md",
              "report/tables/cost.tex", "report/tables/cost.csv", "report/tables/curves_cost.csv")


def _records(strategy: str, seed: int, costed: bool) -> list[dict]:
    """Six rounds of a synthetic run; margin learns faster and buys cheaper labels; seed 1 of random
    has a round that bought nothing (its cost repeats)."""
    rng = np.random.default_rng([seed, len(strategy)])
    per_label = 2.0 if strategy == "margin" else 3.0
    out, cost = [], 30.0 + seed
    for r in range(6):
        n = 10 + 5 * r - (5 if strategy == "random" and seed == 1 and r >= 3 else 0)
        acc = 0.9 - 0.5 * np.exp(-n / (15.0 if strategy == "margin" else 30.0)) + rng.normal(0, 0.01)
        rec = {"round": r, "n_labelled": n, "accuracy": float(acc), "macro_f1": float(acc - 0.02), "queried": [],
               "fit_seconds": 0.01, "query_seconds": 0.001}
        if costed:
            rec["cost"] = cost + per_label * (n - 10)
        out.append(rec)
    return out


def make_results(root: Path, costed: bool) -> Path:
    store = RunStore(root)
    store.runs.mkdir(parents=True, exist_ok=True)
    (root / "experiment.json").write_text(json.dumps({"name": root.name}))
    for strategy in ("random", "margin"):
        for seed in range(3):
            run_id = f"{strategy}-{seed}"
            store.finish(run_id, {"dataset": "toy", "method": "logreg", "strategy": strategy, "seed": seed},
                         _records(strategy, seed, costed), {"run_id": run_id})
    return root


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    """{costed: (root, relative paths written)} after one report of each kind."""
    out = {}
    for costed in (True, False):
        root = make_results(tmp_path_factory.mktemp("results") / ("priced" if costed else "plain"), costed)
        paths = write_report(root, command=f"altbench report {root.name}")
        out[costed] = root, {p.relative_to(root).as_posix() for p in paths}
    return out


def test_report_draws_cost_curves_and_aubc_over_cost_when_runs_carry_costs(reports):
    root, names = reports[True]
    assert set(COST_FILES) <= names
    assert (root / "report/figures/curves_cost.png").read_bytes()[:4] == b"\x89PNG"
    summary = pd.read_csv(root / "summary.csv", comment="#").set_index("run_id")
    rounds = pd.read_parquet(root / "runs/margin-0.parquet")
    assert rounds["cost"].tolist() == [r["cost"] for r in _records("margin", 0, True)]
    assert summary.loc["margin-0", "aubc_cost"] == pytest.approx(cost_aubc(rounds["cost"], rounds["accuracy"]))
    assert summary.loc["margin-0", "final_cost"] == rounds["cost"].iloc[-1] == 30.0 + 2.0 * 25
    table = pd.read_csv(root / "report/tables/cost.csv", comment="#").set_index("strategy")
    assert table.loc["margin", "aubc_cost_mean"] == pytest.approx(
        summary[summary.strategy == "margin"]["aubc_cost"].mean())
    report_md = (root / "report.md").read_text()
    assert "report/figures/curves_cost.png" in report_md and "AUBC over cost" in report_md


def test_report_without_costs_writes_no_cost_pieces(reports):
    root, names = reports[False]
    assert not set(COST_FILES) & names
    assert "aubc_cost" not in pd.read_csv(root / "summary.csv", comment="#")
    assert "cost" not in (root / "report.md").read_text().lower()


def test_cost_curves_average_seeds_at_common_costs():
    rows = [{"dataset": "d", "method": "m", "strategy": "s", "run_id": run, "round": r, "cost": c, "accuracy": a}
            for run, costs, accs in (("a", [10, 20, 30], [0.5, 0.6, 0.7]), ("b", [12, 22, 40], [0.4, 0.6, 0.8]))
            for r, (c, a) in enumerate(zip(costs, accs))]
    bands = cost_bands(pd.DataFrame(rows), points=3)
    assert bands.cost.tolist() == [12.0, 21.0, 30.0]  # the range both runs cover
    expected = [(0.52 + 0.4) / 2, (0.61 + 0.58) / 2, (0.7 + 0.6 + 0.2 * 8 / 18) / 2]
    assert bands["mean"].to_numpy() == pytest.approx(expected) and bands.seeds.tolist() == [2, 2, 2]


def test_a_round_that_bought_nothing_counts_once_on_the_cost_axis():
    g = pd.DataFrame({"round": [3, 0, 1, 2], "cost": [30.0, 10.0, 20.0, 20.0], "accuracy": [0.7, 0.5, 0.6, 0.65]})
    cost, acc = run_curve(g)
    assert cost.tolist() == [10.0, 20.0, 30.0] and acc.tolist() == [0.5, 0.65, 0.7]
    assert cost_aubc(np.array([5.0, 5.0]), np.array([0.4, 0.6])) == pytest.approx(0.5)  # spent nothing more
