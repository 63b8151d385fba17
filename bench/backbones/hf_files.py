"""Where an ``hf:`` model lives and what its folder says, without importing torch.

A model is a local folder (``hf:/path/to/model``, anything ``save_pretrained``
wrote) or a Hugging Face hub id (``hf:sentence-transformers/all-mpnet-base-v2``)
fetched once into the hub cache by :func:`locate`.  From the folder come

* its modality: a vision config has ``num_channels``, a text config does not;
* the sentence-transformers recipe when present (Reimers & Gurevych 2019):
  ``1_Pooling/config.json`` (mean / CLS / max tokens) and a ``Normalize``
  module in ``modules.json``;
* its identity: a SHA-256 over the contents of the files that decide the
  features (config, weights, tokenizer or processor, pooling), so an edited or
  re-downloaded model never reuses cached features.

Config-time checks (:func:`problem`) read files only; nothing here downloads
unless :func:`locate` is called for a hub id.
"""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path

# files a hub snapshot needs (PyTorch .bin weights only when a repo has no safetensors)
HUB_FILES = ["*.json", "*.txt", "*.model", "*.safetensors", "*_Pooling/*"]
SKIPPED = {"README.md", ".gitattributes"}  # top-level files that do not change features
ST_POOLING = {"pooling_mode_mean_tokens": "mean", "pooling_mode_cls_token": "cls", "pooling_mode_max_tokens": "max"}
OFFLINE_ENV = ("HF_HUB_OFFLINE", "ALTBENCH_OFFLINE")


class HfModelError(ValueError):
    """An ``hf:`` model that cannot be found or read; the message is one line."""


def is_local(model: str) -> bool:
    """A folder path rather than a hub id: it exists, or it is written like a path."""
    return (Path(model).expanduser().exists() or model.startswith(("/", ".", "~")) or "\\" in model
            or model.count("/") > 1)


def offline() -> bool:
    return any(os.environ.get(v, "").strip().lower() in ("1", "true", "yes", "on") for v in OFFLINE_ENV)


def problem(model: str, revision: str | None = None) -> str | None:
    """Why ``model`` cannot be used (one line), or None.  Reads files only; never downloads."""
    if not model:
        return "no model given; write `backbone: hf:<hub id or local folder>`"
    if is_local(model):
        folder = Path(model).expanduser()
        if not folder.is_dir():
            return f"folder {model} does not exist; pass a folder written by save_pretrained, or a hub id"
        if not (folder / "config.json").is_file():
            return (f"folder {model} is not a transformers model (no config.json); pass the folder "
                    "save_pretrained wrote, or a hub id")
        return None
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    try:
        validate_repo_id(model)
    except HFValidationError:
        return f"{model!r} is neither an existing folder nor a valid hub id (org/name); fix the name or path"
    if offline() and _cached(model, revision) is None:
        return (f"hub model {model!r} is not in the local Hugging Face cache and downloads are off "
                f"({'/'.join(OFFLINE_ENV)}); download it (`hf download {model}`) or pass a local folder")
    return None


def _cached(repo_id: str, revision: str | None) -> str | None:
    from huggingface_hub import try_to_load_from_cache

    found = try_to_load_from_cache(repo_id, "config.json", revision=revision)
    return found if isinstance(found, str) else None


@functools.lru_cache(maxsize=None)
def locate(model: str, revision: str | None = None) -> Path:
    """The local folder of ``model``: the folder itself, or the hub snapshot (downloaded if needed)."""
    why = problem(model, revision)
    if why:
        raise HfModelError(f"hf backbone: {why}")
    if is_local(model):
        return Path(model).expanduser().resolve()
    return _snapshot(model, revision)


def _snapshot(repo_id: str, revision: str | None) -> Path:
    from huggingface_hub import snapshot_download

    kwargs = {"revision": revision, "local_files_only": offline()}
    try:
        path = Path(snapshot_download(repo_id, allow_patterns=HUB_FILES, **kwargs))
        if not any(path.glob("*.safetensors")):
            path = Path(snapshot_download(repo_id, allow_patterns=HUB_FILES + ["*.bin"], **kwargs))
    except Exception as exc:  # offline, unknown repo, gated, ...: say what to do instead
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise HfModelError(f"hf backbone: cannot get hub model {repo_id!r} ({type(exc).__name__}: {first}); "
                           f"download it (`hf download {repo_id}`) or pass a local folder: "
                           "backbone: hf:/path/to/model") from None
    return path


def read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def modality(folder: Path) -> str:
    """"image" for a vision config (it has ``num_channels``), else "text"."""
    return "image" if "num_channels" in read_json(folder / "config.json") else "text"


def st_modules(folder: Path) -> list[dict]:
    """The sentence-transformers module list (``modules.json``), [] for a plain transformers folder."""
    mods = read_json(folder / "modules.json") if (folder / "modules.json").is_file() else []
    return mods if isinstance(mods, list) else []


def st_pooling(folder: Path) -> str | None:
    """The pooling a sentence-transformers folder declares (mean / cls / max), else None."""
    for mod in st_modules(folder):
        if str(mod.get("type", "")).endswith("Pooling"):
            cfg = read_json(folder / mod.get("path", "") / "config.json")
            return next((ST_POOLING[k] for k in ST_POOLING if cfg.get(k)), None)
    return None


def st_normalize(folder: Path) -> bool:
    """Whether a sentence-transformers folder ends in a ``Normalize`` module (unit-length embeddings)."""
    return any(str(mod.get("type", "")).endswith("Normalize") for mod in st_modules(folder))


def identity(folder: Path) -> str:
    """SHA-256 (24 hex) over the names and contents of the files that decide the features."""
    files = [p for p in sorted(folder.iterdir()) if p.is_file() and p.name not in SKIPPED]
    files += [p for p in sorted(folder.glob("*_Pooling/*")) if p.is_file()]
    stamp = tuple((str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in files)
    return _hash_files(str(folder), stamp)


@functools.lru_cache(maxsize=64)
def _hash_files(root: str, stamp: tuple[tuple[str, int, int], ...]) -> str:
    """Content hash; cached per (path, size, mtime) so a run hashes large weights once."""
    from altbench.datasets.files import named_files_sha256

    return named_files_sha256((os.path.relpath(name, root), Path(name)) for name, _, _ in stamp)[:24]
