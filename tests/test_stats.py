"""Statistics against hand-computed values, textbook examples and scipy."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from altbench.stats import (bootstrap_ci, critical_difference, friedman_nemenyi, holm, mean_sd, paired_comparisons,
                         paired_test, penalty_matrix, win_tie_loss)


def test_holm_by_hand():
    # sorted 0.005·4 = 0.02, 0.01·3 = 0.03, 0.03·2 = 0.06, 0.04·1 = 0.04 → monotone 0.06
    np.testing.assert_allclose(holm([0.01, 0.04, 0.03, 0.005]), [0.03, 0.06, 0.06, 0.02])
    np.testing.assert_allclose(holm([0.5, 0.9]), [1.0, 1.0])  # 0.5·2 = 1.0, then monotone, capped at 1
    out = holm([0.01, np.nan, 0.02])
    assert np.isnan(out[1]) and out[0] == pytest.approx(0.02) and out[2] == pytest.approx(0.02)


def test_paired_t_matches_closed_form_for_two_dof():
    # d = [1, 2, 3]: t = 2 / (1/√3) = √12; with 2 dof, F(t) = 1/2 + t / (2√(t² + 2))
    t = math.sqrt(12)
    expected = 2 * (1 - (0.5 + t / (2 * math.sqrt(t * t + 2))))
    r = paired_test([1.0, 2.0, 3.0], [0.0, 0.0, 0.0])
    assert r["p_t"] == pytest.approx(expected) and r["mean_diff"] == 2.0 and r["n"] == 3


def test_wilcoxon_exact_textbook_value():
    # five positive differences: the exact two-sided p is 2 / 2⁵
    assert paired_test([1.0, 2.0, 3.0, 4.0, 5.5], np.zeros(5))["p_wilcoxon"] == pytest.approx(0.0625)


def test_paired_test_degenerate_cases():
    assert paired_test([0.5, 0.6], [0.5, 0.6])["p_t"] == 1.0
    assert math.isnan(paired_test([0.5], [0.4])["p_t"])


def test_paired_test_agrees_with_scipy():
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=8), rng.normal(size=8)
    r = paired_test(a, b)
    assert r["p_t"] == pytest.approx(sps.ttest_rel(a, b).pvalue)
    assert r["p_wilcoxon"] == pytest.approx(sps.wilcoxon(a, b).pvalue)


def test_mean_sd_and_bootstrap():
    assert mean_sd([1.0, 2.0, 3.0]) == (2.0, 1.0)
    assert mean_sd([4.0]) == (4.0, 0.0)
    assert bootstrap_ci([0.7, 0.7, 0.7]) == (0.7, 0.7)
    x = np.array([0.61, 0.64, 0.66, 0.70, 0.73])
    lo, hi = bootstrap_ci(x)
    assert lo < x.mean() < hi and x.min() <= lo and hi <= x.max()
    assert bootstrap_ci(x) == (lo, hi)  # fixed resampling seed


def test_nemenyi_critical_difference_demsar_example():
    # Demšar (2006) §3.2.2: k = 4 classifiers, N = 14 data sets, q_0.05 = 2.569 → CD = 1.25
    assert critical_difference(4, 14) == pytest.approx(2.569 * math.sqrt(20 / 84), abs=1e-3)
    assert round(critical_difference(4, 14), 2) == 1.25
    # Demšar's Table 5(a) q_0.05 values for k = 2, 3, 5
    for k, q in ((2, 1.960), (3, 2.343), (5, 2.728)):
        assert critical_difference(k, 6) / math.sqrt(k * (k + 1) / 36) == pytest.approx(q, abs=1e-3)


def _summ(values: dict[str, list[list[float]]]):
    """Per-run table: values[strategy][setting][seed] → aubc."""
    rows = []
    for s, per_setting in values.items():
        for d, seeds in enumerate(per_setting):
            for seed, v in enumerate(seeds):
                rows.append({"dataset": f"d{d}", "method": "m", "strategy": s, "seed": seed, "aubc": v})
    return pd.DataFrame(rows)


def test_friedman_hand_example():
    # A > B > C on all 4 blocks: ranks 1, 2, 3;
    # χ² = 12N/(k(k+1))·(Σ R² − k(k+1)²/4) = 4·(14 − 12) = 8, p = exp(−8/2) with 2 dof
    summ = _summ({"A": [[0.9]] * 4, "B": [[0.8]] * 4, "C": [[0.7]] * 4})
    res = friedman_nemenyi(summ)
    assert res.ranks == {"A": 1.0, "B": 2.0, "C": 3.0} and res.n_blocks == 4
    assert res.statistic == pytest.approx(8.0) and res.pvalue == pytest.approx(math.exp(-4))
    assert res.cd == pytest.approx(critical_difference(3, 4))


def test_paired_comparisons_outcomes_and_holm():
    summ = _summ({"random": [[0.60, 0.61, 0.62, 0.60]], "good": [[0.70, 0.72, 0.71, 0.73]],
                  "bad": [[0.50, 0.52, 0.51, 0.49]], "same": [[0.60, 0.62, 0.61, 0.60]]})
    comp = paired_comparisons(summ, "aubc", baseline="random").set_index("a")
    assert comp.loc["good", "outcome"] == "win" and comp.loc["bad", "outcome"] == "loss"
    assert comp.loc["same", "outcome"] == "tie"
    np.testing.assert_allclose(comp.p_t_holm, holm(comp.p_t))
    wtl = win_tie_loss(comp.reset_index()).set_index("strategy")
    assert wtl.loc["good"].tolist() == [1, 0, 0] and wtl.loc["bad"].tolist() == [0, 0, 1]
    everyone = paired_comparisons(summ, "aubc")  # all 6 pairs
    assert len(everyone) == 6 and set(everyone.a) <= {"bad", "good", "random"}


def test_penalty_matrix_by_hand():
    rows = []
    # setting 0: round 1 a beats b clearly, round 2 no difference → P[a, b] += 1/2
    # setting 1: b beats a in both rounds → P[b, a] += 1
    diffs = {(0, 10): [0.10, 0.12, 0.11], (0, 20): [0.1, -0.1, 0.0],
             (1, 10): [-0.2, -0.21, -0.19], (1, 20): [-0.1, -0.12, -0.11]}
    for (d, n), ds in diffs.items():
        for seed, diff in enumerate(ds):
            rows.append({"dataset": f"d{d}", "method": "m", "strategy": "b", "seed": seed, "n_labelled": n,
                         "accuracy": 0.5})
            rows.append({"dataset": f"d{d}", "method": "m", "strategy": "a", "seed": seed, "n_labelled": n,
                         "accuracy": 0.5 + diff})
    P = penalty_matrix(pd.DataFrame(rows))
    assert P.loc["a", "b"] == pytest.approx(0.5) and P.loc["b", "a"] == pytest.approx(1.0)
    assert P.loc["a", "a"] == 0.0
