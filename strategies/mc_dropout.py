"""Uncertainty from MC-dropout samples: BALD, max entropy, variation ratios, mean STD.

Each score maps T stochastic predictions of a chunk of the pool, shape
(n, C, T), to (n,) float64 scores (higher = more informative).  The pool is
scored chunk by chunk (:func:`mc_scores`), so memory is O(chunk·C·T) whatever
the pool size; the masks come from the query ``rng``, so picks are
reproducible.  Entropies use the one p·log p helper of
:mod:`strategies.uncertainty` (float64 work on cache-sized blocks).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from altbench.registry import STRATEGIES
from altbench.api import IntArray, ModelView  # the Protocol: the harness's view and FakeView
from altbench.strategies._select import top_k
from altbench.strategies.uncertainty import float64_blocks, plogp_sum


def bald_score(pt: np.ndarray) -> np.ndarray:
    """Mutual information I[y; w] = H[E_t p_t] − E_t H[p_t] (Houlsby et al. 2011;
    Gal et al. 2017).  pt: (n, C, T) → (n,) float64.

    Float64 work on cache-sized row blocks (float32 samples are cast block by
    block, never as a whole), one pass for both terms.
    """
    T = pt.shape[2]
    out = np.empty(len(pt))
    for sl, blk in float64_blocks(pt):  # blk: (m, C, T) float64
        mean = np.einsum("ict->ic", blk)  # (m, C) sums over t, numpy's own loop
        mean /= T
        out[sl] = plogp_sum(blk) / T - plogp_sum(mean)  # H[mean] − mean H
    return np.maximum(out, 0.0, out=out)


def max_entropy_score(pt: np.ndarray) -> np.ndarray:
    """Predictive entropy H[E_t p_t] of the MC-averaged prediction (Shannon 1948;
    Gal et al. 2017's "Max Entropy").  pt: (n, C, T) → (n,) float64."""
    out = np.empty(len(pt))
    for sl, blk in float64_blocks(pt):
        out[sl] = -plogp_sum(np.einsum("ict->ic", blk) / pt.shape[2])
    return out


def variation_ratio_score(pt: np.ndarray) -> np.ndarray:
    """1 − (count of the modal argmax class)/T (Freeman 1965; Gal et al. 2017).
    pt: (n, C, T) → (n,)."""
    votes = pt.argmax(axis=1)  # (n, T)
    counts = (votes[:, :, None] == np.arange(pt.shape[1])).sum(axis=1)  # (n, C)
    return 1.0 - counts.max(axis=1) / pt.shape[2]


def mean_std_score(pt: np.ndarray) -> np.ndarray:
    """Mean over classes of the std of p(c|x, w_t) over t (Kampffmeyer et al. 2016;
    Gal et al. 2017).  pt: (n, C, T) → (n,)."""
    return pt.std(axis=2).mean(axis=1)


MC_SCORES: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "bald": bald_score, "max_entropy": max_entropy_score, "variation_ratios": variation_ratio_score,
    "mean_std": mean_std_score}


def mc_scores(view: ModelView, pool: IntArray, score: Callable[[np.ndarray], np.ndarray],
              n_samples: int, rng: np.random.Generator, chunk: int = 4096) -> np.ndarray:
    """(len(pool),) scores of ``score`` over MC samples, computed chunk by chunk."""
    out = np.empty(len(pool), dtype=np.float64)
    for s in range(0, len(pool), chunk):
        out[s:s + chunk] = score(view.predict_proba_mc(pool[s:s + chunk], n_samples, rng))
    return out


def subsample_pool(pool: IntArray, size: int | None, budget: int, rng: np.random.Generator) -> IntArray:
    """A uniform random subset of ``max(size, budget)`` pool indices to score, or the whole
    pool when ``size`` is None or not smaller (Gal et al. 2017 score 2,000 per round)."""
    if size is None or len(pool) <= max(size, budget):
        return pool
    if size < 1:
        raise ValueError(f"subsample must be a positive number of pool points or None, got {size}")
    return np.sort(rng.choice(pool, size=max(size, budget), replace=False)).astype(np.int64)


@dataclass(frozen=True)
class _McStrategy:
    n_samples: int = 20  # MC-dropout forward passes T (Gal et al. 2017 use 20)
    chunk: int = 4096  # pool points per predict_proba_mc call (bounds memory)
    subsample: int | None = None  # score a random subset of this many pool points (Gal et al. 2017: 2000); None = all
    score_name = "bald"

    def __call__(self, view: ModelView, pool: IntArray, budget: int, rng: np.random.Generator) -> IntArray:
        cand = subsample_pool(pool, self.subsample, budget, rng)
        s = mc_scores(view, cand, MC_SCORES[self.score_name], self.n_samples, rng, self.chunk)
        return cand[top_k(s, budget, rng)]


@STRATEGIES.register(name="bald")
@dataclass(frozen=True)
class Bald(_McStrategy):
    """Top-``budget`` BALD mutual information (Houlsby et al. 2011; Gal, Islam &
    Ghahramani 2017); samples (n, C, T) from ``view.predict_proba_mc``."""

    score_name = "bald"


@STRATEGIES.register(name="max_entropy")
@dataclass(frozen=True)
class MaxEntropy(_McStrategy):
    """Top-``budget`` entropy of the MC-dropout-averaged prediction (Gal et al.
    2017's Max Entropy; ``entropy`` is the same score on the deterministic
    softmax); samples (n, C, T)."""

    score_name = "max_entropy"


@STRATEGIES.register(name="variation_ratios")
@dataclass(frozen=True)
class VariationRatios(_McStrategy):
    """Top-``budget`` variation ratio of the T MC-dropout argmaxes (Freeman 1965;
    Gal et al. 2017); samples (n, C, T)."""

    score_name = "variation_ratios"


@STRATEGIES.register(name="mean_std")
@dataclass(frozen=True)
class MeanStd(_McStrategy):
    """Top-``budget`` mean standard deviation of MC-dropout probabilities
    (Kampffmeyer et al. 2016; Gal et al. 2017); samples (n, C, T)."""

    score_name = "mean_std"
