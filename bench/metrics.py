"""Per-run summary metrics of a learning curve."""

from __future__ import annotations

import numpy as np


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


def run_summaries(df):
    """One row per run: final accuracy / macro-F1, AUBC, and total seconds.

    df: rounds table as returned by ``RunStore.read_results``.
    """
    import pandas as pd

    rows = []
    for run_id, g in df.sort_values(["run_id", "round"]).groupby("run_id", sort=True):
        last = g.iloc[-1]
        rows.append({"run_id": run_id, "dataset": last.dataset, "method": last.method,
                     "strategy": last.strategy, "seed": int(last.seed),
                     "final_labels": int(last.n_labelled),
                     "final_accuracy": float(last.accuracy), "final_macro_f1": float(last.macro_f1),
                     "aubc": normalised_aubc(g.n_labelled.to_numpy(), g.accuracy.to_numpy()),
                     "query_seconds_per_round": float(g.query_seconds.iloc[:-1].mean()) if len(g) > 1 else 0.0,
                     "fit_seconds_total": float(g.fit_seconds.sum())})
    return pd.DataFrame(rows)
