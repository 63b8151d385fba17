"""Stochastic batch acquisition: sample a batch instead of taking the top-k.

Kirsch, Farquhar, Atighehchian, Jesson, Branchaud-Charron & Gal,
"Stochastic Batch Acquisition: A Simple Baseline for Deep Active Learning",
TMLR 2023.  Given (n,) scores s ≥ 0 of any single-point score, the batch is
drawn without replacement with probability ∝

* ``power``:    s^β
* ``softmax``:  exp(β s)
* ``softrank``: rank^−β   (rank 1 = highest score)

implemented with the Gumbel-top-k trick: the top-k of log-weight + Gumbel(0, 1)
noise is an exact sample without replacement (Kool et al. 2019).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from altbench.registry import STRATEGIES
from altbench.api import IntArray, ModelView  # the Protocol: the harness's view and FakeView
from altbench.strategies._select import top_k
from altbench.strategies.mc_dropout import MC_SCORES, mc_scores
from altbench.strategies.uncertainty import SCORES

ScoreName = Literal["entropy", "margin", "least_confidence", "bald", "variation_ratios", "mean_std"]


def pool_scores(view: ModelView, pool: IntArray, score: str, rng: np.random.Generator,
                n_samples: int = 20) -> np.ndarray:
    """(len(pool),) single-point scores by name: from ``predict_proba`` for the
    classic ones, from MC-dropout samples for bald/variation_ratios/mean_std."""
    if score in SCORES:
        return SCORES[score](view.predict_proba(pool))
    if score in MC_SCORES:
        return mc_scores(view, pool, MC_SCORES[score], n_samples, rng)
    raise ValueError(f"unknown score {score!r}; use one of {', '.join(sorted({**SCORES, **MC_SCORES}))}")


def log_weights(scores: np.ndarray, mode: str, beta: float, rng: np.random.Generator) -> np.ndarray:
    """(n,) log sampling weights of the three Kirsch et al. (2023) variants."""
    if mode == "power":
        with np.errstate(divide="ignore"):
            return beta * np.log(np.maximum(scores, 0.0))  # score 0 → never drawn unless needed
    if mode == "softmax":
        return beta * scores
    if mode == "softrank":
        rank = np.empty(len(scores))
        rank[top_k(scores, len(scores), rng)] = np.arange(1, len(scores) + 1)
        return -beta * np.log(rank)
    raise ValueError(f"unknown mode {mode!r}; use power, softmax or softrank")


def gumbel_top_k(logw: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """(k,) positions sampled without replacement ∝ exp(logw) (Gumbel-top-k)."""
    keys = logw + rng.gumbel(size=len(logw))  # −inf (zero weight) keys go last, ties at random
    return top_k(keys, k, rng)


@STRATEGIES.register(name="stochastic")
@dataclass(frozen=True)
class Stochastic:
    """Power/softmax/soft-rank sampling of any score (Kirsch et al. 2023); scores (n,)."""

    score: ScoreName = "entropy"  # single-point score to sample by
    mode: Literal["power", "softmax", "softrank"] = "power"  # how scores become weights
    beta: float = 1.0  # coldness β; β → ∞ recovers top-k (the paper uses β = 1)
    n_samples: int = 20  # MC-dropout passes, for the MC scores only

    def __call__(self, view: ModelView, pool: IntArray, budget: int, rng: np.random.Generator) -> IntArray:
        s = pool_scores(view, pool, self.score, rng, self.n_samples)
        return pool[gumbel_top_k(log_weights(s, self.mode, self.beta, rng), budget, rng)]


@STRATEGIES.register(name="power_bald")
@dataclass(frozen=True)
class PowerBald(Stochastic):
    """PowerBALD, the paper's headline variant: BALD scores sampled ∝ s^β."""

    score: ScoreName = "bald"  # BALD mutual information from MC dropout
