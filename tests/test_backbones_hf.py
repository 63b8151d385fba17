"""``hf:`` backbones: any transformers encoder by folder or hub id (issue #13 part 3).

Offline: tiny randomly initialised BERT / RoBERTa / ViT models (hidden size 32,
2 layers) are written by ``save_pretrained`` into temporary folders; their
weights come from a seeded ``torch.Generator``.  The bundled MiniLM checks
that ``hf:<folder>`` computes what the built-in ``minilm`` backbone computes.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from altbench.backbones import BACKBONES, cached_features, make_backbone
from altbench.backbones.hf import Hf, cls_pool
from altbench.backbones.hf_files import HfModelError
from altbench.cache import FeatureCache
from altbench.config import load_experiment
from altbench.datasets import Dataset
from altbench.methods.finetune import Finetune
from altbench.methods.transfer import LinearProbe
from altbench.strict import ConfigError
from altbench.train import TrainConfig

WORDS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + (
    "the a cat dog sat on mat good bad movie film was is not very plot actor".split())
TEXTS = np.array(["the cat sat on the mat", "good movie", "bad film", "the plot was not very good",
                  "a dog", "the actor is bad", "very very good film", "cat"], dtype=object)
LABELS = np.array([0, 1, 0, 0, 1, 0, 1, 1])
SMALL = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64)


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # conftest: one torch thread per module


def seeded_weights_(model: torch.nn.Module, seed: int) -> None:
    """Overwrite every parameter from a seeded generator (the folder's content is then fixed)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.1)


def save_text_model(folder: Path, arch: str, seed: int = 0) -> Path:
    from transformers import BertConfig, BertModel, BertTokenizer, RobertaConfig, RobertaModel

    kinds = {"bert": (BertConfig, BertModel), "roberta": (RobertaConfig, RobertaModel)}
    config_cls, model_cls = kinds[arch]
    model = model_cls(config_cls(vocab_size=len(WORDS), max_position_embeddings=40, pad_token_id=0, **SMALL))
    seeded_weights_(model, seed)
    model.save_pretrained(folder)
    BertTokenizer(vocab={w: i for i, w in enumerate(WORDS)}).save_pretrained(folder)
    return folder


def save_vit(folder: Path) -> Path:
    from transformers import ViTConfig, ViTImageProcessor, ViTModel

    model = ViTModel(ViTConfig(image_size=16, patch_size=8, **SMALL))
    seeded_weights_(model, 1)
    model.save_pretrained(folder)
    ViTImageProcessor(size={"height": 16, "width": 16}).save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def bert(tmp_path_factory) -> Path:
    return save_text_model(tmp_path_factory.mktemp("bert"), "bert")


@pytest.fixture(scope="module")
def roberta(tmp_path_factory) -> Path:
    return save_text_model(tmp_path_factory.mktemp("roberta"), "roberta")


@pytest.fixture(scope="module")
def vit(tmp_path_factory) -> Path:
    return save_vit(tmp_path_factory.mktemp("vit"))


def images(n: int) -> np.ndarray:
    return np.random.default_rng(0).integers(0, 255, size=(n, 20, 20, 3), dtype=np.uint8)


def dataset_for(modality: str) -> Dataset:
    X = TEXTS if modality == "text" else images(8)
    return Dataset(f"tiny-{modality}", modality, X[:6], LABELS[:6], X[6:], LABELS[6:], ("a", "b"))


# ---------------------------------------------------------------- features
@pytest.mark.parametrize("arch", ["bert", "roberta", "vit"])
def test_linear_probe_features_are_cached_and_hit_the_second_time(arch, request, tmp_path, monkeypatch):
    folder = request.getfixturevalue(arch)
    modality = "image" if arch == "vit" else "text"
    ds = dataset_for(modality)
    bb = make_backbone(f"hf:{folder}", modality)
    cache = FeatureCache(tmp_path / "cache")
    F_train, F_test = cached_features(bb, ds, cache)
    again = cached_features(bb, ds, cache)
    assert (cache.misses, cache.hits) == (1, 1)
    assert F_train.shape == (6, 32) and F_test.shape == (2, 32) and F_train.dtype == np.float32
    assert np.isfinite(F_train).all() and np.array_equal(again[0], F_train)
    assert not np.allclose(F_train[0], F_train[1])  # different inputs, different features
    monkeypatch.setenv("ALTBENCH_CACHE_DIR", str(tmp_path / "cache"))  # linear-probe reads the same entry
    probe_train, _ = LinearProbe(backbone=f"hf:{folder}").prepare(ds)
    assert np.array_equal(probe_train, F_train)


def test_the_cache_key_holds_the_model_files_so_new_weights_miss(tmp_path):
    folder = save_text_model(tmp_path / "m", "bert", seed=0)
    ds, cache = dataset_for("text"), FeatureCache(tmp_path / "cache")
    before = cached_features(make_backbone(f"hf:{folder}", "text"), ds, cache)[0].copy()
    save_text_model(folder, "bert", seed=5)  # same path and config, new weights
    after = cached_features(make_backbone(f"hf:{folder}", "text"), ds, cache)[0]
    assert cache.misses == 2 and not np.allclose(before, after)


def test_every_field_is_part_of_the_cache_key(bert, tmp_path):
    ds, cache = dataset_for("text"), FeatureCache(tmp_path / "cache")
    mean = cached_features(make_backbone(f"hf:{bert}", "text"), ds, cache)[0]
    cls = cached_features(make_backbone(f"hf:{bert}", "text", pooling="cls"), ds, cache)[0]
    assert cache.misses == 2 and not np.allclose(mean, cls)


def test_string_and_mapping_forms_are_the_same_backbone(bert):
    assert make_backbone(f"hf:{bert}", "text", pooling="cls") == make_backbone("hf", "text", model=str(bert),
                                                                               pooling="cls")
    with pytest.raises(ValueError, match="give the model once"):
        make_backbone(f"hf:{bert}", "text", model="/elsewhere")


def test_features_do_not_depend_on_batching(bert):
    a = Hf(model=str(bert)).encode(TEXTS)
    b = Hf(model=str(bert), batch_size=3).encode(TEXTS)
    assert np.allclose(a, b, atol=1e-5)


def test_bundled_minilm_through_hf_equals_the_builtin_minilm():
    from altbench.backbones.text import MiniLm, minilm_path

    texts = np.array(["how old is the queen of england ?", "the soup was cold and bland .",
                      "what is the capital of france", "a much longer sentence " * 5], dtype=object)
    hf = make_backbone(f"hf:{minilm_path()}", "text")
    F_hf, F_builtin = hf.encode(texts), MiniLm().encode(texts)
    assert F_hf.shape == (4, 384)
    assert np.allclose(F_hf, F_builtin, atol=1e-5)


def test_sentence_transformers_folder_pooling_and_normalisation_are_read(bert, tmp_path):
    import shutil

    from transformers import AutoModel, AutoTokenizer

    folder = Path(shutil.copytree(bert, tmp_path / "st"))
    (folder / "1_Pooling").mkdir()
    (folder / "1_Pooling" / "config.json").write_text(json.dumps(
        {"word_embedding_dimension": 32, "pooling_mode_cls_token": True, "pooling_mode_mean_tokens": False}))
    (folder / "modules.json").write_text(json.dumps([
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"}]))
    enc = Hf(model=str(folder)).encoder()
    assert enc.pool is cls_pool and enc.normalize
    F = Hf(model=str(folder)).encode(TEXTS[:3])
    tok = AutoTokenizer.from_pretrained(folder)(list(TEXTS[:3]), padding=True, return_tensors="pt")
    with torch.no_grad():
        cls = AutoModel.from_pretrained(folder)(**tok).last_hidden_state[:, 0]
    assert np.allclose(F, torch.nn.functional.normalize(cls, dim=-1).numpy(), atol=1e-5)
    assert np.allclose(np.linalg.norm(F, axis=1), 1.0, atol=1e-5)


def more_architectures() -> dict:
    """name → (config, model class, tokenizer or image processor, inputs): one generic path for all."""
    import transformers as tf

    ids = dict(vocab_size=len(WORDS), pad_token_id=0, max_position_embeddings=40)
    processors = {"convnext": tf.ConvNextImageProcessor(size={"shortest_edge": 32}),
                  "dinov2": tf.BitImageProcessor(size={"shortest_edge": 16}, crop_size={"height": 16, "width": 16})}
    return {
        "deberta-v2": (tf.DebertaV2Config(**ids, **SMALL), tf.DebertaV2Model),
        "mpnet": (tf.MPNetConfig(**ids, **SMALL), tf.MPNetModel),
        "modernbert": (tf.ModernBertConfig(**ids, bos_token_id=2, eos_token_id=3, cls_token_id=2, sep_token_id=3,
                                           **SMALL), tf.ModernBertModel),
        "convnext": (tf.ConvNextConfig(hidden_sizes=[8, 16], depths=[1, 1], num_stages=2, image_size=32),
                     tf.ConvNextModel, processors["convnext"]),
        "dinov2": (tf.Dinov2Config(image_size=16, patch_size=8, **SMALL), tf.Dinov2Model, processors["dinov2"]),
    }


@pytest.mark.parametrize("arch", ["deberta-v2", "mpnet", "modernbert", "convnext", "dinov2"])
def test_more_architectures_encode_and_fine_tune_through_the_same_code(arch, tmp_path):
    from transformers import BertTokenizer

    from altbench.torchparts import use_generator

    config, model_cls, *prep = more_architectures()[arch]
    model = model_cls(config)
    seeded_weights_(model, 2)
    model.save_pretrained(tmp_path)
    (prep[0] if prep else BertTokenizer(vocab={w: i for i, w in enumerate(WORDS)})).save_pretrained(tmp_path)
    X = images(4) if prep else TEXTS[:4]
    bb = Hf(model=str(tmp_path), dropout=0.2)
    assert bb.modality == ("image" if prep else "text")
    F = bb.encode(X)
    assert F.shape[0] == 4 and np.isfinite(F).all()
    enc = bb.encoder()
    assert len(enc.layer_groups()) >= 1 + 2  # embeddings, then each of the 2 blocks (stages)
    use_generator(enc, torch.Generator().manual_seed(0))
    enc.train()
    state = torch.get_rng_state()
    enc(*enc.inputs(X)).sum().backward()
    assert torch.equal(state, torch.get_rng_state())  # training noise only from seeded generators


# ---------------------------------------------------------------- fine-tuning
def test_layer_groups_are_embeddings_each_layer_then_the_used_pooler(bert, vit):
    def groups(folder, **params):
        enc = Hf(model=str(folder), **params).encoder()
        found = enc.layer_groups()
        ids = [id(p) for g in found for p in g]
        assert len(ids) == len(set(ids)) and all(found)  # disjoint, none empty
        return found, enc

    mean, enc = groups(bert)  # mean pooling: the pooler is unused, so it is no group
    assert len(mean) == 1 + 2
    assert {id(p) for p in mean[0]} == {id(p) for p in enc.model.embeddings.parameters()}
    assert {id(p) for p in mean[2]} == {id(p) for p in enc.model.encoder.layer[1].parameters()}
    pooler, enc = groups(bert, pooling="pooler")
    assert len(pooler) == 1 + 2 + 1
    assert {id(p) for p in pooler[-1]} == {id(p) for p in enc.model.pooler.parameters()}
    image, _ = groups(vit)  # auto pooling of an image model: its pooler output
    assert len(image) == 1 + 2 + 1


def test_finetune_fits_a_tiny_bert_and_an_image_model(bert, vit):
    cfg = TrainConfig(epochs=1, batch_size=4, lr=1e-3)
    for folder, X in ((bert, TEXTS), (vit, images(8))):
        rng = np.random.default_rng(0)
        model = Finetune(backbone=f"hf:{folder}", train=cfg, min_steps=2).fit(
            X, LABELS, n_classes=2, rng_init=rng, rng_order=rng)
        p = model.predict_proba(X)
        assert p.shape == (8, 2) and np.allclose(p.sum(1), 1.0)
        assert model.embed(X).shape == (8, 32)


@pytest.mark.parametrize("method, params", [
    ("lp-ft", {"probe": {"epochs": 2, "batch_size": 4}, "finetune": {"epochs": 1, "batch_size": 4}, "min_steps": 2}),
    ("ulmfit", {"train": {"epochs": 2, "batch_size": 4, "lr": 1e-3}, "min_steps": 2, "lm_finetune": False}),
    ("setfit", {"num_iterations": 1, "contrastive": {"epochs": 1, "batch_size": 4}}),
])
def test_other_encoder_methods_take_an_hf_backbone(bert, method, params):
    from altbench.config import build_plugin, resolve_plugin
    from altbench.registry import METHODS

    spec = resolve_plugin(METHODS, {"name": method, "backbone": f"hf:{bert}", **params}, "methods.0")
    rng = np.random.default_rng(0)
    model = build_plugin(METHODS, spec).fit(TEXTS, LABELS, n_classes=2, rng_init=rng, rng_order=rng)
    p = model.predict_proba(TEXTS)
    assert p.shape == (8, 2) and np.allclose(p.sum(1), 1.0)


def test_training_forward_draws_dropout_from_seeded_generators_only(bert):
    from altbench.torchparts import SeededDropout, use_generator

    enc = Hf(model=str(bert), dropout=0.3).encoder()
    assert any(isinstance(m, SeededDropout) for m in enc.modules())
    assert not any(type(m) is torch.nn.Dropout for m in enc.modules())
    assert enc.model.config.attention_probs_dropout_prob == 0.0 and enc.model.config.hidden_dropout_prob == 0.3
    use_generator(enc, torch.Generator().manual_seed(0))
    enc.train()
    state = torch.get_rng_state()
    a = enc(*enc.inputs(TEXTS))
    assert torch.equal(state, torch.get_rng_state())  # torch's global generator untouched
    use_generator(enc, torch.Generator().manual_seed(0))
    assert torch.equal(a, enc(*enc.inputs(TEXTS)))  # same generator seed, same masks


# ---------------------------------------------------------------- names, checks, listing
def methods_override(method: str) -> list[str]:
    return [f"methods=[{method}]"]


@pytest.mark.parametrize("method, message", [
    ("{name: linear-probe, backbone: sentence-transformers/all-mpnet-base-v2}",
     "write `backbone: hf:sentence-transformers/all-mpnet-base-v2`"),
    ("{name: finetune, backbone: minilmm}", "unknown backbone 'minilmm'; did you mean minilm"),
    ("{name: ulmfit, backbone: 'hf:/no/such/folder'}", "folder /no/such/folder does not exist"),
    ("{name: linear-probe, backbone: hf}", "no model given; write `backbone: hf:<hub id or local folder>`"),
    ("{name: lp-ft, backbone: 'hf:not a valid id'}", "neither an existing folder nor a valid hub id"),
])
def test_bad_backbones_are_refused_when_the_config_is_read(method, message):
    with pytest.raises(ConfigError, match="methods.0") as err:
        load_experiment(None, methods_override(method))
    assert message in str(err.value) and "\n" not in str(err.value)


def test_folders_that_are_not_models_and_bad_params_are_refused(bert, tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="is not a transformers model"):
        load_experiment(None, methods_override(f"{{name: linear-probe, backbone: 'hf:{tmp_path / 'empty'}'}}"))
    with pytest.raises(ConfigError, match="unknown pooling 'max_tokens'"):
        load_experiment(None, methods_override(
            f"{{name: linear-probe, backbone: 'hf:{bert}', backbone_params: {{pooling: max_tokens}}}}"))
    with pytest.raises(ConfigError, match="backbone hf has no parameter 'pool'"):
        load_experiment(None, methods_override(
            f"{{name: linear-probe, backbone: 'hf:{bert}', backbone_params: {{pool: cls}}}}"))


def test_an_existing_folder_passes_in_both_spellings(bert):
    text = load_experiment(None, methods_override(f"{{name: linear-probe, backbone: 'hf:{bert}'}}"))
    mapping = load_experiment(None, methods_override(
        f"{{name: linear-probe, backbone: hf, backbone_params: {{model: '{bert}', pooling: cls}}}}"))
    assert text.runs[0].method.params["backbone"] == f"hf:{bert}"
    assert mapping.runs[0].method.params["backbone_params"]["pooling"] == "cls"


def test_a_hub_model_that_is_not_available_offline_says_what_to_do(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ConfigError, match="download it .* or pass a local folder"):
        load_experiment(None, methods_override("{name: linear-probe, backbone: 'hf:nobody/no-such-model'}"))
    with pytest.raises(HfModelError, match="download it .* or pass a local folder") as err:
        make_backbone("hf:nobody/no-such-model", "text")
    assert "\n" not in str(err.value)


def test_list_backbones_names_every_builtin_and_hf(capsys):
    from altbench.cli import main

    assert main(["list", "backbones"]) == 0
    listed = {line.split()[0] for line in capsys.readouterr().out.splitlines() if line.strip()}
    assert {"minilm", "glove-avg", "tfidf", "efficientnet-lite0", "hf"} <= listed
    assert BACKBONES.get("hf") is Hf


# ---------------------------------------------------------------- layering
def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    return found | {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}


def test_backbones_never_import_methods():
    import altbench.backbones as pkg

    for path in Path(pkg.__file__).parent.glob("*.py"):
        assert not any(m.startswith("altbench.methods") for m in imported_modules(path)), path.name


def test_shared_torch_pieces_live_in_torchparts_and_old_names_still_work():
    import altbench.methods.mlp as mlp
    import altbench.methods.torch_model as torch_model
    import altbench.torchparts as parts

    for name in ("SeededDropout", "use_generator", "init_linear_"):
        assert getattr(mlp, name) is getattr(parts, name) is getattr(torch_model, name)
    assert not any(m.startswith("altbench") for m in imported_modules(Path(parts.__file__)))


def test_image_size_overrides_the_processor_size(vit, tmp_path):
    config, model_cls, processor = more_architectures()["convnext"]  # a conv net takes any size
    model = model_cls(config)
    seeded_weights_(model, 3)
    model.save_pretrained(tmp_path)
    processor.save_pretrained(tmp_path)
    enc = Hf(model=str(tmp_path), image_size=24).encoder()
    assert enc.inputs(images(2))[0].shape == (2, 3, 24, 24) and enc(*enc.inputs(images(2))).shape == (2, 16)
    assert Hf(model=str(vit)).encoder().inputs(np.zeros((2, 20, 20), dtype=np.uint8))[0].shape == (2, 3, 16, 16)
