"""Query-strategy plugins for altbench.

A strategy is a pure function (or a frozen dataclass with ``__call__``)::

    strategy(view: ModelView, pool: IntArray, budget: int, rng: Generator) -> IntArray

returning exactly ``budget`` distinct indices taken from ``pool``: the
:class:`altbench.api.Strategy` protocol.  Register with
``@STRATEGIES.register`` (``from altbench.api import STRATEGIES``); a built-in
module is listed once in :mod:`altbench.builtins`, a third-party one declares
the ``altbench.strategies`` entry-point group in its own ``pyproject.toml``.

Built-ins: ``uncertainty`` (random, least-confidence, margin, entropy),
``mc_dropout`` (BALD, variation ratios, mean STD), ``batchbald``,
``stochastic`` (power/softmax/soft-rank sampling of any score), ``coreset``,
``badge``, ``cluster_margin``, ``typiclust``, ``probcover``, ``cal``, ``dal``,
``alfamix``, ``egl``, ``density`` (information density), ``qbc``, ``us_c``.  Shared building
blocks: ``_select.top_k`` (seeded tie-breaking) and ``_geometry`` (chunked
distances, kNN, ε-graphs, k-center greedy, seeded k-means++ and k-means —
never an n×n matrix).  ``testing.FakeView`` is a ModelView over fixed arrays
for tests and benchmarks (it satisfies :class:`altbench.api.ModelView`).
"""
