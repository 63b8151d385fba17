"""Discriminative active learning (DAL).

Gissin & Shalev-Shwartz, "Discriminative Active Learning", arXiv:1907.06347
(2019).

A binary classifier learns labelled-vs-unlabelled on the embeddings; the
points it most confidently calls "unlabelled" are the least represented by
the labelled set.  The batch is built in ``n_rounds`` sub-batches, retraining
after each (the paper's sub-batch scheme).  Deviation: a logistic regression
instead of the paper's MLP, and unlabelled training points subsampled to
``max_unlabelled`` (drawn by ``rng``) to bound time on large pools.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from altbench.registry import STRATEGIES
from altbench.api import IntArray, ModelView  # the Protocol: the harness's view and FakeView
from altbench.strategies._select import top_k


@STRATEGIES.register(name="dal")
@dataclass(frozen=True)
class Dal:
    """DAL (Gissin & Shalev-Shwartz 2019) on ``view.embed`` (n, d)."""

    n_rounds: int = 10  # sub-batches, each after retraining (paper: 10–20)
    max_unlabelled: int = 5000  # unlabelled points (drawn by rng) in each training set
    C: float = 1.0  # inverse L2 strength of the logistic regression

    def __call__(self, view: ModelView, pool: IntArray, budget: int, rng: np.random.Generator) -> IntArray:
        from scipy.linalg import LinAlgWarning
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.linear_model import LogisticRegression

        h = view.embed(pool)  # (n, d)
        h_lab = view.embed(view.labelled) if len(view.labelled) else h[:0]
        mu, sd = h.mean(0), h.std(0) + 1e-6
        h, h_lab = (h - mu) / sd, (h_lab - mu) / sd
        taken = np.zeros(len(pool), dtype=bool)
        picks = []
        sizes = np.diff(np.linspace(0, budget, min(self.n_rounds, budget) + 1).round().astype(int))
        for k in sizes:
            free = np.flatnonzero(~taken)
            pos = np.concatenate([h_lab, h[taken]])
            if len(pos) == 0:  # nothing labelled yet: start uniformly
                score = rng.random(len(free))
            else:
                neg = (free if len(free) <= self.max_unlabelled
                       else rng.choice(free, self.max_unlabelled, replace=False))
                X = np.concatenate([pos, h[neg]])
                y = np.r_[np.ones(len(pos)), np.zeros(len(neg))]
                clf = LogisticRegression(C=self.C, class_weight="balanced", solver="newton-cholesky",
                                         max_iter=50)
                with warnings.catch_warnings():  # degenerate features: sklearn falls back to lbfgs itself
                    warnings.simplefilter("ignore", LinAlgWarning)
                    warnings.simplefilter("ignore", ConvergenceWarning)
                    clf.fit(X, y)
                score = -clf.decision_function(h[free])  # high = "surely unlabelled"
            picks.append(free[top_k(score, k, rng)])
            taken[picks[-1]] = True
        return pool[np.concatenate(picks)]
