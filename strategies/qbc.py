"""Query by committee with vote entropy, committee by bagging.

Seung, Opper & Sompolinsky (1992) query where a committee of models
disagrees most; Dagan & Engelson (1995) measure the disagreement by the
vote entropy; Abe & Mamitsuka (1998) build the committee by bagging: each
member is the model refitted on a bootstrap resample of the labelled set.
This is the QBC of libact that Zhan et al. (2021) benchmark.

The strategy never trains, and neither does the view: ``view.committee_proba``
(n, C, M) forwards to the fitted model's own committee (bagged refits,
:mod:`altbench.methods.committee`); a method without one raises
:class:`altbench.view.CapabilityError`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from altbench.api import STRATEGIES, IntArray, ModelView, top_k


def vote_entropy(pm: np.ndarray) -> np.ndarray:
    """−Σ_c (V_c/M) log(V_c/M), V_c = members whose argmax is c (Dagan & Engelson 1995).

    pm: (n, C, M) member probabilities → (n,) scores in [0, log min(C, M)].
    """
    n, n_classes, m = pm.shape
    votes = pm.argmax(axis=1)  # (n, M)
    share = (votes[:, :, None] == np.arange(n_classes)).sum(axis=1) / m  # (n, C)
    with np.errstate(divide="ignore", invalid="ignore"):
        return -np.where(share > 0, share * np.log(share), 0.0).sum(axis=1)


@STRATEGIES.register(name="qbc")
@dataclass(frozen=True)
class Qbc:
    """Top-``budget`` vote entropy of a bagged committee (Seung et al. 1992;
    Abe & Mamitsuka 1998); members (n, C, M) from ``view.committee_proba``,
    bootstrap draws and member seeds from the query ``rng``, ties at random."""

    n_members: int = 5  # committee size M (libact's QBC examples and Zhan et al. use a handful)

    def __post_init__(self):
        if self.n_members < 2:
            raise ValueError(f"qbc needs a committee of at least 2 members, got n_members={self.n_members}")

    def __call__(self, view: ModelView, pool: IntArray, budget: int, rng: np.random.Generator) -> IntArray:
        pm = view.committee_proba(pool, self.n_members, rng)  # (n_pool, C, M)
        return pool[top_k(vote_entropy(pm), budget, rng)]
