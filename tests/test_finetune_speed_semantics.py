"""What the fine-tuning speed-ups rely on: they change the work, not the numbers.

* cached tokenisation (:class:`altbench.backbones.tokens.TokenCache`) gives exactly
  the tokenizer's padded, truncated ids and mask;
* the pretrained copy (:func:`altbench.backbones.tokens.pretrained_copy`) has
  ``from_pretrained``'s weights, and training one copy leaves the next one pristine;
* dynamic padding (to the batch's longest row) gives each row the logits it has alone
  and padded to ``max_length``, within float tolerance;
* length-sorted inference returns rows in the original order and equals unsorted
  inference within float tolerance.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from altbench.backbones.text import MiniLmEncoder, minilm_path
from altbench.backbones.tokens import TokenCache, pretrained_copy, tokenizer_at
from altbench.methods.finetune import Finetune, as_model, encode_rows
from altbench.methods.nets import EncoderClassifier, HeadNet
from altbench.methods.torch_model import batched
from altbench.train import TrainConfig

TEXTS = np.asarray([
    "What is the capital of Australia ?",
    "Who wrote Hamlet ?",
    "How many miles is it from London to Paris by the tunnel under the English Channel , and how long is the "
    "train ride on a normal weekday morning ?",
    "Why is the sky blue ?",
    "Who wrote Hamlet ?",  # a repeat: served from the cache
    "When did the Berlin Wall fall ?",
    "What does NASA stand for ?",
    "Name a flying mammal .",
    "CNN is the abbreviation for what ?",
    "What is the melting point of copper in degrees Celsius at sea level ?",
], dtype=object)


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # conftest: one torch thread per module


@pytest.fixture(scope="module")
def encoder():
    return MiniLmEncoder(max_length=32, normalize=True, dropout=0.1).eval()


@pytest.mark.parametrize("max_length", [8, 32])  # 8 truncates most texts
def test_cached_tokenisation_equals_fresh_tokenisation(max_length):
    tok = tokenizer_at(minilm_path())
    fresh = tok([str(t) for t in TEXTS], padding=True, truncation=True, max_length=max_length, return_tensors="pt")
    cache = TokenCache(tok, max_length)
    for _ in range(2):  # the second pass reads the cache only
        ids, mask = cache.pad(TEXTS)
        assert torch.equal(ids, fresh["input_ids"]) and torch.equal(mask, fresh["attention_mask"])
    assert len(cache.ids) == len(set(TEXTS))
    assert np.array_equal(cache.lengths(TEXTS), fresh["attention_mask"].sum(1).numpy())


def test_pretrained_copy_has_the_checkpoint_weights_and_stays_pristine():
    from transformers import AutoModel

    ref = AutoModel.from_pretrained(minilm_path(), local_files_only=True, hidden_dropout_prob=0.1,
                                    attention_probs_dropout_prob=0.0).state_dict()
    a = pretrained_copy(minilm_path(), attention_probs_dropout_prob=0.0, hidden_dropout_prob=0.1)
    with torch.no_grad():
        for p in a.parameters():
            p.add_(1.0)  # as if trained
    b = pretrained_copy(minilm_path(), attention_probs_dropout_prob=0.0, hidden_dropout_prob=0.1)
    assert b.config.attention_probs_dropout_prob == 0.0 and b.config.hidden_dropout_prob == 0.1
    for name, w in b.state_dict().items():
        assert torch.equal(w, ref[name]), name
    assert not torch.equal(a.state_dict()["embeddings.word_embeddings.weight"],
                           ref["embeddings.word_embeddings.weight"])


def test_dynamic_padding_gives_the_logits_of_fixed_padding(encoder):
    texts = np.delete(TEXTS, 2)  # all shorter than 32 tokens
    tok = tokenizer_at(minilm_path())
    fixed = tok([str(t) for t in texts], padding="max_length", truncation=True, max_length=32, return_tensors="pt")
    with torch.inference_mode():
        padded_full = encoder.bert(input_ids=fixed["input_ids"], attention_mask=fixed["attention_mask"])
        ids, mask = encoder.inputs(texts)
        assert ids.shape[1] < 32  # dynamic: as wide as the longest text here
        dynamic = encoder(ids, mask)
        alone = torch.cat([encoder(*encoder.inputs(texts[i:i + 1])) for i in range(len(texts))])
    m = fixed["attention_mask"].unsqueeze(-1).float()
    pooled = torch.nn.functional.normalize((padded_full.last_hidden_state * m).sum(1) / m.sum(1), dim=-1)
    assert torch.allclose(dynamic, pooled, atol=1e-5)
    assert torch.allclose(dynamic, alone, atol=1e-5)


def test_length_sorted_batches_return_rows_in_the_original_order():
    X = np.arange(23, dtype=np.float32)[:, None] * np.ones((1, 3), np.float32)  # row i is all i
    keys = np.asarray([7, 1, 1, 9, 0] * 4 + [3, 3, 2])
    seen = []

    def fn(x):
        seen.append(x[:, 0].tolist())
        return x * 2

    out = batched(X, fn, torch.as_tensor, 5, torch.device("cpu"), keys)
    assert np.array_equal(out, X * 2)
    rows = [int(r) for b in seen for r in b]  # rows in the order they were computed
    assert rows == np.argsort(keys, kind="stable").tolist() and np.all(np.diff(keys[rows]) >= 0)
    assert [len(b) for b in seen] == [5, 5, 5, 5, 3]


def test_length_sorted_inference_equals_unsorted_inference(encoder):
    X = np.concatenate([TEXTS] * 7)  # 70 rows > batch 16: several batches
    head = HeadNet(encoder.dim, 6, 0.1, torch.Generator().manual_seed(0))
    sorted_model = as_model(EncoderClassifier(encoder, head), encoder, 6)
    sorted_model.batch_size = 16
    assert sorted_model.sort_keys is not None
    plain = as_model(EncoderClassifier(encoder, head), encoder, 6)
    plain.batch_size, plain.sort_key, plain.sort_keys = 16, None, None
    p = sorted_model.predict_proba(X)
    assert np.allclose(p, plain.predict_proba(X), atol=1e-6)
    assert np.allclose(p[:10], p[10:20], atol=1e-6)  # a row's output does not depend on its batch
    assert np.allclose(sorted_model.embed(X), plain.embed(X), atol=1e-5)
    assert np.allclose(encode_rows(encoder, X, batch_size=16), encoder(*encoder.inputs(X)).detach().numpy(),
                       atol=1e-5)


def test_refits_start_from_the_checkpoint_every_time():
    """The per-process checkpoint copy is never trained: the same fit twice gives the same model."""
    ft = Finetune(backbone_params={"max_length": 16}, min_steps=2, train=TrainConfig(epochs=1, batch_size=8, lr=1e-3))
    y = np.asarray([0, 1, 2, 3, 1, 4, 5, 0, 2, 3])

    def fit():
        return ft.fit(TEXTS, y, n_classes=6, rng_init=np.random.default_rng(0), rng_order=np.random.default_rng(1))

    first, second = fit(), fit()
    assert np.array_equal(first.predict_proba(TEXTS), second.predict_proba(TEXTS))
    third = ft.fit(TEXTS, y, n_classes=6, rng_init=np.random.default_rng(0), rng_order=np.random.default_rng(2))
    assert not np.array_equal(first.predict_proba(TEXTS), third.predict_proba(TEXTS))
