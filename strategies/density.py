"""Information density: uncertainty weighted by representativeness.

Settles & Craven, "An Analysis of Active Learning Strategies for Sequence
Labeling Tasks", EMNLP 2008 (information density, their eq. 10):

    φ_ID(x) = φ(x) · ( (1/U) Σ_u sim(x, x_u) )^β

with sim the cosine similarity over the U pool points.  The average is exact
in O(n·d): (1/U) Σ_u cos(x, x_u) = x̂ · mean_u x̂_u.  Cosines lie in [−1, 1];
we use (1 + cos)/2 ∈ [0, 1] so the power is defined (same ranking for β = 1).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from altbench.registry import STRATEGIES
from altbench.api import IntArray, ModelView  # the Protocol: the harness's view and FakeView
from altbench.strategies._geometry import matvec
from altbench.strategies._select import top_k
from altbench.strategies.uncertainty import SCORES


def mean_cosine(h: np.ndarray) -> np.ndarray:
    """(n,) mean cosine similarity of each row of h (n, d) to all rows (itself included).

    Two matvecs, no normalised copy of h: m = hᵀ(1/‖h‖)/n, then (h m)/‖h‖.
    """
    inv = 1.0 / (np.sqrt(np.einsum("ij,ij->i", h, h, dtype=np.float64)) + 1e-12)  # (n,)
    m = np.einsum("i,ij->j", inv.astype(h.dtype), h) / len(h)  # (d,) mean unit vector
    return matvec(h, m) * inv


@STRATEGIES.register(name="density_weighted")
@dataclass(frozen=True)
class DensityWeighted:
    """Information density (Settles & Craven 2008): p (n, C), embeddings h (n, d)."""

    base: Literal["entropy", "margin", "least_confidence"] = "entropy"  # uncertainty φ
    beta: float = 1.0  # weight β of the density term (paper: 1)

    def __call__(self, view: ModelView, pool: IntArray, budget: int, rng: np.random.Generator) -> IntArray:
        phi = SCORES[self.base](view.predict_proba(pool))  # (n,)
        density = (1.0 + mean_cosine(view.embed(pool))) / 2.0  # (n,)
        return pool[top_k(phi * density ** self.beta, budget, rng)]
