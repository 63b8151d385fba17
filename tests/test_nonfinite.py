"""Garbage is a failure, not a result: NaN/inf probabilities, view outputs and training
losses fail the run with a one-line reason; the training loss is recorded per round;
the loop's numpy metrics equal scikit-learn's bit for bit."""

from __future__ import annotations

import json
import textwrap

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import accuracy_score, f1_score

from altbench.config import load_experiment
from altbench.datasets import load_dataset
from altbench.loop import (BadOutputError, Budget, NonFiniteError, evaluate, label_metrics,
                        run_active_learning)
from altbench.methods.mlp import Mlp
from altbench.methods.sklearn_models import LogReg
from altbench.registry import STRATEGIES
from altbench.runner import grid_status, run_grid
from altbench.seeds import Streams
from altbench.store import RunStore
from altbench.train import TrainConfig, train
from altbench.view import ModelView
from conftest import make_blobs

PLUGIN = '''
from dataclasses import dataclass

import numpy as np

from altbench.methods.sklearn_models import LogReg


class Spoiled:
    """A fitted LogReg whose first ``bad_rows`` probability rows are NaN."""

    def __init__(self, inner, bad_rows):
        self.inner, self.bad_rows, self.n_classes = inner, bad_rows, inner.n_classes

    def predict_proba(self, X):
        p = self.inner.predict_proba(X).copy()
        p[:self.bad_rows] = np.nan
        return p


@dataclass(frozen=True)
class NanAfter:
    """LogReg that turns to NaN once the labelled set exceeds ``after`` rows."""

    after: int = 12
    bad_rows: int = 5

    def fit(self, X, y, *, n_classes, rng_init, rng_order):
        model = LogReg().fit(X, y, n_classes=n_classes, rng_init=rng_init, rng_order=rng_order)
        return Spoiled(model, self.bad_rows) if len(y) > self.after else model
'''

EXP = """
name: garbage
datasets: [wine]
methods: ["nanplug:NanAfter", logreg]
strategies: [random]
seeds: 1
budget: {{initial: 6, query: 3, total: 21}}
results_dir: {out}
n_jobs: 1
"""


@pytest.fixture(scope="module")
def wine():
    return load_dataset("wine")


class FakeModel:
    """Every view capability; ``bad`` (a view method name) returns NaN/inf in rows 1 and 3."""

    n_classes = 3

    def __init__(self, bad: str = "", value: float = np.nan):
        self.bad, self.value = bad, value

    def _out(self, name: str, x: np.ndarray) -> np.ndarray:
        if name == self.bad and len(x) > 3:
            x[[1, 3]] = self.value
        return x

    def predict_proba(self, X):
        return self._out("predict_proba", np.full((len(X), 3), 1 / 3))

    def predict_proba_mc(self, X, n_samples, rng):
        return self._out("predict_proba_mc", np.full((len(X), 3, n_samples), 1 / 3))

    def embed(self, X):
        return self._out("embed", np.asarray(X, dtype=np.float64).copy())

    def grad_embed(self, X):
        return self._out("grad_embed", np.ones((len(X), 3 * np.asarray(X).shape[1])))

    def head_proba(self, H):
        return self._out("head_proba", np.full((len(H), 3), 1 / 3))


def test_nan_probabilities_fail_the_run_through_the_runner(tmp_path, monkeypatch):
    (tmp_path / "nanplug.py").write_text(PLUGIN)
    monkeypatch.syspath_prepend(str(tmp_path))
    cfg = tmp_path / "garbage.yaml"
    cfg.write_text(textwrap.dedent(EXP.format(out=tmp_path / "out")))
    exp = load_experiment(cfg)
    report = run_grid(exp, progress=False)
    assert report.done == 1 and len(report.failed) == 1  # logreg finishes, the NaN method fails
    run_id, error = report.failed[0]
    # rounds hold 6, 9, 12, 15 labels: the first fit on more than 12 is round 3
    assert error == ("NonFiniteError: method 'nanplug:NanAfter' returned NaN probabilities for 5 of 54 test rows "
                     "in round 3; its training probably diverged; lower the learning rate or check the inputs")
    store = RunStore(exp.results_dir)
    assert not store.is_finished(run_id) and store.is_failed(run_id)
    record = json.loads(store.path(run_id, ".failed.json").read_text())
    assert record["error"] == error and "\n" not in error
    assert grid_status(exp) == {"done": 1, "failed": 1, "partial": 0, "pending": 0}


