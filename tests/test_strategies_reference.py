"""Agreement with straightforward reference implementations on random inputs."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from altbench.strategies import _geometry as geo
from altbench.strategies.badge import badge
from altbench.strategies.batchbald import BatchBald, _joint_entropy
from altbench.strategies.cal import Cal
from altbench.strategies.coreset import coreset
from altbench.strategies.density import mean_cosine
from altbench.strategies.egl import egl_score
from altbench.strategies.mc_dropout import Bald, bald_score, max_entropy_score, mean_std_score, variation_ratio_score
from altbench.strategies.probcover import ProbCover
from altbench.strategies.stochastic import gumbel_top_k, log_weights
from altbench.strategies.testing import FakeView, blobs_view, softmax
from altbench.strategies.typiclust import typicality
from altbench.strategies._kcenter import kcenter_greedy


def naive_kcenter(X, labelled_X, k, rng):
    """The textbook loop: recompute every point's distance to its nearest centre."""
    X = X.astype(np.float64)
    centres = list(labelled_X.astype(np.float64))
    picks = []
    for _ in range(k):
        if centres:
            d = np.min([((X - c) ** 2).sum(1) for c in centres], axis=0)
        else:
            d = np.full(len(X), np.inf)
        d[picks] = -np.inf
        ties = np.flatnonzero(d == d.max())
        c = int(ties[0] if len(ties) == 1 else rng.choice(ties))
        picks.append(c)
        centres.append(X[c])
    return np.array(picks)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("n_lab", [0, 3])
def test_kcenter_greedy_equals_naive_loop(seed, n_lab):
    g = np.random.default_rng(seed)
    # small integer coordinates: float32 distances are exact and ties are common,
    # so the seeded tie-breaking is compared too
    X = g.integers(-4, 5, size=(300, 3)).astype(np.float32)
    v = FakeView(X, P=np.full((300, 2), 0.5), labelled=np.arange(n_lab))
    pool = np.arange(n_lab, 300)
    ours = coreset(v, pool, 25, np.random.default_rng(seed))
    ref = pool[naive_kcenter(X[pool], X[:n_lab], 25, np.random.default_rng(seed))]
    np.testing.assert_array_equal(ours, ref)


def test_kcenter_greedy_small_block_equals_naive():
    g = np.random.default_rng(7)
    X = g.normal(size=(500, 8)).astype(np.float32)
    ours = kcenter_greedy(X, np.full(500, np.inf, np.float32), 60, np.random.default_rng(0), block=2)
    np.testing.assert_array_equal(ours, naive_kcenter(X, X[:0], 60, np.random.default_rng(0)))


@pytest.mark.parametrize("seed", range(5))
def test_badge_equals_kmeanspp_on_materialised_gradients(seed):
    v = blobs_view(400, 12, 4, np.random.default_rng(seed), temperature=0.5)
    pool = np.arange(400)
    ours = badge(v, pool, 30, np.random.default_rng(seed))
    G = v.grad_embed(pool).astype(np.float64)  # (n, C·d), the thing BADGE avoids building
    g2 = (G * G).sum(1)
    r = np.random.default_rng(seed)
    first = geo.argmax_random(g2, r)
    ref = geo.kmeanspp(g2, lambda i: G @ G[i], 30, r, first=first)
    np.testing.assert_array_equal(ours, pool[ref])


def test_kmeanspp_draws_proportional_to_d2():
    # two centres far apart plus a near duplicate: after the first pick at 0 the
    # second is 2 with probability 100/(100+1) under D² sampling
    X = np.array([[0.0], [1.0], [10.0]], np.float32)
    hits = sum(geo.kmeanspp(geo.sq_norms(X), lambda i: X @ X[i], 2, np.random.default_rng(s), first=0)[1] == 2
               for s in range(2000))
    assert abs(hits / 2000 - 100 / 101) < 0.02


def test_nearest_and_knn_match_brute_force():
    g = np.random.default_rng(0)
    Q, X = g.normal(size=(97, 5)).astype(np.float32), g.normal(size=(131, 5)).astype(np.float32)
    D = ((Q[:, None].astype(np.float64) - X[None]) ** 2).sum(-1)
    i, d = geo.nearest(Q, X)
    np.testing.assert_array_equal(i, D.argmin(1))
    np.testing.assert_allclose(d, D.min(1), rtol=1e-4)
    idx, d2 = geo.knn(Q, X, 7)
    np.testing.assert_array_equal(idx, np.argsort(D, 1)[:, :7])
    self_i, _ = geo.knn(X, X, 3, skip_self=True)
    DX = ((X[:, None].astype(np.float64) - X[None]) ** 2).sum(-1)
    np.fill_diagonal(DX, np.inf)
    np.testing.assert_array_equal(self_i, np.argsort(DX, 1)[:, :3])


