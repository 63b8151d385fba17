"""``altbench verify DIR``: re-run a seeded sample of finished runs and compare.

Each sampled run is rebuilt from its record (``runs/<id>.json`` "config"),
re-run in this process into a temporary directory, and compared with the
results file in DIR:

* same hardware fingerprint (``provenance.hardware_id`` of the record equal
  to this machine's) → the promise is byte identity of the ``.parquet``;
  any difference fails.
* different or unrecorded hardware → last-bit float differences may flip
  near-tied picks, so verify measures them: the largest absolute accuracy
  difference at any round, and whether a table conclusion changes.  The
  conclusions are recomputed on DIR's runs with the re-runs put in place
  of the originals: per dataset × method, the ranking of strategies by mean
  AUBC over seeds and the significance marks against the baseline (↑/↓ of
  the summary table: Holm-adjusted paired t-test of final accuracy and AUBC).

Exit code 0 when every re-run is identical, or differs only across hardware
without changing a conclusion; 1 otherwise; 2 for a bad directory.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

DEFAULT_SAMPLE = 5  # runs re-run when --sample is not given
MARK_METRICS = ("final_accuracy", "aubc")  # the summary table's ↑/↓ columns


@dataclass(frozen=True)
class RunCheck:
    """One re-run compared with its results file."""

    run_id: str
    cell: str  # dataset/method/strategy/seed
    same_hardware: bool  # the record's hardware_id equals the re-run's
    identical: bool  # byte-identical .parquet, or equal on every column the recorded file has
    max_abs_diff: float  # largest |Δ accuracy| at any round (inf: different rounds; nan: re-run failed)
    error: str | None = None  # the re-run's one-line error


def run_config(record: dict):
    """The :class:`altbench.config.RunConfig` of a run record's "config" (``RunConfig.to_dict()``)."""
    from altbench.config import PluginSpec, RunConfig
    from altbench.loop import Budget

    c = record["config"]
    known = {f.name for f in dataclasses.fields(Budget)}
    budget = {k: tuple(v) if isinstance(v, list) else v for k, v in c["budget"].items() if k in known}
    specs = {k: PluginSpec(**{f: c[k][f] for f in ("name", "params", "label", "content_hash") if f in c[k]})
             for k in ("dataset", "method", "strategy")}
    return RunConfig(**specs, seed=int(c["seed"]), budget=Budget(**budget))


def hardware_of(record: dict) -> str | None:
    """The record's hardware fingerprint id, or None for records written before it existed."""
    prov = record.get("provenance") or {}
    return prov.get("hardware_id") or (prov.get("hardware") or {}).get("hardware_id")


def sample_runs(ids: list[str], n: int, seed: int) -> list[str]:
    """A seeded uniform sample of ``min(n, len(ids))`` run ids, sorted."""
    rng = np.random.default_rng(seed)
    return sorted(rng.choice(sorted(ids), size=min(n, len(ids)), replace=False).tolist())


def _accuracy_diff(a: Path, b: Path) -> float:
    import pyarrow.parquet as pq

    x, y = (pq.read_table(p, columns=["round", "n_labelled", "accuracy"]).to_pandas() for p in (a, b))
    if len(x) != len(y) or not np.array_equal(x.n_labelled.to_numpy(), y.n_labelled.to_numpy()):
        return float("inf")
    return float(np.abs(x.accuracy.to_numpy() - y.accuracy.to_numpy()).max(initial=0.0))


def rerun(results_dir: Path, run_id: str, scratch: Path, data_dir: Path | None) -> RunCheck:
    """Re-run ``run_id`` of ``results_dir`` into ``scratch`` and compare the results files."""
    from altbench.runner import RunSettings, execute_run

    record = json.loads((results_dir / "runs" / f"{run_id}.json").read_text())
    cfg = run_config(record)
    cell = f"{cfg.dataset.key()}/{cfg.method.key()}/{cfg.strategy.key()}/{cfg.seed}"
    if cfg.run_id != run_id:
        return RunCheck(run_id, cell, False, False, float("nan"),
                        "its recorded config hashes to another run id (written by another altbench version)")
    threads = int((record.get("provenance") or {}).get("threads_requested") or 1)
    settings = RunSettings(results_dir=str(scratch), data_dir=str(data_dir) if data_dir else None, threads=threads)
    _, err = execute_run(cfg, settings, fresh=True)
    if err is not None:
        return RunCheck(run_id, cell, False, False, float("nan"), err)
    new = json.loads((scratch / "runs" / f"{run_id}.json").read_text())
    mine, theirs = results_dir / "runs" / f"{run_id}.parquet", scratch / "runs" / f"{run_id}.parquet"
    same_hw = hardware_of(record) is not None and hardware_of(record) == hardware_of(new)
    identical = mine.read_bytes() == theirs.read_bytes() or same_recorded_columns(mine, theirs)
    return RunCheck(run_id, cell, same_hw, identical, 0.0 if identical else _accuracy_diff(mine, theirs))


def same_recorded_columns(recorded: Path, rerun: Path) -> bool:
    """True when the re-run holds every column of the recorded file with identical values.

    A newer altbench adds per-round columns (e.g. balanced accuracy, stopping
    signals); a file written before them is still checked exactly, on what it records.
    """
    import pyarrow.parquet as pq

    old, new = pq.read_table(recorded), pq.read_table(rerun)
    if not set(old.column_names) <= set(new.column_names) or old.column_names == new.column_names:
        return False  # a lost column, or the same columns with other bytes: not identical
    return new.select(old.column_names).equals(old)


