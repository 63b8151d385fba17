"""Statistics across seeds and datasets: CIs, paired tests, ranks (scipy.stats).

* mean ± SD and percentile-bootstrap 95% CIs (``scipy.stats.bootstrap``,
  fixed seed, so reports are deterministic);
* paired per-seed comparisons — Wilcoxon signed-rank and paired t-test, each
  Holm-corrected within a dataset × method family — and win/tie/loss counts;
* the pairwise penalty matrix of Ash et al. (2020, BADGE, §5);
* Friedman test across datasets with the Nemenyi critical difference
  (Demšar 2006, JMLR 7).

Note: with n seeds the smallest two-sided exact Wilcoxon p is 2 / 2ⁿ
(0.0625 for 5 seeds), so decisions (marks, win/tie/loss) default to the
paired t-test; the Wilcoxon p-values are reported beside it.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
from scipy import stats

from altbench.metrics import SETTING

BOOT_SEED = 0  # bootstrap resampling seed: fixed so reports are byte-identical
BOOT_RESAMPLES = 2000  # bootstrap resamples per CI


def mean_sd(x) -> tuple[float, float]:
    """(mean, sample SD with ddof=1; 0 for one value) of a 1-D array."""
    x = np.asarray(x, dtype=np.float64)
    return float(x.mean()), float(x.std(ddof=1)) if len(x) > 1 else 0.0


def bootstrap_ci(x, confidence: float = 0.95, n_resamples: int = BOOT_RESAMPLES,
                 seed: int = BOOT_SEED) -> tuple[float, float]:
    """Percentile-bootstrap CI of the mean of x (n,); (x, x) for n = 1."""
    x = np.asarray(x, dtype=np.float64)
    if len(x) < 2:
        return (float(x[0]), float(x[0])) if len(x) else (float("nan"), float("nan"))
    if np.all(x == x[0]):
        return float(x[0]), float(x[0])
    res = stats.bootstrap((x,), np.mean, confidence_level=confidence, n_resamples=n_resamples,
                          method="percentile", rng=np.random.default_rng(seed))
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


def holm(pvalues) -> np.ndarray:
    """Holm–Bonferroni adjusted p-values (Holm 1979), same order as given; NaN kept."""
    p = np.asarray(pvalues, dtype=np.float64)
    out = np.full_like(p, np.nan)
    ok = np.flatnonzero(~np.isnan(p))
    order = ok[np.argsort(p[ok], kind="stable")]
    m = len(order)
    adjusted = np.maximum.accumulate((m - np.arange(m)) * p[order])
    out[order] = np.minimum(adjusted, 1.0)
    return out


def paired_test(a, b) -> dict:
    """Paired comparison of a and b (n,) matched by seed: mean diff, t-test and Wilcoxon p.

    Identical samples give p = 1; fewer than 2 pairs give NaN.
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    d = a - b
    out = {"n": len(d), "mean_diff": float(d.mean()) if len(d) else float("nan"),
           "p_t": float("nan"), "p_wilcoxon": float("nan")}
    if len(d) < 2:
        return out
    if np.all(d == 0):
        return {**out, "p_t": 1.0, "p_wilcoxon": 1.0}
    p_t = stats.ttest_rel(a, b).pvalue
    out["p_t"] = 1.0 if np.isnan(p_t) else float(p_t)
    out["p_wilcoxon"] = float(stats.wilcoxon(a, b).pvalue)
    return out


