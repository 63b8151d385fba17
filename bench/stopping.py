"""Stopping criteria, evaluated after the fact on finished runs (``altbench list stopping``).

Each criterion is a frozen dataclass registered in :data:`STOPPING`; called
on one run's :class:`Signals` it returns the first round whose model it
would keep (labelling stops there), or None if it never fires within the
budget.  The signals are the per-round columns of the results file
(:mod:`altbench.stop_signals`), so every criterion is evaluated on every
finished run without re-running anything: :func:`evaluate_stopping` gives
per run the labels at the stop, the accuracy lost against the full budget
and the labels saved; :func:`stopping_table` averages over seeds per
dataset × method × strategy × criterion.  Runs written before the signals
existed are listed as "not recorded".

Criteria: stabilizing predictions (Bloodgood & Vijay-Shanker 2009), overall
uncertainty, max confidence and classification change (Zhu, Wang & Hovy
2008), a lagged-κ variant of stabilizing predictions, and the predicted
change of F (Altschuler & Bloodgood 2019).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from altbench.registry import STOPPING
from altbench.stop_signals import SIGNAL_COLUMNS, cohen_kappa


@dataclass(frozen=True)
class Signals:
    """One run's stopping signals, one row per round.

    pred: (R, n_stop) int predicted stop-set labels; max_conf, entropy: (R,)
    float (NaN where every stop row was already labelled).
    """

    pred: np.ndarray
    max_conf: np.ndarray
    entropy: np.ndarray

    def kappas(self, lag: int = 1) -> np.ndarray:
        """(R,) κ between round r's and round r−lag's predictions; NaN for r < lag."""
        out = np.full(len(self.pred), np.nan)
        for r in range(lag, len(self.pred)):
            a, b = both_measured(self.pred[r - lag], self.pred[r])
            out[r] = cohen_kappa(a, b) if len(a) else np.nan
        return out


def _first(hit: np.ndarray) -> int | None:
    """Index of the first True of a (R,) bool array, or None."""
    idx = np.flatnonzero(hit)
    return int(idx[0]) if len(idx) else None


def _windowed(values: np.ndarray, window: int) -> np.ndarray:
    """(R,) mean of values[r−window+1 .. r]; NaN until a full window of non-NaN values exists."""
    out = np.full(len(values), np.nan)
    for r in range(window - 1, len(values)):
        out[r] = values[r - window + 1: r + 1].mean()  # NaN inside the window gives NaN
    return out


@STOPPING.register(name="stabilizing_predictions")
@dataclass(frozen=True)
class StabilizingPredictions:
    """Stop once successive models agree on the stop set: mean Cohen's κ of the last `window`
    successive pairs >= `threshold` (Bloodgood & Vijay-Shanker 2009, CoNLL)."""

    threshold: float = 0.99  # κ agreement needed (their default)
    window: int = 3  # successive κ values averaged (their default)

    def __call__(self, s: Signals) -> int | None:
        return _first(_windowed(s.kappas(1), self.window) >= self.threshold)


@STOPPING.register(name="kappa_lag")
@dataclass(frozen=True)
class KappaLag:
    """Stop once the model agrees with the one `lag` rounds back: Cohen's κ >= `threshold` (a variant of
    Bloodgood & Vijay-Shanker 2009's stabilizing predictions that compares across a longer gap)."""

    threshold: float = 0.99  # κ agreement needed
    lag: int = 3  # rounds between the two models compared

    def __call__(self, s: Signals) -> int | None:
        return _first(s.kappas(self.lag) >= self.threshold)


@STOPPING.register(name="overall_uncertainty")
@dataclass(frozen=True)
class OverallUncertainty:
    """Stop once the mean entropy of the unlabelled stop-set examples is <= `threshold` nats
    (overall uncertainty, Zhu, Wang & Hovy 2008, COLING)."""

    threshold: float = 0.05  # mean entropy in nats

    def __call__(self, s: Signals) -> int | None:
        return _first(np.nan_to_num(s.entropy, nan=np.inf) <= self.threshold)


@STOPPING.register(name="max_confidence")
@dataclass(frozen=True)
class MaxConfidence:
    """Stop once the mean top-class probability of the unlabelled stop-set examples is >= `threshold`
    (after Zhu, Wang & Hovy 2008's max-confidence, which reads the least confident example; the
    recorded signal is the mean)."""

    threshold: float = 0.95  # mean max probability

    def __call__(self, s: Signals) -> int | None:
        return _first(np.nan_to_num(s.max_conf, nan=-np.inf) >= self.threshold)


