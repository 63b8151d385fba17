"""Hand-computed tiny cases: for each strategy a pool where the right pick is known."""

from __future__ import annotations

import numpy as np
import pytest

from altbench.strategies.alfamix import AlfaMix
from altbench.strategies.badge import badge
from altbench.strategies.batchbald import BatchBald
from altbench.strategies.cal import Cal
from altbench.strategies.cluster_margin import ClusterMargin
from altbench.strategies.coreset import coreset
from altbench.strategies.dal import Dal
from altbench.strategies.density import DensityWeighted
from altbench.strategies.egl import egl, egl_score
from altbench.strategies.mc_dropout import Bald, MeanStd, VariationRatios
from altbench.strategies.probcover import ProbCover
from altbench.strategies.stochastic import Stochastic
from altbench.strategies.testing import FakeView
from altbench.strategies.typiclust import TypiClust
from altbench.strategies.uncertainty import entropy, least_confidence, margin, random

SEEDS = [0, 1, 2]


def line(xs) -> np.ndarray:
    """Points on the x-axis of the plane: (n, 2)."""
    return np.c_[np.asarray(xs, dtype=np.float32), np.zeros(len(xs), np.float32)]


def rng(seed=0):
    return np.random.default_rng(seed)


P5 = np.array([[0.9, 0.05, 0.05],  # confident
               [0.5, 0.4, 0.1],  # small margin 0.1, max 0.5
               [0.4, 0.3, 0.3],  # lowest max 0.4, margin 0.1, highest entropy
               [0.6, 0.2, 0.2],
               [0.45, 0.45, 0.1]])  # margin 0


@pytest.mark.parametrize("seed", SEEDS)
def test_uncertainty_picks(seed):
    v = FakeView(line(range(5)), P=P5)
    pool = np.arange(5)
    assert least_confidence(v, pool, 1, rng(seed)).tolist() == [2]
    assert margin(v, pool, 1, rng(seed)).tolist() == [4]
    assert entropy(v, pool, 1, rng(seed)).tolist() == [2]
    assert sorted(random(v, pool, 5, rng(seed)).tolist()) == [0, 1, 2, 3, 4]


def _mc_view():
    # point 0: the two samples disagree completely (epistemic); point 1: both say
    # 50/50 (aleatoric: max entropy, zero BALD); point 2: confident and agreeing.
    P_mc = np.array([[[1.0, 0.0], [0.0, 1.0]],
                     [[0.5, 0.5], [0.5, 0.5]],
                     [[0.9, 0.9], [0.1, 0.1]]])  # (n=3, C=2, T=2)
    return FakeView(line(range(3)), P=P_mc.mean(2), P_mc=P_mc)


@pytest.mark.parametrize("strategy", [Bald(n_samples=2), VariationRatios(n_samples=2), MeanStd(n_samples=2)])
def test_mc_scores_prefer_disagreement(strategy):
    v = _mc_view()
    assert strategy(v, np.arange(3), 1, rng()).tolist() == [0]
    assert entropy(v, np.arange(3), 1, rng()).tolist() == [1]  # the contrast: entropy goes for 1


def test_batchbald_avoids_duplicates():
    # points 0 and 1 are identical and have the top BALD; point 2 a little less,
    # but independent of them.  Top-2 BALD takes {0, 1}; BatchBALD {0 or 1, 2}.
    a = np.array([[0.95, 0.05, 0.95, 0.05], [0.05, 0.95, 0.05, 0.95]])  # (C=2, T=4)
    b = np.array([[0.9, 0.9, 0.1, 0.1], [0.1, 0.1, 0.9, 0.9]])
    P_mc = np.stack([a, a, b])
    v = FakeView(line(range(3)), P=P_mc.mean(2), P_mc=P_mc)
    assert sorted(Bald(n_samples=4)(v, np.arange(3), 2, rng()).tolist()) == [0, 1]
    for seed in SEEDS:
        picks = BatchBald(n_samples=4)(v, np.arange(3), 2, rng(seed)).tolist()
        assert 2 in picks and len({0, 1} & set(picks)) == 1


def test_stochastic_power_never_draws_zero_scores():
    P = np.array([[1.0, 0.0], [0.5, 0.5], [1.0, 0.0], [0.7, 0.3], [1.0, 0.0]])
    v = FakeView(line(range(5)), P=P)
    for seed in SEEDS:  # entropy is 0 for points 0, 2, 4: weight 0 under power sampling
        assert sorted(Stochastic(mode="power")(v, np.arange(5), 2, rng(seed)).tolist()) == [1, 3]


def test_coreset_line():
    # labelled at 0; pool 1, 2, 10, 11.  Farthest: 11; then distances 1, 2, 1 → 2.
    v = FakeView(line([0, 1, 2, 10, 11]), P=np.full((5, 2), 0.5), labelled=[0])
    assert coreset(v, np.arange(1, 5), 2, rng()).tolist() == [4, 2]


def test_badge_first_is_largest_gradient_then_not_a_duplicate():
    # g = (p − e_ŷ) ⊗ h: point 0 has the largest ‖g‖, point 1 is its exact copy,
    # point 2 differs; after picking 0, D²(1) = 0 so 2 must come next.
    P = np.array([[0.5, 0.5], [0.5, 0.5], [0.8, 0.2]])
    H = np.array([[3.0, 0.0], [3.0, 0.0], [0.0, 1.0]], np.float32)
    v = FakeView(H, P=P)
    assert badge(v, np.arange(3), 1, rng()).tolist() in ([0], [1])
    for seed in SEEDS:
        picks = badge(v, np.arange(3), 2, rng(seed)).tolist()
        assert picks[0] in (0, 1) and picks[1] == 2


