"""The built-in plugin modules, per plugin kind: altbench's one registration path.

A built-in plugin registers itself with its registry's decorator
(``@STRATEGIES.register``) in one of the modules below, and nowhere else:
there is no second declaration in ``pyproject.toml``.  Registries find the
names without importing these modules (a static read of their decorators, see
:mod:`altbench.plugin_source`), so ``altbench list`` imports no torch;
:func:`load` imports a kind's modules, which registers all of them.

Adding a plugin to an existing module touches that module only; a new module
adds one line here.  Third-party plugins use the entry-point groups
``altbench.<kind>`` of their own ``pyproject.toml`` instead.
"""

from __future__ import annotations

import importlib

MODULES: dict[str, tuple[str, ...]] = {
    "strategies": tuple(f"altbench.strategies.{m}" for m in (
        "uncertainty", "mc_dropout", "batchbald", "stochastic", "coreset", "us_c", "badge", "cluster_margin",
        "typiclust", "probcover", "cal", "dal", "alfamix", "egl", "density", "qbc", "class_balanced",
        "cost_aware")),
    "methods": tuple(f"altbench.methods.{m}" for m in (
        "sklearn_models", "mlp", "transfer", "finetune", "ulmfit", "setfit", "self_training")),
    "datasets": tuple(f"altbench.datasets.{m}" for m in (
        "sklearn_sets", "text", "tabular", "images", "hub", "user", "user_hf", "imbalance")),
    "backbones": tuple(f"altbench.backbones.{m}" for m in ("text", "efficientnet", "hf")),
    "cold_start": ("altbench.coldstart",),
    "stopping": ("altbench.stopping",),
    "metrics": ("altbench.metric_registry",),
    "executors": ("altbench.executors",),
}


def modules(kind: str) -> tuple[str, ...]:
    """The built-in modules of plugin ``kind`` (none for a kind altbench ships no plugins of)."""
    return MODULES.get(kind, ())


def load(kind: str) -> None:
    """Import every built-in module of ``kind``; their decorators register the plugins."""
    for module in modules(kind):
        importlib.import_module(module)
