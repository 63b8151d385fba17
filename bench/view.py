"""What a query strategy may see of a fitted model: a read-only view.

Strategies never train, load data or build loaders.  They receive a
:class:`ModelView` whose methods take indices into the (unlabelled + labelled)
training pool and return arrays.  Which methods work depends on the transfer
method; a missing one raises :class:`CapabilityError` naming both sides.
Every array the view hands out is checked to be finite (one vectorised
pass); NaN or inf raises :class:`altbench.outputs.NonFiniteError` naming the
method, the view method and the round, so garbage never reaches a strategy.
``embeddings(idx)`` hands out the pool's embeddings as :class:`Embeddings`,
read block by block, so diversity strategies never copy an (n, d) pool.
"""

from __future__ import annotations

from typing import Any, Callable, Iterator, Protocol, runtime_checkable

import numpy as np

from altbench.outputs import require_finite

IntArray = np.ndarray  # 1-D int64 index array
FloatArray = np.ndarray


BLOCK_BYTES = 1 << 22  # bytes of one block of rows read through a model: 4 MB
PREDICT_ROWS = 4096  # row blocks of predict_proba are multiples of this (TorchModel's batch)
FETCH_ROWS = 1024  # rows embedded per model call when embeddings are read on demand


class CapabilityError(TypeError):
    """A strategy asked the model for something its method cannot provide."""


@runtime_checkable
class Model(Protocol):
    """A fitted model on prepared inputs ``X`` (rows of what the method's
    ``prepare`` returned).  Only ``predict_proba`` is required."""

    n_classes: int
    # Optional ``streams_rows = True``: each output row depends on its input row
    # alone and ``embed`` is a cheap row-wise map of the stored inputs (identity,
    # standardisation), so the view reads the pool in row blocks and re-embeds
    # rows on demand instead of copying the pool (see :class:`Embeddings`).

    def predict_proba(self, X: Any) -> FloatArray:
        """(n, C) class probabilities."""
        ...


