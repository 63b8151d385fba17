"""Registry: decorator registration, wildcards, entry points, errors."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from altbench.registry import DATASETS, METHODS, STRATEGIES, PluginError, Registry


def test_builtins_register_once_by_decorator_not_by_entry_point():
    from importlib import metadata

    for kind in ("strategies", "methods", "datasets", "backbones"):
        own = [ep.name for ep in metadata.entry_points(group=f"altbench.{kind}")
               if ep.dist is not None and ep.dist.name == "altbench"]
        assert own == [], f"altbench declares built-in {kind} in pyproject.toml again: {own}"
    assert {"random", "least_confidence", "margin", "entropy"} <= set(STRATEGIES.names())
    assert {"logreg", "svm_rbf", "mlp"} <= set(METHODS.names())
    assert {"digits", "breast_cancer"} <= set(DATASETS.names())


@pytest.mark.parametrize("kind", ["strategies", "methods", "datasets", "backbones"])
def test_names_read_from_the_source_are_the_names_the_modules_register(kind):
    """A fresh registry lists the built-ins without importing them (a static read of the
    decorators); importing every built-in module registers exactly those, from those modules."""
    from altbench import builtins

    code = f"""
import json, sys
from altbench.registry import REGISTRIES
from altbench import builtins
reg = REGISTRIES[{kind!r}]
listed = {{n: reg._builtin_refs().get(n) for n in reg.names()}}
before = sorted(m for m in builtins.modules({kind!r}) if m in sys.modules)
builtins.load({kind!r})
loaded = {{n: getattr(reg.get(n), "__module__", None) for n in reg.names()}}
print(json.dumps({{"listed": listed, "before": before, "loaded": loaded}}))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    got = __import__("json").loads(out.stdout.strip().splitlines()[-1])
    assert set(got["listed"]) == set(got["loaded"]) and got["listed"]
    for name, ref in got["listed"].items():
        if ref is not None:  # read statically: the declaring module is the one it names
            assert ref.split(":")[0] == got["loaded"][name], name
            assert ref.split(":")[0] not in got["before"] or kind in ("datasets", "backbones"), name
    assert set(builtins.modules(kind)) >= {m for m in got["loaded"].values()}


def test_an_entry_point_may_not_reuse_a_builtin_name(tmp_path):
    code = "from altbench.registry import METHODS; METHODS.names()"
    info = tmp_path / "clash-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: clash\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[altbench.methods]\nlogreg = clash:LogReg\n")
    out = subprocess.run([sys.executable, "-c", code], env={**os.environ, "PYTHONPATH": str(tmp_path)},
                         capture_output=True, text=True)
    assert out.returncode != 0 and "duplicate method name 'logreg'" in out.stderr
    assert "altbench's built-in altbench.methods.sklearn_models:LogReg" in out.stderr


def test_cards_and_reproductions_are_registries():
    from altbench.datasets.cards import CARDS
    from altbench.reproduce import REPRODUCTIONS

    assert isinstance(CARDS, Registry) and isinstance(REPRODUCTIONS, Registry)
    assert CARDS["trec6"].modality == "text" and "gal2017_mnist" in REPRODUCTIONS.names()
    assert "x:y" not in CARDS  # closed registries take no module:attr references
    with pytest.raises(PluginError, match="unknown dataset card 'trec7'.*altbench datasets"):
        CARDS.get("trec7")
    assert CARDS.get("trec7", None) is None


def test_decorator_uses_function_name_and_get_returns_it():
    reg = Registry("widgets")

    @reg.register
    def spin():
        return 1

    @reg.register(name="lp-ft")
    def other():
        return 2

    assert reg.get("spin") is spin and reg.get("lp-ft") is other
    assert reg.names() == ["lp-ft", "spin"]


def test_wildcard_listing():
    assert STRATEGIES.names("m*") == [n for n in STRATEGIES.names() if n.startswith("m")]
    assert "margin" in STRATEGIES.names("m*") and "entropy" not in STRATEGIES.names("m*")
    assert STRATEGIES.names("zzz*") == []


