"""``altbench datasets``: list datasets, or print one dataset's card.

``altbench datasets [PATTERN]`` prints a table (name, modality, classes,
train/test sizes, whether the data are available locally);
``altbench datasets show NAME`` prints the card (source, citation, license,
split rule, files with SHA-256).  ``--data-dir`` overrides
``$ALTBENCH_DATA_DIR``.  Your own data (``files``, ``hf``) are listed with the
syntax of an entry (the plugin's ``USAGE``); ``show`` prints their docstring.
"""

from __future__ import annotations

import importlib.util
import inspect
from pathlib import Path

BUILTIN_MODULES = ("altbench.datasets.sklearn_sets", "altbench.datasets.text", "altbench.datasets.tabular",
                   "altbench.datasets.images", "altbench.datasets.hub", "altbench.datasets.user",
                   "altbench.datasets.user_hf")


def builtin_cards() -> dict:
    """Every built-in dataset card (imports the loader modules, which register them)."""
    import importlib

    for mod in BUILTIN_MODULES:
        importlib.import_module(mod)
    from altbench.datasets.cards import CARDS

    return CARDS


def availability(card, data_dir: Path) -> str:
    """'yes' if loadable offline now, 'hub' if it needs the hub, 'no: <why>' otherwise."""
    from altbench.datasets.files import locate
    from altbench.datasets.images import DEBIAN_FASHION

    if card.files:
        missing = [f.name for f in card.files if locate(f, data_dir, (DEBIAN_FASHION,)) is None]
        return "yes" if not missing else f"no: {missing[0]}" + (f" +{len(missing) - 1}" if len(missing) > 1 else "")
    if card.hub_id:
        return "yes" if (data_dir / card.name).is_dir() else "hub"
    if card.package and card.package.startswith("pip install"):
        module = card.package.split()[-1].replace("-", "_")
        return "yes" if importlib.util.find_spec(module) else f"no: {card.package}"
    return "yes"


def _table(pattern: str, data_dir: Path) -> int:
    from tabulate import tabulate

    from altbench.registry import DATASETS

    cards = builtin_cards()
    rows = []
    for name in DATASETS.names(pattern):
        card = cards.get(name) if name in cards else None
        usage = getattr(DATASETS.get(name), "USAGE", None) if card is None else None
        if usage:  # your own data: how to write an entry
            rows.append([name, "any", "-", "-", "-", "-", f"your data: {usage}"])
            continue
        if card is None:  # third-party plugin without a card
            doc = (DATASETS.get(name).__doc__ or "").strip().splitlines()
            rows.append([name, "?", "?", "?", "?", "?", doc[0] if doc else ""])
            continue
        rows.append([name, card.modality, len(card.classes), card.sizes.get("train", "?"),
                     card.sizes.get("test", "?"), availability(card, data_dir), card.title])
    if not rows:
        print(f"no dataset matches {pattern!r}; run `altbench datasets` to see all")
        return 1
    print(tabulate(rows, headers=["name", "modality", "classes", "train", "test", "local", "title"]))
    print(f"\ndata dir: {data_dir}")
    return 0


def card_text(name: str, data_dir: Path) -> str:
    """The card of dataset ``name`` as printable text."""
    from altbench.registry import DATASETS, PluginError

    cards = builtin_cards()
    if name not in cards:
        if name in DATASETS and getattr(DATASETS.get(name), "USAGE", None):  # your own data
            plugin = DATASETS.get(name)
            return f"{name}: your data, written {plugin.USAGE}\n\n{inspect.cleandoc(plugin.__doc__ or '')}"
        if name in DATASETS:
            return f"{name}: no card (third-party dataset); {(DATASETS.get(name).__doc__ or '').strip()}"
        raise PluginError(DATASETS.unknown_message(name).replace("altbench list datasets", "altbench datasets"))
    c = cards.get(name)
    sizes = ", ".join(f"{k} {v:,}" for k, v in c.sizes.items())
    lines = [f"{c.name} — {c.title}", f"  modality:  {c.modality}",
             f"  classes:   {len(c.classes)}: {', '.join(c.classes)}", f"  sizes:     {sizes}",
             f"  split:     {c.split}", f"  source:    {c.source}", f"  citation:  {c.citation}",
             f"  license:   {c.license}", f"  available: {availability(c, data_dir)} (data dir {data_dir})"]
    if c.package:
        lines.append(f"  package:   {c.package}")
    if c.hub_id:
        lines.append(f"  hub id:    {c.hub_id} (offline copy: {data_dir / c.name}/train*.parquet, test*.parquet)")
    for f in c.files:
        kind = "sha256 of gunzipped content" if f.gunzip_sha else "sha256"
        lines.append(f"  file:      {data_dir / f.path}\n             {kind} {f.sha256}\n             url {f.url}")
    lines += [f"  {k}: {v}" for k, v in c.notes.items()]
    return "\n".join(lines)


def _cmd_datasets(args) -> int:
    from altbench.datasets import default_data_dir

    data_dir = Path(args.data_dir) if args.data_dir else default_data_dir()
    if args.pattern == "show":
        if not args.name:
            raise ValueError("usage: altbench datasets show NAME (run `altbench datasets` for names)")
        print(card_text(args.name, data_dir))
        return 0
    return _table(args.pattern, data_dir)


def register(sub) -> None:
    p = sub.add_parser("datasets", help="list datasets, or `datasets show NAME` for a dataset's card")
    p.add_argument("pattern", nargs="?", default="*", help="shell-style wildcard, or 'show'")
    p.add_argument("name", nargs="?", help="with 'show': the dataset whose card to print")
    p.add_argument("--data-dir", type=Path, help="dataset directory (default $ALTBENCH_DATA_DIR or user cache)")
    p.set_defaults(fn=_cmd_datasets)
