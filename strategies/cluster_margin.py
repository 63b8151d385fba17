"""Cluster-Margin: margin candidates, diversified by clusters, round-robin.

Citovsky, DeSalvo, Gentile, Karydas, Rajagopalan, Rostamizadeh & Kumar,
"Batch Active Learning at Scale", NeurIPS 2021.

Deviation (documented): the paper clusters the whole pool once with
average-linkage HAC; we cluster only the ``margin_factor·budget`` lowest-margin
candidates (at most ``max_candidates``), which is what the round-robin step
consumes, so memory is O(m²) in the candidate count m, never in the pool.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from altbench.registry import STRATEGIES
from altbench.api import IntArray, ModelView  # the Protocol: the harness's view and FakeView
from altbench.strategies._select import top_k
from altbench.strategies.uncertainty import SCORES


def round_robin(labels: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """k positions drawn round-robin over clusters, smallest cluster first.

    labels: (m,) cluster id per candidate.  Within a cluster the order is a
    uniform permutation; equal-size clusters are ordered at random.
    """
    ids, sizes = np.unique(labels, return_counts=True)
    order = ids[np.lexsort((rng.random(len(ids)), sizes))]
    members = [rng.permutation(np.flatnonzero(labels == c)) for c in order]
    depth = max(len(m) for m in members)
    grid = np.full((depth, len(members)), -1, dtype=np.int64)  # row r = r-th pick of each cluster
    for j, m in enumerate(members):
        grid[: len(m), j] = m
    flat = grid.ravel()
    return flat[flat >= 0][:k]


@STRATEGIES.register(name="cluster_margin")
@dataclass(frozen=True)
class ClusterMargin:
    """Cluster-Margin (Citovsky et al. 2021) on embeddings h (n, d) and p (n, C)."""

    margin_factor: int = 10  # candidates = this × budget lowest-margin points (paper: k_m ≈ 10 k_t)
    max_candidates: int = 8000  # cap on candidates (HAC memory is O(m²))
    clusters_per_pick: float = 1.0  # HAC is cut into this × budget clusters

    def __call__(self, view: ModelView, pool: IntArray, budget: int, rng: np.random.Generator) -> IntArray:
        from scipy.cluster.hierarchy import fcluster, linkage

        m = min(len(pool), max(budget, min(self.margin_factor * budget, self.max_candidates)))
        cand = top_k(SCORES["margin"](view.predict_proba(pool)), m, rng)  # (m,) positions
        n_clusters = max(1, int(round(self.clusters_per_pick * budget)))
        if m <= n_clusters or m < 2:
            labels = np.arange(m)
        else:
            Z = linkage(view.embed(pool[cand]).astype(np.float64), method="average")
            labels = fcluster(Z, t=n_clusters, criterion="maxclust")
        return pool[cand[round_robin(labels, budget, rng)]]
