"""``altbench`` command line: run, list, report."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bench.registry import REGISTRIES

# Modules that add their own subcommand via ``register(subparsers)``.
COMMAND_MODULES = ("bench.datasets.cli",)


def _cmd_run(args) -> int:
    from bench.config import load_experiment
    from bench.report import write_report
    from bench.runner import run_grid

    exp = load_experiment(args.config, args.overrides)
    if args.results_dir:
        exp = type(exp)(exp.name, exp.runs, Path(args.results_dir), exp.n_jobs, exp.resolved)
    print(f"{exp.name}: {len(exp.runs)} runs → {exp.results_dir}", file=sys.stderr)
    rep = run_grid(exp, force=args.force, n_jobs=args.jobs, data_dir=args.data_dir,
                   progress=not args.no_progress)
    print(f"done {rep.done}, skipped (already finished) {rep.skipped}, failed {len(rep.failed)}",
          file=sys.stderr)
    cmd = "altbench run" + (f" {args.config}" if args.config else "") + "".join(f" {o}" for o in args.overrides)
    if not args.no_report and rep.done + rep.skipped:
        for p in write_report(exp.results_dir, command=cmd):
            print(f"wrote {p}", file=sys.stderr)
    if rep.failed:
        print(f"altbench: error: {len(rep.failed)} run(s) failed, first: {rep.failed[0][1]}; "
              f"tracebacks in {exp.results_dir}/runs/*.failed.json", file=sys.stderr)
        return 1
    return 0


def _cmd_list(args) -> int:
    from bench.registry import PluginError

    registry = REGISTRIES[args.kind]
    names = registry.names(args.pattern)
    for name in names:
        try:
            doc = (getattr(registry.get(name), "__doc__", "") or "").strip().splitlines()
        except PluginError as exc:
            doc = [f"(broken: {exc})"]
        print(f"{name:24s} {doc[0] if doc else ''}")
    return 0 if names else 1


def _cmd_report(args) -> int:
    from bench.report import write_report

    for p in write_report(Path(args.results_dir)):
        print(f"wrote {p}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="altbench", description="Active learning × transfer learning benchmarks.")
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="run an experiment grid (default: the bundled quickstart)")
    r.add_argument("config", nargs="?", type=Path, help="experiment YAML (default: bundled quickstart)")
    r.add_argument("overrides", nargs="*", help="key.sub=value overrides, e.g. budget.total=300 seeds=3")
    r.add_argument("--force", action="store_true", help="re-run runs that already finished")
    r.add_argument("--jobs", type=int, help="worker processes (default: the config's n_jobs)")
    r.add_argument("--results-dir", help="write here instead of the config's results_dir")
    r.add_argument("--data-dir", type=Path, help="dataset directory (default $ALTBENCH_DATA_DIR or user cache)")
    r.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    r.add_argument("--no-report", action="store_true", help="skip writing the table and plot")
    r.set_defaults(fn=_cmd_run)
    ls = sub.add_parser("list", help="list registered plugins, e.g. `altbench list strategies 'b*'`")
    ls.add_argument("kind", choices=sorted(REGISTRIES))
    ls.add_argument("pattern", nargs="?", default="*", help="shell-style wildcard")
    ls.set_defaults(fn=_cmd_list)
    rep = sub.add_parser("report", help="write table.md, summary.csv and curves.png for a results dir")
    rep.add_argument("results_dir")
    rep.set_defaults(fn=_cmd_report)
    import importlib

    for mod in COMMAND_MODULES:
        importlib.import_module(mod).register(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # A config "file" with '=' is an override (run with the default config).
    if getattr(args, "config", None) is not None and "=" in str(args.config):
        args.overrides.insert(0, str(args.config))
        args.config = None
    from bench.config import ConfigError
    from bench.registry import PluginError

    try:
        return args.fn(args)
    except (ConfigError, PluginError, FileNotFoundError, ValueError) as exc:
        print(f"altbench: error: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("altbench: interrupted; finished runs are kept, re-run to resume", file=sys.stderr)
        return 130