def paired_comparisons(summ, metric: str = "aubc", baseline: str | None = None, alpha: float = 0.05,
                       test: str = "t"):
    """Per-seed paired tests between strategies within each dataset × method.

    summ: per-run table (``metrics.run_summaries``).  baseline: compare every
    strategy with this one only; None: all pairs (a < b alphabetically).
    Holm correction runs over the comparisons of one dataset × method.
    ``outcome`` is a's win / tie / loss by the Holm-adjusted ``test`` ("t"
    or "wilcoxon") at level alpha.
    """
    import pandas as pd

    key = {"t": "p_t_holm", "wilcoxon": "p_wilcoxon_holm"}[test]
    frames = []
    for (d, m), g in summ.groupby(SETTING, sort=True):
        wide = g.pivot_table(index="seed", columns="strategy", values=metric)
        names = sorted(wide.columns)
        if baseline is None:
            pairs = list(itertools.combinations(names, 2))
        else:  # a setting without the baseline has nothing to compare
            pairs = [(s, baseline) for s in names if s != baseline] if baseline in names else []
        rows = []
        for a, b in pairs:
            both = wide[[a, b]].dropna()
            rows.append({"dataset": d, "method": m, "a": a, "b": b, **paired_test(both[a], both[b])})
        if not rows:
            continue
        f = pd.DataFrame(rows)
        f["p_t_holm"] = holm(f.p_t)
        f["p_wilcoxon_holm"] = holm(f.p_wilcoxon)
        sig = f[key] < alpha
        f["outcome"] = np.where(sig & (f.mean_diff > 0), "win", np.where(sig & (f.mean_diff < 0), "loss", "tie"))
        frames.append(f)
    cols = ["dataset", "method", "a", "b", "n", "mean_diff", "p_t", "p_wilcoxon", "p_t_holm",
            "p_wilcoxon_holm", "outcome"]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=cols)


def win_tie_loss(comparisons):
    """Win / tie / loss counts of each strategy ``a`` over its settings (vs baseline ``b``)."""
    counts = comparisons.groupby("a")["outcome"].value_counts().unstack(fill_value=0)
    for col in ("win", "tie", "loss"):
        if col not in counts:
            counts[col] = 0
    return counts[["win", "tie", "loss"]].reset_index().rename(columns={"a": "strategy"})


def penalty_matrix(df, metric: str = "accuracy", alpha: float = 0.05):
    """Pairwise penalty matrix of Ash et al. (2020): P[i, j] = how often i beats j.

    For every dataset × method and every labelled-set size (round), a
    two-sided paired t-test over seeds of ``metric``(i) − ``metric``(j); if
    t > t_{1−α/2, n−1}, P[i, j] += 1 / L, where L is that setting's number of
    rounds.  So each setting adds at most 1 to a cell, and the column mean
    says how often a strategy is beaten.  df: rounds table (k strategies →
    k × k DataFrame, rows = winner, columns = loser).
    """
    import pandas as pd

    names = sorted(df.strategy.unique())
    P = pd.DataFrame(0.0, index=names, columns=names)
    for _, g in df.groupby(SETTING, sort=True):
        sizes = sorted(g.n_labelled.unique())
        for _, r in g.groupby("n_labelled", sort=True):
            wide = r.pivot_table(index="seed", columns="strategy", values=metric)
            for i, j in itertools.permutations(wide.columns, 2):
                d = (wide[i] - wide[j]).dropna().to_numpy()
                if len(d) < 2:
                    continue
                sd = d.std(ddof=1)
                t = (np.inf if d.mean() > 0 else -np.inf) if sd == 0 else d.mean() / (sd / np.sqrt(len(d)))
                if t > stats.t.ppf(1 - alpha / 2, len(d) - 1):
                    P.loc[i, j] += 1.0 / len(sizes)
    return P


def critical_difference(k: int, n_blocks: int, alpha: float = 0.05) -> float:
    """Nemenyi critical difference of average ranks: q_α √(k(k+1) / 6N) (Demšar 2006).

    q_α is the studentized range quantile over √2 (2.569 for k=4, α=0.05).
    """
    q = stats.studentized_range.ppf(1 - alpha, k, np.inf) / np.sqrt(2)
    return float(q * np.sqrt(k * (k + 1) / (6.0 * n_blocks)))


@dataclass(frozen=True)
class FriedmanResult:
    """Friedman test + Nemenyi post-hoc over strategies (treatments) × settings (blocks)."""

    ranks: dict  # strategy → average rank (1 = best)
    statistic: float  # Friedman χ² (scipy, tie-corrected); NaN for < 3 strategies
    pvalue: float  # its p-value; NaN for < 3 strategies
    cd: float  # Nemenyi critical difference at alpha
    n_blocks: int  # number of dataset × method settings
    alpha: float  # level of the critical difference


