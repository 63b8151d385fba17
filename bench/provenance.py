"""Provenance of a run: library versions, git commit, host, threads and a hardware/BLAS fingerprint.

Floating-point results can change with the CPU's kernel dispatch (AVX2 vs
AVX-512), the BLAS library and its version.  :func:`hardware` records those;
:func:`hardware_id` is a short hash of exactly the parts that can change the
numbers (CPU model, machine, BLAS kernels and versions, torch's CPU capability
and the numeric libraries' versions), so two run records with the same
``hardware_id`` are expected to give byte-identical results.  Thread counts
are recorded but left out of the id.
"""

from __future__ import annotations

import functools
import hashlib
import json
import platform
import re
import subprocess
import time
from importlib import metadata
from pathlib import Path

VERSIONED = ("altbench", "numpy", "scipy", "scikit-learn", "torch", "pyarrow", "datasets")
NUMERIC = ("numpy", "scipy", "scikit-learn", "torch")  # versions that can change the numbers
BLAS_KEYS = ("user_api", "internal_api", "prefix", "version", "num_threads", "threading_layer", "architecture")


def provenance(threads: int) -> dict:
    """Library versions, git commit, host, threads and hardware of this process (for the run record)."""
    import torch

    hw = hardware()
    return {"versions": library_versions(), "python": platform.python_version(), "git_commit": git_commit(),
            "host": platform.node(), "platform": platform.platform(),
            "torch_threads": torch.get_num_threads(), "threads_requested": threads,
            "hardware": hw, "hardware_id": hardware_id(hw)}


def library_versions(names: tuple[str, ...] = VERSIONED) -> dict[str, str | None]:
    return dict(_versions(tuple(names)))  # a copy: callers may change it


@functools.cache
def _versions(names: tuple[str, ...]) -> dict[str, str | None]:
    """Installed versions (read once per process: a run's process serves one grid)."""
    out = {}
    for dist in names:
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = None
    return out


def git_commit() -> str | None:
    """HEAD of the altbench source tree (``+dirty`` if modified), or None; asked of git at most
    once per :data:`GIT_TTL_S` (two git calls cost 10–50 ms, a run with many short rounds pays them)."""
    now = time.monotonic()
    if _git_cache and now - _git_cache[0] < GIT_TTL_S:
        return _git_cache[1]
    _git_cache[:] = [now, _ask_git()]
    return _git_cache[1]


GIT_TTL_S = 60.0
_git_cache: list = []  # [monotonic time asked, answer]


def _ask_git() -> str | None:
    here = Path(__file__).resolve().parent
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True,
                              timeout=5).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=here,
                               capture_output=True, text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return (head + ("+dirty" if dirty else "")) or None


def cpu_model() -> str:
    """``model name`` from /proc/cpuinfo, else ``platform.processor()``, else ""."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or ""


def blas_libraries() -> list[dict]:
    """Loaded BLAS / OpenMP libraries (threadpoolctl): API, version, threads, OpenBLAS kernel architecture."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return []
    libs = [{k: info.get(k) for k in BLAS_KEYS if k in info} for info in threadpool_info()]
    return sorted(libs, key=lambda d: json.dumps(d, sort_keys=True, default=str))


def torch_kernels() -> dict:
    """torch's CPU kernel dispatch level (e.g. AVX512) and its BLAS build."""
    import torch

    capability = getattr(getattr(torch.backends, "cpu", None), "get_cpu_capability", lambda: None)()
    blas = re.search(r"BLAS_INFO=([^,\s]+)", torch.__config__.show())
    return {"cpu_capability": capability, "blas": blas.group(1) if blas else None}


def hardware() -> dict:
    """CPU model, machine, BLAS libraries and torch kernels of this process.  Keys are stable."""
    return {"cpu_model": cpu_model(), "machine": platform.machine(), "blas": blas_libraries(),
            "torch": torch_kernels(), "numeric_versions": library_versions(NUMERIC)}


def hardware_id(hw: dict | None = None) -> str:
    """12 hex digits identifying what can change the numbers (threads excluded)."""
    hw = hardware() if hw is None else hw
    blas = [[lib.get("internal_api"), lib.get("version"), lib.get("architecture")]
            for lib in hw.get("blas", []) if lib.get("user_api") == "blas"]
    key = {"cpu": hw.get("cpu_model"), "machine": hw.get("machine"), "blas": sorted(blas, key=str),
           "torch": hw.get("torch"), "versions": hw.get("numeric_versions")}
    return hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()[:12]
