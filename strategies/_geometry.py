"""Memory-bounded geometry shared by diversity strategies.

Nothing here builds an N×N matrix: distances are computed in row blocks of at
most ``BLOCK`` entries (float32, BLAS matmuls) and reduced on the fly.  Squared
Euclidean distances use ‖x−y‖² = ‖x‖² + ‖y‖² − 2⟨x, y⟩, clipped at 0.
Randomness (ties, k-means++ draws) comes only from the ``rng`` passed in.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

BLOCK = 1 << 23  # entries (float32) of one distance block: 32 MB


def as_f32(X: np.ndarray) -> np.ndarray:
    """(n, d) C-contiguous float32 view or copy of ``X``."""
    return np.ascontiguousarray(X, dtype=np.float32)


def sq_norms(X: np.ndarray) -> np.ndarray:
    """(n,) float32 squared row norms of (n, d) ``X``."""
    return np.einsum("ij,ij->i", X, X, dtype=np.float32)


def matvec(X: np.ndarray, v: np.ndarray) -> np.ndarray:
    """(n,) X @ v for X (n, d), as one single-threaded streaming pass.

    Deliberately not BLAS: a matvec is memory-bound, and OpenBLAS's threaded
    gemv stalls badly when the cores are shared (measured 3–10× slower).
    """
    return np.einsum("ij,j->i", X, v)


def small_gram(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """(m, k) A @ Bᵀ for thin operands (m·k small), without BLAS threading."""
    return np.einsum("ij,kj->ik", A, B)


def argmax_random(v: np.ndarray, rng: np.random.Generator) -> int:
    """Position of the largest entry of (n,) ``v``; exact ties drawn by ``rng``."""
    m = v.max()
    ties = np.flatnonzero(v == m)
    return int(ties[0] if len(ties) == 1 else rng.choice(ties))


def _rows_per_block(n_cols: int, cap: int = 4096) -> int:
    return max(1, min(cap, BLOCK // max(1, n_cols)))


def nearest(Q: np.ndarray, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each row of Q (nq, d): (index (nq,) int64, squared distance (nq,) float32)
    of its nearest row of X (nx, d).  Empty X gives index −1, distance +inf."""
    Q, X = as_f32(Q), as_f32(X)
    best_d = np.full(len(Q), np.inf, dtype=np.float32)
    best_i = np.full(len(Q), -1, dtype=np.int64)
    if len(X) == 0:
        return best_i, best_d
    qn, xn = sq_norms(Q), sq_norms(X)
    rows = _rows_per_block(len(X))
    for s in range(0, len(Q), rows):
        d = (Q[s:s + rows] @ X.T) * np.float32(-2.0)  # (rows, nx)
        d += qn[s:s + rows, None]
        d += xn[None, :]
        i = d.argmin(axis=1)
        best_i[s:s + rows] = i
        best_d[s:s + rows] = np.maximum(d[np.arange(len(i)), i], 0.0)
    return best_i, best_d


