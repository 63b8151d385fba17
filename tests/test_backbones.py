"""Backbones load offline and compute what their papers say they compute."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from altbench.backbones import BACKBONES, make_backbone
from altbench.backbones.efficientnet import (EGYPTIAN_CAT, EfficientNetLite0, pretrained_lite0,
                                          rename_lukemelas_to_timm, to_tensor, weights_path)
from altbench.backbones.text import GloveAvg, MiniLm, Tfidf, glove_table


def test_efficientnet_key_renaming_is_one_to_one_and_loads_strictly():
    raw = torch.load(weights_path(), map_location="cpu", weights_only=True)
    renamed = rename_lukemelas_to_timm(raw)
    assert len(renamed) == len(raw) == 296
    assert set(renamed) == set(EfficientNetLite0().state_dict())
    assert renamed["blocks.2.1.conv_pw.weight"] is raw["_blocks.4._expand_conv.weight"]
    assert renamed["blocks.0.0.conv_pw.weight"] is raw["_blocks.0._project_conv.weight"]
    assert renamed["classifier.weight"] is raw["_fc.weight"]


def test_efficientnet_predicts_egyptian_cat_on_bundled_photo():
    from skimage.data import chelsea  # public-domain cat photo shipped with scikit-image

    model = pretrained_lite0()
    with torch.no_grad():
        p = model(to_tensor(chelsea()[None], 224)).softmax(-1)[0]
    assert int(p.argmax()) == EGYPTIAN_CAT and float(p[EGYPTIAN_CAT]) > 0.5


def test_efficientnet_features_grey_and_colour_images():
    bb = make_backbone("efficientnet-lite0", "image", image_size=64)
    grey = np.random.default_rng(0).integers(0, 255, size=(3, 28, 28), dtype=np.uint8)
    F = bb.encode(grey)
    assert F.shape == (3, 1280) and F.dtype == np.float32 and np.isfinite(F).all()


@pytest.fixture(scope="module")
def minilm():
    return MiniLm(max_length=32)


def test_minilm_sentence_embeddings(minilm):
    F = minilm.encode(np.array(["how old is the queen of england ?", "what is the age of britain 's queen ?",
                                "the soup was cold and bland ."], dtype=object))
    assert F.shape == (3, 384) and np.allclose(np.linalg.norm(F, axis=1), 1.0, atol=1e-5)
    assert F[0] @ F[1] > F[0] @ F[2] + 0.3  # paraphrases are close


def test_minilm_encoding_does_not_depend_on_batching(minilm):
    texts = np.array([f"question number {i} about {'cats ' * (i % 5)}?" for i in range(9)], dtype=object)
    a = minilm.encode(texts)
    b = MiniLm(max_length=32, batch_size=2).encode(texts)
    assert np.allclose(a, b, atol=1e-5)


def test_glove_average_is_the_mean_of_word_vectors():
    vocab, vectors = glove_table()
    F = GloveAvg().encode(np.array(["The cat sat", "zzzqqqxx"], dtype=object))
    assert F.shape == (2, 50)
    assert np.allclose(F[0], np.mean([vectors[vocab[w]] for w in ("the", "cat", "sat")], axis=0), atol=1e-6)
    assert np.all(F[1] == 0)  # no known word
    good, great, table = (vectors[vocab[w]] for w in ("good", "great", "table"))
    cos = lambda a, b: a @ b / np.linalg.norm(a) / np.linalg.norm(b)  # noqa: E731
    assert cos(good, great) > cos(good, table)


def test_tfidf_fits_on_the_train_pool_only():
    train = np.array(["red apple", "green apple", "red car"], dtype=object)
    test = np.array(["blue whale"], dtype=object)
    F_train, F_test = Tfidf(max_features=50, ngram_max=1).encode_split(train, test)
    assert F_train.shape == (3, 4) and np.all(F_test == 0)  # unseen words have no column


def test_backbone_registry_and_errors():
    assert set(BACKBONES.names()) >= {"minilm", "glove-avg", "tfidf", "efficientnet-lite0"}
    with pytest.raises(ValueError, match="no pretrained backbone"):
        make_backbone("auto", "tabular")
    with pytest.raises(ValueError, match="for image data"):
        make_backbone("efficientnet-lite0", "text")