@pytest.mark.parametrize("name, call, what", [
    ("predict_proba", lambda v, idx: v.predict_proba(idx), "probabilities"),
    ("predict_proba_mc", lambda v, idx: v.predict_proba_mc(idx, 4, np.random.default_rng(0)),
     "MC-dropout probabilities"),
    ("embed", lambda v, idx: v.embed(idx), "embeddings"),
    ("grad_embed", lambda v, idx: v.grad_embed(idx), "gradient embeddings"),
])
@pytest.mark.parametrize("value, kind", [(np.nan, "NaN"), (np.inf, "inf"), (-np.inf, "inf")])
def test_view_refuses_nonfinite_outputs(name, call, what, value, kind):
    X = np.arange(40, dtype=np.float64).reshape(10, 4)
    view = ModelView(FakeModel(name, value), X, np.arange(2), np.zeros(2), "fake", al_round=4)
    with pytest.raises(NonFiniteError) as err:
        call(view, np.arange(2, 10))
    assert str(err.value) == (f"method 'fake' returned {kind} {what} (ModelView.{name}) for 2 of 8 pool rows "
                              "in round 4; its training probably diverged; lower the learning rate or check the inputs")
    ok = ModelView(FakeModel(), X, np.arange(2), np.zeros(2), "fake")
    assert np.isfinite(call(ok, np.arange(2, 10))).all()  # finite outputs pass unchanged


def test_view_refuses_nonfinite_head_probabilities():
    view = ModelView(FakeModel("head_proba"), np.zeros((10, 4)), np.arange(2), np.zeros(2), "fake")
    with pytest.raises(NonFiniteError, match=r"NaN head probabilities \(ModelView.head_proba\) for 2 of 6 "
                                             r"embedding rows; its training"):
        view.head_proba(np.zeros((6, 4)))


def test_nan_embeddings_fail_the_loop_with_method_and_round(wine):
    class NanEmbed:
        """LogReg, but its embeddings are NaN from round 1 on."""

        def __init__(self):
            self.fits = 0

        def fit(self, X, y, **kw):
            model = LogReg().fit(X, y, **kw)
            if self.fits:
                model.embed = lambda X: np.full((len(X), 3), np.nan)
            self.fits += 1
            return model

    with pytest.raises(NonFiniteError, match=r"^method 'nan-embed' returned NaN embeddings \(ModelView.embed\) "
                                             r"for \d+ of \d+ pool rows in round 1;"):
        run_active_learning(wine, NanEmbed(), STRATEGIES.get("coreset")(), Budget(initial=10, query=5, total=30),
                            Streams(0), names=("nan-embed", "coreset"))


def test_training_loss_nan_fails_at_its_step():
    X, y = torch.randn(40, 3, generator=torch.Generator().manual_seed(0)), torch.arange(40) % 2
    steps = []

    def loss_nan_at_step_7(out, target):
        steps.append(1)
        loss = torch.nn.functional.cross_entropy(out, target)
        return loss * float("nan") if len(steps) == 7 else loss

    net = torch.nn.Linear(3, 2)
    with pytest.raises(NonFiniteError, match=r"^training loss became NaN at step 7 of 15; lower the learning rate"):
        train(net, X, y, TrainConfig(epochs=3, batch_size=8), generator=torch.Generator().manual_seed(1),
              loss_fn=loss_nan_at_step_7)


def test_diverging_mlp_fails_the_run(wine):
    diverging = Mlp(hidden=(16,), train=TrainConfig(epochs=20, lr=1e6))
    with pytest.raises(NonFiniteError, match=r"^method 'mlp' in round 0: training loss became (NaN|inf) "
                                             r"at step \d+ of \d+; lower the learning rate \(train.lr\)"):
        run_active_learning(wine, diverging, STRATEGIES.get("random"), Budget(initial=10, query=5, total=20),
                            Streams(0), names=("mlp", "random"))


def test_train_loss_is_the_last_epochs_mean_step_loss():
    X, y = make_blobs(n=50, d=4, n_classes=2)
    Xt, yt = torch.as_tensor(X), torch.as_tensor(y)
    seen = []

    def recording(out, target):
        loss = torch.nn.functional.cross_entropy(out, target)
        seen.append(loss.item())
        return loss

    lin = torch.nn.Linear(4, 2)
    with torch.no_grad():  # a fixed start (no global seeding): the loss starts at log 2
        lin.weight.zero_()
        lin.bias.zero_()
    net = train(lin, Xt, yt, TrainConfig(epochs=3, batch_size=16),
                generator=torch.Generator().manual_seed(0), loss_fn=recording)
    assert len(seen) == 12  # 4 steps per epoch
    assert net.train_loss_ == pytest.approx(np.mean(seen[-4:]), rel=1e-12)
    assert net.train_loss_ < np.mean(seen[:4])  # it learned