def knn(Q: np.ndarray, X: np.ndarray, k: int, *, skip_self: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` nearest rows of X (nx, d) to each row of Q (nq, d), chunked.

    Returns (indices (nq, k) int64, squared distances (nq, k) float32), nearest
    first.  ``skip_self``: Q is X, so drop each row's own index.
    """
    Q, X = as_f32(Q), as_f32(X)
    extra = int(skip_self)
    if not 0 < k + extra <= len(X):
        raise ValueError(f"cannot take {k} neighbours among {len(X) - extra} points; lower k")
    qn, xn = sq_norms(Q), sq_norms(X)
    out_i = np.empty((len(Q), k), dtype=np.int64)
    out_d = np.empty((len(Q), k), dtype=np.float32)
    rows = _rows_per_block(len(X))
    for s in range(0, len(Q), rows):
        d = (Q[s:s + rows] @ X.T) * np.float32(-2.0)
        d += qn[s:s + rows, None]
        d += xn[None, :]
        r = np.arange(len(d))
        if skip_self:
            d[r, s + r] = np.inf
        part = np.argpartition(d, k - 1, axis=1)[:, :k] if k < d.shape[1] else np.tile(np.arange(k), (len(d), 1))
        pd = np.take_along_axis(d, part, axis=1)
        order = np.argsort(pd, axis=1, kind="stable")
        out_i[s:s + rows] = np.take_along_axis(part, order, axis=1)
        out_d[s:s + rows] = np.maximum(np.take_along_axis(pd, order, axis=1), 0.0)
    return out_i, out_d


def radius_graph(X: np.ndarray, radius: float, max_edges: int = 200_000_000) -> tuple[np.ndarray, np.ndarray]:
    """ε-ball graph of the rows of X (n, d) as CSR (indptr (n+1,), indices int32).

    i → j whenever ‖x_i − x_j‖ ≤ radius (each point is its own neighbour).
    Built block by block, so memory is O(BLOCK + edges), never n²; more than
    ``max_edges`` edges is an error.
    """
    X = as_f32(X)
    xn = sq_norms(X)
    r2 = np.float32(radius) ** 2
    rows = _rows_per_block(len(X))
    counts, cols = [], []
    for s in range(0, len(X), rows):
        d = (X[s:s + rows] @ X.T) * np.float32(-2.0)
        d += xn[s:s + rows, None]
        d += xn[None, :]
        hit = d <= r2
        hit[np.arange(len(d)), s + np.arange(len(d))] = True
        counts.append(hit.sum(axis=1))
        cols.append(np.nonzero(hit)[1].astype(np.int32))
        if sum(len(c) for c in cols) > max_edges:
            raise ValueError(f"the radius-{radius:.4g} graph has over {max_edges} edges; use a smaller radius")
    indptr = np.zeros(len(X) + 1, dtype=np.int64)
    np.cumsum(np.concatenate(counts), out=indptr[1:])
    return indptr, np.concatenate(cols)


def kcenter_greedy(X: np.ndarray, min_sq: np.ndarray, k: int, rng: np.random.Generator,
                   block: int = 256, first_tie: bool = False) -> np.ndarray:
    """k-center greedy (Sener & Savarese 2018): k rows of X (n, d) in pick order.

    ``min_sq`` (n,): squared distance of each row to the nearest existing
    centre (+inf if none; then the first pick is uniform).  Each pick is the
    row farthest from all centres, exact ties drawn by ``rng`` (or the first
    such row with ``first_tie``) — the same picks as the naive loop that
    updates every row after every pick.

    Lazy evaluation keeps it fast: ``d`` holds upper bounds (a row's distance
    only shrinks as centres are added), and only the ``block`` rows with the
    largest bounds are brought up to date, against the centres added since
    their last update; the block doubles until its best exact value beats
    every remaining bound.  Worst case O(n·d·k) like the naive loop, O(n)
    extra memory, never n×n.
    """
    X = as_f32(X)
    n = len(X)
    xn = sq_norms(X)
    d = np.array(min_sq, dtype=np.float32)  # upper bounds on squared distance to the centres
    last = np.zeros(n, dtype=np.int64)  # picks[:last[i]] are folded into d[i]
    picks = np.empty(k, dtype=np.int64)
    for t in range(k):
        b = block
        while True:
            if b >= n:
                cand = np.arange(n)
                rest = -np.inf
            else:
                part = np.argpartition(-d, b)
                cand, rest = part[:b], d[part[b]]
            stale = cand[last[cand] < t]
            if len(stale):
                _refresh(X, xn, d, last, stale, picks[:t])
            best = d[cand].max()
            if best > rest or b >= n:
                break
            b *= 2
        ties = np.sort(cand[d[cand] == best])
        c = int(ties[0] if len(ties) == 1 or first_tie else rng.choice(ties))
        picks[t] = c
        d[c] = -np.inf  # never pick a centre twice
    return picks


def _refresh(X, xn, d, last, rows, centres) -> None:
    """Fold the centres each row in ``rows`` has not yet seen into d[rows] (in place).

    Rows are bucketed by age (t − last, in powers of two) so a row that saw
    all but one centre is not compared with hundreds of old ones.
    """
    t = len(centres)
    age_bucket = np.log2(t - last[rows]).astype(np.int64)  # (len(rows),)
    for bucket in np.unique(age_bucket):
        group = rows[age_bucket == bucket]
        step = max(1, BLOCK // (t - int(last[group].min())))
        for s in range(0, len(group), step):
            r = group[s:s + step]
            c = centres[int(last[r].min()):]
            dist = small_gram(X[r], X[c]) * np.float32(-2.0)  # (len(r), len(c))
            dist += xn[r, None]
            dist += xn[c][None, :]
            d[r] = np.minimum(d[r], np.maximum(dist.min(axis=1), 0.0))
            last[r] = t


DotFn = Callable[[int], np.ndarray]  # i ↦ (n,) inner products ⟨g_j, g_i⟩ for all j


def kmeanspp(norms: np.ndarray, dot_with: DotFn, k: int, rng: np.random.Generator,
             first: int | None = None) -> np.ndarray:
    """k-means++ seeding (Arthur & Vassilvitskii 2007) over an implicit point set.

    norms: (n,) squared norms ‖g_i‖²; ``dot_with(i)`` returns the (n,) inner
    products with point i, so the points themselves need never exist.  The
    first centre is ``first`` (or uniform); each next one is drawn with
    probability ∝ D² by ``u = rng.random()`` and a search in cumsum(D²).
    Returns (k,) int64 positions in pick order.
    """
    n = len(norms)
    norms = np.asarray(norms, dtype=np.float32)
    picks = np.empty(k, dtype=np.int64)
    chosen = np.zeros(n, dtype=bool)
    d2 = np.full(n, np.inf, dtype=np.float32)
    c = int(rng.integers(n)) if first is None else int(first)
    for t in range(k):
        picks[t] = c
        chosen[c] = True
        if t == k - 1:
            break
        dist = norms + norms[c] - np.float32(2.0) * dot_with(c)
        np.minimum(d2, np.maximum(dist, 0.0), out=d2)
        d2[chosen] = 0.0
        cum = np.cumsum(d2, dtype=np.float64)
        u = rng.random()
        if cum[-1] > 0:
            c = int(np.searchsorted(cum, u * cum[-1], side="right"))
            c = min(c, n - 1)
        if cum[-1] <= 0 or chosen[c]:  # all remaining coincide with centres
            free = np.flatnonzero(~chosen)
            c = int(free[min(int(u * len(free)), len(free) - 1)])
    return picks


def kmeans(X: np.ndarray, k: int, rng: np.random.Generator, n_iter: int = 10,
           init_sample: int = 20) -> tuple[np.ndarray, np.ndarray]:
    """Lloyd's k-means, seeded by k-means++ on a random subset of ``init_sample·k`` rows.

    X: (n, d).  Returns (labels (n,) int64, centres (k, d) float32).  An empty
    cluster keeps its previous centre.  Assignment is chunked (``nearest``).
    """
    X = as_f32(X)
    n = len(X)
    if not 0 < k <= n:
        raise ValueError(f"cannot make {k} clusters of {n} points")
    sub = np.sort(rng.choice(n, size=min(n, init_sample * k), replace=False))
    S = X[sub]
    seeds = kmeanspp(sq_norms(S), lambda i: matvec(S, S[i]), k, rng)
    centres = S[seeds].copy()
    labels = np.zeros(n, dtype=np.int64)
    for it in range(n_iter):
        new, _ = nearest(X, centres)
        if it > 0 and np.array_equal(new, labels):
            break
        labels = new
        counts = np.bincount(labels, minlength=k)
        sums = np.zeros_like(centres)
        _segment_sum(X, labels, sums)
        full = counts > 0
        centres[full] = sums[full] / counts[full, None]
    labels, _ = nearest(X, centres)
    return labels, centres


def _segment_sum(X: np.ndarray, labels: np.ndarray, out: np.ndarray) -> None:
    """out[c] += Σ_{labels==c} X rows, via a sort (faster than np.add.at)."""
    order = np.argsort(labels, kind="stable")
    bounds = np.flatnonzero(np.diff(labels[order])) + 1
    starts = np.concatenate([[0], bounds])
    out[labels[order[starts]]] += np.add.reduceat(X[order], starts, axis=0)


def euclidean_exact(Q: np.ndarray, X: np.ndarray) -> np.ndarray:
    """(nq,) float64 Euclidean distance of each row of Q (nq, d) to its nearest row of X (nx, d),
    from the differences themselves (no ‖x‖² + ‖y‖² − 2⟨x, y⟩ cancellation), in blocks of at
    most ``BLOCK`` differences; +inf when X is empty."""
    Q, X = np.asarray(Q, dtype=np.float64), np.asarray(X, dtype=np.float64)
    out = np.full(len(Q), np.inf)
    if len(X) == 0:
        return out
    rows = max(1, BLOCK // max(1, len(X) * Q.shape[1]))
    for s in range(0, len(Q), rows):
        diff = Q[s:s + rows, None, :] - X[None, :, :]  # (rows, nx, d)
        out[s:s + rows] = np.sqrt(np.einsum("ijk,ijk->ij", diff, diff)).min(axis=1)
    return out


def kcenter_greedy_exact(X: np.ndarray, min_dist: np.ndarray, k: int, first_tie: bool,
                         rng: np.random.Generator) -> np.ndarray:
    """k-center greedy in float64 on exact Euclidean distances: k rows of X (n, d) in pick order.

    ``min_dist`` (n,): distance of each row to its nearest existing centre
    (+inf if none).  Each pick is the row farthest from all centres; among
    exact ties the first row (``first_tie``, as Zhan et al.'s and Lu et al.'s
    code: ``argmax`` of float64 ``cdist`` distances) or one drawn by ``rng``.
    O(n·d) per pick (one difference pass against the new centre), O(n) memory.
    """
    X = np.asarray(X, dtype=np.float64)
    d = np.array(min_dist, dtype=np.float64)  # (n,)
    picks = np.empty(k, dtype=np.int64)
    for t in range(k):
        c = int(np.argmax(d)) if first_tie else argmax_random(d, rng)
        picks[t] = c
        diff = X - X[c]
        np.minimum(d, np.sqrt(np.einsum("ij,ij->i", diff, diff)), out=d)
        d[c] = -np.inf  # never pick a centre twice
    return picks
