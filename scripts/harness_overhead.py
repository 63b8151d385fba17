"""Harness overhead: altbench's ``run_grid`` against a minimal loop doing the same fits and queries.

The classic tabular protocol (query size 1, hundreds of rounds): each seed
runs ``rounds`` rounds of ``method`` × ``strategy`` on ``dataset``, once in a
plain loop written here (same ``Streams``, so the same fits, queries and final
accuracies, which are checked to be identical) and once through altbench's own
``run_grid`` (local executor, 1 job: supervised child, checkpoint lines,
results files).  Each side runs in a child process of this script, which
adopts their orphans (``PR_SET_CHILD_SUBREAPER``) so that the CPU time of the
whole process tree (fork server and run processes included) is counted.

Printed: wall (the fastest of ``--repeat``, as the cores may be shared) and CPU (all repeats and
the start-up included) of each side, their ratios and the per-round overhead
``(altbench − minimal) / rounds``.  The altbench wall is given twice: the
timed grid alone (fork server already started by a one-run warm-up grid)
and the fork server's start-up, which every ``altbench run`` pays once.

    python scripts/harness_overhead.py                      # breast_cancer, svm_rbf (Zhan), margin
    python scripts/harness_overhead.py --method logreg --rounds 300 --seeds 3
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

METHODS = {"svm_rbf": "{name: svm_rbf, gamma: auto, probability: none}", "logreg": "logreg"}
PR_SET_CHILD_SUBREAPER = 36


class PlainView:
    """The least a probability-based strategy needs: ``predict_proba`` of pool rows."""

    def __init__(self, model, X):
        self.model, self.X, self.n_classes = model, X, model.n_classes

    def predict_proba(self, idx):
        return self.model.predict_proba(self.X[idx])


def minimal_run(dataset, method, strategy, seed: int, initial: int, total: int) -> list[float]:
    """Accuracies per round of a plain AL loop (query size 1) with altbench's random streams."""
    from altbench.seeds import Streams

    streams = Streams(seed)
    y = dataset.y_train
    labelled = np.sort(streams.rng("initial").choice(len(y), size=initial, replace=False))
    in_pool = np.ones(len(y), dtype=bool)
    in_pool[labelled] = False
    accs = []
    for r in range(total - initial + 1):
        model = method.fit(dataset.X_train[labelled], y[labelled], n_classes=dataset.n_classes,
                           rng_init=streams.rng("model", r), rng_order=streams.rng("order", r))
        predict = getattr(model, "predict", None)
        pred = predict(dataset.X_test) if predict else model.predict_proba(dataset.X_test).argmax(1)
        accs.append(float((pred == dataset.y_test).mean()))
        if len(labelled) < total:
            picked = np.asarray(strategy(PlainView(model, dataset.X_train), np.flatnonzero(in_pool), 1,
                                         streams.rng("query", r)))
            in_pool[picked] = False
            labelled = np.concatenate([labelled, picked])
    return accs


def experiment(args, results_dir: str, seeds: list[int], total: int):
    from altbench.config import load_experiment

    return load_experiment(None, [f"datasets=[{args.dataset}]", f"methods=[{METHODS[args.method]}]",
                                  f"strategies=[{args.strategy}]", f"seeds={seeds}", "budget.query=1",
                                  f"budget.initial={args.initial}", f"budget.total={total}",
                                  f"results_dir={results_dir}", "n_jobs=1"])


def part_minimal(args) -> dict:
    from altbench.config import build_plugin
    from altbench.datasets import load_dataset
    from altbench.registry import METHODS as MR, STRATEGIES as SR
    from altbench.seeds import Streams

    def run_all(seeds: list[int], total: int) -> dict[int, list[float]]:
        accs = {}
        for cfg in experiment(args, "/nonexistent", seeds, total).runs:
            ds = load_dataset(cfg.dataset.name, rng=Streams(cfg.seed).rng("split"), **cfg.dataset.params)
            accs[cfg.seed] = minimal_run(ds, build_plugin(MR, cfg.method), build_plugin(SR, cfg.strategy),
                                         cfg.seed, args.initial, total)
        return accs

    run_all([99], args.initial + 2)  # warm-up, as altbench's: the late imports of a first fit
    walls = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        accs = run_all(list(range(args.seeds)), args.initial + args.rounds)
        walls.append(time.perf_counter() - t0)
    return {"wall": min(walls), "accuracy": accs}


