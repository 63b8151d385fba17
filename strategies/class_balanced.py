"""Class-balanced querying: split each batch evenly across the classes the model predicts.

Aggarwal, Popescu & Hudelot (2020, "Active Learning for Imbalanced
Datasets", WACV) show that uncertainty sampling on a skewed pool keeps
buying the majority classes, and restore balance by choosing per predicted
class; Bengar, van de Weijer, Fuentes & Raducanu (2022, "Class-Balanced
Active Learning for Image Classification", WACV) add the same balance as a
constraint on the batch.  This wrapper implements the simple form:

1. predict the pool's classes with the current model (argmax of
   ``predict_proba``; the pool's true labels are never read);
2. split the ``k`` picks over the predicted classes as evenly as possible
   (water-filling: a class with fewer members than its share gives the rest
   to the others; the remainder goes to classes drawn by the query stream);
3. in each class, take the base strategy's picks on that class's sub-pool.

Write ``{name: class_balanced, base: margin}`` (``base_params`` for the
base's settings).  Any registered strategy can be the base.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from altbench.registry import STRATEGIES
from altbench.strategies._wrap import base_strategy, bind
from altbench.view import IntArray, ModelView


def class_quotas(sizes: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """(C,) picks per class summing to ``k``, as even as ``sizes`` (C,) members allow (water-filling).

    Every class gets min(size, L) for the largest level L that fits in ``k``;
    the few picks left over go, one each, to classes with members beyond L,
    chosen by ``rng``.
    """
    sizes = np.asarray(sizes, dtype=np.int64)
    if not 0 <= k <= sizes.sum():
        raise ValueError(f"cannot pick {k} of {int(sizes.sum())} candidates; ask for at most the pool size")
    lo, hi = 0, int(sizes.max(initial=0))
    while lo < hi:  # largest level L with sum(min(sizes, L)) <= k
        mid = (lo + hi + 1) // 2
        lo, hi = (mid, hi) if np.minimum(sizes, mid).sum() <= k else (lo, mid - 1)
    quota = np.minimum(sizes, lo)
    room = np.flatnonzero(sizes > lo)  # classes that can take one more
    quota[room[rng.permutation(len(room))[:k - int(quota.sum())]]] += 1
    return quota


def balanced_query(base: Any, view: ModelView, pool: IntArray, budget: int,
                   rng: np.random.Generator) -> IntArray:
    """(budget,) pool indices: the base strategy's picks within each predicted class, per its quota."""
    p = view.predict_proba(pool)  # (n, C)
    pred = np.asarray(p).argmax(1)  # (n,) predicted classes, never the true ones
    quota = class_quotas(np.bincount(pred, minlength=np.asarray(p).shape[1]), budget, rng)
    picks = [np.asarray(base(view, pool[pred == c], int(q), rng), dtype=np.int64)
             for c, q in enumerate(quota) if q > 0]
    return np.concatenate(picks) if picks else np.empty(0, dtype=np.int64)


@STRATEGIES.register(name="class_balanced")
@dataclass(frozen=True)
class ClassBalanced:
    """Even split of each batch over predicted classes, base strategy within each (Aggarwal et al. 2020)."""

    citation: ClassVar[tuple[str, ...]] = (
        "Aggarwal, Popescu & Hudelot (2020), 'Active Learning for Imbalanced Datasets', WACV.",
        "Bengar, van de Weijer, Fuentes & Raducanu (2022), 'Class-Balanced Active Learning for Image "
        "Classification', WACV.")
    base: str = "margin"  # the strategy choosing within each predicted class
    base_params: dict = field(default_factory=dict)  # its settings, e.g. {score: entropy}

    def __post_init__(self):
        base_strategy(self.base, self.base_params, "class_balanced")  # unknown names fail before any run

    def __call__(self, view: ModelView, pool: IntArray, budget: int, rng: np.random.Generator) -> IntArray:
        return balanced_query(base_strategy(self.base, self.base_params, "class_balanced"), view, pool, budget, rng)

    def for_pool(self, X_train: Any) -> Any:
        """This strategy with its base bound to the pool (a cost-aware base computes its costs)."""
        return functools.partial(balanced_query, bind(base_strategy(self.base, self.base_params,
                                                                    "class_balanced"), X_train))