class Embeddings:
    """(n, d) float32 embeddings of pool rows ``idx`` (n,), fetched on demand.

    ``fetch(rows)`` maps pool indices (m,) to their (m, d) float32 embeddings.
    Diversity strategies read them in blocks (:meth:`block`, :meth:`blocks`) or
    by position (:meth:`take`), so nothing holds all n rows unless ``fetch``
    indexes an array that already exists.
    """

    def __init__(self, fetch: Callable[[IntArray], FloatArray], idx: IntArray, d: int):
        self._fetch = fetch
        self.idx = np.asarray(idx, dtype=np.int64)  # (n,) pool indices
        self.shape = (len(self.idx), int(d))

    @classmethod
    def of_array(cls, H: FloatArray) -> "Embeddings":
        """Embeddings over an existing (n, d) array (no copy when it is float32)."""
        H = np.asarray(H)
        return cls(lambda rows: H[rows], np.arange(len(H)), H.shape[1])

    def __len__(self) -> int:
        return self.shape[0]

    def take(self, pos: IntArray) -> FloatArray:
        """(len(pos), d) C-contiguous float32 rows at positions ``pos`` (into idx)."""
        return np.ascontiguousarray(self._fetch(self.idx[pos]), dtype=np.float32).reshape(-1, self.shape[1])

    def block(self, start: int, stop: int) -> FloatArray:
        """(stop − start, d) rows start..stop−1."""
        return self.take(np.arange(start, min(stop, len(self))))

    def block_rows(self, max_bytes: int | None = None) -> int:
        """Rows per block so that one float32 block takes at most ``max_bytes`` (default BLOCK_BYTES)."""
        return max(1, (max_bytes or BLOCK_BYTES) // (4 * max(1, self.shape[1])))

    def blocks(self, rows: int | None = None) -> Iterator[tuple[int, FloatArray]]:
        """(start, (b, d) block) over all n rows, ``rows`` at a time (default: 4 MB blocks)."""
        rows = rows or self.block_rows()
        for s in range(0, len(self), rows):
            yield s, self.block(s, s + rows)


class ModelView:
    """Index-based, read-only access to a fitted model over the train pool.

    ``labelled`` / ``y_labelled`` are the indices and labels the model was
    fitted on (diversity strategies such as coreset need them); ``al_round``
    (the AL round, if known) only goes into error messages.
    """

    def __init__(self, model: Model, X_pool: Any, labelled: IntArray, y_labelled: IntArray,
                 method_name: str = "?", al_round: int | None = None,
                 observer: Callable[[IntArray, FloatArray], None] | None = None):
        self._model = model
        self._observer = observer  # sees each checked predict_proba block (the loop's stop-set probe)
        self._X = X_pool
        self.labelled = np.asarray(labelled, dtype=np.int64)  # (n_lab,)
        self.y_labelled = np.asarray(y_labelled, dtype=np.int64)  # (n_lab,)
        self.n_classes = int(model.n_classes)
        self.n_pool = len(X_pool)
        self.method_name = method_name
        self.al_round = al_round

    def _need(self, attr: str):
        fn = getattr(self._model, attr, None)
        if fn is None:  # a model may say what to choose instead (``missing_hints``: {view method: hint})
            hint = getattr(self._model, "missing_hints", {}).get(
                attr, "pick a method that does (e.g. mlp) or another strategy")
            raise CapabilityError(f"method {self.method_name!r} does not provide {attr}(); {hint}")
        return fn

    def _finite(self, x: FloatArray, what: str, view_method: str, rows: str = "pool rows") -> FloatArray:
        """``x`` (n, ...) if all finite, else NonFiniteError naming the method and round."""
        when = f" in round {self.al_round}" if self.al_round is not None else ""
        return require_finite(x, f"method {self.method_name!r}", f"{what} (ModelView.{view_method})", rows, when)

    def _streams(self) -> bool:
        return bool(getattr(self._model, "streams_rows", False)) and isinstance(self._X, np.ndarray)

    def _row_bytes(self) -> int:
        return self._X.dtype.itemsize * max(1, int(np.prod(self._X.shape[1:])))

    def _chunk_rows(self) -> int:
        """Rows per predict_proba block: a multiple of PREDICT_ROWS, inputs ≤ 4·BLOCK_BYTES."""
        return PREDICT_ROWS * max(1, 4 * BLOCK_BYTES // (PREDICT_ROWS * self._row_bytes()))  # 16 MB inputs

    def predict_proba(self, idx: IntArray) -> FloatArray:
        """(n, C) class probabilities for pool rows ``idx``.

        A ``streams_rows`` model whose inputs would take over 16 MB is read in
        row blocks (multiples of 4096 rows), so the (n, d) inputs are never
        copied at once.  TorchModel batches are unchanged; a BLAS product may
        round a row differently in a shorter block (last bits).
        """
        idx = np.asarray(idx)
        if not self._streams() or len(idx) * self._row_bytes() <= 4 * BLOCK_BYTES:
            return self._predict(idx)
        rows = self._chunk_rows()
        return np.concatenate([self._predict(idx[s:s + rows]) for s in range(0, len(idx), rows)])

    def _predict(self, idx: IntArray) -> FloatArray:
        p = self._finite(np.asarray(self._model.predict_proba(self._X[idx]), dtype=np.float64),
                         "probabilities", "predict_proba")
        if self._observer is not None:
            self._observer(idx, p)
        return p

    def predict_proba_mc(self, idx: IntArray, n_samples: int, rng: np.random.Generator) -> FloatArray:
        """(n, C, T) probabilities under T stochastic forward passes (MC dropout)."""
        p = np.asarray(self._need("predict_proba_mc")(self._X[idx], n_samples, rng), dtype=np.float64)
        return self._finite(p, "MC-dropout probabilities", "predict_proba_mc")

    def embed(self, idx: IntArray) -> FloatArray:
        """(n, d) penultimate-layer embeddings."""
        return self._finite(np.asarray(self._need("embed")(self._X[idx]), dtype=np.float32), "embeddings", "embed")

    def embeddings(self, idx: IntArray) -> Embeddings:
        """(n, d) embeddings of pool rows ``idx`` as :class:`Embeddings`, for strategies
        that read them in blocks.

        A ``streams_rows`` model (scikit-learn models, linear-probe heads over
        stored features) re-embeds the rows each block needs, so no (n, d) copy
        of the pool exists; any other model is embedded once (``embed``).
        """
        if not self._streams():
            return Embeddings.of_array(self.embed(idx))
        embed = self._need("embed")

        d = np.asarray(embed(self._X[:1])).reshape(1, -1).shape[1] if self.n_pool else 0

        def fetch(rows: IntArray) -> FloatArray:  # in slices, so the model's temporaries stay small
            out = np.empty((len(rows), d), dtype=np.float32)
            for s in range(0, len(rows), FETCH_ROWS):
                out[s:s + FETCH_ROWS] = np.asarray(embed(self._X[rows[s:s + FETCH_ROWS]])).reshape(-1, d)
            return self._finite(out, "embeddings", "embed")

        return Embeddings(fetch, idx, d)

    def grad_embed(self, idx: IntArray) -> FloatArray:
        """(n, d·C) last-layer gradient embeddings at the predicted label (BADGE)."""
        g = np.asarray(self._need("grad_embed")(self._X[idx]), dtype=np.float32)
        return self._finite(g, "gradient embeddings", "grad_embed")

    def decision_function(self, idx: IntArray) -> FloatArray:
        """(n, C) one-vs-rest decision scores of the task model (an uncalibrated SVM: US-C)."""
        s = np.asarray(self._need("decision_function")(self._X[idx]), dtype=np.float64)
        return self._finite(s, "decision scores", "decision_function")

    def head_proba(self, H: FloatArray) -> FloatArray:
        """(n, C) probabilities of the classifier head on embeddings H (n, d) from ``embed``."""
        p = np.asarray(self._need("head_proba")(np.asarray(H, dtype=np.float32)), dtype=np.float64)
        return self._finite(p, "head probabilities", "head_proba", "embedding rows")

    def committee_proba(self, idx: IntArray, n_members: int, rng: np.random.Generator) -> FloatArray:
        """(n, C, M) probabilities of M committee members for pool rows ``idx``.

        The committee is the method's (``model.committee_proba(X_lab, y_lab, X, M, rng)``,
        e.g. bagged refits, :mod:`altbench.methods.committee`); the view only hands it the
        labelled rows it was fitted on, so the view itself never trains.
        """
        members = self._need("committee_proba")
        p = members(self._X[self.labelled], self.y_labelled, self._X[idx], n_members, rng)
        return self._finite(np.asarray(p, dtype=np.float64), "committee probabilities", "committee_proba")

    def has(self, capability: str) -> bool:
        """Whether the model offers ``capability`` (a view method name such as ``"embed"``)."""
        return capability == "predict_proba" or hasattr(self._model, capability)
