"""Provenance of a run: library versions, git commit, host, threads and a hardware/BLAS fingerprint.

Floating-point results can change with the CPU's kernel dispatch (AVX2 vs
AVX-512), the BLAS library and its version.  :func:`hardware` records those;
:func:`hardware_id` is a short hash of exactly the parts that can change the
numbers (CPU model, machine, BLAS kernels and versions, torch's CPU capability
and the numeric libraries' versions), so two run records with the same
``hardware_id`` are expected to give byte-identical results.  Thread counts
are recorded but left out of the id.

torch's part (:func:`torch_kernels`) is asked of torch in a process that has
loaded it; a process that has not (a scikit-learn run) never imports torch
(1.5 s) for it: it reads the same two values from a per-machine cache file,
filled once by a probe process (``python -c`` importing torch) under a file
lock and keyed by torch version, CPU model and flags, Python executable and
``ATEN_CPU_CAPABILITY``; the driver of a torch-free grid starts that probe
in the background at start (:func:`prefetch_torch_kernels`).  The values, and
so ``hardware_id``, are the same on both paths.  Loaded libraries are listed
as loaded: torch's own OpenMP runtime appears in ``hardware["blas"]`` only in
processes that load torch (``hardware_id`` reads the BLAS entries only).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import platform
import re
import subprocess
import sys
import threading
import time
from importlib import metadata
from pathlib import Path

VERSIONED = ("altbench", "numpy", "scipy", "scikit-learn", "torch", "pyarrow", "datasets")
NUMERIC = ("numpy", "scipy", "scikit-learn", "torch")  # versions that can change the numbers
BLAS_KEYS = ("user_api", "internal_api", "prefix", "version", "num_threads", "threading_layer", "architecture")


def provenance(threads: int) -> dict:
    """Library versions, git commit, host, threads and hardware of this process (for the run record).
    ``torch_threads``: torch's count, or in a run that never loads torch the count its BLAS was
    pinned to (what torch gets there: :func:`altbench.device.torch_threads`)."""
    from altbench.device import torch_threads

    hw = hardware()
    return {"versions": library_versions(), "python": platform.python_version(), "git_commit": git_commit(),
            "host": platform.node(), "platform": platform.platform(),
            "torch_threads": torch_threads(), "threads_requested": threads,
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
    return _cpuinfo("model name") or platform.processor() or ""


def _cpuinfo(key: str) -> str:
    """The first ``key`` line's value in /proc/cpuinfo, or "" (no such file or line)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith(key):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return ""


def blas_libraries() -> list[dict]:
    """Loaded BLAS / OpenMP libraries (threadpoolctl): API, version, threads, OpenBLAS kernel architecture."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return []
    libs = [{k: info.get(k) for k in BLAS_KEYS if k in info} for info in threadpool_info()]
    return sorted(libs, key=lambda d: json.dumps(d, sort_keys=True, default=str))


def torch_kernels() -> dict:
    """torch's CPU kernel dispatch level (e.g. AVX512) and its BLAS build, without importing torch
    into a process that has not (the cached probe, :func:`cached_torch_kernels`)."""
    if "torch" in sys.modules:
        return loaded_torch_kernels()
    return cached_torch_kernels()


def loaded_torch_kernels() -> dict:
    """{"cpu_capability", "blas"} asked of torch itself (imports it)."""
    import torch

    capability = getattr(getattr(torch.backends, "cpu", None), "get_cpu_capability", lambda: None)()
    blas = re.search(r"BLAS_INFO=([^,\s]+)", torch.__config__.show())
    return {"cpu_capability": capability, "blas": blas.group(1) if blas else None}


KERNEL_KEYS = ("blas", "cpu_capability")
PROBE = "import json; from altbench.provenance import loaded_torch_kernels as k; print(json.dumps(k()))"
PROBE_TIMEOUT_S = 300.0


def cached_torch_kernels() -> dict:
    """:func:`loaded_torch_kernels` of a fresh process on this machine, probed once and cached
    (``None`` values when torch is not installed).  Concurrent callers wait on the cache's lock
    for the first one's probe; a cache directory that cannot be written only costs a probe per call."""
    from altbench.atomic import CACHE_HINT, StorageError, atomic_write_bytes, exclusive_lock

    if _versions(("torch",))["torch"] is None:
        return dict.fromkeys(KERNEL_KEYS)
    path = kernels_cache_path()
    if (hit := _read_kernels(path)) is not None:
        return hit
    try:
        with exclusive_lock(path.with_suffix(".lock"), CACHE_HINT):
            if (hit := _read_kernels(path)) is not None:  # another process probed meanwhile
                return hit
            value = _probe_kernels()
            atomic_write_bytes(path, json.dumps(value, sort_keys=True).encode(), CACHE_HINT)
            return value
    except StorageError:
        return _probe_kernels()


def kernels_cache_path() -> Path:
    """The cache file of this machine's torch kernels: in ``$ALTBENCH_CACHE_DIR``, else the user
    cache directory (``~/.cache/altbench``); its name hashes everything the values depend on."""
    key = {"torch": _versions(("torch",))["torch"], "cpu": cpu_model(), "flags": _cpuinfo("flags"),
           "python": sys.executable, "aten_cpu_capability": os.environ.get("ATEN_CPU_CAPABILITY")}
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
    from altbench.atomic import user_cache_dir

    return user_cache_dir() / f"torch-kernels-{digest}.json"


def _read_kernels(path: Path) -> dict | None:
    """The cached values, or None when the file is missing or not a cache entry."""
    try:
        value = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    ok = isinstance(value, dict) and sorted(value) == list(KERNEL_KEYS) \
        and all(v is None or isinstance(v, str) for v in value.values())
    return value if ok else None


def _probe_kernels() -> dict:
    """:func:`loaded_torch_kernels` of a fresh Python process (it imports torch, this one does not)."""
    try:
        out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True,
                             timeout=PROBE_TIMEOUT_S)
        value = json.loads(out.stdout.strip().splitlines()[-1]) if out.returncode == 0 else None
    except (OSError, subprocess.SubprocessError, ValueError, IndexError):
        out, value = None, None
    if not isinstance(value, dict) or sorted(value) != list(KERNEL_KEYS):
        why = (out.stderr.strip().splitlines() or ["no output"])[-1] if out is not None else "it did not run"
        raise RuntimeError(f"could not read torch's kernel info for the run record ({why}); "
                           f"check that `{sys.executable} -c 'import torch'` works")
    return value


def prefetch_torch_kernels() -> threading.Thread | None:
    """Start filling the kernel cache now, in a background thread of this process (the driver of a
    grid whose runs will not load torch), so that its runs find it; None when nothing is to do."""
    if "torch" in sys.modules or _versions(("torch",))["torch"] is None \
            or _read_kernels(kernels_cache_path()) is not None:
        return None
    thread = threading.Thread(target=_quietly, args=(cached_torch_kernels,), name="altbench-torch-probe",
                              daemon=True)
    thread.start()
    return thread


def _quietly(fn) -> None:
    """``fn()``, its errors left to whoever calls it next in the foreground (a run reports them)."""
    try:
        fn()
    except Exception:  # noqa: BLE001
        pass


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
