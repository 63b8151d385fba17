"""The one pool-based active-learning loop.

Each round: fit the method on the labelled set → evaluate on the test set →
ask the strategy for the next batch → reveal its labels.  The loop stops
when the labelled set reaches the last size of the budget schedule.
"""

from __future__ import annotations

import contextlib
import functools
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from altbench import metric_registry
from altbench.datasets import Dataset
from altbench.methods import prepare_inputs
from altbench.outputs import BadOutputError, NonFiniteError, check_labels, check_proba  # noqa: F401 (errors re-exported)
from altbench.seeds import Streams
from altbench.stop_signals import StopProbe
from altbench.view import ModelView


class BudgetError(ValueError):
    """A budget that the dataset cannot satisfy."""


class StrategyOutputError(RuntimeError):
    """A strategy returned something other than ``budget`` unique pool indices."""


@dataclass(frozen=True)
class Budget:
    """How many labels, when.  Sizes count the initial set too.

    Every field enters the run id.  A field added later must be declared
    ``field(default=..., metadata=altbench.config.ID_IF_SET)`` so that runs which
    leave it at its default keep their ids (and their finished results).
    """

    initial: int = 20  # size of the random initial labelled set
    initial_per_class: int | None = None  # if set: this many per class instead of `initial`
    initial_all_classes: bool = False  # redraw the random `initial` set until every class is in it
    query: int = 10  # labels bought per round
    total: int = 200  # stop once this many labels are used
    schedule: tuple[int, ...] | None = None  # explicit labelled-set sizes (overrides query/total)
    # cold-start selector of the initial set: a name or {name, params} (altbench.coldstart; = ID_IF_SET)
    initial_strategy: str | dict = field(default="random", metadata={"id": "if_set"})
    # labelled validation rows bought from the pool and charged to the sizes (altbench.validation; = ID_IF_SET)
    validation: int = field(default=0, metadata={"id": "if_set"})
    # annotation cost (altbench.purchase; all = ID_IF_SET): the cost model, recorded per round as `cost`,
    # and a budget in its units instead of labels (cost_total + cost_query, or cost_schedule)
    cost_model: str | dict | None = field(default=None, metadata={"id": "if_set"})
    cost_total: float | None = field(default=None, metadata={"id": "if_set"})  # stop once this much is spent
    cost_query: float | None = field(default=None, metadata={"id": "if_set"})  # cost allowance per round
    cost_schedule: tuple[float, ...] | None = field(default=None, metadata={"id": "if_set"})  # cumulative targets

    def sizes(self, n_initial: int) -> list[int]:
        """Labelled-set sizes at which the model is fitted and evaluated."""
        if self.schedule:
            return [n_initial] + [s for s in self.schedule if s > n_initial]
        if self.total <= n_initial:
            return [n_initial]
        return list(range(n_initial, self.total, self.query)) + [self.total]


def initial_set(y: np.ndarray, budget: Budget, rng: np.random.Generator) -> np.ndarray:
    """(n0,) sorted indices of the initial labelled set."""
    n = len(y)
    if budget.initial_per_class is None:
        if budget.initial > n:
            raise BudgetError(f"budget.initial={budget.initial} exceeds the train pool ({n}); lower it")
        if budget.initial_all_classes:
            return initial_with_all_classes(y, budget.initial, rng)
        return np.sort(rng.choice(n, size=budget.initial, replace=False))
    picks = []
    for c in np.unique(y):
        members = np.flatnonzero(y == c)
        picks.append(rng.choice(members, size=min(budget.initial_per_class, len(members)), replace=False))
    return np.sort(np.concatenate(picks))


def initial_with_all_classes(y: np.ndarray, size: int, rng: np.random.Generator, tries: int = 1000) -> np.ndarray:
    """(size,) sorted random indices with every class of ``y`` present (Zhan et al. 2021's initial set).

    Redraws a uniform random set until it holds every class (so it is
    uniform over such sets); after ``tries`` misses, one random member per
    class plus a uniform random rest.
    """
    classes = np.unique(y)
    if size < len(classes):
        raise BudgetError(f"budget.initial={size} cannot hold all {len(classes)} classes; raise it "
                          "or set initial_all_classes: false")
    for _ in range(tries):
        pick = rng.choice(len(y), size=size, replace=False)
        if len(np.unique(y[pick])) == len(classes):
            return np.sort(pick)
    firsts = np.array([rng.choice(np.flatnonzero(y == c)) for c in classes])
    rest = rng.choice(np.setdiff1d(np.arange(len(y)), firsts), size=size - len(classes), replace=False)
    return np.sort(np.concatenate([firsts, rest]))


