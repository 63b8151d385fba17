"""TypiClust: the most typical point of each uncovered cluster.

Hacohen, Dekel & Weinshall, "Active Learning on a Budget: Opposite
Strategies Suit High and Low Budgets", ICML 2022.

Embeddings of pool ∪ labelled are clustered into |L| + budget clusters
(capped at ``max_clusters``).  Each pick takes the cluster with the fewest
labelled (or already picked) points — ties: the largest — among clusters of
at least ``min_cluster_size`` points, and returns its most typical
unlabelled point, typicality(x) = 1 / mean distance to its ``k_neighbours``
nearest neighbours inside the cluster.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from altbench.registry import STRATEGIES
from altbench.api import IntArray, ModelView  # the Protocol: the harness's view and FakeView
from altbench.strategies._geometry import argmax_random, kmeans, knn


def typicality(X: np.ndarray, k: int) -> np.ndarray:
    """(n,) 1 / mean Euclidean distance to the k nearest other rows of X (n, d)."""
    k = min(k, len(X) - 1)
    if k < 1:
        return np.ones(len(X))
    _, d2 = knn(X, X, k, skip_self=True)
    return 1.0 / (np.sqrt(d2).mean(axis=1) + 1e-12)


@STRATEGIES.register(name="typiclust")
@dataclass(frozen=True)
class TypiClust:
    """TypiClust (Hacohen et al. 2022) on ``view.embed`` (n, d) of pool and labelled."""

    k_neighbours: int = 20  # neighbours in the typicality estimate (paper: 20)
    min_cluster_size: int = 5  # smaller clusters are skipped (paper: 5)
    max_clusters: int = 500  # cap on the number of k-means clusters (paper: 500)
    kmeans_iter: int = 10  # Lloyd iterations

    def __call__(self, view: ModelView, pool: IntArray, budget: int, rng: np.random.Generator) -> IntArray:
        lab = view.labelled
        X = np.concatenate([view.embed(pool), view.embed(lab)]) if len(lab) else view.embed(pool)
        n = len(pool)
        k = min(len(X), len(lab) + budget, self.max_clusters)
        labels, _ = kmeans(X, k, rng, n_iter=self.kmeans_iter)  # (n + n_lab,)
        sizes = np.bincount(labels, minlength=k)
        covered = np.bincount(labels[n:], minlength=k).astype(np.float64)
        free = np.bincount(labels[:n], minlength=k)  # unlabelled points left per cluster
        small = sizes < self.min_cluster_size
        picked = np.zeros(n, dtype=bool)
        picks, typ_cache = [], {}
        for _ in range(budget):
            ok = (free > 0) & ~small
            if not ok.any():  # only tiny clusters left: allow them
                ok = free > 0
            # fewest covered first, then largest; exact ties at random
            key = np.where(ok, -covered * (len(X) + 1) + sizes, -np.inf)
            c = argmax_random(key, rng)
            members = np.flatnonzero(labels == c)
            if c not in typ_cache:
                typ_cache[c] = typicality(X[members], self.k_neighbours)
            typ = typ_cache[c].copy()
            typ[(members >= n) | picked[np.minimum(members, n - 1)]] = -np.inf  # labelled or taken
            i = members[argmax_random(typ, rng)]
            picks.append(i)
            picked[i] = True
            covered[c] += 1
            free[c] -= 1
        return pool[np.asarray(picks, dtype=np.int64)]
