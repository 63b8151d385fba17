"""The public API (altbench.api): one module, typed Protocols the real classes and the fake meet,
lazy re-export from ``altbench``, ``--version``, and README examples that use public names only."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import numpy as np
import pytest

from altbench import api
from altbench.cli import main

ROOT = Path(__file__).resolve().parents[1]


def test_public_names_resolve_and_are_the_real_objects():
    from altbench.datasets import Dataset
    from altbench.registry import DATASETS, METHODS, STRATEGIES
    from altbench.strategies._select import top_k

    assert api.Dataset is Dataset and api.top_k is top_k
    assert (api.STRATEGIES, api.METHODS, api.DATASETS) == (STRATEGIES, METHODS, DATASETS)
    assert set(api.REGISTRIES) == {"strategies", "methods", "datasets", "backbones", "cold_start", "stopping",
                                     "metrics", "executors"}
    for name in api.__all__:
        assert getattr(api, name) is not None, name


def test_altbench_reexports_the_api_lazily():
    code = ("import json, sys, altbench; before = 'altbench.api' in sys.modules; "
            "t = altbench.top_k; print(json.dumps([before, 'altbench.api' in sys.modules, t.__name__]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == [False, True, "top_k"]
    import altbench

    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        altbench.nothing_here  # noqa: B018


def _fitted_view(method):
    from altbench.view import ModelView

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(40, 3)).astype(np.float32), np.arange(40) % 2
    model = method.fit(X[:10], y[:10], n_classes=2, rng_init=rng, rng_order=rng)
    return model, ModelView(model, X, np.arange(10), y[:10], "logreg")


def test_the_harness_view_and_the_fake_are_model_views():
    from altbench.methods.sklearn_models import LogReg
    from altbench.strategies.testing import blobs_view

    model, view = _fitted_view(LogReg())
    fake = blobs_view(30, 4, 3, np.random.default_rng(0), n_labelled=5)
    for v in (view, fake):
        assert isinstance(v, api.ModelView)
        assert isinstance(v.embeddings(np.arange(5)), api.EmbeddingBlocks)
    assert isinstance(model, api.FittedModel) and isinstance(model, api.CommitteeModel)


def test_fake_view_decision_scores_are_a_capability():
    from altbench.strategies.testing import FakeView
    from altbench.view import CapabilityError

    S = np.array([[1.0, -1.0], [0.0, 2.0]])
    with_scores = FakeView(np.zeros((2, 1)), P=np.full((2, 2), 0.5), S=S)
    assert with_scores.has("decision_function")
    np.testing.assert_array_equal(with_scores.decision_function(np.array([1])), S[[1]])
    without = FakeView(np.zeros((2, 1)), P=np.full((2, 2), 0.5))
    assert not without.has("decision_function")
    with pytest.raises(CapabilityError):
        without.decision_function(np.array([0]))


@pytest.mark.parametrize("kind, protocol", [("strategies", api.Strategy), ("methods", api.TransferMethod)])
def test_every_builtin_plugin_meets_its_protocol(kind, protocol):
    for name, plugin in api.REGISTRIES[kind].load_all().items():
        obj = plugin() if isinstance(plugin, type) else plugin
        assert isinstance(obj, protocol), f"{kind} {name}"


def test_backbones_meet_the_backbone_protocol():
    from altbench.backbones.text import GloveAvg, Tfidf

    for bb in (Tfidf(), GloveAvg()):
        assert isinstance(bb, api.Backbone)
    assert not isinstance(object(), api.Backbone)


def test_register_helpers_use_the_name_and_return_the_plugin():
    def first_rows(view, pool, budget, rng):
        return pool[:budget]

    try:
        assert api.register_strategy(first_rows) is first_rows
        assert api.STRATEGIES.get("first_rows") is first_rows
    finally:
        api.STRATEGIES.pop("first_rows", None)


def test_version_comes_from_the_installed_metadata(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.strip() == f"altbench {metadata.version('altbench')}"


def test_make_test_runs_mypy_over_the_api_before_pytest():
    make = (ROOT / "Makefile").read_text()
    prereqs = re.search(r"^test:(.*)$", make, re.M).group(1).split()
    assert "typecheck" in prereqs
    recipe = re.search(r"^typecheck:.*\n((?:\t.*\n)+)", make, re.M).group(1)
    assert "-m mypy" in recipe
    conf = (ROOT / "pyproject.toml").read_text()
    assert "tests/typing_check.py" in conf and "altbench/api.py" in conf


def _readme_python() -> list[str]:
    return re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), re.S)


def test_readme_examples_import_public_names_only():
    blocks = _readme_python()
    assert blocks
    for code in blocks:
        for module, names in re.findall(r"^from (altbench\S*) import (.+)$", code, re.M):
            assert module in ("altbench", "altbench.api"), f"README imports from {module}"
            assert not any(n.strip().startswith("_") for n in names.split(",")), names


def test_readme_strategy_example_runs_on_the_fake_view():
    from altbench.strategies.testing import blobs_view

    code = next(c for c in _readme_python() if "STRATEGIES.register" in c)
    namespace: dict = {}
    try:
        exec(compile(code, "README.md", "exec"), namespace)  # noqa: S102 (our own README)
        strategy = api.STRATEGIES.get("smallest_max_logit")
        view = blobs_view(50, 4, 3, np.random.default_rng(1), n_labelled=5)
        pool = np.arange(5, 50)
        picks = strategy(view, pool, 7, np.random.default_rng(2))
        assert len(set(picks.tolist())) == 7 and np.isin(picks, pool).all()
        p = view.predict_proba(pool).max(1)
        assert p[np.isin(pool, picks)].max() <= np.sort(p)[7 - 1] + 1e-12  # the 7 least confident
    finally:
        api.STRATEGIES.pop("smallest_max_logit", None)


def _hub_cache_with_minilm(root: Path, repo: str) -> Path:
    """A Hugging Face hub cache holding ``repo`` as the bundled MiniLM weights (what one download
    leaves behind), so the README's YAML runs offline exactly as written."""
    from altbench.backbones.text import minilm_path

    entry = root / f"models--{repo.replace('/', '--')}"
    snapshot = entry / "snapshots" / "readme"
    snapshot.mkdir(parents=True)
    (entry / "refs").mkdir()
    (entry / "refs" / "main").write_text("readme")
    for p in Path(minilm_path()).iterdir():
        (snapshot / p.name).symlink_to(p)
    return root