def check_picks(picked: Any, in_pool: np.ndarray, k: int, name: str) -> np.ndarray:
    """``picked`` as int64 after checking: exactly ``k``, unique, all unlabelled."""
    picked = np.asarray(picked)
    if picked.shape != (k,) or not np.issubdtype(picked.dtype, np.integer):
        raise StrategyOutputError(f"strategy {name!r} returned shape {picked.shape} dtype {picked.dtype}; "
                                  f"it must return {k} integer indices")
    picked = picked.astype(np.int64)
    if len(np.unique(picked)) != k:
        raise StrategyOutputError(f"strategy {name!r} returned duplicate indices; return {k} distinct ones")
    if (picked < 0).any() or (picked >= len(in_pool)).any() or not in_pool[picked].all():
        raise StrategyOutputError(f"strategy {name!r} returned indices outside the unlabelled pool")
    return picked


def label_metrics(pred: np.ndarray, y: np.ndarray, n_classes: int) -> dict[str, float]:
    """{name: value} of every registered metric that needs no probabilities (accuracy, macro-F1,
    balanced accuracy, ...: :mod:`altbench.metric_registry`) from (n,) predicted and true labels."""
    return metric_registry.evaluate(pred, y, n_classes)


def evaluate(proba: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """Test-set metrics from (n, C) probabilities (prediction = argmax)."""
    proba = np.asarray(proba)
    return metric_registry.evaluate(proba.argmax(1), y, proba.shape[1], lambda: proba)


def checked_test_proba(model: Any, X_test: Any, n: int, n_classes: int, who: str, when: str) -> np.ndarray | None:
    """(n, C) checked test-set probabilities for the metrics that need them; None for a model
    that only predicts labels (those metrics are then skipped)."""
    if getattr(model, "predict_proba", None) is None:
        return None
    return check_proba(model.predict_proba(X_test), n, n_classes, who, when)


def predict_test_labels(model: Any, X_test: Any, n: int, n_classes: int, who: str, when: str) -> np.ndarray:
    """(n,) checked test-set labels: ``model.predict`` if it has one, else argmax of the
    checked (finite, (n, C), rows summing to 1) ``predict_proba``."""
    predict = getattr(model, "predict", None)
    if predict is not None:
        return check_labels(predict(X_test), n, n_classes, who, when)
    return check_proba(model.predict_proba(X_test), n, n_classes, who, when).argmax(1)


@contextlib.contextmanager
def naming_round(method_name: str, r: int):
    """Re-raise a NonFiniteError that does not yet name the method with the method and round prefixed."""
    try:
        yield
    except NonFiniteError as exc:
        if str(exc).startswith("method "):
            raise
        raise NonFiniteError(f"method {method_name!r} in round {r}: {exc}") from exc


def train_loss_of(model: Any) -> float | None:
    """The fitted model's ``train_loss_`` as a float, or None if it records none."""
    loss = getattr(model, "train_loss_", None)
    return None if loss is None else float(loss)


def fit_extras(method: Any, X_train: Any, y: np.ndarray, in_pool: np.ndarray, val: np.ndarray) -> dict:
    """The optional ``fit`` inputs a method declares: ``pool=`` the unlabelled train rows
    (``uses_pool``, e.g. self-training) and ``validation=(X_val, y_val)`` (``uses_validation``,
    the tuning wrapper).  Labels of the pool are never passed."""
    extras: dict = {}
    if getattr(method, "uses_pool", False):
        extras["pool"] = X_train[in_pool]
    if getattr(method, "uses_validation", False):
        extras["validation"] = (X_train[val], y[val])
    return extras


def check_dataset(ds: Dataset) -> None:
    """Reject data the loop cannot use, with a one-line reason."""
    n, m = len(ds.y_train), len(ds.y_test)
    if n == 0 or m == 0:
        raise ValueError(f"dataset {ds.name!r} has {n} training and {m} test examples; both must be non-empty")
    if len(ds.X_train) != n or len(ds.X_test) != m:
        raise ValueError(f"dataset {ds.name!r}: features and labels differ in length; fix its loader")
    for part, X in (("train", ds.X_train), ("test", ds.X_test)):
        arr = np.asarray(X)
        if np.issubdtype(arr.dtype, np.floating) and not np.isfinite(arr).all():
            rows = np.flatnonzero(~np.isfinite(arr.reshape(len(arr), -1)).all(1))
            raise ValueError(f"dataset {ds.name!r} has NaN/inf features in {len(rows)} {part} rows "
                             f"(first: {rows[0]}); impute or drop them")
    for part, y in (("train", ds.y_train), ("test", ds.y_test)):
        if y.min() < 0 or y.max() >= ds.n_classes:
            raise ValueError(f"dataset {ds.name!r}: {part} labels must lie in [0, {ds.n_classes}); fix its loader")


def run_active_learning(dataset: Dataset, method: Any, strategy: Callable, budget: Budget,
                        streams: Streams, *, names: tuple[str, str] = ("?", "?"),
                        on_round: Callable[[dict], None] | None = None,
                        resume: list[dict] = ()) -> list[dict]:
    """Run one AL experiment; returns one record per round.

    Record keys: round, n_labelled, one per registered metric (accuracy, macro_f1,
    balanced_accuracy, ...: :mod:`altbench.metric_registry`), queried (indices
    bought after this round's fit), fit_seconds, query_seconds, train_loss
    (the model's ``train_loss_``, None if it records none), and the stopping
    signals ``stop_pred``, ``stop_max_conf``, ``stop_entropy`` measured on a
    fixed stop set (:mod:`altbench.stop_signals`); with ``budget.validation`` also
    ``n_validation`` and ``chosen`` (:mod:`altbench.validation`; ``n_labelled``
    then counts the validation labels too); with ``budget.cost_model`` also ``cost``,
    the cumulative annotation cost of the labels held (:mod:`altbench.purchase`,
    which also runs budgets in cost units).  A model that
    returns NaN/inf (probabilities, view outputs, training loss) fails the
    run with :class:`NonFiniteError`; other unusable test-set outputs with
    :class:`BadOutputError`.  ``resume``
    holds records of rounds already done (a checkpoint): they are kept, their
    purchases replayed, and the loop continues with the next round, drawing
    exactly the random numbers an uninterrupted run would.
    """
    method_name, strategy_name = names
    check_dataset(dataset)
    y = np.asarray(dataset.y_train, dtype=np.int64)
    n = len(y)
    from altbench.coldstart import initial_labelled, start_features  # late: it imports this module

    inputs = functools.cache(lambda: prepare_inputs(method, dataset, streams))  # early only for a cold start
    labelled = initial_labelled(y, budget, streams.rng("initial"), lambda: start_features(inputs()[0], dataset))
    from altbench.validation import draw_validation, round_columns  # late, as above

    val = draw_validation(n, labelled, budget.validation, lambda: streams.rng("validation"))  # (K,) never queried
    from altbench.purchase import round_plan  # late, as above

    plan = round_plan(budget, dataset, labelled, val)  # what each round buys: labels, or a cost allowance
    records = [dict(r) for r in resume]
    for r, rec in enumerate(records):
        if rec.get("round") != r or r >= plan.n_rounds or not plan.matches(r, rec, labelled):
            raise ValueError(f"checkpoint round {r} does not match this run's budget; delete the run's .jsonl")
        labelled = np.concatenate([labelled, np.asarray(rec["queried"], dtype=np.int64)])
    in_pool = np.ones(n, dtype=bool)
    in_pool[labelled] = False
    in_pool[val] = False
    if len(records) == plan.n_rounds:
        return records
    X_train, X_test = inputs()
    y_test = np.asarray(dataset.y_test, dtype=np.int64)
    probe = StopProbe(X_train, n, streams.rng("stopset"))  # stopping signals' fixed stop set
    if hasattr(strategy, "for_pool"):  # a wrapper needing facts known before labelling (costs), never labels
        strategy = strategy.for_pool(dataset.X_train)
    for r in range(plan.n_rounds):
        if r < len(records):
            continue
        t0 = time.perf_counter()
        with naming_round(method_name, r):
            model = method.fit(X_train[labelled], y[labelled], n_classes=dataset.n_classes,
                               rng_init=streams.rng("model", r), rng_order=streams.rng("order", r),
                               **fit_extras(method, X_train, y, in_pool, val))
        fit_s = time.perf_counter() - t0
        pred = predict_test_labels(model, X_test, len(y_test), dataset.n_classes,
                                   f"method {method_name!r}", f" in round {r}")
        rec = {"round": r, "n_labelled": int(len(labelled) + len(val)),
               **metric_registry.evaluate(pred, y_test, dataset.n_classes, lambda: checked_test_proba(
                   model, X_test, len(y_test), dataset.n_classes, f"method {method_name!r}", f" in round {r}")),
               "queried": [], "fit_seconds": fit_s, "query_seconds": 0.0, "train_loss": train_loss_of(model)}
        rec.update(round_columns(model, val))  # n_validation, chosen: only with budget.validation > 0
        rec.update(plan.columns(labelled))  # cost: only with budget.cost_model
        probe.start_round()
        unlabelled_at_fit = in_pool.copy()  # (n,)
        if r + 1 < plan.n_rounds:
            k = plan.ask(r, labelled, in_pool)  # a cost budget: as many as the round's allowance could buy
            pool = np.flatnonzero(in_pool)
            view = ModelView(model, X_train, labelled, y[labelled], method_name, al_round=r, observer=probe.observe)
            t1 = time.perf_counter()
            with naming_round(method_name, r):
                picked = strategy(view, pool, k, streams.rng("query", r)) if k else np.zeros(0, dtype=np.int64)
            rec["query_seconds"] = time.perf_counter() - t1
            picked = plan.buy(r, check_picks(picked, in_pool, k, strategy_name), labelled)  # in query order
            in_pool[picked] = False
            labelled = np.concatenate([labelled, picked])
            rec["queried"] = picked.tolist()
        rec.update(probe.measure(model, unlabelled_at_fit, dataset.n_classes,  # reuses the strategy's predictions
                                 f"method {method_name!r}", f" in round {r}"))
        records.append(rec)
        if on_round is not None:
            on_round(rec)
    return records
