"""US-C: uncertainty sampling with the task classifier's own decision values.

Lu, Cheng, Li & Lin (2023), "An Expanded Benchmark that Rediscovers and
Affirms the Edge of Uncertainty Sampling for Active Learning in Tabular
Datasets" (arXiv 2306.08954): US-C ("compatible") queries with the task
model itself — in Zhan et al.'s (2021) protocol an uncalibrated RBF-SVM —
instead of a separate logistic-regression query model (their US-NC).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from altbench.registry import STRATEGIES
from altbench.api import IntArray, ModelView  # the Protocol: the harness's view and FakeView
from altbench.strategies._select import top_k


def top_two_gap(scores: np.ndarray) -> np.ndarray:
    """(n,) best minus second-best of (n, C) scores, C ≥ 2 (|f(x)| for a binary SVM)."""
    top2 = np.partition(scores, -2, axis=1)[:, -2:]  # (n, 2): second largest, largest
    return top2[:, 1] - top2[:, 0]


def scores(view: ModelView, pool: IntArray) -> np.ndarray:
    """(n, C) the task model's own scores: ``decision_function`` if it has one, else log-probabilities
    (whose top-two gap is the logit gap of a softmax model)."""
    if view.has("decision_function"):
        return view.decision_function(pool)
    return np.log(np.maximum(view.predict_proba(pool), 1e-300))


@STRATEGIES.register(name="us_c")
@dataclass(frozen=True)
class UsC:
    """The ``budget`` pool points closest to the decision boundary (Lu et al. 2023, US-C).

    Binary: smallest |f(x)| of the task SVM's decision function; multi-class:
    smallest gap between the top two one-vs-rest scores (n, C) from
    ``view.decision_function`` (``svm_rbf`` with ``probability: none``).  A
    model without decision values is scored by its log-probabilities (the
    logit gap of a softmax model).

    ``ties``: ``"random"`` (default, drawn by ``rng`` like every altbench
    strategy) or ``"first"`` — the first pool positions, no randomness: the
    original code takes the first of equal margins (Zhan's protocol configs
    set it).
    """

    ties: Literal["random", "first"] = "random"  # see above

    def __call__(self, view: ModelView, pool: IntArray, budget: int, rng: np.random.Generator) -> IntArray:
        gap = top_two_gap(scores(view, pool))  # (n_pool,)
        if self.ties == "first":
            return pool[np.argsort(gap, kind="stable")[:budget]]
        return pool[top_k(-gap, budget, rng)]


us_c = UsC()  # the default configuration, callable like a function strategy
