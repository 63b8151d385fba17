"""SetFit's head (Tunstall et al. 2022): the paper's logistic regression by default — linear-probe's
logreg head, reused — and ``head: torch``, the head before, reproducing the old fits bit for bit.
A tiny random BERT stands in for MiniLM (tests/_tiny_bert.py)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch
from _tiny_bert import pool_dataset, tiny_bert, use_tiny_minilm

from altbench.config import PluginSpec, RunConfig, build_plugin, resolve_plugin
from altbench.loop import Budget
from altbench.methods import logreg_head, setfit
from altbench.methods.finetune import as_model, encode_rows, load_encoder
from altbench.methods.logreg_head import LOGREG_HEAD, LogRegHead, fit_logreg_head
from altbench.methods.nets import EncoderClassifier
from altbench.methods.transfer import fit_head
from altbench.plugin_params import build
from altbench.registry import METHODS
from altbench.seeds import torch_generator
from altbench.train import train
from altbench.view import CapabilityError, ModelView

pytestmark = pytest.mark.usefixtures("one_torch_thread")  # conftest: one torch thread per module

SMALL = {"backbone_params": {"max_length": 16}, "num_iterations": 2, "max_pairs": 40,
         "contrastive": {"epochs": 1, "batch_size": 8, "lr": 1e-3, "weight_decay": 0.01}}
OLD = {**SMALL, "pairs": "max_pairs", "schedule": "constant", "head": "torch",
       "head_train": {"epochs": 5, "batch_size": 8, "lr": 1e-2, "weight_decay": 1e-2}}
# captured with the code before `head: logreg | torch` existed (its TrainConfig was the field `head`),
# same config and seeds as OLD: P(class 1) and the first 3 embedding dims of test rows 0..3, MC samples, loss
BEFORE_P1 = [0.8760725259780884, 0.92774498462677, 0.007142911199480295, 0.7437837719917297]
BEFORE_H = [[-0.7394766807556152, 0.3771737813949585, -0.44032928347587585],
            [0.8684384822845459, -0.24241259694099426, -1.0023393630981445],
            [-0.24227096140384674, 1.1882688999176025, -2.7050764560699463],
            [1.2262287139892578, -0.642634391784668, -0.9103754758834839]]
BEFORE_MC1 = [[0.8151914477348328, 0.8981527090072632], [0.9513792991638184, 0.7746607661247253],
              [0.09468729794025421, 0.04494756832718849], [0.6966486573219299, 0.5697718262672424]]
BEFORE_LOSS = 0.14150334894657135


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    use_tiny_minilm(mp, tiny_bert(tmp_path_factory.mktemp("bert") / "plain"))
    mp.setenv("ALTBENCH_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
    yield pool_dataset(n_train=24, n_test=8, seed=3)
    mp.undo()


def fit(method, ds):
    return method.fit(ds.X_train, ds.y_train, n_classes=2, rng_init=np.random.default_rng(11),
                      rng_order=np.random.default_rng(12))


def old_fit(m: setfit.SetFit, X, y, rng_init, rng_order):
    """SetFit.fit as it was before the head option, from the same building blocks (torch head only)."""
    enc = load_encoder(m.backbone, m.backbone_params, X)
    X = np.asarray(X, dtype=object)
    pairs, targets = setfit.sentence_pairs(y, m.num_iterations, m.max_pairs, rng_order)
    model = setfit.PairCosine(enc, len(enc.inputs(X[:1])))
    setfit.use_generator(model, torch_generator(rng_order))

    def encode_batch(idx):
        rows = pairs[idx.numpy()]
        return tuple(t for side in (0, 1) for t in enc.inputs(X[rows[:, side]]))

    train(model, None, torch.as_tensor(targets), m.contrastive, generator=torch_generator(rng_order),
          encode_batch=encode_batch, loss_fn=torch.nn.functional.mse_loss, lr_schedule=None)
    head = fit_head(encode_rows(enc, X), y, 2, m.dropout, m.head_train, rng_init, rng_order)
    return as_model(EncoderClassifier(enc, head), enc, 2, train_loss=head.train_loss_)


# ---------------------------------------------------------------- the default: the paper's logreg head
def test_default_head_is_linear_probes_logreg():
    m = METHODS.get("setfit")()
    assert (m.head, m.logreg) == ("logreg", LOGREG_HEAD)
    assert m.logreg == METHODS.get("linear-probe")().logreg  # one head config, one C rule
    assert setfit.fit_logreg_head is logreg_head.fit_logreg_head  # reused, not re-implemented


def test_logreg_head_gives_probabilities_and_the_views_capabilities(tiny):
    model = fit(build(METHODS.get("setfit"), SMALL), tiny)
    assert isinstance(model, setfit.EncodedLogReg)
    X = np.concatenate([tiny.X_train, tiny.X_test])
    p = model.predict_proba(tiny.X_test)
    assert p.shape == (8, 2) and np.allclose(p.sum(1), 1.0) and np.all(p >= 0)
    assert (p.argmax(1) == tiny.y_test).mean() >= 0.75  # the tuned embeddings separate good/bad words
    view = ModelView(model, X, np.arange(24), tiny.y_train, "setfit")
    pool = np.arange(24, 32)
    H = view.embed(pool)
    assert H.shape == (8, 32)
    assert np.array_equal(view.head_proba(H), view.predict_proba(pool))  # embed then head = the model
    g = view.grad_embed(pool).reshape(8, 2, 32)  # (p − e_ŷ) ⊗ h
    assert np.allclose(g, (p - np.eye(2)[p.argmax(1)])[:, :, None] * H[:, None, :], atol=1e-5)
    assert len(view.embeddings(pool)) == 8
    assert 0 < model.train_loss_ < np.log(2)  # the head's own log-loss on the labelled rows


def test_logreg_head_is_the_probe_head_on_the_tuned_embeddings(tiny):
    """Same C rule, same fit: refitting linear-probe's head on setfit's embeddings gives its numbers."""
    m = build(METHODS.get("setfit"), {**SMALL, "logreg": {"C_grid": [0.1, 10.0], "folds": 3}})
    assert m.logreg == LogRegHead(C_grid=(0.1, 10.0), folds=3)
    model = fit(m, tiny)
    ref = fit_logreg_head(model.embed(tiny.X_train), tiny.y_train, 2, m.logreg, np.random.default_rng(11))
    assert model.head.C_ == ref.C_ in (0.1, 10.0)
    assert np.array_equal(model.predict_proba(tiny.X_test), ref.predict_proba(model.embed(tiny.X_test)))


def test_mc_dropout_asks_for_the_torch_head(tiny):
    model = fit(build(METHODS.get("setfit"), SMALL), tiny)
    view = ModelView(model, tiny.X_test, np.arange(0), np.arange(0), "setfit")
    assert not view.has("predict_proba_mc")
    with pytest.raises(CapabilityError) as err:
        view.predict_proba_mc(np.arange(4), 3, np.random.default_rng(0))
    msg = str(err.value)
    assert "\n" not in msg and "does not provide predict_proba_mc" in msg and "write head: torch" in msg
    with pytest.raises(CapabilityError, match="pick a method that does"):  # other gaps keep the generic advice
        view.decision_function(np.arange(4))


# ---------------------------------------------------------------- head: torch = the old recipe, bit for bit
def test_torch_head_reproduces_the_old_fit_bit_for_bit(tiny):
    m = build(METHODS.get("setfit"), OLD)
    new = fit(m, tiny)
    old = old_fit(m, tiny.X_train, tiny.y_train, np.random.default_rng(11), np.random.default_rng(12))
    X = tiny.X_test[:4]
    for name in ("predict_proba", "embed", "grad_embed"):
        assert np.array_equal(getattr(new, name)(X), getattr(old, name)(X)), name
    mc = new.predict_proba_mc(X, 2, np.random.default_rng(5))
    assert np.array_equal(mc, old.predict_proba_mc(X, 2, np.random.default_rng(5)))
    assert new.train_loss_ == old.train_loss_
    # and the numbers the code gave before the change (float32 last bits may differ on another CPU)
    np.testing.assert_allclose(new.predict_proba(X)[:, 1], BEFORE_P1, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(new.embed(X)[:, :3], BEFORE_H, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(mc[:, 1, :], BEFORE_MC1, rtol=1e-5, atol=1e-6)
    assert new.train_loss_ == pytest.approx(BEFORE_LOSS, rel=1e-5)


def test_the_head_choice_changes_the_fit(tiny):
    torch_model = fit(build(METHODS.get("setfit"), {**SMALL, "head": "torch"}), tiny)
    logreg_model = fit(build(METHODS.get("setfit"), SMALL), tiny)
    tuned = encode_rows(torch_model.net.encoder, tiny.X_test)  # stage 1 is shared: the same tuned encoder
    assert np.array_equal(tuned, logreg_model.embed(tiny.X_test))
    assert not np.allclose(torch_model.predict_proba(tiny.X_test), logreg_model.predict_proba(tiny.X_test))


# ---------------------------------------------------------------- run ids
def run_id(spec: PluginSpec) -> str:
    return RunConfig(PluginSpec("cr", {}), spec, PluginSpec("random", {}), 0, Budget()).run_id


def test_run_ids_keep_old_recipes_apart_from_the_new_default():
    new = resolve_plugin(METHODS, "setfit", "m")
    old = resolve_plugin(METHODS, {"name": "setfit", "pairs": "max_pairs", "schedule": "constant",
                                   "head": "torch"}, "m")
    assert new.params["head"] == "logreg" and "logreg" not in new.params  # logreg settings: ID_IF_SET
    assert "head" not in old.params and old.label == "setfit"  # the legacy value is not hashed ...
    assert old.key() == 'setfit(head="torch",pairs="max_pairs",schedule="constant")'  # ... but shown
    assert build_plugin(METHODS, old).head == "torch"
    record = PluginSpec("setfit", old.params, "setfit")  # a record without the field: the legacy head
    assert build_plugin(METHODS, record).head == "torch"
    torch_new_pairs = resolve_plugin(METHODS, {"name": "setfit", "head": "torch"}, "m")
    logreg_old_pairs = resolve_plugin(METHODS, {"name": "setfit", "pairs": "max_pairs", "schedule": "constant"}, "m")
    ids = [run_id(s) for s in (new, old, torch_new_pairs, logreg_old_pairs)]
    assert len(set(ids)) == 4  # each recipe its own id; none of the old recipe's is reused by a logreg run
    tuned = resolve_plugin(METHODS, {"name": "setfit", "logreg": {"folds": 3}}, "m")
    assert tuned.params["logreg"]["folds"] == 3 and run_id(tuned) != run_id(new)
    assert replace(build_plugin(METHODS, tuned), logreg=LOGREG_HEAD) == build_plugin(METHODS, new)
