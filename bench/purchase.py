"""What each round buys: labels by count, or examples by annotation cost.

A **label budget** (``budget.total`` + ``query``, or ``schedule``) fixes the
labelled-set size of every round (:func:`altbench.validation.training_sizes`).

A **cost budget** counts what labels cost instead (Settles, Craven &
Friedland 2008, "Active Learning with Real Annotation Costs"; Haertel et al.
2008, "Return on Investment for Active Learning"): ``budget.cost_model``
gives each train example a cost (:mod:`altbench.cost`), and either

* ``budget.cost_total: T`` with ``budget.cost_query: q``: cumulative cost
  targets c0 + q, c0 + 2q, ..., T, where c0 is the initial set's cost (the
  initial set is still drawn by count, ``budget.initial``); or
* ``budget.cost_schedule: [t1, t2, ...]``: explicit cumulative targets, the
  initial set's cost included (targets at or below c0 are dropped).

Rule of a round (the example that overshoots): the strategy is asked for as
many examples as the round's allowance (its target minus the cost already
spent) could buy at the cheapest pool costs, and the loop buys them **in the
order the strategy returns them** (best first) and **stops at the first one
that would overshoot the allowance**: that example and every later one stay
in the pool; nothing cheaper further down is bought instead.  What is left
of the allowance carries over, since the targets are cumulative; a round may
buy nothing (its top pick costs more than what is left).  So spending never
exceeds a target, and a strategy's ranking is respected.  Only costs known
before labelling can run a budget (``constant``, ``text_length``,
``column``); ``class_dependent`` reads the true label, so with a label budget
it is recorded only.

With ``budget.cost_model`` set, every round's record gains ``cost``: the
cumulative cost of every label held when its model was fitted (validation
labels included), the x axis of :func:`altbench.cost_report` curves.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

from altbench.loop import Budget, BudgetError

__all__ = ["CostRounds", "LabelRounds", "is_cost_budget", "resolve_cost_budget", "round_plan"]

COST_FIELDS = ("cost_total", "cost_query", "cost_schedule")  # a budget in cost units
LABEL_FIELDS = ("total", "query", "schedule")  # a budget in labels


def _tolerance(target: float) -> float:
    """Float slack when comparing sums of costs with a target (0.1 + 0.2 may exceed 0.3 by an ulp)."""
    return 1e-9 * max(1.0, abs(target))


def is_cost_budget(budget: Budget) -> bool:
    """True when the budget counts cost units (``cost_total`` or ``cost_schedule`` set)."""
    return budget.cost_total is not None or budget.cost_schedule is not None


@dataclass(frozen=True)
class LabelRounds:
    """Rounds of a label budget: ``sizes`` training labels per round; cost recorded when ``costs`` is given."""

    sizes: list[int]  # training labels held per round (validation labels excluded)
    val: np.ndarray  # (K,) validation rows, counted in n_labelled and in the cost
    costs: np.ndarray | None = None  # (n,) cost of every train example, or None (no cost model)

    @property
    def n_rounds(self) -> int:
        return len(self.sizes)

    def matches(self, r: int, rec: dict, labelled: np.ndarray) -> bool:
        """Whether a checkpointed round ``r`` fits this budget."""
        return rec.get("n_labelled") == self.sizes[r] + len(self.val)

    def ask(self, r: int, labelled: np.ndarray, in_pool: np.ndarray) -> int:
        """Labels to buy after round ``r``."""
        return self.sizes[r + 1] - len(labelled)

    def buy(self, r: int, picked: np.ndarray, labelled: np.ndarray) -> np.ndarray:
        """The strategy's picks, all bought."""
        return picked

    def columns(self, labelled: np.ndarray) -> dict:
        """{"cost": cumulative cost of the labels held} with a cost model, else {}."""
        if self.costs is None:
            return {}
        return {"cost": float(self.costs[labelled].sum() + self.costs[self.val].sum())}


