"""Random sampling and the classic uncertainty strategies.

All take ``p = view.predict_proba(pool)`` of shape (n_pool, C) and pick the
``budget`` highest-scoring pool points via :func:`top_k` (ties at random).
"""

from __future__ import annotations

import numpy as np

from bench.registry import STRATEGIES
from bench.view import IntArray, ModelView
from strategies._select import top_k


@STRATEGIES.register
def random(view: ModelView, pool: IntArray, budget: int, rng: np.random.Generator) -> IntArray:
    """Uniform sampling without replacement: the baseline every paper must beat."""
    return rng.choice(pool, size=budget, replace=False).astype(np.int64)


def _least_confidence_score(p: np.ndarray) -> np.ndarray:
    return 1.0 - p.max(axis=1)  # (n,)


def _margin_score(p: np.ndarray) -> np.ndarray:
    top2 = np.partition(p, -2, axis=1)[:, -2:]  # (n, 2): second largest, largest
    return 1.0 - (top2[:, 1] - top2[:, 0])  # small margin = high score, in [0, 1]


def _entropy_score(p: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        plogp = np.where(p > 0, p * np.log(p), 0.0)
    return -plogp.sum(axis=1)


@STRATEGIES.register
def least_confidence(view: ModelView, pool: IntArray, budget: int, rng: np.random.Generator) -> IntArray:
    """Lowest top-1 probability, 1 − max_c p(c|x) (Lewis & Gale 1994)."""
    p = view.predict_proba(pool)  # (n_pool, C)
    return pool[top_k(_least_confidence_score(p), budget, rng)]


@STRATEGIES.register
def margin(view: ModelView, pool: IntArray, budget: int, rng: np.random.Generator) -> IntArray:
    """Smallest top-1 minus top-2 probability (Scheffer et al. 2001)."""
    p = view.predict_proba(pool)  # (n_pool, C)
    return pool[top_k(_margin_score(p), budget, rng)]


@STRATEGIES.register
def entropy(view: ModelView, pool: IntArray, budget: int, rng: np.random.Generator) -> IntArray:
    """Largest predictive entropy −Σ_c p log p (Shannon; Settles 2009 survey)."""
    p = view.predict_proba(pool)  # (n_pool, C)
    return pool[top_k(_entropy_score(p), budget, rng)]


# p (n, C) ↦ (n,) non-negative scores, higher = more informative (also used by
# the stochastic and density-weighted strategies).
SCORES = {"least_confidence": _least_confidence_score, "margin": _margin_score,
          "entropy": _entropy_score}
