"""Diversity strategies never copy the pool, and ProbCover's graph stays bounded.

Coreset and BADGE read the pool's embeddings through ``view.embeddings`` in
blocks of a few MB; a ``streams_rows`` model (scikit-learn, linear-probe)
lets :class:`altbench.view.ModelView` hand them out without an (n, d) copy.
Block-wise picks must equal the picks on a materialised array.
"""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

import altbench.view
from altbench.methods.sklearn_models import SklearnModel
from altbench.view import Embeddings, ModelView
from altbench.strategies import _geometry as geo
from altbench.strategies.badge import badge
from altbench.strategies.coreset import Coreset
from altbench.strategies.probcover import ProbCover
from altbench.strategies.testing import FakeView, blobs_view
from test_strategies_reference import greedy_max_coverage


class ArrayOnlyView(FakeView):
    """A FakeView without ``embeddings``: strategies fall back to ``embed`` (a copy)."""

    def __getattribute__(self, name):
        if name == "embeddings":
            raise AttributeError(name)
        return super().__getattribute__(name)


def sklearn_view(n: int, d: int, seed: int = 0, n_labelled: int = 100,
                 dtype=np.float32) -> tuple[ModelView, np.ndarray]:
    """A ModelView of logistic regression over (n, d) blob features; pool = the unlabelled rows."""
    fake = blobs_view(n, d, 10, np.random.default_rng(seed), n_labelled=n_labelled)
    lab = np.arange(n_labelled)
    y = fake.P[lab].argmax(1)
    X = fake.H.astype(dtype)
    clf = LogisticRegression(max_iter=200).fit(X[lab], y)
    view = ModelView(SklearnModel(clf, 10, np.unique(y)), X, lab, y, "logreg")
    return view, np.arange(n_labelled, n)


def peak_bytes(fn) -> int:
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("strategy", [Coreset(), badge], ids=["coreset", "badge"])
def test_no_pool_sized_allocation_at_20k(strategy):
    view, pool = sklearn_view(20_100, 384)
    features = len(pool) * 384 * 4  # bytes of the pool's features (29 MB)
    peak = peak_bytes(lambda: strategy(view, pool, 100, np.random.default_rng(0)))
    assert peak < features / 2, f"peak {peak / 2**20:.1f} MB: something copies the pool ({features / 2**20:.0f} MB)"


@pytest.mark.parametrize("strategy", [Coreset(), Coreset(dtype="float64"), Coreset(ties="first"), badge],
                         ids=["coreset", "coreset64", "coreset-first", "badge"])
@pytest.mark.parametrize("seed", [0, 1])
def test_block_wise_picks_equal_materialised_picks(strategy, seed, monkeypatch):
    v = blobs_view(1500, 16, 5, np.random.default_rng(seed), n_labelled=7 * seed)
    pool = np.random.default_rng(seed).permutation(np.arange(7 * seed, 1500))  # arbitrary order
    plain = ArrayOnlyView(v.H, W=v.W, labelled=v.labelled, y_labelled=v.y_labelled)
    want = strategy(plain, pool, 40, np.random.default_rng(seed))
    monkeypatch.setattr(altbench.view, "BLOCK_BYTES", 4 * 16 * 37)  # 37-row blocks: many partial blocks
    np.testing.assert_array_equal(strategy(v, pool, 40, np.random.default_rng(seed)), want)


def test_model_view_streams_rows_in_blocks(monkeypatch):
    view, pool = sklearn_view(3000, 12, dtype=np.float64)  # float64: rounding far below the check
    P, H = view.predict_proba(pool), view.embed(pool)
    monkeypatch.setattr(altbench.view, "BLOCK_BYTES", 64)  # tiny blocks: predict in 256-row chunks
    monkeypatch.setattr(altbench.view, "PREDICT_ROWS", 256)
    calls = []
    model = view._model
    predict = model.predict_proba
    monkeypatch.setattr(model, "predict_proba", lambda X: calls.append(len(X)) or predict(X), raising=False)
    # BLAS may round a row differently in a shorter matrix product: last bits only
    np.testing.assert_allclose(view.predict_proba(pool), P, rtol=1e-12, atol=1e-15)
    assert max(calls) == 256 and sum(calls) == len(pool)
    E = view.embeddings(pool)
    assert isinstance(E, Embeddings) and E.shape == H.shape
    np.testing.assert_array_equal(np.concatenate([b for _, b in E.blocks()]), H)
    np.testing.assert_array_equal(E.take(np.array([5, 0, 5])), H[[5, 0, 5]])


# ---------------------------------------------------------------- ProbCover, bounded ε-graph
def test_radius_graph_cap_keeps_the_nearest_within_radius():
    g = np.random.default_rng(4)
    X = g.integers(0, 6, size=(200, 2)).astype(np.float32)  # grid: exact distance ties
    indptr, indices = geo.radius_graph(X, 2.5, max_neighbours=6)
    D = ((X[:, None].astype(np.float64) - X[None]) ** 2).sum(-1)
    assert indptr[-1] == len(indices) <= 6 * len(X)
    for i in range(len(X)):
        key = np.where(np.arange(len(X)) == i, -1.0, D[i])  # itself first
        ref = [j for j in np.lexsort((np.arange(len(X)), key)) if D[i, j] <= 2.5 ** 2][:6]
        assert sorted(indices[indptr[i]:indptr[i + 1]].tolist()) == sorted(ref)


def capped_naive_probcover(X, n_pool, radius, m, k, rng):
    """Dense greedy max coverage where each ball holds its m nearest points within radius."""
    D = ((X[:, None].astype(np.float64) - X[None]) ** 2).sum(-1)
    N = len(X)
    A = np.zeros((N, N), dtype=bool)
    for i in range(N):
        key = np.where(np.arange(N) == i, -1.0, D[i])
        A[i, [j for j in np.lexsort((np.arange(N), key)) if D[i, j] <= radius ** 2][:m]] = True
    return greedy_max_coverage(A, n_pool, k, rng)


@pytest.mark.parametrize("seed", range(3))
def test_probcover_with_a_binding_cap_equals_capped_naive_greedy(seed):
    X = np.random.default_rng(seed).integers(0, 10, size=(150, 2)).astype(np.float32)
    v = FakeView(X, P=np.full((150, 2), 0.5), labelled=np.arange(130, 150))
    ours = ProbCover(radius=2.0, max_edges=150 * 4)(v, np.arange(130), 12, np.random.default_rng(seed))
    ref = capped_naive_probcover(X, 130, 2.0, 4, 12, np.random.default_rng(seed))
    np.testing.assert_array_equal(ours, ref)


@pytest.mark.parametrize("seed", [0, 1])
def test_probcover_at_50k_never_fails_and_stays_bounded(seed):
    # well-separated blobs: k-means finds the true clusters, so the purity radius
    # is near the cluster gap and the uncapped graph would hold ~N²/10 edges
    v = blobs_view(50_000, 4, 10, np.random.default_rng(seed), n_labelled=50, latent=4, spread=10.0)
    picks = []
    peak = peak_bytes(lambda: picks.extend(ProbCover()(v, np.arange(50, 50_000), 50, np.random.default_rng(seed))))
    assert len(set(picks)) == 50 and min(picks) >= 50
    assert peak < 400 * 2**20, f"peak {peak / 2**20:.0f} MB"  # 2e7 edges ≈ 200 MB of graph