def test_readme_bring_your_own_yaml_runs_as_written(tmp_path):
    import csv

    import pandas as pd

    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Bring your own data and model"):]
    yaml_text = re.search(r"```yaml\n(.*?)```", section, re.S).group(1)
    assert len(yaml_text.strip().splitlines()) <= 10
    repo = re.search(r"hf:([\w.-]+/[\w.-]+)", yaml_text).group(1)
    rng = np.random.default_rng(0)
    good, bad = ["great", "loved it", "excellent", "superb"], ["terrible", "awful", "boring", "dreadful"]
    with open(tmp_path / "reviews.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["text", "label"])
        for i in range(80):
            words = good if i % 2 else bad
            w.writerow([f"the film was {rng.choice(words)}, scene {i}", "positive" if i % 2 else "negative"])
    (tmp_path / "my_reviews.yaml").write_text(yaml_text)
    env = {**__import__("os").environ, "HF_HUB_CACHE": str(_hub_cache_with_minilm(tmp_path / "hub", repo)),
           "HF_HUB_OFFLINE": "1", "ALTBENCH_CACHE_DIR": str(tmp_path / "cache")}
    run = subprocess.run([sys.executable, "-m", "altbench", "run", "my_reviews.yaml", "--no-progress"],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    summary = pd.read_csv(tmp_path / "results" / "my_reviews" / "summary.csv", comment="#")
    assert set(summary.dataset) == {"my reviews"} and len(summary) == 8
    assert summary.method.str.contains("hf:" + repo, regex=False).any()
