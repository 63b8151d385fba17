"""Shared pieces of the wrapper strategies (``class_balanced``, ``cost_aware``): the wrapped base.

A wrapper names its base strategy like an experiment does (``base: margin``,
its settings in ``base_params``); :func:`base_strategy` builds it through the
registry.  A strategy may define ``for_pool(X_train) -> strategy``: the loop
calls it once per run with the raw train features (never labels), so a
wrapper can compute facts known before labelling, such as per-example
costs; :func:`bind` passes that on to a wrapped base.
"""

from __future__ import annotations

from typing import Any

WRAPPERS = ("class_balanced", "cost_aware")  # strategies that wrap another (never their own base)


def base_strategy(name: str, params: dict, wrapper: str) -> Any:
    """The base strategy ``name`` built with ``params`` (one-line errors for unknown names or keys)."""
    from altbench.config import build_plugin, resolve_plugin
    from altbench.registry import STRATEGIES

    if name == wrapper:
        raise ValueError(f"{wrapper} cannot wrap itself; set base to a strategy such as margin")
    return build_plugin(STRATEGIES, resolve_plugin(STRATEGIES, {"name": name, **params}, f"{wrapper}.base"))


def bind(strategy: Any, X_train: Any) -> Any:
    """``strategy.for_pool(X_train)`` if it has one, else ``strategy`` itself."""
    return strategy.for_pool(X_train) if hasattr(strategy, "for_pool") else strategy
