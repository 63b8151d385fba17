"""Which finished runs a report may pool: only seeds of one resolved config.

A table cell (dataset × method × strategy) averages over its runs' seeds.
That is only meaningful when the runs' resolved configs (``"config"`` in
``runs/<id>.json``) agree in everything but the seed; runs left by an older
default or another budget share the cell's labels and would otherwise be
averaged silently.  :func:`check_poolable` refuses them and names the first
difference.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

CELL_PARTS = ("dataset", "method", "strategy")  # their labels name a table cell
MISSING = object()


def first_difference(a: Any, b: Any, path: str = "") -> tuple[str, Any, Any] | None:
    """(dotted path, value in a, value in b) of the first difference, or None.

    A key only one side has is not a difference: a field added later with a
    default is absent from older run records (see ``altbench.config.ID_IF_SET``).
    """
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) & set(b)):
            found = first_difference(a[key], b[key], f"{path}.{key}" if path else str(key))
            if found:
                return found
        return None
    return None if a == b else (path, a, b)


def _config(record: Path) -> dict | None:
    """The resolved config of a run record, or None (no record, or one without a config)."""
    try:
        config = json.loads(record.read_text()).get("config")
    except (OSError, ValueError, AttributeError):
        return None  # unreadable records are reported by RunStore.read_results
    return config if isinstance(config, dict) and all(isinstance(config.get(p), dict) for p in CELL_PARTS) else None


def _cell(config: dict) -> str:
    return "/".join(str(config[p].get("shown") or config[p].get("label") or config[p].get("name")) for p in CELL_PARTS)


def check_poolable(results_dir: Path) -> None:
    """Raise ValueError if two finished runs of one table cell differ in more than the seed."""
    runs = Path(results_dir) / "runs"
    first: dict[str, tuple[str, dict]] = {}  # cell → (run id, config without the seed)
    for result in sorted(runs.glob("*.parquet")):
        config = _config(runs / f"{result.stem}.json")
        if config is None:
            continue
        rest = {k: v for k, v in config.items() if k != "seed"}
        cell = _cell(config)
        seen_id, seen = first.setdefault(cell, (result.stem, rest))
        diff = first_difference(seen, rest)
        if diff:
            where, old, new = diff
            raise ValueError(
                f"runs of {cell} differ in {where} ({json.dumps(old)} vs {json.dumps(new)}; runs {seen_id} and "
                f"{result.stem}) so their seeds cannot be averaged; put them in separate results dirs or "
                "prune with `altbench run CONFIG --prune`")
