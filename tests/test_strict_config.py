"""Issue #11 regressions: strict configs, and a report that never pools differing runs."""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import subprocess
import sys
import textwrap
import typing

import numpy as np
import pytest

from altbench.config import ConfigError, build_plugin, identity, load_experiment, resolve_plugin
from altbench.registry import METHODS, REGISTRIES, STRATEGIES, PluginError

BASE = """
name: t
datasets: [iris]
methods: [logreg]
strategies: [random]
seeds: 1
budget: {initial: 6, query: 3, total: 12}
n_jobs: 1
"""
INTERNALS = ("constrained-int", "list[", "dict[", "Input should", "pydantic", "type=", "validation error",
             "Traceback")  # validation-library wording, tracebacks


def write(tmp_path, text, name="exp.yaml"):
    p = tmp_path / name
    p.write_text(textwrap.dedent(text))
    return p


def error_of(tmp_path, overrides=(), text=BASE) -> str:
    with pytest.raises(ConfigError) as err:
        load_experiment(write(tmp_path, text), list(overrides))
    msg = str(err.value)
    assert "\n" not in msg and not any(bit in msg for bit in INTERNALS), msg
    return msg


# ---------------------------------------------------------------- unknown keys, every level
@pytest.mark.parametrize("override, expected", [
    ("methods=[{name: mlp, train: {epoch: 3}}]",  # the typo: used to keep epochs=60 silently
     "methods.0 (mlp): no parameter 'train.epoch'; valid in train: batch_size, early_stop, epochs, grad_clip, "
     "lr, weight_decay; did you mean 'train.epochs'?"),
    ("methods=[{name: mlp, hiden: [8]}]",
     "no parameter 'hiden'; valid: dropout, hidden, train; did you mean 'hidden'?"),
    ("strategies=[{name: bald, n_sample: 3}]", "strategies.0 (bald): no parameter 'n_sample'"),
    ("datasets=[{name: zhan_heart, protocl: fixed}]", "datasets.0 (zhan_heart): no parameter 'protocl'; "
     "valid: protocol, standardize; did you mean 'protocol'?"),
    ("datasets=[{name: iris, split: 0.5}]", "datasets.0 (iris): no parameter 'split'; it takes none"),
    ("budget.totl=3", "unknown key 'budget.totl'; valid: cost_model, cost_query, cost_schedule, cost_total, initial, "
     "initial_all_classes, initial_per_class, initial_strategy, query, schedule, total, validation; "
     "did you mean 'budget.total'?"),
    ("seed=3", "unknown key 'seed'; valid: budget, datasets, methods, n_jobs, name, results_dir, seeds, strategies; "
     "did you mean 'seeds'?"),
    ("methods=[{name: linear-probe, backbone_params: {max_len: 32}}]",
     "backbone efficientnet-lite0/minilm has no parameter 'max_len'"),
    ("methods=[{name: finetune, backbone: minilm, backbone_params: {max_len: 32}}]",
     "backbone minilm has no parameter 'max_len'; valid: batch_size, dropout, max_length, normalize; "
     "did you mean 'max_length'?"),
    ("methods=[{name: scratch, train: {lr: 0.1, epochz: 2}}]", "no parameter 'train.epochz'"),
])
def test_unknown_keys_are_refused_at_every_level(tmp_path, override, expected):
    assert expected in error_of(tmp_path, [override])


def test_known_nested_keys_still_work(tmp_path):
    run = load_experiment(write(tmp_path, BASE), ["methods=[{name: mlp, train: {epochs: 3}}]"]).runs[0]
    assert run.method.params["train"]["epochs"] == 3
    assert build_plugin(METHODS, run.method).train.epochs == 3
    probe = load_experiment(write(tmp_path, BASE), [
        "methods=[{name: linear-probe, backbone: minilm, backbone_params: {max_length: 32}}]"]).runs[0]
    assert build_plugin(METHODS, probe.method).backbone_params == {"max_length": 32}


def test_override_into_a_plugin_given_by_name(tmp_path):
    """README: `methods.0.C=0.5` works on `methods: [logreg]`."""
    run = load_experiment(write(tmp_path, BASE), ["methods.0.C=0.5"]).runs[0]
    assert run.method.params["C"] == 0.5 and run.method.key() == "logreg(C=0.5)"


