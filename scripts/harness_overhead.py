"""Harness overhead: altbench against a minimal loop doing the same fits and queries, warm and cold.

The classic tabular protocol (query size 1, hundreds of rounds): each seed
runs ``rounds`` rounds of ``method`` × ``strategy`` on ``dataset``, once in a
plain loop written here (same ``Streams``, so the same fits, queries and final
accuracies, which are checked to be identical) and once through altbench.
Two comparisons, side by side, on the same seeds:

* **warm**: inside one process each, after a one-run warm-up (imports done, the
  fork server started): the grid through ``run_grid`` (local executor, 1 job:
  supervised child, checkpoint lines, results files) against the loop; plus the
  per-round overhead ``(altbench − minimal) / rounds``;
* **cold**: a whole ``altbench run … --no-report`` CLI call against the minimal
  loop started as its own Python process (both parse the same config with
  altbench's parser, so that both build identical plugins): start-up, imports,
  fork server, run processes, results files, exit.

Every measured process runs under this script, which adopts orphans
(``PR_SET_CHILD_SUBREAPER``), so the CPU time of each whole process tree (fork
server and run processes included) is counted.  Walls are the fastest of
``--repeat`` (cold sides alternate), as the cores may be shared; the load
average is printed.  ``--out FILE`` also writes the report there.  Timings on a
loaded machine are spoiled: re-run on a quiet one.  A scikit-learn grid's
processes never import torch; the first call on a machine (or after a torch
upgrade) probes torch's kernel info once for the run records
(:func:`altbench.provenance.cached_torch_kernels`), which the fastest wall and
the median CPU leave out.

    python scripts/harness_overhead.py --out results/strategy_speed/harness_overhead.txt
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


def minimal_grid(args, seeds: list[int], total: int) -> dict[int, list[float]]:
    """Accuracies per seed of the minimal loop over the grid (plugins built by altbench's config)."""
    from altbench.config import build_plugin
    from altbench.datasets import load_dataset
    from altbench.registry import METHODS as MR, STRATEGIES as SR
    from altbench.seeds import Streams

    accs = {}
    for cfg in experiment(args, "/nonexistent", seeds, total).runs:
        ds = load_dataset(cfg.dataset.name, rng=Streams(cfg.seed).rng("split"), **cfg.dataset.params)
        accs[cfg.seed] = minimal_run(ds, build_plugin(MR, cfg.method), build_plugin(SR, cfg.strategy),
                                     cfg.seed, args.initial, total)
    return accs


def part_minimal(args) -> dict:
    minimal_grid(args, [99], args.initial + 2)  # warm-up, as altbench's: the late imports of a first fit
    walls = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        accs = minimal_grid(args, list(range(args.seeds)), args.initial + args.rounds)
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


def part_cold_minimal(args) -> dict:
    """The minimal loop as a process of its own: imports, config, data, every seed once."""
    return {"accuracy": minimal_grid(args, list(range(args.seeds)), args.initial + args.rounds)}


def cli_overrides(args, results_dir: str) -> list[str]:
    """``altbench run`` arguments for the same grid as :func:`experiment`."""
    return [f"datasets=[{args.dataset}]", f"methods=[{METHODS[args.method]}]", f"strategies=[{args.strategy}]",
            f"seeds={list(range(args.seeds))}", "budget.query=1", f"budget.initial={args.initial}",
            f"budget.total={args.initial + args.rounds}", "n_jobs=1", "--results-dir", results_dir,
            "--no-progress", "--no-report"]


def tree(cmd: list[str]) -> tuple[str, float, float]:
    """Run ``cmd``; (stdout, wall, CPU seconds of its whole process tree)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if out.returncode:
        raise SystemExit(f"{' '.join(cmd[:4])} failed: {(out.stderr.strip().splitlines() or ['?'])[-1]}")
    while True:  # reap the adopted orphans (fork server, run processes) so their CPU is counted
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            break
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return out.stdout, wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def measure(part: str, argv: list[str]) -> dict:
    """Run one warm side in a child process; its result plus the CPU seconds of its whole process tree."""
    stdout, wall, cpu = tree([sys.executable, __file__, "--part", part, *argv])
    res = json.loads(stdout.strip().splitlines()[-1])
    res["cpu"], res["process_wall"] = cpu, wall
    return res


def measure_cold(args, argv: list[str]) -> tuple[dict, dict]:
    """Cold minimal process and cold ``altbench run`` call, alternating, ``args.repeat`` times each."""
    from altbench.store import RunStore

    mini: dict = {"wall": [], "cpu": []}
    alt: dict = {"wall": [], "cpu": []}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.repeat):
            stdout, wall, cpu = tree([sys.executable, __file__, "--part", "cold-minimal", *argv])
            mini["wall"].append(wall), mini["cpu"].append(cpu)
            mini["accuracy"] = {int(k): v for k, v in json.loads(stdout.strip().splitlines()[-1])["accuracy"].items()}
            _, wall, cpu = tree([sys.executable, "-m", "altbench", "run", *cli_overrides(args, f"{tmp}/cold{i}")])
            alt["wall"].append(wall), alt["cpu"].append(cpu)
            df = RunStore(Path(f"{tmp}/cold{i}")).read_results().sort_values(["seed", "round"])
            alt["accuracy"] = {int(s): g.accuracy.tolist() for s, g in df.groupby("seed")}
    return mini, alt


def report(args, mini: dict, alt: dict, cold_mini: dict, cold_alt: dict) -> list[str]:
    """The side-by-side table: wall and CPU of each side and their ratios, warm and cold."""
    n = args.seeds * (args.rounds + 1)  # fits (rounds + the last evaluation) per run × seeds
    rows = [("warm wall (the grid alone, fastest)", mini["wall"], alt["wall"]),
            ("warm side's CPU (tree, start-up incl.)", mini["cpu"], alt["cpu"]),
            ("cold wall (whole process, fastest)", min(cold_mini["wall"]), min(cold_alt["wall"])),
            ("cold CPU (process tree, median)", _median(cold_mini["cpu"]), _median(cold_alt["cpu"]))]
    lines = [f"{args.dataset} × {args.method} × {args.strategy}, query 1, {args.rounds} rounds × {args.seeds} seeds "
             f"({n} fits), {args.repeat} repeats; load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores",
             f"command: python scripts/harness_overhead.py {' '.join(a for a in sys.argv[1:])}".rstrip(),
             "cold altbench: `altbench run … --no-report` (CLI start, fork server, run processes, results "
             "files); cold minimal: the loop as its own process",
             f"{'':38s} {'minimal':>9s} {'altbench':>9s} {'ratio':>7s}"]
    lines += [f"{name:38s} {m:8.2f}s {a:8.2f}s {a / m:6.2f}×" for name, m, a in rows]
    lines.append(f"{'per-round overhead (warm wall)':38s} {(alt['wall'] - mini['wall']) / n * 1e3:8.2f} ms")
    lines.append(f"{'fork-server start (warm side, once)':38s} {alt['startup']:8.2f} s")
    lines.append(f"{'cold start-up beyond the minimal loop':38s} "
                 f"{min(cold_alt['wall']) - min(cold_mini['wall']) - (alt['wall'] - mini['wall']):8.2f} s "
                 f"(cold extra wall minus warm extra wall)")
    lines.append("targets (issue #12.4): ratio ≤ 1.3×, per-round overhead ≤ 2 ms; timings on a loaded machine "
                 "are spoiled, compare the load average with the cores")
    lines.append(f"altbench's run processes import torch: {torch_in_runs(args)} (only grids whose plugins use it)")
    lines.append(f"accuracies identical: warm {mini['accuracy'] == alt['accuracy']}, "
                 f"cold {cold_mini['accuracy'] == cold_alt['accuracy'] == mini['accuracy']}")
    return lines


def torch_in_runs(args) -> bool:
    """Whether the grid's run processes start with torch (their fork server's preload)."""
    from altbench.runner import preload_for

    return "torch" in preload_for(experiment(args, "/nonexistent", [0], args.initial + 1).runs)


def _median(xs: list[float]) -> float:
    return float(np.median(xs))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dataset", default="breast_cancer")
    p.add_argument("--method", default="svm_rbf", choices=sorted(METHODS))
    p.add_argument("--strategy", default="margin")
    p.add_argument("--initial", type=int, default=20)
    p.add_argument("--rounds", type=int, default=300, help="queries per run (query size 1)")
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--repeat", type=int, default=3, help="timed repeats per side; the fastest counts (shared cores)")
    p.add_argument("--out", type=Path, help="also write the report to this file")
    p.add_argument("--part", choices=sorted(PARTS), help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.part:
        print(json.dumps(PARTS[args.part](args)))
        return
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    argv = _side_argv(sys.argv[1:])
    mini, alt = measure("minimal", argv), measure("altbench", argv)
    mini["accuracy"] = {int(k): v for k, v in mini["accuracy"].items()}
    alt["accuracy"] = {int(k): v for k, v in alt["accuracy"].items()}
    cold_mini, cold_alt = measure_cold(args, argv)
    lines = report(args, mini, alt, cold_mini, cold_alt)
    print("\n".join(lines))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text("\n".join(lines) + "\n")
    if not (mini["accuracy"] == alt["accuracy"] == cold_mini["accuracy"] == cold_alt["accuracy"]):
        raise SystemExit("the loops disagree: the minimal loop no longer mirrors altbench's")


def _side_argv(argv: list[str]) -> list[str]:
    """The arguments a side's process gets: the protocol's, without ``--out``."""
    out, skip = [], False
    for a in argv:
        if skip:
            skip = False
        elif a == "--out":
            skip = True
        elif not a.startswith("--out="):
            out.append(a)
    return out


PARTS = {"minimal": part_minimal, "altbench": part_altbench, "cold-minimal": part_cold_minimal}


if __name__ == "__main__":
    main()
