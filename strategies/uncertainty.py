"""Random sampling and the classic uncertainty strategies.

All take ``p = view.predict_proba(pool)`` of shape (n_pool, C) and pick the
``budget`` highest-scoring pool points via :func:`top_k` (near-ties at random).

Scores are float64 vectors (n,), computed without float64 copies of P:
P is read in row blocks of about :data:`BLOCK` elements (a float64 work
buffer that stays in cache); the per-class maxima are taken on a transposed
block so every pass is a contiguous vector operation.  The maxima are exact
selections, so least-confidence and margin equal their float64 definitions
bit for bit; entropy works in float64 too (``p log p`` of float32 input is
taken after an exact cast), so its scores differ from a float64 reference
only in the summation order (last bits), which :func:`top_k` rounds away.
"""

from __future__ import annotations

import numpy as np

from altbench.registry import STRATEGIES
from altbench.api import IntArray, ModelView  # the Protocol: the harness's view and FakeView
from altbench.strategies._select import top_k

BLOCK = 1 << 16  # elements per work block: 512 KB of float64, cache-sized (measured: 2^15..2^17 alike)
_TINY = np.finfo(np.float64).tiny  # log(tiny)·0 = 0, so 0 log 0 = 0 without a mask


@STRATEGIES.register
def random(view: ModelView, pool: IntArray, budget: int, rng: np.random.Generator) -> IntArray:
    """Uniform sampling without replacement: the baseline every paper must beat."""
    return rng.choice(pool, size=budget, replace=False).astype(np.int64)


def _row_blocks(n: int, width: int):
    """Row slices of blocks of about BLOCK elements of an (n, width) array."""
    rows = max(1, BLOCK // max(width, 1))
    return (slice(s, min(s + rows, n)) for s in range(0, n, rows))


def float64_blocks(x: np.ndarray):
    """Yield (row slice, float64 block of those rows) of x (n, ...), about BLOCK elements each.

    A C-contiguous float64 x is yielded as views; anything else is copied
    block by block into one reused float64 buffer (never a float64 copy of x).
    """
    x = np.asarray(x)
    n, width = len(x), int(np.prod(x.shape[1:], dtype=np.int64))
    direct = x.dtype == np.float64 and x.flags.c_contiguous
    buf = None if direct else np.empty((min(n, max(1, BLOCK // max(width, 1))),) + x.shape[1:])
    for sl in _row_blocks(n, width):
        if direct:
            yield sl, x[sl]
        else:
            b = buf[:sl.stop - sl.start]
            b[...] = x[sl]
            yield sl, b


def entropy_rows(x: np.ndarray) -> np.ndarray:
    """−Σ x log x over all but the first axis, with 0 log 0 = 0.  x: (n, ...) → (n,) float64.

    The one p·log p helper (entropy, max entropy, BALD): float64 work on
    cache-sized row blocks; NaN in x gives NaN (which :func:`top_k` rejects).
    """
    out = np.empty(len(x))
    for sl, blk in float64_blocks(x):
        out[sl] = plogp_sum(blk)
    return np.negative(out, out=out)


def plogp_sum(blk: np.ndarray) -> np.ndarray:
    """Σ p log p over all but the first axis of a float64 block (m, ...) → (m,); 0 log 0 = 0."""
    flat = blk.reshape(len(blk), -1)  # a view: blocks are contiguous
    lg = np.maximum(flat, _TINY)
    np.log(lg, out=lg)
    return np.einsum("ij,ij->i", lg, flat)  # numpy's own loop, no BLAS


def top_two(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Largest and second-largest entry of each row.  p: (n, C) → two (n,) in p's dtype.

    C = 1 gives a second-largest of 0 (a one-class model has margin p = 1).
    """
    p = np.asarray(p)
    n, C = p.shape
    t1, t2 = np.empty(n, p.dtype), np.zeros(n, p.dtype)
    rows = max(1, BLOCK // max(C, 1))
    colT, tmp = np.empty((C, min(n, rows)), p.dtype), np.empty(min(n, rows), p.dtype)
    for sl in _row_blocks(n, C):
        m = sl.stop - sl.start
        T, a, b, t = colT[:, :m], t1[sl], t2[sl], tmp[:m]
        T[...] = p[sl].T  # (C, m): each class a contiguous row
        if C == 1:
            a[...] = T[0]
            continue
        np.maximum(T[0], T[1], out=a)
        np.minimum(T[0], T[1], out=b)
        for row in T[2:]:
            np.minimum(a, row, out=t)
            np.maximum(b, t, out=b)  # the second largest so far
            np.maximum(a, row, out=a)
    return t1, t2


def _least_confidence_score(p: np.ndarray) -> np.ndarray:
    return 1.0 - top_two(p)[0].astype(np.float64)  # (n,)


def _margin_score(p: np.ndarray) -> np.ndarray:
    t1, t2 = top_two(p)
    return 1.0 - (t1.astype(np.float64) - t2)  # small margin = high score, in [0, 1]


def _entropy_score(p: np.ndarray) -> np.ndarray:
    return entropy_rows(p)


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


# p (n, C) ↦ (n,) non-negative float64 scores, higher = more informative (also used by
# the stochastic and density-weighted strategies).
SCORES = {"least_confidence": _least_confidence_score, "margin": _margin_score,
          "entropy": _entropy_score}
