"""``altbench`` command line: run, status, list, show, report (and the commands of COMMAND_MODULES).

Every choice of plugin-like things (plugin kinds, executors) is read from its registry."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path

from altbench.registry import REGISTRIES

# Modules that add their own subcommand via ``register(subparsers)``.
COMMAND_MODULES = ("altbench.datasets.cli", "altbench.reproduce", "altbench.verify", "altbench.plan")


def _cmd_run(args) -> int:
    from altbench.executors import prestart

    prestart(args.executor)  # the run processes' imports (about 2 s) start now, beside the parsing below
    from altbench.report import write_report
    from altbench.runner import run_grid
    from altbench.store import RunStore

    exp = _experiment(args)
    print(f"{exp.name}: {len(exp.runs)} runs → {exp.results_dir}", file=sys.stderr)
    if args.prune:
        gone = RunStore(exp.results_dir).prune({r.run_id for r in exp.runs})
        print(f"pruned {len(gone)} run(s) this grid no longer produces" + (f": {', '.join(gone)}" if gone else ""),
              file=sys.stderr)
    rep = run_grid(exp, force=args.force, retry_failed=args.retry_failed, n_jobs=args.jobs,
                   data_dir=args.data_dir, progress=not args.no_progress, executor=args.executor,
                   scheduler=args.scheduler, timeout_s=args.timeout, memory_gb=args.memory_gb,
                   log_level=args.log_level, tensorboard_dir=args.tensorboard, mlflow_uri=args.mlflow,
                   threads=args.threads)
    print(f"done {rep.done}, skipped (already finished or failed) {rep.skipped}, failed {len(rep.failed)}"
          + (f", busy in another process {rep.busy}" if rep.busy else ""), file=sys.stderr)
    cmd = "altbench run" + (f" {args.config}" if args.config else "") + "".join(f" {o}" for o in args.overrides)
    if not args.no_report and RunStore(exp.results_dir).finished_ids():
        for p in write_report(exp.results_dir, command=cmd):
            print(f"wrote {p}", file=sys.stderr)
    if rep.failed:
        print(f"altbench: error: {len(rep.failed)} run(s) failed, first: {rep.failed[0][1]}; "
              f"tracebacks in {exp.results_dir}/runs/*.failed.json", file=sys.stderr)
        return 1
    return 0


def _experiment(args):
    import dataclasses

    from altbench.config import load_experiment

    exp = load_experiment(args.config, args.overrides)
    if args.results_dir:
        exp = dataclasses.replace(exp, results_dir=Path(args.results_dir))
    return exp


def _cmd_status(args) -> int:
    from altbench.runner import grid_status
    from altbench.store import RunStore

    exp = _experiment(args)
    counts = grid_status(exp)
    other = set(RunStore(exp.results_dir).finished_ids()) - {r.run_id for r in exp.runs}
    print(f"{exp.name} ({exp.results_dir}): " + ", ".join(f"{k} {v}" for k, v in counts.items())
          + f" of {len(exp.runs)}" + (f"; {len(other)} other finished run(s) in the directory, not in this "
                                      "grid (`altbench run CONFIG --prune` deletes them)" if other else "")
          + ("; the corrupt results files were moved aside (runs/*.parquet.corrupt) and `altbench run CONFIG` "
             "re-runs them" if counts.get("corrupt") else ""))
    from altbench.runinfo import status_lines

    for line in status_lines(exp):  # failed and partial runs: name, id, rounds, last error
        print(line)
    return 0


def _cmd_list(args) -> int:
    from altbench.describe import list_lines

    lines = list_lines(REGISTRIES[args.kind], args.pattern, args.params)
    if not lines:
        return 1
    print("\n".join(lines))
    return 0


def _cmd_show(args) -> int:
    from altbench.describe import show_any

    print(show_any(args.name, args.results))
    return 0


def _cmd_report(args) -> int:
    from altbench.report import options_from_args, report_command, write_report

    for p in write_report(Path(args.results_dir), report_command(args), options_from_args(args)):
        print(f"wrote {p}")
    return 0


def _positive(kind):
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not value > 0:
            raise argparse.ArgumentTypeError(f"must be positive, got {text}")
        return value

    return parse


def _grid_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("config", nargs="?", type=Path, help="experiment YAML (default: bundled quickstart)")
    p.add_argument("overrides", nargs="*", help="key.sub=value overrides, e.g. budget.total=300 seeds=3")
    p.add_argument("--results-dir", help="results directory instead of the config's results_dir")


def _threads_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--threads", type=_positive(int),
                   help="torch/BLAS threads per run (default: $OMP_NUM_THREADS, else cores ÷ jobs)")


def executor_choices() -> list[str]:
    """Executor names, from the executors' registry (``run`` and ``reproduce`` ``--executor``)."""
    from altbench.executors import EXECUTORS

    return sorted(EXECUTORS)


def _version() -> str:
    from importlib import metadata

    try:
        return f"altbench {metadata.version('altbench')}"
    except metadata.PackageNotFoundError:  # run from a source tree that was never installed
        from altbench import __version__

        return f"altbench {__version__} (not installed)"


