"""Report tables as data, rendered to Markdown, LaTeX (booktabs) and CSV.

A :class:`Table` holds display strings (for Markdown / LaTeX), the numbers
behind them (for CSV), the cells to set in bold (best per column within a
dataset × method block) and significance marks (↑ / ↓: significantly better /
worse than random, Holm-adjusted paired test over seeds).
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

import numpy as np

from altbench.metrics import SETTING, parse_target
from altbench.stats import bootstrap_ci, mean_sd

MARKS_MD = {"up": " ↑", "down": " ↓"}


@dataclass(frozen=True)
class Table:
    """One report table: display strings, numbers, and emphasis."""

    name: str  # file stem, e.g. "summary"
    title: str  # one-line caption
    display: object  # DataFrame of strings (Markdown / LaTeX)
    numbers: object  # DataFrame of numbers (CSV)
    bold: frozenset = frozenset()  # {(row position, column name)} set in bold
    marks: dict = field(default_factory=dict)  # {(row position, column name): "up" | "down"}
    note: str = ""  # legend printed under the table


def _fmt(mean: float, sd: float, scale: float = 100.0, digits: int = 1) -> str:
    return f"{scale * mean:.{digits}f} ± {scale * sd:.{digits}f}"


def _best(values, higher: bool) -> set[int]:
    v = np.asarray(values, dtype=np.float64)
    if not np.isfinite(v).any():
        return set()
    target = np.nanmax(v) if higher else np.nanmin(v)
    return set(np.flatnonzero(np.isclose(v, target, rtol=0, atol=1e-12)))


TESTS = {"t": "paired t-test", "wilcoxon": "paired Wilcoxon signed-rank test"}  # --test choice → its name


def decision_phrase(test: str = "t", alpha: float = 0.05) -> str:
    """How a significance decision was made, e.g. "paired t-test over seeds, Holm-corrected, α = 0.05"."""
    return f"{TESTS[test]} over seeds, Holm-corrected, α = {alpha:g}"


def threads_phrase(threads: tuple[int, ...]) -> str:
    """How many torch/BLAS threads the timings used, from the run records (mixed counts are flagged)."""
    if not threads:
        return "thread count not recorded"
    if len(threads) == 1:
        return f"{threads[0]} torch/BLAS thread{'s' if threads[0] != 1 else ''} per run"
    return (f"MIXED thread counts ({', '.join(map(str, threads))} torch/BLAS threads per run): "
            "compare timings with care")


def other_finals(g) -> dict[str, float]:
    """``final_<metric>_mean`` over the runs ``g`` of every registered metric but the headline
    (:mod:`altbench.metric_registry`) that the per-run table holds (NaN runs ignored)."""
    from altbench.metric_registry import HEADLINE, ordered

    return {f"{m.final_column}_mean": float(g[m.final_column].mean()) for m in ordered()
            if m.name != HEADLINE and m.final_column in g}


def summary_table(summ, targets_df, vs_random: dict, targets=("95%",), baseline: str = "random",
                  test: str = "t", alpha: float = 0.05, threads: tuple[int, ...] = ()) -> Table:
    """Per dataset × method × strategy: final accuracy, AUBC (+CI), labels-to-target, savings, seconds.

    summ: per-run table; targets_df: ``metrics.curve_targets``; vs_random:
    {metric: comparisons vs random} for marks.
    """
    import pandas as pd

    rows, nums, bold, marks = [], [], set(), {}
    names = [parse_target(t)[0] for t in targets]
    label = {t: baseline if t == "baseline" else t for t in names}
    for (d, m), block in summ.groupby(SETTING, sort=True):
        start = len(rows)
        for s, g in block.groupby("strategy", sort=True):
            acc, aubc = mean_sd(g.final_accuracy), mean_sd(g.aubc)
            lo, hi = bootstrap_ci(g.aubc.to_numpy())
            tg = targets_df[(targets_df.dataset == d) & (targets_df.method == m) & (targets_df.strategy == s)]
            num = {"dataset": d, "method": m, "strategy": s, "seeds": len(g), "labels": int(g.final_labels.max()),
                   "final_accuracy_mean": acc[0], "final_accuracy_sd": acc[1],
                   **other_finals(g),
                   "aubc_mean": aubc[0], "aubc_sd": aubc[1], "aubc_ci_low": lo, "aubc_ci_high": hi}
            for t in names:
                num[f"labels_to_{t}"] = float(tg[f"labels_to_{t}"].iloc[0]) if len(tg) else float("nan")
                num[f"savings_{t}"] = float(tg[f"savings_{t}"].iloc[0]) if len(tg) else float("nan")
            num.update({"query_seconds_total": float(g.query_seconds_total.mean()),
                        "fit_seconds_total": float(g.fit_seconds_total.mean()),
                        "query_seconds_per_round": float(g.query_seconds_per_round.mean())})
            nums.append(num)
            row = {"Dataset": d, "Method": m, "Strategy": s, "Seeds": str(len(g)), "Labels": str(num["labels"]),
                   "Final acc. (%)": _fmt(*acc), "AUBC (%)": _fmt(*aubc),
                   "AUBC 95% CI": f"[{100 * lo:.1f}, {100 * hi:.1f}]"}
            for t in names:
                lab, sav = num[f"labels_to_{t}"], num[f"savings_{t}"]
                row[f"Labels@{label[t]}"] = "—" if np.isnan(lab) else f"{lab:.0f}"
                row[f"Saving@{label[t]} (%)"] = "—" if np.isnan(sav) else f"{100 * sav:+.0f}"
            row["Query s"] = f"{num['query_seconds_total']:.2f}"
            row["Query s/round"] = f"{num['query_seconds_per_round']:.3f}"
            row["Fit s"] = f"{num['fit_seconds_total']:.2f}"
            rows.append(row)
            for metric, col in (("final_accuracy", "Final acc. (%)"), ("aubc", "AUBC (%)")):
                c = vs_random.get(metric)
                hit = c[(c.dataset == d) & (c.method == m) & (c.a == s)] if c is not None and len(c) else []
                if len(hit) and hit.outcome.iloc[0] != "tie":
                    marks[(len(rows) - 1, col)] = "up" if hit.outcome.iloc[0] == "win" else "down"
        block_nums = nums[start:]
        best_cols = [("Final acc. (%)", "final_accuracy_mean", True), ("AUBC (%)", "aubc_mean", True)]
        best_cols += [(f"Labels@{label[t]}", f"labels_to_{t}", False) for t in names]
        best_cols += [(f"Saving@{label[t]} (%)", f"savings_{t}", True) for t in names]
        for col, key, higher in best_cols:
            bold |= {(start + i, col) for i in _best([n[key] for n in block_nums], higher)}
    note = ("Mean ± SD over seeds; AUBC = normalised trapezoidal area under accuracy vs labels; CI = percentile "
            "bootstrap of the mean AUBC. Labels@T: fewest labels at which the mean curve reaches accuracy T "
            "(T in % = that share of the best mean accuracy in the setting; T = a strategy name: that "
            "baseline's final mean accuracy); Saving@T = 1 − labels / labels of the baseline. Query s, Fit s: "
            f"cumulative wall seconds per run, {threads_phrase(threads)}; Query s/round: mean wall time of one "
            "query round. Bold: best in its "
            "dataset × method block. ↑/↓: better/worse "
            f"than {baseline} ({decision_phrase(test, alpha)}).")
    return Table("summary", "Final accuracy, AUBC and labels-to-target per strategy", pd.DataFrame(rows),
                 pd.DataFrame(nums), frozenset(bold), marks, note)


def pairwise_table(comp, metric_label: str = "AUBC",
                   decision: str = "paired t-test over seeds, Holm-corrected, α = 0.05",
                   diffs: dict | None = None, effect: float = 0.01, alpha: float = 0.05) -> Table:
    """All strategy pairs: mean paired difference, Holm-adjusted p (t and Wilcoxon), outcome, and power.

    diffs: {(dataset, method, a, b): (n,) per-seed differences a − b}
    (:func:`altbench.plan.pilot_differences`); with it, a ``Power@<effect>pp``
    column gives the power the two-sided paired t-test at ``alpha`` (per
    comparison, before Holm) had to detect a fixed true difference ``effect``
    (metric units; 0.01 = 1 pp) with these n seeds and the observed SD of the
    differences (:func:`altbench.plan.achieved_power`).  Deliberately not
    post-hoc power at the observed Δ: that "observed power" is a one-to-one
    function of the p-value, so it adds nothing and cannot say whether a tie
    was a real tie or too few seeds (a known fallacy; Hoenig & Heisey 2001,
    "The abuse of power").  Low power at the stated effect says a tie means little.
    """
    import pandas as pd

    from altbench.plan import achieved_power

    comp = comp.reset_index(drop=True)
    disp = pd.DataFrame({"Dataset": comp.dataset, "Method": comp.method, "A": comp.a, "B": comp.b,
                         "n": comp.n.astype(str),
                         f"Δ {metric_label} (pp)": [f"{100 * x:+.2f}" for x in comp.mean_diff],
                         "p (t, Holm)": [_p(x) for x in comp.p_t_holm],
                         "p (Wilcoxon, Holm)": [_p(x) for x in comp.p_wilcoxon_holm], "A vs B": comp.outcome})
    nums = comp.copy()
    note = f"Δ = mean over seeds of A − B. Holm correction within each dataset × method. A vs B: {decision}."
    if diffs is not None:
        pp = f"{100 * effect:g}pp"
        d = [np.asarray(diffs.get((r.dataset, r.method, r.a, r.b), ()), dtype=np.float64)
             for r in comp.itertuples(index=False)]
        nums["sd_diff"] = [float(x.std(ddof=1)) if len(x) >= 2 else float("nan") for x in d]
        nums["power"] = [achieved_power(x, alpha, effect) for x in d]
        nums["power_effect"] = float(effect)
        disp[f"Power@{pp}"] = ["—" if np.isnan(x) else f"{x:.2f}" for x in nums["power"]]
        note += (f" Power@{pp}: power of a two-sided paired t-test at α = {alpha:g} (per comparison, before Holm) "
                 f"to detect a true difference of {100 * effect:g} pp in {metric_label} with these n seeds and the "
                 "observed SD of the per-seed differences (not at the observed Δ, which would only restate p).")
    return Table("pairwise", f"Paired per-seed comparisons of {metric_label} between strategies",
                 disp.reset_index(drop=True), nums, note=note)


def wtl_table(wtl, baseline: str = "random", metric_label: str = "AUBC",
              decision: str = "paired t-test over seeds, Holm-corrected, α = 0.05") -> Table:
    """Win / tie / loss counts against the baseline over settings; the note names the test actually used."""
    disp = wtl.rename(columns={"strategy": "Strategy", "win": "Win", "tie": "Tie", "loss": "Loss"}).astype(str)
    n = int(wtl[["win", "tie", "loss"]].sum(axis=1).max()) if len(wtl) else 0
    return Table("win_tie_loss", f"Win/tie/loss of each strategy against {baseline} ({metric_label})", disp, wtl,
                 note=f"Counted over {n} dataset × method setting{'s' if n != 1 else ''} on {metric_label}; "
                      f"decision by {decision}.")


def ranks_table(result, metric_label: str = "AUBC") -> Table:
    """Average Friedman ranks, with the test statistic and Nemenyi CD in the note."""
    import pandas as pd

    order = sorted(result.ranks, key=lambda s: (result.ranks[s], s))
    nums = pd.DataFrame({"strategy": order, "average_rank": [result.ranks[s] for s in order]})
    disp = pd.DataFrame({"Strategy": order, "Average rank": [f"{result.ranks[s]:.2f}" for s in order]})
    p = "n/a (fewer than 3 strategies)" if np.isnan(result.pvalue) else _p(result.pvalue)
    stat = "n/a" if np.isnan(result.statistic) else f"{result.statistic:.2f}"
    note = (f"Ranks of mean {metric_label} over {result.n_blocks} dataset × method settings (1 = best). "
            f"Friedman χ² = {stat}, p = {p}; Nemenyi critical difference (α = {result.alpha}) = {result.cd:.2f}.")
    bold = frozenset((i, "Average rank") for i in _best(nums.average_rank, False))
    return Table("ranks", f"Average ranks of {metric_label} across settings (Friedman / Nemenyi)", disp, nums,
                 bold, note=note)


def penalty_table(P, alpha: float = 0.05) -> Table:
    """The penalty matrix as a table (rows beat columns)."""
    disp = P.map(lambda x: f"{x:.2f}").reset_index(names="winner \\ loser")
    return Table("penalty", "Pairwise penalty matrix (Ash et al. 2020): row beats column", disp,
                 P.reset_index(names="winner"),
                 note=f"At every labelled-set size of a dataset × method, a two-sided paired t-test over seeds of "
                      f"accuracy at α = {alpha}; a win adds 1/L (L: that setting's number of rounds), so each "
                      "setting contributes at most 1 to a cell.")


def _p(x: float) -> str:
    return "—" if np.isnan(x) else ("<0.001" if x < 0.001 else f"{x:.3f}")


# ---------------------------------------------------------------- renderers
def _cells(table: Table, marks: dict, bold_fn, escape) -> list[list[str]]:
    out = []
    for i, row in enumerate(table.display.itertuples(index=False)):
        cells = []
        for col, val in zip(table.display.columns, row):
            text = escape(val) + marks.get(table.marks.get((i, col)), "")
            cells.append(bold_fn(text) if (i, col) in table.bold else text)
        out.append(cells)
    return out


def to_markdown(table: Table, header: str) -> str:
    """GitHub Markdown with a provenance comment, bold best, ↑/↓ marks and the legend."""
    from tabulate import tabulate

    body = tabulate(_cells(table, MARKS_MD, lambda t: f"**{t}**", str), headers=list(table.display.columns),
                    tablefmt="github", disable_numparse=True)
    return f"<!-- {header} -->\n{body}\n\n{table.note}\n"


def to_latex(table: Table, header: str) -> str:
    """booktabs ``longtable``(s) via pandas ``Styler.to_latex``, split when too wide (:mod:`altbench.latex`)."""
    from altbench.latex import render_table

    return render_table(table, header)


def to_csv(frame, header: str) -> str:
    """CSV of the numbers behind a table, after one ``#`` provenance line (read with comment='#')."""
    buf = io.StringIO()
    buf.write(f"# {header}\n")
    frame.to_csv(buf, index=False, float_format="%.6f", lineterminator="\n")
    return buf.getvalue()
