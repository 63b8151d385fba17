"""Core-set selection by k-center greedy.

Sener & Savarese, "Active Learning for Convolutional Neural Networks: A
Core-Set Approach", ICLR 2018 (the greedy 2-approximation, their Alg. 1).
"""

from __future__ import annotations

import numpy as np

from bench.registry import STRATEGIES
from bench.view import IntArray, ModelView
from strategies._geometry import kcenter_greedy, nearest


@STRATEGIES.register
def coreset(view: ModelView, pool: IntArray, budget: int, rng: np.random.Generator) -> IntArray:
    """k-center greedy on embeddings (Sener & Savarese 2018).

    h = ``view.embed`` of pool (n, d) and labelled (n_lab, d) points; each
    pick is the pool point farthest from its nearest centre (labelled or
    already picked).  Time O(n·d·(n_lab + budget)), memory O(n·d): one
    chunked pass for the labelled set, then one matvec per pick, never n×n.
    Exact distance ties (and the first pick when nothing is labelled) are
    broken by ``rng``.
    """
    h = view.embed(pool)  # (n, d)
    lab = view.labelled
    h_lab = view.embed(lab) if len(lab) else np.zeros((0, h.shape[1]), np.float32)  # (n_lab, d)
    _, d0 = nearest(h, h_lab)  # (n,) squared distance to the labelled set
    return pool[kcenter_greedy(h, d0, budget, rng)]
