"""Shared selection helper for strategies: the seeded, near-tie-aware top-k.

Tie rule (what "equal scores" means).  Scores are compared after rounding
each float64 to :data:`KEEP_BITS` = 30 mantissa bits (round to nearest on the
bit pattern, so the rounding is monotone: it can merge neighbours, never
swap them).  Two scores that agree to about 2⁻³⁰ ≈ 9.3e-10 relative are
therefore tied; ties are broken by the seeded stream.  Why: the same model on
another CPU (another BLAS kernel, FMA or not, another summation order) gives
scores that differ in the last bits, ~1e-16..1e-12 relative for float64
work; without rounding such noise decides which of two near-equal points is
bought, and the difference snowballs through the following rounds.  30 bits
keeps every real difference of float32 (24-bit) model outputs and absorbs
float64 last-bit noise.  Rounding cannot remove every flip: two scores on
either side of a rounding boundary still compare unequal, so identical picks
across machines are made likely, not certain.

Ties.  ``rng.random(n)`` is drawn for the whole pool, exactly as before this
rule existed (about 1 ms at n = 200,000), and a tie goes to the smaller draw.
So exact ties pick the same points as the earlier full ``lexsort`` did, and
the strategy's stream advances by the same amount.

Non-finite scores: NaN raises (a broken model); +inf and -inf are allowed
(Gumbel keys of zero-weight points are -inf) and tie with their own kind.

Cost: O(n) (one ``np.partition`` for the k-th largest, comparisons, and a
sort of the k picked), instead of an O(n log n) sort of the pool.
"""

from __future__ import annotations

import numpy as np

KEEP_BITS = 30  # float64 mantissa bits kept when comparing scores (of 52)
_DROP = np.uint64(52 - KEEP_BITS)
_HALF = np.uint64(1) << (_DROP - np.uint64(1))
_MASK = ~((np.uint64(1) << _DROP) - np.uint64(1))


def round_scores(scores: np.ndarray) -> np.ndarray:
    """(n,) float64 copy of ``scores`` rounded to :data:`KEEP_BITS` mantissa bits; ±inf kept.

    Round half up in magnitude on the IEEE bit pattern: monotone, so
    ``a <= b`` implies ``round(a) <= round(b)``.
    """
    s = np.array(scores, dtype=np.float64)  # a copy: the caller's array is never touched
    bits = s.view(np.uint64)
    bits += _HALF
    bits &= _MASK
    inf = np.isinf(scores)
    if inf.any():  # the bit trick would turn inf into NaN
        s[inf] = np.asarray(scores, dtype=np.float64)[inf]
    return s


def _check(scores: np.ndarray, k: int) -> None:
    if not 0 <= k <= len(scores):
        raise ValueError(f"cannot pick {k} of {len(scores)} candidates; ask for at most the pool size")
    if np.isnan(scores).any():
        raise ValueError("strategy scores contain NaN; check the model's probabilities")


def top_k(scores: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """Positions of the ``k`` largest ``scores``; near-ties broken by ``rng`` (module docstring).

    scores: (n,) float; returns (k,) int64 positions, highest rounded score
    first, tied positions in the seeded order.  Draws ``rng.random(n)``.
    """
    scores = np.asarray(scores)
    _check(scores, k)
    tiebreak = rng.random(len(scores))  # (n,): drawn whatever k, so the stream use never varies
    if k == 0:
        return np.empty(0, dtype=np.int64)
    r = round_scores(scores)
    t = np.partition(r, len(r) - k)[len(r) - k]  # the k-th largest rounded score
    above = np.flatnonzero(r > t)  # all in: fewer than k
    tied = np.flatnonzero(r == t)
    need = k - len(above)
    if need < len(tied):  # the seeded stream chooses among the tied
        tied = tied[np.argpartition(tiebreak[tied], need - 1)[:need]]
    above = above[np.lexsort((tiebreak[above], -r[above]))]
    tied = tied[np.argsort(tiebreak[tied], kind="stable")]
    return np.concatenate([above, tied]).astype(np.int64)
