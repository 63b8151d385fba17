"""Per-round stopping signals, measured on a fixed stop set.

A *stop set* is a seeded sample of up to :data:`STOP_SET_SIZE` train rows,
drawn once per run from the ``"stopset"`` stream (so the other streams draw
exactly what they drew before it existed).  Bloodgood & Vijay-Shanker (2009,
"A method for stopping active learning based on stabilizing predictions and
the need for user-adjustable stopping", CoNLL) measure agreement between
successive models on such a set; Zhu, Wang & Hovy (2008, "Multi-criteria-based
strategy to stop active learning for data annotation", COLING) read the
model's confidence and uncertainty on the unlabelled examples.  After each
round's fit the loop records, from the model's ``predict_proba`` on the stop
set (p: (n_stop, C)):

* ``stop_pred``: (n_stop,) predicted labels, argmax of p, on every stop row;
* ``stop_max_conf``: mean over the stop rows still unlabelled of max_c p;
* ``stop_entropy``: mean over those rows of −Σ_c p log p (nats).

Both means are None once every stop row is labelled.  The criteria of
:mod:`altbench.stopping` read these columns after the fact.
"""

from __future__ import annotations

from typing import Any

import numpy as np

STOP_SET_SIZE = 500  # rows of the stop set (fewer when the train pool is smaller)
SIGNAL_COLUMNS = ("stop_pred", "stop_max_conf", "stop_entropy")  # per-round columns of the results file


def stop_set(n_train: int, rng: np.random.Generator, size: int = STOP_SET_SIZE) -> np.ndarray:
    """(min(size, n_train),) sorted train-row indices, drawn without replacement."""
    return np.sort(rng.choice(n_train, size=min(size, n_train), replace=False))


def signals_of(proba: np.ndarray, unlabelled: np.ndarray) -> dict[str, Any]:
    """The round's stopping signals.  proba: (n_stop, C) rows summing to 1; unlabelled: (n_stop,) bool."""
    from altbench.strategies.uncertainty import entropy_rows  # the one p·log p helper

    proba = np.asarray(proba, dtype=np.float64)
    rest = proba[np.asarray(unlabelled, dtype=bool)]  # (m, C)
    has_rest = len(rest) > 0
    return {"stop_pred": proba.argmax(1).astype(np.int64).tolist(),
            "stop_max_conf": float(rest.max(1).mean()) if has_rest else None,
            "stop_entropy": float(entropy_rows(rest).mean()) if has_rest else None}


class StopProbe:
    """The stop set of one run and its per-round measurement (used by :func:`altbench.loop.run_active_learning`)."""

    def __init__(self, X_train: Any, n_train: int, rng: np.random.Generator):
        self.rows = stop_set(n_train, rng)  # (n_stop,)
        self.X = X_train[self.rows]

    def measure(self, model: Any, in_pool: np.ndarray, n_classes: int, who: str, when: str) -> dict[str, Any]:
        """Signals of a fitted model; ``in_pool``: (n_train,) bool, True where still unlabelled."""
        from altbench.outputs import check_proba

        p = check_proba(model.predict_proba(self.X), len(self.rows), n_classes, who, f"{when} on the stop set")
        return signals_of(p, in_pool[self.rows])


def cohen_kappa(a: np.ndarray, b: np.ndarray) -> float:
    """Cohen's κ between two label vectors a, b: (n,) ints.

    κ = (p_o − p_e) / (1 − p_e) with p_o the observed agreement and p_e the
    agreement expected from the two marginals.  Identical vectors give 1 (also
    when both are one constant class, where the formula is 0/0).
    """
    a, b = np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64)
    if a.shape != b.shape or a.ndim != 1 or len(a) == 0:
        raise ValueError(f"kappa needs two equal-length non-empty label vectors, got {a.shape} and {b.shape}")
    p_o = float(np.mean(a == b))
    if p_o == 1.0:
        return 1.0
    k = int(max(a.max(), b.max())) + 1
    p_e = float(np.dot(np.bincount(a, minlength=k), np.bincount(b, minlength=k))) / len(a) ** 2
    return (p_o - p_e) / (1.0 - p_e)