def test_duplicate_name_is_an_error():
    reg = Registry("widgets")
    reg.register(lambda: 1, name="a")
    with pytest.raises(PluginError, match="duplicate widget name 'a'"):
        reg.register(lambda: 2, name="a")


def test_same_object_twice_is_fine():
    reg = Registry("widgets")
    f = lambda: 1  # noqa: E731
    reg.add("a", f)
    reg.add("a", f)
    assert reg.get("a") is f


def test_unknown_name_suggests_closest():
    with pytest.raises(PluginError) as err:
        STRATEGIES.get("margn")
    msg = str(err.value)
    assert "did you mean margin" in msg and "altbench list strategies" in msg and "\n" not in msg


def test_dotted_reference_loads_module_attribute():
    assert STRATEGIES.get("altbench.strategies.uncertainty:margin") is STRATEGIES.get("margin")
    with pytest.raises(PluginError, match="cannot load"):
        METHODS.get("no_such_module_xyz:thing")


PLUGIN = '''
import numpy as np
from altbench.registry import STRATEGIES

def first_in_pool(view, pool, budget, rng):
    """Pick the lowest pool indices (a deliberately naive third-party strategy)."""
    return np.sort(pool)[:budget]
'''


def _make_dist(root: Path) -> None:
    """A tmp 'installed' distribution: a module plus a .dist-info with entry points."""
    (root / "myplugin.py").write_text(PLUGIN)
    info = root / "myplugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: myplugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[altbench.strategies]\nfirst_in_pool = myplugin:first_in_pool\n")


def test_third_party_plugin_via_entry_point_runs_end_to_end(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    _make_dist(site)
    cfg = tmp_path / "exp.yaml"
    cfg.write_text(textwrap.dedent(f"""
        name: plugin
        datasets: [iris]
        methods: [logreg]
        strategies: [first_in_pool, "myplugin:first_in_pool"]
        seeds: [0]
        budget: {{initial: 6, query: 3, total: 12}}
        results_dir: {tmp_path / 'out'}
        n_jobs: 1
    """))
    env = {**os.environ, "PYTHONPATH": f"{site}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    listing = subprocess.run([sys.executable, "-m", "altbench", "list", "strategies", "first*"],
                             env=env, capture_output=True, text=True, check=True)
    assert listing.stdout.startswith("first_in_pool") and "naive third-party" in listing.stdout
    run = subprocess.run([sys.executable, "-m", "altbench", "run", str(cfg), "--no-progress", "--no-report"],
                         env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    from altbench.store import RunStore

    df = RunStore(tmp_path / "out").read_results()
    assert set(df.strategy) == {"first_in_pool", "myplugin:first_in_pool"}
    assert (df.groupby("run_id").n_labelled.max() == 12).all()
    # both spellings name the same function, so they query the same points
    q = df[df["round"] == 0].set_index("strategy").queried
    assert list(q["first_in_pool"]) == list(q["myplugin:first_in_pool"])


def test_conflicting_entry_points_are_an_error(tmp_path):
    _make_dist(tmp_path)
    other = tmp_path / "other-0.1.dist-info"
    other.mkdir()
    (other / "METADATA").write_text("Metadata-Version: 2.1\nName: other\nVersion: 0.1\n")
    (other / "entry_points.txt").write_text("[altbench.strategies]\nmargin = myplugin:first_in_pool\n")
    code = "from altbench.registry import STRATEGIES; STRATEGIES.names()"
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.returncode != 0 and "duplicate strategy name 'margin'" in out.stderr


def test_registries_hold_callables():
    for reg in (STRATEGIES, METHODS, DATASETS):
        for name, obj in reg.load_all().items():
            assert callable(obj), f"{reg.kind} {name} is not callable"
    assert isinstance(DATASETS.get("iris")(), object)
    assert np.issubdtype(DATASETS.get("iris")().y_train.dtype, np.integer)
