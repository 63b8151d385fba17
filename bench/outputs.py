"""Checks on what a fitted model hands back: garbage fails the run, it is never a result.

A model whose training diverged returns NaN or inf probabilities, scores,
embeddings or losses; a buggy one returns probabilities of the wrong shape
or rows that do not sum to one.  Both would otherwise flow on into argmax
and ``top_k`` and be recorded as a normal (bad) learning curve.  The checks
here are vectorised and cheap (one pass over the array on the good path);
counting the bad rows for the message happens only on the failure path.

This is a leaf module (numpy only), so the loop, the view and the torch
training loop can all raise the same errors.
"""

from __future__ import annotations

import numpy as np

ROW_SUM_TOL = 1e-3  # probabilities whose rows sum further from 1 than this are garbage
ADVICE = "its training probably diverged; lower the learning rate or check the inputs"


class BadOutputError(ValueError):
    """A model returned something unusable: wrong shape, labels out of range, rows not summing to 1."""


class NonFiniteError(BadOutputError):
    """A model returned (or its training reached) NaN or inf values."""


def nonfinite_kind(x: np.ndarray) -> str:
    """"NaN" if ``x`` holds any NaN, else "inf" (call only when something is non-finite)."""
    return "NaN" if np.isnan(x).any() else "inf"


def require_finite(x: np.ndarray, who: str, what: str, rows: str = "rows", when: str = "") -> np.ndarray:
    """``x`` (n, ...) unchanged if every value is finite, else :class:`NonFiniteError`.

    The message reads: ``{who} returned NaN {what} for 12 of 360 {rows}{when}; ...``,
    e.g. who = "method 'mlp'", what = "probabilities", rows = "test rows",
    when = " in round 3".
    """
    x = np.asarray(x)
    if not np.issubdtype(x.dtype, np.inexact) or np.isfinite(x).all():
        return x
    bad = ~np.isfinite(x.reshape(len(x), -1)).all(1) if x.ndim else np.ones(1, dtype=bool)
    raise NonFiniteError(f"{who} returned {nonfinite_kind(x)} {what} for {int(bad.sum())} of {len(bad)} "
                         f"{rows}{when}; {ADVICE}")


def check_proba(p: np.ndarray, n: int, n_classes: int, who: str, when: str = "") -> np.ndarray:
    """(n, C) float64 test-set probabilities after checking shape, finiteness and row sums."""
    p = np.asarray(p, dtype=np.float64)
    if p.shape != (n, n_classes):
        raise BadOutputError(f"{who} returned probabilities of shape {p.shape}{when}; predict_proba must "
                             f"return ({n}, {n_classes}): one row per input, one column per class")
    require_finite(p, who, "probabilities", "test rows", when)
    sums = p.sum(1)  # (n,)
    if n and (np.abs(sums - 1.0).max() > ROW_SUM_TOL or p.min() < -ROW_SUM_TOL):
        bad = (np.abs(sums - 1.0) > ROW_SUM_TOL) | (p < -ROW_SUM_TOL).any(1)
        first = int(np.flatnonzero(bad)[0])
        raise BadOutputError(f"{who} returned probabilities that are negative or do not sum to 1 for "
                             f"{int(bad.sum())} of {n} test rows{when} (row {first} sums to {sums[first]:.4g}); "
                             "predict_proba must return one probability distribution per row")
    return p


def check_labels(pred: np.ndarray, n: int, n_classes: int, who: str, when: str = "") -> np.ndarray:
    """(n,) int64 predicted labels after checking shape, dtype and range [0, C)."""
    pred = np.asarray(pred)
    if pred.shape != (n,) or not np.issubdtype(pred.dtype, np.integer):
        raise BadOutputError(f"{who} predict() returned shape {pred.shape} dtype {pred.dtype}{when}; "
                             f"it must return ({n},) integer class ids")
    if n and (pred.min() < 0 or pred.max() >= n_classes):
        raise BadOutputError(f"{who} predict() returned labels outside [0, {n_classes}){when}; "
                             "return class ids 0..C-1")
    return pred.astype(np.int64, copy=False)
