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

* ``stop_pred``: (n_stop,) predicted labels, argmax of p, on the stop rows
  still unlabelled; -1 on labelled ones (the criteria compare two rounds on
  the rows unlabelled in both: a labelled row's prediction mostly echoes its
  label, and skipping them lets the probe reuse the strategy's predictions of
  the pool instead of calling the model again);
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
    """The round's stopping signals from (n_stop, C) probabilities; only the rows where
    ``unlabelled`` (n_stop,) bool is True are read (the others may hold anything)."""
    from altbench.strategies.uncertainty import entropy_rows  # the one p·log p helper

    unlabelled = np.asarray(unlabelled, dtype=bool)
    proba = np.asarray(proba, dtype=np.float64)
    rest = proba[unlabelled]  # (m, C)
    pred = np.full(len(unlabelled), -1, dtype=np.int64)
    pred[unlabelled] = rest.argmax(1)
    has_rest = len(rest) > 0
    return {"stop_pred": pred.tolist(),
            "stop_max_conf": float(rest.max(1).mean()) if has_rest else None,
            "stop_entropy": float(entropy_rows(rest).mean()) if has_rest else None}


class StopProbe:
    """The stop set of one run and its per-round measurement (used by :func:`altbench.loop.run_active_learning`).

    Stop rows the round's strategy already had predicted (through
    :meth:`observe`, which the :class:`~altbench.view.ModelView` calls with
    every checked ``predict_proba`` block) are not predicted again: an
    uncertainty strategy scores the whole pool, so the probe then costs only
    the labelled stop rows.  Which rows come from where depends only on the
    config and seed, so results stay reproducible.
    """

    def __init__(self, X_train: Any, n_train: int, rng: np.random.Generator):
        self.rows = stop_set(n_train, rng)  # (n_stop,)
        self.X = X_train[self.rows]
        self._pos = np.full(n_train, -1, dtype=np.int64)  # train row → its position in the stop set, else -1
        self._pos[self.rows] = np.arange(len(self.rows))
        self._seen: np.ndarray | None = None  # (n_stop, C) this round's probabilities seen so far
        self._have = np.zeros(len(self.rows), dtype=bool)  # (n_stop,)

    def start_round(self) -> None:
        """Forget the previous model's probabilities."""
        self._seen, self._have[:] = None, False

    def observe(self, idx: np.ndarray, proba: np.ndarray) -> None:
        """Keep the stop rows among train rows ``idx`` (n,), with their checked probabilities (n, C)."""
        k = self._pos[np.asarray(idx, dtype=np.int64)]  # (n,)
        hit = k >= 0
        if hit.any():
            if self._seen is None:
                self._seen = np.empty((len(self.rows), proba.shape[1]), dtype=np.float64)
            self._seen[k[hit]] = proba[hit]
            self._have[k[hit]] = True

    def measure(self, model: Any, in_pool: np.ndarray, n_classes: int, who: str, when: str) -> dict[str, Any]:
        """Signals of a fitted model; ``in_pool``: (n_train,) bool, True where unlabelled when it was fitted."""
        from altbench.outputs import check_proba

        unlabelled = in_pool[self.rows]  # (n_stop,)
        rest = np.flatnonzero(unlabelled & ~self._have)  # unlabelled stop rows the strategy did not have predicted
        p = np.zeros((len(self.rows), n_classes), dtype=np.float64) if self._seen is None else self._seen
        if len(rest):
            p[rest] = check_proba(model.predict_proba(self.X[rest]), len(rest), n_classes, who,
                                  f"{when} on the stop set")
        return signals_of(p, unlabelled)


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
