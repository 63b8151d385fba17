"""scikit-learn models behind the transfer-method interface (no pretraining).

Both return probabilities over all ``n_classes`` even when the labelled set
misses some classes (missing classes get probability 0).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bench.registry import METHODS
from bench.seeds import int_seed


def _clone_seeded(clf, rng: np.random.Generator):
    """An unfitted copy of ``clf`` with ``random_state`` drawn from ``rng`` (if it has one)."""
    from sklearn.base import clone

    new = clone(clf)
    if "random_state" in new.get_params():
        new.set_params(random_state=int_seed(rng))
    return new


class SklearnModel:
    """A fitted scikit-learn classifier seen as an altbench Model.

    ``embed`` is the input itself; ``grad_embed`` is the gradient of the
    cross-entropy at the predicted label w.r.t. a linear head on those
    inputs, (p − e_ŷ) ⊗ x, shape (n, C·d) (Ash et al. 2020).
    """

    def __init__(self, clf, n_classes: int, seen: np.ndarray, template=None):
        self.clf = clf
        self.template = clf if template is None else template  # unfitted settings, for refit
        self.n_classes = n_classes
        self.seen = seen  # (k,) class ids the classifier knows

    def refit(self, X: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> "SklearnModel":
        """A fresh clone with the same settings fitted on (X, y), seeded from ``rng``
        (committee members for query by bagging)."""
        if self.template is None:
            raise ValueError("this SklearnModel keeps no estimator settings to refit; build it with _fit")
        return _fit(_clone_seeded(self.template, rng), X, y, self.n_classes)

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        out = np.zeros((len(X), self.n_classes))
        if self.clf is None:  # a single class was labelled
            out[:, self.seen[0]] = 1.0
        else:
            out[:, self.seen] = self.clf.predict_proba(X)
        return out

    def embed(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(X, dtype=np.float32)

    def grad_embed(self, X: np.ndarray) -> np.ndarray:
        p = self.predict_proba(X)  # (n, C)
        g = p.copy()
        g[np.arange(len(p)), p.argmax(1)] -= 1.0
        return (g[:, :, None] * np.asarray(X)[:, None, :]).reshape(len(X), -1)

    def head_proba(self, H: np.ndarray) -> np.ndarray:
        """(n, C): the embedding is the input, so the head is the whole classifier."""
        return self.predict_proba(H)


def _fit(clf, X, y, n_classes: int) -> SklearnModel:
    seen = np.unique(y)
    if len(seen) < 2:
        return SklearnModel(None, n_classes, seen, template=clf)
    clf.fit(X, y)
    return SklearnModel(clf, n_classes, clf.classes_.astype(np.int64))


@METHODS.register(name="logreg")
@dataclass(frozen=True)
class LogReg:
    """Multinomial L2 logistic regression (scikit-learn, lbfgs)."""

    C: float = 1.0  # inverse regularisation strength
    max_iter: int = 1000  # lbfgs iterations

    def fit(self, X, y, *, n_classes: int, rng_init: np.random.Generator,
            rng_order: np.random.Generator) -> SklearnModel:
        from sklearn.linear_model import LogisticRegression

        clf = LogisticRegression(C=self.C, max_iter=self.max_iter, random_state=int_seed(rng_init))
        return _fit(clf, X, y, n_classes)


@METHODS.register(name="svm_rbf")
@dataclass(frozen=True)
class SvmRbf:
    """RBF-kernel SVM with Platt-scaled probabilities (scikit-learn SVC)."""

    C: float = 1.0  # soft-margin penalty
    gamma: str | float = "scale"  # RBF width; "scale" = 1 / (d · Var X)

    def fit(self, X, y, *, n_classes: int, rng_init: np.random.Generator,
            rng_order: np.random.Generator) -> SklearnModel:
        from sklearn.svm import SVC

        clf = SVC(C=self.C, gamma=self.gamma, probability=True, random_state=int_seed(rng_init))
        return _fit(clf, X, y, n_classes)
