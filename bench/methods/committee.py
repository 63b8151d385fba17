"""Query by bagging: a committee is a capability of the fitted model, not of the view.

A model that can train copies of itself (``refit(X, y, rng) -> model``)
offers ``committee_proba(X_lab, y_lab, X, n_members, rng)`` through
:func:`bagged_proba`: M members, each refitted on a bootstrap resample of the
labelled set (Abe & Mamitsuka 1998, "Query learning strategies using boosting
and bagging", ICML).  The :class:`~altbench.view.ModelView` only forwards its
labelled rows to it, so the view itself never trains.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np


def bagged_proba(refit: Callable[[Any, np.ndarray, np.random.Generator], Any], X_lab: Any, y_lab: np.ndarray,
                 X: Any, n_classes: int, n_members: int, rng: np.random.Generator) -> np.ndarray:
    """(n, C, M) probabilities on ``X`` (n rows) of M members refitted on bootstrap resamples
    of (``X_lab`` (n_lab, ...), ``y_lab`` (n_lab,)).

    A resample is redrawn until it holds at least two classes (or as many as ``y_lab`` has, if
    fewer).  Bootstrap draws and member seeds come from ``rng``, in member order.
    """
    y_lab = np.asarray(y_lab)
    n_lab = len(y_lab)
    need = min(2, len(np.unique(y_lab)))
    out = np.empty((len(X), n_classes, n_members), dtype=np.float64)
    for m in range(n_members):
        boot = rng.integers(0, n_lab, size=n_lab)
        while len(np.unique(y_lab[boot])) < need:
            boot = rng.integers(0, n_lab, size=n_lab)
        out[:, :, m] = refit(X_lab[boot], y_lab[boot], rng).predict_proba(X)
    return out
