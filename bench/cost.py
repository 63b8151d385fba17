"""Annotation cost: per-example cost models, cost-aware learning curves and AUBC.

Labels rarely cost the same: a long document takes longer to read than a
short one (Settles, Craven & Friedland 2008, "Active learning with real
annotation costs", NIPS Workshop on Cost-Sensitive Learning, measured
annotation times that grow with length), and some classes are harder to
decide.  A cost model maps the train pool to (n,) positive costs:

* ``constant``: ``cost`` per example (the usual label count, scaled);
* ``text_length``: ``a + b · tokens`` (whitespace tokens of the raw text);
* ``class_dependent``: a per-class table (``costs_by_class: {class name:
  cost}``, ``default`` for the rest).  Honest note: it reads the true label,
  which is known only *after* labelling, so neither a strategy nor a cost
  budget may use it; it serves accounting only (``before_labelling = False``):
  post hoc, or recorded per round beside a label budget;
* ``column``: one cost per train row, read from a column of a table file
  (CSV/TSV/JSONL/Parquet) whose rows align with the train pool, e.g. the
  train file of a ``files`` dataset given with an explicit ``test:`` file.

Post hoc, :func:`cost_curve` turns a finished run's rounds into (cumulative
cost, score) and :func:`cost_aubc` integrates score over cost (the AUBC of
Zhan et al. 2021 with cost on the x axis).  ``budget.cost_model`` records
every round's cumulative cost in the results (``cost`` column), and
``budget.cost_total`` / ``cost_query`` / ``cost_schedule`` make the loop buy
by cost instead of by count (:mod:`altbench.purchase`); ``altbench report``
then draws the cost curves and AUBC over cost (:mod:`altbench.cost_report`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from altbench.metrics import normalised_aubc
from altbench.registry import Registry

COST_MODELS = Registry("cost_models", singular="cost model", plugins=False)


def _positive(costs: np.ndarray, who: str) -> np.ndarray:
    """(n,) float64 costs after checking they are finite and > 0."""
    costs = np.asarray(costs, dtype=np.float64)
    bad = np.flatnonzero(~np.isfinite(costs) | (costs <= 0))
    if len(bad):
        raise ValueError(f"cost model {who} gives a non-positive or non-finite cost to {len(bad)} examples "
                         f"(first: row {bad[0]}, {costs[bad[0]]}); every cost must be > 0")
    return costs


@COST_MODELS.register(name="constant")
@dataclass(frozen=True)
class Constant:
    """The same cost for every example: cost curves are label curves scaled by ``cost``."""

    before_labelling: ClassVar[bool] = True
    cost: float = 1.0  # cost of one label

    def costs(self, X: Any, y: np.ndarray | None = None, classes: tuple[str, ...] = ()) -> np.ndarray:
        return _positive(np.full(len(X), self.cost), "constant")


@COST_MODELS.register(name="text_length")
@dataclass(frozen=True)
class TextLength:
    """``a + b · tokens`` per text, tokens = whitespace-separated words (Settles et al. 2008: time grows with length)."""

    before_labelling: ClassVar[bool] = True
    a: float = 1.0  # fixed cost of one label (e.g. seconds to read the instructions and decide)
    b: float = 0.1  # cost per token read

    def costs(self, X: Any, y: np.ndarray | None = None, classes: tuple[str, ...] = ()) -> np.ndarray:
        arr = np.asarray(X)
        if arr.dtype != object or arr.ndim != 1:
            raise ValueError(f"cost model text_length needs raw texts, got an array of shape {arr.shape} "
                             f"dtype {arr.dtype}; use constant or column for non-text data")
        tokens = np.fromiter((len(str(t).split()) for t in arr), dtype=np.float64, count=len(arr))  # (n,)
        return _positive(self.a + self.b * tokens, "text_length")


@COST_MODELS.register(name="class_dependent")
@dataclass(frozen=True)
class ClassDependent:
    """A cost per true class (``costs_by_class: {class name: cost}``); known only after labelling: accounting only."""

    before_labelling: ClassVar[bool] = False
    costs_by_class: dict[str, float] = field(default_factory=dict)  # class name → cost of one label
    default: float = 1.0  # cost of the classes not in the table

    def costs(self, X: Any, y: np.ndarray | None = None, classes: tuple[str, ...] = ()) -> np.ndarray:
        if y is None:
            raise ValueError("cost model class_dependent reads the true labels, known only after labelling; "
                             "use it for post-hoc cost curves, not in a strategy (use text_length or column)")
        unknown = sorted(set(self.costs_by_class) - set(classes))
        if unknown:
            raise ValueError(f"cost model class_dependent names unknown class {unknown[0]!r}; "
                             f"the classes are: {', '.join(classes)}")
        table = np.array([self.costs_by_class.get(c, self.default) for c in classes], dtype=np.float64)  # (C,)
        return _positive(table[np.asarray(y, dtype=np.int64)], "class_dependent")


@COST_MODELS.register(name="column")
@dataclass(frozen=True)
class Column:
    """One cost per train row from a column of a table file whose rows align with the train pool."""

    before_labelling: ClassVar[bool] = True
    path: str = ""  # CSV, TSV, JSONL or Parquet file (e.g. the train file of a files dataset)
    column: str = "cost"  # the column holding each row's cost

    def costs(self, X: Any, y: np.ndarray | None = None, classes: tuple[str, ...] = ()) -> np.ndarray:
        from altbench.datasets.user import TABLE_SUFFIXES, read_table

        path = Path(self.path).expanduser()
        fmt = TABLE_SUFFIXES.get(path.suffix.lower())
        if not path.is_file() or fmt is None:
            raise ValueError(f"cost model column: {self.path!r} is not a CSV/TSV/JSONL/Parquet file; "
                             "write path: FILE with one row per train example")
        df = read_table(path, fmt, "cost model column")
        if self.column not in df.columns:
            raise ValueError(f"cost model column: {path} has no column {self.column!r}; "
                             f"its columns are: {', '.join(map(str, df.columns))}")
        if len(df) != len(X):
            raise ValueError(f"cost model column: {path} has {len(df)} rows but the train pool has {len(X)}; "
                             "give a file aligned with the train rows (a files dataset with an explicit test file)")
        return _positive(df[self.column].to_numpy(dtype=np.float64), f"column {self.column!r}")


def build_cost_model(spec: str | dict) -> Any:
    """The cost model a name or ``{name: ..., params}`` describes, or a one-line ConfigError."""
    from altbench.config import resolve_plugin
    from altbench.plugin_params import build
    from altbench.strict import ConfigError

    if isinstance(spec, dict) and "name" not in spec:
        raise ConfigError(f"cost model {spec!r} has no name; write e.g. {{name: text_length, a: 1, b: 0.1}}")
    try:
        resolved = resolve_plugin(COST_MODELS, spec, "cost")
        return build(COST_MODELS.get(resolved.name), resolved.params)
    except ConfigError:
        raise
    except ValueError as exc:  # a check of the model itself
        raise ConfigError(f"cost: {exc}") from None


def pool_costs(model: Any, X: Any) -> np.ndarray:
    """(n,) costs a strategy may use: only models computable before labelling."""
    if not model.before_labelling:
        name = type(model).__name__
        raise ValueError(f"cost model {name} needs the true labels, unknown before labelling; a strategy may "
                         "use constant, text_length or column only")
    return model.costs(X)


def label_costs(model: Any, dataset: Any) -> np.ndarray:
    """(n_train,) post-hoc costs of every train example (true labels allowed)."""
    return model.costs(dataset.X_train, np.asarray(dataset.y_train), tuple(dataset.classes))


def cost_curve(records: Any, dataset: Any, model: Any, initial: np.ndarray,
               metric: str = "accuracy") -> tuple[np.ndarray, np.ndarray]:
    """(cumulative cost, score) per round of one finished run, both (R,).

    records: the run's rounds (dicts or a DataFrame's rows) with ``round``,
    ``n_labelled``, ``queried`` and ``metric``; initial: (n0,) indices of the
    initial labelled set (:func:`replay_initial` recomputes it).  The cost of
    round r is that of every label held when round r's model was fitted.
    """
    rows = _rounds(records)
    c = label_costs(model, dataset)
    held = np.asarray(initial, dtype=np.int64)
    cum, score = [], []
    for rec in rows:
        if len(held) != int(rec["n_labelled"]):
            raise ValueError(f"round {rec['round']} holds {rec['n_labelled']} labels but the initial set and "
                             f"earlier purchases give {len(held)}; pass the run's own initial set")
        cum.append(float(c[held].sum()))
        score.append(float(rec[metric]))
        held = np.concatenate([held, np.asarray(rec["queried"], dtype=np.int64)])
    return np.asarray(cum), np.asarray(score)


def _rounds(records: Any) -> list[dict]:
    """Records as dicts sorted by round (a DataFrame of one run is accepted too)."""
    if hasattr(records, "to_dict"):
        records = records.to_dict("records")
    return sorted((dict(r) for r in records), key=lambda r: int(r["round"]))


def cost_aubc(cum_cost: np.ndarray, score: np.ndarray) -> float:
    """Normalised area under score against cumulative cost (Zhan et al. 2021's AUBC, cost on x).

    cum_cost, score: (R,) with cum_cost non-decreasing; the mean height of the curve (for a curve
    that spent nothing after its first point, the mean of its scores).
    """
    cum_cost = np.asarray(cum_cost, dtype=np.float64)
    if len(cum_cost) > 1 and cum_cost[-1] == cum_cost[0]:
        return float(np.mean(score))
    return normalised_aubc(cum_cost, score)


def replay_initial(dataset: Any, budget: Any, seed: int) -> np.ndarray:
    """(n0,) the initial labelled set a run drew, re-drawn from its seed exactly as the loop draws it
    (selectors that read features are not replayed: pass the run's own initial indices instead)."""
    from altbench.coldstart import initial_labelled
    from altbench.seeds import Streams

    def no_features():
        raise ValueError("replay_initial cannot replay a cold-start selector that reads features; "
                         "pass the run's initial indices to cost_curve")

    y = np.asarray(dataset.y_train, dtype=np.int64)
    return initial_labelled(y, budget, Streams(seed).rng("initial"), no_features)