def test_radius_graph_matches_brute_force():
    g = np.random.default_rng(1)
    X = g.normal(size=(150, 3)).astype(np.float32)
    indptr, indices = geo.radius_graph(X, 0.8)
    D = np.sqrt(((X[:, None].astype(np.float64) - X[None]) ** 2).sum(-1))
    for i in range(150):
        assert set(indices[indptr[i]:indptr[i + 1]].tolist()) == set(np.flatnonzero(D[i] <= 0.8).tolist())


def test_kmeans_recovers_separated_blobs():
    g = np.random.default_rng(2)
    centres = np.array([[0, 0], [20, 0], [0, 20]], np.float32)
    y = np.repeat(np.arange(3), 50)
    X = centres[y] + g.normal(size=(150, 2)).astype(np.float32)
    labels, _ = geo.kmeans(X, 3, np.random.default_rng(0))
    for c in range(3):  # each blob is one cluster
        assert len(np.unique(labels[y == c])) == 1
    assert len(np.unique(labels)) == 3


def naive_probcover(X, n_pool, radius, k, rng):
    """Dense-adjacency greedy max coverage, recounting everything each pick."""
    A = np.sqrt(((X[:, None].astype(np.float64) - X[None]) ** 2).sum(-1)) <= radius
    return greedy_max_coverage(A, n_pool, k, rng)


def greedy_max_coverage(A, n_pool, k, rng):
    """(k,) pool rows picked greedily by how many uncovered points their ball adds; rows ≥ n_pool are
    labelled (their balls start covered); ties: the only one, else ``rng.choice``.  A: (N, N) bool."""
    covered = A[n_pool:].any(0)
    picks = []
    for _ in range(k):
        counts = (A & ~covered).sum(1).astype(float)
        counts[n_pool:] = -1
        counts[picks] = -1
        ties = np.flatnonzero(counts == counts.max())
        c = int(ties[0] if len(ties) == 1 else rng.choice(ties))
        picks.append(c)
        covered |= A[c]
    return np.array(picks)


@pytest.mark.parametrize("seed", range(4))
def test_probcover_equals_naive_greedy(seed):
    g = np.random.default_rng(seed)
    X = g.integers(0, 12, size=(120, 2)).astype(np.float32)  # integer grid: exact distances, ties
    v = FakeView(X, P=np.full((120, 2), 0.5), labelled=np.arange(100, 120))
    # the default edge budget caps each ball at 2e7 // 120 points: no cap binds, so the paper's picks
    ours = ProbCover(radius=2.0)(v, np.arange(100), 15, np.random.default_rng(seed))
    np.testing.assert_array_equal(ours, naive_probcover(X, 100, 2.0, 15, np.random.default_rng(seed)))


def test_probcover_purity_radius_on_separated_blobs():
    g = np.random.default_rng(3)
    centres = np.array([[0, 0], [30, 0]], np.float32)
    X = centres[np.repeat([0, 1], 100)] + g.normal(size=(200, 2)).astype(np.float32)
    v = FakeView(X, P=np.tile([0.5, 0.5], (200, 1)), labelled=[0, 100], y_labelled=[0, 1])
    picks = ProbCover()(v, np.r_[1:100, 101:200], 4, np.random.default_rng(0))
    assert len(np.unique(picks)) == 4  # δ ≈ the blob gap: works without a radius


def test_cal_equals_naive_loop():
    v = blobs_view(200, 6, 3, np.random.default_rng(4), n_labelled=25)
    pool = np.arange(25, 200)
    ours = Cal(k=5)(v, pool, 10, np.random.default_rng(0))
    H, P = v.H.astype(np.float64), v.P
    score = []
    for i in pool:
        nn = np.argsort(((H[:25] - H[i]) ** 2).sum(1))[:5]
        score.append(np.mean([(P[j] * np.log(P[j] / P[i])).sum() for j in nn]))
    np.testing.assert_array_equal(np.sort(ours), np.sort(pool[np.argsort(score)[::-1][:10]]))


def test_typicality_equals_naive():
    g = np.random.default_rng(5)
    X = g.normal(size=(60, 4)).astype(np.float32)
    D = np.sqrt(((X[:, None].astype(np.float64) - X[None]) ** 2).sum(-1))
    ref = 1 / np.sort(D, 1)[:, 1:21].mean(1)
    np.testing.assert_allclose(typicality(X, 20), ref, rtol=1e-4)