def test_cluster_margin_diversifies():
    # four low-margin points: three at x≈0 and one at x=100; margin top-2 would
    # take two of the first three, Cluster-Margin one from each cluster.
    P = np.array([[0.5, 0.5], [0.51, 0.49], [0.52, 0.48], [0.53, 0.47], [0.99, 0.01]])
    v = FakeView(line([0, 0.1, 0.2, 100, 50]), P=P)
    strat = ClusterMargin(margin_factor=2)  # 4 candidates for a budget of 2
    for seed in SEEDS:
        picks = strat(v, np.arange(5), 2, rng(seed)).tolist()
        assert 3 in picks and len({0, 1, 2} & set(picks)) == 1


def test_typiclust_picks_densest_point():
    # k = 2 neighbours: mean distances 0.2, 0.15, 0.25 for −0.1, 0, 0.2 → 0 is most typical.
    v = FakeView(line([-1, -0.1, 0, 0.2, 1, 10]), P=np.full((6, 2), 0.5))
    for seed in SEEDS:
        assert TypiClust(k_neighbours=2)(v, np.arange(6), 1, rng(seed)).tolist() == [2]


def test_probcover_covers_dense_region_then_isolated_points():
    xs = [0, 0.1, 0.2, 0.3, 5, 9]
    v = FakeView(line(xs), P=np.full((6, 2), 0.5))
    for seed in SEEDS:  # the 0.5-ball of 0.1 or 0.2 covers all four dense points
        assert ProbCover(radius=0.5)(v, np.arange(6), 1, rng(seed)).tolist()[0] in (0, 1, 2, 3)
    lab = FakeView(line(xs), P=np.full((6, 2), 0.5), labelled=[1], y_labelled=[0])
    for seed in SEEDS:  # everything dense is covered: only 5 and 9 add coverage
        assert sorted(ProbCover(radius=0.5)(lab, np.array([0, 2, 3, 4, 5]), 2, rng(seed)).tolist()) == [4, 5]


def test_cal_prefers_contrast_with_labelled_neighbours():
    # labelled 0 at x=0 predicts class 0; pool 1 (x=0.1) predicts class 1 → big KL;
    # pool 2 (x=0.2) predicts like its neighbour; pool 3 is far but nearest to 0 too.
    P = np.array([[0.9, 0.1], [0.2, 0.8], [0.85, 0.15], [0.6, 0.4]])
    v = FakeView(line([0, 0.1, 0.2, 5]), P=P, labelled=[0], y_labelled=[0])
    assert Cal(k=1)(v, np.arange(1, 4), 1, rng()).tolist() == [1]


def test_dal_picks_points_unlike_the_labelled_set():
    g = np.random.default_rng(0)
    H = np.r_[g.normal(0, 0.3, (30, 2)), g.normal(0, 0.3, (20, 2)), g.normal(6, 0.3, (5, 2))].astype(np.float32)
    v = FakeView(H, P=np.full((55, 2), 0.5), labelled=np.arange(30), y_labelled=np.zeros(30))
    picks = Dal(n_rounds=1)(v, np.arange(30, 55), 5, rng())
    assert sorted(picks.tolist()) == list(range(50, 55))


def test_alfamix_picks_the_point_whose_prediction_flips():
    # head: logit_0 = −x, logit_1 = x; anchors at x = −2 (class 0) and 2 (class 1).
    # Mixing x = −1e-4 towards 2 by any α > 5e-5 flips it; −3 and 3 never flip.
    H = line([-2, 2, -1e-4, -3, 3])
    v = FakeView(H, W=np.array([[-1.0, 1.0], [0.0, 0.0]]), labelled=[0, 1], y_labelled=[0, 1])
    for seed in SEEDS:
        assert AlfaMix()(v, np.arange(2, 5), 1, rng(seed)).tolist() == [2]


def test_egl_value_and_pick():
    # p = (1/2, 1/2): ‖p − e_c‖ = √(1/2) for both c, so EGL = ‖h‖·√(1/2).
    p = np.array([[0.5, 0.5], [1.0, 0.0], [0.5, 0.5]])
    h = np.array([[3.0, 4.0], [30.0, 40.0], [0.3, 0.4]], np.float32)
    np.testing.assert_allclose(egl_score(p, h), [5 * np.sqrt(0.5), 0.0, 0.5 * np.sqrt(0.5)], rtol=1e-6)
    assert egl(FakeView(h, P=p), np.arange(3), 1, rng()).tolist() == [0]


def test_density_weighting_breaks_equal_uncertainty():
    # points 0 and 3 are equally uncertain; 0 sits in the crowd (directions near (1, 0)).
    H = np.array([[1, 0], [1, 0.1], [1, -0.1], [-1, 0.05]], np.float32)
    P = np.array([[0.5, 0.5], [0.9, 0.1], [0.9, 0.1], [0.5, 0.5]])
    v = FakeView(H, P=P)
    assert DensityWeighted()(v, np.arange(4), 1, rng()).tolist() == [0]
