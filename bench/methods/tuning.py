"""Per-round hyperparameter selection on validation labels that the budget pays for.

Munjal et al. 2022 ("Towards Robust and Reproducible Active Learning using
Neural Networks", CVPR) tune the model in every AL round on a labelled
validation set and find that this changes which strategy wins.  Here the
validation set is bought from the pool (``budget.validation: K``, see
:mod:`altbench.validation`), so the tuning's price shows on the curves.

Any method entry takes a ``tune`` grid::

    methods: [{name: logreg, tune: {C: [0.1, 1, 10]}},
              {name: mlp, tune: {train.lr: [1e-3, 1e-2], hidden: [[64], [256]]}}]

Each round, one candidate per grid point (the product of the lists; a dotted
key reaches a nested setting) is fitted on the training labels X (n, ...),
y (n,) and scored by accuracy on the validation labels X_val (K, ...), y_val
(K,); the best one is kept (ties: the earliest grid point, keys in sorted
order).  Every candidate fits with copies of the same ``rng_init`` /
``rng_order``, so the grid point is the only difference between them (and a
one-point grid reproduces the untuned model).  The returned model records
its point in ``chosen_`` (the loop's ``chosen`` column) and its validation
accuracy in ``validation_accuracy_``.

Features come from the method as written (its ``prepare``, its pool
adaptation, computed once per run): tune fit-time settings (C, learning
rate, epochs, head size), not the backbone.
"""

from __future__ import annotations

import copy
import dataclasses
import itertools
import json
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from altbench import plugin_params
from altbench.strict import ConfigError

__all__ = ["Tuned", "build_tuned", "grid_points", "resolve_method"]

TUNE_KEY = "tune"  # the method-entry key holding the grid
OWN_FIELDS = ("base", "candidates", "points")  # Tuned's own attributes (never delegated)


def grid_points(grid: dict[str, list]) -> list[dict]:
    """Every grid point as {key: value}: the product of the value lists, keys in sorted order."""
    keys = sorted(grid)
    return [dict(zip(keys, values)) for values in itertools.product(*(grid[k] for k in keys))]


def with_point(params: dict, point: dict) -> dict:
    """A deep copy of ``params`` with each (possibly dotted) key of ``point`` set."""
    out = copy.deepcopy(params)
    for key, value in point.items():
        *parents, last = key.split(".")
        node = out
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = value
    return out


def check_grid(plugin: Any, params: dict, grid: Any, where: str, name: str) -> dict[str, list]:
    """The grid with each value as the method resolves it, or a one-line ConfigError
    (not a mapping of non-empty lists, a key that is not a field of the method, a bad value)."""
    fields = [f.name for f in dataclasses.fields(plugin)] if plugin_params.is_config_class(plugin) else []
    if not isinstance(grid, dict) or not grid or not all(isinstance(v, list) and v for v in grid.values()):
        raise ConfigError(f"{where}: a grid maps settings of {name} to non-empty lists; write e.g. "
                          f"`tune: {{{(fields or ['C'])[0]}: [0.1, 1, 10]}}`")
    for key in grid:
        if not isinstance(key, str) or key.split(".")[0] not in fields:
            raise ConfigError(f"{where}: {key!r} is not a setting of method {name}; tune one of: "
                              f"{', '.join(fields) or '(it has none)'}")
    out: dict[str, list] = {k: [] for k in sorted(grid)}
    for key in out:
        for value in grid[key]:
            resolved = plugin_params.resolve_params(plugin, with_point(params, {key: value}), where, name)
            out[key].append(_dig(resolved, key, value))
    return out


def _dig(params: dict, dotted: str, default: Any) -> Any:
    """``params`` at a dotted key, or ``default`` where it is absent (an ID_IF_SET field at its default)."""
    node: Any = params
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return default
        node = node[part]
    return node


def resolve_method(item: Any, where: str, validation: int):
    """The PluginSpec of a method entry; an entry with ``tune`` keeps its checked grid in
    ``params["tune"]`` (so in the run id and label) and needs ``validation`` > 0."""
    from altbench.config import resolve_plugin
    from altbench.registry import METHODS

    if not (isinstance(item, dict) and TUNE_KEY in item):
        return resolve_plugin(METHODS, item, where)
    params = dict(item)
    grid = params.pop(TUNE_KEY)
    spec = resolve_plugin(METHODS, params, where)
    if validation <= 0:
        raise ConfigError(f"{where}: tune picks settings on validation labels, and there are none; "
                          "set budget.validation (e.g. budget.validation=20) or drop tune")
    grid = check_grid(METHODS.get(spec.name), spec.params, grid, f"{where}.tune", spec.name)
    return dataclasses.replace(spec, params={**spec.params, TUNE_KEY: grid}, label=_tagged(spec.label, grid),
                               shown=spec.shown and _tagged(spec.shown, grid))


