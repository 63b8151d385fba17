"""scikit-learn runs never import torch; their run records still carry torch's kernel fingerprint.

Checked in fresh processes (this test process has torch loaded through conftest):
the run processes of a scikit-learn grid (a strategy that refuses to run when
torch is loaded, two runs served by one run process, the second after the
first's provenance), the fingerprint on both paths (torch loaded or the cached
probe), the probe's cache, and the thread pinning of torch and torch-free runs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from altbench import provenance as prov
from altbench.config import load_experiment
from altbench.runner import preload_for, uses_torch
from altbench.store import RunStore
from conftest import plugin_dir

GUARD = '''
import sys

from altbench.strategies.uncertainty import margin


def torch_free_margin(view, pool, budget, rng):
    """margin, refusing to run in a process that has loaded torch"""
    if "torch" in sys.modules:
        raise RuntimeError("torch was imported in this scikit-learn run's process")
    return margin(view, pool, budget, rng)
'''

GRID = """
name: torchless
datasets: [iris]
methods: [logreg]
strategies: ["torchguard:torch_free_margin"]
seeds: 2
budget: {{initial: 6, query: 3, total: 12}}
results_dir: {out}
n_jobs: 1
"""


def _python(code: str, env: dict | None = None) -> dict:
    """Run ``code`` in a fresh interpreter; the JSON it prints last."""
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                         env={**os.environ, **(env or {})})
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.fixture()
def kernel_cache(tmp_path, monkeypatch):
    """An empty cache directory for the torch kernel probe (here and in subprocesses)."""
    d = tmp_path / "cache"
    monkeypatch.setenv("ALTBENCH_CACHE_DIR", str(d))
    return d


def test_a_scikit_learn_grid_never_imports_torch_in_its_run_processes(tmp_path, monkeypatch, kernel_cache):
    plugin_dir(tmp_path, monkeypatch, "torchguard", GUARD)
    cfg = tmp_path / "torchless.yaml"
    cfg.write_text(textwrap.dedent(GRID.format(out=tmp_path / "out")))
    assert "torch" not in preload_for(load_experiment(cfg, []).runs)
    out = subprocess.run([sys.executable, "-m", "altbench", "run", str(cfg), "--no-progress", "--no-report",
                          "--threads", "1"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]  # both runs' strategies found no torch (one process, in turn)
    store = RunStore(tmp_path / "out")
    assert len(store.finished_ids()) == 2
    records = [json.loads(p.read_text())["provenance"] for p in sorted((tmp_path / "out" / "runs").glob("*.json"))]
    for rec in records:
        assert rec["hardware"]["torch"] == prov.loaded_torch_kernels()  # the probe's values, torch's own
        assert rec["torch_threads"] == rec["threads_requested"] == 1
    assert len({r["hardware_id"] for r in records}) == 1
    assert len(list(kernel_cache.glob("torch-kernels-*.json"))) == 1  # probed once, by the driver's prefetch


FINGERPRINT = """
import json, sys
import numpy, scipy.linalg, sklearn.svm
if {torch_first}:
    import torch
