"""An SVC with Platt scaling fitted on out-of-fold scores (``svm_rbf`` with ``probability: platt``).

Its own module so that :mod:`altbench.methods.sklearn_models` (imported to resolve
a grid) does not import scikit-learn, which pulls in pandas and pyarrow.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

from altbench.methods.sklearn_models import ovr_scores, softmax


class CalibratedSvc(BaseEstimator, ClassifierMixin):
    """``CalibratedClassifierCV(svc, method="sigmoid", cv=k, ensemble=False)`` with k lowered to
    the smallest class count of the labels it is fitted on (at least 2); with a class of one
    example there is nothing to cross-validate, so it falls back to a softmax of the SVC's
    decision values."""

    def __init__(self, svc=None, cv: int = 5):
        self.svc = svc  # unfitted SVC
        self.cv = cv  # calibration folds

    def fit(self, X, y) -> "CalibratedSvc":
        from sklearn.base import clone
        from sklearn.calibration import CalibratedClassifierCV

        folds = min(self.cv, int(np.unique(y, return_counts=True)[1].min()))
        est = clone(self.svc)
        self.model_ = (CalibratedClassifierCV(est, method="sigmoid", cv=folds, ensemble=False) if folds >= 2
                       else est)
        self.model_.fit(X, y)
        self.classes_ = self.model_.classes_
        return self

    def predict_proba(self, X) -> np.ndarray:
        if hasattr(self.model_, "predict_proba"):
            return self.model_.predict_proba(X)
        return softmax(ovr_scores(self.model_.decision_function(X)))
