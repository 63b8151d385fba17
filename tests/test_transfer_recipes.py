"""Transfer recipes that follow their papers: the linear probe's logistic-regression head
(C chosen on the labels alone), SetFit's full pair set and warm-up/decay schedule, and the
ID_UNLESS run-id marker that keeps results made under the old defaults valid."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from altbench.config import ID_UNLESS, PluginSpec, build_plugin, identity, load_experiment, resolve_plugin
from altbench.methods.logreg_head import LogRegHead, choose_C, cv_scores, fit_logreg_head
from altbench.methods.setfit import SCHEDULES, sentence_pairs, warmup_linear
from altbench.registry import METHODS
from altbench.seeds import int_seed
from altbench.view import CapabilityError, ModelView
from conftest import make_blobs

ROOT = Path(__file__).resolve().parents[1]


# ---------------------------------------------------------------- the ID_UNLESS marker
@dataclasses.dataclass(frozen=True)
class Recipe:
    lr: float = 0.1
    head: str = dataclasses.field(default="new", metadata=ID_UNLESS("old"))


def test_id_unless_drops_the_field_only_at_its_legacy_value():
    assert identity(Recipe(head="old")) == {"lr": 0.1}  # what a run made before the field existed hashed
    assert identity(Recipe()) == {"lr": 0.1, "head": "new"}  # the new default: a new id
    assert identity(Recipe(head="other")) == {"lr": 0.1, "head": "other"}


def committed_ids(name: str) -> set[str]:
    return {p.stem for p in (ROOT / "results" / name / "runs").glob("*.parquet")}


@pytest.mark.parametrize("config,results", [("strategies_text", "strategies_text"),
                                            ("headline_transfer", "headline_transfer")])
def test_pinned_configs_keep_their_committed_run_ids(config, results):
    exp = load_experiment(ROOT / "bench" / "configs" / f"{config}.yaml")
    assert {r.run_id for r in exp.runs} == committed_ids(results)
    probe = [r for r in exp.runs if r.method.name == "linear-probe"]
    assert probe and all(build_plugin(METHODS, r.method).head == "torch" for r in probe)


def test_new_default_never_reuses_old_results():
    exp = load_experiment(ROOT / "bench" / "configs" / "strategies_text.yaml", ["methods=[linear-probe]"])
    assert not {r.run_id for r in exp.runs} & committed_ids("strategies_text")
    assert build_plugin(METHODS, exp.runs[0].method).head == "logreg"


def test_legacy_value_is_built_shown_but_not_hashed():
    torch_spec = resolve_plugin(METHODS, {"name": "linear-probe", "head": "torch"}, "methods.0")
    assert "head" not in torch_spec.params and torch_spec.label == "linear-probe"  # as before the field
    assert torch_spec.key() == 'linear-probe(head="torch")'  # tables and cells say which head
    old_record = PluginSpec("linear-probe", torch_spec.params, "linear-probe")  # a record without `shown`
    assert build_plugin(METHODS, old_record).head == "torch"  # a missing ID_UNLESS field means legacy
    new = resolve_plugin(METHODS, "linear-probe", "methods.0")
    assert new.params["head"] == "logreg" and new.key() == "linear-probe"


def test_setfit_legacy_pins_keep_the_old_parameter_set():
    # the old set, its torch head's settings renamed head → head_train (head now picks logreg | torch)
    old_keys = {"backbone", "backbone_params", "num_iterations", "max_pairs", "dropout", "contrastive", "head_train"}
    pinned = resolve_plugin(METHODS, {"name": "setfit", "pairs": "max_pairs", "schedule": "constant",
                                      "head": "torch"}, "m")
    assert set(pinned.params) == old_keys and pinned.label == "setfit"
    built = build_plugin(METHODS, pinned)
    assert (built.pairs, built.schedule, built.head) == ("max_pairs", "constant", "torch")
    new = resolve_plugin(METHODS, "setfit", "m")
    assert (new.params["pairs"], new.params["schedule"], new.params["head"]) == ("all", "warmup_linear", "logreg")


def test_transfer_recipes_config_gives_one_cell_per_recipe():
    exp = load_experiment(ROOT / "bench" / "configs" / "transfer_recipes.yaml")
    keys = {r.method.key() for r in exp.runs}
    assert keys == {"linear-probe", 'linear-probe(head="torch")', "self-training", "setfit",
                    'setfit(head="torch",pairs="max_pairs",schedule="constant")'}
    assert len(exp.runs) == 2 * 5 * 5 and all(r.budget.sizes(16) == [16] for r in exp.runs)


# ---------------------------------------------------------------- the logistic-regression head
def test_C_rule_is_the_cross_validated_best():
    rng = np.random.default_rng(0)
    noise_X, noise_y = rng.normal(size=(60, 5)), np.repeat([0, 1, 2], 20)
    cfg = LogRegHead()
    s = cv_scores(noise_X, noise_y, cfg, 5, int_seed(np.random.default_rng(1)))  # (grid, [accuracy, log-loss])
    best = max(range(len(cfg.C_grid)), key=lambda i: (s[i, 0], -s[i, 1], -cfg.C_grid[i]))
    assert choose_C(noise_X, noise_y, cfg, np.random.default_rng(1)) == cfg.C_grid[best]
    X, y = make_blobs(n=90, d=4, n_classes=3, seed=2)
    X = X * 3.0  # far-apart blobs: every C is 100% accurate, the weakest penalty has the lowest log-loss
    assert choose_C(X.astype(np.float64), y, cfg, np.random.default_rng(1)) == max(cfg.C_grid)


def test_C_rule_falls_back_when_a_class_has_one_example():
    X, y = make_blobs(n=30, d=4, n_classes=3, seed=1)
    y = y.copy()
    y[np.flatnonzero(y == 2)[1:]] = 0  # class 2 keeps a single example
    cfg = LogRegHead(C_fallback=0.37)
    assert choose_C(X, y, cfg, np.random.default_rng(0)) == 0.37
    a, b = (choose_C(*make_blobs(n=40, d=4, seed=5), LogRegHead(), np.random.default_rng(s)) for s in (3, 3))
    assert a == b  # the fold shuffle comes from the rng given


def test_logreg_head_is_lbfgs_to_convergence_at_the_chosen_C():
    from sklearn.linear_model import LogisticRegression

    X, y = make_blobs(n=200, d=6, n_classes=3, seed=4)
    model = fit_logreg_head(X[:60], y[:60], 4, LogRegHead(), np.random.default_rng(0))  # 4 classes, 3 seen
    ref = LogisticRegression(C=model.C_, max_iter=5000, tol=1e-6).fit(X[:60].astype(np.float64), y[:60])
    p = model.predict_proba(X[60:])
    assert p.shape == (140, 4) and np.all(p[:, 3] == 0) and np.allclose(p.sum(1), 1)
    assert np.allclose(p[:, :3], ref.predict_proba(X[60:]), atol=1e-10)


def test_logreg_probe_gives_the_view_what_strategies_need():
    X, y = make_blobs(n=300, d=8, n_classes=3, seed=0)
    probe = METHODS.get("linear-probe")()
    assert probe.head == "logreg"
    model = probe.fit(X[:30], y[:30], n_classes=3, rng_init=np.random.default_rng(0),
                      rng_order=np.random.default_rng(1))
    view = ModelView(model, X, np.arange(30), y[:30], "linear-probe")
    pool = np.arange(30, 300)
    p = view.predict_proba(pool)
    assert (p.argmax(1) == y[30:]).mean() > 0.9
    H = view.embed(pool)
    assert np.array_equal(H, X[30:])  # embeddings = the cached features
    assert np.array_equal(view.embeddings(pool).take(np.arange(5)), X[30:35])
    g = view.grad_embed(pool).reshape(len(pool), 3, 8)  # (p − e_ŷ) ⊗ x
    onehot = np.eye(3)[p.argmax(1)]
    assert np.allclose(g, (p - onehot)[:, :, None] * X[30:, None, :], atol=1e-5)
    assert np.allclose(view.head_proba(H), p)
    assert not view.has("predict_proba_mc")
    with pytest.raises(CapabilityError, match="does not provide predict_proba_mc"):
        view.predict_proba_mc(pool, 4, np.random.default_rng(0))


def test_torch_head_is_still_available():
    X, y = make_blobs(n=120, d=8, n_classes=3, seed=0)
    model = METHODS.get("linear-probe")(head="torch").fit(X[:30], y[:30], n_classes=3,
                                                          rng_init=np.random.default_rng(0),
                                                          rng_order=np.random.default_rng(1))
    assert model.predict_proba_mc(X[30:40], 3, np.random.default_rng(0)).shape == (10, 3, 3)


# ---------------------------------------------------------------- SetFit's pairs and schedule
def test_all_pairs_is_the_papers_count():
    y = np.repeat(np.arange(5), 64)  # SST-5 at 64 per class
    pairs, targets = sentence_pairs(y, 20, None, np.random.default_rng(0))
    assert len(pairs) == 20 * 2 * len(y) == 12800 and targets.mean() == 0.5
    capped, _ = sentence_pairs(y, 20, 640, np.random.default_rng(0))
    assert len(capped) == 640


def test_warmup_then_linear_decay():
    f = warmup_linear(0.1)
    factors = [f(t, 100) for t in range(100)]
    assert factors[:11] == [t / 10 for t in range(10)] + [1.0]  # 10 warm-up steps, then the peak
    assert factors[55] == pytest.approx(0.5) and factors[99] == pytest.approx(1 / 90)
    assert SCHEDULES["constant"](0.1) is None  # train() keeps the base lr


def test_setfit_trains_on_all_pairs_with_the_schedule(monkeypatch):
    import altbench.methods.setfit as setfit_mod

    seen = {}
    real_train = setfit_mod.train

    def spy(module, X, y, cfg, **kw):
        if kw.get("loss_fn") is not None:  # the contrastive stage: record and skip
            seen["pairs"], seen["schedule"] = len(y), kw.get("lr_schedule")
            return module
        return real_train(module, X, y, cfg, **kw)

    monkeypatch.setattr(setfit_mod, "train", spy)
    texts = np.array(["good", "great", "fine", "bad", "awful", "poor"] * 2, dtype=object)
    y = np.array([0, 0, 0, 1, 1, 1] * 2)
    for params, pairs, schedule in [({}, 2 * 20 * 12, "warmup"), ({"pairs": "max_pairs", "max_pairs": 50,
                                                                   "schedule": "constant"}, 50, None)]:
        m = METHODS.get("setfit")(backbone_params={"max_length": 8}, **params)
        m.fit(texts, y, n_classes=2, rng_init=np.random.default_rng(0), rng_order=np.random.default_rng(1))
        assert seen["pairs"] == pairs
        assert (seen["schedule"] is None) == (schedule is None)
