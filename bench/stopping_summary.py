"""Cross-dataset summary of the post-hoc stopping table (``report/tables/stopping_summary.{md,csv}``).

:func:`altbench.stopping.stopping_table` gives one row per dataset × method ×
strategy × criterion (means over seeds).  A practitioner choosing a
criterion asks how it behaves across settings, so this module reduces that
table per criterion (and per criterion × strategy): the median labels saved,
the median and the worst accuracy lost over the cells, how often the
criterion never fires within the budget (share of runs) and, over the runs
where it fired, the median labels at the stop and accuracy lost (a
criterion that rarely fires has cell medians of zero that say nothing about
where it stops when it does).  The criteria
compared follow Bloodgood & Vijay-Shanker (2009, CoNLL) in evaluating each
one by the labels it saves against the performance it gives up.
"""

from __future__ import annotations

from dataclasses import fields

SUMMARY_COLUMNS = ("cells", "runs", "never_fired_share", "labels_saved_median", "labels_saved_share_median",
                   "accuracy_lost_median", "accuracy_lost_worst", "fired_labels_at_stop_median",
                 "fired_accuracy_lost_median")


def describe_criteria(criteria: dict) -> str:
    """'name (param=value, ...)' for each criterion instance, comma-separated, in the given order."""
    def one(name: str, crit) -> str:
        params = ", ".join(f"{f.name}={getattr(crit, f.name)!r}" for f in fields(crit))
        return f"`{name}` ({params})" if params else f"`{name}`"

    return ", ".join(one(n, c) for n, c in criteria.items())


def _key(key) -> tuple:
    return key if isinstance(key, tuple) else (key,)


def stopping_summary(table, per_run, by: tuple[str, ...] = ("criterion",)):
    """One row per ``by`` group of :func:`~altbench.stopping.stopping_table` (cells without signals dropped).

    per_run: the :func:`~altbench.stopping.evaluate_stopping` rows behind ``table``.
    Columns: ``by``, cells (dataset × method × strategy cells), runs (seeds with
    signals), never_fired_share (runs where it never fired / runs),
    labels_saved_median, labels_saved_share_median, accuracy_lost_median and
    accuracy_lost_worst (largest cell mean; accuracy as a fraction), then
    fired_labels_at_stop_median and fired_accuracy_lost_median over the runs
    where it fired (NaN if none did).
    """
    import pandas as pd

    rec = table[table.recorded > 0]
    fired = {_key(k): g for k, g in per_run[per_run.recorded & per_run.fired].groupby(list(by))}
    rows = []
    for key, g in rec.groupby(list(by), sort=True):
        key = _key(key)
        f = fired.get(key, per_run.iloc[:0])
        rows.append({**dict(zip(by, key)), "cells": len(g), "runs": int(g.recorded.sum()),
                     "never_fired_share": float(1 - g.fired.sum() / g.recorded.sum()),
                     "labels_saved_median": float(g.labels_saved.median()),
                     "labels_saved_share_median": float(g.labels_saved_share.median()),
                     "accuracy_lost_median": float(g.accuracy_lost.median()),
                     "accuracy_lost_worst": float(g.accuracy_lost.max()),
                     "fired_labels_at_stop_median": float(f.labels_at_stop.median()),
                     "fired_accuracy_lost_median": float(f.accuracy_lost.median())})
    return pd.DataFrame(rows, columns=[*by, *SUMMARY_COLUMNS])


def summary_markdown(summary, by: tuple[str, ...]) -> str:
    """GitHub Markdown of :func:`stopping_summary` (shares and accuracies in %, pp)."""
    from tabulate import tabulate

    body = [[*(getattr(r, k) for k in by), str(r.cells), str(r.runs), f"{100 * r.never_fired_share:.0f}%",
             f"{r.labels_saved_median:.0f} ({100 * r.labels_saved_share_median:.0f}%)",
             f"{100 * r.accuracy_lost_median:+.2f}", f"{100 * r.accuracy_lost_worst:+.2f}",
             _or_dash(r.fired_labels_at_stop_median, "{:.0f}"), _or_dash(100 * r.fired_accuracy_lost_median, "{:+.2f}")]
            for r in summary.itertuples(index=False)]
    return tabulate(body, headers=[*by, "cells", "runs", "never fires", "median labels saved",
                                   "median accuracy lost (pp)", "worst accuracy lost (pp)",
                                   "when fired: median labels at stop", "when fired: median accuracy lost (pp)"],
                    tablefmt="github", disable_numparse=True)


def _or_dash(x: float, fmt: str) -> str:
    return "–" if x != x else fmt.format(x)  # NaN: no run fired


def summary_section(table, per_run) -> tuple[str, object]:
    """Markdown section (per criterion, then per criterion × strategy) and the CSV frame of both."""
    import pandas as pd

    overall = stopping_summary(table, per_run, ("criterion",))
    per_strategy = stopping_summary(table, per_run, ("criterion", "strategy"))
    text = ("## Across settings\n\nPer criterion, over the dataset × method × strategy cells above (each cell a "
            "mean over its seeds): median and worst cell of the accuracy lost, median labels saved (share of "
            "the full budget), and the share of runs where the criterion never fired; then, over the runs "
            "where it fired, the median labels at the stop and accuracy lost.\n\n"
            f"{summary_markdown(overall, ('criterion',))}\n\n### Per strategy\n\n"
            f"{summary_markdown(per_strategy, ('criterion', 'strategy'))}\n")
    frame = pd.concat([overall.assign(strategy="all"), per_strategy], ignore_index=True)
    return text, frame[["criterion", "strategy", *SUMMARY_COLUMNS]]