from altbench.device import configure_worker
from altbench.provenance import hardware, hardware_id
configure_worker(1, with_torch=False)
hw = hardware()
print(json.dumps({{"hw": hw, "id": hardware_id(hw), "torch_loaded": "torch" in sys.modules}}))
"""


def _blas_only(hw: dict) -> list:
    return [{k: v for k, v in lib.items() if k != "num_threads"} for lib in hw["blas"] if lib["user_api"] == "blas"]


def test_the_fingerprint_is_the_same_with_torch_loaded_and_from_the_cached_probe(kernel_cache):
    without = _python(FINGERPRINT.format(torch_first=False))
    cached = _python(FINGERPRINT.format(torch_first=False))  # now from the cache file, no probe
    loaded = _python(FINGERPRINT.format(torch_first=True))
    assert without["torch_loaded"] is False and cached["torch_loaded"] is False and loaded["torch_loaded"] is True
    assert without["id"] == cached["id"] == loaded["id"]
    assert without["hw"]["torch"] == cached["hw"]["torch"] == loaded["hw"]["torch"]
    assert set(loaded["hw"]["torch"]) == {"blas", "cpu_capability"} and loaded["hw"]["torch"]["cpu_capability"]
    assert _blas_only(without["hw"]) == _blas_only(loaded["hw"])
    assert {k: v for k, v in without["hw"].items() if k != "blas"} == \
        {k: v for k, v in loaded["hw"].items() if k != "blas"}
    assert prov.hardware_id(without["hw"]) == prov.hardware_id(loaded["hw"])


def test_the_kernel_probe_runs_once_and_a_damaged_cache_entry_is_probed_again(kernel_cache, monkeypatch):
    calls = []
    monkeypatch.setattr(prov, "_probe_kernels", lambda: calls.append(1) or {"blas": "mkl", "cpu_capability": "X"})
    assert prov.cached_torch_kernels() == {"blas": "mkl", "cpu_capability": "X"}
    assert prov.cached_torch_kernels() == {"blas": "mkl", "cpu_capability": "X"}
    assert len(calls) == 1
    path = prov.kernels_cache_path()
    assert path.parent == kernel_cache and json.loads(path.read_text()) == {"blas": "mkl", "cpu_capability": "X"}
    assert not list(kernel_cache.glob(".*"))  # no temporary file left behind (atomic write)
    path.write_text('{"blas": "mkl"')  # truncated
    assert prov.cached_torch_kernels() == {"blas": "mkl", "cpu_capability": "X"}
    assert len(calls) == 2
    assert prov.prefetch_torch_kernels() is None  # torch is loaded here: nothing to prefetch


def test_the_cache_key_follows_what_the_kernel_values_depend_on(kernel_cache, monkeypatch):
    base = prov.kernels_cache_path()
    monkeypatch.setenv("ATEN_CPU_CAPABILITY", "avx2")
    assert prov.kernels_cache_path() != base
    monkeypatch.delenv("ATEN_CPU_CAPABILITY")
    assert prov.kernels_cache_path() == base
    monkeypatch.setattr(prov.sys, "executable", "/elsewhere/bin/python")  # another environment
    elsewhere = prov.kernels_cache_path()
    assert elsewhere not in (base,)
    monkeypatch.setattr(prov, "_versions", lambda names: {n: "0.0.0" for n in names})  # another torch
    assert prov.kernels_cache_path() not in (base, elsewhere)


def test_a_failing_probe_says_what_to_check(monkeypatch):
    monkeypatch.setattr(prov, "PROBE", "raise SystemExit('no torch here')")
    with pytest.raises(RuntimeError, match=r"could not read torch's kernel info .*no torch here.*import torch"):
        prov._probe_kernels()


def test_a_torch_free_worker_pins_blas_and_a_torch_run_gets_its_torch_threads():
    free = _python("""
        import json, sys
        from threadpoolctl import threadpool_info
        import numpy
        from altbench.device import configure_worker, torch_threads
        configure_worker(3, with_torch=False)
        print(json.dumps({"torch": "torch" in sys.modules, "threads": torch_threads(),
                          "blas": sorted({i["num_threads"] for i in threadpool_info()})}))
    """)
    assert free == {"torch": False, "threads": 3, "blas": [3]}
    pinned = _python("""
        import json, sys
        from altbench.device import configure_worker
        configure_worker(3, with_torch=False)
        import torch  # loaded after all (an undeclared plugin): configure_worker pins it once it is loaded
        configure_worker(3, with_torch=False)
        print(json.dumps({"threads": torch.get_num_threads()}))
    """)
    assert pinned == {"threads": 3}


TORCH_RUN = """
import json, os, sys
omp_before = os.environ.get("OMP_NUM_THREADS")
from altbench.config import load_experiment
from altbench.runner import RunSettings, execute_run, uses_torch
exp = load_experiment(None, ["datasets=[iris]", {method!r}, "strategies=[margin]", "seeds=[0]", "budget.initial=6",
                             "budget.query=3", "budget.total=9", "results_dir={out}"])
run_id, err = execute_run(exp.runs[0], RunSettings("{out}", threads={threads}))
import torch
rec = json.load(open("{out}/runs/" + run_id + ".json"))["provenance"]
print(json.dumps({{"err": err, "threads": torch.get_num_threads(), "recorded": rec["torch_threads"],
                   "declared": uses_torch(exp.runs), "env_restored": os.environ.get("OMP_NUM_THREADS") == omp_before}}))
"""
MLP = "{name: mlp, hidden: [4], train: {epochs: 2}}"


def test_a_torch_run_imports_torch_and_pins_its_threads(tmp_path):
    out = _python(TORCH_RUN.format(method=f"methods=[{MLP}]", out=tmp_path, threads=3))
    assert out == {"err": None, "threads": 3, "recorded": 3, "declared": True, "env_restored": True}


def test_a_run_that_loads_torch_undeclared_still_gets_its_threads(tmp_path):
    """self-training's module does not use torch, so its grid's run processes start without it;
    its mlp base imports torch inside the run, which then starts with the run's threads."""
    grid = ["datasets=[iris]", f"methods=[{{name: self-training, base: {MLP}}}]", "strategies=[margin]",
            "seeds=[0]", "budget.initial=6", "budget.query=3", "budget.total=9", "n_jobs=1"]
    runs = load_experiment(None, grid).runs
    assert not uses_torch(runs) and "torch" not in preload_for(runs)
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    out = subprocess.run([sys.executable, "-m", "altbench", "run", *grid, "--results-dir", str(tmp_path / "out"),
                          "--threads", "1", "--no-progress", "--no-report"], capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr[-2000:]
    (record,) = (tmp_path / "out" / "runs").glob("*.json")
    rec = json.loads(record.read_text())["provenance"]
    assert rec["torch_threads"] == rec["threads_requested"] == 1  # torch's own count: it is loaded there


def test_a_grid_preloads_torch_only_when_a_plugin_uses_it():
    sklearn = load_experiment(None, ["methods=[logreg, svm_rbf]"]).runs
    mlp = load_experiment(None, ["methods=[mlp]"]).runs  # mlp imports torch when fitting: declared in PRELOAD
    probe = load_experiment(None, ["datasets=[iris]", "methods=[{name: linear-probe, backbone: tfidf}]"]).runs
    assert not uses_torch(sklearn) and "torch" not in preload_for(sklearn)
    assert uses_torch(mlp) and {"torch", "torch._dynamo"} <= set(preload_for(mlp))
    assert uses_torch(probe) and "torch" in preload_for(probe)
