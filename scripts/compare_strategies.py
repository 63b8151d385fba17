"""Time altbench's strategies against scikit-activeml and small-text on the same inputs.

Usage (needs the optional extra: ``pip install -e '.[compare]'``)::

    python scripts/compare_strategies.py --n 50000 --budget 1000 \
        --out results/strategy_speed/compare.txt

One synthetic view (``strategies.testing.blobs_view``: n pool points plus 100
labelled, d = 384, C = 10) is shared by all three libraries.  Each library
call runs in a forked child with a time limit; a call that runs past it is
reported as "> limit".  The ratio is library time / altbench time.  ProbCover
in scikit-activeml builds n×n matrices (20 GB at n = 50k), so it is compared
at ``--n-quadratic`` points instead.  Picks are compared where the
algorithms coincide:

* coreset — all three run k-center greedy from the labelled set, so the picks
  are identical (checked against scikit-activeml in the last column);
* BADGE — scikit-activeml runs the same algorithm (largest gradient norm
  first, then D² sampling), so the first centre is identical and the rest are
  equal in distribution but drawn by another generator (altbench's draws
  equal k-means++ on materialised embeddings: tests/test_strategies_reference.py).
  small-text's BADGE is not equivalent: it scales h by −p_c for every class
  (no e_ŷ term), seeds sklearn's greedy k-means++ with an unseeded
  RandomState and passes norms as squared norms — timing only;
* entropy — the same top-k; TypiClust/ProbCover — same method, different
  clustering runs and tie-breaks, so only the overlap is printed.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import platform
import sys
import time
import warnings
from pathlib import Path

import numpy as np

from altbench.device import configure_worker
from altbench.strategies.badge import badge
from altbench.strategies.coreset import coreset
from altbench.strategies.probcover import ProbCover
from altbench.strategies.testing import blobs_view
from altbench.strategies.typiclust import TypiClust
from altbench.strategies.uncertainty import entropy

N_LAB, D, C = 100, 384, 10


def _child(fn, q):
    warnings.simplefilter("ignore")
    try:
        t0 = time.perf_counter()
        picks = np.asarray(fn(), dtype=np.int64)
        q.put((time.perf_counter() - t0, picks))
    except Exception as exc:  # report, don't hang the parent until the limit
        q.put((exc, None))


def timed(fn, limit: float):
    """(seconds or None if over ``limit``, picks or None), run in a forked child."""
    ctx = mp.get_context("fork")
    q = ctx.Queue()
    p = ctx.Process(target=_child, args=(fn, q))
    p.start()
    try:
        secs, picks = q.get(timeout=limit)
    except Exception:  # queue.Empty: over the limit (or the child died)
        p.terminate()
        p.join()
        return None, None
    p.join()
    if isinstance(secs, Exception):
        print(f"  (a library call failed: {secs!r})", file=sys.stderr)
        return float("nan"), None
    return secs, picks


# -- scikit-activeml adapters --------------------------------------------------

def skactiveml_calls(view, n, k):
    """name → zero-argument callable returning picks as indices into the pool."""
    import skactiveml.pool as skp
    from skactiveml.base import SkactivemlClassifier

    H, P = view.H, view.P
    # altbench indexes the pool first, labelled last; skactiveml takes all rows with NaN labels
    order = np.r_[np.arange(N_LAB, N_LAB + n), np.arange(N_LAB)]
    X = H[order].astype(np.float64)
    y = np.full(len(order), np.nan)
    y[n:] = view.y_labelled
    idx = order.astype(np.float64)[:, None]  # rows carry their own index for the fake classifier

    class Fixed(SkactivemlClassifier):
        """Classifier returning altbench's fixed probabilities (and embeddings)."""

        def __init__(self, classes=None, missing_label=np.nan, random_state=None):
            super().__init__(classes=classes, missing_label=missing_label, random_state=random_state)

        def fit(self, X, y, sample_weight=None):
            self._validate_data(X, y)
            return self

        def predict_proba(self, X, return_embeddings=False):
            rows = np.asarray(X)[:, 0].astype(np.int64)
            return (P[rows], H[rows].astype(np.float64)) if return_embeddings else P[rows]

    clf = Fixed(classes=np.arange(C)).fit(idx, y)
    to_pool = lambda q: order[np.asarray(q)]  # noqa: E731
    return {
        "coreset": lambda: to_pool(skp.CoreSet(random_state=0).query(X, y, batch_size=k)),
        "badge": lambda: to_pool(skp.Badge(clf_embedding_flag_name="return_embeddings", random_state=0)
                                 .query(idx, y, clf, fit_clf=False, batch_size=k)),
        "entropy": lambda: to_pool(skp.UncertaintySampling(method="entropy", random_state=0)
                                   .query(idx, y, clf, fit_clf=False, batch_size=k)),
        "typiclust": lambda: to_pool(skp.TypiClust(k=20, random_state=0).query(X, y, batch_size=k)),
        "probcover": lambda: to_pool(skp.ProbCover(n_classes=C, random_state=0).query(X, y, batch_size=k)),
    }


# -- small-text adapters -------------------------------------------------------

def small_text_calls(view, n, k):
    from small_text.integrations.pytorch.query_strategies import BADGE
    from small_text.query_strategies import GreedyCoreset, PredictionEntropy

    H, P = view.H, view.P
    order = np.r_[np.arange(N_LAB, N_LAB + n), np.arange(N_LAB)]
    emb, proba = H[order].astype(np.float64), P[order]
    unl, lab = np.arange(n), np.arange(n, n + N_LAB)  # greedy_coreset needs the pool first

    class Fixed:
        def predict_proba(self, rows):
            return proba[np.asarray(rows)]

    dataset = np.arange(len(order))
    return {
        "coreset": lambda: order[GreedyCoreset(normalize=False).sample(
            None, dataset, unl, lab, None, k, emb)],
        "badge": lambda: order[unl[BADGE(num_classes=C).sample(
            None, dataset, unl, lab, None, k, emb, embeddings_proba=proba)]],
        "entropy": lambda: order[PredictionEntropy().query(Fixed(), dataset, unl, lab, view.y_labelled, n=k)],
    }


