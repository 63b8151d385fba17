"""Per-round test metrics: one registry entry per metric, read by everything that shows one.

A metric is a frozen :class:`Metric` in :data:`altbench.registry.METRICS`
(``altbench list metrics``): a function of the (n,) predicted and true test
labels, the (n, C) test probabilities and the number of classes, returning
one float.  The rest of altbench iterates the registry instead of naming
metrics:

* the AL loop stores ``rec[name]`` every round (:func:`evaluate`);
* the results file holds a float64 column ``name`` (:func:`core_names`,
  :func:`extra_names`);
* per-run summaries hold ``final_<name>`` and an AUBC column
  (:attr:`Metric.aubc_column`), ``altbench report --metric`` offers both
  (:func:`run_metric_labels`) and tables label them with :attr:`Metric.label`;
* trackers (TensorBoard, MLflow) log each as a scalar with the round's numbers.

Adding a metric is one decorated function (here, or in a plugin package
under the entry-point group ``altbench.metrics``)::

    @metric(label="Top-2 accuracy", needs_proba=True)
    def top2_accuracy(pred, y, proba, n_classes):
        \"\"\"Share of test rows whose label is among the two most probable.\"\"\"
        return float((np.argsort(-proba, 1)[:, :2] == y[:, None]).any(1).mean())

A ``needs_proba`` metric is skipped (absent from the round, NaN in tables)
for models that only predict labels, and the probabilities are asked for
only when such a metric is registered.  Results written before a metric
existed load as before and are summarised on the metrics they hold.

Column order (results files stay byte-identical for existing configs): the
``core`` metrics (the first results schema: accuracy, macro-F1) sit before
``queried``; every other metric follows the stopping signals, by name, and
only when the rounds hold it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from altbench.registry import METRICS

HEADLINE = "accuracy"  # the metric of labels-to-target, the penalty matrix and the plain `aubc` column

MetricFn = Callable[[np.ndarray, np.ndarray, "np.ndarray | None", int], float]


@dataclass(frozen=True)
class Metric:
    """A per-round test metric (its docstring is its function's)."""

    name: str  # record key, results column and summary suffix
    fn: MetricFn  # (pred (n,), y (n,), proba (n, C) or None, n_classes) -> float
    label: str  # capitalised, for tables and notes: "Macro-F1"
    higher_is_better: bool = True  # False for losses (bold marks the lowest)
    needs_proba: bool = False  # skipped for models without predict_proba
    core: bool = False  # in the first results schema: written before `queried` in every file

    def __post_init__(self):
        object.__setattr__(self, "__doc__", self.fn.__doc__)  # `altbench list metrics` shows the function's

    @property
    def final_column(self) -> str:
        """Per-run summary column of the last round's value."""
        return f"final_{self.name}"

    @property
    def aubc_column(self) -> str:
        """Per-run summary column of the normalised AUBC (plain ``aubc`` for :data:`HEADLINE`)."""
        return "aubc" if self.name == HEADLINE else f"aubc_{self.name}"

    def run_labels(self) -> dict[str, str]:
        """{summary column: its label in notes}: ``final accuracy``, ``AUBC of macro-F1``."""
        low = self.label[:1].lower() + self.label[1:]
        aubc = "AUBC" if self.name == HEADLINE else f"AUBC of {low}"
        return {self.aubc_column: aubc, self.final_column: f"final {low}"}


def metric(*, label: str, higher_is_better: bool = True, needs_proba: bool = False,
           core: bool = False) -> Callable[[MetricFn], MetricFn]:
    """Decorator: register ``fn`` as the metric named after it; returns ``fn`` unchanged."""

    def add(fn: MetricFn) -> MetricFn:
        METRICS.add(fn.__name__, Metric(fn.__name__, fn, label, higher_is_better, needs_proba, core))
        return fn

    return add


def ordered() -> list[Metric]:
    """Every registered metric: the core ones, then the others, each group by name."""
    every = [METRICS.get(n) for n in METRICS.names()]
    return [m for m in every if m.core] + [m for m in every if not m.core]


def core_names() -> tuple[str, ...]:
    """Columns every results file has, in place (before ``queried``)."""
    return tuple(m.name for m in ordered() if m.core)


def extra_names() -> tuple[str, ...]:
    """Columns appended when the rounds hold them (after the stopping signals)."""
    return tuple(m.name for m in ordered() if not m.core)


def run_metric_labels() -> dict[str, str]:
    """{per-run summary column: label}, the ``--metric`` choices: core metrics first, AUBC first."""
    return {k: v for m in ordered() for k, v in m.run_labels().items()}


def evaluate(pred: np.ndarray, y: np.ndarray, n_classes: int,
             proba: Callable[[], np.ndarray | None] = lambda: None) -> dict[str, float]:
    """{name: value} of every registered metric from (n,) predicted and true test labels.

    ``proba``: called (once) only if some metric needs the (n, C) test
    probabilities; None (a prediction-only model) skips those metrics.
    """
    pred, y = np.asarray(pred, dtype=np.int64), np.asarray(y, dtype=np.int64)
    metrics = ordered()
    p = proba() if any(m.needs_proba for m in metrics) else None
    return {m.name: float(m.fn(pred, y, p, n_classes)) for m in metrics if p is not None or not m.needs_proba}


def _tp_support(pred: np.ndarray, y: np.ndarray, n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """(C,) true positives (float64) and (C,) true counts per class."""
    tp = np.bincount(y[pred == y], minlength=n_classes).astype(np.float64)
    return tp, np.bincount(y, minlength=n_classes)


@metric(label="Accuracy", core=True)
def accuracy(pred, y, proba, n_classes) -> float:
    """Share of test rows predicted right (bit-identical to scikit-learn's ``accuracy_score``)."""
    return float((pred == y).mean())


@metric(label="Macro-F1", core=True)
def macro_f1(pred, y, proba, n_classes) -> float:
    """Unweighted mean of the per-class F1 over classes 0..C-1 (van Rijsbergen 1979).

    Per class F1 = 2·tp / (2·tp + fp + fn) = 2·tp / (predicted + true), 0
    where that denominator is 0: bit-identical to scikit-learn's
    ``f1_score(average="macro", labels=arange(C), zero_division=0)``.
    """
    tp, support = _tp_support(pred, y, n_classes)  # (C,), (C,)
    denom = (np.bincount(pred, minlength=n_classes) + support).astype(np.float64)  # (C,)
    f1 = np.divide(2.0 * tp, denom, out=np.zeros(n_classes), where=denom != 0)  # (C,)
    return float(f1.mean())


@metric(label="Balanced accuracy")
def balanced_accuracy(pred, y, proba, n_classes) -> float:
    """Mean per-class recall over the classes present in the true labels (Brodersen et al. 2010,
    "The balanced accuracy and its posterior distribution", ICPR).

    Bit-identical to scikit-learn's ``balanced_accuracy_score`` (classes only
    predicted, never true, are left out there too).
    """
    tp, support = _tp_support(pred, y, n_classes)  # (C,), (C,)
    present = support > 0  # (C,)
    return float(np.mean(tp[present] / support[present].astype(np.float64)))
