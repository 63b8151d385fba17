"""The report's cost-aware pieces: learning curves over annotation cost and AUBC over cost.

Written only when the runs carry a ``cost`` column (the cumulative annotation
cost of the labels held each round, recorded with ``budget.cost_model``:
:mod:`altbench.purchase`); a report of runs without costs is unchanged.

* per run: ``final_cost`` and ``aubc_cost``, the normalised area under
  accuracy against cumulative cost (Zhan et al. 2021's AUBC with cost on x,
  :func:`altbench.cost.cost_aubc`: divided by the run's cost range, so it is
  the curve's mean height, the same convention as the label AUBC);
* ``report/tables/cost.{md,tex,csv}``: their mean ± SD per dataset × method ×
  strategy;
* ``report/figures/curves_cost.{png,pdf}``: mean accuracy over seeds against
  cumulative cost with 95% bootstrap bands.  Seeds spend different amounts,
  so each run's curve is interpolated linearly (as the trapezoidal AUBC
  reads it) onto :data:`COST_GRID_POINTS` costs spanning the range every run
  of the dataset × method panel covers; ``report/tables/curves_cost.csv``
  holds those numbers.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

COST_GRID_POINTS = 25  # costs at which the seeds' curves are averaged, per dataset × method panel
PANEL = ["dataset", "method"]


def has_costs(df) -> bool:
    """True when some run of the rounds table recorded its cumulative annotation cost."""
    return "cost" in df and bool(df["cost"].notna().any())


def run_curve(g, metric: str = "accuracy") -> tuple[np.ndarray, np.ndarray]:
    """(cost, score) of one run's rounds ``g``, both (R',): rounds in order, a round that bought
    nothing (same cost as the one before) replaced by the later one."""
    g = g.sort_values("round")
    cost, score = g["cost"].to_numpy(np.float64), g[metric].to_numpy(np.float64)  # (R,)
    keep = np.append(cost[1:] != cost[:-1], True)
    return cost[keep], score[keep]


def add_cost_summaries(df, summ):
    """``summ`` (one row per run) with ``final_cost`` and ``aubc_cost`` added; unchanged without costs."""
    from altbench.cost import cost_aubc

    if not has_costs(df):
        return summ
    final, aubc = {}, {}
    for run_id, g in df[df["cost"].notna()].groupby("run_id", sort=True):
        cost, acc = run_curve(g)
        final[run_id], aubc[run_id] = float(cost[-1]), cost_aubc(cost, acc)
    return summ.assign(final_cost=summ.run_id.map(final), aubc_cost=summ.run_id.map(aubc))


def cost_bands(df, metric: str = "accuracy", points: int = COST_GRID_POINTS, confidence: float = 0.95):
    """Mean, SD and bootstrap CI over seeds of ``metric`` at common costs, per dataset × method × strategy.

    Columns: dataset, method, strategy, cost, seeds, mean, sd, ci_low, ci_high.
    """
    import pandas as pd

    from altbench.stats import bootstrap_ci, mean_sd

    rows = []
    costed = df[df["cost"].notna()]
    for (d, m), panel in costed.groupby(PANEL, sort=True):
        curves = {key: run_curve(g, metric) for key, g in panel.groupby(["strategy", "run_id"], sort=True)}
        lo = max(c[0] for c, _ in curves.values())
        hi = min(c[-1] for c, _ in curves.values())
        grid = np.linspace(lo, hi, points) if hi > lo else np.array([hi])  # (G,)
        for s in sorted({s for s, _ in curves}):
            at = np.array([np.interp(grid, c, y) for (s2, _), (c, y) in curves.items() if s2 == s])  # (seeds, G)
            for j, x in enumerate(grid):
                mean, sd = mean_sd(at[:, j])
                rows.append((d, m, s, float(x), len(at), mean, sd, *bootstrap_ci(at[:, j], confidence)))
    return pd.DataFrame(rows, columns=["dataset", "method", "strategy", "cost", "seeds", "mean", "sd",
                                       "ci_low", "ci_high"])


def cost_table(summ):
    """Per dataset × method × strategy: final cost, final accuracy and AUBC over cost (mean ± SD over seeds)."""
    import pandas as pd

    from altbench.stats import mean_sd
    from altbench.tables import Table

    shown, numbers, bold = [], [], set()
    for (d, m), block in summ[summ["final_cost"].notna()].groupby(PANEL, sort=True):
        start = len(numbers)
        for s, g in block.groupby("strategy", sort=True):
            stats = {c: mean_sd(g[c]) for c in ("final_cost", "final_accuracy", "aubc_cost")}
            numbers.append({"dataset": d, "method": m, "strategy": s, "seeds": len(g),
                            **{f"{c}_{k}": v[i] for c, v in stats.items() for i, k in enumerate(("mean", "sd"))}})
            shown.append({"dataset": d, "method": m, "strategy": s, "seeds": str(len(g)),
                          "final cost": f"{stats['final_cost'][0]:.4g} ± {stats['final_cost'][1]:.2g}",
                          "final acc. (%)": _pct(stats["final_accuracy"]),
                          "AUBC over cost (%)": _pct(stats["aubc_cost"])})
        best = max(r["aubc_cost_mean"] for r in numbers[start:])
        bold |= {(i, "AUBC over cost (%)") for i in range(start, len(numbers))
                 if np.isclose(numbers[i]["aubc_cost_mean"], best, rtol=0, atol=1e-12)}
    return Table("cost", "Annotation cost: final cumulative cost, final accuracy and normalised AUBC over cost",
                 pd.DataFrame(shown), pd.DataFrame(numbers), frozenset(bold),
                 note="AUBC over cost: area under accuracy vs cumulative annotation cost divided by the run's "
                      "cost range (the curve's mean height); best per dataset × method in bold.")


def _pct(mean_sd: tuple[float, float]) -> str:
    return f"{100 * mean_sd[0]:.1f} ± {100 * mean_sd[1]:.1f}"


def write_cost_curves(report_dir: Path, df, header: str, made_by: str, baseline: str) -> list[Path]:
    """``tables/curves_cost.csv`` and ``figures/curves_cost.{png,pdf}``; [] without costs."""
    from altbench import figures, tables
    from altbench.styles import style_map

    if not has_costs(df):
        return []
    bands = cost_bands(df)
    path = Path(report_dir) / "tables" / "curves_cost.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(tables.to_csv(bands, header))
    fdir = Path(report_dir) / "figures"
    fdir.mkdir(parents=True, exist_ok=True)
    styles = style_map([*sorted(df.strategy.unique()), baseline], baseline)
    return [path, *figures.learning_curves(bands, fdir / "curves_cost", made_by, styles=styles, x="cost",
                                           xlabel="cumulative annotation cost")]
