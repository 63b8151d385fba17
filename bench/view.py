"""What a query strategy may see of a fitted model: a read-only view.

Strategies never train, load data or build loaders.  They receive a
:class:`ModelView` whose methods take indices into the (unlabelled + labelled)
training pool and return arrays.  Which methods work depends on the transfer
method; a missing one raises :class:`CapabilityError` naming both sides.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import numpy as np

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
    fitted on (diversity strategies such as coreset need them).
    """

    def __init__(self, model: Model, X_pool: Any, labelled: IntArray, y_labelled: IntArray,
                 method_name: str = "?"):
        self._model = model
        self._X = X_pool
        self.labelled = np.asarray(labelled, dtype=np.int64)  # (n_lab,)
        self.y_labelled = np.asarray(y_labelled, dtype=np.int64)  # (n_lab,)
        self.n_classes = int(model.n_classes)
        self.n_pool = len(X_pool)
        self.method_name = method_name

    def _need(self, attr: str):
        fn = getattr(self._model, attr, None)
        if fn is None:
            raise CapabilityError(
                f"method {self.method_name!r} does not provide {attr}(); "
                "pick a method that does (e.g. mlp) or another strategy"
            )
        return fn

    def predict_proba(self, idx: IntArray) -> FloatArray:
        """(n, C) class probabilities for pool rows ``idx``."""
        return np.asarray(self._model.predict_proba(self._X[idx]), dtype=np.float64)

    def predict_proba_mc(self, idx: IntArray, n_samples: int, rng: np.random.Generator) -> FloatArray:
        """(n, C, T) probabilities under T stochastic forward passes (MC dropout)."""
        return np.asarray(self._need("predict_proba_mc")(self._X[idx], n_samples, rng), dtype=np.float64)

    def embed(self, idx: IntArray) -> FloatArray:
        """(n, d) penultimate-layer embeddings."""
        return np.asarray(self._need("embed")(self._X[idx]), dtype=np.float32)

    def grad_embed(self, idx: IntArray) -> FloatArray:
        """(n, d·C) last-layer gradient embeddings at the predicted label (BADGE)."""
        return np.asarray(self._need("grad_embed")(self._X[idx]), dtype=np.float32)

    def head_proba(self, H: FloatArray) -> FloatArray:
        """(n, C) probabilities of the classifier head on embeddings H (n, d) from ``embed``."""
        return np.asarray(self._need("head_proba")(np.asarray(H, dtype=np.float32)), dtype=np.float64)

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
        return out

    def has(self, capability: str) -> bool:
        if capability == "committee_proba":  # built by the view from the model's refit
            return hasattr(self._model, "refit")
        return capability == "predict_proba" or hasattr(self._model, capability)
