"""A light, fully specified :class:`ModelView` stand-in for testing strategies.

``FakeView`` holds fixed arrays over a train pool of n points, so a test can
say exactly what the "model" predicts: embeddings ``H`` (n, d), and either
probabilities ``P`` (n, C) or a linear softmax head ``W`` (d, C), ``b`` (C,)
with P = softmax(H W + b).  MC-dropout samples come from a fixed array
``P_mc`` (n, C, T) or, with a head, from inverted dropout on ``H`` whose
masks are drawn from the ``rng`` passed in; decision scores from ``S`` (n, C).
It satisfies the :class:`altbench.api.ModelView` protocol (checked by mypy,
``tests/typing_check.py``).  Used by the tests, the speed
benchmarks and ``scripts/compare_strategies.py``; third-party strategy
authors can use it too.
"""

from __future__ import annotations

import numpy as np

from altbench.view import CapabilityError, Embeddings


def softmax(z: np.ndarray, axis: int = -1) -> np.ndarray:
    """Row-wise softmax, stable."""
    z = z - z.max(axis=axis, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=axis, keepdims=True)


class FakeView:
    """ModelView over fixed arrays (see module docstring)."""

    def __init__(self, H: np.ndarray, *, P: np.ndarray | None = None, W: np.ndarray | None = None,
                 b: np.ndarray | None = None, P_mc: np.ndarray | None = None, S: np.ndarray | None = None,
                 labelled=(), y_labelled=None, dropout: float = 0.2):
        self.H = np.ascontiguousarray(H, dtype=np.float32)  # (n, d)
        self.W = None if W is None else np.asarray(W, dtype=np.float32)  # (d, C)
        self.b = None if W is None else (np.zeros(self.W.shape[1], np.float32) if b is None
                                         else np.asarray(b, dtype=np.float32))  # (C,)
        if P is None and W is None:
            raise ValueError("FakeView needs probabilities P or a head W")
        self.P = self.head_proba(self.H) if P is None else np.asarray(P, dtype=np.float64)  # (n, C)
        self.P_mc = None if P_mc is None else np.asarray(P_mc, dtype=np.float64)  # (n, C, T)
        self.S = None if S is None else np.asarray(S, dtype=np.float64)  # (n, C) decision scores
        self.labelled = np.asarray(labelled, dtype=np.int64)
        y = self.P[self.labelled].argmax(1) if y_labelled is None else y_labelled
        self.y_labelled = np.asarray(y, dtype=np.int64)
        self.n_classes = self.P.shape[1]
        self.n_pool = len(self.H)
        self.dropout = dropout  # MC-dropout rate on H when a head is given

    def predict_proba(self, idx) -> np.ndarray:
        """(n, C)"""
        return self.P[idx]

    def predict_proba_mc(self, idx, n_samples: int, rng: np.random.Generator) -> np.ndarray:
        """(n, C, T): fixed samples, or dropout on H through the head (masks from rng)."""
        if self.P_mc is not None:
            if n_samples > self.P_mc.shape[2]:
                raise ValueError(f"FakeView holds {self.P_mc.shape[2]} MC samples, asked {n_samples}")
            return self.P_mc[idx][:, :, :n_samples]
        if self.W is None:
            raise CapabilityError("FakeView without P_mc or a head W has no predict_proba_mc")
        h = self.H[idx]  # (n, d)
        keep = rng.random((n_samples,) + h.shape, dtype=np.float32) >= self.dropout  # (T, n, d)
        logits = (h[None] * keep / (1 - self.dropout)) @ self.W + self.b  # (T, n, C)
        return softmax(logits.astype(np.float64)).transpose(1, 2, 0)

    def committee_proba(self, idx, n_members: int, rng: np.random.Generator) -> np.ndarray:
        """(n, C, M) stand-in committee (nothing is refitted here): member m is MC sample
        m mod T of ``P_mc``, or, with a head, an independent dropout pass (masks from rng)."""
        if self.P_mc is not None:
            return self.P_mc[idx][:, :, np.arange(n_members) % self.P_mc.shape[2]]
        return self.predict_proba_mc(idx, n_members, rng)

    def embed(self, idx) -> np.ndarray:
        """(n, d)"""
        return self.H[idx]

    def embeddings(self, idx) -> Embeddings:
        """(n, d) rows of H read on demand, as ``ModelView.embeddings`` (no copy)."""
        return Embeddings(lambda rows: self.H[rows], idx, self.H.shape[1])

    def grad_embed(self, idx) -> np.ndarray:
        """(n, C·d): (p − e_ŷ) ⊗ h, materialised (reference for BADGE)."""
        p = self.P[idx].copy()
        p[np.arange(len(p)), p.argmax(1)] -= 1.0
        return (p[:, :, None] * self.H[idx][:, None, :]).reshape(len(p), -1).astype(np.float32)

    def head_proba(self, H: np.ndarray) -> np.ndarray:
        """(n, C) probabilities of the head applied to embeddings H (n, d)."""
        if self.W is None:
            raise CapabilityError("FakeView without a head W has no head_proba")
        return softmax((np.asarray(H, dtype=np.float32) @ self.W + self.b).astype(np.float64))

    def decision_function(self, idx) -> np.ndarray:
        """(n, C) the fixed decision scores ``S``."""
        if self.S is None:
            raise CapabilityError("FakeView without S has no decision_function")
        return self.S[idx]

    def has(self, capability: str) -> bool:
        """Whether this fake provides ``capability`` (as ``ModelView.has``)."""
        if capability == "decision_function":
            return self.S is not None
        if capability in ("predict_proba_mc", "committee_proba"):
            return self.P_mc is not None or self.W is not None
        if capability == "head_proba":
            return self.W is not None
        return hasattr(self, capability)


def blobs_view(n: int, d: int, n_classes: int, rng: np.random.Generator, n_labelled: int = 0,
               latent: int = 16, spread: float = 1.5, temperature: float = 1.0) -> FakeView:
    """A FakeView over Gaussian blobs with a linear head (benchmarks, tests).

    Embeddings (n, d) float32 lie near a random ``latent``-dimensional
    subspace (like real penultimate features, low intrinsic dimension):
    blob centres N(0, spread²) there, unit noise, plus 0.1 isotropic noise.
    The head scores classes by projection on their centre direction, so
    predictions are mostly right with varied confidence.  The first
    ``n_labelled`` points are labelled with their true blob.
    """
    latent = min(latent, d)
    R = np.linalg.qr(rng.standard_normal((d, latent)))[0].T.astype(np.float32)  # (latent, d) orthonormal rows
    centres = rng.normal(0, spread, size=(n_classes, latent)).astype(np.float32)
    y = rng.integers(0, n_classes, size=n)
    Z = centres[y] + rng.standard_normal((n, latent), dtype=np.float32)
    H = Z @ R + np.float32(0.1) * rng.standard_normal((n, d), dtype=np.float32)
    W = R.T @ (temperature * centres.T / np.linalg.norm(centres, axis=1))  # (d, C)
    return FakeView(H, W=W, labelled=np.arange(n_labelled), y_labelled=y[:n_labelled])