# ---------------------------------------------------------------- duplicate YAML keys
@pytest.mark.parametrize("text, expected", [
    (BASE + "seeds: 3\n", "line 9: key 'seeds' is given twice (first on line 6)"),
    (BASE.replace("budget: {initial: 6, query: 3, total: 12}", "budget:\n  total: 12\n  query: 3\n  total: 30"),
     "line 10: key 'total' is given twice (first on line 8)"),
    (BASE.replace("methods: [logreg]", "methods: [{name: logreg, C: 1, C: 2}]"), "key 'C' is given twice"),
])
def test_duplicate_yaml_keys_are_refused(tmp_path, text, expected):
    msg = error_of(tmp_path, text=text)
    assert expected in msg and "keep one of them" in msg


def test_duplicate_key_in_an_override_and_merge_keys_are_fine(tmp_path):
    assert "key 'name' is given twice" in error_of(tmp_path, ["methods=[{name: mlp, name: logreg}]"])
    merged = BASE.replace("methods: [logreg]", "base: &b {name: logreg, C: 1.0}\nmethods: [{<<: *b, C: 2.0}]")
    assert "unknown key 'base'" in error_of(tmp_path, text=merged)  # parsed: YAML merge overrides are no duplicate


# ---------------------------------------------------------------- paths and seeds
@pytest.mark.parametrize("value, expected", [
    ("''", "results_dir is empty or blank"), ("'   '", "results_dir is empty or blank"),
    ('"out\\0dir"', "holds a control character"), ('"out\\ndir"', "holds a control character"),
    ("' results'", "starts or ends with whitespace"), ("x" * 300, "over 255 bytes"),
])
def test_absurd_results_dirs_are_refused(tmp_path, value, expected):
    msg = error_of(tmp_path, [f"results_dir={value}"])
    assert expected in msg and "results_dir: results/my_experiment" in msg


def test_results_dir_that_is_an_existing_file_is_refused(tmp_path):
    (tmp_path / "taken").write_text("not a directory")
    msg = error_of(tmp_path, [f"results_dir={tmp_path / 'taken'}"])
    assert "is an existing file, not a directory" in msg and "results_dir: results/my_experiment" in msg


def test_results_dir_default_and_explicit(tmp_path):
    assert str(load_experiment(write(tmp_path, BASE)).results_dir) == "results/t"
    assert str(load_experiment(write(tmp_path, BASE), ["results_dir=out/here"]).results_dir) == "out/here"


@pytest.mark.parametrize("value, expected", [
    ("[18446744073709551616]", "18446744073709551616 is out of range; each seed must be 0 ≤ seed < 2**63"),
    ("[9223372036854775808]", "out of range"), ("[-1]", "-1 is out of range"),
    ("[a]", "must be a list of integers or a count (got ['a'])"), ("[]", "must be a list of integers or a count"),
    ("0", "a count must be between 1 and"), ("true", "must be a list of integers or a count (got True)"),
    ("1.5", "got 1.5"), ("10000000000", "a count must be between 1 and"),
])
def test_seeds_are_checked_up_front_in_plain_words(tmp_path, value, expected):
    msg = error_of(tmp_path, [f"seeds={value}"])
    assert expected in msg and "`seeds: 5`" in msg and "`seeds: [0, 1, 2]`" in msg


def test_largest_storable_seed_is_accepted(tmp_path):
    exp = load_experiment(write(tmp_path, BASE), [f"seeds=[0, {2**63 - 1}]"])
    assert [r.seed for r in exp.runs] == [0, 2**63 - 1]


@pytest.mark.parametrize("override, expected", [
    ("budget.total=-5", "budget.total must be a positive integer (got -5); write e.g. `budget.total=200`"),
    ("budget.query=abc", "budget.query must be an integer (got 'abc'); write e.g. `budget.query=10`"),
    ("budget.schedule=[0, 10]", "budget.schedule.0 must be a positive integer (got 0); "
     "write e.g. `budget.schedule=[50, 100, 200]`"),
    ("n_jobs=two", "n_jobs must be an integer (got 'two'); write e.g. `n_jobs=2`"),
    ("name=a b", "name may hold only letters, digits"),
    ("datasets=[]", "datasets must not be empty"),
    ("datasets=[5]", "datasets.0: an entry is a dataset name or a mapping with 'name:' (got 5)"),
    ("methods=[{name: mlp, train: {epochs: many}}]",
     "methods.0 (mlp): parameter train.epochs must be an integer (got 'many'); write e.g. `methods.0.train.epochs=60`"),
    ("strategies=[{name: stochastic, mode: hot}]", "must be one of 'power', 'softmax' or 'softrank' (got 'hot')"),
])
def test_value_errors_name_real_paths_and_what_to_write(tmp_path, override, expected):
    assert expected in error_of(tmp_path, [override])


