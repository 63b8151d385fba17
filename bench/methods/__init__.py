"""Transfer methods: how a model is built and fitted from the labelled set.

A method plugin is a frozen dataclass (its fields are its config) with::

    fit(X, y, *, n_classes, rng_init, rng_order) -> Model

and optionally ``prepare(dataset) -> (X_train, X_test)`` that turns raw
inputs into what ``fit`` consumes (e.g. cached frozen-backbone features); by
default the raw features pass through.  The returned model must give
``predict_proba``; ``predict_proba_mc``, ``embed`` and ``grad_embed`` are
optional capabilities that strategies can ask for through the ModelView.

A method that names a pool adaptation (an ``adapt: {name: mlm, ...}`` field,
or ulmfit's stage 2 through ``adaptation()``; see :mod:`altbench.adapt`)
gets it here, before ``prepare``: the encoder is adapted on
``dataset.X_train`` (the pool, never the test split), cached on disk, and
the handle is attached as ``method.adapted_`` (learned state, scikit-learn's
trailing underscore; the config fields, hence run ids, are untouched).
``fit`` and ``prepare`` load it through :func:`altbench.adapt.load_adapted` /
:func:`altbench.adapt.adapted_backbone`.
"""

from __future__ import annotations

from typing import Any

from altbench.adapt import AdaptCache, adapt_pool, adaptation_of, adapter_config
from altbench.datasets import Dataset
from altbench.plugin_params import DICT_FIELD_CHECKS
from altbench.strict import ConfigError


def prepare_inputs(method: Any, dataset: Dataset, streams: Any = None,
                   cache: AdaptCache | None = None) -> tuple[Any, Any]:
    """The (train, test) inputs ``method`` fits and predicts on (adapting its encoder first
    when it asks for it; ``streams``, the run's :class:`altbench.seeds.Streams`, seed that)."""
    attach_adaptation(method, dataset, streams, cache)
    prep = getattr(method, "prepare", None)
    return prep(dataset) if prep is not None else (dataset.X_train, dataset.X_test)


def attach_adaptation(method: Any, dataset: Dataset, streams: Any, cache: AdaptCache | None = None) -> None:
    """Set ``method.adapted_`` to its encoder adapted on the train pool (no-op without an adaptation)."""
    cfg = adaptation_of(method, dataset.modality)
    if cfg is None:
        return
    if streams is None:
        raise ValueError(f"{type(method).__name__} adapts its encoder on the pool and needs the run's random "
                         "streams; call prepare_inputs(method, dataset, Streams(seed))")
    from altbench.methods.transfer import backbone_for

    bb = backbone_for(method.backbone, method.backbone_params, dataset.modality)
    object.__setattr__(method, "adapted_", adapt_pool(bb, cfg, dataset, streams, cache))


def _check_adapt(owner: dict, value: dict, where: str) -> None:
    """An ``adapt`` mapping must name a registered adapter and only its parameters."""
    try:
        adapter_config(value)
    except (ValueError, TypeError, LookupError) as exc:
        raise ConfigError(f"{where}: {str(exc).splitlines()[0]}") from None


DICT_FIELD_CHECKS.setdefault("adapt", _check_adapt)  # checked when a config is resolved, before any run
