"""Validation labels charged to the budget: the loop's side of ``budget.validation: K``.

Munjal et al. 2022 ("Towards Robust and Reproducible Active Learning using
Neural Networks", CVPR) show that tuning the model each round on labelled
validation data changes which strategy looks best.  Those labels are not free,
so here they are bought from the pool and counted like any other label:

* once per run, after the initial set is drawn, K pool rows are drawn
  uniformly from the rest with the ``"validation"`` stream (the other streams
  draw what they drew without it); they leave the pool, are never queried,
  never trained on and never shown to a strategy;
* every round's labelled-set sizes shrink by K (total 200, validation 20:
  the last model trains on 180 labels), and the record's ``n_labelled`` counts
  training plus validation labels, so curves plot the labels paid for; the
  column ``n_validation`` says how many of them are validation labels;
* a method that declares ``uses_validation = True`` gets them as
  ``fit(..., validation=(X_val, y_val))`` (X_val (K, ...), y_val (K,)); a tuned
  method (:mod:`altbench.methods.tuning`) picks its grid point on them and its
  choice becomes the ``chosen`` column (a JSON string).

With K = 0 (the default) nothing here draws a number or adds a column, so runs
keep their ids and their byte-identical results.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import numpy as np

from altbench.loop import Budget, BudgetError

__all__ = ["check_budget", "check_early_stop", "draw_validation", "round_columns", "training_sizes"]


def training_sizes(budget: Budget, n_initial: int) -> list[int]:
    """Training-set sizes per round: ``budget.sizes`` with K validation labels taken off every size
    (``schedule`` entries and ``total`` count all labels, validation included)."""
    k = budget.validation
    if not k:
        return budget.sizes(n_initial)
    if (budget.schedule[-1] if budget.schedule else budget.total) - k < n_initial:
        raise BudgetError(f"budget.validation={k} leaves fewer training labels than the initial set "
                          f"({n_initial}); lower budget.validation or raise budget.total")
    schedule = tuple(s - k for s in budget.schedule) if budget.schedule else None
    return dataclasses.replace(budget, total=budget.total - k, schedule=schedule, validation=0).sizes(n_initial)


def draw_validation(n: int, labelled: np.ndarray, k: int, rng_of) -> np.ndarray:
    """(k,) sorted pool rows drawn uniformly from the n train rows outside ``labelled``;
    ``rng_of()`` gives the ``"validation"`` stream's generator, asked for only when k > 0."""
    if not k:
        return np.zeros(0, dtype=np.int64)
    rest = np.setdiff1d(np.arange(n), labelled)  # (n - n0,)
    if k > len(rest):
        raise BudgetError(f"budget.validation={k} exceeds the {len(rest)} train rows left after the initial "
                          "set; lower budget.validation")
    return np.sort(rng_of().choice(rest, size=k, replace=False)).astype(np.int64)


def round_columns(model: Any, val: np.ndarray) -> dict:
    """The round's validation columns: ``train_steps`` (the optimizer steps a torch fit took, early
    stopping included; run record only, never the results file); without validation labels nothing
    else, with them ``n_validation`` and, for a tuned model, ``chosen`` (its ``chosen_`` as sorted-key JSON)."""
    steps = getattr(model, "train_steps_", None)
    cols: dict = {} if steps is None else {"train_steps": int(steps)}
    if not len(val):
        return cols
    cols["n_validation"] = int(len(val))
    chosen = getattr(model, "chosen_", None)
    if chosen is not None:
        cols["chosen"] = json.dumps(chosen, sort_keys=True, separators=(",", ":"))
    return cols


def check_budget(budget: Budget, source: str) -> None:
    """A ConfigError (one line) when ``budget.validation`` leaves no room for training labels."""
    from altbench.strict import ConfigError

    k = budget.validation
    last = budget.schedule[-1] if budget.schedule else budget.total
    n0 = budget.initial if budget.initial_per_class is None else budget.initial_per_class
    if k and last - k < n0:
        raise ConfigError(f"{source}: budget.validation={k} leaves {last - k} training labels of "
                          f"{last}, fewer than the initial set ({n0}); lower validation or raise total")


def val_loss_settings(params: Any, prefix: str = "") -> list[str]:
    """Dotted keys of the ``early_stop`` settings inside resolved method ``params`` that monitor val_loss."""
    if not isinstance(params, dict):
        return []
    found = [prefix + "early_stop"] if (params.get("early_stop") or {}).get("monitor") == "val_loss" else []
    return found + [k for key, v in params.items() for k in val_loss_settings(v, f"{prefix}{key}.")]


def check_early_stop(methods: list, k: int, source: str) -> None:
    """A ConfigError (one line) when a method stops early on val_loss and ``budget.validation`` is 0,
    or when the method cannot hand validation rows to that training stage (no ``uses_validation``)."""
    from altbench.config import build_plugin
    from altbench.registry import METHODS
    from altbench.strict import ConfigError

    for i, spec in enumerate(methods):
        keys = val_loss_settings(spec.params)
        if not keys:
            continue
        if not k:
            raise ConfigError(f"{source}: methods.{i}.{keys[0]}.monitor is val_loss but budget.validation is 0; "
                              "set budget.validation (e.g. budget.validation=20) or monitor: train_loss")
        method = build_plugin(METHODS, spec)
        method = getattr(method, "base", method)  # a tune grid: the method as written trains
        if not getattr(method, "uses_validation", False):
            raise ConfigError(f"{source}: methods.{i}.{keys[0]}.monitor is val_loss but {spec.name!r} does not "
                              "pass validation rows to that stage (finetune, lp-ft and ulmfit do); "
                              "write monitor: train_loss")
