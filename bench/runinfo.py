"""One run described for people: ``altbench status`` (failed and partial runs) and ``altbench show RUN_ID``.

Everything is read from the run's files (:mod:`altbench.store`): the run
record ``.json`` and results ``.parquet`` of a finished run, the
``.failed.json`` of a failed one, the checkpoint ``.jsonl`` of any run that
did rounds.  Runs are named ``dataset/method/strategy/s<seed>``
(:func:`altbench.watch.run_name`) next to their id.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from altbench.store import RunStore
from altbench.watch import name_of_record, run_name, total_rounds

RUN_ID = re.compile(r"^[0-9a-f]{16}$")
DEFAULT_RESULTS = Path("results")  # `altbench show RUN_ID` searches its */runs and */*/runs
ERROR_WIDTH = 160  # characters of an error message shown in the status table


def _table(header: tuple[str, ...], rows: list[tuple], indent: str = "  ") -> list[str]:
    """Left-aligned text columns (the last one unpadded)."""
    cells = [tuple(map(str, r)) for r in [header, *rows]]
    widths = [max(len(c[i]) for c in cells) for i in range(len(header) - 1)]
    return [indent + "  ".join([*(c[i].ljust(w) for i, w in enumerate(widths)), c[-1]]).rstrip() for c in cells]


# ---------------------------------------------------------------- altbench status
def unfinished_rows(exp) -> list[tuple[str, str, str, str, str]]:
    """(name, run id, state, rounds done/total, last error) of ``exp``'s failed and partial runs."""
    store, rows = RunStore(exp.results_dir), []
    for cfg in exp.runs:
        if store.path(cfg.run_id, ".parquet").exists():
            continue
        failure = store.read_json(cfg.run_id, ".failed.json") if store.is_failed(cfg.run_id) else None
        rounds = store.read_rounds(cfg.run_id)
        if failure is None and not rounds:
            continue  # pending
        error = (failure or {}).get("error") or ("(failed, no message)" if failure is not None else "")
        rows.append((run_name(cfg), cfg.run_id, "failed" if failure is not None else "partial",
                     f"{len(rounds)}/{total_rounds(cfg.budget, rounds)}", _one_line(error)))
    return rows


def _one_line(text: str) -> str:
    line = str(text).splitlines()[0] if str(text) else ""
    return line if len(line) <= ERROR_WIDTH else line[:ERROR_WIDTH - 1] + "…"


def status_lines(exp) -> list[str]:
    """The failed-and-partial table of ``altbench status`` ([] when there are none)."""
    rows = unfinished_rows(exp)
    if not rows:
        return []
    return ["failed and partial runs (`altbench show RUN_ID` for one; `altbench run CONFIG --retry-failed` "
            "re-runs the failed, `altbench run CONFIG` resumes the partial):",
            *_table(("run", "id", "state", "rounds", "last error"), rows)]


# ---------------------------------------------------------------- altbench show RUN_ID
def is_run_ref(name: str) -> bool:
    """True for a 16-hex run id or the path of an existing run file."""
    looks_like_file = "/" in name or name.endswith((".json", ".parquet", ".jsonl"))
    return bool(RUN_ID.match(name)) or (looks_like_file and Path(name).is_file())


def find_run(ref: str, results: Path | None = None) -> tuple[RunStore, str]:
    """(store, run id) of a run id (in ``results`` or under ``results/`` of the working directory)
    or of a run file's path; FileNotFoundError (one line: where it looked) when there is none."""
    path = Path(ref)
    if path.is_file():
        runs = path.parent
        return RunStore(runs.parent if runs.name == "runs" else runs), path.name.split(".")[0]
    if results is not None:
        places = [Path(results) / "runs", Path(results)]
    else:
        places = sorted({*DEFAULT_RESULTS.glob("*/runs"), *DEFAULT_RESULTS.glob("*/*/runs")})
    for runs in places:
        if any(runs.glob(f"{ref}.*")):
            return RunStore(runs.parent if runs.name == "runs" else runs), ref
    where = (f"{results}/runs" if results is not None
             else f"{DEFAULT_RESULTS}/*/runs and {DEFAULT_RESULTS}/*/*/runs ({len(places)} folders)")
    raise FileNotFoundError(f"no run {ref} in {where}; pass its results directory: "
                            f"`altbench show {ref} --results DIR`")