def test_mc_scores_match_definitions():
    pt = softmax(np.random.default_rng(6).normal(size=(5, 3, 8)), axis=1)  # (n, C, T)
    H = lambda p: -(p * np.log(p)).sum(0)  # noqa: E731
    bald = [H(pt[i].mean(1)) - np.mean([H(pt[i][:, t]) for t in range(8)]) for i in range(5)]
    np.testing.assert_allclose(bald_score(pt), bald, rtol=1e-10)
    vr = [1 - np.bincount(pt[i].argmax(0), minlength=3).max() / 8 for i in range(5)]
    np.testing.assert_allclose(variation_ratio_score(pt), vr)
    ms = [np.mean([pt[i, c].std() for c in range(3)]) for i in range(5)]
    np.testing.assert_allclose(mean_std_score(pt), ms)
    np.testing.assert_allclose(max_entropy_score(pt), [H(pt[i].mean(1)) for i in range(5)], rtol=1e-12)
    assert (max_entropy_score(pt) >= bald_score(pt)).all()  # H[E p] = BALD + E H[p] ≥ BALD


def brute_joint_entropy(pts):
    """H[y_1..y_b] by enumerating all C^b configurations; pts: list of (C, T)."""
    C, T = pts[0].shape
    H = 0.0
    for conf in itertools.product(range(C), repeat=len(pts)):
        p = np.mean(np.prod([pts[j][c] for j, c in enumerate(conf)], axis=0))
        H -= p * np.log(p)
    return H


def test_batchbald_joint_entropy_exact_and_sampled():
    g = np.random.default_rng(7)
    pt = softmax(g.normal(size=(6, 3, 10)) * 2, axis=1)  # (m, C, T)
    ptT = pt.transpose(2, 0, 1).reshape(10, -1).astype(np.float32)
    # joint with chosen {0, 1} held exactly: 9 configurations
    P = (pt[0][:, None, :] * pt[1][None, :, :]).reshape(9, 10)
    exact = _joint_entropy(P, np.zeros(9), np.ones(9), ptT, 3)
    for i in range(6):
        assert exact[i] == pytest.approx(brute_joint_entropy([pt[0], pt[1], pt[i]]), rel=1e-5)
    # M configurations of (y_0, y_1) by ancestral sampling estimate the same entropies
    M = 20000
    strat = BatchBald()
    Ps, ss, _ = strat._extend(np.ones((M, 10)), np.zeros(M), pt[0], True, g)
    Ps, ss, _ = strat._extend(Ps, ss, pt[1], True, g)
    est = _joint_entropy(Ps, ss, np.full(M, 1 / M), ptT, 3)
    np.testing.assert_allclose(est, exact, rtol=0.02)
    # the switch from exact to sampled keeps max_configs configurations
    P3, _, sampled = BatchBald(max_configs=20)._extend(P, np.zeros(9), pt[2], False, g)
    assert sampled and P3.shape == (20, 10)


def test_batchbald_budget_one_is_bald():
    v = blobs_view(300, 8, 4, np.random.default_rng(8))
    pool = np.arange(300)
    bb = BatchBald(n_samples=10)(v, pool, 1, np.random.default_rng(1))
    bald = Bald(n_samples=10)(v, pool, 1, np.random.default_rng(1))
    np.testing.assert_array_equal(bb, bald)


def test_batchbald_greedy_equals_brute_force_in_exact_regime():
    g = np.random.default_rng(9)
    pt = softmax(g.normal(size=(8, 2, 6)) * 2, axis=1)
    v = FakeView(np.zeros((8, 2)), P=pt.mean(2), P_mc=pt)
    ours = BatchBald(n_samples=6)(v, np.arange(8), 3, np.random.default_rng(0))
    cond = [np.mean(-(pt[i] * np.log(pt[i])).sum(0)) for i in range(8)]
    chosen = []
    for _ in range(3):
        score = [-np.inf if i in chosen else
                 brute_joint_entropy([pt[j] for j in chosen + [i]]) - sum(cond[j] for j in chosen + [i])
                 for i in range(8)]
        chosen.append(int(np.argmax(score)))
    assert ours.tolist() == chosen


def test_egl_equals_materialised_gradient_norms():
    g = np.random.default_rng(10)
    p = softmax(g.normal(size=(20, 4)))
    h = g.normal(size=(20, 5)).astype(np.float32)
    ref = [sum(p[i, c] * np.linalg.norm(np.outer(p[i] - np.eye(4)[c], h[i])) for c in range(4)) for i in range(20)]
    np.testing.assert_allclose(egl_score(p, h), ref, rtol=1e-5)


