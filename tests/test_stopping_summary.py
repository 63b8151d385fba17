"""Cross-setting summary of the stopping table (issue #16 part 6): medians, worst cell, never-fired share."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from altbench.stopping import KappaLag, StabilizingPredictions, stopping_markdown
from altbench.stopping_summary import describe_criteria, stopping_summary, summary_section


def _table() -> pd.DataFrame:
    """A stopping_table-shaped frame: 2 criteria × 2 datasets × 2 strategies, plus one cell without signals."""
    rows = []
    for crit, saved, lost in (("a", (100, 200, 300, 400), (0.01, 0.02, 0.03, 0.10)),
                              ("b", (0, 0, 40, 80), (0.0, 0.0, -0.01, 0.005))):
        cells = [("d1", "random"), ("d1", "margin"), ("d2", "random"), ("d2", "margin")]
        for (ds, st), s, lo in zip(cells, saved, lost):
            fired = 5 if s else 0
            rows.append({"dataset": ds, "method": "lp", "strategy": st, "criterion": crit, "seeds": 5,
                         "recorded": 5, "fired": fired, "labels_at_stop": 600.0 - s, "labels_saved": float(s),
                         "labels_saved_share": s / 600, "accuracy_lost": lo})
    rows.append({"dataset": "old", "method": "lp", "strategy": "random", "criterion": "a", "seeds": 5,
                 "recorded": 0, "fired": 0, **dict.fromkeys(("labels_at_stop", "labels_saved",
                                                            "labels_saved_share", "accuracy_lost"), np.nan)})
    return pd.DataFrame(rows)


def _per_run(table: pd.DataFrame) -> pd.DataFrame:
    """evaluate_stopping-shaped rows behind _table: 5 identical seeds per recorded cell, none for the other."""
    rows = []
    for r in table[table.recorded > 0].itertuples(index=False):
        for seed in range(5):
            rows.append({"dataset": r.dataset, "method": r.method, "strategy": r.strategy, "seed": seed,
                         "criterion": r.criterion, "recorded": True, "fired": r.fired > 0,
                         "labels_at_stop": r.labels_at_stop, "labels_saved": r.labels_saved,
                         "accuracy_lost": r.accuracy_lost})
    return pd.DataFrame(rows)


def test_summary_per_criterion_takes_medians_worst_cell_and_never_fired_share():
    t = _table()
    s = stopping_summary(t, _per_run(t)).set_index("criterion")
    assert list(s.index) == ["a", "b"]
    assert s.loc["a", "cells"] == 4 and s.loc["a", "runs"] == 20  # the cell without signals is left out
    assert s.loc["a", "labels_saved_median"] == 250
    assert s.loc["a", "labels_saved_share_median"] == pytest.approx(250 / 600)
    assert s.loc["a", "accuracy_lost_median"] == pytest.approx(0.025)
    assert s.loc["a", "accuracy_lost_worst"] == pytest.approx(0.10)
    assert s.loc["a", "never_fired_share"] == 0
    assert s.loc["b", "never_fired_share"] == pytest.approx(0.5)  # 10 of 20 runs never fired
    assert s.loc["b", "accuracy_lost_worst"] == pytest.approx(0.005)
    assert s.loc["b", "labels_saved_median"] == 20  # cells 0, 0, 40, 80: half never fire
    assert s.loc["b", "fired_labels_at_stop_median"] == 540  # fired runs only: 560 and 520
    assert s.loc["b", "fired_accuracy_lost_median"] == pytest.approx(-0.0025)
    assert s.loc["a", "fired_labels_at_stop_median"] == 350


def test_a_criterion_that_never_fires_has_no_fired_medians():
    t = _table()
    t = t[t.criterion == "b"].assign(fired=0)
    s = stopping_summary(t, _per_run(t))
    assert s.never_fired_share.iloc[0] == 1 and np.isnan(s.fired_labels_at_stop_median.iloc[0])
    assert "| –" in summary_section(t, _per_run(t))[0]


def test_summary_per_strategy_splits_the_cells():
    t = _table()
    s = stopping_summary(t, _per_run(t), ("criterion", "strategy")).set_index(["criterion", "strategy"])
    assert s.loc[("a", "margin"), "cells"] == 2
    assert s.loc[("a", "margin"), "accuracy_lost_worst"] == pytest.approx(0.10)
    assert s.loc[("a", "random"), "labels_saved_median"] == 200  # d1 100, d2 300
    assert s.loc[("b", "random"), "never_fired_share"] == pytest.approx(0.5)


def test_summary_section_renders_both_tables_and_a_csv_with_an_all_row():
    text, frame = summary_section(_table(), _per_run(_table()))
    assert "## Across settings" in text and "### Per strategy" in text
    assert "| a " in text and "+10.00" in text  # worst cell of a, in pp
    assert set(frame.strategy) == {"all", "random", "margin"}
    assert len(frame) == 2 + 4


def test_the_table_note_names_each_evaluated_criterion_with_its_parameters():
    crits = {"stabilizing_predictions": StabilizingPredictions(), "kappa_lag": KappaLag(lag=2)}
    assert describe_criteria(crits) == ("`stabilizing_predictions` (threshold=0.99, window=3), "
                                        "`kappa_lag` (threshold=0.99, lag=2)")
    md = stopping_markdown(_table(), "h", crits)
    assert "`kappa_lag` (threshold=0.99, lag=2)" in md and "not recorded" in md
