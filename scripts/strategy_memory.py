"""Peak extra memory of the diversity strategies beyond the pool features.

Usage::

    python scripts/strategy_memory.py                      # coreset, badge at 200k; probcover at 50k, 200k
    python scripts/strategy_memory.py --cases coreset:20000 badge:20000 --model sklearn

Each case runs in a fresh subprocess.  The pool features (N, d) float32 are
Gaussian blobs in a memory-mapped ``.npy`` file (as linear-probe's cached
features); the child maps them, reads every page once (so they count as
resident before the baseline), fits the model on the first 100 rows, resets
its peak RSS (after one tiny warm-up call, so one-time torch set-up is not
counted), and runs one query of ``--budget`` points.  Two numbers per
case, both beyond the pool features: the tracemalloc peak (every NumPy
allocation) and the peak-RSS increase (VmHWM − VmRSS at the start; it also
sees torch, BLAS and scikit-learn buffers).  Targets (issue #12): coreset
≤ 50 MB and BADGE ≤ 100 MB at N = 200k, d = 384, k = 1000; ProbCover ≤ 1 GB.
"""

from __future__ import annotations

import argparse
import datetime
import json
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CASES = ["coreset:200000", "badge:200000", "probcover:50000", "probcover:200000"]
N_LABELLED, N_CLASSES = 100, 10
TARGET_MB = {"coreset": 50, "badge": 100, "probcover": 1024}


def write_features(path: Path, n: int, d: int, seed: int = 0, rows: int = 8192) -> None:
    """(n, d) float32 blobs (10 classes near a 16-dim subspace) and (n,) labels, written in chunks."""
    rng = np.random.default_rng(seed)
    R = np.linalg.qr(rng.standard_normal((d, 16)))[0].T.astype(np.float32)  # (16, d)
    centres = rng.normal(0, 1.5, size=(N_CLASSES, 16)).astype(np.float32)
    X = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(n, d))
    y = rng.integers(0, N_CLASSES, size=n)
    for s in range(0, n, rows):
        yy = y[s:s + rows]
        Z = centres[yy] + rng.standard_normal((len(yy), 16), dtype=np.float32)
        X[s:s + rows] = Z @ R + np.float32(0.1) * rng.standard_normal((len(yy), d), dtype=np.float32)
    X.flush()
    np.save(path.with_suffix(".y.npy"), y)


def status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"/proc/self/status has no {field}")


def build_view(path: Path, model: str):
    """A ModelView over the mapped features: logistic regression or a linear-probe head."""
    from altbench.view import ModelView

    X = np.load(path, mmap_mode="r")
    y = np.load(path.with_suffix(".y.npy"))
    lab = np.arange(N_LABELLED)
    if model == "sklearn":
        from sklearn.linear_model import LogisticRegression

        from altbench.methods.sklearn_models import SklearnModel

        fitted = SklearnModel(LogisticRegression(max_iter=200).fit(X[lab], y[lab]), N_CLASSES, np.unique(y[lab]))
    else:
        from altbench.methods.transfer import ProbeModel, fit_head
        from altbench.train import TrainConfig

        rng = np.random.default_rng(0)
        net = fit_head(np.asarray(X[lab]), y[lab], N_CLASSES, 0.1, TrainConfig(epochs=5, batch_size=32), rng, rng)
        fitted = ProbeModel(net, N_CLASSES)
    return ModelView(fitted, X, lab, y[lab], model), X


def child(name: str, path: Path, model: str, budget: int) -> dict:
    """Run one query in this (fresh) process and measure it."""
    from altbench.device import configure_worker
    from altbench.registry import STRATEGIES

    configure_worker(2)
    view, X = build_view(path, model)
    for s in range(0, len(X), 65536):  # every page of the features resident before the baseline
        float(X[s:s + 65536].sum())
    strategy = STRATEGIES.get(name)
    strategy = strategy() if isinstance(strategy, type) else strategy
    pool = np.arange(N_LABELLED, len(X))
    view.predict_proba(pool[:8])  # one-time library set-up (torch thread pools) is not the strategy's
    view.embeddings(pool[:8]).take(np.arange(8))
    Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current RSS
    rss0 = status_kb("VmRSS")
    tracemalloc.start()
    t0 = time.perf_counter()
    picks = strategy(view, pool, budget, np.random.default_rng(0))
    seconds = time.perf_counter() - t0
    traced = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert len(np.unique(picks)) == budget
    return {"strategy": name, "n": len(X), "d": X.shape[1], "budget": budget, "model": model,
            "tracemalloc_mb": traced / 2**20, "rss_mb": (status_kb("VmHWM") - rss0) / 1024,
            "features_mb": X.nbytes / 2**20, "seconds": seconds}


def run_case(case: str, d: int, model: str, budget: int, tmp: Path) -> dict:
    name, n = case.split(":")
    path = tmp / f"features_{n}_{d}.npy"
    if not path.exists():
        write_features(path, int(n), d)
    cmd = [sys.executable, __file__, "--child", name, str(path), "--model", model, "--budget", str(budget)]
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"{case} failed: {out.stderr.strip().splitlines()[-1] if out.stderr else out.returncode}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", nargs="*", default=DEFAULT_CASES, help="strategy:N pairs, run one at a time")
    ap.add_argument("--d", type=int, default=384, help="feature dimension")
    ap.add_argument("--budget", type=int, default=1000, help="points per query")
    ap.add_argument("--model", choices=["probe", "sklearn"], default="probe",
                    help="linear-probe head (ProbeModel) or logistic regression over the features")
    ap.add_argument("--out", type=Path, help="also write the table here (with a header naming this command)")
    ap.add_argument("--child", nargs=2, metavar=("STRATEGY", "FEATURES"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child[0], Path(args.child[1]), args.model, args.budget)))
        return 0
    lines = [f"{'case':<18} {'model':<8} {'traced MB':>10} {'RSS MB':>8} {'target':>7} {'seconds':>8}"]
    print(lines[0])
    with tempfile.TemporaryDirectory() as tmp:
        for case in args.cases:
            r = run_case(case, args.d, args.model, args.budget, Path(tmp))
            lines.append(f"{case:<18} {r['model']:<8} {r['tracemalloc_mb']:10.1f} {r['rss_mb']:8.1f} "
                         f"{TARGET_MB.get(r['strategy'], 0):7d} {r['seconds']:8.1f}")
            print(lines[-1], flush=True)
    if args.out:
        when = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
        args.out.write_text(f"# generated by `python scripts/strategy_memory.py --out {args.out}` at {when}; "
                            f"d={args.d}, k={args.budget}, model {args.model}; MB beyond the pool features; "
                            "do not edit\n" + "\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
