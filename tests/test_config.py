"""Experiment config: validation errors are one line and say what to do."""

from __future__ import annotations

import textwrap

import pytest

from altbench.config import ConfigError, load_experiment

BASE = """
name: t
datasets: [iris]
methods: [logreg]
strategies: [random, margin]
seeds: 2
budget: {initial: 6, query: 3, total: 12}
n_jobs: 1
"""


def write(tmp_path, text):
    p = tmp_path / "exp.yaml"
    p.write_text(textwrap.dedent(text))
    return p


def test_expands_grid_and_fills_defaults(tmp_path):
    exp = load_experiment(write(tmp_path, BASE))
    assert len(exp.runs) == 1 * 1 * 2 * 2
    run = exp.runs[0]
    assert run.method.params == {"C": 1.0, "max_iter": 1000}
    assert run.budget.total == 12 and run.seed == 0
    assert str(exp.results_dir) == "results/t"


def test_run_id_is_hash_of_resolved_config(tmp_path):
    a = load_experiment(write(tmp_path, BASE))
    b = load_experiment(write(tmp_path, BASE.replace("methods: [logreg]", "methods: [{name: logreg, C: 1.0}]")))
    assert [r.run_id for r in a.runs] == [r.run_id for r in b.runs], "explicit defaults = same run"
    c = load_experiment(write(tmp_path, BASE), ["budget.total=15"])
    assert not {r.run_id for r in a.runs} & {r.run_id for r in c.runs}
    assert len({r.run_id for r in a.runs}) == len(a.runs)


def test_committed_run_ids_are_stable():
    """The id of a run is part of the results format: the committed quickstart
    results must be found under the ids today's code computes."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    exp = load_experiment(root / "bench/configs/quickstart.yaml")
    committed = {p.stem for p in (root / "results/quickstart/runs").glob("*.parquet")}
    assert {r.run_id for r in exp.runs} == committed


def test_fields_added_with_id_if_set_keep_old_run_ids(tmp_path):
    import dataclasses

    from altbench.config import ID_IF_SET
    from altbench.loop import Budget

    @dataclasses.dataclass(frozen=True)
    class BudgetV2(Budget):  # a later version with one more field
        cost_per_label: float = dataclasses.field(default=1.0, metadata=ID_IF_SET)

    run = load_experiment(write(tmp_path, BASE)).runs[0]
    same = dataclasses.replace(run, budget=BudgetV2(**dataclasses.asdict(run.budget)))
    assert same.run_id == run.run_id
    changed = dataclasses.replace(same, budget=dataclasses.replace(same.budget, cost_per_label=2.0))
    assert changed.run_id != run.run_id
    assert "cost_per_label" in changed.to_dict()["budget"]  # the run record still stores every field


def test_overrides(tmp_path):
    exp = load_experiment(write(tmp_path, BASE), ["budget.total=21", "seeds=[5, 9]", "methods.0={name: mlp, hidden: [8]}",
                                                  "strategies=[entropy]"])
    assert {r.seed for r in exp.runs} == {5, 9}
    assert exp.runs[0].budget.total == 21
    assert exp.runs[0].method.params["hidden"] == [8] and exp.runs[0].method.key() == "mlp(hidden=[8])"
    assert {r.strategy.name for r in exp.runs} == {"entropy"}


def test_nested_method_params(tmp_path):
    exp = load_experiment(write(tmp_path, BASE), ["methods=[{name: mlp, train: {epochs: 3}}]"])
    assert exp.runs[0].method.params["train"]["epochs"] == 3
    assert exp.runs[0].method.params["train"]["lr"] == 1e-3


@pytest.mark.parametrize("override, message", [
    (["budgt.total=3"], "unknown key 'budgt'"),
    (["budget.totl=3"], "unknown key 'budget.totl'"),
    (["budget.total=abc"], "budget.total"),
    (["budget.total=-5"], "budget.total"),
    (["budget.query=0"], "budget.query"),
    (["budget.initial=50"], "exceeds budget.total"),
    (["strategies=[margn]"], "did you mean margin"),
    (["methods=[logregg]"], "unknown method 'logregg'"),
    (["datasets=[irs]"], "unknown dataset 'irs'"),
    (["methods=[{name: logreg, CC: 2}]"], "no parameter 'CC'; valid: C, max_iter; did you mean 'C'?"),
    (["methods=[{name: logreg, C: high}]"], "parameter C"),
    (["methods=[{C: 2}]"], "needs 'name: <plugin>'"),
    (["strategies=[{name: margin, k: 2}]"], "no parameter 'k'; it takes none"),
    (["seeds=[0, 0]"], "same run twice"),
    (["name=a b"], "name"),
    (["nokeyvalue"], "not key=value"),
    (["datasets=[]"], "datasets"),
])
def test_errors_are_one_line_and_actionable(tmp_path, override, message):
    with pytest.raises(ConfigError) as err:
        load_experiment(write(tmp_path, BASE), override)
    text = str(err.value)
    assert message in text
    assert "\n" not in text


@pytest.mark.parametrize("text, message", [
    ("name: [unclosed", "malformed YAML"),
    ("- just\n- a list\n", "top level must be a mapping"),
    ("name: t\ndatasets: [iris]\n", "methods"),
])
def test_file_level_errors(tmp_path, text, message):
    with pytest.raises(ConfigError, match=message):
        load_experiment(write(tmp_path, text))


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_experiment(tmp_path / "nope.yaml")


def test_bundled_quickstart_is_valid():
    exp = load_experiment()
    assert exp.name == "quickstart"
    assert {r.dataset.name for r in exp.runs} == {"digits", "breast_cancer"}
    assert {r.strategy.name for r in exp.runs} == {"random", "least_confidence", "margin", "entropy"}
    assert {r.seed for r in exp.runs} == set(range(5))
