"""scripts/bench_table.py: the benchmark table it writes and its argument checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import load_script

ROOT = Path(__file__).resolve().parents[1]


load = load_script


def test_bench_table_lists_min_seconds_sorted_by_name():
    bt = load("bench_table")
    report = {"benchmarks": [{"name": "test_query_time[margin-50k]", "stats": {"min": 0.0119, "max": 9.0}},
                             {"name": "test_query_time[badge-50k]", "stats": {"min": 1.48561, "max": 9.0}}]}
    assert bt.table(report) == ["test_query_time[badge-50k]       1.4856",
                                "test_query_time[margin-50k]      0.0119"]


def test_bench_table_selects_the_size_and_exclusions():
    cmd = load("bench_table").pytest_command("200k", ["probcover"], "/tmp/x.json")
    assert cmd[cmd.index("-k") + 1] == "200k and not probcover"
    assert "--benchmark-json=/tmp/x.json" in cmd and ["-m", "large"] in [cmd[i:i + 2] for i in range(len(cmd))]


def test_bench_table_refuses_unexplained_exclusions(tmp_path, capsys):
    with pytest.raises(SystemExit) as err:
        load("bench_table").main(["--size", "50k", "--exclude", "badge", "--out", str(tmp_path / "t.txt")])
    assert err.value.code == 2 and "recorded reason" in capsys.readouterr().err
    assert not (tmp_path / "t.txt").exists()
