"""Paired comparison of the two arms of bench/configs/validation_ablation.yaml.

    python scripts/validation_ablation.py results/validation_ablation [--out FILE.md]

Arms: *untuned* (fixed settings, no validation labels) and *tuned* (a ``tune``
grid picked each round on ``budget.validation`` labels that count as labels;
Munjal et al. 2022, "Towards Robust and Reproducible Active Learning using
Neural Networks").  A run belongs to the tuned arm when its rows carry
``n_validation``; runs pair by dataset, method name (``logreg`` with
``logreg(tune=...)``), strategy and seed.  Both arms are read at the same
numbers of labels *paid for*: the final accuracy at the last size, and the
AUBC over the label range both arms cover (from the tuned arm's first point,
initial + validation labels, to the end), so the untuned arm's cheaper first
rounds do not enter its area.  The wall time of every fit (``fit_seconds``)
gives the tuning's compute cost; timings depend on the machine's load.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from altbench.metrics import normalised_aubc
from altbench.store import RunStore


def arms(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` (one row per run × round) with ``arm`` (tuned/untuned) and ``base`` (method name) columns."""
    df = df.copy()
    tuned = df["n_validation"].notna() if "n_validation" in df else pd.Series(False, index=df.index)
    df["arm"] = np.where(tuned, "tuned", "untuned")
    df["base"] = df["method"].str.split("(").str[0]
    return df


def per_run(df: pd.DataFrame) -> pd.DataFrame:
    """One row per run: final accuracy and AUBC over the labels both arms cover (see module doc)."""
    start = df.loc[df.arm == "tuned", "n_labelled"].min() if (df.arm == "tuned").any() else df.n_labelled.min()
    rows = []
    for key, g in df.groupby(["dataset", "base", "strategy", "seed", "arm"], sort=True):
        g = g.sort_values("n_labelled")
        common = g[g.n_labelled >= start]
        rows.append({**dict(zip(["dataset", "base", "strategy", "seed", "arm"], key)),
                     "final": float(g.accuracy.iloc[-1]), "aubc": normalised_aubc(common.n_labelled, common.accuracy),
                     "fit_s": float(g.fit_seconds.sum()), "labels": int(g.n_labelled.iloc[-1])})
    return pd.DataFrame(rows)


def paired(runs: pd.DataFrame) -> pd.DataFrame:
    """Tuned − untuned per dataset × method × strategy: mean and sd over seeds, tuned wins."""
    wide = runs.pivot_table(index=["dataset", "base", "strategy", "seed"], columns="arm", values=["final", "aubc"])
    out = []
    for key, g in wide.groupby(level=[0, 1, 2], sort=True):
        d_final = (g["final", "tuned"] - g["final", "untuned"]).dropna()
        d_aubc = (g["aubc", "tuned"] - g["aubc", "untuned"]).dropna()
        out.append({"dataset": key[0], "method": key[1], "strategy": key[2], "seeds": len(d_aubc),
                    "untuned AUBC": g["aubc", "untuned"].mean(), "tuned AUBC": g["aubc", "tuned"].mean(),
                    "Δ AUBC": d_aubc.mean(), "sd": d_aubc.std(ddof=1), "tuned wins": int((d_aubc > 0).sum()),
                    "Δ final": d_final.mean()})
    return pd.DataFrame(out)


def rankings(runs: pd.DataFrame) -> pd.DataFrame:
    """Strategies ordered by mean common-range AUBC, per dataset × method × arm, and whether the order differs."""
    mean = runs.groupby(["dataset", "base", "arm", "strategy"]).aubc.mean()
    out = []
    for (ds, base), g in mean.groupby(level=[0, 1]):
        order = {arm: " > ".join(s.sort_values(ascending=False).index.get_level_values("strategy"))
                 for arm, s in g.groupby(level="arm")}
        out.append({"dataset": ds, "method": base, "untuned order": order.get("untuned", ""),
                    "tuned order": order.get("tuned", ""),
                    "changed": order.get("untuned") != order.get("tuned")})
    return pd.DataFrame(out)


def chosen_counts(df: pd.DataFrame) -> pd.DataFrame:
    """How often each grid point was chosen, per dataset × method (all rounds, seeds, strategies)."""
    t = df[df.arm == "tuned"].dropna(subset=["chosen"])
    t = t.assign(point=t.chosen.map(lambda s: ", ".join(f"{k}={v}" for k, v in json.loads(s).items())))
    return t.groupby(["dataset", "base", "point"]).size().rename("rounds").reset_index()


def report(results_dir: Path) -> str:
    """The Markdown tables of the comparison."""
    df = arms(RunStore(results_dir).read_results())
    runs = per_run(df)
    cost = runs.groupby("arm").fit_s.sum()
    fmt = {"floatfmt": ".4f", "index": False}
    parts = ["## Tuned − untuned (paired by seed)", paired(runs).to_markdown(**fmt),
             "## Strategy order by AUBC over the common label range", rankings(runs).to_markdown(index=False),
             "## Grid points chosen", chosen_counts(df).to_markdown(index=False),
             f"## Compute\n\nSum of fit seconds: untuned {cost.get('untuned', 0):.1f} s, tuned "
             f"{cost.get('tuned', 0):.1f} s (ratio {cost.get('tuned', 0) / max(cost.get('untuned', 0), 1e-9):.1f}×)."]
    return "\n\n".join(parts) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("results_dir", type=Path)
    ap.add_argument("--out", type=Path, help="also write the tables to this Markdown file")
    args = ap.parse_args(argv)
    text = report(args.results_dir)
    sys.stdout.write(text)
    if args.out:  # the file says which command wrote it
        command = f"python scripts/validation_ablation.py {args.results_dir} --out {args.out}"
        args.out.write_text(f"<!-- generated by `{command}`; do not edit -->\n{text}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
