"""Shared selection helpers for strategies."""

from __future__ import annotations

import numpy as np


def top_k(scores: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """Positions of the ``k`` largest ``scores``; ties broken at random by ``rng``.

    scores: (n,) float; returns (k,) int64 positions, highest score first.
    """
    scores = np.asarray(scores, dtype=np.float64)
    if not 0 <= k <= len(scores):
        raise ValueError(f"cannot pick {k} of {len(scores)} candidates")
    if np.isnan(scores).any():
        raise ValueError("strategy scores contain NaN; check the model's probabilities")
    tiebreak = rng.random(len(scores))
    # lexsort sorts by the last key first: primary -score, secondary random.
    return np.lexsort((tiebreak, -scores))[:k].astype(np.int64)
