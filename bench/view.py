"""What a query strategy may see of a fitted model: a read-only view.

Strategies never train, load data or build loaders.  They receive a
:class:`ModelView` whose methods take indices into the (unlabelled + labelled)
training pool and return arrays.  Which methods work depends on the transfer
method; a missing one raises :class:`CapabilityError` naming both sides.
Every array the view hands out is checked to be finite (one vectorised
pass); NaN or inf raises :class:`bench.outputs.NonFiniteError` naming the
method, the view method and the round, so garbage never reaches a strategy.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import numpy as np

from bench.outputs import require_finite

IntArray = np.ndarray  # 1-D int64 index array
FloatArray = np.ndarray


class CapabilityError(TypeError):
    """A strategy asked the model for something its method cannot provide."""


@runtime_checkable
class Model(Protocol):
    """A fitted model on prepared inputs ``X`` (rows of what the method's
    ``prepare`` returned).  Only ``predict_proba`` is required."""

    n_classes: int

    def predict_proba(self, X: Any) -> FloatArray:
        """(n, C) class probabilities."""
        ...


class ModelView:
    """Index-based, read-only access to a fitted model over the train pool.

    ``labelled`` / ``y_labelled`` are the indices and labels the model was
    fitted on (diversity strategies such as coreset need them); ``al_round``
    (the AL round, if known) only goes into error messages.
    """

    def __init__(self, model: Model, X_pool: Any, labelled: IntArray, y_labelled: IntArray,
                 method_name: str = "?", al_round: int | None = None):
        self._model = model
        self._X = X_pool
        self.labelled = np.asarray(labelled, dtype=np.int64)  # (n_lab,)
        self.y_labelled = np.asarray(y_labelled, dtype=np.int64)  # (n_lab,)
        self.n_classes = int(model.n_classes)
        self.n_pool = len(X_pool)
        self.method_name = method_name
        self.al_round = al_round

    def _need(self, attr: str):
        fn = getattr(self._model, attr, None)
        if fn is None:
            raise CapabilityError(
                f"method {self.method_name!r} does not provide {attr}(); "
                "pick a method that does (e.g. mlp) or another strategy"
            )
        return fn

    def _finite(self, x: FloatArray, what: str, view_method: str, rows: str = "pool rows") -> FloatArray:
        """``x`` (n, ...) if all finite, else NonFiniteError naming the method and round."""
        when = f" in round {self.al_round}" if self.al_round is not None else ""
        return require_finite(x, f"method {self.method_name!r}", f"{what} (ModelView.{view_method})", rows, when)

    def predict_proba(self, idx: IntArray) -> FloatArray:
        """(n, C) class probabilities for pool rows ``idx``."""
        p = np.asarray(self._model.predict_proba(self._X[idx]), dtype=np.float64)
        return self._finite(p, "probabilities", "predict_proba")

    def predict_proba_mc(self, idx: IntArray, n_samples: int, rng: np.random.Generator) -> FloatArray:
        """(n, C, T) probabilities under T stochastic forward passes (MC dropout)."""
        p = np.asarray(self._need("predict_proba_mc")(self._X[idx], n_samples, rng), dtype=np.float64)
        return self._finite(p, "MC-dropout probabilities", "predict_proba_mc")

    def embed(self, idx: IntArray) -> FloatArray:
        """(n, d) penultimate-layer embeddings."""
        return self._finite(np.asarray(self._need("embed")(self._X[idx]), dtype=np.float32), "embeddings", "embed")

    def grad_embed(self, idx: IntArray) -> FloatArray:
        """(n, d·C) last-layer gradient embeddings at the predicted label (BADGE)."""
        g = np.asarray(self._need("grad_embed")(self._X[idx]), dtype=np.float32)
        return self._finite(g, "gradient embeddings", "grad_embed")

    def decision_function(self, idx: IntArray) -> FloatArray:
        """(n, C) one-vs-rest decision scores of the task model (an uncalibrated SVM: US-C)."""
        s = np.asarray(self._need("decision_function")(self._X[idx]), dtype=np.float64)
        return self._finite(s, "decision scores", "decision_function")

    def head_proba(self, H: FloatArray) -> FloatArray:
        """(n, C) probabilities of the classifier head on embeddings H (n, d) from ``embed``."""
        p = np.asarray(self._need("head_proba")(np.asarray(H, dtype=np.float32)), dtype=np.float64)
        return self._finite(p, "head probabilities", "head_proba", "embedding rows")

    def committee_proba(self, idx: IntArray, n_members: int, rng: np.random.Generator) -> FloatArray:
        """(n, C, M) probabilities of M members, each the model refitted on a bootstrap
        resample of the labelled set (query by bagging, Abe & Mamitsuka 1998).

        Needs ``model.refit(X, y, rng) -> Model``; a resample is redrawn until it
        holds at least two classes (or as many as the labelled set has, if fewer).
        """
        refit = self._need("refit")
        X_lab = self._X[self.labelled]
        need = min(2, len(np.unique(self.y_labelled)))
        out = np.empty((len(idx), self.n_classes, n_members), dtype=np.float64)
        for m in range(n_members):
            boot = rng.integers(0, len(self.labelled), size=len(self.labelled))
            while len(np.unique(self.y_labelled[boot])) < need:
                boot = rng.integers(0, len(self.labelled), size=len(self.labelled))
            member = refit(X_lab[boot], self.y_labelled[boot], rng)
            out[:, :, m] = member.predict_proba(self._X[idx])
        return self._finite(out, "committee probabilities", "committee_proba")

    def has(self, capability: str) -> bool:
        if capability == "committee_proba":  # built by the view from the model's refit
            return hasattr(self._model, "refit")
        return capability == "predict_proba" or hasattr(self._model, capability)
