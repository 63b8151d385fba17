"""Run the large-N strategy-speed benchmarks and write their query times as a table.

Usage::

    python scripts/bench_table.py --size 50k --out results/strategy_speed/bench_50k.txt
    python scripts/bench_table.py --size 200k --exclude probcover \
        --out results/strategy_speed/bench_200k.txt

Runs ``tests/benchmarks/test_strategy_speed.py`` (query time of every
registered strategy, plus the peak-memory checks of the scalable ones) through
pytest-benchmark with ``--benchmark-json``, and writes one line per strategy:
its minimum time in seconds over the benchmark's single round.  The file's
first line is this command, so the table names what regenerates it; the
second says where it ran.  Exits non-zero (and writes nothing) if any
benchmark or memory check fails.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH_FILE = "tests/benchmarks/test_strategy_speed.py"
# the slow-by-design strategies named here are skipped with a reason in the file
SKIP_REASONS = {"probcover": "its k-NN-capped ε-graph takes about 290 s at 200k (610 MB; see memory.txt)"}


def pytest_command(size: str, exclude: list[str], json_path: str) -> list[str]:
    selector = " and ".join([size] + [f"not {name}" for name in exclude])
    return [sys.executable, "-m", "pytest", BENCH_FILE, "-p", "no:cacheprovider", "-q", "-m", "large",
            "-k", selector, "--benchmark-enable", f"--benchmark-json={json_path}"]


def table(report: dict) -> list[str]:
    """``test_query_time[name-size]  seconds`` lines, sorted by name."""
    rows = sorted((b["name"], b["stats"]["min"]) for b in report["benchmarks"])
    width = max(len(name) for name, _ in rows)
    return [f"{name:<{width}}  {seconds:10.4f}" for name, seconds in rows]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", choices=["50k", "200k"], required=True, help="pool size case to run")
    ap.add_argument("--exclude", nargs="*", default=[], help="strategies to leave out (slow by design)")
    ap.add_argument("--out", type=Path, required=True, help="table file to write")
    args = ap.parse_args(argv)
    unknown = [name for name in args.exclude if name not in SKIP_REASONS]
    if unknown:
        ap.error(f"--exclude takes only strategies with a recorded reason ({', '.join(SKIP_REASONS)}); "
                 f"got {', '.join(unknown)}")
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        json_path = os.path.join(tmp, "bench.json")
        proc = subprocess.run(pytest_command(args.size, args.exclude, json_path), cwd=ROOT)
        if proc.returncode != 0:
            print(f"benchmarks failed (pytest exit {proc.returncode}); {args.out} left unchanged", file=sys.stderr)
            return proc.returncode
        report = json.loads(Path(json_path).read_text())
    load_after = os.getloadavg()[0]
    info = report["machine_info"]
    regenerate = "python scripts/bench_table.py " + shlex.join(
        [a for a in (argv if argv is not None else sys.argv[1:])])
    lines = [f"# regenerate: {regenerate}",
             f"# {info.get('cpu', {}).get('count', os.cpu_count())} CPUs ({platform.machine()}), "
             f"Python {info.get('python_version')}, {report['datetime']}; 1-min load average {load_before:.1f} "
             f"before, {load_after:.1f} after (other jobs inflate the times); strategies use 2 torch/BLAS threads; "
             "seconds for one query round; budget 1000 (batchbald 100), d=384, C=10, 100 labelled; "
             "peak-memory checks (coreset, badge, uncertainty < 2 GB) passed"]
    lines += [f"# {name} omitted: {SKIP_REASONS[name]}" for name in args.exclude]
    lines += table(report)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