@dataclass(frozen=True)
class CostRounds:
    """Rounds of a cost budget: cumulative cost ``targets`` (``targets[0]``: the initial set's cost)."""

    costs: np.ndarray  # (n,) cost of every train example (known before labelling)
    targets: list[float]  # cumulative cost to reach by each round, increasing

    @property
    def n_rounds(self) -> int:
        return len(self.targets)

    def spent(self, labelled: np.ndarray) -> float:
        return float(self.costs[labelled].sum())

    def matches(self, r: int, rec: dict, labelled: np.ndarray) -> bool:
        """Whether a checkpointed round ``r`` holds exactly what was bought so far, within its target."""
        spent = self.spent(labelled)
        return rec.get("cost") == spent and spent <= self.targets[r] + _tolerance(self.targets[r])

    def allowance(self, r: int, labelled: np.ndarray) -> float:
        """Cost round ``r`` may still spend: the next target minus what the labels held cost."""
        return self.targets[r + 1] - self.spent(labelled)

    def ask(self, r: int, labelled: np.ndarray, in_pool: np.ndarray) -> int:
        """How many examples the allowance could buy at the cheapest pool costs (an upper bound)."""
        allowance = self.allowance(r, labelled)
        cheapest = np.cumsum(np.sort(self.costs[in_pool]))  # (n_pool,)
        return int(np.searchsorted(cheapest, allowance + _tolerance(allowance), side="right"))

    def buy(self, r: int, picked: np.ndarray, labelled: np.ndarray) -> np.ndarray:
        """The picks bought in query order, stopping at the first that would overshoot the allowance."""
        allowance = self.allowance(r, labelled)
        over = np.flatnonzero(np.cumsum(self.costs[picked]) > allowance + _tolerance(allowance))
        return picked[: over[0]] if len(over) else picked

    def columns(self, labelled: np.ndarray) -> dict:
        return {"cost": self.spent(labelled)}


def cost_targets(budget: Budget, initial_cost: float) -> list[float]:
    """Cumulative cost per round, ``initial_cost`` first (module docstring)."""
    c0 = initial_cost
    if budget.cost_schedule:
        return [c0] + [float(t) for t in budget.cost_schedule if t > c0]
    total, step = float(budget.cost_total), float(budget.cost_query)
    if total <= c0:
        return [c0]
    n_steps = int(np.ceil((total - c0) / step - _tolerance(total)))  # c0 + k·step < total for k < n_steps
    return [c0 + k * step for k in range(n_steps)] + [total]


def round_plan(budget: Budget, dataset: Any, labelled: np.ndarray, val: np.ndarray) -> LabelRounds | CostRounds:
    """The rounds a run's budget gives, after its initial set (``labelled``) and validation rows are drawn."""
    from altbench.cost import build_cost_model, label_costs, pool_costs
    from altbench.validation import training_sizes

    n = len(dataset.y_train)
    model = None if budget.cost_model is None else build_cost_model(budget.cost_model)
    if not is_cost_budget(budget):
        sizes = training_sizes(budget, len(labelled))
        if sizes[-1] + len(val) > n:
            raise BudgetError(f"budget asks for {sizes[-1] + len(val)} labels but dataset {dataset.name!r} has {n} "
                              "training examples; lower budget.total")
        return LabelRounds(sizes, val, None if model is None else label_costs(model, dataset))
    costs = pool_costs(model, dataset.X_train)  # (n,)
    targets = cost_targets(budget, float(costs[labelled].sum()))
    if targets[-1] > costs.sum():
        raise BudgetError(f"budget asks for a cost of {targets[-1]:g} but the whole train pool of dataset "
                          f"{dataset.name!r} costs {costs.sum():g}; lower budget.cost_total")
    return CostRounds(costs, targets)


