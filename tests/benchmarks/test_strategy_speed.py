"""Query time of every registered strategy at N ∈ {10k, 50k, 200k} (d = 384, C = 10).

``make bench`` runs the 10k cases with timing (``-m "not large"``); the 50k
and 200k ones are marked ``large`` — run them with
``pytest tests/benchmarks --benchmark-enable -m large``.  Views are synthetic
(:func:`strategies.testing.blobs_view`): 100 labelled points, the rest pool.
Peak extra memory (tracemalloc, which sees every NumPy allocation) is
checked against the 2 GB target for the scalable strategies.
"""

from __future__ import annotations

import functools
import tracemalloc

import numpy as np
import pytest

from altbench.device import configure_worker
from altbench.registry import STRATEGIES
from altbench.strategies.testing import blobs_view

D, C, N_LAB = 384, 10, 100
SIZES = [pytest.param(10_000, id="10k"),
         pytest.param(50_000, id="50k", marks=pytest.mark.large),
         pytest.param(200_000, id="200k", marks=pytest.mark.large)]
# Budget 1,000 at 50k/200k (the scale target), 100 at 10k (CI).  BatchBALD's
# greedy joint entropy costs O(budget · candidates · configs · T): 100 / 10.
BUDGET = {"batchbald": 100}
SCALABLE = ["entropy", "margin", "least_confidence", "coreset", "badge"]
PEAK_LIMIT = 2 * 2**30  # bytes: the 2 GB target


@functools.lru_cache(maxsize=1)
def view_of(n: int):
    configure_worker(2)  # the targets are stated for 2 cores
    return blobs_view(n + N_LAB, D, C, np.random.default_rng(0), n_labelled=N_LAB)


def build(name):
    s = STRATEGIES.get(name)
    return s() if isinstance(s, type) else s


def budget_for(name: str, n: int) -> int:
    k = BUDGET.get(name, 1_000)
    return k if n > 10_000 else k // 10


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("name", STRATEGIES.names())
def test_query_time(benchmark, name, n):
    view = view_of(n)
    pool = np.arange(N_LAB, n + N_LAB)
    strategy, k = build(name), budget_for(name, n)
    benchmark.extra_info.update(n=n, budget=k, d=D, n_classes=C)
    picks = benchmark.pedantic(lambda: strategy(view, pool, k, np.random.default_rng(0)),
                               rounds=1, iterations=1)
    assert len(np.unique(picks)) == k


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("name", SCALABLE)
def test_peak_memory(name, n):
    view = view_of(n)
    pool = np.arange(N_LAB, n + N_LAB)
    tracemalloc.start()
    try:
        build(name)(view, pool, budget_for(name, n), np.random.default_rng(0))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < PEAK_LIMIT, f"{name} at n={n} peaked at {peak / 2**20:.0f} MB"
