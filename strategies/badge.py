"""BADGE: k-means++ seeding on last-layer gradient embeddings, kernelised.

Ash, Zhang, Krishnamurthy, Langford & Agarwal, "Deep Batch Active Learning
by Diverse, Uncertain Gradient Lower Bounds", ICLR 2020.

The gradient embedding of x is g = (p − e_ŷ) ⊗ h, with p (C,) the predicted
probabilities, ŷ = argmax p and h (d,) the penultimate features.  BADGE
seeds k-means++ on g; we never build the (n, d·C) matrix of g's, since

    ⟨g_i, g_j⟩ = ⟨a_i, a_j⟩·⟨h_i, h_j⟩,   ‖g_i‖² = ‖a_i‖²·‖h_i‖²,   a = p − e_ŷ,

so each k-means++ step costs one (n, C) matvec and at most one (n, d)
matvec, and the memory is O(n·C) plus blocks of a few MB: the (n, d)
features are read block by block (``view.embeddings``), never copied.  The (n, d) product is skipped for
points whose distance to the new centre provably exceeds their current D²:
‖g_i − g_c‖² ≥ ‖g_i‖² + ‖g_c‖² − 2|⟨a_i, a_c⟩|·‖h_i‖·‖h_c‖ (Cauchy–Schwarz on
the h factor), so the picks equal plain k-means++ on materialised g's.
"""

from __future__ import annotations

import numpy as np

from altbench.registry import STRATEGIES
from altbench.api import IntArray, ModelView  # the Protocol: the harness's view and FakeView
from altbench.strategies._geometry import Rows, argmax_random, as_rows, block_sq_norms, matvec, pool_embeddings, sq_norms


def residuals(p: np.ndarray) -> np.ndarray:
    """(n, C) float32 a = p − e_argmax(p), the gradient factor of the loss at ŷ."""
    a = np.array(p, dtype=np.float32)
    a[np.arange(len(a)), a.argmax(axis=1)] -= 1.0
    return a


def badge_seeding(a: np.ndarray, h: Rows, k: int, rng: np.random.Generator) -> np.ndarray:
    """k-means++ on g_i = a_i ⊗ h_i without forming g: (k,) positions in pick order.

    a: (n, C) float32 residuals, h: (n, d) features (an array or Embeddings,
    read in blocks).  First centre:
    the largest ‖g‖ (ties by ``rng``); then one ``u = rng.random()`` per pick,
    drawing the point where cumsum(D²) first exceeds u·ΣD² — the same draws
    as :func:`strategies._geometry.kmeanspp` on materialised g's.
    """
    n, h = len(a), as_rows(h)
    hn = np.sqrt(block_sq_norms(h))  # (n,) ‖h‖
    g2 = sq_norms(a) * hn * hn  # (n,) ‖g‖²
    d2 = np.full(n, np.inf, dtype=np.float32)
    chosen = np.zeros(n, dtype=bool)
    picks = np.empty(k, dtype=np.int64)
    c = argmax_random(g2, rng)
    for t in range(k):
        picks[t] = c
        chosen[c] = True
        if t == k - 1:
            break
        ad = matvec(a, a[c])  # (n,) ⟨a_i, a_c⟩
        lower = g2 + g2[c] - np.float32(2.0) * np.abs(ad) * hn * hn[c]
        need = np.flatnonzero(lower < d2)
        hc = h.take(np.array([c]))[0]  # (d,)
        if len(need) > n // 4:
            dist = g2 + g2[c] - np.float32(2.0) * ad * _dots(h, hc)
            np.minimum(d2, np.maximum(dist, 0.0), out=d2)
        elif len(need):
            dist = g2[need] + g2[c] - np.float32(2.0) * ad[need] * _dots(h, hc, need)
            d2[need] = np.minimum(d2[need], np.maximum(dist, 0.0))
        d2[chosen] = 0.0
        cum = np.cumsum(d2, dtype=np.float64)
        u = rng.random()
        c = min(int(np.searchsorted(cum, u * cum[-1], side="right")), n - 1) if cum[-1] > 0 else -1
        if c < 0 or chosen[c]:  # every remaining point coincides with a centre
            free = np.flatnonzero(~chosen)
            c = int(free[min(int(u * len(free)), len(free) - 1)])
    return picks


def _dots(h, v: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
    """(m,) ⟨h_i, v⟩ for the rows of h (all, or positions ``rows``), block by block."""
    if rows is None:
        out = np.empty(len(h), dtype=np.float32)
        for s, b in h.blocks():
            out[s:s + len(b)] = matvec(b, v)
        return out
    step = h.block_rows()
    return np.concatenate([matvec(h.take(rows[s:s + step]), v) for s in range(0, len(rows), step)])


@STRATEGIES.register
def badge(view: ModelView, pool: IntArray, budget: int, rng: np.random.Generator) -> IntArray:
    """BADGE (Ash et al. 2020) without materialising gradient embeddings.

    Uses ``view.predict_proba`` (n, C) and the embeddings (n, d), read in
    blocks (``view.embeddings``).  The first
    centre is the largest gradient norm (as the authors' code; ties at
    random); each next one is drawn ∝ D², the squared distance to the nearest
    centre (see :func:`badge_seeding`).
    """
    a = residuals(view.predict_proba(pool))  # (n, C)
    return pool[badge_seeding(a, pool_embeddings(view, pool), budget, rng)]
