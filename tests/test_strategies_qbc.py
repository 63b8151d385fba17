"""Query by committee: vote entropy by hand, its properties, and the bagged committee
that the fitted scikit-learn / MLP models build from refits (``ModelView.committee_proba``
only forwards to them: the view never trains)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from altbench.methods.mlp import Mlp
from altbench.methods.sklearn_models import LogReg, SvmRbf
from altbench.train import TrainConfig
from altbench.view import CapabilityError, ModelView
from altbench.strategies.qbc import Qbc, vote_entropy
from altbench.strategies.testing import FakeView


def make_blobs(n: int, d: int, n_classes: int = 3, seed: int = 0):
    """(X (n, d) float32, y (n,) int64): Gaussian blobs, reproducible."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, n_classes, size=n)
    X = rng.normal(0, 3, size=(n_classes, d))[y] + rng.normal(size=(n, d))
    return X.astype(np.float32), y.astype(np.int64)


def members(votes, n_classes=3) -> np.ndarray:
    """(n, C, M) probabilities whose member argmaxes are ``votes`` (n, M): 0.6 on the vote."""
    votes = np.asarray(votes)
    pm = np.full((*votes.shape, n_classes), 0.4 / (n_classes - 1))
    np.put_along_axis(pm, votes[..., None], 0.6, axis=2)
    return pm.transpose(0, 2, 1)


def test_vote_entropy_by_hand():
    pm = members([[0, 0, 0, 0],  # unanimous: 0
                  [0, 0, 1, 1],  # two-two split: log 2
                  [0, 1, 2, 0]])  # shares 1/2, 1/4, 1/4: ½ log 2 + ½ log 4
    np.testing.assert_allclose(vote_entropy(pm), [0.0, math.log(2), 0.5 * math.log(2) + 0.5 * math.log(4)])


class CommitteeView(FakeView):
    """FakeView whose committee votes are fixed (n, M)."""

    def __init__(self, votes):
        self.votes = np.asarray(votes)
        super().__init__(np.zeros((len(self.votes), 2), np.float32), P=members(self.votes).mean(2))

    def committee_proba(self, idx, n_members, rng):
        assert n_members == self.votes.shape[1]
        return members(self.votes[idx])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_qbc_picks_the_most_disputed_points(seed):
    view = CommitteeView([[0, 0, 0, 0], [0, 1, 2, 0], [1, 1, 1, 1], [0, 0, 1, 1], [2, 2, 2, 1]])
    pool = np.arange(5)
    q = Qbc(n_members=4)
    assert q(view, pool, 1, np.random.default_rng(seed)).tolist() == [1]
    assert q(view, pool, 3, np.random.default_rng(seed)).tolist() == [1, 3, 4]
    assert q(view, np.array([0, 2, 4]), 1, np.random.default_rng(seed)).tolist() == [4]


def test_qbc_rejects_a_committee_of_one():
    with pytest.raises(ValueError, match="at least 2 members"):
        Qbc(n_members=1)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 20), C=st.integers(2, 5), M=st.integers(2, 9), seed=st.integers(0, 2**31 - 1))
def test_vote_entropy_properties(n, C, M, seed):
    g = np.random.default_rng(seed)
    pm = g.dirichlet(np.ones(C), size=(n, M)).transpose(0, 2, 1)  # (n, C, M)
    h = vote_entropy(pm)
    assert h.shape == (n,)
    assert (h >= -1e-12).all() and (h <= math.log(min(C, M)) + 1e-12).all()
    np.testing.assert_allclose(vote_entropy(pm[:, :, g.permutation(M)]), h)  # members are exchangeable
    np.testing.assert_allclose(vote_entropy(pm ** 3), h)  # only the votes (argmaxes) count
    unanimous = np.repeat(pm[:, :, :1], M, axis=2)
    np.testing.assert_allclose(vote_entropy(unanimous), 0.0, atol=1e-12)


