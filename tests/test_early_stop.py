"""Early stopping in the one training loop (altbench.early_stop, TrainConfig.early_stop): it stops
sooner than the fixed schedule on an easy task, restores the best weights, changes nothing when
off, refuses val_loss without validation labels, and never reads the test split."""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import replace

import numpy as np
import pytest
import torch
from _tiny_bert import CANARY, pool_dataset, tiny_minilm_with_cache
from torch import nn

from altbench import plugin_params
from altbench.config import QUICKSTART, ConfigError, build_plugin, load_experiment, resolve_plugin
from altbench.early_stop import NO_VALIDATION, validation_loss
from altbench.loop import Budget, run_active_learning
from altbench.methods.finetune import Finetune
from altbench.methods.mlp import Mlp
from altbench.registry import METHODS, STRATEGIES
from altbench.seeds import Streams
from altbench.store import RunStore
from altbench.train import forward_rows, train, with_min_steps
from altbench.train_config import EarlyStop, TrainConfig
from conftest import load_script, make_blobs

pytestmark = pytest.mark.usefixtures("one_torch_thread")  # conftest: one torch thread per module
FIXED = TrainConfig(epochs=60, batch_size=16, lr=0.05, weight_decay=0.0)  # 60 epochs x 4 steps = 240 steps


def linear(d: int = 2, c: int = 2) -> nn.Linear:
    """A zero-initialised linear classifier (no global RNG draw)."""
    net = nn.Linear(d, c)
    nn.init.zeros_(net.weight), nn.init.zeros_(net.bias)
    return net


