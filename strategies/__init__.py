"""Query-strategy plugins for altbench.

A strategy is a pure function (or a frozen dataclass with ``__call__``)::

    strategy(view: ModelView, pool: IntArray, budget: int, rng: Generator) -> IntArray

returning exactly ``budget`` distinct indices taken from ``pool``.  Register
with ``@STRATEGIES.register`` and declare it in the ``altbench.strategies``
entry-point group.
"""
