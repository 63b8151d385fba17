"""Cold start: how the initial labelled set is chosen (``budget.initial_strategy``).

A selector is registered in :data:`COLD_START` (``altbench list cold_start``)::

    select(features (n, d) float or None, y_train (n,) int64, size, rng) -> (size,) sorted distinct indices

It runs once per run, before any label is bought, on the run's "initial"
stream.  ``y_train`` is passed so that the label-based reference
(``stratified``) and the class count ProbCover's radius rule needs can be
read; the embedding-based selectors never look at a label.  A selector that
reads no embeddings sets ``uses_features = False`` and gets ``None``, so no
embedding is computed for it.

Which embeddings (:func:`start_features`): the method's prepared inputs when
they are numeric features, i.e. a tabular dataset's columns as given, or
``linear-probe``'s cached (possibly pool-adapted) backbone features; else the
cached features of the modality's default backbone (``minilm`` for text,
``efficientnet-lite0`` for images, :data:`altbench.backbones.DEFAULT_BACKBONE`).
So a ``finetune`` run and a ``linear-probe`` run on the same text dataset
start from the same kmeans set.

``random`` is today's draw (:func:`altbench.loop.initial_set`): a run that
leaves ``initial_strategy`` at ``random`` keeps its run id and its results.
``initial_per_class`` and ``initial_all_classes`` choose by label and are
random-only; with another selector the config is refused.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from altbench.loop import Budget, BudgetError, check_picks, initial_set
from altbench.registry import COLD_START
from altbench.strategies._geometry import kmeans, nearest
from altbench.strategies.probcover import ProbCover
from altbench.strategies.typiclust import TypiClust

__all__ = ["COLD_START", "initial_labelled", "resolve_initial", "start_features"]


@COLD_START.register(name="random")
def random_start(features: Any, y: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """Uniform random initial set: the default, exactly the draw runs made before cold start existed."""
    return initial_set(y, Budget(initial=size), rng)


@COLD_START.register
def stratified(features: Any, y: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """A random sample stratified by class (proportional allocation); a label-peeking reference.

    Honest reading: it needs every pool point's class (which class each point
    belongs to, not only the class priors), so no learner that has only
    unlabelled data can draw it.  It models a pool that arrives grouped by
    class (data collected per category) or an annotator told to label a
    class-balanced sample; otherwise report it as an oracle reference, not as
    a competing method.  Quotas: ``size`` × class share, rounded by largest
    remainder (ties: the larger class, then the lower label); members drawn
    uniformly, class by class, from ``rng``.
    """
    classes, counts = np.unique(y, return_counts=True)  # (K,), (K,)
    exact = counts * size / len(y)
    quota = np.floor(exact).astype(np.int64)
    order = np.lexsort((classes, -counts, -(exact - quota)))  # largest remainder first
    quota[order[:size - int(quota.sum())]] += 1
    picks = [rng.choice(np.flatnonzero(y == c), size=q, replace=False) for c, q in zip(classes, quota) if q]
    return np.sort(np.concatenate(picks))


random_start.uses_features = False  # type: ignore[attr-defined]
stratified.uses_features = False  # type: ignore[attr-defined]


@COLD_START.register(name="kmeans")
@dataclass(frozen=True)
class KMeansStart:
    """k-means with k = size on the embeddings; the point nearest each centre.

    The selection rule of ALPS (Yuan, Lin & Boyd-Graber, "Cold-start Active
    Learning through Self-supervised Language Modeling", EMNLP 2020), applied
    to the backbone's embeddings rather than ALPS's BERT surprisal
    embeddings.  k-means++ seeding and Lloyd iterations from ``rng``
    (:func:`altbench.strategies._geometry.kmeans`).  A cluster left empty by
    Lloyd's step gets the free point nearest its centre, so picks are distinct.
    """

    n_iter: int = 20  # at most this many Lloyd iterations (stops earlier once no point moves)

    def __call__(self, features: np.ndarray, y: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
        labels, centres = kmeans(features, size, rng, n_iter=self.n_iter)  # (n,), (size, d)
        _, d2 = nearest(features, centres)  # (n,) squared distance to the own centre
        order = np.lexsort((d2, labels))  # by cluster, nearest first
        firsts = order[np.r_[True, np.diff(labels[order]) != 0]]  # (k_used,) one per non-empty cluster
        picked = np.zeros(len(labels), dtype=bool)
        picked[firsts] = True
        for c in np.setdiff1d(np.arange(size), labels):  # empty clusters (duplicate points): nearest free point
            i, _ = nearest(centres[c:c + 1], np.asarray(features)[~picked])
            picked[np.flatnonzero(~picked)[i[0]]] = True
        return np.flatnonzero(picked)


class FeatureView:
    """The part of :class:`altbench.view.ModelView` a diversity strategy reads: fixed
    embeddings (n, d) of the whole pool, an empty labelled set and the class count."""

    def __init__(self, features: np.ndarray, n_classes: int):
        self._features = features
        self.labelled = np.empty(0, dtype=np.int64)
        self.y_labelled = np.empty(0, dtype=np.int64)
        self.n_classes = int(n_classes)
        self.n_pool = len(features)

    def embed(self, idx: np.ndarray) -> np.ndarray:
        """(len(idx), d) embeddings."""
        return np.asarray(self._features[idx])


def _from_strategy(strategy: Callable, features: np.ndarray, y: np.ndarray, size: int,
                   rng: np.random.Generator) -> np.ndarray:
    """The query strategy's picks over the whole pool with nothing labelled yet, sorted.
    Only the class count is read from ``y`` (a fact of the task, known before any label)."""
    view = FeatureView(features, len(np.unique(y)))
    return np.sort(strategy(view, np.arange(len(features)), size, rng))


@COLD_START.register(name="typiclust")
@dataclass(frozen=True)
class TypiClustStart(TypiClust):
    """TypiClust (Hacohen et al. 2022) with nothing labelled: the most typical point of each cluster.

    The paper's own cold-start use: ``size`` k-means clusters, from each the
    point of highest typicality.  The query strategy's code and parameters
    (:class:`altbench.strategies.typiclust.TypiClust`), run on the whole pool.
    """

    def __call__(self, features, y, size, rng):  # type: ignore[override]
        return _from_strategy(super().__call__, features, y, size, rng)


@COLD_START.register(name="probcover")
@dataclass(frozen=True)
class ProbCoverStart(ProbCover):
    """ProbCover (Yehuda et al. 2022) with nothing labelled: greedy maximum coverage of δ-balls.

    δ by the paper's purity rule with K = the task's class count (the only
    thing read from ``y``).  The query strategy's code and parameters
    (:class:`altbench.strategies.probcover.ProbCover`), run on the whole pool.
    """

    def __call__(self, features, y, size, rng):  # type: ignore[override]
        return _from_strategy(super().__call__, features, y, size, rng)


def start_features(X_train: Any, dataset: Any) -> np.ndarray:
    """(n, d) embeddings for the selectors: the prepared inputs ``X_train`` when they are
    numeric features (float (n, d)), else the modality's default backbone's cached features."""
    if isinstance(X_train, np.ndarray) and X_train.ndim == 2 and np.issubdtype(X_train.dtype, np.floating):
        return X_train
    from altbench.backbones import cached_features, make_backbone

    return cached_features(make_backbone("auto", dataset.modality), dataset)[0]


def spec_of(budget: Budget) -> tuple[str, dict]:
    """(selector name, parameters) of ``budget.initial_strategy`` ("random" or {name, params})."""
    s = budget.initial_strategy
    return (s, {}) if isinstance(s, str) else (s["name"], dict(s.get("params", {})))


def check_combination(budget: Budget) -> None:
    """Refuse a label-choosing budget option (per class, all classes) with a non-random selector."""
    name = spec_of(budget)[0]
    option = "initial_per_class" if budget.initial_per_class is not None else \
        "initial_all_classes" if budget.initial_all_classes else None
    if name != "random" and option:
        raise BudgetError(f"budget.initial_strategy={name} picks the `initial` points itself and cannot be "
                          f"combined with budget.{option}; remove {option} or use initial_strategy: random")


def initial_labelled(y: np.ndarray, budget: Budget, rng: np.random.Generator,
                     features: Callable[[], np.ndarray]) -> np.ndarray:
    """(n0,) sorted indices of the initial labelled set from ``budget.initial_strategy``;
    ``features()`` (n, d) is called only by a selector that reads embeddings."""
    check_combination(budget)
    if budget.initial_per_class is not None or budget.initial_all_classes:
        return initial_set(y, budget, rng)  # random-only options
    name, params = spec_of(budget)
    if budget.initial > len(y):
        raise BudgetError(f"budget.initial={budget.initial} exceeds the train pool ({len(y)}); lower it")
    from altbench.plugin_params import build

    plugin = COLD_START.get(name)
    X = features() if getattr(plugin, "uses_features", True) else None
    picked = build(plugin, params)(X, y, budget.initial, rng)
    return np.sort(check_picks(picked, np.ones(len(y), dtype=bool), budget.initial,
                               f"{name} (budget.initial_strategy)"))


def resolve_initial(budget: Budget, source: str) -> Budget:
    """``budget`` with its ``initial_strategy`` validated and stored as the run id hashes it:
    "random" (no parameters: ids as before the field existed), else {name, params} with every
    parameter filled.  A one-line ConfigError for an unknown name, bad parameters or a
    label-choosing option beside a non-random selector."""
    from altbench.config import resolve_plugin
    from altbench.strict import ConfigError, did_you_mean

    item = budget.initial_strategy
    name = item if isinstance(item, str) else item.get("name") if isinstance(item, dict) else None
    where = f"{source}: budget.initial_strategy"
    if isinstance(name, str) and name not in COLD_START:
        raise ConfigError(f"{where}: unknown cold-start selector {name!r}; choose one of "
                          f"{', '.join(COLD_START.names())}{did_you_mean(name, COLD_START.names())}")
    spec = resolve_plugin(COLD_START, item, where)
    stored: str | dict = "random" if spec.name == "random" else {"name": spec.name, "params": spec.params}
    resolved = dataclasses.replace(budget, initial_strategy=stored)
    try:
        check_combination(resolved)
    except BudgetError as exc:
        raise ConfigError(f"{source}: {exc}") from None
    return resolved
