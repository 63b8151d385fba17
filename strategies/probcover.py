"""ProbCover: greedy maximum coverage of δ-balls in embedding space.

Yehuda, Dekel, Hacohen & Weinshall, "Active Learning Through a Covering
Lens", NeurIPS 2022.

Pool ∪ labelled embeddings form the graph i → j iff ‖h_i − h_j‖ ≤ δ (built in
blocks, :func:`radius_graph`).  Points in a labelled ball are covered; each
pick is the pool point whose ball covers the most uncovered points; once all
is covered, picks are uniform.  δ defaults to the paper's rule: the largest
radius whose balls are pure (one k-means cluster, K = number of classes) for
at least ``purity`` of the points — estimated on ``purity_queries`` random
points, since a ball around x is pure iff δ < the distance from x to the
nearest point of another cluster.

Deviation from the paper (memory bounded by construction): each ball keeps
at most its m = max(1, ``max_edges`` // N) nearest points within δ (N = pool
+ labelled), so the graph has at most ``max_edges`` edges whatever δ and the
data.  The paper's graph is unbounded: when k-means finds the true classes,
δ approaches the class gaps and the graph grows like N²/K (≈ 4 GB at N = 50k).
With the cap, a pick covers its m nearest neighbours inside δ rather than the
whole ball; where no ball holds more than m points (every N ≤ √max_edges ≈ 4,500
at the default) the picks are exactly the paper's.  Measured peak extra
memory (``scripts/strategy_memory.py``, d = 384, budget 1000): 130 MB
traced at N = 50k, 590 MB at 200k (its (N, d) embeddings included).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse

from altbench.registry import STRATEGIES
from altbench.api import IntArray, ModelView  # the Protocol: the harness's view and FakeView
from altbench.strategies._geometry import argmax_random, as_f32, kmeans, pool_embeddings, radius_graph, sq_norms


def purity_radius(X: np.ndarray, labels: np.ndarray, purity: float, queries: np.ndarray) -> float:
    """Largest δ with ≥ ``purity`` of balls around ``queries`` (positions in X) pure.

    X: (n, d); labels: (n,) cluster ids.  Distances computed in blocks.
    """
    X = as_f32(X)
    xn = sq_norms(X)
    other = np.empty(len(queries), dtype=np.float32)
    rows = max(1, (1 << 23) // len(X))
    for s in range(0, len(queries), rows):
        q = queries[s:s + rows]
        d = xn[q, None] + xn[None, :] - 2.0 * (X[q] @ X.T)  # (rows, n)
        d[labels[q, None] == labels[None, :]] = np.inf
        other[s:s + rows] = np.sqrt(np.maximum(d.min(axis=1), 0.0))
    finite = other[np.isfinite(other)]
    if len(finite) == 0:  # a single cluster: every ball is pure
        return float(np.inf)
    return float(np.quantile(other, 1.0 - purity, method="lower")) * (1 - 1e-6)


@STRATEGIES.register(name="probcover")
@dataclass(frozen=True)
class ProbCover:
    """ProbCover (Yehuda et al. 2022) on the embeddings (n, d) of pool and labelled,
    each ball capped at its ``max_edges`` // N nearest points (see the module docstring)."""

    radius: float | None = None  # δ; None = the paper's purity rule
    purity: float = 0.95  # α of the purity rule (paper: 0.95)
    purity_queries: int = 2000  # random points used to estimate the purity quantile
    max_edges: int = 20_000_000  # edge budget of the ε-graph (≈ 10 bytes/edge); caps each ball

    def __call__(self, view: ModelView, pool: IntArray, budget: int, rng: np.random.Generator) -> IntArray:
        lab = view.labelled
        E = pool_embeddings(view, np.concatenate([pool, lab]))  # (N, d)
        X = E.block(0, len(E))  # (N, d) float32: the O(N²·d) graph needs it whole
        n, N = len(pool), len(X)
        delta = self.radius
        if delta is None:
            labels, _ = kmeans(X, min(view.n_classes, N), rng)
            q = np.sort(rng.choice(N, size=min(N, self.purity_queries), replace=False))
            delta = purity_radius(X, labels, self.purity, q)
            if not np.isfinite(delta):
                delta = float(np.sqrt(sq_norms(as_f32(X - X.mean(0))).max())) * 2
        indptr, indices = radius_graph(X, delta, max(1, self.max_edges // N))
        A = sparse.csr_matrix((np.ones(len(indices), np.int8), indices, indptr), shape=(N, N))
        AT = A.T.tocsr()  # row j: the points whose ball contains j
        covered = np.zeros(N, dtype=bool)
        covered[A[np.arange(n, N)].indices] = True
        counts = A @ (~covered).astype(np.int64)  # (N,) uncovered points in each ball
        open_ = np.zeros(N, dtype=bool)
        open_[:n] = True  # only pool points can be picked
        picks = []
        for _ in range(budget):
            key = np.where(open_, counts, -1)
            i = argmax_random(key, rng)
            picks.append(i)
            open_[i] = False
            new = A[i].indices[~covered[A[i].indices]]
            if len(new):
                covered[new] = True
                counts -= np.bincount(AT[new].indices, minlength=N)
        return pool[np.asarray(picks, dtype=np.int64)]