@STOPPING.register(name="classification_change")
@dataclass(frozen=True)
class ClassificationChange:
    """Stop once at most `max_changed` of the stop set changes its predicted label between successive
    rounds (classification change, Zhu, Wang & Hovy 2008, COLING: no change at all by default)."""

    max_changed: float = 0.0  # fraction of stop-set predictions allowed to change

    def __call__(self, s: Signals) -> int | None:
        changed = np.full(len(s.pred), np.inf)
        for r in range(1, len(s.pred)):
            a, b = both_measured(s.pred[r - 1], s.pred[r])
            changed[r] = float(np.mean(a != b)) if len(a) else np.nan
        return _first(changed <= self.max_changed)


def both_measured(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(a, b) restricted to the stop rows predicted in both rounds (``stop_pred`` is -1 on labelled rows)."""
    keep = (np.asarray(a) >= 0) & (np.asarray(b) >= 0)
    return np.asarray(a)[keep], np.asarray(b)[keep]


def f_agreement(old: np.ndarray, new: np.ndarray) -> float:
    """Macro-averaged F of ``new`` against ``old`` taken as the truth.  old, new: (n,) ints.

    Per class c: 2a / (2a + b + c) with a = both say c, b = only old says c,
    c = only new says c (1 for a class neither predicts); mean over the
    classes either predicts.
    """
    k = int(max(old.max(), new.max())) + 1
    both = np.bincount(old[old == new], minlength=k)
    denom = np.bincount(old, minlength=k) + np.bincount(new, minlength=k)  # 2a + b + c
    seen = denom > 0
    return float(np.mean(2.0 * both[seen] / denom[seen]))


@STOPPING.register(name="predicted_change_f")
@dataclass(frozen=True)
class PredictedChangeF:
    """Stop once the predicted change of F between successive models, 1 − F(new vs old) on the stop
    set, is <= `threshold` for `window` successive pairs (Altschuler & Bloodgood 2019, ICSC; macro F
    over classes here; threshold and window are altbench's defaults)."""

    threshold: float = 0.005  # largest predicted change of F
    window: int = 1  # successive pairs that must all be below it

    def __call__(self, s: Signals) -> int | None:
        change = np.full(len(s.pred), np.nan)
        for r in range(1, len(s.pred)):
            a, b = both_measured(s.pred[r - 1], s.pred[r])
            change[r] = 1.0 - f_agreement(a, b) if len(a) else np.nan
        below = np.where(np.isnan(change), np.nan, (change <= self.threshold).astype(float))
        return _first(_windowed(below, self.window) == 1.0)


def signals_of_run(g) -> Signals | None:
    """The Signals of one run's rounds (a DataFrame sorted by round), None if the run did not record them."""
    if any(c not in g for c in SIGNAL_COLUMNS) or g.stop_pred.isna().any():
        return None
    pred = np.stack([np.asarray(p, dtype=np.int64) for p in g.stop_pred])  # (R, n_stop)
    as_float = lambda col: np.asarray(g[col].astype(float), dtype=np.float64)  # noqa: E731 (None → NaN)
    return Signals(pred, as_float("stop_max_conf"), as_float("stop_entropy"))


def evaluate_stopping(df, criteria: dict | None = None):
    """One row per run × criterion: where it stops and what that costs.

    df: rounds table (``RunStore.read_results``).  criteria: name → criterion
    (default: every registered one at its default parameters).  Columns:
    stop_round, labels_at_stop, accuracy_at_stop, labels_full, accuracy_full,
    accuracy_lost (full − at stop), labels_saved (full − at stop), fired
    (False: never fired, counted as stopping at the full budget), recorded
    (False: a run without signals; the other columns are NaN).
    """
    import pandas as pd

    criteria = criteria if criteria is not None else default_criteria()
    rows = []
    for run_id, g in df.sort_values(["run_id", "round"]).groupby("run_id", sort=True):
        sig, last = signals_of_run(g), g.iloc[-1]
        ident = {"run_id": run_id, "dataset": last.dataset, "method": last.method,
                 "strategy": last.strategy, "seed": int(last.seed)}
        for name, crit in criteria.items():
            rows.append({**ident, "criterion": name, **_outcome(crit, sig, g)})
    return pd.DataFrame(rows)


def default_criteria() -> dict:
    """name → every registered criterion at its default parameters."""
    return {n: STOPPING.get(n)() for n in STOPPING.names()}


def _outcome(crit, sig: Signals | None, g) -> dict:
    n, acc = g.n_labelled.to_numpy(), g.accuracy.to_numpy()
    if sig is None:
        return {"recorded": False, "fired": False, **dict.fromkeys(
            ("stop_round", "labels_at_stop", "accuracy_at_stop", "labels_full", "accuracy_full",
             "accuracy_lost", "labels_saved"), float("nan"))}
    r = crit(sig)
    stop = len(n) - 1 if r is None else r
    return {"recorded": True, "fired": r is not None, "stop_round": stop, "labels_at_stop": int(n[stop]),
            "accuracy_at_stop": float(acc[stop]), "labels_full": int(n[-1]), "accuracy_full": float(acc[-1]),
            "accuracy_lost": float(acc[-1] - acc[stop]), "labels_saved": int(n[-1] - n[stop])}


CELL = ["dataset", "method", "strategy", "criterion"]


def stopping_table(per_run):
    """Means over seeds per dataset × method × strategy × criterion (from :func:`evaluate_stopping`).

    Columns: seeds, recorded (seeds with signals), fired (seeds where it
    fired), labels_at_stop, labels_saved, labels_saved_share (of the full
    budget), accuracy_lost; NaN where no seed recorded signals.
    """
    import pandas as pd

    rows = []
    for key, g in per_run.groupby(CELL, sort=True):
        rec = g[g.recorded]
        mean = lambda col: float(rec[col].mean()) if len(rec) else float("nan")  # noqa: E731
        rows.append({**dict(zip(CELL, key)), "seeds": len(g), "recorded": len(rec), "fired": int(rec.fired.sum()),
                     "labels_at_stop": mean("labels_at_stop"), "labels_saved": mean("labels_saved"),
                     "labels_saved_share": float((rec.labels_saved / rec.labels_full).mean()) if len(rec)
                     else float("nan"), "accuracy_lost": mean("accuracy_lost")})
    return pd.DataFrame(rows)


def stopping_markdown(table, header: str, criteria: dict | None = None) -> str:
    """GitHub Markdown of :func:`stopping_table`; cells without signals say "not recorded".  The note names
    the ``criteria`` evaluated (default: every registered one) with their parameters."""
    from tabulate import tabulate

    from altbench.stopping_summary import describe_criteria

    body = []
    for r in table.itertuples(index=False):
        cells = [r.dataset, r.method, r.strategy, r.criterion, f"{r.fired}/{r.recorded}/{r.seeds}"]
        if r.recorded:
            cells += [f"{r.labels_at_stop:.1f}", f"{r.labels_saved:.1f} ({100 * r.labels_saved_share:.1f}%)",
                      f"{100 * r.accuracy_lost:+.2f}"]
        else:
            cells += ["not recorded"] * 3
        body.append(cells)
    text = tabulate(body, headers=["dataset", "method", "strategy", "criterion", "fired/recorded/seeds",
                                   "labels at stop", "labels saved", "accuracy lost (pp)"],
                    tablefmt="github", disable_numparse=True)
    note = ("Means over the seeds that recorded stopping signals. A criterion that never fires counts as "
            "stopping at the full budget (0 saved). Accuracy lost: final-budget accuracy minus accuracy "
            "at the stop, in percentage points. Criteria evaluated (`altbench show NAME` for the paper): "
            f"{describe_criteria(criteria if criteria is not None else default_criteria())}.")
    return f"<!-- {header} -->\n# Stopping criteria, evaluated post hoc\n\n{text}\n\n{note}\n"


def write_stopping(tables_dir, df, header: str) -> list:
    """Write ``stopping.md`` (the table, then its cross-setting summary), ``stopping.csv`` and
    ``stopping_summary.csv`` into ``tables_dir`` when any run recorded signals; returns the paths written
    (none otherwise)."""
    from pathlib import Path

    from altbench.stopping_summary import summary_section
    from altbench.tables import to_csv

    if "stop_pred" not in df or df.stop_pred.isna().all():
        return []
    per_run = evaluate_stopping(df)
    table = stopping_table(per_run)
    summary_md, summary = summary_section(table, per_run)
    out = [Path(tables_dir) / n for n in ("stopping.md", "stopping.csv", "stopping_summary.csv")]
    out[0].parent.mkdir(parents=True, exist_ok=True)
    out[0].write_text(f"{stopping_markdown(table, header)}\n{summary_md}")
    out[1].write_text(to_csv(table, header))
    out[2].write_text(to_csv(summary, header))
    return out
