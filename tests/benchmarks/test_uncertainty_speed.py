"""Uncertainty strategies vs the plain numpy references of scripts/uncertainty_ratios.py.

Entropy, margin, least-confidence: numpy scores + argpartition on (n, C)
float64 probabilities; BALD: a chunked float32 reference on (n, C, T)
float32 samples.  Each case is timed for altbench ("altbench") and the
reference ("numpy") on the same preset arrays, one BLAS thread.  The 10k
cases run with ``make bench``; the 50k and 200k ones are marked ``large``:
``pytest tests/benchmarks/test_uncertainty_speed.py --benchmark-enable -m large``.
For the ratios side by side in one run: ``python scripts/uncertainty_ratios.py``.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest

from conftest import load_script

SIZES = [pytest.param(10_000, id="10k"),
         pytest.param(50_000, id="50k", marks=pytest.mark.large),
         pytest.param(200_000, id="200k", marks=pytest.mark.large)]


def ratios():
    return load_script("uncertainty_ratios")


@functools.lru_cache(maxsize=1)
def arrays(n: int):
    r, rng = ratios(), np.random.default_rng(n)
    return r.softmax_probs((n, r.C), rng), r.softmax_probs((n, r.C, r.T), rng, np.float32)


@pytest.fixture(autouse=True)
def one_thread():
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        yield


@pytest.mark.parametrize("k", [100, 1000])
@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("impl", ["altbench", "numpy"])
@pytest.mark.parametrize("name", ["entropy", "margin", "least_confidence", "bald"])
def test_uncertainty_query_time(benchmark, name, impl, n, k):
    r = ratios()
    P, P_mc = arrays(n)
    benchmark.extra_info.update(n=n, budget=k, n_classes=r.C, mc_samples=r.T)
    if impl == "numpy":
        picks = benchmark(r.REFERENCES[name], P_mc if name == "bald" else P, k)
    else:
        view, pool, strategy = r.PresetView(P, P_mc), np.arange(n), r.strategy(name)
        picks = benchmark(lambda: strategy(view, pool, k, np.random.default_rng(0)))
    assert len(np.unique(picks)) == k and picks.min() >= 0 and picks.max() < n
