"""Per-run metrics of a learning curve, and the curves themselves.

A learning curve is a run's test score (any metric of :mod:`altbench.metric_registry`) against the
number of labelled examples, one point per AL round.  From it:

* normalised AUBC — area under the budget curve (Zhan et al. 2021), by the
  trapezoidal rule, divided by the label range;
* labels-to-target — fewest labels at which a curve first reaches a target
  accuracy (the form of Gal, Islam & Ghahramani 2017, Table 1);
* label savings — 1 − labels(strategy) / labels(random) to reach the same
  accuracy (the saving relative to random sampling at equal accuracy);
* cumulative query and fit seconds.

A target is written ``"0.9"`` (accuracy 0.9), ``"95%"`` (95% of the
reference accuracy of its dataset × method: the highest mean-over-seeds
accuracy any strategy reaches there — the full-data accuracy when the budget
is the whole pool, a lower bound of it otherwise) or ``"baseline"`` (the
final mean accuracy of the baseline strategy, usually random: the savings at
that target are the classic "labels saved to match random's final accuracy").
"""

from __future__ import annotations

import numpy as np

GROUP = ["dataset", "method", "strategy"]  # one learning curve per group (seeds averaged)
SETTING = ["dataset", "method"]  # strategies are compared within a setting


def require_round_metric(df, metric: str) -> None:
    """Refuse, in one line, a per-run ``metric`` (``aubc_macro_f1``, ``final_accuracy``, ...) whose
    per-round column no run of ``df`` holds (results written before that metric existed)."""
    from altbench.metric_registry import ordered

    column = next((m.name for m in ordered() if metric in (m.final_column, m.aubc_column)), None)
    if column is not None and (column not in df or df[column].isna().all()):
        raise ValueError(f"metric {metric!r} needs the per-round column {column!r}, which these results "
                         "predate; re-run them (`altbench run CONFIG --force`) or pick another --metric")


def metric_summaries(g, n: np.ndarray) -> dict[str, float]:
    """Final value and normalised AUBC of every registered metric that ``g`` (one run's rounds,
    in order; n: (R,) labels) has a column of: the core metrics' finals, their AUBCs, then
    final and AUBC of each other metric (NaN for a run whose file predates it)."""
    from altbench.metric_registry import ordered

    present = [m for m in ordered() if m.name in g]
    core, rest = [m for m in present if m.core], [m for m in present if not m.core]
    out = {m.final_column: float(g[m.name].iloc[-1]) for m in core}
    out.update({m.aubc_column: normalised_aubc(n, g[m.name].to_numpy()) for m in core})
    for m in rest:
        score = g[m.name].to_numpy(dtype=np.float64)  # (R,)
        out.update({m.final_column: float(score[-1]), m.aubc_column: normalised_aubc(n, score)})
    return out


def normalised_aubc(n_labelled: np.ndarray, score: np.ndarray) -> float:
    """Normalised area under the budget curve.

    Trapezoidal area under ``score`` (e.g. accuracy) against the number of
    labels, divided by the label range, so it is the curve's mean height and
    lies in [0, 1] for accuracy; a single point returns that point's score.
    n_labelled, score: (R,) with n_labelled increasing.
    """
    x = np.asarray(n_labelled, dtype=np.float64)
    y = np.asarray(score, dtype=np.float64)
    if len(x) == 1:
        return float(y[0])
    return float(np.trapezoid(y, x) / (x[-1] - x[0]))


def labels_to_target(n_labelled: np.ndarray, score: np.ndarray, target: float) -> float:
    """Fewest labels at which the curve first reaches ``score >= target``; NaN if never.

    Evaluated on the rounds' grid (no interpolation), as Gal et al. (2017)
    count acquired images.  n_labelled, score: (R,) with n_labelled increasing.
    """
    hit = np.flatnonzero(np.asarray(score, dtype=np.float64) >= target - 1e-12)
    return float(np.asarray(n_labelled)[hit[0]]) if len(hit) else float("nan")


def label_savings(labels_strategy: float, labels_random: float) -> float:
    """Fraction of random sampling's labels saved at equal accuracy: 1 − L_s / L_random.

    0.25 means the strategy needs 25% fewer labels; negative means more; NaN
    when either never reaches the target.
    """
    if not np.isfinite(labels_strategy) or not np.isfinite(labels_random) or labels_random <= 0:
        return float("nan")
    return float(1.0 - labels_strategy / labels_random)


