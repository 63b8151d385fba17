"""The harness's own cost per AL round, with fit and query made nearly free.

A preset model (its probabilities are fixed per row, "fitting" copies
nothing) and a query of the most uncertain row leave only what the harness
adds per round: the random streams, the test-set check and metrics, the
ModelView, the pick check and the checkpoint line.  ``altbench`` runs
:func:`altbench.loop.run_active_learning` with the store's checkpoint writer;
``plain`` runs the minimal loop of ``scripts/harness_overhead.py`` on the same
inputs (same picks and accuracies, checked).  ``test_cold_call`` times a whole
cold call instead: ``altbench run`` as a process (CLI, fork server, run process,
results files) against the minimal loop as a process, on the same grid.
Benchmarks never assert times; the end-to-end ratios on a real protocol, warm
and cold side by side, are ``python scripts/harness_overhead.py``.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest

from conftest import load_script

from altbench.datasets import Dataset
from altbench.loop import Budget, run_active_learning
from altbench.seeds import Streams
from altbench.store import RunStore

N_TRAIN, N_TEST, C, INITIAL, ROUNDS = 2000, 500, 3, 10, 100


def script():
    return load_script("harness_overhead")


class PresetModel:
    """Probabilities fixed per row: row i of the inputs holds its own (C,) probabilities."""

    n_classes = C

    def __init__(self, labelled_count: int):
        self.shift = labelled_count % C  # predictions change a little as labels arrive

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        return np.roll(X, self.shift, axis=1)


class PresetMethod:
    def fit(self, X, y, *, n_classes, rng_init, rng_order) -> PresetModel:
        return PresetModel(len(y))


def most_uncertain(view, pool, budget, rng):
    """Lowest top probability (no tie-breaking: the preset rows are distinct)."""
    return pool[np.argsort(view.predict_proba(pool).max(1), kind="stable")[:budget]]


@functools.lru_cache(maxsize=1)
def dataset() -> Dataset:
    rng = np.random.default_rng(7)
    P = rng.dirichlet(np.ones(C), size=N_TRAIN + N_TEST)  # (n, C) rows of distinct probabilities
    y = rng.integers(0, C, size=N_TRAIN + N_TEST)
    return Dataset("preset", "tabular", P[:N_TRAIN], y[:N_TRAIN], P[N_TRAIN:], y[N_TRAIN:],
                   tuple(map(str, range(C))))


@pytest.mark.parametrize("impl", ["altbench", "plain"])
def test_harness_round_time(benchmark, impl, tmp_path):
    ds, budget = dataset(), Budget(initial=INITIAL, query=1, total=INITIAL + ROUNDS)
    benchmark.extra_info.update(rounds=ROUNDS, n_pool=N_TRAIN, n_test=N_TEST)
    store, runs = RunStore(tmp_path), iter(range(10**6))
    store.runs.mkdir(parents=True)

    def altbench():
        run_id = f"r{next(runs)}"
        records = run_active_learning(ds, PresetMethod(), most_uncertain, budget, Streams(0),
                                      on_round=lambda rec: store.append_round(run_id, rec))
        assert store.rounds_done(run_id) == ROUNDS + 1
        return [r["accuracy"] for r in records]

    def plain():
        return script().minimal_run(ds, PresetMethod(), most_uncertain, 0, INITIAL, INITIAL + ROUNDS)

    accs = benchmark(altbench if impl == "altbench" else plain)
    assert len(accs) == ROUNDS + 1
    assert accs == (plain() if impl == "altbench" else altbench())  # the two loops agree


COLD = dict(dataset="breast_cancer", method="logreg", strategy="margin", initial=20, rounds=20, seeds=1)


@pytest.mark.parametrize("impl", ["altbench", "plain"])
def test_cold_call(benchmark, impl, tmp_path):
    """A whole cold call: ``altbench run … --no-report`` against the minimal loop as its own process
    (same grid, same seeds; the side-by-side ratio is ``python scripts/harness_overhead.py``)."""
    import argparse
    import json
    import subprocess
    import sys

    s, args, calls = script(), argparse.Namespace(**COLD), iter(range(10**6))
    side = [f"--{k}={v}" for k, v in COLD.items()]
    benchmark.extra_info.update(COLD)

    def altbench() -> list[float]:
        out = tmp_path / f"cold{next(calls)}"
        subprocess.run([sys.executable, "-m", "altbench", "run", *s.cli_overrides(args, str(out))], check=True,
                       capture_output=True)
        return RunStore(out).read_results().sort_values("round").accuracy.tolist()

    def plain() -> list[float]:
        proc = subprocess.run([sys.executable, s.__file__, "--part", "cold-minimal", *side], check=True,
                              capture_output=True, text=True)
        return json.loads(proc.stdout.strip().splitlines()[-1])["accuracy"]["0"]

    accs = benchmark.pedantic(altbench if impl == "altbench" else plain, rounds=3, iterations=1)
    assert len(accs) == COLD["rounds"] + 1
    assert accs == (plain() if impl == "altbench" else altbench())  # the same grid, the same numbers
