"""Pool-adaptive pretraining (altbench.adapt): masking, the MLM head, the objectives lowering
their loss on the pool, the pool-only guarantee (a test-split canary), the on-disk cache and
the hand-over to the methods.  A tiny random BERT stands in for MiniLM (tests/_tiny_bert.py)."""

from __future__ import annotations

import dataclasses
import logging

import numpy as np
import pytest
import torch
from _tiny_bert import CANARY, pool_dataset, tiny_bert, use_tiny_minilm

from altbench import adapt_objectives
from altbench.adapt import AdaptCache, Mlm, SimCse, adapt_pool, adapter_config, load_adapted
from altbench.backbones import make_backbone
from altbench.config import resolve_plugin
from altbench.methods import prepare_inputs
from altbench.registry import METHODS
from altbench.seeds import Streams

FAST = {"steps": 4, "batch_size": 8, "lr": 1e-3}


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # conftest: one torch thread per module


@pytest.fixture(scope="module")
def bert_dirs(tmp_path_factory):
    root = tmp_path_factory.mktemp("bert")
    return {"plain": tiny_bert(root / "plain"), "head": tiny_bert(root / "head", mlm_head=True)}


@pytest.fixture
def tiny(monkeypatch, bert_dirs, tmp_path):
    """The minilm backbone is the head-less tiny BERT; caches under tmp_path."""
    use_tiny_minilm(monkeypatch, bert_dirs["plain"])
    monkeypatch.setenv("ALTBENCH_CACHE_DIR", str(tmp_path / "cache"))
    return make_backbone("minilm", "text", max_length=16)


def test_masking_is_bert_80_10_10_on_real_tokens_only():
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(5, 30, (400, 50), generator=g)
    attn = torch.ones_like(ids)
    attn[:, 40:], ids[:, 40:] = 0, 0  # padding
    ids[:, 0], ids[:, 39] = 2, 3  # [CLS] 38 tokens [SEP]
    special = torch.tensor([0, 1, 2, 3, 4])
    inputs, labels = adapt_objectives.mask_tokens(ids, attn, special, 0.15, 4, 30, torch.Generator().manual_seed(1))
    picked = labels != -100
    assert not picked[:, 0].any() and not picked[:, 39:].any()  # never [CLS], [SEP] or padding
    assert torch.equal(labels[picked], ids[picked])
    assert picked.float().sum() / (400 * 38) == pytest.approx(0.15, abs=0.01)
    to_mask = (inputs[picked] == 4).float().mean()
    kept = (inputs[picked] == ids[picked]).float().mean()
    assert to_mask == pytest.approx(0.8, abs=0.02) and kept == pytest.approx(0.1 + 0.1 / 30, abs=0.02)
    assert torch.equal(inputs[~picked], ids[~picked])
    again = adapt_objectives.mask_tokens(ids, attn, special, 0.15, 4, 30, torch.Generator().manual_seed(1))
    assert torch.equal(again[0], inputs) and torch.equal(again[1], labels)  # seeded


def test_fresh_mlm_head_is_seeded_and_tied_to_input_embeddings(tiny, bert_dirs, monkeypatch):
    heads = []
    for _ in range(2):
        enc = tiny.encoder()
        mlm, fresh = adapt_objectives.mlm_model(enc, torch.Generator().manual_seed(5))
        assert mlm.bert is enc.bert  # training the MLM trains the encoder itself
        assert mlm.get_output_embeddings().weight is enc.bert.get_input_embeddings().weight
        assert "cls.predictions.transform.dense.weight" in fresh
        heads.append(dict(mlm.cls.named_parameters()))
    for name, p in heads[0].items():
        assert torch.equal(p, heads[1][name]), name  # same generator → same fresh head
    dense = heads[0]["predictions.transform.dense.weight"]
    assert dense.std().item() == pytest.approx(0.02, rel=0.2)  # BERT's initializer_range

    use_tiny_minilm(monkeypatch, bert_dirs["head"])  # a checkpoint that has its MLM head: loaded, not fresh
    enc = make_backbone("minilm", "text", max_length=16).encoder()
    mlm, fresh = adapt_objectives.mlm_model(enc, torch.Generator().manual_seed(5))
    from transformers import BertForMaskedLM

    saved = BertForMaskedLM.from_pretrained(bert_dirs["head"])
    assert fresh == []
    assert torch.equal(mlm.cls.predictions.transform.dense.weight, saved.cls.predictions.transform.dense.weight)


@pytest.mark.parametrize("cfg", [Mlm(steps=40, batch_size=8, lr=2e-3, schedule="constant"),
                                 SimCse(steps=40, batch_size=8, lr=2e-3)], ids=["mlm", "simcse"])
def test_adaptation_lowers_the_objective_on_the_pool(tiny, cfg):
    texts = pool_dataset().X_train
    enc = tiny.encoder()
    obj = cfg.objective(enc, texts, torch.Generator().manual_seed(0))
    before = adapt_objectives.pool_loss(obj, len(texts), 16, torch.Generator().manual_seed(9))
    adapt_objectives.train_objective(cfg, obj, enc, len(texts), np.random.default_rng(0))
    after = adapt_objectives.pool_loss(obj, len(texts), 16, torch.Generator().manual_seed(9))  # same masks
    assert after < before - 0.3, (before, after)  # MLM: from ~ln(vocab) towards the pool's word entropy