# ---------------------------------------------------------------- function plugins get their parameters
HOT = '''
def hot(view, pool, budget, rng, temperature: float = 1.0):
    """Lowest pool indices at temperature 1, highest otherwise (shows which value arrived)."""
    import numpy as np
    order = np.sort(pool)
    return order[:budget] if temperature == 1.0 else order[::-1][:budget]


def needs_k(view, pool, budget, rng, *, k: int):
    return pool[:budget]
'''


@pytest.fixture
def hot_module(tmp_path, monkeypatch):
    name = f"hotmod_{tmp_path.name.replace('-', '_')}"
    (tmp_path / f"{name}.py").write_text(HOT)
    monkeypatch.syspath_prepend(str(tmp_path))
    return name


def test_function_strategy_receives_its_keyword_parameter(tmp_path, hot_module):
    from altbench.runner import run_grid
    from altbench.store import RunStore

    exp = load_experiment(write(tmp_path, BASE), [f"strategies=[{{name: '{hot_module}:hot', temperature: 5.0}}, "
                                                  f"'{hot_module}:hot']", f"results_dir={tmp_path / 'out'}"])
    hot5, hot1 = (r.strategy for r in exp.runs)
    assert hot5.params == {"temperature": 5.0} and hot1.params == {"temperature": 1.0}
    built = build_plugin(STRATEGIES, hot5)
    assert isinstance(built, functools.partial) and built.keywords == {"temperature": 5.0}
    assert run_grid(exp, progress=False).done == 2
    df = RunStore(exp.results_dir).read_results()
    first = df[df["round"] == 0].set_index("strategy").queried
    hi, lo = first[hot5.key()], first[hot1.key()]
    assert min(hi) > max(lo), "temperature 5.0 must reach the function (it picks the highest indices)"


def test_function_parameters_are_checked(tmp_path, hot_module):
    msg = error_of(tmp_path, [f"strategies=[{{name: '{hot_module}:hot', temperature: warm}}]"])
    assert "parameter temperature must be a number (got 'warm'); write e.g. `strategies.0.temperature=1.0`" in msg
    typo = f"strategies=[{{name: '{hot_module}:hot', temprature: 2}}]"
    assert "did you mean 'temperature'?" in error_of(tmp_path, [typo])
    assert "parameter 'k' is required" in error_of(tmp_path, [f"strategies=['{hot_module}:needs_k']"])
    given = load_experiment(write(tmp_path, BASE), [f"strategies=[{{name: '{hot_module}:needs_k', k: 3}}]"])
    spec = given.runs[0].strategy
    assert spec.params == {"k": 3} and build_plugin(STRATEGIES, spec).keywords == {"k": 3}


# ---------------------------------------------------------------- every plugin gets what its run id records
def received(built) -> dict:
    """The parameters a built plugin will run with (JSON types, as a run record stores them)."""
    if isinstance(built, functools.partial):
        return json.loads(json.dumps(built.keywords, default=list))
    if dataclasses.is_dataclass(built):  # fields added later with ID_IF_SET are recorded only when set
        return json.loads(json.dumps(identity(built), default=list))
    return {}


def other_value(value, hint):
    """A valid value different from ``value`` (None when there is no cheap one)."""
    literal = typing.get_origin(hint) is typing.Literal
    choices = [c for c in typing.get_args(hint) if isinstance(c, str)] if literal else []
    if choices:
        return next((c for c in choices if c != value), None)
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, float):
        return value / 2 if value else 0.5
    return None


def hints_of(plugin) -> dict:
    try:
        return typing.get_type_hints(plugin)
    except Exception:
        return {}


@pytest.mark.parametrize("kind", sorted(set(REGISTRIES) - {"metrics", "executors"}))  # no YAML parameters
def test_every_plugin_receives_exactly_its_recorded_parameters(kind):
    registry, changed = REGISTRIES[kind], 0
    for name, plugin in registry.load_all().items():
        if ":" in name:  # module:attr references other tests registered
            continue
        spec = resolve_plugin(registry, name, kind)
        assert received(build_plugin(registry, spec)) == spec.params, f"{kind} {name}"
        hints = hints_of(plugin)
        for field, value in spec.params.items():
            alt = other_value(value, hints.get(field))
            if alt is None:
                continue
            try:
                spec2 = resolve_plugin(registry, {"name": name, field: alt}, kind)
            except ConfigError:  # a value the plugin's own checks refuse
                continue
            built = build_plugin(registry, spec2)
            recorded = spec2.params.get(field, getattr(built, field, None))  # ID_UNLESS at legacy: left out
            assert recorded == alt and received(built) == spec2.params, f"{kind} {name}.{field}"
            changed += 1
    assert changed > 0, f"no {kind} parameter was exercised with a non-default value"


