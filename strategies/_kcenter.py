"""k-center greedy (Sener & Savarese 2018) over points read in blocks.

The points are an array or :class:`altbench.view.Embeddings`; only O(n) vectors
(the distance to the nearest centre, when it was last updated), the (k, d)
picked centres and blocks of a few MB are ever held, never an (n, d) copy.
"""

from __future__ import annotations

import numpy as np

from altbench.strategies._geometry import Rows, argmax_random, as_rows, block_sq_norms, small_gram

REFRESH_BLOCK = 1 << 20  # entries (float32) of one refresh distance block: 4 MB


def kcenter_greedy(X: Rows, min_sq: np.ndarray, k: int, rng: np.random.Generator,
                   block: int = 256, first_tie: bool = False) -> np.ndarray:
    """k-center greedy: k rows of X (n, d) in pick order.

    ``min_sq`` (n,): squared distance of each row to the nearest existing
    centre (+inf if none; then the first pick is uniform).  Each pick is the
    row farthest from all centres, exact ties drawn by ``rng`` (or the first
    such row with ``first_tie``) — the same picks as the naive loop that
    updates every row after every pick.

    Lazy evaluation keeps it fast: ``d`` holds upper bounds (a row's distance
    only shrinks as centres are added), and only the ``block`` rows with the
    largest bounds are brought up to date, against the centres added since
    their last update; the block doubles until its best exact value beats
    every remaining bound.  Worst case O(n·d·k) like the naive loop, O(n + k·d)
    extra memory.
    """
    X = as_rows(X)
    n = len(X)
    xn = block_sq_norms(X)  # (n,)
    d = np.array(min_sq, dtype=np.float32)  # upper bounds on squared distance to the centres
    last = np.zeros(n, dtype=np.int64)  # picks[:last[i]] are folded into d[i]
    picks = np.empty(k, dtype=np.int64)
    centres = np.empty((k, X.shape[1]), dtype=np.float32)  # (k, d) rows of the picks
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
                _refresh(X, xn, d, last, stale, picks[:t], centres[:t])
            best = d[cand].max()
            if best > rest or b >= n:
                break
            b *= 2
        ties = np.sort(cand[d[cand] == best])
        c = int(ties[0] if len(ties) == 1 or first_tie else rng.choice(ties))
        picks[t] = c
        centres[t] = X.take(np.array([c]))[0]
        d[c] = -np.inf  # never pick a centre twice
    return picks


def _refresh(X, xn, d, last, rows, picks, centres) -> None:
    """Fold the centres each row in ``rows`` has not yet seen into d[rows] (in place).

    Rows are bucketed by age (t − last, in powers of two) so a row that saw
    all but one centre is not compared with hundreds of old ones.  A row
    compared again with a centre it saw gets the same value, so the blocks
    may be cut anywhere.
    """
    t = len(picks)
    age_bucket = np.log2(t - last[rows]).astype(np.int64)  # (len(rows),)
    for bucket in np.unique(age_bucket):
        group = rows[age_bucket == bucket]
        step = max(1, min(X.block_rows(), REFRESH_BLOCK // (t - int(last[group].min()))))
        for s in range(0, len(group), step):
            r = group[s:s + step]
            lo = int(last[r].min())
            dist = small_gram(X.take(r), centres[lo:])  # (len(r), t − lo)
            dist *= np.float32(-2.0)
            dist += xn[r, None]
            dist += xn[picks[lo:]][None, :]
            d[r] = np.minimum(d[r], np.maximum(dist.min(axis=1), 0.0))
            last[r] = t


def kcenter_greedy_exact(X: Rows, min_dist: np.ndarray, k: int, first_tie: bool,
                         rng: np.random.Generator) -> np.ndarray:
    """k-center greedy in float64 on exact Euclidean distances: k rows of X (n, d) in pick order.

    ``min_dist`` (n,): distance of each row to its nearest existing centre
    (+inf if none).  Each pick is the row farthest from all centres; among
    exact ties the first row (``first_tie``, as Zhan et al.'s and Lu et al.'s
    code: ``argmax`` of float64 ``cdist`` distances) or one drawn by ``rng``.
    O(n·d) per pick (one difference pass against the new centre, block by
    block), O(n) memory.
    """
    X = as_rows(X)
    d = np.array(min_dist, dtype=np.float64)  # (n,)
    picks = np.empty(k, dtype=np.int64)
    for t in range(k):
        c = int(np.argmax(d)) if first_tie else argmax_random(d, rng)
        picks[t] = c
        xc = X.take(np.array([c]))[0].astype(np.float64)
        for s, b in X.blocks():
            diff = b.astype(np.float64) - xc
            np.minimum(d[s:s + len(b)], np.sqrt(np.einsum("ij,ij->i", diff, diff)), out=d[s:s + len(b)])
        d[c] = -np.inf  # never pick a centre twice
    return picks