class _Parser(argparse.ArgumentParser):
    """argparse with a one-line error (no usage dump)."""

    def error(self, message: str):
        self.exit(2, f"altbench: error: {message} (see `{self.prog} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="altbench", description="Active learning × transfer learning benchmarks.")
    p.add_argument("--version", action="version", version=_version())
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    r = sub.add_parser("run", help="run an experiment grid (default: the bundled quickstart)")
    _grid_args(r)
    r.add_argument("--force", action="store_true", help="re-run every run, finished or not")
    r.add_argument("--retry-failed", action="store_true", help="re-run only the runs that failed")
    r.add_argument("--prune", action="store_true",
                   help="first delete the results dir's runs that this grid (after overrides) does not produce")
    r.add_argument("--jobs", type=_positive(int), help="runs at a time (default: the config's n_jobs)")
    _threads_arg(r)
    r.add_argument("--executor", default="local", choices=executor_choices(),
                   help="local: run processes supervised from here (default); or dask.distributed")
    r.add_argument("--scheduler", help="dask scheduler address tcp://HOST:PORT (default: start a LocalCluster)")
    r.add_argument("--timeout", type=_positive(float),
                   help="per-run time limit in seconds (the run's process is killed; the run is recorded failed)")
    r.add_argument("--memory-gb", type=_positive(float), help="per-run memory (address space) limit")
    r.add_argument("--log-level", default="WARNING", type=str.upper,
                   choices=["DEBUG", "INFO", "WARNING", "ERROR"], help="INFO shows every round of every run")
    r.add_argument("--tensorboard", metavar="DIR", help="also write per-run TensorBoard scalars to DIR")
    r.add_argument("--mlflow", metavar="URI", help="also log each run (config, run id, per-round metrics) to MLflow "
                   "at URI, e.g. file:///tmp/mlruns or http://host:5000 (pip install 'altbench[mlflow]')")
    r.add_argument("--data-dir", type=Path, help="dataset directory (default $ALTBENCH_DATA_DIR or user cache)")
    r.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    r.add_argument("--no-report", action="store_true", help="skip writing the table and plot")
    r.set_defaults(fn=_cmd_run)
    st = sub.add_parser("status", help="done / failed / partial / pending counts of a grid, then its failed "
                        "and partial runs (name, id, rounds, last error)")
    _grid_args(st)
    st.set_defaults(fn=_cmd_status)
    ls = sub.add_parser("list", help="list registered plugins, e.g. `altbench list strategies 'b*'`")
    ls.add_argument("kind", choices=sorted(REGISTRIES))
    ls.add_argument("pattern", nargs="?", default="*", help="shell-style wildcard")
    ls.add_argument("--params", action="store_true",
                    help="also print every parameter: type, default and meaning")
    ls.set_defaults(fn=_cmd_list)
    sh = sub.add_parser("show", help="a plugin's whole docstring and every parameter, e.g. `altbench show margin`; "
                        "or a run's config, curve and timings: `altbench show RUN_ID`")
    sh.add_argument("name", help="plugin name (any kind), module:attr reference, run id or run file")
    sh.add_argument("--results", type=Path, metavar="DIR",
                    help="results directory of the run id (default: search results/*/runs)")
    sh.set_defaults(fn=_cmd_show)
    rep = sub.add_parser("report", help="write every table, figure, report.md and the paper's text and .bib "
                         "for a results dir (list: altbench report --help)")
    rep.add_argument("results_dir")
    from altbench.report import add_report_options

    add_report_options(rep)
    rep.set_defaults(fn=_cmd_report)
    import importlib

    for mod in COMMAND_MODULES:
        importlib.import_module(mod).register(sub)
    _threads_arg(sub.choices["reproduce"])  # the other grid command
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # A config "file" with '=' is an override (run with the default config).
    if getattr(args, "config", None) is not None and "=" in str(args.config):
        args.overrides.insert(0, str(args.config))
        args.config = None
    in_main = threading.current_thread() is threading.main_thread()  # signals only work there
    old_term = signal.signal(signal.SIGTERM, _on_sigterm) if in_main else None  # SLURM's/Docker's stop
    try:
        return args.fn(args)
    except Exception as exc:
        code = _exit_code(exc)
        if code is None:
            raise
        print(f"altbench: error: {str(exc).splitlines()[0]}", file=sys.stderr)
        return code
    except KeyboardInterrupt as exc:
        print("altbench: interrupted; finished runs and rounds are kept — re-run the same command to resume",
              file=sys.stderr)
        return 143 if isinstance(exc, Terminated) else 130
    finally:
        if in_main:
            signal.signal(signal.SIGTERM, old_term)


def _exit_code(exc: Exception) -> int | None:
    """1 for a storage error (the grid stopped, finished runs kept), 2 for a usage or run error
    reported in one line, None for a bug (traceback).  The error classes are imported here, late:
    a command that never loaded their modules cannot have raised them."""
    from altbench.atomic import StorageError
    from altbench.registry import PluginError
    from altbench.strict import ConfigError

    if isinstance(exc, StorageError):
        return 1
    lost = getattr(sys.modules.get("altbench.runner"), "WorkerLost", ())
    return 2 if isinstance(exc, (ConfigError, PluginError, FileNotFoundError, ValueError, lost)) else None


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived: shut down as on Ctrl-C."""


def _on_sigterm(signum, frame):
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second SIGTERM must not interrupt the clean-up
    raise Terminated()
