"""scikit-learn models behind the transfer-method interface (no pretraining).

All return probabilities over all ``n_classes`` even when the labelled set
misses some classes (missing classes get probability 0).  An SVM without
calibration (``svm_rbf`` with ``probability: none``) is a
:class:`DecisionModel`: it also has ``predict`` and ``decision_function``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from altbench.config import ID_IF_SET
from altbench.registry import METHODS
from altbench.seeds import int_seed


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
    inputs, (p − e_ŷ) ⊗ x, shape (n, C·d) (Ash et al. 2020);
    ``committee_proba`` is a bagged committee of refits (query by committee).
    """

    streams_rows = True  # row-wise outputs, embed = input: the view reads the pool in blocks

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
        return _fit(_clone_seeded(self.template, rng), X, y, self.n_classes, kind=type(self))

    def committee_proba(self, X_lab: np.ndarray, y_lab: np.ndarray, X: np.ndarray, n_members: int,
                        rng: np.random.Generator) -> np.ndarray:
        """(n, C, M): M refits on bootstrap resamples of the labelled set (X_lab (n_lab, d),
        y_lab (n_lab,)), evaluated on X (n, d): query by bagging (Abe & Mamitsuka 1998)."""
        from altbench.methods.committee import bagged_proba

        return bagged_proba(self.refit, X_lab, y_lab, X, self.n_classes, n_members, rng)

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


class DecisionModel(SklearnModel):
    """A fitted classifier with its own decision rule (an SVC without calibration).

    ``predict`` is the classifier's own ``predict`` (the loop scores accuracy
    with it); ``decision_function`` gives (n, C) one-vs-rest scores;
    ``predict_proba`` is their softmax, so it ranks like the scores and its
    argmax is the prediction (up to the SVC's one-vs-one tie rule).
    """

    def decision_function(self, X: np.ndarray) -> np.ndarray:
        """(n, C) scores over all ``n_classes``.  A binary SVC's f(x) (n,) becomes the
        columns (−f/2, +f/2), so the top-two gap is |f(x)|; a class missing from the
        labels scores one below the row's lowest seen score (finite, never in the top
        two unless a single class was labelled)."""
        seen = self._seen_scores(X)  # (n, k)
        out = np.repeat(seen.min(axis=1, keepdims=True) - 1.0, self.n_classes, axis=1)
        out[:, self.seen] = seen
        return out

    def _seen_scores(self, X: np.ndarray) -> np.ndarray:
        """(n, k) scores of the k labelled classes (zeros when k = 1)."""
        if self.clf is None:
            return np.zeros((len(X), 1))
        return ovr_scores(self.clf.decision_function(X))

    def predict(self, X: np.ndarray) -> np.ndarray:
        """(n,) int64 labels: the classifier's own ``predict``."""
        if self.clf is None:
            return np.full(len(X), self.seen[0], dtype=np.int64)
        return np.asarray(self.clf.predict(X), dtype=np.int64)

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """(n, C) softmax of the seen classes' scores; missing classes 0."""
        out = np.zeros((len(X), self.n_classes))
        out[:, self.seen] = softmax(self._seen_scores(X))
        return out


def ovr_scores(f: np.ndarray) -> np.ndarray:
    """scikit-learn decision values, (n,) binary or (n, k) one-vs-rest, as (n, k) scores (k ≥ 2)."""
    f = np.asarray(f, dtype=np.float64)
    return np.stack([-f / 2, f / 2], axis=1) if f.ndim == 1 else f


def softmax(z: np.ndarray) -> np.ndarray:
    """Row-wise softmax of (n, C) scores."""
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _fit(clf, X, y, n_classes: int, kind: type = SklearnModel) -> SklearnModel:
    seen = np.unique(y)
    if len(seen) < 2:
        return kind(None, n_classes, seen, template=clf)
    clf.fit(X, y)
    return kind(clf, n_classes, clf.classes_.astype(np.int64), template=clf)


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
    """RBF-kernel SVM (scikit-learn SVC) with a choice of probability estimates.

    ``probability``:

    * ``"platt"`` (default) — ``CalibratedClassifierCV(SVC(...), method="sigmoid",
      ensemble=False)``: Platt scaling fitted on ``calibration_cv``-fold
      out-of-fold decision values, then one SVC on all labels.  While some
      labelled class has a single example there is nothing to cross-validate,
      and the probabilities are a softmax of the decision values.
    * ``"libsvm"`` — ``SVC(probability=True)``: libsvm's Platt scaling with its
      own internal 5-fold CV; accuracy is the argmax of those probabilities.
      The default until December 2026 (runs made with it then keep their
      numbers with ``probability: libsvm``); deprecated in scikit-learn 1.9 and
      removed in 1.11 (then an error says to pick another).
    * ``"none"`` — no calibration, the protocol of Zhan et al. (2021) and Lu
      et al. (2023): the model's ``predict`` is ``SVC.predict`` (the loop's
      accuracy), ``decision_function`` gives the one-vs-rest scores (US-C), and
      ``predict_proba`` is a softmax of those scores (monotone; only for
      strategies that need probabilities).

    Zhan et al.'s protocol is ``gamma: auto, C: 1.0, probability: none``.
    """

    C: float = 1.0  # soft-margin penalty
    gamma: str | float = "scale"  # RBF width: "scale" = 1 / (d · Var X_labelled), "auto" = 1 / d, or a number
    # see above; always part of the run id (no ID_IF_SET): its default changed from "libsvm" to "platt",
    # so runs with either default must never share an id
    probability: Literal["libsvm", "platt", "none"] = "platt"
    calibration_cv: int = field(default=5, metadata=ID_IF_SET)  # folds of "platt" (fewer if a class is smaller)

    def fit(self, X, y, *, n_classes: int, rng_init: np.random.Generator,
            rng_order: np.random.Generator) -> SklearnModel:
        from sklearn.svm import SVC

        if self.probability == "libsvm":
            if "probability" not in SVC().get_params():
                raise ValueError("this scikit-learn has no SVC(probability=True); set svm_rbf probability: platt "
                                 "(CalibratedClassifierCV) or none")
            clf = SVC(C=self.C, gamma=self.gamma, probability=True, random_state=int_seed(rng_init))
            return _fit(clf, X, y, n_classes)
        svc = SVC(C=self.C, gamma=self.gamma)  # deterministic: random_state only seeds libsvm's Platt CV
        if self.probability == "none":
            return _fit(svc, X, y, n_classes, kind=DecisionModel)
        from altbench.methods.calibrated_svc import CalibratedSvc  # scikit-learn's base: imported when fitting

        return _fit(CalibratedSvc(svc, self.calibration_cv), X, y, n_classes)

