"""ALFA-Mix: candidates whose prediction flips under feature mixing.

Parvaneh, Abbasnejad, Teney, Haffari, van den Hengel & Shi, "Active Learning
by Feature Mixing", CVPR 2022.

For each unlabelled embedding z and each class anchor z*_c (the mean
labelled embedding of class c) the mixture z̃ = α ⊙ z*_c + (1 − α) ⊙ z goes
through the classifier head; z is a candidate if some z̃ changes the
predicted label.  Candidates are clustered into ``budget`` groups by k-means
and the candidate nearest each centroid is picked.  Deviation: α is drawn
uniformly from [0, ``alpha_cap``)^d (the paper also optimises α in closed
form); too few candidates are topped up uniformly at random.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from altbench.registry import STRATEGIES
from altbench.api import IntArray, ModelView  # the Protocol: the harness's view and FakeView
from altbench.strategies._geometry import kmeans


def nearest_to_centres(labels: np.ndarray, d2: np.ndarray) -> np.ndarray:
    """Per cluster, the position with the smallest squared distance d2 (n,) to its centre."""
    order = np.lexsort((d2, labels))
    first = np.r_[True, labels[order][1:] != labels[order][:-1]]
    return order[first]


@STRATEGIES.register(name="alfamix")
@dataclass(frozen=True)
class AlfaMix:
    """ALFA-Mix (Parvaneh et al. 2022): ``embed`` (n, d), ``head_proba`` (n, C)."""

    alpha_cap: float = 0.2  # ε: mixing coefficients are drawn from [0, ε) per feature
    chunk: int = 4096  # pool points mixed per head call

    def __call__(self, view: ModelView, pool: IntArray, budget: int, rng: np.random.Generator) -> IntArray:
        lab = view.labelled
        if len(lab) == 0:
            raise ValueError("alfamix needs a labelled set for its anchors; start with budget.initial > 0")
        h = view.embed(pool)  # (n, d)
        y_hat = view.predict_proba(pool).argmax(1)  # (n,)
        h_lab = view.embed(lab)
        anchors = np.stack([h_lab[view.y_labelled == c].mean(0) for c in np.unique(view.y_labelled)])
        flips = np.zeros(len(pool), dtype=np.int64)
        for s in range(0, len(pool), self.chunk):
            z = h[s:s + self.chunk]
            for a in anchors:
                alpha = rng.random(z.shape, dtype=np.float32) * np.float32(self.alpha_cap)
                mixed = alpha * a + (1 - alpha) * z
                flips[s:s + self.chunk] += view.head_proba(mixed).argmax(1) != y_hat[s:s + self.chunk]
        cand = np.flatnonzero(flips > 0)
        if len(cand) <= budget:
            rest = np.flatnonzero(flips == 0)
            picks = np.concatenate([cand, rng.choice(rest, budget - len(cand), replace=False)])
            return pool[picks]
        labels, centres = kmeans(h[cand], budget, rng)
        d2 = ((h[cand] - centres[labels]) ** 2).sum(1)
        picks = cand[nearest_to_centres(labels, d2)]
        if len(picks) < budget:  # empty clusters: top up from the other candidates
            rest = np.setdiff1d(cand, picks)
            picks = np.concatenate([picks, rng.choice(rest, budget - len(picks), replace=False)])
        return pool[picks]
