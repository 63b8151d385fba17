"""Seed planning: how many seeds a paired comparison of strategies needs (``altbench plan``).

Two strategies run on the same seeds give per-seed differences
d_i = AUBC_a(seed i) − AUBC_b(seed i), compared by a two-sided paired t-test
(as in the report's pairwise tables).  For a true mean difference δ
(``--effect``, in AUBC units) and SD σ of the differences, the power at n
seeds is, with df = n − 1, noncentrality λ = (δ/σ)·√n and t* the 1 − α/2
quantile of t(df) (Cohen 1988, *Statistical Power Analysis for the
Behavioral Sciences*, ch. 2)::

    power(n) = P(T' > t*) + P(T' < −t*),   T' ~ noncentral t(df, λ)

σ is estimated from a pilot run's seeds; the seeds needed are the smallest
n ≥ 2 with power(n) ≥ the target.  α is per comparison: the report's Holm
correction over several comparisons is stricter, so pass a smaller α (e.g.
α / number of comparisons) to plan for it.  :func:`achieved_power` gives the
power a finished comparison had.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

MAX_SEEDS = 1_000_000  # search limit of seeds_needed


def paired_power(n: int, effect: float, sd: float, alpha: float = 0.05) -> float:
    """Power of a two-sided paired t-test at ``n`` pairs for a true mean difference ``effect`` with SD ``sd``."""
    from scipy import stats

    if n < 2:
        raise ValueError(f"a paired t-test needs at least 2 seeds, got {n}")
    if sd <= 0:
        return 1.0 if effect != 0 else float(alpha)
    df, nc = n - 1, abs(effect) / sd * np.sqrt(n)
    t_crit = stats.t.ppf(1 - alpha / 2, df)
    # lower tail P(T' < −t*) as P(T'(−λ) > t*): scipy's nct.cdf far in the lower tail returns NaN (λ ≳ 8)
    return float(stats.nct.sf(t_crit, df, nc) + stats.nct.sf(t_crit, df, -nc))


def seeds_needed(effect: float, sd: float, power: float = 0.8, alpha: float = 0.05,
                 max_seeds: int = MAX_SEEDS) -> int | None:
    """Smallest n ≥ 2 seeds whose :func:`paired_power` reaches ``power``; None beyond ``max_seeds``."""
    if not (0 < power < 1 and 0 < alpha < 1):
        raise ValueError(f"power ({power}) and alpha ({alpha}) must lie strictly between 0 and 1")
    if effect == 0:
        return None

    def enough(n: int) -> bool:
        return paired_power(n, effect, sd, alpha) >= power

    hi = 2
    while not enough(hi):  # power grows with n: double, then bisect
        if hi >= max_seeds:
            return None
        hi = min(2 * hi, max_seeds)
    lo = max(2, hi // 2)
    if enough(lo):
        return lo
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if enough(mid) else (mid, hi)
    return hi


def achieved_power(diffs, alpha: float = 0.05, effect: float | None = None) -> float:
    """Power a paired comparison had: its seeds and the SD of its per-seed differences ``diffs`` (n,).

    ``effect``: the true difference to detect (AUBC units).  None uses the
    observed mean difference ("observed power"; a function of the p-value
    alone, so prefer a stated effect).  NaN with fewer than 2 differences.
    """
    d = np.asarray(diffs, dtype=np.float64)
    d = d[np.isfinite(d)]
    if len(d) < 2:
        return float("nan")
    effect = float(abs(d.mean())) if effect is None else float(effect)
    return paired_power(len(d), effect, float(d.std(ddof=1)), alpha)


def pilot_differences(summ, metric: str = "aubc") -> dict:
    """{(dataset, method, a, b): (n,) per-seed differences a − b over the seeds both ran}, a < b."""
    import itertools

    out = {}
    for (d, m), g in summ.groupby(["dataset", "method"], sort=True):
        wide = g.pivot_table(index="seed", columns="strategy", values=metric)
        for a, b in itertools.combinations(sorted(wide.columns), 2):
            both = wide[[a, b]].dropna()
            out[(d, m, a, b)] = (both[a] - both[b]).to_numpy()
    return out


def plan_table(summ, effect: float, power: float = 0.8, alpha: float = 0.05, metric: str = "aubc"):
    """One row per comparison: pilot seeds, mean and SD of the differences, seeds needed, and the power
    the pilot's own seeds give at ``effect``."""
    import pandas as pd

    rows = []
    for (d, m, a, b), diffs in pilot_differences(summ, metric).items():
        sd = float(np.std(diffs, ddof=1)) if len(diffs) >= 2 else float("nan")
        need = seeds_needed(effect, sd, power, alpha) if np.isfinite(sd) else None
        rows.append({"dataset": d, "method": m, "a": a, "b": b, "pilot_seeds": len(diffs),
                     "mean_diff": float(np.mean(diffs)) if len(diffs) else float("nan"), "sd_diff": sd,
                     "seeds_needed": need, "pilot_power": achieved_power(diffs, alpha, effect)})
    if not rows:
        raise ValueError("the pilot runs hold no dataset × method with two strategies on common seeds; "
                         "run a pilot of at least two strategies and two seeds")
    return pd.DataFrame(rows)


