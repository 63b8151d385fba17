"""Per-process caches for fine-tuned text encoders: token ids per text, pretrained weights per checkpoint.

An AL run re-fits its encoder every round and predicts the whole pool each
time.  Without these caches every round re-tokenises the pool and the
test set and re-reads the checkpoint from disk (``from_pretrained``).

* :class:`TokenCache`: text → its (L,) int32 token ids (special tokens added,
  truncated to ``max_length``), tokenised once per process; :meth:`TokenCache.pad`
  pads a batch to its longest row (dynamic padding; callers sort rows by
  :meth:`TokenCache.lengths` so that a batch holds similar lengths).  The
  result is exactly what the tokenizer returns with ``padding=True, truncation=True``.
* :func:`pretrained_copy`: a fresh copy of a checkpoint's model, read from disk
  once per process and configuration; the copy's weights equal ``from_pretrained``'s.
"""

from __future__ import annotations

import copy
import functools
from typing import Any

import numpy as np
import torch

MAX_CACHED_TEXTS = 2_000_000  # a process that sees more distinct texts starts its cache afresh


@functools.cache
def tokenizer_at(path: str) -> Any:
    """The (fast) tokenizer in local folder ``path``, loaded once per process."""
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(path, local_files_only=True)


@functools.cache
def _pretrained(path: str, config: tuple[tuple[str, Any], ...]) -> torch.nn.Module:
    from transformers import AutoModel

    return AutoModel.from_pretrained(path, local_files_only=True, **dict(config)).eval()


def pretrained_copy(path: str, **config: Any) -> torch.nn.Module:
    """A trainable copy of ``AutoModel.from_pretrained(path, **config)``; the checkpoint
    is read once per process (and config), every call returns new parameters."""
    return copy.deepcopy(_pretrained(path, tuple(sorted(config.items()))))


class TokenCache:
    """Token ids of texts under one tokenizer and ``max_length``, each text tokenised once."""

    def __init__(self, tokenizer: Any, max_length: int):
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.ids: dict[str, np.ndarray] = {}  # text → (L,) int32 ids

    def _add(self, texts: list[str]) -> None:
        missing = list(dict.fromkeys(t for t in texts if t not in self.ids))
        if not missing:
            return
        if len(self.ids) + len(missing) > MAX_CACHED_TEXTS:
            self.ids = {}
        enc = self.tokenizer(missing, truncation=True, max_length=self.max_length)
        self.ids.update((t, np.asarray(row, dtype=np.int32)) for t, row in zip(missing, enc["input_ids"]))

    def rows(self, texts) -> list[np.ndarray]:
        """The (L_i,) ids of each text."""
        texts = [str(t) for t in texts]
        self._add(texts)
        return [self.ids[t] for t in texts]

    def lengths(self, texts) -> np.ndarray:
        """(n,) token counts (special tokens included)."""
        return np.fromiter((len(r) for r in self.rows(texts)), dtype=np.int64, count=len(texts))

    def pad(self, texts) -> tuple[torch.Tensor, torch.Tensor]:
        """(ids (b, L), attention mask (b, L)) int64, right-padded to the longest row of the batch."""
        rows = self.rows(texts)
        width = max((len(r) for r in rows), default=0)
        ids = np.full((len(rows), width), self.tokenizer.pad_token_id or 0, dtype=np.int64)
        mask = np.zeros((len(rows), width), dtype=np.int64)
        for i, r in enumerate(rows):
            ids[i, :len(r)] = r
            mask[i, :len(r)] = 1
        return torch.from_numpy(ids), torch.from_numpy(mask)


@functools.cache
def token_cache(path: str, max_length: int) -> TokenCache:
    """The process's token cache for the tokenizer in ``path`` at ``max_length``."""
    return TokenCache(tokenizer_at(path), max_length)
