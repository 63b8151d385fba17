"""Shared fixtures: a small fitted model view with every capability."""

from __future__ import annotations

import functools
import importlib.util
import os
from pathlib import Path

import numpy as np
import pytest

from altbench.methods.mlp import Mlp
from altbench.train import TrainConfig
from altbench.view import ModelView


def make_blobs(n: int = 300, d: int = 8, n_classes: int = 3, seed: int = 0):
    """(X (n, d) float32, y (n,) int64): Gaussian blobs, reproducible."""
    rng = np.random.default_rng(seed)
    centers = rng.normal(0, 3, size=(n_classes, d))
    y = rng.integers(0, n_classes, size=n)
    X = (centers[y] + rng.normal(size=(n, d))).astype(np.float32)
    return X, y.astype(np.int64)


@pytest.fixture(scope="session")
def pool_view():
    """(view, pool): an MLP fitted on 30 labelled blobs; pool = the other 270."""
    X, y = make_blobs()
    labelled = np.arange(30)
    model = Mlp(hidden=(16,), train=TrainConfig(epochs=20)).fit(
        X[labelled], y[labelled], n_classes=3, rng_init=np.random.default_rng(1),
        rng_order=np.random.default_rng(2))
    view = ModelView(model, X, labelled, y[labelled], "mlp")
    return view, np.arange(30, len(X))


@pytest.fixture(scope="module")
def isolated_cache(tmp_path_factory):
    """A fresh Arrow dataset cache for the module, and no network (ALTBENCH_OFFLINE=1)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ALTBENCH_CACHE_DIR", str(tmp_path_factory.mktemp("arrow-cache")))
        mp.setenv("ALTBENCH_OFFLINE", "1")
        yield


@functools.cache
def load_script(name: str):
    """The module ``scripts/<name>.py`` (scripts are not a package), loaded once."""
    spec = importlib.util.spec_from_file_location(name, Path(__file__).resolve().parents[1] / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def plugin_dir(tmp_path: Path, monkeypatch, module: str, source: str) -> Path:
    """Write plugin module ``module`` with ``source`` under ``tmp_path/plug``, importable here
    (sys.path) and by CLI subprocesses and run processes (PYTHONPATH); returns that directory."""
    d = tmp_path / "plug"
    d.mkdir()
    (d / f"{module}.py").write_text(source)
    monkeypatch.syspath_prepend(str(d))
    monkeypatch.setenv("PYTHONPATH", f"{d}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")
    return d


@pytest.fixture(scope="module")
def one_torch_thread():
    """One torch thread for a module's tests (``pytestmark = pytest.mark.usefixtures("one_torch_thread")``),
    as the runner gives each of 2 workers on 2 cores: tiny ops slow down many-fold when threads
    outnumber free cores.  The previous count is restored afterwards."""
    import torch

    from altbench.device import configure_worker

    before = torch.get_num_threads()
    configure_worker(1)
    yield
    configure_worker(before)
