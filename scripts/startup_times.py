"""Start-up time of the quick commands: wall seconds of a fresh ``altbench`` process, median of 5.

    python scripts/startup_times.py            # --help, list strategies, list methods, status
    python scripts/startup_times.py --repeat 9

Each command runs as ``python -m altbench ...`` in a new interpreter, so the
time includes Python's own start-up (printed as the baseline ``python -c pass``).
``status`` reads the bundled quickstart grid against an empty results
directory (its 120 run ids are resolved, no results file is read).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

COMMANDS = {
    "python -c pass (baseline)": ["-c", "pass"],
    "altbench --help": ["-m", "altbench", "--help"],
    "altbench list strategies": ["-m", "altbench", "list", "strategies"],
    "altbench list methods": ["-m", "altbench", "list", "methods"],
    "altbench status (quickstart)": ["-m", "altbench", "status", "--results-dir", "{tmp}/none"],
}


def wall(argv: list[str], repeat: int) -> float:
    """Median wall seconds of ``python argv`` over ``repeat`` runs (after one untimed warm-up for the disk cache)."""
    times = []
    for i in range(repeat + 1):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, *argv], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if i:
            times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int, default=5, help="timed runs per command (median)")
    args = p.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f}, {os.cpu_count()} cores; median of {args.repeat}, wall")
    with tempfile.TemporaryDirectory() as tmp:
        for label, argv in COMMANDS.items():
            print(f"{label:32s} {wall([a.format(tmp=tmp) for a in argv], args.repeat):6.2f} s", flush=True)


if __name__ == "__main__":
    main()
