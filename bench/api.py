"""altbench's public API: everything a plugin author or a script needs, in one module.

    from altbench.api import STRATEGIES, ModelView, IntArray, top_k

    @STRATEGIES.register                       # registry name = "smallest_max_logit"
    def smallest_max_logit(view: ModelView, pool: IntArray, budget: int,
                           rng: np.random.Generator) -> IntArray:
        p = view.predict_proba(pool)           # (n_pool, C)
        return pool[top_k(-np.log(p.max(1) + 1e-12), budget, rng)]

The contracts are structural (``typing.Protocol``, as PEP 544 describes): a
class satisfies one by having the methods, not by inheriting.  A type checker
checks the harness's own classes and the test fake against them
(``tests/typing_check.py``, run by ``make test``).  The shapes in the
docstrings are the contract too: ``n`` rows asked for, ``C`` classes, ``T``
MC samples, ``M`` committee members, ``d`` embedding width.

It only declares and re-exports, importing nothing heavier than numpy, so
plugins (built-in ones included) import their contracts from here.
"""

from __future__ import annotations

from typing import Any, Callable, Iterator, Protocol, TypeAlias, TypeVar, runtime_checkable

import numpy as np

from altbench.datasets import Dataset
from altbench.registry import BACKBONES, DATASETS, METHODS, REGISTRIES, STRATEGIES, PluginError, Registry
from altbench.strategies._select import top_k

__all__ = [
    "BACKBONES", "DATASETS", "METHODS", "REGISTRIES", "STRATEGIES", "Backbone", "Dataset", "EmbeddingBlocks",
    "FittedModel", "FloatArray", "IntArray", "ModelView", "PluginError", "Registry", "Strategy", "TransferMethod",
    "CommitteeModel", "register_backbone", "register_dataset", "register_method", "register_strategy", "top_k",
]

IntArray: TypeAlias = np.ndarray  # 1-D int64 indices into the train pool, (n,)
FloatArray: TypeAlias = np.ndarray  # float32 or float64 array; its shape is in each docstring

P = TypeVar("P")


def register_strategy(plugin: P) -> P:
    """Register a query strategy under its ``__name__`` (``STRATEGIES.register(name=...)`` to rename)."""
    return STRATEGIES.add_named(plugin)


def register_method(plugin: P) -> P:
    """Register a transfer method (a frozen-dataclass class) under its ``__name__``."""
    return METHODS.add_named(plugin)


def register_dataset(plugin: P) -> P:
    """Register a dataset loader ``loader(*, data_dir, rng, **params) -> Dataset`` under its ``__name__``."""
    return DATASETS.add_named(plugin)


def register_backbone(plugin: P) -> P:
    """Register a backbone (a frozen-dataclass class) under its ``__name__``."""
    return BACKBONES.add_named(plugin)


@runtime_checkable
class EmbeddingBlocks(Protocol):
    """(n, d) float32 embeddings of n pool rows, read in blocks (never all copied at once)."""

    @property
    def shape(self) -> tuple[int, int]:
        """(n, d)."""
        ...

    def __len__(self) -> int: ...

    def take(self, pos: IntArray) -> FloatArray:
        """(len(pos), d) float32 rows at positions ``pos`` (0 ≤ pos < n)."""
        ...

    def block(self, start: int, stop: int) -> FloatArray:
        """(stop − start, d) rows start..stop−1."""
        ...

    def blocks(self, rows: int | None = None) -> Iterator[tuple[int, FloatArray]]:
        """(start, (b, d) block) over all n rows, ``rows`` at a time (default: a few MB)."""
        ...


