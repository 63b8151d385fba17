"""A logistic-regression head on fixed features, its L2 strength chosen from the labels alone.

The linear-probe recipe of Kumar et al. 2022 ("Fine-Tuning can Distort
Pretrained Features and Underperform Out-of-Distribution", ICLR; their LP is
L2 logistic regression on frozen features with the regularisation tuned) and
the head of SetFit (Tunstall et al. 2022: scikit-learn's
``LogisticRegression`` on the sentence embeddings).

Rule for C (labelled set only, no test or pool data): stratified k-fold
cross-validation over ``C_grid``, k = min(``folds``, the smallest class
count); the C with the best mean held-out accuracy wins, ties going to the
lower mean held-out log-loss and then to the smaller C (stronger
regularisation).  When a class has a single example (k < 2) there is
nothing to cross-validate and ``C_fallback`` is used.  The final model is
lbfgs on all labelled rows, run to convergence (``tol``, ``max_iter``).

The fitted model is a :class:`~altbench.methods.sklearn_models.SklearnModel`:
probabilities over all classes, embeddings = the features themselves,
BADGE gradient embeddings (p − e_ŷ) ⊗ x (n, C·d), committee refits.  It has
no dropout, so MC-dropout strategies get the view's CapabilityError, which
names the head to choose instead (:data:`MISSING_HINTS`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from altbench.methods.sklearn_models import SklearnModel, _fit
from altbench.seeds import int_seed


@dataclass(frozen=True)
class LogRegHead:
    """How the logistic-regression head is fitted (see the module docstring)."""

    C_grid: tuple[float, ...] = (1e-2, 1e-1, 1.0, 10.0, 100.0)  # inverse L2 strengths tried by CV
    folds: int = 5  # stratified CV folds (fewer when the smallest class is smaller)
    C_fallback: float = 1.0  # C when some class has a single labelled example
    max_iter: int = 5000  # lbfgs iteration cap (far above what convergence needs here)
    tol: float = 1e-6  # lbfgs gradient tolerance: fitted to convergence


LOGREG_HEAD = LogRegHead()
# view method → what the CapabilityError tells the user (linear-probe and setfit both offer head: torch)
MISSING_HINTS = {"predict_proba_mc": "its head 'logreg' has no dropout: write head: torch for MC dropout, "
                                     "or pick another strategy"}


def _logreg(C: float, cfg: LogRegHead):
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=C, max_iter=cfg.max_iter, tol=cfg.tol)  # lbfgs, multinomial, L2


def cv_scores(F: np.ndarray, y: np.ndarray, cfg: LogRegHead, k: int, seed: int) -> np.ndarray:
    """(len(C_grid), 2): mean held-out accuracy and log-loss of each C over stratified k folds."""
    from sklearn.model_selection import StratifiedKFold

    classes = np.unique(y)
    out = np.zeros((len(cfg.C_grid), 2))
    for tr, te in StratifiedKFold(n_splits=k, shuffle=True, random_state=seed).split(F, y):
        for i, C in enumerate(cfg.C_grid):
            clf = _logreg(C, cfg).fit(F[tr], y[tr])
            p = np.zeros((len(te), len(classes)))  # (n_te, k_classes); a class absent from tr gets 0
            p[:, np.searchsorted(classes, clf.classes_)] = clf.predict_proba(F[te])
            hit = classes[p.argmax(1)] == y[te]
            true_p = p[np.arange(len(te)), np.searchsorted(classes, y[te])]
            out[i] += (hit.mean(), -np.log(np.clip(true_p, 1e-15, None)).mean())
    return out / k


def choose_C(F: np.ndarray, y: np.ndarray, cfg: LogRegHead, rng: np.random.Generator) -> float:
    """The C of the labelled-only rule (module docstring); ``rng`` shuffles the folds."""
    seed = int_seed(rng)  # drawn always, so the stream advances the same whatever the branch
    counts = np.unique(y, return_counts=True)[1]
    k = min(cfg.folds, int(counts.min()))
    if len(counts) < 2 or k < 2:
        return cfg.C_fallback
    s = cv_scores(F, y, cfg, k, seed)
    order = np.lexsort((np.asarray(cfg.C_grid), s[:, 1], -s[:, 0]))  # accuracy ↓, log-loss ↑, C ↑
    return float(cfg.C_grid[order[0]])


def fit_logreg_head(F, y, n_classes: int, cfg: LogRegHead, rng: np.random.Generator) -> SklearnModel:
    """L2 logistic regression on features F (n, d) with C from :func:`choose_C`; ``C_`` records it."""
    F = np.array(F, dtype=np.float64)  # copy: F may be a read-only memmap
    y = np.asarray(y, dtype=np.int64)
    C = choose_C(F, y, cfg, rng)
    model = _fit(_logreg(C, cfg), F, y, n_classes)
    model.C_ = C
    model.missing_hints = MISSING_HINTS
    return model