def blobs(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(X (n, 2), y (n,)): two overlapping Gaussian classes at x0 = -1.5 and +1.5."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    X = rng.normal(size=(n, 2)) + np.stack([3.0 * y - 1.5, np.zeros(n)], 1)
    return torch.as_tensor(X, dtype=torch.float32), torch.as_tensor(y, dtype=torch.int64)


def fit(cfg: TrainConfig, validation=None, n: int = 64) -> nn.Linear:
    X, y = blobs(n, seed=0)
    return train(linear(), X, y, cfg, generator=torch.Generator().manual_seed(0), validation=validation)


@pytest.mark.parametrize("monitor", ["train_loss", "val_loss"])
def test_stops_earlier_than_the_fixed_schedule_on_an_easy_task(monitor):
    full = fit(FIXED)
    rule = EarlyStop(monitor=monitor, patience=2, min_delta=0.01)
    early = fit(replace(FIXED, early_stop=rule), validation=blobs(32, seed=1))
    assert full.train_steps_ == 240 and not hasattr(full, "early_stop_")
    assert 4 <= early.train_steps_ <= 240 / 4  # gains below min_delta after a dozen epochs
    checks = early.early_stop_.checks
    assert [c.step for c in checks] == [4 * (i + 1) for i in range(len(checks))]  # once per epoch
    assert early.early_stop_.stopped and early.early_stop_.bad == 2
    assert checks[-1].step == early.train_steps_


def test_every_n_steps_and_min_steps_are_respected():
    rule = EarlyStop(monitor="train_loss", patience=1, min_delta=10.0, every=3, min_steps=30)  # never improves
    net = fit(replace(FIXED, early_stop=rule))
    assert [c.step for c in net.early_stop_.checks] == list(range(3, 31, 3))  # no stop before step 30
    assert net.train_steps_ == 30
    method_floor = with_min_steps(replace(FIXED, early_stop=EarlyStop()), n=64, min_steps=50)
    assert method_floor.early_stop.min_steps == 50 and method_floor.epochs == 60  # a method's min_steps carries over


def test_restore_best_ends_on_the_weights_with_the_best_validation_loss():
    X, y = blobs(64, seed=0)
    flipped = (X[:32], 1 - y[:32])  # validation labels that disagree with training: val loss rises from the start
    rule = EarlyStop(monitor="val_loss", patience=3, every=2, restore_best=True)
    net = train(linear(), X, y, replace(FIXED, early_stop=rule), generator=torch.Generator().manual_seed(0),
                validation=flipped)
    stop = net.early_stop_
    assert stop.best.step == 2 and net.train_steps_ == 8  # best at the first check, then 3 worse ones
    assert [c.loss for c in stop.checks[1:]] == sorted(c.loss for c in stop.checks[1:])  # rising
    assert stop.checks[-1].loss > stop.best.loss
    now = validation_loss(net, flipped, nn.functional.cross_entropy, forward_rows)
    assert now == stop.best.loss  # the weights in hand are those of the best check

    kept = train(linear(), X, y, replace(FIXED, early_stop=replace(rule, restore_best=False)),
                 generator=torch.Generator().manual_seed(0), validation=flipped)
    assert validation_loss(kept, flipped, nn.functional.cross_entropy, forward_rows) == stop.checks[-1].loss


def test_off_by_default_and_checking_alone_changes_no_bit():
    assert TrainConfig().early_stop is None
    plain = fit(FIXED)
    never = EarlyStop(monitor="val_loss", patience=10**6, restore_best=False)  # measures every epoch, never stops
    watched = fit(replace(FIXED, early_stop=never), validation=blobs(32, seed=1))
    assert len(watched.early_stop_.checks) == 60 and watched.train_steps_ == plain.train_steps_
    for (name, a), (_, b) in zip(plain.state_dict().items(), watched.state_dict().items()):
        assert torch.equal(a, b), name
    assert watched.train_loss_ == plain.train_loss_


def test_default_keeps_run_ids_and_the_setting_changes_them():
    for name in ("mlp", "finetune", "lp-ft", "ulmfit", "setfit", "scratch"):
        assert "early_stop" not in json.dumps(resolve_plugin(METHODS, name, "methods.0").params), name
    ids = {r.run_id for r in load_experiment(QUICKSTART).runs}
    stopped = load_experiment(QUICKSTART, ["methods=[{name: mlp, train: {early_stop: {patience: 3}}}]"])
    assert not ids & {r.run_id for r in stopped.runs}
    assert stopped.runs[0].method.params["train"]["early_stop"]["patience"] == 3


def test_mlp_stops_early_and_the_run_record_gets_train_steps(tmp_path):
    X, y = make_blobs(n=260, d=4, n_classes=3, seed=3)
    from altbench.datasets import Dataset

    ds = Dataset("blobs", "tabular", X[:200], y[:200], X[200:], y[200:], ("a", "b", "c"))
    method = plugin_params.build(Mlp, {"train": {"epochs": 60, "early_stop": {"patience": 2, "min_delta": 0.01}}})
    recs = run_active_learning(ds, method, STRATEGIES.get("random"), Budget(initial=32, query=32, total=96),
                               Streams(0))
    steps = [r["train_steps"] for r in recs]
    assert all(0 < s < 60 * -(-r["n_labelled"] // 32) for s, r in zip(steps, recs))
    store = RunStore(tmp_path)
    store.finish("abc", {"dataset": "blobs", "method": "mlp", "strategy": "random", "seed": 0}, recs, {"config": {}})
    assert json.loads((tmp_path / "runs" / "abc.json").read_text())["train_steps"] == steps
    assert "train_steps" not in store.read_results().columns  # the results file keeps its columns


def test_val_loss_without_validation_labels_is_refused_in_one_line():
    with pytest.raises(ValueError, match="no validation examples") as err:
        fit(replace(FIXED, early_stop=EarlyStop(monitor="val_loss")))
    assert str(err.value) == NO_VALIDATION and "\n" not in NO_VALIDATION
    with pytest.raises(ValueError, match="no validation examples"):  # budget.validation: 0 hands over zero rows
        fit(replace(FIXED, early_stop=EarlyStop(monitor="val_loss")), validation=(torch.zeros(0, 2),
                                                                                torch.zeros(0, dtype=torch.int64)))
    with pytest.raises(ConfigError, match=r"methods.0.train.early_stop.monitor is val_loss but budget.validation "
                                          r"is 0; set budget.validation") as err:
        load_experiment(QUICKSTART, ["methods=[{name: mlp, train: {early_stop: {monitor: val_loss}}}]"])
    assert "\n" not in str(err.value)
    with pytest.raises(ConfigError, match=r"methods.0.train.early_stop.monitor is val_loss but 'mlp' does not "
                                          r"pass validation rows") as err:  # refused before any run, not at fit
        load_experiment(QUICKSTART, ["methods=[{name: mlp, train: {early_stop: {monitor: val_loss}}}]",
                                     "budget.validation=10"])
    assert "\n" not in str(err.value)
    exp = load_experiment(QUICKSTART, ["methods=[{name: finetune, train: {early_stop: {monitor: val_loss}}}]",
                                       "datasets=[trec6]", "budget.validation=10"])  # finetune passes them: resolves
    assert exp.runs[0].budget.validation == 10


@pytest.mark.parametrize("bad, says", [
    ("{patience: 0}", "train.early_stop.patience must be a positive integer (got 0)"),
    ("{every: 0}", "train.early_stop.every must be a positive integer (got 0)"),
    ("{monitor: test_loss}", "train.early_stop.monitor must be one of 'train_loss' or 'val_loss'"),
    ("{min_delta: -1}", "train.early_stop.min_delta must be at least 0"),
])
def test_bad_settings_are_refused_in_one_line(bad, says):
    with pytest.raises(ConfigError, match=re.escape(says)) as err:
        load_experiment(QUICKSTART, [f"methods=[{{name: mlp, train: {{early_stop: {bad}}}}}]"])
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("bad", [{"patience": 0}, {"every": 0}, {"min_delta": -1.0}, {"min_steps": -1}])
def test_bad_settings_are_refused_when_built_in_python(bad):
    with pytest.raises(ValueError, match=f"early_stop.{next(iter(bad))} must be"):
        EarlyStop(**bad)


@pytest.fixture
def tiny(monkeypatch, tmp_path_factory):
    return tiny_minilm_with_cache(monkeypatch, tmp_path_factory)


def test_canary_the_stopping_rule_never_sees_a_test_row(tiny, monkeypatch):
    """finetune stops on val_loss through the AL loop; every text the encoder tokenises while a
    fit runs (training batches and the stopping rule's validation passes) is checked for the
    canary that only test rows carry, and the guard is shown to fire on test rows."""
    from altbench.backbones import text

    fitting, seen_in_fit, seen_after = [False], [], []
    real_inputs, real_fit = text.MiniLmEncoder.inputs, Finetune.fit

    def guarded_inputs(self, texts):
        texts = list(texts)
        if fitting[0]:
            if any(CANARY in t for t in texts):
                raise AssertionError("a test row reached the fit")
            seen_in_fit.extend(texts)
        else:
            seen_after.extend(texts)
        return real_inputs(self, texts)

    def flagged_fit(self, *args, **kwargs):
        assert kwargs["validation"][0].shape == (8,)  # the loop hands the budget's validation rows over
        fitting[0] = True
        try:
            return real_fit(self, *args, **kwargs)
        finally:
            fitting[0] = False

    monkeypatch.setattr(text.MiniLmEncoder, "inputs", guarded_inputs)
    monkeypatch.setattr(Finetune, "fit", flagged_fit)
    calls = []
    real_val = validation_loss
    monkeypatch.setattr("altbench.early_stop.validation_loss", lambda *a: calls.append(1) or real_val(*a))
    method = build_plugin(METHODS, resolve_plugin(METHODS, {
        "name": "finetune", "backbone_params": {"max_length": 16}, "min_steps": 4,
        "train": {"epochs": 6, "batch_size": 8, "lr": 1e-3,
                  "early_stop": {"monitor": "val_loss", "patience": 1, "min_delta": 1.0}}}, "methods.0"))
    assert method.uses_validation
    ds = pool_dataset()
    recs = run_active_learning(ds, method, STRATEGIES.get("random"),
                               Budget(initial=8, query=8, total=32, validation=8), Streams(0))
    assert calls and seen_in_fit  # the rule measured, on rows that passed the guard
    assert any(CANARY in t for t in seen_after)  # test rows do carry the canary: the guard would fire
    assert set(seen_in_fit) <= set(ds.X_train)  # nothing outside the train pool was tokenised in a fit
    # 8, 16, 24 training rows at batch 8: 1, 2, 3 steps per epoch, 6, 12, 18 on the fixed schedule; with
    # patience 1 and min_delta 1.0 every check after the first is worse, and min_steps 4 holds the first stop back
    assert [r["train_steps"] for r in recs] == [4, 4, 6]


def test_saving_script_runs_both_arms_on_one_trajectory(tiny):
    script = load_script("early_stop_saving")
    arms = script.arms(epochs=8, max_length=16, every="epoch", patience=1, min_delta=0.05).values()
    fixed, early = (dataclasses.replace(m, min_steps=1) for m in arms)  # finetune's 50 would mean 17 epochs here
    assert fixed.train.early_stop is None and early.train.early_stop.monitor == "train_loss"
    assert dataclasses.replace(early, train=fixed.train) == fixed  # the stopping rule is the only difference
    ds = pool_dataset()
    results = {arm: script.measure(m, ds.X_train, ds.y_train, ds.X_test, ds.y_test, 2, seed=0)
               for arm, m in (("fixed", fixed), ("early_stop", early))}
    assert results["fixed"]["steps"] == 8 * 3 and results["early_stop"]["steps"] < 8 * 3
    assert results["early_stop"]["kept"] <= results["early_stop"]["steps"]
    text = script.table(results)
    assert "| early_stop | " in text and "steps saved" in text