def test_mean_cosine_equals_naive():
    h = np.random.default_rng(11).normal(size=(30, 4)).astype(np.float32)
    u = h / np.linalg.norm(h, axis=1, keepdims=True)
    np.testing.assert_allclose(mean_cosine(h), (u @ u.T).mean(1), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("mode", ["power", "softmax", "softrank"])
def test_gumbel_top_one_follows_the_weights(mode):
    scores = np.array([0.1, 0.5, 1.0, 2.0])
    logw = log_weights(scores, mode, 1.0, np.random.default_rng(0))
    expect = np.exp(logw) / np.exp(logw).sum()
    draws = [gumbel_top_k(logw, 1, np.random.default_rng(s))[0] for s in range(4000)]
    np.testing.assert_allclose(np.bincount(draws, minlength=4) / 4000, expect, atol=0.03)


def test_stochastic_large_beta_is_top_k():
    v = blobs_view(200, 6, 3, np.random.default_rng(12))
    from altbench.strategies.stochastic import Stochastic
    from altbench.strategies.uncertainty import entropy

    pool = np.arange(200)
    picks = Stochastic(score="entropy", mode="softrank", beta=1e6)(v, pool, 10, np.random.default_rng(0))
    np.testing.assert_array_equal(np.sort(picks), np.sort(entropy(v, pool, 10, np.random.default_rng(0))))


# ------------------------------------------- fast uncertainty scores vs float64 definitions
def float64_reference_scores(P: np.ndarray) -> dict[str, np.ndarray]:
    """The textbook float64 scores of P (n, C): what the fast paths must equal."""
    p = P.astype(np.float64)
    s = np.sort(p, axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        plogp = np.where(p > 0, p * np.log(p), 0.0)
    return {"least_confidence": 1.0 - s[:, -1], "margin": 1.0 - (s[:, -1] - s[:, -2]),
            "entropy": -plogp.sum(axis=1)}


def assert_picks_equal_except_float_ties(got, scores, k, seed, rtol):
    """``got`` equals the float64 reference top-k (lexsort, same stream) except where the
    reference scores of the differing points lie within ``rtol`` of the k-th score."""
    want = np.lexsort((np.random.default_rng(seed).random(len(scores)), -scores))[:k]
    kth = np.sort(scores)[::-1][k - 1]
    differ = np.setxor1d(got, want)
    assert np.all(np.abs(scores[differ] - kth) <= rtol * abs(kth)), "picks differ beyond float ties"


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_uncertainty_scores_and_picks_equal_the_float64_reference(dtype, seed):
    from altbench.strategies.uncertainty import SCORES, entropy, least_confidence, margin

    g = np.random.default_rng(seed)
    P = softmax(g.normal(size=(3000, 7)) * 3).astype(dtype)  # (n, C)
    P[::11, 0] = 0  # exact zeros: 0 log 0 = 0
    P[::13] = P[::13][:, ::-1]  # repeated rows: exact ties in every score
    ref = float64_reference_scores(P)
    fns = {"least_confidence": least_confidence, "margin": margin, "entropy": entropy}
    view, pool = FakeView(np.zeros((3000, 2), np.float32), P=P), np.arange(3000)
    for name, fn in fns.items():
        s = SCORES[name](P)
        assert s.dtype == np.float64
        if name == "entropy":  # only the summation order differs
            np.testing.assert_allclose(s, ref[name], rtol=1e-14, atol=1e-15)
        else:  # exact selections: bit for bit
            np.testing.assert_array_equal(s, ref[name])
        for k in (1, 50, 700):
            got = fn(view, pool, k, np.random.default_rng(seed))
            assert_picks_equal_except_float_ties(got, ref[name], k, seed, rtol=2.0 ** -29)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bald_scores_and_picks_equal_the_float64_reference(dtype):
    g = np.random.default_rng(5)
    pt = softmax(g.normal(size=(2500, 4, 6)) * 2, axis=1).astype(dtype)  # (n, C, T)
    p = pt.astype(np.float64)
    H = lambda q: -(q * np.log(q)).sum(1)  # noqa: E731
    ref = np.maximum(H(p.mean(2)) - H(p).mean(1), 0)
    np.testing.assert_allclose(bald_score(pt), ref, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(max_entropy_score(pt), H(p.mean(2)), rtol=1e-13)
    view = FakeView(np.zeros((2500, 2), np.float32), P=p.mean(2), P_mc=pt)
    for k in (1, 40, 500):
        got = Bald(n_samples=6)(view, np.arange(2500), k, np.random.default_rng(k))
        assert_picks_equal_except_float_ties(got, ref, k, k, rtol=2.0 ** -29)


def test_bald_of_a_non_contiguous_float32_chunk():
    g = np.random.default_rng(8)
    pt = softmax(g.normal(size=(6, 300, 3)), axis=0).astype(np.float32).transpose(1, 0, 2)  # (n, C, T) strided
    assert not pt.flags.c_contiguous
    np.testing.assert_allclose(bald_score(pt), bald_score(np.ascontiguousarray(pt, dtype=np.float64)),
                               rtol=1e-13, atol=1e-15)
