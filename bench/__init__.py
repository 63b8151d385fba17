"""altbench: a benchmark harness for active learning × transfer learning.

The public API lives in :mod:`altbench.api` (``Dataset``, ``top_k``, the
registries, the Protocols); its names are also reachable here
(``altbench.top_k``), imported on first use so that ``altbench --help`` stays
light.
"""

from typing import Any

__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    """``altbench.X`` for every public name ``X`` of :mod:`altbench.api`, imported lazily."""
    import importlib

    if name.startswith("__"):  # dunder probes (pickle, inspect, ...) never load the API
        raise AttributeError(f"module 'altbench' has no attribute {name!r}")
    api = importlib.import_module("altbench.api")
    if name in api.__all__:
        return getattr(api, name)
    raise AttributeError(f"module 'altbench' has no attribute {name!r}")


def __dir__() -> list[str]:
    import importlib

    return sorted(set(globals()) | set(importlib.import_module("altbench.api").__all__))
