"""Report: a tiny synthetic results directory → tables and figures, deterministically."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from altbench.report import ReportOptions, write_report
from altbench.store import RunStore

# strategy → label-efficiency scale of its synthetic curve (smaller = learns faster)
SPEEDS = {"random": 60.0, "margin": 30.0, "entropy": 40.0}


def make_results(root: Path, datasets=("toy_a", "toy_b", "toy_c"), seeds=4, sizes=range(20, 130, 10)) -> Path:
    """Write a results dir of synthetic runs: acc = 0.95 − 0.6·exp(−n / speed) + seeded noise."""
    store = RunStore(root)
    store.runs.mkdir(parents=True, exist_ok=True)
    (root / "experiment.json").write_text(json.dumps({"name": "synthetic", "seeds": seeds}))
    for d_i, d in enumerate(datasets):
        for s_i, (s, speed) in enumerate(SPEEDS.items()):
            for seed in range(seeds):
                rng = np.random.default_rng([d_i, s_i, seed])
                records = []
                for r, n in enumerate(sizes):
                    acc = 0.95 - 0.6 * np.exp(-n / (speed * (1 + 0.3 * d_i))) + rng.normal(0, 0.01)
                    records.append({"round": r, "n_labelled": n, "accuracy": float(acc),
                                    "macro_f1": float(acc - 0.02), "queried": [], "fit_seconds": 0.01 * (r + 1),
                                    "query_seconds": 0.002})
                run_id = f"{d}-{s}-{seed}"
                store.finish(run_id, {"dataset": d, "method": "logreg", "strategy": s, "seed": seed}, records,
                             {"run_id": run_id})
    return root


@pytest.fixture(scope="module")
def reported(tmp_path_factory):
    """(results dir, written paths, bytes of every file) after one report."""
    root = make_results(tmp_path_factory.mktemp("results") / "synthetic")
    paths = write_report(root, command="altbench report synthetic")
    return root, paths, {p: p.read_bytes() for p in paths}


def test_report_writes_every_format(reported):
    root, paths, _ = reported
    names = {p.relative_to(root).as_posix() for p in paths}
    for stem in ("summary", "pairwise", "win_tie_loss", "ranks", "penalty"):
        assert {f"report/tables/{stem}.{ext}" for ext in ("md", "tex", "csv")} <= names
    for fig in ("curves", "curves_macro_f1", "penalty"):
        assert {f"report/figures/{fig}.png", f"report/figures/{fig}.pdf"} <= names
    assert {"report/references.bib", "report/paper/experiments.tex", "report/tables/delta.csv"} <= names
    assert {"table.md", "summary.csv", "curves.png", "report.md"} <= names
    assert (root / "report/figures/curves.png").read_bytes()[:4] == b"\x89PNG"
    assert (root / "report/figures/penalty.pdf").read_bytes()[:4] == b"%PDF"


def test_report_is_deterministic(reported):
    root, paths, before = reported
    again = write_report(root, command="altbench report synthetic")
    assert again == paths
    changed = [p.name for p in paths if p.read_bytes() != before[p]]
    assert changed == []


def test_every_output_names_command_and_config(reported):
    root, paths, _ = reported
    for p in paths:
        data = p.read_bytes()
        assert b"altbench report synthetic" in data, p
        assert b"config: synthetic" in data and b"experiment.json sha256:" in data, p


def test_summary_content_bold_and_marks(reported):
    root, _, _ = reported
    nums = pd.read_csv(root / "report/tables/summary.csv", comment="#")
    assert len(nums) == 9 and set(nums.strategy) == set(SPEEDS)
    # margin learns fastest on every synthetic dataset → best AUBC, bold, ↑ against random
    best = nums.loc[nums.groupby("dataset").aubc_mean.idxmax(), "strategy"]
    assert set(best) == {"margin"}
    tex = (root / "report/tables/summary.tex").read_text()
    assert r"\toprule" in tex and r"\bottomrule" in tex and r"toy\_a" in tex and r"\begin{longtable}" in tex
    margin_rows = [line for line in tex.splitlines() if " & margin & " in line and r"$\pm$" in line]
    assert len(margin_rows) == 3 and all(r"\bfseries" in r and r"$^{\uparrow}$" in r for r in margin_rows)
    md = (root / "table.md").read_text()
    assert md.count("| toy_a") == 3 and "↑" in md and "**" in md
    savings = nums.set_index(["dataset", "strategy"])["savings_baseline"]
    assert (savings.xs("margin", level="strategy") > 0).all()
    assert (savings.xs("random", level="strategy") == 0).all()


def test_summary_has_per_round_query_time(reported):
    root, _, _ = reported
    nums = pd.read_csv(root / "report/tables/summary.csv", comment="#")
    # synthetic runs: 11 rounds, 0.002 s recorded on each → 10 query rounds of 0.002 s (the last round buys nothing)
    assert np.allclose(nums.query_seconds_per_round, 0.002) and np.allclose(nums.query_seconds_total, 0.022)
    md = (root / "table.md").read_text()
    header = next(line for line in md.splitlines() if line.startswith("| Dataset"))
    assert "| Query s/round" in header and "| 0.002 " in md


def test_ranks_and_win_tie_loss_tables(reported):
    root, _, _ = reported
    ranks = pd.read_csv(root / "report/tables/ranks.csv", comment="#")
    assert ranks.strategy.tolist() == ["margin", "entropy", "random"]
    assert ranks.average_rank.tolist() == [1.0, 2.0, 3.0]
    wtl = pd.read_csv(root / "report/tables/win_tie_loss.csv", comment="#").set_index("strategy")
    assert wtl.loc["margin"].tolist() == [3, 0, 0]


def test_report_options_and_cli(tmp_path):
    from altbench.cli import main

    root = make_results(tmp_path / "r", datasets=("toy_a",), seeds=3)
    assert main(["report", str(root), "--target", "0.8", "--test", "wilcoxon", "--metric", "final_accuracy"]) == 0
    md = (root / "table.md").read_text()
    assert "Labels@0.8" in md and "--test wilcoxon" in md
    # 3 seeds: the smallest two-sided Wilcoxon p is 0.25, so nothing is significant
    rows = [line for line in md.splitlines() if line.startswith("| toy_a")]
    assert len(rows) == 3 and not any("↑" in r or "↓" in r for r in rows)
    assert "paired Wilcoxon signed-rank test" in md
    assert main(["report", str(root), "--target", "lots"]) == 2


def test_report_on_empty_dir_says_what_to_do(tmp_path, capsys):
    from altbench.cli import main

    assert main(["report", str(tmp_path)]) == 2
    assert "altbench run" in capsys.readouterr().err


def test_style_map_is_a_pure_function_of_the_sorted_names_with_random_black_dashed():
    from altbench.styles import REFERENCE_STYLE, style_map

    names = ["random"] + [f"s{i:02d}" for i in range(24)]  # 25 strategies
    a, b = style_map(names), style_map(list(reversed(names)))
    assert a == b and a["random"] == REFERENCE_STYLE and REFERENCE_STYLE.colour == (0.0, 0.0, 0.0)
    assert REFERENCE_STYLE.linestyle != "-" and REFERENCE_STYLE.marker is None
    looks = [(s.colour, str(s.linestyle), s.marker) for s in a.values()]
    assert len(set(looks)) == 25  # every strategy distinguishable
    assert len({(s.colour, str(s.linestyle)) for s in a.values()}) == 25  # even without markers
    assert all(s.colour != REFERENCE_STYLE.colour for n, s in a.items() if n != "random")


def test_transfer_figure_only_when_methods_are_compared(tmp_path, reported):
    _, paths, _ = reported
    assert not any(p.name.startswith("transfer") for p in paths), "one method: nothing to compare"
    root = make_results(tmp_path / "two", datasets=("toy_a",), seeds=2)
    store = RunStore(root)
    for p in list(store.runs.glob("*.parquet")):  # the same runs again under a second method
        df = pd.read_parquet(p)
        run_id = p.stem + "-lp"
        recs = [{**r, "queried": [], "fit_seconds": 0.0, "query_seconds": 0.0, "accuracy": r["accuracy"] + 0.05}
                for r in df.to_dict("records")]
        store.finish(run_id, {"dataset": "toy_a", "method": "linear-probe", "strategy": df.strategy[0],
                              "seed": int(df.seed[0])}, recs, {"run_id": run_id})
    written = {p.name for p in write_report(root)}
    assert {"transfer.png", "transfer.pdf"} <= written


def test_timing_note_states_the_thread_count_from_the_run_records(reported, tmp_path):
    from altbench.tables import threads_phrase

    root, _, _ = reported
    assert "thread count not recorded" in (root / "table.md").read_text()  # synthetic records have none
    assert threads_phrase((1,)) == "1 torch/BLAS thread per run"
    assert threads_phrase((2,)) == "2 torch/BLAS threads per run"
    other = make_results(tmp_path / "mixed", datasets=("toy_a",), seeds=2)
    store = RunStore(other)
    for i, run_id in enumerate(store.finished_ids()):  # half the runs with 1 thread, half with 2
        meta = json.loads(store.path(run_id, ".json").read_text())
        meta["provenance"] = {"torch_threads": 1 + i % 2}
        store.path(run_id, ".json").write_text(json.dumps(meta))
    write_report(other, command="altbench report mixed")
    assert "MIXED thread counts (1, 2 torch/BLAS threads per run)" in (other / "table.md").read_text()


def test_log_x_only_when_the_budget_spans_more_than_ten_times():
    from altbench.figures import log_ticks, use_log_x

    assert not use_log_x([20, 100, 200]) and use_log_x([50, 500, 2000])
    assert log_ticks(50, 2000) == [50, 100, 200, 500, 1000, 2000]


def test_delta_to_random_is_paired_by_seed(tmp_path):
    from altbench.stats import delta_bands

    rows = [{"dataset": "d", "method": "m", "strategy": s, "seed": seed, "n_labelled": 10, "accuracy": acc}
            for s, accs in (("random", [0.5, 0.7, 0.9]), ("margin", [0.6, 0.8, 1.0])) for seed, acc in enumerate(accs)]
    d = delta_bands(pd.DataFrame(rows))
    # unpaired, the seed spread (±0.2) would swamp the +0.1; paired, every seed gains exactly 0.1
    assert d.strategy.tolist() == ["margin"] and d["mean"].iloc[0] == pytest.approx(0.1)
    assert d.ci_low.iloc[0] == pytest.approx(0.1) and d.ci_high.iloc[0] == pytest.approx(0.1)


def test_many_strategies_get_the_delta_figure_and_cd_needs_five_settings(tmp_path):
    root = make_results(tmp_path / "many", datasets=("toy_a", "toy_b"), seeds=3)
    store = RunStore(root)
    margin_runs = sorted(store.runs.glob("*-margin-*.parquet"))
    for i in range(8):  # 8 more copies of margin under other names → 11 strategies
        for p in margin_runs:
            df = pd.read_parquet(p)
            recs = [{**r, "queried": [], "fit_seconds": 0.0, "query_seconds": 0.0, "accuracy": r["accuracy"] - 0.001 * i}
                    for r in df.to_dict("records")]
            store.finish(f"{p.stem}-{i}", {"dataset": df.dataset[0], "method": "logreg", "strategy": f"copy{i}",
                                            "seed": int(df.seed[0])}, recs, {"run_id": f"{p.stem}-{i}"})
    written = {p.name for p in write_report(root, command="altbench report many")}
    assert {"delta.png", "delta.pdf"} <= written and not {"cd.png", "cd.pdf", "transfer.png"} & written
    md = (root / "report.md").read_text()
    assert "report/figures/delta.png" in md and "report/figures/cd.png" not in md
    assert "report/figures/transfer.png" not in md
    assert "Not drawn: critical-difference diagram (`cd.png`): 2 dataset × method settings and 11 strategies" in md


def test_cd_diagram_with_five_settings_shows_friedman_p(tmp_path):
    root = make_results(tmp_path / "five", datasets=tuple(f"toy_{c}" for c in "abcde"), seeds=3)
    written = {p.name for p in write_report(root, command="altbench report five")}
    assert {"cd.png", "cd.pdf"} <= written
    md = (root / "report.md").read_text()
    assert "report/figures/cd.png" in md and "Not drawn: critical" not in md
    p = (root / "report/tables/ranks.md").read_text()
    assert "Friedman χ² = " in p and "over 5 dataset × method settings" in p


def test_notes_follow_the_options_actually_used(tmp_path):
    root = make_results(tmp_path / "opts", datasets=("toy_a", "toy_b"), seeds=4)
    write_report(root, command="altbench report opts",
                 options=ReportOptions(metric="final_accuracy", test="wilcoxon", alpha=0.1))
    wtl = (root / "report/tables/win_tie_loss.md").read_text()
    assert "on final accuracy" in wtl and "paired Wilcoxon signed-rank test" in wtl and "α = 0.1" in wtl
    assert "t-test" not in wtl and "AUBC" not in wtl
    assert "Ranks of mean final accuracy" in (root / "report/tables/ranks.md").read_text()
    assert "A vs B: paired Wilcoxon signed-rank test over seeds, Holm-corrected, α = 0.1" in \
        (root / "report/tables/pairwise.md").read_text()
    tex = (root / "report/paper/statistics.tex").read_text()
    assert "final accuracy" in tex and "Wilcoxon" in tex


def test_report_help_lists_every_output(capsys):
    from altbench.cli import main
    from altbench.report import OUTPUTS

    with pytest.raises(SystemExit):
        main(["report", "--help"])
    text = capsys.readouterr().out
    for path, _ in OUTPUTS:
        assert path in text


def test_references_bib_cites_datasets_strategies_and_statistics(reported):
    from altbench.bibliography import parse_citation, split_citations

    root, _, _ = reported
    bib = (root / "report/references.bib").read_text()
    assert "@misc{scheffer2001active," in bib and "@misc{demsar2006statistical," in bib  # margin, Friedman
    assert "@misc{holm1979simple," in bib
    parts = split_citations("Li & Roth (2002), 'Learning Question Classifiers', COLING. Files as prepared by "
                            "Kim (2014), 'Convolutional Neural Networks for Sentence Classification', EMNLP.")
    entries = [parse_citation(p) for p in parts]
    assert [e.key for e in entries] == ["li2002learning", "kim2014convolutional"]
    assert entries[0].authors == ("Li", "Roth") and entries[1].venue == "EMNLP"
    assert parse_citation("Socher et al. (2013), 'Recursive Deep Models', EMNLP.").authors == ("Socher", "others")
