"""A tiny random BERT (hidden 32, 2 layers, 24-word WordPiece vocab) saved with save_pretrained,
standing in for all-MiniLM-L6-v2 so encoder-training tests run in seconds on CPU.

``use_tiny_minilm(monkeypatch, path)`` makes the ``minilm`` backbone load it.
Weights come from a seeded ``torch.Generator`` (the constructor's own global-RNG
draws are overwritten), so the model is the same in every session.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from altbench.datasets import Dataset

WORDS = ("the a movie film plot actor actress music scene ending was is very quite not good bad great "
         "awful boring").split()
CANARY = "zqxcanary"  # planted in test rows only; never in the vocabulary's pool texts


def tiny_bert(path: Path, mlm_head: bool = False) -> Path:
    """Write a tiny BERT (``BertForMaskedLM`` when ``mlm_head``, else a head-less ``BertModel``) to ``path``."""
    from transformers import BertConfig, BertForMaskedLM, BertModel, BertTokenizer

    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS]
    path.mkdir(parents=True, exist_ok=True)
    (path / "vocab.txt").write_text("\n".join(vocab) + "\n")
    tok = BertTokenizer(vocab=str(path / "vocab.txt"), do_lower_case=True)
    cfg = BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                     intermediate_size=64, max_position_embeddings=64)
    model = (BertForMaskedLM if mlm_head else BertModel)(cfg)
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.ndim >= 2:
                p.copy_(torch.randn(p.shape, generator=g) * 0.02)
            elif name.endswith("LayerNorm.weight"):
                p.fill_(1.0)
            else:
                p.zero_()
    model.save_pretrained(path)
    tok.save_pretrained(path)
    return path


def use_tiny_minilm(monkeypatch, path: Path) -> None:
    """The ``minilm`` backbone loads the tiny BERT at ``path`` (32-d features)."""
    from altbench.backbones import text

    monkeypatch.setattr(text, "minilm_path", lambda: str(path))
    monkeypatch.setattr(text.MiniLmEncoder, "dim", 32)


def tiny_minilm_with_cache(monkeypatch, tmp_path_factory) -> Path:
    """A fresh tiny BERT (no MLM head) as the ``minilm`` backbone, with its own empty cache directory."""
    path = tiny_bert(tmp_path_factory.mktemp("bert") / "plain")
    use_tiny_minilm(monkeypatch, path)
    monkeypatch.setenv("ALTBENCH_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
    return path


def pool_dataset(n_train: int = 48, n_test: int = 16, seed: int = 0, name: str = "tiny-text") -> Dataset:
    """Two-class text data over WORDS: class 1 texts say "good"/"great", class 0 "bad"/"awful";
    every test text carries :data:`CANARY`."""
    rng = np.random.default_rng(seed)

    def texts(n: int, canary: bool) -> tuple[np.ndarray, np.ndarray]:
        y = np.arange(n) % 2
        out = []
        for label in y:
            words = list(rng.choice(WORDS[:12], size=5)) + [("good", "great")[rng.integers(2)] if label
                                                            else ("bad", "awful")[rng.integers(2)]]
            out.append(" ".join(words + ([CANARY] if canary else [])))
        return np.asarray(out, dtype=object), y.astype(np.int64)

    X_train, y_train = texts(n_train, False)
    X_test, y_test = texts(n_test, True)
    return Dataset(name, "text", X_train, y_train, X_test, y_test, ("neg", "pos"))
