"""Start-up: `altbench --help`, `list` and `status` import no heavy library (issue #12 part 5).

Behaviour, not timing: each command runs in a fresh interpreter and reports
which of the heavy modules it left in ``sys.modules``.  The times themselves
are printed by ``scripts/startup_times.py``.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("torch", "sklearn.metrics", "sklearn.base", "pandas", "pyarrow", "transformers", "datasets",
         "matplotlib", "dask")

PROBE = """
import json, sys
from altbench.cli import main
try:
    code = main({argv!r})
except SystemExit as exc:  # --help exits
    code = exc.code
print(json.dumps({{"code": code, "heavy": [m for m in {heavy!r} if m in sys.modules]}}))
"""


def _imports_of(argv: list[str], cwd) -> dict:
    out = subprocess.run([sys.executable, "-c", PROBE.format(argv=argv, heavy=HEAVY)], cwd=cwd,
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("argv", [["--help"], ["list", "strategies"], ["list", "methods"],
                                  ["list", "strategies", "b*"], ["list", "strategies", "--params"],
                                  ["--version"]])
def test_help_and_list_import_no_heavy_library(argv, tmp_path):
    got = _imports_of(argv, tmp_path)
    assert got["code"] == 0
    assert got["heavy"] == []


def test_status_of_the_quickstart_imports_no_heavy_library(tmp_path):
    got = _imports_of(["status", "--results-dir", str(tmp_path / "none")], tmp_path)
    assert got["code"] == 0
    assert got["heavy"] == []


def test_list_reads_docstrings_without_importing_and_matches_the_imported_ones():
    import inspect

    from altbench.registry import METHODS, STRATEGIES, first_paragraph

    for registry in (STRATEGIES, METHODS):
        for name in registry.names():
            summary = registry.summary(name)  # read from the source: nothing imported yet
            assert summary == first_paragraph(inspect.getdoc(registry.get(name)) or ""), name


def test_a_torch_method_still_fits_after_its_config_resolved_without_torch():
    import numpy as np

    from altbench.methods.mlp import Mlp, TorchModel  # TorchModel: the old name still resolves
    from altbench.train_config import TrainConfig

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(12, 3)), np.arange(12) % 2
    model = Mlp(hidden=(4,), train=TrainConfig(epochs=2)).fit(X, y, n_classes=2, rng_init=rng, rng_order=rng)
    assert isinstance(model, TorchModel)
    assert model.predict_proba(X).shape == (12, 2)


def test_run_processes_preload_only_what_the_grid_uses():
    from altbench.config import load_experiment
    from altbench.runner import preload_for

    sklearn_only = preload_for(load_experiment(None, ["methods=[logreg, svm_rbf]"]).runs)
    assert {"altbench.methods.sklearn_models", "altbench.strategies.uncertainty", "altbench.datasets.sklearn_sets"} <= set(sklearn_only)
    assert "torch._dynamo" not in sklearn_only and "altbench.methods.torch_model" not in sklearn_only
    with_mlp = preload_for(load_experiment(None, []).runs)  # the quickstart: logreg, svm_rbf, mlp
    assert {"altbench.methods.torch_model", "torch._dynamo"} <= set(with_mlp)
    assert len(with_mlp) == len(set(with_mlp))