@runtime_checkable
class ModelView(Protocol):
    """What a query strategy sees of the fitted model: read-only, by pool index.

    Only ``predict_proba`` always works; the others raise
    :class:`altbench.view.CapabilityError` when the method cannot provide them
    (``has(name)`` asks first).  Implemented by :class:`altbench.view.ModelView`
    (the harness) and :class:`altbench.strategies.testing.FakeView` (tests).
    """

    @property
    def labelled(self) -> IntArray:
        """(n_lab,) pool indices the model was fitted on."""
        ...

    @property
    def y_labelled(self) -> IntArray:
        """(n_lab,) their labels in [0, C)."""
        ...

    @property
    def n_classes(self) -> int:
        """C."""
        ...

    @property
    def n_pool(self) -> int:
        """Rows in the train pool (labelled + unlabelled)."""
        ...

    def predict_proba(self, idx: IntArray) -> FloatArray:
        """(n, C) class probabilities of pool rows ``idx`` (n,)."""
        ...

    def predict_proba_mc(self, idx: IntArray, n_samples: int, rng: np.random.Generator) -> FloatArray:
        """(n, C, T) probabilities under T = ``n_samples`` stochastic passes (MC dropout), masks from ``rng``."""
        ...

    def embed(self, idx: IntArray) -> FloatArray:
        """(n, d) float32 penultimate-layer embeddings."""
        ...

    def embeddings(self, idx: IntArray) -> EmbeddingBlocks:
        """(n, d) embeddings of ``idx`` read block by block (diversity strategies at scale)."""
        ...

    def grad_embed(self, idx: IntArray) -> FloatArray:
        """(n, C·d) last-layer gradient embeddings at the predicted label (Ash et al. 2020)."""
        ...

    def head_proba(self, H: FloatArray) -> FloatArray:
        """(m, C) probabilities of the classifier head on embeddings H (m, d) from ``embed``."""
        ...

    def decision_function(self, idx: IntArray) -> FloatArray:
        """(n, C) one-vs-rest decision scores (an uncalibrated SVM)."""
        ...

    def committee_proba(self, idx: IntArray, n_members: int, rng: np.random.Generator) -> FloatArray:
        """(n, C, M) probabilities of M = ``n_members`` committee members (query by committee)."""
        ...

    def has(self, capability: str) -> bool:
        """Whether the method behind the view provides ``capability`` (a method name above)."""
        ...


@runtime_checkable
class Strategy(Protocol):
    """A query strategy: a function, or a frozen dataclass (fields = YAML parameters) with this ``__call__``.

    Returns exactly ``budget`` distinct indices taken from ``pool`` (n_pool,);
    all randomness comes from ``rng`` (the run's query stream).  Never trains.
    """

    def __call__(self, view: ModelView, pool: IntArray, budget: int, rng: np.random.Generator) -> IntArray:
        """(budget,) int64 indices from ``pool``."""
        ...


@runtime_checkable
class FittedModel(Protocol):
    """A fitted model over the method's prepared inputs X (n, ...).

    Optional capabilities, found by name: ``predict_proba_mc(X, T, rng)``,
    ``embed(X)``, ``grad_embed(X)``, ``head_proba(H)``, ``decision_function(X)``,
    ``predict(X)`` (its own decision rule), ``committee_proba`` (see
    :class:`CommitteeModel`) and ``streams_rows = True`` (row-wise outputs).
    """

    @property
    def n_classes(self) -> int:
        """C."""
        ...

    def predict_proba(self, X: Any) -> FloatArray:
        """(n, C) class probabilities of the n rows of X."""
        ...


@runtime_checkable
class CommitteeModel(FittedModel, Protocol):
    """A fitted model that offers a committee (query by committee); the view forwards to it."""

    def committee_proba(self, X_lab: Any, y_lab: IntArray, X: Any, n_members: int,
                        rng: np.random.Generator) -> FloatArray:
        """(n, C, M) probabilities on X (n rows) of M members built from the labelled rows
        X_lab (n_lab, ...) with labels y_lab (n_lab,), e.g. bagged refits (Abe & Mamitsuka 1998)."""
        ...


@runtime_checkable
class TransferMethod(Protocol):
    """A transfer method: a frozen dataclass (fields = YAML parameters) whose ``fit`` returns a model.

    May also define ``prepare(dataset) -> (X_train, X_test)`` turning raw inputs into
    what ``fit`` takes (e.g. cached frozen-backbone features).
    """

    def fit(self, X: Any, y: IntArray, *, n_classes: int, rng_init: np.random.Generator,
            rng_order: np.random.Generator) -> FittedModel:
        """Fit on the labelled rows X (n_lab, ...) and labels y (n_lab,); init and data order from the rngs."""
        ...


@runtime_checkable
class Backbone(Protocol):
    """A feature extractor: a frozen dataclass (fields = config, preprocessing included).

    Fine-tunable backbones also give ``encoder() -> torch.nn.Module`` (see :mod:`altbench.backbones`).
    """

    @property
    def modality(self) -> str:
        """"text" or "image"."""
        ...

    def encode_split(self, X_train: Any, X_test: Any) -> tuple[FloatArray, FloatArray]:
        """(F_train (n, d), F_test (m, d)) float32 features (a split: TF-IDF fits on the train pool)."""
        ...


DatasetLoader: TypeAlias = Callable[..., Dataset]  # loader(*, data_dir: Path, rng: Generator | None, **params)