def friedman_nemenyi(summ, metric: str = "aubc", alpha: float = 0.05) -> FriedmanResult:
    """Rank strategies by mean-over-seeds ``metric`` in each dataset × method (higher is better).

    Settings missing a strategy are dropped.  Ties get average ranks.
    """
    table = summ.groupby([*SETTING, "strategy"])[metric].mean().unstack("strategy").dropna()
    k, n = table.shape[1], table.shape[0]
    if n == 0:
        raise ValueError("no dataset × method setting has every strategy; cannot rank strategies")
    ranks = stats.rankdata(-table.to_numpy(), axis=1).mean(axis=0)
    stat = p = float("nan")
    if k >= 3 and n >= 2:
        res = stats.friedmanchisquare(*table.to_numpy().T)
        stat, p = float(res.statistic), float(res.pvalue)
    return FriedmanResult(dict(zip(table.columns, map(float, ranks))), stat, p,
                          critical_difference(k, n, alpha) if k >= 2 else float("nan"), n, alpha)


def curve_bands(df, metric: str = "accuracy", confidence: float = 0.95):
    """Learning curve per dataset × method × strategy: mean, SD and bootstrap CI over seeds."""
    rows = []
    for key, g in df.groupby(["dataset", "method", "strategy", "n_labelled"], sort=True):
        mean, sd = mean_sd(g[metric])
        lo, hi = bootstrap_ci(g[metric].to_numpy(), confidence)
        rows.append((*key, len(g), mean, sd, lo, hi))
    import pandas as pd

    return pd.DataFrame(rows, columns=["dataset", "method", "strategy", "n_labelled", "seeds",
                                       "mean", "sd", "ci_low", "ci_high"])


def delta_bands(df, baseline: str = "random", metric: str = "accuracy", confidence: float = 0.95):
    """Per-seed paired difference to the baseline, per dataset × method × strategy × labels.

    For each run of a strategy, Δ = metric(strategy, seed, n) − metric(baseline,
    seed, n) at equal labelled-set size n and seed (pairs missing either side
    are dropped); then mean, SD and percentile-bootstrap CI of Δ over seeds.
    df: rounds table.  Returns the columns of :func:`curve_bands` (the
    baseline itself is left out); empty when no setting ran the baseline.
    """
    import pandas as pd

    keys = ["dataset", "method", "seed", "n_labelled"]
    base = df[df.strategy == baseline][keys + [metric]].rename(columns={metric: "_base"})
    paired = df[df.strategy != baseline].merge(base, on=keys, how="inner")
    paired["_delta"] = paired[metric] - paired["_base"]
    cols = ["dataset", "method", "strategy", "n_labelled", "seeds", "mean", "sd", "ci_low", "ci_high"]
    if paired.empty:
        return pd.DataFrame(columns=cols)
    return curve_bands(paired, "_delta", confidence)[cols]


MIN_CD_SETTINGS = 5  # fewer ranked settings than this: the Nemenyi CD exceeds most of the rank axis
MIN_CD_STRATEGIES = 3  # the Friedman test needs at least 3 treatments


def cd_reason(result: FriedmanResult | None) -> str | None:
    """None when a critical-difference diagram is meaningful, else a one-line reason why not.

    Demšar (2006, §3.2.2) warns that the Friedman/Nemenyi procedure needs
    enough data sets; we require at least MIN_CD_SETTINGS dataset × method
    settings and MIN_CD_STRATEGIES strategies ranked in every one of them.
    """
    if result is None:
        return "no dataset × method setting ran every strategy, so nothing can be ranked"
    k, n = len(result.ranks), result.n_blocks
    if n < MIN_CD_SETTINGS or k < MIN_CD_STRATEGIES:
        return (f"{n} dataset × method setting{'s' if n != 1 else ''} and {k} strateg{'ies' if k != 1 else 'y'} "
                f"ranked; a CD diagram needs at least {MIN_CD_SETTINGS} settings and {MIN_CD_STRATEGIES} "
                f"strategies (with {n}, the Nemenyi CD is {result.cd:.2f} ranks)")
    return None
