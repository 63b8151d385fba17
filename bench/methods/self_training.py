"""Self-training around any transfer method: confident pseudo-labels from the unlabelled pool.

Self-training in the sense of Yarowsky 1995 ("Unsupervised Word Sense
Disambiguation Rivaling Supervised Methods", ACL): fit on the labels, label
the unlabelled examples the model is sure of, refit on both, repeat.  The
pseudo-labels are the model's argmax, kept when its probability reaches a
threshold (the hard "pseudo-label" of Lee 2013, "Pseudo-Label: The Simple
and Efficient Semi-Supervised Learning Method for Deep Neural Networks",
ICML workshop), with a per-class cap per round so that one easy class does not
swamp the others.  Xie et al. 2020 (Noisy Student, CVPR) run the same loop
at scale with noise added to the student; no noise is added here.

The AL loop hands the method its unlabelled pool (``fit(..., pool=X_pool)``,
because the class declares ``uses_pool = True``): the train rows not yet
labelled, never a test row.  Pseudo-labels live only inside ``fit``: the
loop's labelled set, its ``n_labelled`` and the labelled indices strategies
see stay the bought labels alone.  ``model.n_pseudo_`` records how many
pseudo-labels the returned model was fitted with.

Example: ``methods: [{name: self-training, base: linear-probe, threshold: 0.9,
per_class_cap: 100, rounds: 1}]``; ``base`` may carry parameters,
``base: {name: linear-probe, head: torch}``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, ClassVar

import numpy as np
from pydantic import AfterValidator, Field

from altbench.registry import METHODS


def confident_picks(proba: np.ndarray, threshold: float, per_class_cap: int | None) -> tuple[np.ndarray, np.ndarray]:
    """(rows (k,), labels (k,)) of the rows of proba (n, C) whose top probability is ≥ threshold,
    at most ``per_class_cap`` per predicted class (the most confident; ties: lower row first)."""
    proba = np.asarray(proba)
    top, conf = proba.argmax(1), proba.max(1)  # (n,), (n,)
    rows, labels = [], []
    for c in range(proba.shape[1]):
        cand = np.flatnonzero((top == c) & (conf >= threshold))
        cand = cand[np.argsort(-conf[cand], kind="stable")][:per_class_cap]
        rows.append(cand)
        labels.append(np.full(len(cand), c, dtype=np.int64))
    order = np.argsort(np.concatenate(rows), kind="stable")
    return np.concatenate(rows)[order].astype(np.int64), np.concatenate(labels)[order]


def _stack(A: Any, B: Any) -> Any:
    """Rows of A then rows of B (features, token ids or object arrays of text)."""
    return np.concatenate([np.asarray(A), np.asarray(B)])


def resolved_base(base: str | dict) -> dict:
    """The wrapped method as {name, **params}: defaults filled and ID_UNLESS fields written out,
    so the run id pins everything the base runs with (idempotent)."""
    from altbench.config import legacy_values, resolve_plugin

    spec = resolve_plugin(METHODS, base, "self-training base")
    if spec.name == "self-training":
        raise ValueError("self-training cannot wrap itself; set base to another method, e.g. linear-probe")
    pins = {k: v for k, v in legacy_values(METHODS.get(spec.name)).items() if k not in spec.params}
    return {"name": spec.name, **spec.params, **pins}


@METHODS.register(name="self-training")
@dataclass(frozen=True)
class SelfTraining:
    """Self-training (Yarowsky 1995; pseudo-labels of Lee 2013) wrapped around any method ``base``."""

    uses_pool: ClassVar[bool] = True  # the AL loop passes fit(..., pool=unlabelled train rows)

    # the wrapped method: a name or {name: ..., params}; stored resolved (part of the run id)
    base: Annotated[str | dict, AfterValidator(resolved_base), Field(validate_default=True)] = "linear-probe"
    threshold: Annotated[float, Field(gt=0, le=1)] = 0.9  # keep a pseudo-label when its top probability ≥ this
    per_class_cap: Annotated[int, Field(ge=1)] | None = 100  # new pseudo-labels per class per round (null: no cap)
    rounds: Annotated[int, Field(ge=0)] = 1  # pseudo-label → refit rounds

    def base_method(self) -> Any:
        """The wrapped method object."""
        from altbench.config import PluginSpec, build_plugin

        params = resolved_base(self.base)
        return build_plugin(METHODS, PluginSpec(params.pop("name"), params))

    def prepare(self, dataset) -> tuple[Any, Any]:
        from altbench.methods import prepare_inputs

        return prepare_inputs(self.base_method(), dataset)

    def fit(self, X, y, *, n_classes: int, rng_init: np.random.Generator, rng_order: np.random.Generator,
            pool: Any = None) -> Any:
        """Fit ``base`` on (X, y), then ``rounds`` times: pseudo-label ``pool`` (m, ...) rows not yet
        pseudo-labelled and refit on the labels plus all pseudo-labels so far."""
        base = self.base_method()
        y = np.asarray(y, dtype=np.int64)

        def fit(Xf, yf):
            return base.fit(Xf, yf, n_classes=n_classes, rng_init=rng_init, rng_order=rng_order)

        model = fit(X, y)
        taken = np.zeros(0 if pool is None else len(pool), dtype=bool)  # (m,) pseudo-labelled already
        rows, labels = np.zeros(0, np.int64), np.zeros(0, np.int64)
        for _ in range(self.rounds):
            left = np.flatnonzero(~taken)
            if not len(left):
                break
            pick, lab = confident_picks(model.predict_proba(pool[left]), self.threshold, self.per_class_cap)
            if not len(pick):
                break
            taken[left[pick]] = True
            rows, labels = np.concatenate([rows, left[pick]]), np.concatenate([labels, lab])
            model = fit(_stack(X, pool[rows]), np.concatenate([y, labels]))
        model.n_pseudo_ = int(len(rows))
        return model
