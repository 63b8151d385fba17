"""Transfer methods: each learns on a small slice of TREC-6 and exposes every
capability strategies need (probabilities, MC dropout, embeddings, gradient
embeddings).  Fine-tuning configs are tiny (1 epoch, max_length 32)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from altbench.datasets import Dataset
from altbench.registry import METHODS
from altbench.train import TrainConfig

DATA = Path(os.environ.get("ALTBENCH_DATA_DIR", Path(__file__).parents[2] / "shared" / "data"))
SHORT = {"backbone_params": {"max_length": 32}}
TINY_FT = TrainConfig(epochs=1, batch_size=16, lr=5e-5, weight_decay=0.01)


def read_trec(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(texts (n,) object, labels (n,) int64) from a ``LABEL text`` file."""
    labels, texts = [], []
    for line in path.read_text(encoding="latin-1").splitlines():
        label, _, text = line.partition(" ")
        labels.append(int(label))
        texts.append(text)
    return np.asarray(texts, dtype=object), np.asarray(labels, dtype=np.int64)


def trec_slice(n_train: int, n_test: int) -> Dataset:
    """A stratified-ish random slice of TREC-6 (fixed seed)."""
    Xtr, ytr = read_trec(DATA / "text" / "TREC.train.all")
    Xte, yte = read_trec(DATA / "text" / "TREC.test.all")
    rng = np.random.default_rng(0)
    i, j = rng.choice(len(ytr), n_train, replace=False), rng.choice(len(yte), n_test, replace=False)
    return Dataset("trec6-slice", "text", Xtr[i], ytr[i], Xte[j], yte[j], tuple(map(str, range(6))))


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # conftest: one torch thread per module


