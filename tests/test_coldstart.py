"""Cold-start selectors (budget.initial_strategy): conformance, seeding, coverage, config, loop, resume."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from altbench import coldstart
from altbench.cli import main
from altbench.coldstart import COLD_START, initial_labelled, start_features
from altbench.config import QUICKSTART, RunConfig, build_plugin, identity, load_experiment
from altbench.datasets import Dataset, load_dataset
from altbench.loop import Budget, BudgetError, initial_set, run_active_learning
from altbench.plugin_params import build
from altbench.registry import METHODS, STRATEGIES
from altbench.seeds import Streams
from altbench.store import RunStore
from altbench.strict import ConfigError

NAMES = COLD_START.names()


def blobs(k: int = 8, per: int = 40, d: int = 6, seed: int = 0):
    """(X (k·per, d) float32, y (k·per,)): k well-separated Gaussian blobs, label = blob."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 20, size=(k, d))
    y = np.repeat(np.arange(k), per)
    return (centres[y] + rng.normal(size=(len(y), d))).astype(np.float32), y.astype(np.int64)


def select(name: str, X, y, size: int, seed: int) -> np.ndarray:
    plugin = COLD_START.get(name)
    return build(plugin, {})(X if getattr(plugin, "uses_features", True) else None, y, size,
                             np.random.default_rng(seed))


def no_features():
    raise AssertionError("a label-only selector asked for embeddings")


def test_every_builtin_selector_is_listed():
    assert set(NAMES) >= {"random", "stratified", "kmeans", "typiclust", "probcover"}


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("size", [1, 7, 40])
def test_selector_returns_a_valid_sorted_distinct_set_of_the_asked_size(name, size):
    X, y = blobs()
    picked = np.asarray(select(name, X, y, size, seed=3))
    assert picked.shape == (size,) and np.issubdtype(picked.dtype, np.integer)
    assert len(np.unique(picked)) == size and (np.diff(picked) > 0).all()
    assert picked.min() >= 0 and picked.max() < len(y)


@pytest.mark.parametrize("name", NAMES)
def test_selector_is_seeded_same_seed_same_set_other_seeds_differ(name):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(200, 5)).astype(np.float32)  # no cluster structure: picks depend on the rng
    y = rng.integers(0, 4, size=200)
    same = [select(name, X, y, 10, seed=7) for _ in range(2)]
    assert np.array_equal(same[0], same[1])
    others = {tuple(select(name, X, y, 10, seed=s)) for s in range(5)}
    assert len(others) >= 2, f"{name} gives one set whatever the seed"


@pytest.mark.parametrize("name", ["kmeans", "typiclust"])
def test_cluster_selectors_cover_more_blobs_than_random(name):
    covered = {n: [] for n in (name, "random")}
    for seed in range(5):
        X, y = blobs(seed=seed)
        for n in covered:
            covered[n].append(len(np.unique(y[select(n, X, y, 8, seed)])))
    assert np.mean(covered[name]) > np.mean(covered["random"]) + 1  # random covers ≈ 5.3 of 8
    assert np.mean(covered[name]) >= 7.5


def test_kmeans_fills_empty_clusters_with_distinct_points():
    X = np.repeat(np.arange(5, dtype=np.float32)[:, None], 4, axis=0)  # 5 distinct points, 4 copies each
    picked = select("kmeans", X, np.zeros(20, dtype=np.int64), 8, seed=0)
    assert len(np.unique(picked)) == 8


def test_stratified_follows_the_class_shares():
    y = np.repeat([0, 1, 2], [50, 30, 20])
    picked = select("stratified", None, y, 10, seed=0)
    assert np.bincount(y[picked]).tolist() == [5, 3, 2]
    assert np.bincount(y[select("stratified", None, y, 4, seed=0)], minlength=3).tolist() == [2, 1, 1]


@pytest.mark.parametrize("budget", [Budget(initial=20), Budget(initial=12, initial_all_classes=True),
                                    Budget(initial_per_class=2)], ids=["plain", "all_classes", "per_class"])
