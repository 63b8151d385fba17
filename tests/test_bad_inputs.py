"""Fuzzed configs and CLI calls: every bad input ends in one actionable line."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from altbench.config import ConfigError, load_experiment
from altbench.datasets import Dataset
from altbench.loop import Budget, run_active_learning
from altbench.methods.sklearn_models import LogReg
from altbench.registry import DATASETS, STRATEGIES
from altbench.runner import run_grid
from altbench.seeds import Streams
from altbench.store import RunStore

GOOD = {"name": "fuzz", "datasets": ["iris"], "methods": ["logreg"], "strategies": ["margin"], "seeds": 1,
        "budget": {"initial": 6, "query": 3, "total": 12}, "n_jobs": 1}

scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=True),
                    st.text(max_size=12), st.lists(st.integers(-3, 3), max_size=3))
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                       st.dictionaries(st.text(max_size=8), inner, max_size=3)),
                      max_leaves=6)


def _load(tmp_path, text):
    p = tmp_path / "fuzz.yaml"
    p.write_text(text)
    return load_experiment(p)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(key=st.sampled_from(sorted(GOOD) + ["budget.initial", "budget.query", "budget.total", "budget.schedule",
                                             "budget.initial_per_class", "extra", "budget.extra"]),
       value=values)
def test_fuzzed_field_values_never_crash(tmp_path, key, value):
    raw = json.loads(json.dumps(GOOD))
    node = raw
    *parents, last = key.split(".")
    for part in parents:
        node = node[part]
    node[last] = value
    try:
        exp = _load(tmp_path, yaml.safe_dump(raw))
    except ConfigError as exc:
        msg = str(exc)
        assert msg and "\n" not in msg and len(msg) < 600
    else:  # accepted: then it really is a valid grid
        assert exp.runs and all(r.budget.query > 0 and r.budget.total > 0 for r in exp.runs)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(alphabet=st.sampled_from(list("{}[]:,-#&*!|>'\"% \n\tabc019=.")), max_size=80))
def test_fuzzed_yaml_text_never_crashes(tmp_path, text):
    try:
        _load(tmp_path, text)
    except ConfigError as exc:
        assert "\n" not in str(exc)


@settings(max_examples=60, deadline=None)
@given(override=st.text(alphabet=st.sampled_from(list("abcdeinstgyq.=[]{}:,0123456789- _")), max_size=30))
def test_fuzzed_overrides_never_crash(override):
    try:
        load_experiment(None, [override])
    except ConfigError as exc:
        assert "\n" not in str(exc)


@pytest.mark.parametrize("argv", [
    ["run", "budget.initial=0"], ["run", "budget.query=-3"], ["run", "seeds=[a]"], ["run", "n_jobs=0"],
    ["run", "--jobs", "-1"], ["run", "--timeout", "abc"], ["run", "--executor", "spark"],
    ["list", "strategy"], ["report"], ["status", "strategies=[nope]"], ["frobnicate"],
])
def test_cli_bad_arguments(argv, tmp_path):
    out = subprocess.run([sys.executable, "-m", "altbench", *argv], capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("altbench: error:"), out.stderr
    assert not (tmp_path / "results").exists(), "a rejected command must not write anything"


def _tiny(X, y, Xt=None, yt=None):
    Xt = X if Xt is None else Xt
    yt = y if yt is None else yt
    return Dataset("tiny", "tabular", X, y, Xt, yt, ("a", "b"))


@pytest.mark.parametrize("make, message", [
    (lambda: _tiny(np.zeros((0, 2), np.float32), np.zeros(0, np.int64)), "must be non-empty"),
    (lambda: _tiny(np.array([[0.0, np.nan]] * 30, np.float32), np.array([0, 1] * 15)), "NaN/inf features"),
    (lambda: _tiny(np.zeros((30, 2), np.float32), np.array([0, 5] * 15)), "labels must lie in"),
    (lambda: _tiny(np.zeros((30, 2), np.float32), np.array([0, 1] * 10)), "differ in length"),
])
def test_bad_datasets_are_rejected_with_a_reason(make, message):
    with pytest.raises(ValueError, match=message):
        run_active_learning(make(), LogReg(), STRATEGIES.get("random"), Budget(initial=4, query=2, total=8),
                            Streams(0))


def test_classes_missing_from_initial_set_are_fine():
    ds = DATASETS.get("wine")()
    recs = run_active_learning(ds, LogReg(), STRATEGIES.get("margin"), Budget(initial=1, query=1, total=4), Streams(0))
    assert [r["n_labelled"] for r in recs] == [1, 2, 3, 4]


def _grid(tmp_path, **kw):
    p = tmp_path / "g.yaml"
    p.write_text(textwrap.dedent(f"""
        name: g
        datasets: [iris]
        methods: [logreg]
        strategies: [random, margin]
        seeds: 1
        budget: {{initial: 6, query: 3, total: 12}}
        results_dir: {tmp_path / 'out'}
        n_jobs: 1
    """))
    return load_experiment(p, [f"{k}={v}" for k, v in kw.items()])


def test_corrupt_results_file_is_reported_and_others_untouched(tmp_path):
    exp = _grid(tmp_path)
    run_grid(exp, progress=False)
    store = RunStore(exp.results_dir)
    bad, good = store.finished_ids()
    before = store.path(good, ".parquet").read_bytes()
    store.path(bad, ".parquet").write_bytes(b"PAR1 garbage")
    advice = "`altbench run` on its config moves it aside and re-runs it"
    with pytest.raises(ValueError, match=f"run {bad}.*" + advice.replace("`", ".")):
        store.read_results()
    out = subprocess.run([sys.executable, "-m", "altbench", "report", str(exp.results_dir)],
                         capture_output=True, text=True)
    assert out.returncode == 2 and advice in out.stderr and "Traceback" not in out.stderr
    assert store.path(good, ".parquet").read_bytes() == before
    assert run_grid(exp, progress=False).done == 1 and len(store.read_results()) == 6  # the advice works
    assert store.path(good, ".parquet").read_bytes() == before


def test_budget_larger_than_pool_fails_that_run_only(tmp_path):
    exp = _grid(tmp_path, **{"budget.total": 400})
    rep = run_grid(exp, progress=False)
    assert rep.done == 0 and len(rep.failed) == 2
    assert all("lower budget.total" in e for _, e in rep.failed)


def test_tensorboard_scalars_are_written(tmp_path):
    pytest.importorskip("tensorboard", reason="optional extra altbench[tensorboard]")
    exp = _grid(tmp_path, strategies="[margin]")
    run_grid(exp, progress=False, tensorboard_dir=str(tmp_path / "tb"))
    (run_dir,) = (tmp_path / "tb").iterdir()
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(run_dir))
    acc.Reload()
    steps = [e.step for e in acc.Scalars("accuracy")]
    assert steps == [6, 9, 12]