# ---------------------------------------------------------------- config checks
def resolve_cost_budget(budget: Budget, given: set[str], source: str) -> Budget:
    """``budget`` with ``cost_model`` stored with every parameter filled (as the run id hashes it),
    or a one-line ConfigError for a conflict; ``given``: the budget keys the config set."""
    from altbench.strict import ConfigError

    _check_cost_fields(budget, given, source)
    if budget.cost_model is None:
        return budget
    model = _resolve_model(budget.cost_model, source)
    if is_cost_budget(budget) and not _build(model, source).before_labelling:
        raise ConfigError(f"{source}: budget.cost_model {model['name']!r} reads the true label, unknown before an "
                          "example is bought, so it cannot run a cost budget; use constant, text_length or column, "
                          "or a label budget (budget.total) to record its costs")
    return dataclasses.replace(budget, cost_model=model)


def _check_cost_fields(budget: Budget, given: set[str], source: str) -> None:
    """One-line ConfigErrors for cost-budget fields that contradict each other or a label budget."""
    from altbench.strict import ConfigError

    set_cost = [f for f in COST_FIELDS if getattr(budget, f) is not None]
    if set_cost and budget.cost_model is None:
        raise ConfigError(f"{source}: budget.{set_cost[0]} counts annotation cost but no budget.cost_model says "
                          "what a label costs; add e.g. `budget.cost_model=text_length`")
    if budget.cost_schedule is not None and budget.cost_total is not None:
        raise ConfigError(f"{source}: budget.cost_total and budget.cost_schedule both give the cost budget; "
                          "keep one of them")
    if (budget.cost_total is None) != (budget.cost_query is None) and budget.cost_schedule is None:
        have, need = ("cost_total", "cost_query") if budget.cost_total is not None else ("cost_query", "cost_total")
        raise ConfigError(f"{source}: budget.{have} needs budget.{need} (cost_total: spend in all, cost_query: "
                          f"per round); write e.g. `budget.{need}={500 if need == 'cost_total' else 50}`")
    if budget.cost_schedule is not None and budget.cost_query is not None:
        raise ConfigError(f"{source}: budget.cost_query is for budget.cost_total; with budget.cost_schedule "
                          "remove it")
    if not is_cost_budget(budget):
        return
    label = next((f for f in LABEL_FIELDS if f in given), None)
    if label is not None:
        raise ConfigError(f"{source}: budget.{label} counts labels but the budget is in cost units "
                          f"(budget.{set_cost[0]}); keep one of them")
    if budget.validation:
        raise ConfigError(f"{source}: budget.validation is not supported with a cost budget; use a label budget "
                          "(budget.total) or remove budget.validation")
    schedule = budget.cost_schedule or ()
    if not np.isfinite(schedule).all() or any(b <= a for a, b in zip(schedule, schedule[1:])):
        raise ConfigError(f"{source}: budget.cost_schedule must be finite and increase (got {list(schedule)}); "
                          "write cumulative costs, e.g. [100, 200, 400]")


def _resolve_model(spec: Any, source: str) -> dict:
    """{name, **every parameter} of a cost model spec, or a one-line ConfigError."""
    from altbench.config import resolve_plugin
    from altbench.cost import COST_MODELS
    from altbench.strict import ConfigError, did_you_mean, short

    name = spec.get("name") if isinstance(spec, dict) else spec
    if not isinstance(name, str):
        raise ConfigError(f"{source}: budget.cost_model {short(spec)} has no name; "
                          "write e.g. {name: text_length, a: 1, b: 0.1}")
    if name not in COST_MODELS:
        raise ConfigError(f"{source}: budget.cost_model: unknown cost model {name!r}; choose one of "
                          f"{', '.join(COST_MODELS.names())}{did_you_mean(name, COST_MODELS.names())}")
    resolved = resolve_plugin(COST_MODELS, spec, f"{source}: budget.cost_model")
    model = {"name": resolved.name, **resolved.params}
    _build(model, source)
    return model


def _build(model: dict, source: str) -> Any:
    from altbench.cost import build_cost_model
    from altbench.strict import ConfigError

    try:
        return build_cost_model(model)
    except ConfigError as exc:
        raise ConfigError(f"{source}: budget.{exc}" if str(exc).startswith("cost:") else f"{source}: {exc}") from None