def show_run(store: RunStore, run_id: str) -> str:
    """A run's name, state, config, curve (round, labels, accuracy, macro-F1, fit/query seconds) and timings."""
    record = store.read_json(run_id, ".json") if store.path(run_id, ".parquet").exists() else None
    failure = store.read_json(run_id, ".failed.json")
    config = (record or failure or {}).get("config")
    state = "finished" if record else "failed" if failure else "partial (interrupted or running)"
    curve = _finished_curve(store, run_id, record) if record else store.read_rounds(run_id)
    name = name_of_record(config) if config else "(name unknown: no run record yet)"
    out = [f"{name}  run {run_id}", f"  state: {state}    files: {store.runs}/{run_id}.*"]
    if failure:
        out.append(f"  last error: {_one_line(failure.get('error', ''))} (at {failure.get('when', '?')})")
    out += ["config:", *_config_lines(config)]
    out += ["curve:", *_curve_lines(curve)]
    out += ["timings:", *_timing_lines(curve, record)]
    return "\n".join(out)


def _finished_curve(store: RunStore, run_id: str, record: dict) -> list[dict]:
    """The results file's rounds with the record's per-round fit/query seconds."""
    import pyarrow.parquet as pq

    rows = pq.read_table(store.path(run_id, ".parquet")).to_pylist()
    timings = record.get("timings") or {}
    for i, row in enumerate(rows):
        for col in ("fit_seconds", "query_seconds"):
            values = timings.get(col) or []
            row[col] = values[i] if i < len(values) else None
    return rows


def _config_lines(config: dict | None) -> list[str]:
    if not config:
        return ["  (not recorded until the run finishes or fails)"]
    rows = []
    for key in ("dataset", "method", "strategy"):
        spec = config.get(key) or {}
        params = spec.get("params") or {}
        rows.append((key, spec.get("name", "?") + (f" {json.dumps(params, sort_keys=True)}" if params else "")))
    rows += [("seed", config.get("seed")), ("budget", json.dumps(config.get("budget"), sort_keys=True))]
    return _table(("key", "value"), rows)[1:]


def _num(value, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def _curve_lines(curve: list[dict]) -> list[str]:
    if not curve:
        return ["  (no round finished yet)"]
    rows = [(r["round"], r["n_labelled"], _num(r.get("accuracy"), ".4f"), _num(r.get("macro_f1"), ".4f"),
             _num(r.get("fit_seconds"), ".3f"), _num(r.get("query_seconds"), ".3f")) for r in curve]
    return _table(("round", "labels", "accuracy", "macro_f1", "fit_s", "query_s"), rows)


def _timing_lines(curve: list[dict], record: dict | None) -> list[str]:
    fit = sum(r.get("fit_seconds") or 0.0 for r in curve)
    query = sum(r.get("query_seconds") or 0.0 for r in curve)
    lines = [f"  fit {fit:.2f} s + query {query:.2f} s over {len(curve)} round(s)"]
    if record:
        prov = record.get("provenance") or {}
        lines.append(f"  wall {_wall(record):s} (started {record.get('started', '?')}, finished "
                     f"{record.get('finished', '?')}), resumed at round {record.get('resumed_at_round', 0)}, "
                     f"{prov.get('torch_threads', '?')} thread(s) on {prov.get('host', '?')}")
    return lines


def _wall(record: dict) -> str:
    from datetime import datetime

    try:
        span = datetime.fromisoformat(record["finished"]) - datetime.fromisoformat(record["started"])
    except (KeyError, TypeError, ValueError):
        return "?"
    return f"{span.total_seconds():.2f} s"