def test_run_id_records_the_parameter_the_plugin_gets(tmp_path):
    base = load_experiment(write(tmp_path, BASE)).runs[0]
    changed = load_experiment(write(tmp_path, BASE), ["methods.0.C=0.25"]).runs[0]
    assert changed.run_id != base.run_id and build_plugin(METHODS, changed.method).C == 0.25


# ---------------------------------------------------------------- module:attr import failures
def test_module_whose_import_raises_gives_one_line(tmp_path, monkeypatch):
    (tmp_path / "boom_mod.py").write_text("x = 1 / 0\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(PluginError) as err:
        STRATEGIES.get("boom_mod:x")
    assert str(err.value) == ("importing module 'boom_mod' failed: ZeroDivisionError: division by zero; "
                              "fix the module or the name")
    assert "importing module 'boom_mod' failed" in error_of(tmp_path, ["strategies=['boom_mod:x']"])


def test_cli_import_failure_has_no_traceback(tmp_path):
    (tmp_path / "boom_cli.py").write_text("raise RuntimeError('broken\\nplugin')\n")
    cfg = write(tmp_path, BASE.replace("strategies: [random]", "strategies: ['boom_cli:x']"))
    out = subprocess.run([sys.executable, "-m", "altbench", "run", str(cfg), "--no-progress"], capture_output=True,
                         text=True, cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(tmp_path)})
    lines = out.stderr.strip().splitlines()
    assert out.returncode == 2 and len(lines) == 1, out.stderr
    assert "importing module 'boom_cli' failed: RuntimeError: broken; fix the module or the name" in lines[0]


# ---------------------------------------------------------------- report refuses to pool differing runs
def fake_run(store, run_id, seed, total, strategy="margin", method="mlp"):
    config = {"dataset": {"name": "trec6", "params": {}, "label": "trec6"},
              "method": {"name": method, "params": {"hidden": [128]}, "label": method},
              "strategy": {"name": strategy, "params": {}, "label": strategy}, "seed": seed,
              "budget": {"initial": 20, "query": 10, "total": total}}
    rng = np.random.default_rng(seed)
    records = [{"round": r, "n_labelled": 20 + 10 * r, "accuracy": float(0.5 + 0.03 * r + rng.normal(0, 0.01)),
                "macro_f1": 0.5, "queried": [], "fit_seconds": 0.0, "query_seconds": 0.0} for r in range(5)]
    store.finish(run_id, {"dataset": "trec6", "method": method, "strategy": strategy, "seed": seed}, records,
                 {"run_id": run_id, "config": config})


def test_report_refuses_runs_that_differ_in_budget(tmp_path):
    from altbench.cli import main
    from altbench.report import write_report
    from altbench.store import RunStore

    store = RunStore(tmp_path)
    for seed in range(2):
        fake_run(store, f"a{seed}", seed, 200)
        fake_run(store, f"r{seed}", seed, 200, strategy="random")
    fake_run(store, "b2", 2, 300)  # same cell labels, another budget: differs from a0 only beyond the seed
    with pytest.raises(ValueError) as err:
        write_report(tmp_path)
    msg = str(err.value)
    assert msg.startswith("runs of trec6/mlp/margin differ in budget.total (200 vs 300; runs a0 and b2)")
    assert "separate results dirs" in msg and "altbench run CONFIG --prune" in msg
    assert main(["report", str(tmp_path)]) == 2
    assert not (tmp_path / "table.md").exists(), "a refused report writes nothing"
    store.path("b2", ".parquet").unlink()
    store.path("b2", ".json").unlink()
    assert write_report(tmp_path)  # seeds of one config pool fine


def test_pooling_ignores_fields_only_newer_records_have():
    from altbench.pooling import first_difference

    old = {"budget": {"total": 200}, "method": {"params": {"C": 1.0}}}
    new = {"budget": {"total": 200, "cost_per_label": 1.0}, "method": {"params": {"C": 1.0}}}
    assert first_difference(old, new) is None
    assert first_difference(old, {**new, "method": {"params": {"C": 2.0}}}) == ("method.params.C", 1.0, 2.0)
