"""Per-run metrics against hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from altbench.metrics import (curve_targets, label_savings, labels_to_target, normalised_aubc, parse_target,
                           run_summaries)


def test_aubc_trapezoid_by_hand():
    # area = 10·(0.5+0.7)/2 + 20·(0.7+0.8)/2 = 6 + 15 = 21 over a range of 30 → 0.7
    assert normalised_aubc([10, 20, 40], [0.5, 0.7, 0.8]) == pytest.approx(0.7)
    assert normalised_aubc([10, 20], [0.6, 0.6]) == pytest.approx(0.6)
    assert normalised_aubc([50], [0.42]) == 0.42


def test_labels_to_target_first_crossing_on_grid():
    n, acc = [20, 30, 40, 50], [0.80, 0.91, 0.89, 0.95]
    assert labels_to_target(n, acc, 0.90) == 30  # first reach, not last
    assert labels_to_target(n, acc, 0.95) == 50  # exact equality counts
    assert math.isnan(labels_to_target(n, acc, 0.99))


def test_label_savings():
    assert label_savings(75, 100) == pytest.approx(0.25)
    assert label_savings(120, 100) == pytest.approx(-0.2)
    assert math.isnan(label_savings(float("nan"), 100))
    assert math.isnan(label_savings(50, float("nan")))


def test_parse_target_forms_and_errors():
    assert parse_target("95%") == ("95%", pytest.approx(0.95), "best")
    assert parse_target(0.9) == ("0.9", 0.9, "absolute")
    assert parse_target("baseline")[2] == "baseline"
    with pytest.raises(ValueError, match="0.9"):
        parse_target("ninety")
    with pytest.raises(ValueError, match=r"\(0, 1\]"):
        parse_target("1.5")


def _rounds():
    """Two strategies × two seeds on one setting; hand-chosen curves."""
    rows = []
    curves = {("random", 0): [0.5, 0.6, 0.7], ("random", 1): [0.5, 0.6, 0.8],
              ("margin", 0): [0.5, 0.8, 0.9], ("margin", 1): [0.5, 0.7, 0.9]}
    for (s, seed), acc in curves.items():
        for r, (n, a) in enumerate(zip([10, 20, 30], acc)):
            rows.append({"run_id": f"{s}{seed}", "dataset": "d", "method": "m", "strategy": s, "seed": seed,
                         "round": r, "n_labelled": n, "accuracy": a, "macro_f1": a / 2,
                         "fit_seconds": 1.0, "query_seconds": 0.5})
    return pd.DataFrame(rows)


def test_run_summaries_by_hand():
    summ = run_summaries(_rounds(), targets=("0.75", "baseline")).set_index("run_id")
    m0 = summ.loc["margin0"]
    assert m0.final_accuracy == 0.9 and m0.final_macro_f1 == 0.45
    assert m0.aubc == pytest.approx((10 * 1.3 / 2 + 10 * 1.7 / 2) / 20)  # 0.75
    assert m0["labels_to_0.75"] == 20
    # baseline target = random's final mean accuracy, 0.75 → margin0 reaches it at 20
    assert m0["labels_to_baseline"] == 20
    assert math.isnan(summ.loc["random0"]["labels_to_baseline"])  # random seed 0 ends at 0.7
    assert m0.fit_seconds_total == 3.0 and m0.query_seconds_total == 1.5


def test_curve_targets_savings_on_mean_curves():
    t = curve_targets(_rounds(), targets=("baseline", "100%")).set_index("strategy")
    # mean curves: random 0.5, 0.6, 0.75; margin 0.5, 0.75, 0.9.  Target 0.75 (random final).
    assert t.loc["random", "labels_to_baseline"] == 30 and t.loc["margin", "labels_to_baseline"] == 20
    assert t.loc["margin", "savings_baseline"] == pytest.approx(1 - 20 / 30)
    assert t.loc["random", "savings_baseline"] == 0.0
    # 100% of the best mean accuracy (0.9): random never gets there → savings NaN
    assert t.loc["margin", "labels_to_100%"] == 30 and np.isnan(t.loc["margin", "savings_100%"])