def parse_target(spec: str | float) -> tuple[str, float, str]:
    """``"95%"`` → ("95%", 0.95, "best"); ``"0.9"`` → ("0.9", 0.9, "absolute");
    ``"baseline"`` → ("baseline", 1.0, "baseline")."""
    text = str(spec).strip()
    if text == "baseline":
        return text, 1.0, "baseline"
    try:
        value = float(text[:-1]) / 100 if text.endswith("%") else float(text)
    except ValueError:
        raise ValueError(f"target {spec!r} is not a number; write e.g. 0.9 (accuracy) or 95% "
                         "(of the best accuracy reached)") from None
    if not 0 < value <= 1:
        raise ValueError(f"target {spec!r} must lie in (0, 1] or (0%, 100%]")
    return text, value, "best" if text.endswith("%") else "absolute"


def mean_curves(df, metric: str = "accuracy"):
    """Mean-over-seeds curve per dataset × method × strategy × n_labelled."""
    return df.groupby([*GROUP, "n_labelled"], sort=True)[metric].mean().reset_index()


def reference_accuracy(df, baseline: str = "random") -> dict[str, dict[tuple[str, str], float]]:
    """Per (dataset, method): "best" = highest mean-over-seeds accuracy of any strategy and round;
    "baseline" = final mean accuracy of the baseline strategy (NaN if absent)."""
    curves = mean_curves(df, "accuracy")
    best = {k: float(v) for k, v in curves.groupby(SETTING, sort=True)["accuracy"].max().items()}
    base = curves[curves.strategy == baseline].sort_values("n_labelled").groupby(SETTING)["accuracy"].last()
    return {"best": best, "baseline": {k: float(base.get(k, float("nan"))) for k in best}, "absolute": {}}


def target_value(spec: str | float, setting: tuple[str, str], reference: dict) -> float:
    """The accuracy a target spec means in one (dataset, method) setting."""
    _, value, kind = parse_target(spec)
    return value if kind == "absolute" else value * reference[kind][setting]


def run_summaries(df, targets=("95%",), baseline: str = "random"):
    """One row per run: final value and AUBC of each metric (:func:`metric_summaries`),
    labels-to-target, seconds.

    df: rounds table as returned by ``RunStore.read_results``.  Columns added
    per target T: ``labels_to_T`` (of accuracy).  Seconds are cumulative over
    the run.  A metric column ``df`` lacks (older results) gives no summary
    columns; runs without it among newer ones get NaN.
    """
    import pandas as pd

    reference = reference_accuracy(df, baseline)
    rows = []
    for run_id, g in df.sort_values(["run_id", "round"]).groupby("run_id", sort=True):
        last = g.iloc[-1]
        n, acc = g.n_labelled.to_numpy(), g.accuracy.to_numpy()
        row = {"run_id": run_id, "dataset": last.dataset, "method": last.method,
               "strategy": last.strategy, "seed": int(last.seed),
               "final_labels": int(last.n_labelled), **metric_summaries(g, n)}
        for spec in targets:
            t = target_value(spec, (last.dataset, last.method), reference)
            row[f"labels_to_{parse_target(spec)[0]}"] = labels_to_target(n, acc, t)
        row.update({"query_seconds_total": float(g.query_seconds.sum()),
                    "fit_seconds_total": float(g.fit_seconds.sum()),
                    "query_seconds_per_round": float(g.query_seconds.iloc[:-1].mean()) if len(g) > 1 else 0.0})
        rows.append(row)
    return pd.DataFrame(rows)


def curve_targets(df, targets=("95%",), baseline: str = "random"):
    """Gal-form table: labels the mean curve needs to reach each target, and savings vs ``baseline``.

    One row per dataset × method × strategy; columns ``labels_to_T`` and
    ``savings_T`` (NaN where the baseline is absent or never reaches T).
    """
    import pandas as pd

    reference = reference_accuracy(df, baseline)
    curves = mean_curves(df, "accuracy")
    rows = []
    for (d, m, s), g in curves.groupby(GROUP, sort=True):
        row = {"dataset": d, "method": m, "strategy": s}
        base = curves[(curves.dataset == d) & (curves.method == m) & (curves.strategy == baseline)]
        for spec in targets:
            name = parse_target(spec)[0]
            t = target_value(spec, (d, m), reference)
            mine = labels_to_target(g.n_labelled.to_numpy(), g.accuracy.to_numpy(), t)
            theirs = labels_to_target(base.n_labelled.to_numpy(), base.accuracy.to_numpy(), t) \
                if len(base) else float("nan")
            row[f"labels_to_{name}"] = mine
            row[f"savings_{name}"] = label_savings(mine, theirs)
        rows.append(row)
    return pd.DataFrame(rows)
