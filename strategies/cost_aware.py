"""Cost-aware querying: the base score per unit of predicted annotation cost.

Return on investment (Haertel, Seppi, Ringger & Carroll 2008, "Return on
Investment for Active Learning", NIPS Workshop on Cost-Sensitive Learning;
Settles, Craven & Friedland 2008, "Active Learning with Real Annotation
Costs"): buy the examples with the most information per unit of cost,

    pick top-k of  s(x) / c(x),

with s ≥ 0 a single-point score of the base (entropy, margin as 1 − margin,
least confidence, or an MC-dropout score) and c > 0 the cost model of
:mod:`altbench.cost`.  Only costs known before labelling can steer a query:
``constant``, ``text_length`` and ``column``; ``class_dependent`` is refused
(it reads the true label).  Write
``{name: cost_aware, base: margin, cost: {name: text_length, a: 1, b: 0.1}}``.
With the default ``constant`` cost the picks are the base's.  Under a budget
in cost units (``budget.cost_total``, :mod:`altbench.purchase`) give it the
budget's ``cost_model``: the loop buys its picks in ranked order until the
round's allowance is spent, so cheap informative examples stretch the budget.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import numpy as np

from altbench.registry import STRATEGIES
from altbench.strategies._select import top_k
from altbench.view import IntArray, ModelView

ScoreName = Literal["entropy", "margin", "least_confidence", "bald", "variation_ratios", "mean_std"]


def per_cost_query(score: str, n_samples: int, costs: np.ndarray | None, view: ModelView, pool: IntArray,
                   budget: int, rng: np.random.Generator) -> IntArray:
    """(budget,) pool indices with the highest score / cost; costs: (n_train,) or None (all equal)."""
    from altbench.strategies.stochastic import pool_scores

    s = pool_scores(view, pool, score, rng, n_samples)  # (n,) >= 0
    ratio = s if costs is None else s / costs[pool]
    return pool[top_k(ratio, budget, rng)]


@STRATEGIES.register(name="cost_aware")
@dataclass(frozen=True)
class CostAware:
    """Top-k of the base score per unit of predicted cost (return on investment, Haertel et al. 2008)."""

    citation: ClassVar[tuple[str, ...]] = (
        "Haertel, Seppi, Ringger & Carroll (2008), 'Return on Investment for Active Learning', NIPS Workshop on "
        "Cost-Sensitive Learning.",
        "Settles, Craven & Friedland (2008), 'Active Learning with Real Annotation Costs', NIPS Workshop on "
        "Cost-Sensitive Learning.")
    base: ScoreName = "margin"  # single-point score of the base strategy
    cost: dict = field(default_factory=lambda: {"name": "constant"})  # cost model known before labelling
    n_samples: int = 20  # MC-dropout passes, for the MC scores only

    def __post_init__(self):
        from altbench.cost import build_cost_model

        if not build_cost_model(self.cost).before_labelling:
            raise ValueError(f"cost model {self.cost.get('name')!r} reads true labels, unknown before "
                             "labelling; a strategy may use constant, text_length or column")

    def __call__(self, view: ModelView, pool: IntArray, budget: int, rng: np.random.Generator) -> IntArray:
        """Without the pool's features (outside the loop) only a constant cost is known."""
        from altbench.cost import build_cost_model

        model = build_cost_model(self.cost)
        if type(model).__name__ != "Constant":
            raise ValueError(f"cost_aware with cost {self.cost.get('name')!r} needs the pool's features; "
                             "run it through altbench's loop, or call for_pool(X_train) first")
        return per_cost_query(self.base, self.n_samples, None, view, pool, budget, rng)

    def for_pool(self, X_train: Any) -> Any:
        """The query with every train example's cost computed once (from features, never labels)."""
        from altbench.cost import build_cost_model, pool_costs

        costs = pool_costs(build_cost_model(self.cost), X_train)  # (n_train,)
        return functools.partial(per_cost_query, self.base, self.n_samples, costs)
