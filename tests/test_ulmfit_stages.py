"""ULMFiT's stage switch (Howard & Ruder 2018): with ``lm_finetune`` the encoder is first
fine-tuned as a masked LM on the pool (every group trainable, discriminative rates lr / 2.6**l,
slanted triangular schedule), and the classifier stage starts from those weights; without it no
LM stage runs and the classifier starts from the checkpoint.  Checked on the optimizer's param
groups, step by step (stage 2) and epoch by epoch (stage 3), with a tiny random BERT."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from _tiny_bert import pool_dataset, tiny_minilm_with_cache

from altbench import adapt_objectives
from altbench.adapt import Mlm, slanted_triangular
from altbench.config import PluginSpec, RunConfig, build_plugin, load_experiment, resolve_plugin
from altbench.loop import Budget
from altbench.methods import prepare_inputs, ulmfit
from altbench.methods.ulmfit import ULMFIT_LM, Ulmfit
from altbench.registry import METHODS
from altbench.seeds import Streams
from altbench.train import TrainConfig

LM = Mlm(steps=10, batch_size=8, lr=1e-3, schedule="stlr", cut_frac=0.1, ratio=32.0, decay=2.6)
STAGE3 = {"backbone_params": {"max_length": 16}, "train": TrainConfig(epochs=4, batch_size=8, lr=1e-3),
          "min_steps": 1, "head_lr": 1e-2, "lm": LM, "unfreeze_all": False}  # exactly train.epochs epochs


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # conftest: one torch thread per module


@pytest.fixture
def tiny(monkeypatch, tmp_path_factory):
    return tiny_minilm_with_cache(monkeypatch, tmp_path_factory)


def checkpoint_embeddings(path) -> torch.Tensor:
    from transformers import BertModel

    return BertModel.from_pretrained(path).embeddings.word_embeddings.weight.detach()


def test_switch_selects_stage_two_and_changes_every_ulmfit_run_id():
    assert Ulmfit().adaptation("text") == ULMFIT_LM
    assert (ULMFIT_LM.schedule, ULMFIT_LM.decay, ULMFIT_LM.cut_frac, ULMFIT_LM.ratio) == ("stlr", 2.6, 0.1, 32.0)
    assert Ulmfit(lm_finetune=False).adaptation("text") is None
    assert Ulmfit().adaptation("image") is None  # an LM stage exists for text only

    def run_id(method: PluginSpec) -> str:
        data, strat = PluginSpec("trec6", {}), PluginSpec("random", {})
        return RunConfig(data, method, strat, 0, Budget()).run_id

    three = resolve_plugin(METHODS, "ulmfit", "methods.0")
    two = resolve_plugin(METHODS, {"name": "ulmfit", "lm_finetune": False}, "methods.0")
    legacy = PluginSpec("ulmfit", {k: v for k, v in three.params.items() if k not in ("lm_finetune", "lm")})
    assert three.params["lm_finetune"] is True and two.params["lm_finetune"] is False
    assert len({run_id(three), run_id(two), run_id(legacy)}) == 3  # old two-stage ids are never reused


def test_stage_two_trains_every_group_at_discriminative_slanted_rates(tiny, monkeypatch):
    steps = []
    real_train = adapt_objectives.train

    def recording_train(module, X, y, cfg, **kw):
        opt_box, loss_fn = [], kw["loss_fn"]

        def loss(out, target):
            steps.append([(g["name"], g["lr"], all(p.requires_grad for p in g["params"]), g["params"])
                          for g in opt_box[0].param_groups])
            return loss_fn(out, target)

        return real_train(module, X, y, cfg, **{**kw, "loss_fn": loss,
                                                 "on_epoch_start": lambda epoch, opt: opt_box.append(opt)})

    monkeypatch.setattr(adapt_objectives, "train", recording_train)
    method = Ulmfit(**STAGE3)
    prepare_inputs(method, pool_dataset(), Streams(0))
    assert len(steps) == LM.steps
    assert [name for name, *_ in steps[0]] == ["head", "group2", "group1", "group0"]  # MLM head, layers, embeddings
    stlr = slanted_triangular(0.1, 32.0)
    for s, groups in enumerate(steps):
        assert all(trainable for _, _, trainable, _ in groups), f"step {s}: stage 2 freezes nothing"
        lrs = [lr for _, lr, _, _ in groups]
        assert lrs[0] == pytest.approx(1e-3 * stlr(s, LM.steps))  # the head trains at the top rate
        for depth in range(1, 4):
            assert lrs[depth] == pytest.approx(1e-3 * stlr(s, LM.steps) / 2.6 ** (depth - 1))
    vocab_rows = checkpoint_embeddings(tiny).shape  # (vocab, 32): the word embeddings = the tied decoder
    head, embeddings = steps[0][0][3], steps[0][3][3]
    assert head and all(p.shape != vocab_rows for p in head)  # the fresh MLM head adds no decoder of its own
    assert any(p.shape == vocab_rows for p in embeddings)  # the tied decoder trains with the embeddings group
    adapted = method.adapted_.state()["bert.embeddings.word_embeddings.weight"]
    assert not torch.equal(adapted, checkpoint_embeddings(tiny))


def record_stage_three(monkeypatch) -> list:
    """Per epoch of stage 3, after the unfreezing hook: (group names top first, all of each group's
    params trainable, none trainable, the word embeddings at the epoch's start)."""
    epochs, real_unfreezing = [], ulmfit.gradual_unfreezing

    def recording_unfreezing(groups):
        hook = real_unfreezing(groups)

        def record(epoch, opt):
            hook(epoch, opt)
            enc = opt.param_groups[-1]["params"][0]  # group0's first tensor: the word embeddings
            epochs.append(([g["name"] for g in opt.param_groups],
                           [all(p.requires_grad for p in g["params"]) for g in opt.param_groups],
                           [not any(p.requires_grad for p in g["params"]) for g in opt.param_groups],
                           enc.detach().clone()))
        return record

    monkeypatch.setattr(ulmfit, "gradual_unfreezing", recording_unfreezing)
    return epochs


@pytest.mark.parametrize("lm_finetune", [True, False])
def test_stage_three_starts_from_stage_two_and_unfreezes_one_group_per_epoch(tiny, monkeypatch, lm_finetune):
    lm_runs = []
    real_run = adapt_objectives.run
    monkeypatch.setattr(adapt_objectives, "run", lambda *a: lm_runs.append(1) or real_run(*a))
    epochs = record_stage_three(monkeypatch)
    ds = pool_dataset()
    method = Ulmfit(**STAGE3, lm_finetune=lm_finetune)
    X_train, _ = prepare_inputs(method, ds, Streams(0))
    model = method.fit(X_train[:16], ds.y_train[:16], n_classes=2, rng_init=np.random.default_rng(1),
                       rng_order=np.random.default_rng(2))
    assert model.predict_proba(ds.X_test[:4]).shape == (4, 2)
    assert len(lm_runs) == int(lm_finetune) and hasattr(method, "adapted_") == lm_finetune
    start = (method.adapted_.state()["bert.embeddings.word_embeddings.weight"] if lm_finetune
             else checkpoint_embeddings(tiny))
    assert torch.equal(epochs[0][3], start)  # stage 3 begins from stage 2's weights (or the checkpoint)
    assert len(epochs) == 4 and epochs[0][0] == ["head", "group2", "group1", "group0"]
    for e, (_, trainable, frozen, _) in enumerate(epochs):
        assert trainable[:e + 1] == [True] * (e + 1) and all(frozen[e + 1:]), f"epoch {e}"
    final = model.net.encoder.bert.embeddings.word_embeddings.weight.detach()
    assert torch.equal(epochs[3][3], start) and not torch.equal(final, start)  # frozen until the last epoch


def test_unfreeze_all_runs_until_every_group_has_trained_full_epochs(tiny, monkeypatch):
    epochs = record_stage_three(monkeypatch)
    ds = pool_dataset()
    method = Ulmfit(**{**STAGE3, "unfreeze_all": True, "full_epochs": 2, "lm_finetune": False,
                       "train": TrainConfig(epochs=2, batch_size=8, lr=1e-3)})
    assert method.epochs_for(4).epochs == 5 and Ulmfit(unfreeze_all=False).epochs_for(8).epochs == 4
    assert Ulmfit().epochs_for(8).epochs == 10  # MiniLM: head + 7 encoder groups, then 3 epochs all together
    model = method.fit(ds.X_train[:16], ds.y_train[:16], n_classes=2, rng_init=np.random.default_rng(1),
                       rng_order=np.random.default_rng(2))
    assert len(epochs) == 5  # 4 groups: unfrozen one per epoch (epochs 0-3), then all train for 2 (3-4)
    for e, (_, trainable, _, _) in enumerate(epochs):
        assert trainable == [g <= e for g in range(4)], f"epoch {e}"
    start = checkpoint_embeddings(tiny)
    assert torch.equal(epochs[3][3], start)  # the bottom group is frozen until epoch 3 ...
    assert not torch.equal(epochs[4][3], start)  # ... then trains (epoch 3 moved it)
    final = model.net.encoder.bert.embeddings.word_embeddings.weight.detach()
    assert not torch.equal(final, epochs[4][3])  # ... and again in the last full epoch


def test_a_truncated_schedule_says_which_groups_never_train(tiny, caplog):
    ds = pool_dataset()
    method = Ulmfit(**{**STAGE3, "lm_finetune": False, "train": TrainConfig(epochs=2, batch_size=8, lr=1e-3)})
    with caplog.at_level("WARNING", logger="altbench"):
        method.fit(ds.X_train[:16], ds.y_train[:16], n_classes=2, rng_init=np.random.default_rng(1),
                   rng_order=np.random.default_rng(2))
    assert "2 epochs unfreeze only the top 2 of 4 layer groups" in caplog.text
    assert "train.epochs >= 4" in caplog.text


def test_old_runs_mean_the_old_schedule_and_keep_their_ids():
    def run_id(method: PluginSpec) -> str:
        return RunConfig(PluginSpec("trec6", {}), method, PluginSpec("random", {}), 0, Budget()).run_id

    new = resolve_plugin(METHODS, "ulmfit", "methods.0")
    pinned = resolve_plugin(METHODS, {"name": "ulmfit", "unfreeze_all": False}, "methods.0")
    assert new.params["unfreeze_all"] is True and "unfreeze_all" not in pinned.params
    assert pinned.label == "ulmfit" and pinned.key() == "ulmfit(unfreeze_all=false)"
    record = PluginSpec("ulmfit", pinned.params, "ulmfit")  # a run record from before the field existed
    assert build_plugin(METHODS, record).unfreeze_all is False
    assert run_id(record) == run_id(pinned) != run_id(new)


@pytest.mark.parametrize("config,results", [("pool_headline.yaml", "pool_headline"),
                                            ("reproduce/ulmfit2018_transfer.yaml", "reproduce/ulmfit2018_transfer")])
def test_configs_pinning_the_old_schedule_keep_their_committed_run_ids(config, results):
    root = Path(__file__).resolve().parents[1]
    exp = load_experiment(root / "bench" / "configs" / config)
    assert {r.run_id for r in exp.runs} == {p.stem for p in (root / "results" / results / "runs").glob("*.parquet")}
    ulm = [r for r in exp.runs if r.method.name == "ulmfit"]
    assert ulm and all(build_plugin(METHODS, r.method).unfreeze_all is False for r in ulm)
