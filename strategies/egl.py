"""Expected gradient length (EGL) of the last layer.

Settles, Craven & Ray, "Multiple-Instance Active Learning", NeurIPS 2008
(EGL; also Settles 2009, §3.4).  For a softmax head on features h (d,), the
gradient of the cross-entropy at label c w.r.t. the last-layer weights is
(p − e_c) ⊗ h, whose norm is ‖p − e_c‖·‖h‖, so

    EGL(x) = ‖h‖ · Σ_c p_c · ‖p − e_c‖,   ‖p − e_c‖² = ‖p‖² − 2 p_c + 1,

computed from ``predict_proba`` (n, C) and ``embed`` (n, d) in O(n·(C + d)).
"""

from __future__ import annotations

import numpy as np

from altbench.registry import STRATEGIES
from altbench.api import IntArray, ModelView  # the Protocol: the harness's view and FakeView
from altbench.strategies._geometry import sq_norms
from altbench.strategies._select import top_k


def egl_score(p: np.ndarray, h: np.ndarray) -> np.ndarray:
    """(n,) expected last-layer gradient norm for p (n, C), h (n, d)."""
    pn = (p * p).sum(axis=1, keepdims=True)  # (n, 1)
    grad_norm = np.sqrt(np.maximum(pn - 2 * p + 1, 0.0))  # (n, C) ‖p − e_c‖
    return np.sqrt(sq_norms(np.ascontiguousarray(h, dtype=np.float32))) * (p * grad_norm).sum(axis=1)


@STRATEGIES.register
def egl(view: ModelView, pool: IntArray, budget: int, rng: np.random.Generator) -> IntArray:
    """Largest expected last-layer gradient length (Settles, Craven & Ray 2008)."""
    return pool[top_k(egl_score(view.predict_proba(pool), view.embed(pool)), budget, rng)]
