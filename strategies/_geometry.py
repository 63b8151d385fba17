"""Memory-bounded geometry shared by diversity strategies.

Nothing here builds an N×N matrix: distances are computed in row blocks of at
most ``BLOCK`` entries (float32, BLAS matmuls) and reduced on the fly.  Squared
Euclidean distances use ‖x−y‖² = ‖x‖² + ‖y‖² − 2⟨x, y⟩, clipped at 0.
Randomness (ties, k-means++ draws) comes only from the ``rng`` passed in.
Point sets may be arrays or :class:`altbench.view.Embeddings`, read block by
block, so a strategy never needs an (n, d) copy of the pool.
"""

from __future__ import annotations

from typing import Callable, Iterator

import numpy as np

from altbench.view import Embeddings

BLOCK = 1 << 23  # entries (float32) of one distance block: 32 MB
Rows = Embeddings | np.ndarray  # (n, d) points: an array or embeddings read in blocks


def as_f32(X: np.ndarray) -> np.ndarray:
    """(n, d) C-contiguous float32 view or copy of ``X``."""
    return np.ascontiguousarray(X, dtype=np.float32)


def sq_norms(X: np.ndarray) -> np.ndarray:
    """(n,) float32 squared row norms of (n, d) ``X``."""
    return np.einsum("ij,ij->i", X, X, dtype=np.float32)


def as_rows(X: Rows) -> Embeddings:
    """``X`` as :class:`Embeddings` (an array is wrapped as float32, no copy if it is)."""
    return X if isinstance(X, Embeddings) else Embeddings.of_array(as_f32(X))


def pool_embeddings(view, idx: np.ndarray) -> Embeddings:
    """(n, d) embeddings of pool rows ``idx``: ``view.embeddings`` if the view has it
    (no pool copy), else ``view.embed`` wrapped."""
    if hasattr(view, "embeddings"):
        return view.embeddings(idx)
    return Embeddings.of_array(as_f32(view.embed(idx)))


def row_blocks(X: Rows, rows: int) -> Iterator[tuple[int, np.ndarray]]:
    """(start, block) over the rows of X, ``rows`` at a time; array blocks keep their dtype."""
    if isinstance(X, Embeddings):
        yield from X.blocks(rows)
    else:
        for s in range(0, len(X), rows):
            yield s, X[s:s + rows]


def block_sq_norms(X: Rows) -> np.ndarray:
    """(n,) float32 squared row norms, one block at a time."""
    X = as_rows(X)
    out = np.empty(len(X), dtype=np.float32)
    for s, b in X.blocks():
        out[s:s + len(b)] = sq_norms(b)
    return out


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


def nearest(Q: Rows, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each row of Q (nq, d): (index (nq,) int64, squared distance (nq,) float32)
    of its nearest row of X (nx, d).  Empty X gives index −1, distance +inf.
    Q is read in row blocks (it may be :class:`Embeddings`)."""
    Q, X = as_rows(Q), as_f32(X)
    best_d = np.full(len(Q), np.inf, dtype=np.float32)
    best_i = np.full(len(Q), -1, dtype=np.int64)
    if len(X) == 0:
        return best_i, best_d
    xn = sq_norms(X)
    for s, q in Q.blocks(_rows_per_block(len(X))):
        d = q @ X.T  # (rows, nx)
        d *= np.float32(-2.0)
        d += sq_norms(q)[:, None]
        d += xn[None, :]
        i = d.argmin(axis=1)
        best_i[s:s + len(q)] = i
        best_d[s:s + len(q)] = np.maximum(d[np.arange(len(i)), i], 0.0)
        del q, d  # free this block before the next one is read
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


def radius_graph(X: np.ndarray, radius: float, max_neighbours: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """ε-ball graph of the rows of X (n, d) as CSR (indptr (n+1,), indices int32).

    i → j whenever ‖x_i − x_j‖ ≤ radius (each point is its own neighbour),
    keeping for each i at most its ``max_neighbours`` nearest such j (itself
    first; at an equal distance the lower index) when given.  Built block by
    block, so memory is O(BLOCK + edges) and edges ≤ n·max_neighbours.
    """
    X = as_f32(X)
    xn = sq_norms(X)
    r2 = np.float32(radius) ** 2
    m = len(X) if max_neighbours is None else max(1, int(max_neighbours))
    counts, cols = [], []
    for s in range(0, len(X), _rows_per_block(len(X))):
        d = X[s:s + _rows_per_block(len(X))] @ X.T  # (rows, n)
        d *= np.float32(-2.0)
        d += xn[s:s + len(d), None]
        d += xn[None, :]
        r = np.arange(len(d))
        d[r, s + r] = -np.inf  # itself: always in, always first
        hit = d <= r2
        c = np.count_nonzero(hit, axis=1)
        over = np.flatnonzero(c > m)
        if len(over):
            hit[over] = _nearest_mask(d[over], m)
            c[over] = m
        counts.append(c)
        cols.append((np.flatnonzero(hit) % len(X)).astype(np.int32))
    counts = np.concatenate(counts)
    total = int(counts.sum())
    indptr = np.zeros(len(X) + 1, dtype=np.int32 if total < 2**31 else np.int64)  # int32: no upcast in scipy
    np.cumsum(counts, out=indptr[1:])
    return indptr, np.concatenate(cols)


def _nearest_mask(d: np.ndarray, m: int) -> np.ndarray:
    """(r, n) bool: the m smallest entries of each row of d (r, n); at the m-th value the
    lowest columns (a stable sort's order)."""
    kth = np.partition(d, m - 1, axis=1)[:, m - 1:m]  # (r, 1) the m-th smallest
    mask = d <= kth
    for i in np.flatnonzero(np.count_nonzero(mask, axis=1) > m):  # ties at the m-th value: drop the last ones
        tied = np.flatnonzero(d[i] == kth[i, 0])
        mask[i, tied[m - np.count_nonzero(d[i] < kth[i, 0]):]] = False
    return mask


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


def euclidean_exact(Q: Rows, X: np.ndarray) -> np.ndarray:
    """(nq,) float64 Euclidean distance of each row of Q (nq, d) to its nearest row of X (nx, d),
    from the differences themselves (no ‖x‖² + ‖y‖² − 2⟨x, y⟩ cancellation), in blocks of at
    most ``BLOCK`` differences; +inf when X is empty.  Q is read in row blocks."""
    X = np.asarray(X, dtype=np.float64)
    out = np.full(len(Q), np.inf)
    if len(X) == 0:
        return out
    rows = max(1, BLOCK // max(1, len(X) * X.shape[1]))
    for s, q in row_blocks(Q, rows):
        diff = np.asarray(q, dtype=np.float64)[:, None, :] - X[None, :, :]  # (rows, nx, d)
        out[s:s + len(q)] = np.sqrt(np.einsum("ijk,ijk->ij", diff, diff)).min(axis=1)
    return out