def _tagged(label: str, grid: dict) -> str:
    """``label`` with ``tune=<grid JSON>`` added to its parameter list."""
    tag = f"{TUNE_KEY}={json.dumps(grid, sort_keys=True, separators=(',', ':'))}"
    return f"{label[:-1]},{tag})" if label.endswith(")") else f"{label}({tag})"


def build_tuned(plugin: Any, params: dict) -> Tuned:
    """The :class:`Tuned` method of resolved ``params`` holding a ``tune`` grid."""
    params = dict(params)
    points = grid_points(params.pop(TUNE_KEY))
    return Tuned(plugin_params.build(plugin, params),
                 tuple(plugin_params.build(plugin, with_point(params, p)) for p in points), tuple(points))


@dataclass(frozen=True)
class Tuned:
    """A method fitted once per grid point each round; the best on the validation labels is kept
    (per-round tuning of Munjal et al. 2022, on labels charged to the budget)."""

    base: Any  # the method as written: features, pool adaptation, capabilities
    candidates: tuple  # (P,) the method at each grid point
    points: tuple  # (P,) the grid points, {key: value}
    uses_validation: ClassVar[bool] = True  # the loop passes fit(..., validation=(X_val, y_val))

    @property
    def uses_pool(self) -> bool:
        return bool(getattr(self.base, "uses_pool", False))

    def __getattr__(self, name: str) -> Any:  # settings the harness reads (adapt, backbone, ...) are the base's
        if name.startswith("_") or name in OWN_FIELDS:
            raise AttributeError(name)
        return getattr(self.base, name)

    def prepare(self, dataset) -> tuple[Any, Any]:
        """The base method's (train, test) inputs (its adaptation, if any, shared first)."""
        share_learned(self, self.base)
        prep = getattr(self.base, "prepare", None)
        return prep(dataset) if prep is not None else (dataset.X_train, dataset.X_test)

    def fit(self, X, y, *, n_classes: int, rng_init: np.random.Generator, rng_order: np.random.Generator,
            validation: tuple[Any, np.ndarray] | None = None, **extra: Any) -> Any:
        """The candidate with the best accuracy on ``validation`` = (X_val (K, ...), y_val (K,)),
        fitted on (X (n, ...), y (n,)); ``extra`` (the pool) passes through."""
        if validation is None:
            raise ValueError("a tuned method needs validation labels; set budget.validation (e.g. 20)")
        X_val, y_val = validation
        best: tuple[float, dict, Any] | None = None
        for point, cand in zip(self.points, self.candidates):
            share_learned(self, cand)
            # a candidate that stops early on val_loss reads the same rows (they also pick the point)
            own = {"validation": validation} if getattr(cand, "uses_validation", False) else {}
            model = cand.fit(X, y, n_classes=n_classes, rng_init=copy.deepcopy(rng_init),
                             rng_order=copy.deepcopy(rng_order), **extra, **own)
            score = validation_accuracy(model, X_val, y_val, n_classes)
            if best is None or score > best[0]:
                best = (score, point, model)
        score, point, model = best
        model.chosen_, model.validation_accuracy_ = dict(point), score
        return model


def share_learned(source: Any, target: Any) -> None:
    """Copy ``source``'s learned state (attributes ending in ``_``, e.g. ``adapted_``) onto ``target``."""
    for key, value in vars(source).items():
        if key.endswith("_") and not key.startswith("_"):
            object.__setattr__(target, key, value)


def validation_accuracy(model: Any, X_val: Any, y_val: np.ndarray, n_classes: int) -> float:
    """Accuracy of ``model`` on (X_val, y_val), predicting as the loop does on the test set."""
    from altbench.loop import predict_test_labels  # late: the loop imports the methods package

    y_val = np.asarray(y_val, dtype=np.int64)
    pred = predict_test_labels(model, X_val, len(y_val), n_classes, "tuned method", " on the validation labels")
    return float(np.mean(pred == y_val))
