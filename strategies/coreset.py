"""Core-set selection by k-center greedy.

Sener & Savarese, "Active Learning for Convolutional Neural Networks: A
Core-Set Approach", ICLR 2018 (the greedy 2-approximation, their Alg. 1).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from altbench.config import ID_IF_SET
from altbench.registry import STRATEGIES
from altbench.api import IntArray, ModelView  # the Protocol: the harness's view and FakeView
from altbench.strategies._geometry import euclidean_exact, nearest, pool_embeddings
from altbench.strategies._kcenter import kcenter_greedy, kcenter_greedy_exact


@STRATEGIES.register(name="coreset")
@dataclass(frozen=True)
class Coreset:
    """k-center greedy on embeddings (Sener & Savarese 2018).

    h = embeddings of pool (n, d) and labelled (n_lab, d) points; each pick
    is the pool point farthest from its nearest centre (labelled or already
    picked), never building an n×n matrix.  The pool's embeddings are read
    in blocks (``view.embeddings``), so no (n, d) copy of them is made: extra
    memory is O(n + (n_lab + budget)·d) plus blocks of a few MB.

    * ``dtype: float32`` (default) — lazy greedy on float32 squared distances
      from BLAS inner products: O(n·d·(n_lab + budget)) time, fast at scale.
    * ``dtype: float64`` — exact float64 Euclidean distances from the
      differences, one O(n·d) pass per pick: the k-center of Zhan et al.
      (2021) / Lu et al. (2023) (``cdist`` + ``argmax``), for small tabular pools.

    ``ties``: exact distance ties (and the first pick when nothing is
    labelled) go to ``"random"`` (drawn by ``rng``, default) or ``"first"``
    (the lowest pool position, as ``argmax`` in Zhan's and Lu's code).
    """

    dtype: Literal["float32", "float64"] = field(default="float32", metadata=ID_IF_SET)  # see above
    ties: Literal["random", "first"] = field(default="random", metadata=ID_IF_SET)  # see above

    def __call__(self, view: ModelView, pool: IntArray, budget: int, rng: np.random.Generator) -> IntArray:
        h = pool_embeddings(view, pool)  # (n, d), read in blocks
        lab = view.labelled
        h_lab = view.embed(lab) if len(lab) else np.zeros((0, h.shape[1]), np.float32)  # (n_lab, d)
        if self.dtype == "float64":
            d0 = euclidean_exact(h, h_lab)  # (n,) distance to the labelled set
            return pool[kcenter_greedy_exact(h, d0, budget, self.ties == "first", rng)]
        _, d0 = nearest(h, h_lab)  # (n,) squared distance to the labelled set
        return pool[kcenter_greedy(h, d0, budget, rng, first_tie=self.ties == "first")]


coreset = Coreset()  # the default configuration, callable like a function strategy
