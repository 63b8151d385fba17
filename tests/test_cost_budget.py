"""Budgets in annotation-cost units: config checks, the purchase rule, the loop, resume, cost_aware under it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from altbench.config import QUICKSTART, identity, load_experiment
from altbench.cost import build_cost_model, cost_curve, replay_initial
from altbench.datasets import Dataset, load_dataset
from altbench.loop import Budget, BudgetError, run_active_learning
from altbench.purchase import CostRounds, cost_targets
from altbench.registry import METHODS, STRATEGIES
from altbench.seeds import Streams
from altbench.strict import ConfigError

BASE = """name: c
datasets: [digits]
methods: [logreg]
strategies: [random]
seeds: 1
budget: {initial: 10, cost_model: {name: constant, cost: 3}, cost_total: 60, cost_query: 10}
"""


@pytest.fixture
def config(tmp_path) -> Path:
    path = tmp_path / "c.yaml"
    path.write_text(BASE)
    return path


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


# ---------------------------------------------------------------- config
def test_budgets_without_cost_fields_keep_their_run_ids():
    assert set(identity(Budget())) == {"initial", "initial_per_class", "initial_all_classes", "query", "total",
                                       "schedule"}
    committed = {p.stem for p in (Path(__file__).parents[1] / "results/quickstart/runs").glob("*.parquet")}
    assert {r.run_id for r in load_experiment(QUICKSTART).runs} == committed


def test_cost_budget_config_resolves_the_cost_model(config):
    budget = load_experiment(config).runs[0].budget
    assert budget.cost_model == {"name": "constant", "cost": 3.0}
    assert (budget.cost_total, budget.cost_query, budget.cost_schedule) == (60.0, 10.0, None)
    by_name = load_experiment(config, ["budget.cost_model=text_length"]).runs[0]
    spelled = load_experiment(config, ["budget.cost_model={name: text_length, a: 1.0, b: 0.1}"]).runs[0]
    assert by_name.budget.cost_model == {"name": "text_length", "a": 1.0, "b": 0.1}
    assert by_name.run_id == spelled.run_id != load_experiment(config).runs[0].run_id


@pytest.mark.parametrize("overrides, message", [
    (["budget.total=100"], "budget.total counts labels but the budget is in cost units (budget.cost_total)"),
    (["budget.schedule=[20, 30]"], "budget.schedule counts labels but the budget is in cost units"),
    (["budget.cost_model=null"], "budget.cost_total counts annotation cost but no budget.cost_model says"),
    (["budget.cost_schedule=[40, 50]"], "budget.cost_total and budget.cost_schedule both give the cost budget"),
    (["budget.cost_query=null"], "budget.cost_total needs budget.cost_query"),
    (["budget.cost_total=null"], "budget.cost_query needs budget.cost_total"),
    (["budget.cost_total=null", "budget.cost_schedule=[40, 50]"], "budget.cost_query is for budget.cost_total"),
    (["budget.cost_total=null", "budget.cost_query=null", "budget.cost_schedule=[50, 40]"],
     "budget.cost_schedule must be finite and increase"),
    (["budget.validation=5"], "budget.validation is not supported with a cost budget"),
    (["budget.cost_model=class_dependent"], "'class_dependent' reads the true label"),
    (["budget.cost_model=textlength"], "unknown cost model 'textlength'; choose one of"),
    (["budget.cost_model={name: text_length, c: 1}"], "no parameter 'c'; valid: a, b"),
    (["budget.cost_model={a: 1}"], "has no name; write e.g. {name: text_length"),
    (["budget.cost_total=0"], "budget.cost_total must be"),
])
def test_conflicting_cost_budget_fields_are_refused_in_one_line(config, overrides, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")) as exc:
        load_experiment(config, overrides)
    assert "\n" not in str(exc.value) and str(exc.value).startswith("c.yaml: ")


def test_a_label_budget_may_record_a_class_dependent_cost(config):
    budget = load_experiment(config, ["budget.cost_total=null", "budget.cost_query=null", "budget.total=30",
                                      "budget.cost_model={name: class_dependent, costs_by_class: {'1': 4}}"]
                             ).runs[0].budget
    assert budget.cost_model == {"name": "class_dependent", "costs_by_class": {"1": 4.0}, "default": 1.0}


# ---------------------------------------------------------------- the purchase rule
def test_cost_targets_mirror_the_label_sizes():
    budget = Budget(cost_model="constant", cost_total=60.0, cost_query=10.0)
    assert cost_targets(budget, 30.0) == [30.0, 40.0, 50.0, 60.0]
    assert cost_targets(Budget(cost_total=65.0, cost_query=10.0), 30.0) == [30.0, 40.0, 50.0, 60.0, 65.0]
    assert cost_targets(Budget(cost_total=20.0, cost_query=10.0), 30.0) == [30.0]
    assert cost_targets(Budget(cost_schedule=(20.0, 40.0, 80.0)), 30.0) == [30.0, 40.0, 80.0]
    assert len(cost_targets(Budget(cost_total=0.6, cost_query=0.1), 0.3)) == 4  # no near-duplicate of 0.6


def test_a_round_buys_in_query_order_and_stops_at_the_first_overshoot():
    plan = CostRounds(np.array([2.0, 5.0, 3.0, 0.5, 1.0]), [0.0, 7.5, 8.5])
    none, pool = np.zeros(0, dtype=np.int64), np.ones(5, dtype=bool)
    assert plan.ask(0, none, pool) == 4  # cheapest four: 0.5 + 1 + 2 + 3 = 6.5 <= 7.5
    # cumulative 2, 7, 10: row 2 overshoots and ends the round; row 3 (0.5) would fit but is not bought
    assert plan.buy(0, np.array([0, 1, 2, 3]), none).tolist() == [0, 1]
    held = np.array([0, 1])
    pool[held] = False
    assert plan.allowance(1, held) == 1.5 and plan.ask(1, held, pool) == 2  # carried over: 8.5 - 7; 0.5 + 1
    assert plan.buy(1, np.array([2, 3]), held).tolist() == []  # top pick costs 3 > 1.5: the round buys nothing
    assert plan.buy(1, np.array([3, 4]), held).tolist() == [3, 4]  # 0.5 + 1 spends the allowance exactly


def test_cost_budget_stops_at_the_allowance(digits):
    budget = Budget(initial=10, cost_model={"name": "constant", "cost": 3.0}, cost_total=60.0, cost_query=10.0)
    records = run_active_learning(digits, METHODS.get("logreg")(), STRATEGIES.get("margin"), budget, Streams(0))
    # targets 30 (initial set), 40, 50, 60; a round buys floor(allowance / 3) and carries the rest over
    assert [r["cost"] for r in records] == [30.0, 39.0, 48.0, 60.0]
    assert [r["n_labelled"] for r in records] == [10, 13, 16, 20]
    assert [len(r["queried"]) for r in records] == [3, 3, 4, 0]


def _column_costs(tmp_path, n: int, cheap: float = 1.0, dear: float = 10.0) -> tuple[dict, np.ndarray]:
    """A cost file for the n train rows: half cost ``cheap``, half ``dear`` (a fixed seeded pattern)."""
    costs = np.where(np.random.default_rng(0).permutation(n) % 2 == 0, cheap, dear)  # (n,)
    path = tmp_path / "costs.csv"
    path.write_text("cost\n" + "\n".join(f"{c:g}" for c in costs) + "\n")
    return {"name": "column", "path": str(path), "column": "cost"}, costs


def test_unequal_costs_never_exceed_a_target_and_resume_identically(digits, tmp_path):
    model, costs = _column_costs(tmp_path, len(digits.y_train), cheap=1.5, dear=4.0)
    budget = Budget(initial=10, cost_model=model, cost_schedule=(60.0, 80.0, 100.0, 120.0))
    strategy = STRATEGIES.get("random")
    records = run_active_learning(digits, METHODS.get("logreg")(), strategy, budget, Streams(1))
    held = replay_initial(digits, budget, 1)
    c0 = float(costs[held].sum())
    targets = [c0] + [t for t in budget.cost_schedule if t > c0]
    for rec, target in zip(records, targets):
        assert rec["cost"] == pytest.approx(float(costs[held].sum())) and rec["cost"] <= target + 1e-9
        held = np.concatenate([held, rec["queried"]])
    assert len(records) == len(targets) and records[-1]["cost"] > targets[-2]
    resumed = run_active_learning(digits, METHODS.get("logreg")(), strategy, budget, Streams(1), resume=records[:2])
    assert [r["queried"] for r in resumed] == [r["queried"] for r in records]
    tampered = [dict(records[0]), {**records[1], "cost": records[1]["cost"] + 1}]
    with pytest.raises(ValueError, match="does not match this run's budget"):
        run_active_learning(digits, METHODS.get("logreg")(), strategy, budget, Streams(1), resume=tampered)


def test_cost_aware_buys_more_cheap_examples_than_plain_under_a_cost_budget(digits, tmp_path):
    model, costs = _column_costs(tmp_path, len(digits.y_train))
    budget = Budget(initial=10, cost_model=model, cost_total=250.0, cost_query=40.0)
    bought = {}
    for name, strategy in (("margin", STRATEGIES.get("margin")),
                           ("cost_aware", STRATEGIES.get("cost_aware")(base="margin", cost=model))):
        records = run_active_learning(digits, METHODS.get("logreg")(), strategy, budget, Streams(2))
        assert records[-1]["cost"] <= 250.0
        bought[name] = np.concatenate([r["queried"] for r in records]).astype(np.int64)
    cheap = {k: int((costs[v] == 1.0).sum()) for k, v in bought.items()}
    assert cheap["cost_aware"] > cheap["margin"] and len(bought["cost_aware"]) > len(bought["margin"])


def test_a_label_budget_records_the_post_hoc_cost_curve(digits):
    spec = {"name": "class_dependent", "costs_by_class": {"0": 5.0, "1": 2.0}, "default": 1.0}
    budget = Budget(initial=10, query=10, total=30, cost_model=spec)
    records = run_active_learning(digits, METHODS.get("logreg")(), STRATEGIES.get("margin"), budget, Streams(3))
    cost, _ = cost_curve(records, digits, build_cost_model(spec), initial=replay_initial(digits, budget, 3))
    assert [r["cost"] for r in records] == cost.tolist() and [r["n_labelled"] for r in records] == [10, 20, 30]


def test_a_cost_budget_beyond_the_whole_pool_is_a_budget_error():
    X = np.array(["a b", "c", "d e f", "g"], dtype=object)
    ds = Dataset("toy", "text", X, np.array([0, 1, 0, 1]), X[:2], np.array([0, 1]), ("n", "p"))
    budget = Budget(initial=2, cost_model={"name": "text_length", "a": 0.0, "b": 1.0}, cost_total=8.0,
                    cost_query=1.0)
    with pytest.raises(BudgetError, match="asks for a cost of 8 but the whole train pool of dataset 'toy' costs 7"):
        run_active_learning(ds, METHODS.get("logreg")(), STRATEGIES.get("random"), budget, Streams(0))


def test_progress_counts_the_rounds_of_a_cost_budget():
    from altbench.watch import total_rounds

    budget = Budget(initial=10, cost_model={"name": "constant", "cost": 3.0}, cost_total=60.0, cost_query=10.0)
    assert total_rounds(budget, [{"round": 0, "n_labelled": 10, "cost": 30.0}]) == 4  # as the loop above