def test_records_carry_train_loss(wine):
    budget = Budget(initial=10, query=5, total=20)
    mlp = run_active_learning(wine, Mlp(hidden=(16,), train=TrainConfig(epochs=5)), STRATEGIES.get("margin"),
                              budget, Streams(0))
    losses = [r["train_loss"] for r in mlp]
    assert len(losses) == 3 and all(isinstance(v, float) and 0 < v < 5 for v in losses)
    logreg = run_active_learning(wine, LogReg(), STRATEGIES.get("margin"), budget, Streams(0))
    assert [r["train_loss"] for r in logreg] == [None, None, None]  # sklearn models record none


def test_probabilities_of_wrong_shape_or_not_summing_to_one_fail(wine):
    def spoiled(transform):
        class Method:
            def fit(self, X, y, **kw):
                model = LogReg().fit(X, y, **kw)
                inner = model.predict_proba
                model.predict_proba = lambda X: transform(inner(X))
                return model
        return Method()

    budget = Budget(initial=10, query=5, total=20)
    cases = [(lambda p: p[:, :2], r"shape \(54, 2\) in round 0; predict_proba must return \(54, 3\)"),
             (lambda p: p * 0.5, r"do not sum to 1 for 54 of 54 test rows in round 0 \(row 0 sums to 0.5\)"),
             (lambda p: p[:, [1, 0, 2]] - np.array([[0.1, 0, 0.1]]) + np.array([[0, 0.2, 0]]),
              "negative or do not sum to 1")]
    for transform, match in cases:
        with pytest.raises(BadOutputError, match=match):
            run_active_learning(wine, spoiled(transform), STRATEGIES.get("random"), budget, Streams(0))


def test_predict_labels_replace_argmax(wine):
    class VotesZero:
        """Probabilities of LogReg, but ``predict`` always says class 0."""

        def fit(self, X, y, **kw):
            model = LogReg().fit(X, y, **kw)
            model.predict = lambda X: np.zeros(len(X), dtype=np.int64)
            return model

    recs = run_active_learning(wine, VotesZero(), STRATEGIES.get("margin"), Budget(initial=10, query=5, total=20),
                               Streams(0))
    expected = label_metrics(np.zeros(len(wine.y_test), dtype=np.int64), wine.y_test, 3)
    assert all(r["accuracy"] == expected["accuracy"] == np.mean(wine.y_test == 0) for r in recs)
    assert all(r["macro_f1"] == expected["macro_f1"] for r in recs)

    class BadPredict(VotesZero):
        def fit(self, X, y, **kw):
            model = super().fit(X, y, **kw)
            model.predict = lambda X: np.full(len(X), 3)
            return model

    with pytest.raises(BadOutputError, match=r"predict\(\) returned labels outside \[0, 3\) in round 0"):
        run_active_learning(wine, BadPredict(), STRATEGIES.get("margin"), Budget(initial=10, query=5, total=20),
                            Streams(0))


@st.composite
def label_pairs(draw):
    """(y, pred, C): skewed random labels, some classes possibly absent from either side."""
    n_classes = draw(st.integers(1, 12))
    n = draw(st.integers(1, 400))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    weights = rng.dirichlet(np.full(n_classes, draw(st.sampled_from([0.1, 1.0, 10.0]))))
    y = rng.choice(n_classes, size=n, p=weights)
    flip = rng.random(n) < draw(st.floats(0.0, 1.0))
    pred = np.where(flip, rng.integers(0, n_classes, size=n), y)
    return y, pred, n_classes


@settings(max_examples=400, deadline=None)
@given(label_pairs())
def test_numpy_metrics_equal_sklearn_bit_for_bit(case):
    y, pred, n_classes = case
    mine = label_metrics(pred, y, n_classes)
    acc = float(accuracy_score(y, pred))
    f1 = float(f1_score(y, pred, average="macro", labels=np.arange(n_classes), zero_division=0))
    assert mine["accuracy"].hex() == acc.hex()
    assert mine["macro_f1"].hex() == f1.hex()
    proba = np.eye(n_classes)[pred] * 0.9 + 0.1 / n_classes  # argmax = pred
    assert evaluate(proba, y) == mine