def test_random_reproduces_the_initial_set_of_before_exactly(budget):
    y = np.random.default_rng(0).integers(0, 5, size=300)
    for seed in range(4):
        before = initial_set(y, budget, Streams(seed).rng("initial"))
        now = initial_labelled(y, budget, Streams(seed).rng("initial"), no_features)
        assert np.array_equal(before, now) and now.dtype == before.dtype


def test_random_keeps_every_run_id_and_quickstart_results():
    assert "initial_strategy" not in identity(Budget())
    exp = load_experiment(QUICKSTART)
    committed = {p.stem for p in (Path(__file__).parents[1] / "results/quickstart/runs").glob("*.parquet")}
    assert {r.run_id for r in exp.runs} <= committed
    explicit = load_experiment(QUICKSTART, ["budget.initial_strategy={name: random}"])
    assert [r.run_id for r in explicit.runs] == [r.run_id for r in exp.runs]
    km = load_experiment(QUICKSTART, ["budget.initial_strategy=kmeans"])
    assert not {r.run_id for r in km.runs} & committed


def test_config_resolves_parameters_into_the_budget():
    exp = load_experiment(QUICKSTART, ["budget.initial_strategy={name: typiclust, k_neighbours: 5}"])
    spec = exp.runs[0].budget.initial_strategy
    assert spec["name"] == "typiclust" and spec["params"]["k_neighbours"] == 5
    assert spec["params"]["min_cluster_size"] == 5  # every parameter filled: defaults are in the id
    other = load_experiment(QUICKSTART, ["budget.initial_strategy={name: typiclust, k_neighbours: 6}"])
    assert exp.runs[0].run_id != other.runs[0].run_id


@pytest.mark.parametrize("override, words", [
    ("budget.initial_strategy=kmean", ["unknown cold-start selector 'kmean'", "kmeans, probcover, random",
                                       "did you mean 'kmeans'"]),
    ("budget.initial_strategy={name: kmeans, k: 3}", ["no parameter 'k'", "n_iter"]),
    ("budget.initial_strategy=5", ["budget.initial_strategy", "kmeans"]),
])
def test_bad_initial_strategy_is_a_one_line_error(override, words):
    with pytest.raises(ConfigError) as exc:
        load_experiment(QUICKSTART, [override])
    msg = str(exc.value)
    assert "\n" not in msg and all(w in msg for w in words), msg


@pytest.mark.parametrize("option", ["budget.initial_per_class=2", "budget.initial_all_classes=true"])
def test_label_choosing_options_are_refused_with_a_selector(option):
    with pytest.raises(ConfigError, match="cannot be combined with budget.initial_"):
        load_experiment(QUICKSTART, [option, "budget.initial_strategy=kmeans"])
    with pytest.raises(BudgetError, match="initial_strategy: random"):
        initial_labelled(np.zeros(50, dtype=np.int64), Budget(initial_per_class=2, initial_strategy="kmeans"),
                         np.random.default_rng(0), no_features)


def test_start_features_are_numeric_inputs_else_the_default_backbone(monkeypatch):
    X = np.ones((4, 3), dtype=np.float32)
    assert start_features(X, None) is X
    seen = []

    def fake_cached(bb, dataset):
        seen.append(type(bb).registry_name if hasattr(type(bb), "registry_name") else type(bb).__name__)
        return np.zeros((len(dataset.y_train), 2), np.float32), None

    import altbench.backbones

    monkeypatch.setattr(altbench.backbones, "cached_features", fake_cached)
    text = np.array(["a b", "c d", "e f"], dtype=object)
    ds = Dataset("t", "text", text, np.array([0, 1, 0]), text, np.array([0, 1, 0]), ("x", "y"))
    assert start_features(text, ds).shape == (3, 2)
    assert "minilm" in seen[0].lower()