@pytest.fixture(scope="module")
def trec(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setenv("ALTBENCH_CACHE_DIR", str(tmp_path_factory.mktemp("emb")))
    yield trec_slice(200, 120)
    mp.undo()


METHOD_CONFIGS = {
    "scratch": {},
    "linear-probe": {**SHORT, "head": "torch"},  # the MC-dropout head (head logreg: tests/test_transfer_recipes.py)
    "finetune": {**SHORT, "train": TINY_FT, "min_steps": 16},
    "lp-ft": {**SHORT, "finetune": TINY_FT, "min_steps": 8},
    "ulmfit": {**SHORT, "train": TrainConfig(epochs=2, batch_size=16, lr=2e-4, weight_decay=0.01), "min_steps": 16,
               "lm_finetune": False},  # stage 2 (pool MLM) is tested in test_ulmfit_stages.py
    "setfit": {**SHORT, "pairs": "max_pairs", "max_pairs": 64, "head": "torch"},  # MC dropout (logreg: own test)
}


@pytest.fixture(scope="module")
def fitted(trec):
    """name → (method, model, X_test) fitted on the first 120 training texts."""
    out = {}
    for name, params in METHOD_CONFIGS.items():
        method = METHODS.get(name)(**params)
        prep = getattr(method, "prepare", None)
        X_train, X_test = prep(trec) if prep else (trec.X_train, trec.X_test)
        model = method.fit(X_train[:120], trec.y_train[:120], n_classes=6,
                           rng_init=np.random.default_rng(1), rng_order=np.random.default_rng(2))
        out[name] = (method, model, X_test)
    return out


@pytest.mark.parametrize("name", list(METHOD_CONFIGS))
def test_method_learns_trec(fitted, trec, name):
    _, model, X_test = fitted[name]
    acc = (model.predict_proba(X_test).argmax(1) == trec.y_test).mean()
    majority = np.bincount(trec.y_test).max() / len(trec.y_test)
    assert acc > majority + 0.15, f"{name}: accuracy {acc:.2f} vs majority {majority:.2f}"


@pytest.mark.parametrize("name", list(METHOD_CONFIGS))
def test_model_exposes_every_capability(fitted, name):
    _, model, X_test = fitted[name]
    X = X_test[:7]
    p = model.predict_proba(X)
    assert p.shape == (7, 6) and np.allclose(p.sum(1), 1.0)
    mc1 = model.predict_proba_mc(X, 4, np.random.default_rng(5))
    mc2 = model.predict_proba_mc(X, 4, np.random.default_rng(5))
    mc3 = model.predict_proba_mc(X, 4, np.random.default_rng(6))
    assert mc1.shape == (7, 6, 4) and np.allclose(mc1.sum(1), 1.0)
    assert np.array_equal(mc1, mc2), "MC dropout must be reproducible from its rng"
    assert not np.allclose(mc1, mc3), "MC dropout samples must depend on the rng"
    assert not np.allclose(mc1[..., 0], mc1[..., 1]), "MC samples must differ from each other"
    assert np.allclose(model.predict_proba(X), p), "predict_proba must be deterministic after MC"
    h = model.embed(X)
    g = model.grad_embed(X)
    assert h.ndim == 2 and h.shape[0] == 7 and g.shape == (7, 6 * h.shape[1])
    assert np.allclose(model.head_proba(h), p, atol=1e-5)  # embed then head = the model
    # BADGE: block of the predicted class is (p_ŷ − 1)·h, the others p_c·h
    blocks = g.reshape(7, 6, -1)
    top = p.argmax(1)
    assert np.allclose(blocks[np.arange(7), top], (p[np.arange(7), top] - 1)[:, None] * h, atol=1e-4)


@pytest.mark.parametrize("name", list(METHOD_CONFIGS))
def test_model_records_its_final_training_loss(fitted, name):
    """train_loss_: mean step cross-entropy of the last epoch (setfit: of its head), so of the
    order of chance level log(6) or below; a sum over steps would be many times larger."""
    _, model, _ = fitted[name]
    assert isinstance(model.train_loss_, float) and 0 < model.train_loss_ < 2 * np.log(6)


def test_length_sorted_prediction_keeps_row_order(fitted, trec):
    _, model, X_test = fitted["finetune"]
    assert model.sort_key is not None
    p_sorted = model.predict_proba(X_test)  # 120 rows > batch 64: sorted by length
    p_rows = np.concatenate([model.predict_proba(X_test[i:i + 1]) for i in range(0, 120, 17)])
    assert np.allclose(p_sorted[::17], p_rows, atol=1e-5)


def test_fit_is_reproducible_from_its_generators(trec):
    method = METHODS.get("scratch")()
    X, _ = method.prepare(trec)
    fit = lambda seed: method.fit(X[:100], trec.y_train[:100], n_classes=6,  # noqa: E731
                                  rng_init=np.random.default_rng(seed), rng_order=np.random.default_rng(9))
    assert np.array_equal(fit(1).predict_proba(X[100:130]), fit(1).predict_proba(X[100:130]))
    assert not np.allclose(fit(1).predict_proba(X[100:130]), fit(2).predict_proba(X[100:130]))


def test_linear_probe_fits_on_cached_memmap(fitted, trec):
    method, _, _ = fitted["linear-probe"]
    X_train, X_test = method.prepare(trec)
    assert isinstance(X_train, np.memmap) and X_train.shape == (200, 384)
    assert not X_train.flags.writeable


def test_scratch_learns_images_and_tabular():
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = (digits.images * 15).astype(np.uint8)  # (1797, 8, 8) in 0..240
    y = digits.target.astype(np.int64)
    method = METHODS.get("scratch")(train=TrainConfig(epochs=15, batch_size=32, lr=3e-3))
    for X in (images, digits.data.astype(np.float32) / 16):
        model = method.fit(X[:400], y[:400], n_classes=10, rng_init=np.random.default_rng(0),
                           rng_order=np.random.default_rng(1))
        assert (model.predict_proba(X[1400:]).argmax(1) == y[1400:]).mean() > 0.6


def test_scratch_trains_enough_on_tiny_labelled_sets():
    from sklearn.datasets import load_digits

    from altbench.train import with_min_steps

    assert with_min_steps(TrainConfig(epochs=30, batch_size=32), 20, 300).epochs == 300  # 1 step per epoch
    assert with_min_steps(TrainConfig(epochs=30, batch_size=32), 2000, 300).epochs == 30  # 63 steps per epoch
    digits = load_digits()
    y = digits.target.astype(np.int64)
    first_two = np.concatenate([np.flatnonzero(y == c)[:2] for c in range(10)])  # 20 labels
    for X in ((digits.images * 15).astype(np.uint8), digits.data.astype(np.float32) / 16):  # CNN, MLP
        accs = {}
        for min_steps in (1, 300):  # 1: the 30 epochs alone = 30 updates
            model = METHODS.get("scratch")(min_steps=min_steps).fit(
                X[first_two], y[first_two], n_classes=10, rng_init=np.random.default_rng(0),
                rng_order=np.random.default_rng(1))
            accs[min_steps] = (model.predict_proba(X[1000:]).argmax(1) == y[1000:]).mean()
        assert accs[300] > 0.72 and accs[300] > accs[1] + 0.08, accs


@pytest.mark.parametrize("kind", ["text", "image"])
def test_mc_dropout_shortcut_is_bit_identical(trec, monkeypatch, kind):
    """Nets whose only dropout ends ``features`` run their trunk once per batch
    under MC dropout; the T passes must equal T full forward passes exactly."""
    from sklearn.datasets import load_digits

    from altbench.methods.nets import BagOfEmbeddings, SmallCnn

    method = METHODS.get("scratch")(min_steps=20)
    if kind == "text":
        X, _ = method.prepare(trec)
        X, y, n_classes, net_cls = X[:150], trec.y_train[:150], 6, BagOfEmbeddings
    else:
        digits = load_digits()
        X, y, n_classes, net_cls = (digits.images[:150] * 15).astype(np.uint8), digits.target[:150], 10, SmallCnn
    model = method.fit(X, y, n_classes=n_classes, rng_init=np.random.default_rng(0),
                       rng_order=np.random.default_rng(1))
    assert isinstance(model.net, net_cls)
    model.batch_size = 64  # several batches: masks are drawn batch after batch
    fast = model.predict_proba_mc(X, 5, np.random.default_rng(3))
    monkeypatch.delattr(net_cls, "split_dropout")
    slow = model.predict_proba_mc(X, 5, np.random.default_rng(3))
    assert fast.shape == (150, n_classes, 5)
    assert np.array_equal(fast, slow)
    assert not np.allclose(fast[..., 0], fast[..., 1])  # the passes do differ


def test_minilm_layer_groups_cover_the_used_encoder(fitted):
    _, model, _ = fitted["ulmfit"]
    enc = model.net.encoder
    grouped = {id(p) for g in enc.layer_groups() for p in g}
    assert len(enc.layer_groups()) == 7  # embeddings + 6 transformer layers
    unused = [n for n, p in enc.named_parameters() if id(p) not in grouped]
    assert all(n.startswith("bert.pooler") for n in unused)


def test_bad_inputs_give_one_line_errors(trec):
    with pytest.raises(ValueError, match="prepare"):
        METHODS.get("linear-probe")().fit(trec.X_train[:10], trec.y_train[:10], n_classes=6,
                                          rng_init=np.random.default_rng(0), rng_order=np.random.default_rng(0))
    tab = Dataset("t", "tabular", np.zeros((4, 2), np.float32), np.zeros(4, np.int64),
                  np.zeros((2, 2), np.float32), np.zeros(2, np.int64), ("a",))
    with pytest.raises(ValueError, match="no pretrained backbone"):
        METHODS.get("linear-probe")().prepare(tab)


def test_image_linear_probe_and_finetune_on_digits(tmp_path, monkeypatch):
    from sklearn.datasets import load_digits

    monkeypatch.setenv("ALTBENCH_CACHE_DIR", str(tmp_path))
    digits = load_digits()
    images = (digits.images * 15).astype(np.uint8)  # (1797, 8, 8)
    y = digits.target.astype(np.int64)
    ds = Dataset("digits-img", "image", images[:150], y[:150], images[1500:1600], y[1500:1600],
                 tuple(map(str, range(10))))
    small = {"backbone_params": {"image_size": 64}}
    probe = METHODS.get("linear-probe")(**small)
    F_train, F_test = probe.prepare(ds)
    assert F_train.shape == (150, 1280)
    model = probe.fit(F_train, ds.y_train, n_classes=10, rng_init=np.random.default_rng(0),
                      rng_order=np.random.default_rng(1))
    assert (model.predict_proba(F_test).argmax(1) == ds.y_test).mean() > 0.3  # chance 0.1 (8×8 digits, blown up)
    ft = METHODS.get("finetune")(**small, train=TrainConfig(epochs=1, batch_size=16, lr=1e-4), min_steps=1)
    model = ft.fit(ds.X_train[:32], ds.y_train[:32], n_classes=10, rng_init=np.random.default_rng(0),
                   rng_order=np.random.default_rng(1))
    mc = model.predict_proba_mc(ds.X_test[:5], 3, np.random.default_rng(0))
    assert mc.shape == (5, 10, 3) and model.grad_embed(ds.X_test[:5]).shape == (5, 10 * 1280)
    assert np.allclose(model.predict_proba(ds.X_test[:5]), model.predict_proba(ds.X_test[:5]))
