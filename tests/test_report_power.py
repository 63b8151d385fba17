"""The pairwise table's power column: power at a stated effect (1 pp), not post-hoc power at the observed Δ."""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd
import pytest
from scipy import integrate
from scipy import stats as sps
from test_report import make_results

from altbench import stats, tables
from altbench.plan import paired_power, pilot_differences
from altbench.report import ReportOptions, add_report_options, options_from_args, report_command, write_report

A = np.array([0.710, 0.742, 0.695, 0.731, 0.760, 0.722])  # AUBC of strategy "a" on seeds 0..5
B = np.array([0.665, 0.701, 0.668, 0.672, 0.710, 0.690])  # strategy "b": a − b has mean ≈ 4.4 pp


def two_strategies(a=A, b=B) -> pd.DataFrame:
    rows = [{"dataset": "toy", "method": "logreg", "strategy": s, "seed": i, "aubc": float(v)}
            for s, vals in (("a", a), ("b", b)) for i, v in enumerate(vals)]
    return pd.DataFrame(rows)


def nct_power(df, nc, alpha=0.05) -> float:
    """1 − P(−t* ≤ T' ≤ t*), T' ~ scipy's noncentral t(df, nc), by integrating its density."""
    crit = sps.t.ppf(1 - alpha / 2, df)
    inside, _ = integrate.quad(sps.nct.pdf, -crit, crit, args=(df, nc), epsabs=1e-13)
    return 1.0 - inside


def scipy_power(d, effect, alpha=0.05) -> float:
    """Two-sided paired t-test power at a true difference ``effect`` given the per-seed differences d."""
    n, sd = len(d), np.std(d, ddof=1)
    return nct_power(n - 1, effect / sd * np.sqrt(n), alpha)


def pairwise(summ, effect=0.01, alpha=0.05):
    comp = stats.paired_comparisons(summ, "aubc", None, alpha, "t")
    return tables.pairwise_table(comp, "AUBC", tables.decision_phrase("t", alpha), pilot_differences(summ),
                                 effect, alpha)


def test_power_is_noncentral_t_at_one_pp_not_at_the_observed_difference():
    t = pairwise(two_strategies())
    d = A - B
    want = scipy_power(d, 0.01)
    observed = scipy_power(d, abs(d.mean()))  # post-hoc "observed power": must not be what is reported
    assert 0.05 < want < 0.9 and observed > 0.99  # the two differ a lot for this frame
    row = t.numbers.iloc[0]
    assert (row.a, row.b, row.n) == ("a", "b", 6)
    assert row.power == pytest.approx(want, rel=1e-9)
    assert row.sd_diff == pytest.approx(np.std(d, ddof=1)) and row.power_effect == 0.01
    assert t.display["Power@1pp"].iloc[0] == f"{want:.2f}"
    assert "Power@1pp: power of a two-sided paired t-test at α = 0.05" in t.note
    assert "not at the observed Δ" in t.note


def test_power_follows_effect_and_alpha():
    t = pairwise(two_strategies(), effect=0.02, alpha=0.1)
    want = scipy_power(A - B, 0.02, alpha=0.1)
    assert t.numbers.power.iloc[0] == pytest.approx(want, rel=1e-9)
    assert "Power@2pp" in t.display.columns and "Power@1pp" not in t.display.columns
    assert "difference of 2 pp" in t.note and "α = 0.1 " in t.note


def test_power_is_a_dash_with_one_common_seed():
    summ = two_strategies()
    summ = summ[~((summ.strategy == "b") & (summ.seed > 0))]  # only seed 0 ran both
    t = pairwise(summ)
    assert np.isnan(t.numbers.power.iloc[0]) and t.display["Power@1pp"].iloc[0] == "—"


def test_report_writes_the_power_column_and_option(tmp_path):
    root = make_results(tmp_path / "pw", datasets=("toy_a",), seeds=4)
    write_report(root, command="altbench report pw", options=ReportOptions(power_effect=0.02))
    md = (root / "report/tables/pairwise.md").read_text()
    assert "Power@2pp" in md and "difference of 2 pp" in md
    nums = pd.read_csv(root / "report/tables/pairwise.csv", comment="#")
    summ = stats_frame(root)
    for r in nums.itertuples(index=False):
        wide = summ.pivot_table(index="seed", columns="strategy", values="aubc")
        assert r.power == pytest.approx(scipy_power((wide[r.a] - wide[r.b]).to_numpy(), 0.02), rel=1e-6)

    parser = argparse.ArgumentParser()
    parser.add_argument("results_dir")
    add_report_options(parser)
    args = parser.parse_args(["pw", "--power-effect", "0.02"])
    assert options_from_args(args).power_effect == 0.02
    assert report_command(args) == "altbench report pw --power-effect 0.02"
    with pytest.raises(SystemExit):
        parser.parse_args(["pw", "--power-effect", "0"])


def stats_frame(root):
    from altbench.metrics import run_summaries
    from altbench.store import RunStore

    return run_summaries(RunStore(root).read_results(), targets=())


@pytest.mark.parametrize("df, nc", [(3, 9.56), (1, 7.6), (9, 8.8), (29, 9.2), (3, 2.0)])
def test_paired_power_is_finite_where_scipy_nct_cdf_lower_tail_is_nan(df, nc):
    n, sd = df + 1, 0.01
    got = paired_power(n, nc * sd / np.sqrt(n), sd)
    assert np.isfinite(got) and got == pytest.approx(nct_power(df, nc), abs=1e-9)