def _pilot_summaries(config: Path | None, overrides: list[str], pilot: Path, metric: str):
    """Per-run summaries of the pilot runs that belong to CONFIG's grid, and the grid's seed count."""
    from altbench.config import load_experiment
    from altbench.metrics import run_summaries
    from altbench.store import RunStore

    exp = load_experiment(config, overrides)
    cells = {(r.dataset.key(), r.method.key(), r.strategy.key()) for r in exp.runs}
    summ = run_summaries(RunStore(pilot).read_results(), targets=())
    mine = summ[[c in cells for c in zip(summ.dataset, summ.method, summ.strategy)]]
    if mine.empty:
        raise ValueError(f"{pilot} holds no finished runs of {exp.name}'s datasets × methods × strategies; "
                         f"run a pilot first: altbench run CONFIG seeds=3 --results-dir {pilot}")
    return mine, len({r.seed for r in exp.runs})


def format_plan(table, seeds_planned: int, effect: float, power: float, alpha: float) -> str:
    """The table printed by ``altbench plan`` and a closing line naming the largest need."""
    from tabulate import tabulate

    rows = [[r.dataset, r.method, f"{r.a} vs {r.b}", r.pilot_seeds, f"{r.mean_diff:+.4f}", f"{r.sd_diff:.4f}",
             "—" if r.seeds_needed is None or np.isnan(r.seeds_needed) else int(r.seeds_needed),
             f"{r.pilot_power:.2f}"] for r in table.itertuples(index=False)]
    text = tabulate(rows, headers=["dataset", "method", "comparison", "pilot seeds", "mean diff", "SD diff",
                                   "seeds needed", "power (pilot seeds)"], tablefmt="github", disable_numparse=True)
    need = table.seeds_needed.dropna()
    if need.empty:
        last = "no comparison has a finite seed count (pilot SD missing or effect 0)"
    else:
        worst = table.loc[need.astype(float).idxmax()]
        last = (f"max: {int(worst.seeds_needed)} seeds ({worst.dataset}/{worst.method}: {worst.a} vs {worst.b}); "
                f"the config runs {seeds_planned}")
    unknown = int(table.seeds_needed.isna().sum())
    note = f"; {unknown} comparison(s) without a finite count ('—')" if unknown else ""
    return (f"paired t-test, two-sided, alpha {alpha} per comparison, power {power}, effect {effect} "
            f"(AUBC units)\n{text}\n{last}{note}")


def _cmd_plan(args) -> int:
    summ, planned = _pilot_summaries(args.config, args.overrides, args.pilot, args.metric)
    table = plan_table(summ, args.effect, args.power, args.alpha, args.metric)
    print(format_plan(table, planned, args.effect, args.power, args.alpha))
    return 0


def _fraction(text: str) -> float:
    import argparse

    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"must lie strictly between 0 and 1, got {text}")
    return value


def register(subparsers) -> None:
    """Add ``altbench plan CONFIG --pilot DIR --effect 0.01 --power 0.8 [--alpha 0.05]``."""
    from altbench.cli import _positive  # the CLI's one positive-number parser

    p = subparsers.add_parser("plan", help="seeds needed to detect a paired AUBC difference, from pilot runs")
    p.add_argument("config", nargs="?", type=Path, help="experiment YAML (default: bundled quickstart)")
    p.add_argument("overrides", nargs="*", help="key.sub=value overrides, e.g. strategies=[random,margin]")
    p.add_argument("--pilot", type=Path, required=True, help="results directory of pilot runs of CONFIG")
    p.add_argument("--effect", type=_positive(float), default=0.01, help="AUBC difference to detect (default 0.01)")
    p.add_argument("--power", type=_fraction, default=0.8, help="target power (default 0.8)")
    p.add_argument("--alpha", type=_fraction, default=0.05, help="two-sided level per comparison (default 0.05)")
    from altbench.metric_registry import run_metric_labels  # every registered metric's final_* and aubc*

    p.add_argument("--metric", default="aubc", choices=tuple(run_metric_labels()),
                   help="per-run metric compared (default aubc)")
    p.set_defaults(fn=_cmd_plan)


if __name__ == "__main__":  # pragma: no cover
    from altbench.cli import main

    sys.exit(main(["plan", *sys.argv[1:]]))
