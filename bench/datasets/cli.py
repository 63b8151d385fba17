"""``altbench datasets``: list registered datasets."""

from __future__ import annotations


def _cmd_datasets(args) -> int:
    from bench.registry import DATASETS

    for name in DATASETS.names(args.pattern):
        doc = (DATASETS.get(name).__doc__ or "").strip().splitlines()
        print(f"{name:24s} {doc[0] if doc else ''}")
    return 0


def register(sub) -> None:
    p = sub.add_parser("datasets", help="list datasets")
    p.add_argument("pattern", nargs="?", default="*", help="shell-style wildcard")
    p.set_defaults(fn=_cmd_datasets)
