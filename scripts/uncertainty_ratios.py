"""Time altbench's uncertainty strategies against plain numpy references, side by side.

    python scripts/uncertainty_ratios.py [--sizes 50000 200000] [--ks 100 1000] [--repeats 5]

References (issue #12): entropy, margin and least-confidence as numpy
"scores + argpartition" on the pool's (n, C) float64 probabilities; BALD as
a chunked float32 computation + argpartition on (n, C, T) float32 samples.
Both sides get the same arrays from a preset view that hands them out
without copying, so only the strategy's own work is timed.  One BLAS/OpenMP
thread (threadpoolctl).  ``agree`` is the share of altbench's picks found
in the float64 textbook reference's picks (same tie stream); ``beyond ties``
counts differing picks whose reference scores are not within 2^-29
relative of the k-th score (must be 0).  ``bald64`` is BALD on float64
samples, the dtype ``altbench.view.ModelView.predict_proba_mc`` passes today.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

C, T, MC_CHUNK = 10, 20, 4096  # classes, MC samples, pool points per MC chunk


class PresetView:
    """Minimal ModelView over precomputed outputs for pool = arange(n); slices, never copies."""

    def __init__(self, P: np.ndarray, P_mc: np.ndarray | None = None):
        self.P, self.P_mc = P, P_mc  # (n, C), (n, C, T)

    def predict_proba(self, idx: np.ndarray) -> np.ndarray:
        return self.P[idx[0]:idx[-1] + 1]

    def predict_proba_mc(self, idx: np.ndarray, n_samples: int, rng: np.random.Generator) -> np.ndarray:
        return self.P_mc[idx[0]:idx[-1] + 1, :, :n_samples]


def softmax_probs(shape: tuple[int, ...], rng: np.random.Generator, dtype=np.float64) -> np.ndarray:
    """Random softmax probabilities over axis 1 (classes)."""
    z = rng.standard_normal(shape, dtype=np.float32) * np.float32(2.0)
    z = np.exp(z - z.max(axis=1, keepdims=True))
    z /= z.sum(axis=1, keepdims=True)
    return z.astype(dtype, copy=False)


# ------------------------------------------------------------- numpy references
def ref_entropy(P, k):
    return np.argpartition(-(-(P * np.log(P)).sum(axis=1)), k - 1)[:k]


def ref_margin(P, k):
    top2 = np.partition(P, -2, axis=1)[:, -2:]
    return np.argpartition(-(1.0 - (top2[:, 1] - top2[:, 0])), k - 1)[:k]


def ref_least_confidence(P, k):
    return np.argpartition(-(1.0 - P.max(axis=1)), k - 1)[:k]


def ref_bald(P_mc, k, chunk=MC_CHUNK):
    """Chunked float32 BALD + argpartition.  P_mc: (n, C, T) float32."""
    s = np.empty(len(P_mc), np.float32)
    for a in range(0, len(P_mc), chunk):
        pt = P_mc[a:a + chunk]
        m = pt.mean(axis=2)
        s[a:a + chunk] = -(m * np.log(m)).sum(axis=1) + (pt * np.log(pt)).sum(axis=(1, 2)) / pt.shape[2]
    return np.argpartition(-s, k - 1)[:k]


REFERENCES = {"entropy": ref_entropy, "margin": ref_margin, "least_confidence": ref_least_confidence,
              "bald": ref_bald}


def float64_scores(name: str, P: np.ndarray, P_mc: np.ndarray) -> np.ndarray:
    """Textbook float64 scores (np.where for 0 log 0): the agreement reference."""
    def plogp(x):
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(x > 0, x * np.log(x), 0.0)

    if name == "bald":
        p = P_mc.astype(np.float64)
        return -plogp(p.mean(axis=2)).sum(axis=1) + plogp(p).sum(axis=(1, 2)) / p.shape[2]
    s = np.sort(P, axis=1)
    return {"entropy": -plogp(P).sum(axis=1), "margin": 1.0 - (s[:, -1] - s[:, -2]),
            "least_confidence": 1.0 - s[:, -1]}[name]


def strategy(name: str):
    from altbench.strategies.mc_dropout import Bald
    from altbench.strategies.uncertainty import entropy, least_confidence, margin

    return {"entropy": entropy, "margin": margin, "least_confidence": least_confidence,
            "bald": Bald(n_samples=T, chunk=MC_CHUNK)}[name]


def best_of(fn, repeats: int) -> float:
    """Minimum wall seconds of ``repeats`` calls (after one warm-up)."""
    fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def agreement(picks: np.ndarray, scores: np.ndarray, k: int, seed: int) -> tuple[float, int]:
    """(share of picks in the float64 reference's top-k, differing picks beyond float ties)."""
    want = np.lexsort((np.random.default_rng(seed).random(len(scores)), -scores))[:k]
    kth = np.sort(scores)[len(scores) - k]
    differ = np.setxor1d(picks, want)
    return len(np.intersect1d(picks, want)) / k, int(np.sum(np.abs(scores[differ] - kth) > 2.0 ** -29 * abs(kth)))


def measure(n: int, ks: list[int], repeats: int, rng: np.random.Generator) -> list[tuple]:
    P = softmax_probs((n, C), rng)  # (n, C) float64, as the ModelView returns
    P_mc = softmax_probs((n, C, T), rng, np.float32)  # (n, C, T) float32, as a torch model samples
    view = PresetView(P, P_mc)
    pool, rows = np.arange(n), []
    for name in REFERENCES:
        ref_in = P_mc if name == "bald" else P
        scores = float64_scores(name, P, P_mc)
        for k in ks:
            ours = strategy(name)
            t_ours = best_of(lambda: ours(view, pool, k, np.random.default_rng(0)), repeats)
            t_ref = best_of(lambda: REFERENCES[name](ref_in, k), repeats)
            share, beyond = agreement(ours(view, pool, k, np.random.default_rng(1)), scores, k, 1)
            rows.append((name, n, k, t_ours, t_ref, share, beyond))
    view64 = PresetView(P, P_mc.astype(np.float64))
    for k in ks:
        t = best_of(lambda: strategy("bald")(view64, pool, k, np.random.default_rng(0)), repeats)
        rows.append(("bald64", n, k, t, best_of(lambda: ref_bald(P_mc, k), repeats), float("nan"), 0))
    return rows


def main(argv=None) -> int:
    from threadpoolctl import threadpool_limits

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[50_000, 200_000])
    ap.add_argument("--ks", type=int, nargs="+", default=[100, 1000])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--out", type=Path, help="also write the table here (with a header naming this command)")
    args = ap.parse_args(argv)
    lines = [f"{'strategy':17s} {'N':>7s} {'k':>5s} {'altbench ms':>11s} {'numpy ms':>9s} {'ratio':>6s} "
             f"{'agree':>6s} {'beyond ties':>11s}"]
    print(lines[0])
    with threadpool_limits(1):
        for n in args.sizes:
            for name, n_, k, t_ours, t_ref, share, beyond in measure(n, args.ks, args.repeats,
                                                                      np.random.default_rng(n)):
                lines.append(f"{name:17s} {n_:7d} {k:5d} {1e3 * t_ours:11.2f} {1e3 * t_ref:9.2f} "
                             f"{t_ours / t_ref:6.2f} {share:6.3f} {beyond:11d}")
                print(lines[-1], flush=True)
    if args.out:
        write_table(args.out, "python scripts/uncertainty_ratios.py --out " + str(args.out), lines)
    return 0


def write_table(path: Path, command: str, lines: list[str]) -> None:
    """``lines`` under a header naming the command, the time and the load average (timings depend on it)."""
    import datetime
    import os

    when = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    head = (f"# generated by `{command}` at {when}; load average {os.getloadavg()[0]:.2f} on "
            f"{os.cpu_count()} cores; 1 BLAS thread; do not edit\n")
    path.write_text(head + "\n".join(lines) + "\n")


if __name__ == "__main__":
    raise SystemExit(main())
