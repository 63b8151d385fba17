"""Transfer methods: how a model is built and fitted from the labelled set.

A method plugin is a frozen dataclass (its fields are its config) with::

    fit(X, y, *, n_classes, rng_init, rng_order) -> Model

and optionally ``prepare(dataset) -> (X_train, X_test)`` that turns raw
inputs into what ``fit`` consumes (e.g. cached frozen-backbone features); by
default the raw features pass through.  The returned model must give
``predict_proba``; ``predict_proba_mc``, ``embed`` and ``grad_embed`` are
optional capabilities that strategies can ask for through the ModelView.
"""

from __future__ import annotations

from typing import Any

from altbench.datasets import Dataset


def prepare_inputs(method: Any, dataset: Dataset) -> tuple[Any, Any]:
    """The (train, test) inputs ``method`` fits and predicts on."""
    prep = getattr(method, "prepare", None)
    return prep(dataset) if prep is not None else (dataset.X_train, dataset.X_test)