# -- altbench ------------------------------------------------------------------

def altbench_calls(view, n, k):
    pool = np.arange(N_LAB, N_LAB + n)
    rng = lambda: np.random.default_rng(0)  # noqa: E731
    return {"coreset": lambda: coreset(view, pool, k, rng()),
            "badge": lambda: badge(view, pool, k, rng()),
            "entropy": lambda: entropy(view, pool, k, rng()),
            "typiclust": lambda: TypiClust()(view, pool, k, rng()),
            "probcover": lambda: ProbCover()(view, pool, k, rng())}


def same_picks(name, ours, theirs) -> str:
    if theirs is None:
        return "-"
    if name == "coreset":
        return "identical" if np.array_equal(ours, theirs) else f"{np.mean(ours == theirs):.0%} in order"
    if name == "badge":
        return "same 1st centre" if ours[0] == theirs[0] else "different 1st centre"
    return f"{len(np.intersect1d(ours, theirs)) / len(ours):.0%} overlap"


def fmt(t, limit):
    return f"> {limit:.0f}" if t is None else ("error" if np.isnan(t) else f"{t:.3g}")


def scale_report(n: int, k: int, out) -> list[str]:
    """altbench alone at pool size n: seconds and tracemalloc peak per scalable strategy."""
    import tracemalloc

    from altbench.strategies.uncertainty import least_confidence, margin

    view = blobs_view(n + N_LAB, D, C, np.random.default_rng(0), n_labelled=N_LAB)
    pool = np.arange(N_LAB, N_LAB + n)
    lines = [f"# regenerate: python scripts/compare_strategies.py --scale --n {n} --budget {k} --out {out or '<file>'}",
             f"# altbench only, 2 threads, n={n}, d={D}, C={C}, k={k}, {N_LAB} labelled; "
             "time of one query; peak = tracemalloc peak during it (the view's arrays excluded)",
             f"{'strategy':<17} {'seconds':>8} {'peak MB':>8}"]
    print("\n".join(lines), flush=True)
    for name, fn in [("least_confidence", least_confidence), ("margin", margin), ("entropy", entropy),
                     ("coreset", coreset), ("badge", badge)]:
        tracemalloc.start()
        t0 = time.perf_counter()
        fn(view, pool, k, np.random.default_rng(0))
        secs = time.perf_counter() - t0
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        lines.append(f"{name:<17} {secs:>8.2f} {peak / 2**20:>8.0f}")
        print(lines[-1], flush=True)
    return lines


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=50_000, help="pool size")
    ap.add_argument("--n-quadratic", type=int, default=5_000, help="pool size for ProbCover")
    ap.add_argument("--budget", type=int, default=1_000)
    ap.add_argument("--limit", type=float, default=600.0, help="seconds allowed per library call")
    ap.add_argument("--strategies", default="coreset,badge,entropy,typiclust,probcover")
    ap.add_argument("--out", type=Path, default=None, help="also write the table here")
    ap.add_argument("--scale", action="store_true", help="time altbench alone (no libraries needed)")
    args = ap.parse_args(argv)
    configure_worker(2)
    if args.scale:
        lines = scale_report(args.n, args.budget, args.out)
        if args.out:
            args.out.write_text("\n".join(lines) + "\n")
        return 0
    try:
        import skactiveml  # noqa: F401
        import small_text  # noqa: F401
    except ImportError:
        print("install the comparison libraries first: pip install -e '.[compare]'", file=sys.stderr)
        return 2
    lines = [f"# regenerate: python scripts/compare_strategies.py --n {args.n} --n-quadratic {args.n_quadratic} "
             f"--budget {args.budget} --limit {args.limit:.0f} --out {args.out or '<file>'}",
             f"# {platform.processor() or platform.machine()}, 2 threads, d={D}, C={C}, "
             f"{N_LAB} labelled; seconds per query; ratio = library / altbench",
             f"{'strategy':<10} {'n':>7} {'altbench':>9} {'skactiveml':>11} {'ratio':>7} "
             f"{'small-text':>11} {'ratio':>7}  picks vs skactiveml"]
    print("\n".join(lines), flush=True)
    for name in args.strategies.split(","):
        n = args.n_quadratic if name == "probcover" else args.n
        view = blobs_view(n + N_LAB, D, C, np.random.default_rng(0), n_labelled=N_LAB)
        ours_t, ours = timed(altbench_calls(view, n, args.budget)[name], args.limit)
        row = [f"{name:<10} {n:>7} {fmt(ours_t, args.limit):>9}"]
        sk_picks = None
        for lib in (skactiveml_calls, small_text_calls):
            fn = lib(view, n, args.budget).get(name)
            if fn is None:
                row.append(f"{'n/a':>11} {'':>7}")
                continue
            t, picks = timed(fn, args.limit)
            sk_picks = picks if lib is skactiveml_calls else sk_picks
            if ours_t is None or (t is not None and np.isnan(t)):
                ratio = ""
            else:
                ratio = f"> {args.limit / ours_t:.0f}" if t is None else f"{t / ours_t:.1f}"
            row.append(f"{fmt(t, args.limit):>11} {ratio:>7}")
        row.append(f"  {same_picks(name, ours, sk_picks)}")
        lines.append(" ".join(row))
        print(lines[-1], flush=True)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
