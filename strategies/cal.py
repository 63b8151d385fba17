"""CAL: contrastive active learning.

Margatina, Vernikos, Barrault & Aletras, "Active Learning by Acquiring
Contrastive Examples", EMNLP 2021.

A candidate x scores the mean KL(p(·|x_l) ‖ p(·|x)) over its ``k`` nearest
labelled neighbours x_l in embedding space: points close to labelled data
but predicted differently.  The pool → labelled kNN search is chunked.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from altbench.registry import STRATEGIES
from altbench.api import IntArray, ModelView  # the Protocol: the harness's view and FakeView
from altbench.strategies._geometry import knn
from altbench.strategies._select import top_k

EPS = 1e-12  # floor on probabilities inside the log


def kl_rows(p_ref: np.ndarray, p: np.ndarray) -> np.ndarray:
    """(n, k) KL(p_ref[i, j] ‖ p[i]) for p_ref (n, k, C), p (n, C)."""
    lp_ref = np.log(np.maximum(p_ref, EPS))
    lp = np.log(np.maximum(p, EPS))[:, None, :]
    return (p_ref * (lp_ref - lp)).sum(axis=2)


@STRATEGIES.register(name="cal")
@dataclass(frozen=True)
class Cal:
    """CAL (Margatina et al. 2021): embeddings (n, d), probabilities (n, C)."""

    k: int = 10  # labelled neighbours per candidate (paper: 10)

    def __call__(self, view: ModelView, pool: IntArray, budget: int, rng: np.random.Generator) -> IntArray:
        lab = view.labelled
        if len(lab) == 0:
            raise ValueError("cal needs a labelled set; start with budget.initial > 0")
        k = min(self.k, len(lab))
        nn, _ = knn(view.embed(pool), view.embed(lab), k)  # (n, k) positions in lab
        p_lab = view.predict_proba(lab)  # (n_lab, C)
        p = view.predict_proba(pool)  # (n, C)
        score = np.empty(len(pool))
        for s in range(0, len(pool), 4096):
            score[s:s + 4096] = kl_rows(p_lab[nn[s:s + 4096]], p[s:s + 4096]).mean(axis=1)
        return pool[top_k(score, budget, rng)]