def fitted_view(method, n_lab=30, labels=None):
    X, y = make_blobs(n=120, d=4)
    lab = np.arange(n_lab)
    y_lab = y[lab] if labels is None else np.asarray(labels)
    model = method.fit(X[lab], y_lab, n_classes=3, rng_init=np.random.default_rng(1),
                       rng_order=np.random.default_rng(2))
    return ModelView(model, X, lab, y_lab, type(method).__name__), np.arange(n_lab, len(X))


@pytest.mark.parametrize("method", [LogReg(), SvmRbf(), Mlp(hidden=(8,), train=TrainConfig(epochs=5))],
                         ids=["logreg", "svm_rbf", "mlp"])
def test_committee_is_bagged_refits(method):
    view, pool = fitted_view(method)
    assert view.has("committee_proba")
    pm = view.committee_proba(pool, 4, np.random.default_rng(0))
    assert pm.shape == (len(pool), 3, 4)
    np.testing.assert_allclose(pm.sum(1), 1.0, atol=1e-6)
    assert not np.allclose(pm[:, :, 0], pm[:, :, 1]), "members are fitted on different bootstrap samples"
    again = view.committee_proba(pool, 4, np.random.default_rng(0))
    np.testing.assert_array_equal(pm, again)  # bootstrap draws and member seeds come from the rng only
    picks = Qbc(n_members=4)(view, pool, 5, np.random.default_rng(3))
    assert len(set(picks.tolist())) == 5 and np.isin(picks, pool).all()


def test_bootstrap_resamples_hold_two_classes():
    # 19 of class 0 and one of class 1: most resamples miss class 1 and are redrawn, so every
    # member is a real two-class model (a one-class member would put probability 1 on class 0).
    labels = [0] * 19 + [1]
    view, pool = fitted_view(LogReg(), n_lab=20, labels=labels)
    pm = view.committee_proba(pool, 6, np.random.default_rng(0))
    assert (pm[:, 1, :] > 0).all() and (pm[:, 2, :] == 0).all()  # class 2 never labelled


def test_committee_is_the_models_capability_not_the_views():
    class RefitOnly:  # can train copies of itself, but offers no committee: the view must not build one
        n_classes = 2

        def predict_proba(self, X):
            return np.full((len(X), 2), 0.5)

        def refit(self, X, y, rng):
            raise AssertionError("the view trained a model")

    view = ModelView(RefitOnly(), np.zeros((10, 2)), np.arange(4), np.array([0, 1, 0, 1]), "frozen")
    assert not view.has("committee_proba")
    with pytest.raises(CapabilityError, match="committee_proba"):
        Qbc()(view, np.arange(4, 10), 1, np.random.default_rng(0))


@pytest.mark.parametrize("method", [LogReg(), SvmRbf(probability="none")], ids=["logreg", "svm_none"])
def test_committee_equals_refits_on_bootstraps_drawn_in_member_order(method):
    """The committee QBC has always used: member m = refit on resample m, resamples and member
    seeds drawn from the query rng in member order, one-class resamples redrawn."""
    view, pool = fitted_view(method, n_lab=12, labels=[0] * 10 + [1, 2])
    got = view.committee_proba(pool, 3, np.random.default_rng(7))
    X, _ = make_blobs(n=120, d=4)
    rng, y_lab, want = np.random.default_rng(7), view.y_labelled, []
    for _ in range(3):
        boot = rng.integers(0, 12, size=12)
        while len(np.unique(y_lab[boot])) < 2:
            boot = rng.integers(0, 12, size=12)
        want.append(view._model.refit(X[:12][boot], y_lab[boot], rng).predict_proba(X[pool]))
    np.testing.assert_array_equal(got, np.stack(want, axis=2))


def test_sklearn_refit_from_a_single_class_model():
    view, _ = fitted_view(SvmRbf(), n_lab=5, labels=[2] * 5)  # only class 2 labelled
    X, y = make_blobs(n=120, d=4)
    member = view._model.refit(X[:40], y[:40], np.random.default_rng(0))
    assert member.clf is not None and member.predict_proba(X[:3]).shape == (3, 3)
