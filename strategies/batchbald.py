"""BatchBALD: greedy maximisation of the joint mutual information of a batch.

Kirsch, van Amersfoort & Gal, "BatchBALD: Efficient and Diverse Batch
Acquisition for Deep Bayesian Active Learning", NeurIPS 2019.

a(x_1..x_b) = H[y_1..y_b] − Σ_j E_w H[y_j | w], estimated from T MC-dropout
samples.  The joint over the chosen points is held as P (K, T): the
probability of K label configurations under each sample w_t.  While C^b ≤
``max_configs`` the K configurations are enumerated exactly; afterwards K =
``max_configs`` configurations are drawn from the joint by ancestral sampling
(the paper's Monte-Carlo estimator), rows rescaled to mean 1 with log-scale
``s`` so products never underflow.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from altbench.registry import STRATEGIES
from altbench.api import IntArray, ModelView  # the Protocol: the harness's view and FakeView
from altbench.strategies._geometry import argmax_random
from altbench.strategies._select import top_k
from altbench.strategies.mc_dropout import bald_score


def _candidates(view: ModelView, pool: IntArray, m: int, n_samples: int, rng: np.random.Generator,
                chunk: int) -> tuple[np.ndarray, np.ndarray]:
    """Positions in ``pool`` of the ``m`` top-BALD points and their samples (m, C, T);
    streamed chunk by chunk, so memory is O((m + chunk)·C·T)."""
    keep_pos = np.zeros(0, dtype=np.int64)
    keep_s = np.zeros(0)
    keep_pt = None
    for s in range(0, len(pool), chunk):
        pt = view.predict_proba_mc(pool[s:s + chunk], n_samples, rng)  # (n, C, T)
        pos = np.concatenate([keep_pos, np.arange(s, s + len(pt))])
        sc = np.concatenate([keep_s, bald_score(pt)])
        pts = pt if keep_pt is None else np.concatenate([keep_pt, pt])
        best = top_k(sc, min(m, len(sc)), rng)
        keep_pos, keep_s, keep_pt = pos[best], sc[best], pts[best]
    return keep_pos, keep_pt


def _joint_entropy(P: np.ndarray, s: np.ndarray, w: np.ndarray, ptT: np.ndarray, C: int) -> np.ndarray:
    """(m,) H[y_chosen, y_i] for every candidate i.

    P: (K, T) scaled config probabilities, s: (K,) their log-scales, w: (K,)
    estimator weights (1 exact, 1/K sampled); ptT: (T, m·C) candidate samples.
    """
    T = P.shape[1]
    m = ptT.shape[1] // C
    out = np.empty(m)
    step = max(1, (1 << 22) // (P.shape[0] * C))  # candidates per block
    P32, s32 = P.astype(np.float32) / np.float32(T), s.astype(np.float32)[:, None]
    for a in range(0, m, step):
        J = P32 @ ptT[:, a * C:(a + step) * C]  # (K, b·C) float32: half the time of float64
        with np.errstate(divide="ignore", invalid="ignore"):
            t = np.where(J > 0, J * (np.log(J) + s32), np.float32(0.0))
        out[a:a + step] = -(w @ t).reshape(-1, C).sum(axis=1)
    return out


@STRATEGIES.register(name="batchbald")
@dataclass(frozen=True)
class BatchBald:
    """Greedy BatchBALD (Kirsch et al. 2019) over MC-dropout samples (n, C, T).

    Candidates are the ``n_candidates`` top-BALD pool points (streamed, bounded
    memory); picks are greedy in the joint mutual information, ties at random.
    """

    n_samples: int = 20  # MC-dropout passes T
    n_candidates: int = 1000  # top-BALD points considered (at least the budget)
    max_configs: int = 2048  # exact joint while C^b ≤ this; else this many sampled configurations
    chunk: int = 4096  # pool points per predict_proba_mc call

    def __call__(self, view: ModelView, pool: IntArray, budget: int, rng: np.random.Generator) -> IntArray:
        pos, pt = _candidates(view, pool, max(self.n_candidates, budget), self.n_samples, rng, self.chunk)
        m, C, T = pt.shape
        ptT = np.ascontiguousarray(pt.transpose(2, 0, 1).reshape(T, m * C), dtype=np.float32)  # (T, m·C)
        cond = -np.where(pt > 0, pt * np.log(np.where(pt > 0, pt, 1.0)), 0.0).sum(1).mean(1)  # (m,)
        P, s, w = np.ones((1, T)), np.zeros(1), np.ones(1)
        sampled, cond_sum = False, 0.0
        taken = np.zeros(m, dtype=bool)
        picks = []
        for _ in range(budget):
            score = _joint_entropy(P, s, w, ptT, C) - cond - cond_sum
            score[taken] = -np.inf
            i = argmax_random(score, rng)
            picks.append(i)
            taken[i] = True
            cond_sum += cond[i]
            P, s, sampled = self._extend(P, s, pt[i], sampled, rng)
            w = np.full(len(P), 1.0 / len(P)) if sampled else np.ones(len(P))
        return pool[pos[np.asarray(picks, dtype=np.int64)]]

    def _extend(self, P, s, p_new, sampled, rng):
        """Add one chosen point with samples p_new (C, T) to the joint P (K, T)."""
        K, T = P.shape
        C = p_new.shape[0]
        if not sampled:
            ext = (P[:, None, :] * p_new[None]).reshape(K * C, T)
            if K * C <= self.max_configs:
                return ext, np.zeros(K * C), False
            prob = ext.mean(axis=1)
            rows = rng.choice(K * C, size=self.max_configs, p=prob / prob.sum())
            P, s = ext[rows], np.zeros(self.max_configs)
        else:  # ancestral sampling: y_new ~ p(y_new | configuration)
            J = P @ p_new.T  # (K, C)
            cdf = np.cumsum(J / J.sum(axis=1, keepdims=True), axis=1)
            c = np.minimum((cdf < rng.random(K)[:, None]).sum(axis=1), C - 1)
            P = P * p_new[c]
        scale = P.mean(axis=1)
        return P / scale[:, None], s + np.log(scale), True