@pytest.mark.parametrize("name", ["mlm", "simcse"])
def test_test_split_canary_never_reaches_adaptation(tiny, monkeypatch, name):
    from transformers import PreTrainedTokenizerBase

    seen: list[str] = []
    original = PreTrainedTokenizerBase.__call__

    def spy(self, text=None, *args, **kwargs):
        seen.extend([text] if isinstance(text, str) else list(text or []))
        return original(self, text, *args, **kwargs)

    monkeypatch.setattr(PreTrainedTokenizerBase, "__call__", spy)
    from altbench.backbones.tokens import token_cache

    token_cache.cache_clear()  # texts tokenised by an earlier test would not reach the spy
    ds = pool_dataset()
    method = METHODS.get("finetune")(backbone_params={"max_length": 16}, adapt={"name": name, **FAST})
    X_train, X_test = prepare_inputs(method, ds, Streams(0))
    assert method.adapted_.path.is_file()
    assert seen and set(seen) <= set(ds.X_train)  # tokenised: pool texts, nothing else
    assert not any(CANARY in t for t in seen)
    assert any(CANARY in t for t in X_test)  # the canary is there, in the test split the method predicts on


def test_cache_hit_miss_invalidation_and_damage(tiny, monkeypatch, tmp_path, caplog):
    calls = []
    real_run = adapt_objectives.run
    monkeypatch.setattr(adapt_objectives, "run", lambda *a: calls.append(1) or real_run(*a))
    ds, cfg = pool_dataset(), Mlm(**FAST)
    cache = AdaptCache(tmp_path / "adapted")
    first = adapt_pool(tiny, cfg, ds, Streams(0), cache)
    again = adapt_pool(tiny, cfg, ds, Streams(0), cache)
    assert (cache.misses, cache.hits, len(calls)) == (1, 1, 1) and again == first  # hit: no recompute
    changed = [adapt_pool(tiny, dataclasses.replace(cfg, lr=5e-4), ds, Streams(0), cache),  # adapt config
               adapt_pool(tiny, cfg, ds, Streams(1), cache),  # seed
               adapt_pool(make_backbone("minilm", "text", max_length=12), cfg, ds, Streams(0), cache),  # backbone
               adapt_pool(tiny, cfg, dataclasses.replace(ds, X_train=np.concatenate([ds.X_train[:-1], ["the end"]])),
                          Streams(0), cache)]  # one pool text
    assert len({a.key for a in [first, *changed]}) == 5 and cache.misses == 5 and len(calls) == 5
    same_seed = adapt_pool(tiny, cfg, ds, Streams(0), AdaptCache(tmp_path / "other"))  # recomputed elsewhere
    for name, t in first.state().items():
        assert torch.equal(t, same_seed.state()[name]), name  # seeded: identical weights
    assert any(not torch.equal(t, changed[1].state()[n]) for n, t in first.state().items())  # other seed differs

    first.path.write_bytes(first.path.read_bytes()[:200])  # damaged entry
    with caplog.at_level(logging.WARNING, logger="altbench"):
        rebuilt = adapt_pool(tiny, cfg, ds, Streams(0), cache)
    assert "damaged" in caplog.text and cache.misses == 6 and rebuilt.key == first.key
    assert all(torch.equal(t, same_seed.state()[n]) for n, t in rebuilt.state().items())


def test_methods_get_the_adapted_encoder_and_keyed_features(tiny):
    ds = pool_dataset()
    plain = METHODS.get("linear-probe")(backbone_params={"max_length": 16})
    adapted = METHODS.get("linear-probe")(backbone_params={"max_length": 16}, adapt={"name": "mlm", **FAST})
    F_plain, _ = prepare_inputs(plain, ds, Streams(0))
    F_adapt, F_adapt_test = prepare_inputs(adapted, ds, Streams(0))
    assert F_adapt.shape == F_plain.shape == (48, 32) and F_adapt_test.shape == (16, 32)
    assert not np.allclose(F_plain, F_adapt)  # features keyed by (and computed with) the adapted weights
    state = adapted.adapted_.state()
    enc = adapt_objectives.hf_parts(load_adapted(adapted, tiny.encoder()))[0]
    assert all(torch.equal(p, state[f"bert.{n}"]) for n, p in enc.state_dict().items())

    ft = METHODS.get("finetune")(backbone_params={"max_length": 16}, adapt={"name": "mlm", **FAST})
    with pytest.raises(ValueError, match="prepare_inputs"):  # not prepared: a clear error, not silent checkpoint
        ft.fit(ds.X_train[:8], ds.y_train[:8], n_classes=2, rng_init=np.random.default_rng(0),
               rng_order=np.random.default_rng(1))
    with pytest.raises(ValueError, match="Streams"):
        prepare_inputs(ft, ds)


def test_adapt_field_keeps_old_run_ids_and_checks_its_keys():
    for name in ("linear-probe", "finetune", "lp-ft", "setfit"):
        assert "adapt" not in resolve_plugin(METHODS, name, "methods.0").params  # ID_IF_SET at default
        spec = resolve_plugin(METHODS, {"name": name, "adapt": {"name": "simcse"}}, "methods.0")
        assert spec.params["adapt"] == {"name": "simcse"}
    from altbench.strict import ConfigError

    with pytest.raises(ConfigError, match="no parameter 'stepz'"):
        resolve_plugin(METHODS, {"name": "finetune", "adapt": {"name": "mlm", "stepz": 3}}, "methods.0")
    with pytest.raises(ConfigError, match="unknown adapter 'mlx'; write one of mlm, simcse"):
        resolve_plugin(METHODS, {"name": "setfit", "adapt": {"name": "mlx"}}, "methods.0")
    assert adapter_config({"name": "mlm", "steps": 7}) == Mlm(steps=7)


def test_adaptation_refuses_non_transformer_encoders():
    class NoHf(torch.nn.Module):
        pass

    with pytest.raises(ValueError, match="transformers text backbone"):
        adapt_objectives.hf_parts(NoHf())