def part_altbench(args) -> dict:
    from altbench.runner import run_grid
    from altbench.store import RunStore

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()  # warm-up: one short run starts the fork server (paid once per CLI call)
        run_grid(experiment(args, f"{tmp}/warm", [99], args.initial + 2), progress=False)
        startup = time.perf_counter() - t0
        walls = []
        for i in range(args.repeat):
            exp = experiment(args, f"{tmp}/grid{i}", list(range(args.seeds)), args.initial + args.rounds)
            t0 = time.perf_counter()
            rep = run_grid(exp, n_jobs=1, progress=False)
            walls.append(time.perf_counter() - t0)
            if rep.failed:
                raise SystemExit(f"altbench runs failed: {rep.failed[0][1]}")
        df = RunStore(exp.results_dir).read_results().sort_values(["seed", "round"])
        accs = {int(s): g.accuracy.tolist() for s, g in df.groupby("seed")}
    return {"wall": min(walls), "startup": startup, "accuracy": accs}


def measure(part: str, argv: list[str]) -> dict:
    """Run one side in a child process; its result plus the CPU seconds of its whole process tree."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, __file__, "--part", part, *argv], capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(f"{part} side failed: {out.stderr.strip().splitlines()[-1]}")
    while True:  # reap the adopted orphans (fork server, run processes) so their CPU is counted
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            break
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    res = json.loads(out.stdout.strip().splitlines()[-1])
    res["cpu"] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    res["process_wall"] = time.perf_counter() - t0
    return res


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dataset", default="breast_cancer")
    p.add_argument("--method", default="svm_rbf", choices=sorted(METHODS))
    p.add_argument("--strategy", default="margin")
    p.add_argument("--initial", type=int, default=20)
    p.add_argument("--rounds", type=int, default=300, help="queries per run (query size 1)")
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--repeat", type=int, default=3, help="timed repeats per side; the fastest counts (shared cores)")
    p.add_argument("--part", choices=["minimal", "altbench"], help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.part:
        print(json.dumps((part_minimal if args.part == "minimal" else part_altbench)(args)))
        return
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    argv = [a for a in sys.argv[1:]]
    mini, alt = measure("minimal", argv), measure("altbench", argv)
    same = mini["accuracy"] == alt["accuracy"]
    n = args.seeds * (args.rounds + 1)  # fits (rounds + the last evaluation) per run × seeds
    print(f"{args.dataset} × {args.method} × {args.strategy}, query 1, {args.rounds} rounds × {args.seeds} seeds "
          f"({n} fits), fastest of {args.repeat}; load average {os.getloadavg()[0]:.2f}")
    print(f"accuracies identical: {same}")
    print(f"minimal loop : wall {mini['wall']:.2f} s; process tree CPU {mini['cpu']:.2f} s "
          f"(all repeats; wall {mini['process_wall']:.2f} s with start-up)")
    print(f"altbench     : wall {alt['wall']:.2f} s (+ fork-server start-up {alt['startup']:.2f} s once per call); "
          f"process tree CPU {alt['cpu']:.2f} s (wall {alt['process_wall']:.2f} s with start-up)")
    print(f"ratio        : wall {alt['wall'] / mini['wall']:.2f}×; "
          f"wall incl. start-up {(alt['wall'] + alt['startup']) / mini['wall']:.2f}×; "
          f"process-tree CPU {alt['cpu'] / mini['cpu']:.2f}×")
    print(f"per round    : {(alt['wall'] - mini['wall']) / n * 1e3:.2f} ms overhead (wall, warm)")
    if not same:
        raise SystemExit("the two loops disagree: the minimal loop no longer mirrors altbench's")


if __name__ == "__main__":
    main()