class Recorder:
    """margin, remembering the labelled set of round 0."""

    def __init__(self):
        self.first = None

    def __call__(self, view, pool, budget, rng):
        if self.first is None:
            self.first = view.labelled.copy()
        return STRATEGIES.get("margin")(view, pool, budget, rng)


def test_loop_starts_from_the_selector_on_the_initial_stream():
    ds = load_dataset("digits")
    budget = Budget(initial=10, query=10, total=30, initial_strategy={"name": "kmeans", "params": {"n_iter": 20}})
    rec = Recorder()
    records = run_active_learning(ds, build_plugin(METHODS, load_experiment(QUICKSTART).runs[0].method), rec,
                                  budget, Streams(0))
    expected = coldstart.KMeansStart()(np.asarray(ds.X_train), ds.y_train, 10, Streams(0).rng("initial"))
    assert np.array_equal(np.sort(rec.first), expected)
    assert [r["n_labelled"] for r in records] == [10, 20, 30]


ARGS = ["datasets=[digits]", "methods=[logreg]", "strategies=[margin]", "seeds=[0]", "budget.initial=10",
        "budget.query=10", "budget.total=50", "budget.initial_strategy=kmeans"]


def test_cli_run_with_kmeans_on_digits_and_resume_is_byte_identical(tmp_path, capsys):
    out = tmp_path / "km"
    argv = ["run", *ARGS, "--results-dir", str(out), "--no-progress", "--no-report", "--jobs", "1"]
    assert main(argv) == 0
    store = RunStore(out)
    (run_id,) = store.finished_ids()
    record = json.loads(store.path(run_id, ".json").read_text())
    assert record["config"]["budget"]["initial_strategy"] == {"name": "kmeans", "params": {"n_iter": 20}}
    from altbench.verify import run_config

    assert run_config(record).run_id == run_id  # `altbench verify` rebuilds the same config
    df = store.read_results()
    assert df["n_labelled"].tolist() == [10, 20, 30, 40, 50]
    expected = store.path(run_id, ".parquet").read_bytes()

    cfg: RunConfig = load_experiment(QUICKSTART, ARGS).runs[0]
    assert cfg.run_id == run_id
    done = run_active_learning(load_dataset("digits"), build_plugin(METHODS, cfg.method),
                               build_plugin(STRATEGIES, cfg.strategy), cfg.budget, Streams(0))
    assert [r["accuracy"] for r in done] == df["accuracy"].tolist()
    store.path(run_id, ".parquet").unlink()
    store.path(run_id, ".json").unlink()
    for rec in done[:2]:  # a run interrupted after two rounds
        store.append_round(run_id, rec)
    assert main(argv) == 0
    assert store.path(run_id, ".parquet").read_bytes() == expected
    assert json.loads(store.path(run_id, ".json").read_text())["resumed_at_round"] == 2


def test_list_cold_start(capsys):
    assert main(["list", "cold_start"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [ln.split()[0] for ln in lines] == NAMES and all(len(ln.split()) > 2 for ln in lines)


def test_a_checked_selector_output():
    bad = dataclasses.replace(Budget(initial=5), initial_strategy="tests_bad_selector")
    COLD_START.add("tests_bad_selector", lambda X, y, size, rng: np.zeros(size, dtype=np.int64))
    try:
        with pytest.raises(Exception, match="duplicate indices"):
            initial_labelled(np.zeros(30, dtype=np.int64), bad, np.random.default_rng(0),
                             lambda: np.zeros((30, 2), np.float32))
    finally:
        COLD_START.pop("tests_bad_selector")


def test_names_are_listed_from_the_source_without_importing_the_selectors():
    import subprocess
    import sys

    code = ("import json, sys; from altbench.registry import COLD_START; names = COLD_START.names(); "
            "print(json.dumps([names, 'altbench.coldstart' in sys.modules]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == [NAMES, False]


def test_show_describes_a_selector_and_its_parameters(capsys):
    assert main(["show", "kmeans"]) == 0
    out = capsys.readouterr().out
    assert "cold-start selector" in out and "Yuan" in out and "n_iter: int = 20" in out
