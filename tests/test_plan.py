"""Seed planning (issue #16 part 3): paired t-test power, seeds needed, achieved power, `altbench plan`."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from altbench.cli import main
from altbench.plan import achieved_power, paired_power, plan_table, seeds_needed
from altbench.store import RunStore


def test_power_matches_the_textbook_value():
    # Cohen (1988) / G*Power: one-sample (paired) t, d = 0.5, two-sided α = .05 → n = 34, power 0.8078
    assert paired_power(34, 0.5, 1.0, 0.05) == pytest.approx(0.8078, abs=5e-4)
    assert seeds_needed(0.5, 1.0, 0.8, 0.05) == 34
    assert seeds_needed(0.01, 0.02) == 34  # only the ratio effect / SD matters


def test_power_matches_a_simulated_paired_t_test():
    rng = np.random.default_rng(7)
    n, effect, sd, alpha = 8, 0.012, 0.01, 0.05
    d = rng.normal(effect, sd, size=(20_000, n))
    t = d.mean(1) / (d.std(1, ddof=1) / np.sqrt(n))
    rejected = np.mean(np.abs(t) > stats.t.ppf(1 - alpha / 2, n - 1))
    assert paired_power(n, effect, sd, alpha) == pytest.approx(rejected, abs=0.015)


def test_seeds_needed_is_the_smallest_sufficient_count():
    for effect, sd in [(0.01, 0.01), (0.01, 0.03), (0.005, 0.02)]:
        n = seeds_needed(effect, sd, 0.9, 0.01)
        assert paired_power(n, effect, sd, 0.01) >= 0.9 > paired_power(n - 1, effect, sd, 0.01)
    assert seeds_needed(0.01, 0.0) == 2  # no spread: any difference shows at once
    assert seeds_needed(1e-6, 1.0, max_seeds=1000) is None
    with pytest.raises(ValueError, match="between 0 and 1"):
        seeds_needed(0.01, 0.01, power=1.2)


def test_achieved_power_uses_the_comparisons_seeds_and_spread():
    diffs = np.array([0.011, 0.004, 0.019, 0.008, -0.002])
    sd = diffs.std(ddof=1)
    assert achieved_power(diffs, 0.05, effect=0.01) == pytest.approx(paired_power(5, 0.01, sd, 0.05))
    assert achieved_power(diffs) == pytest.approx(paired_power(5, diffs.mean(), sd, 0.05))
    assert np.isnan(achieved_power([0.01]))
    assert achieved_power(np.zeros(4), effect=0.0) == pytest.approx(0.05)  # no effect: the test's size


def _pilot(root, seeds=4, spread=0.01):
    """Pilot runs of breast_cancer × logreg × {random, margin}: margin's AUBC is higher by 0.02 ± noise."""
    store = RunStore(root)
    for seed in range(seeds):
        noise = np.random.default_rng(seed).normal(0, spread)
        for s, shift in (("random", 0.0), ("margin", 0.02 + noise)):
            recs = [{"round": r, "n_labelled": 20 + 10 * r, "accuracy": 0.6 + 0.05 * r + shift, "macro_f1": 0.6,
                     "queried": [], "fit_seconds": 0.0, "query_seconds": 0.0} for r in range(3)]
            store.finish(f"{s}-{seed}", {"dataset": "breast_cancer", "method": "logreg", "strategy": s,
                                         "seed": seed}, recs, {"run_id": f"{s}-{seed}"})
    return store


def test_plan_table_and_cli(tmp_path, capsys):
    from altbench.metrics import run_summaries

    store = _pilot(tmp_path / "pilot")
    summ = run_summaries(store.read_results(), targets=())
    table = plan_table(summ, effect=0.01, power=0.8)
    (row,) = table.itertuples(index=False)
    diffs = summ.pivot_table(index="seed", columns="strategy", values="aubc")
    sd = float((diffs.margin - diffs.random).std(ddof=1))
    assert (row.a, row.b, row.pilot_seeds) == ("margin", "random", 4)
    assert row.sd_diff == pytest.approx(sd) and row.seeds_needed == seeds_needed(0.01, sd, 0.8, 0.05)
    grid = ["datasets=[breast_cancer]", "methods=[logreg]", "strategies=[random,margin]", "seeds=3"]
    assert main(["plan", *grid, "--pilot", str(store.root), "--effect", "0.01", "--power", "0.8"]) == 0
    out = capsys.readouterr().out
    assert "margin vs random" in out
    assert f"max: {int(row.seeds_needed)} seeds (breast_cancer/logreg: margin vs random); the config runs 3" in out


def test_plan_cli_errors_are_one_line(tmp_path, capsys):
    store = _pilot(tmp_path / "pilot")
    with pytest.raises(SystemExit) as exc:
        main(["plan", "--pilot", str(store.root), "--power", "1.5"])
    assert exc.value.code == 2 and "strictly between 0 and 1" in capsys.readouterr().err
    assert main(["plan", "datasets=[digits]", "--pilot", str(store.root)]) == 2
    err = capsys.readouterr().err.strip()
    assert "no finished runs of" in err and "\n" not in err