def conclusions(df, baseline: str = "random") -> dict[str, object]:
    """The table's conclusions of a rounds table: rankings by mean AUBC and ↑/↓ marks.

    Returns {"rank dataset/method": (strategies, best first), "mark dataset/method/strategy/metric": outcome}.
    """
    from altbench.metrics import SETTING, run_summaries
    from altbench.stats import paired_comparisons

    summ = run_summaries(df, targets=(), baseline=baseline)
    out: dict[str, object] = {}
    for (d, m), g in summ.groupby(SETTING, sort=True):
        means = g.groupby("strategy")["aubc"].mean()
        out[f"rank {d}/{m}"] = tuple(sorted(means.index, key=lambda s: (-means[s], s)))
    for metric in MARK_METRICS:
        comp = paired_comparisons(summ, metric, baseline)
        for r in comp.itertuples(index=False):
            out[f"mark {r.dataset}/{r.method}/{r.a}/{metric}"] = r.outcome
    return out


def changed_conclusions(results_dir: Path, scratch: Path, rerun_ids: list[str]) -> list[str]:
    """Conclusions of ``results_dir`` that change when its ``rerun_ids`` are replaced by the re-runs."""
    import pandas as pd

    from altbench.store import RunStore

    before = RunStore(results_dir).read_results()
    redone = RunStore(scratch).read_results()
    redone = redone[redone.run_id.isin(rerun_ids)]
    after = pd.concat([before[~before.run_id.isin(rerun_ids)], redone[before.columns]], ignore_index=True)
    a, b = conclusions(before), conclusions(after)
    return [f"{k}: {a.get(k)} → {b.get(k)}" for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]


def verify(results_dir: Path, sample: int = DEFAULT_SAMPLE, seed: int = 0,
           data_dir: Path | None = None) -> tuple[list[RunCheck], list[str]]:
    """(per-run checks, changed conclusions) for a seeded sample of the finished runs of ``results_dir``."""
    from altbench.store import RunStore

    results_dir = Path(results_dir)
    ids = RunStore(results_dir).finished_ids()
    if not ids:
        raise FileNotFoundError(f"no finished runs under {results_dir / 'runs'}; pass a results directory "
                                "that `altbench run` has filled")
    with tempfile.TemporaryDirectory(prefix="altbench-verify-") as tmp:
        checks = [rerun(results_dir, i, Path(tmp), data_dir) for i in sample_runs(ids, sample, seed)]
        redone = [c.run_id for c in checks if c.error is None and not c.identical]
        changes = changed_conclusions(results_dir, Path(tmp), redone) if redone else []
    return checks, changes


def passed(checks: list[RunCheck], changes: list[str]) -> bool:
    """True when every run is identical, or differs only across hardware with no conclusion changed."""
    return not changes and all(c.error is None and (c.identical or not c.same_hardware) for c in checks)


def summary_line(checks: list[RunCheck], changes: list[str]) -> str:
    same = [c for c in checks if c.same_hardware]
    other = [c for c in checks if not c.same_hardware and c.error is None]
    failed = [c for c in checks if c.error is not None]
    diffs = [c.max_abs_diff for c in other if not c.identical]
    parts = [f"verify: {'OK' if passed(checks, changes) else 'FAILED'}: {len(checks)} run(s) re-run",
             f"same hardware: {sum(c.identical for c in same)} identical / {sum(not c.identical for c in same)} differ"]
    if other:
        parts.append(f"other or unrecorded hardware: {sum(c.identical for c in other)} identical / {len(diffs)} "
                     f"differ, largest accuracy difference {max(diffs, default=0.0):.4f}")
    if failed:
        parts.append(f"{len(failed)} re-run(s) failed")
    parts.append(f"{len(changes)} table conclusion(s) changed")
    return "; ".join(parts)


def format_table(checks: list[RunCheck], changes: list[str]) -> str:
    from tabulate import tabulate

    rows = [[c.run_id, c.cell, "same" if c.same_hardware else "other/unknown",
             "error" if c.error else ("identical" if c.identical else "differs"),
             "—" if c.error else f"{c.max_abs_diff:.4f}", c.error or ""] for c in checks]
    text = tabulate(rows, headers=["run", "dataset/method/strategy/seed", "hardware", "parquet", "max |Δacc|",
                                   "error"], tablefmt="github", disable_numparse=True)
    return text + "".join(f"\nchanged: {line}" for line in changes)


def _cmd_verify(args) -> int:
    checks, changes = verify(args.results_dir, args.sample, args.seed, args.data_dir)
    print(summary_line(checks, changes))
    print(format_table(checks, changes))
    return 0 if passed(checks, changes) else 1


def _count(text: str) -> int:
    import argparse

    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"--sample must be a positive whole number of runs, got {text!r}")
    return int(text)


def register(subparsers) -> None:
    """Add ``altbench verify DIR [--sample N] [--seed S] [--data-dir D]``."""
    p = subparsers.add_parser("verify", help="re-run a sample of finished runs and compare with their results")
    p.add_argument("results_dir", type=Path, help="results directory with runs/*.parquet and runs/*.json")
    p.add_argument("--sample", type=_count, default=DEFAULT_SAMPLE,
                   help=f"how many finished runs to re-run (default {DEFAULT_SAMPLE}; more than exist: all)")
    p.add_argument("--seed", type=int, default=0, help="seed of the sample (default 0)")
    p.add_argument("--data-dir", type=Path, help="dataset directory (default $ALTBENCH_DATA_DIR or user cache)")
    p.set_defaults(fn=_cmd_verify)


if __name__ == "__main__":  # pragma: no cover
    from altbench.cli import main

    sys.exit(main(["verify", *sys.argv[1:]]))
