"""Paired comparison of transfer methods in one results directory (e.g. results/pool_headline).

    python scripts/method_pairs.py results/pool_headline --baseline finetune [--out FILE.md]
    python scripts/method_pairs.py results/pool_headline results/pool_trained --baseline finetune@pool_headline

``altbench report`` compares *strategies* within a method; this compares
*methods* against a baseline method, runs paired by dataset, strategy and seed
(the same initial set and streams).  Methods are named by their label with the
parameters every method shares dropped (``finetune(adapt=...)`` →
``finetune+adapt=mlm``); ``--baseline`` is one of those short names.  Four
tables answer the pool-transfer questions of issue #14:

1. **Accuracy difference per budget** (method − baseline, mean ± SE over the
   paired runs, all strategies pooled and per strategy) and the paired t-test
   p-value of the AUBC difference.
2. **Labels to equal accuracy.**  For each budget ``n`` of the baseline, the
   labels the method needs to reach the best mean accuracy the baseline has
   reached with at most ``n`` labels (per strategy, on the mean curves over
   seeds; the method's first crossing, linear in log labels between measured
   budgets; "> max" when its curve never gets there, "≤ min" when its first
   point already does).  Saving = 1 − that / n.
3. **Does the winning strategy change?**  Per method, each strategy's mean AUBC
   and its paired difference to ``random`` (± SE), and the strategy order.
4. **Compute**: the sum of fit and query seconds per method.

AUBC is the normalised area over the labels axis (``altbench.metrics.normalised_aubc``).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from altbench.metrics import normalised_aubc
from altbench.store import RunStore

KEYS = ["dataset", "strategy", "seed"]


def label_params(label: str) -> tuple[str, list[str]]:
    """``name(k=v,...)`` → (name, ["k=v", ...]): the inverse of the harness's labels, whose values
    are JSON (``altbench.config._label``), so each value is read with the JSON decoder."""
    name, _, rest = label.partition("(")
    body = rest[:-1] if rest.endswith(")") else rest
    parts, i, decode = [], 0, json.JSONDecoder().raw_decode
    while i < len(body):
        key = body[i:].partition("=")[0]
        _, end = decode(body, i + len(key) + 1)
        parts.append(body[i:end])
        i = end + 1  # past the comma
    return name, parts


def short_names(labels: list[str]) -> dict[str, str]:
    """Method label → short name: the name plus the parameters not shared by every label of that name.

    ``finetune(backbone_params={"max_length": 64})`` and ``finetune(adapt={"name": "mlm", "steps": 300},
    backbone_params={"max_length": 64})`` → ``finetune`` and ``finetune+adapt=mlm``; a method name with
    one label is its name alone, whatever its parameters (e.g. a longer ``train`` recipe).
    """
    parsed = {lab: label_params(lab) for lab in labels}
    by_name: dict[str, list[set]] = {}
    for name, ps in parsed.values():
        by_name.setdefault(name, []).append(set(ps))
    shared = {name: set.intersection(*sets) for name, sets in by_name.items()}
    out = {}
    for lab, (name, ps) in parsed.items():
        extra = [re.sub(r'^(\w+)=\{"name": "([^"]+)".*\}$', r"\1=\2", p) for p in ps if p not in shared[name]]
        out[lab] = "+".join([name, *extra])
    if len(set(out.values())) < len(out):
        raise ValueError(f"method labels do not shorten to distinct names: {sorted(out.values())}")
    return out


def load(results_dir: Path | list[Path]) -> pd.DataFrame:
    """One row per run × round: KEYS, method (short name), n_labelled, accuracy, fit/query seconds.

    Several directories (e.g. one grid under two recipes) are read together, each method's short
    name tagged ``@<directory name>``, keeping the (dataset, strategy, seed) cells all of them have;
    runs pair by those keys across directories."""
    dirs = results_dir if isinstance(results_dir, list) else [results_dir]
    frames = []
    for d in dirs:
        df = RunStore(d).read_results()
        names = short_names(sorted(df["method"].unique()))
        tag = f"@{d.name}" if len(dirs) > 1 else ""
        frames.append(df.assign(method=df["method"].map(lambda m: names[m] + tag)))
    # several directories: only the (dataset, strategy, seed) cells every one of them has, so means compare
    common = set.intersection(*(set(map(tuple, f[KEYS].drop_duplicates().to_numpy())) for f in frames))
    out = pd.concat(frames, ignore_index=True)
    return out[[tuple(k) in common for k in out[KEYS].to_numpy()]].reset_index(drop=True)


def per_run(df: pd.DataFrame) -> pd.DataFrame:
    """One row per run: AUBC, final accuracy and summed seconds."""
    rows = []
    for key, g in df.groupby(["method", *KEYS], sort=True):
        g = g.sort_values("n_labelled")
        rows.append({**dict(zip(["method", *KEYS], key)), "aubc": normalised_aubc(g.n_labelled, g.accuracy),
                     "final": float(g.accuracy.iloc[-1]),
                     "seconds": float(sum(g[c].sum() for c in ("fit_seconds", "query_seconds") if c in g))})
    return pd.DataFrame(rows)


def _mean_se(d: pd.Series) -> str:
    d = d.dropna()
    se = d.std(ddof=1) / np.sqrt(len(d)) if len(d) > 1 else float("nan")
    return f"{100 * d.mean():+.1f} ± {100 * se:.1f}"


def accuracy_differences(df: pd.DataFrame, runs: pd.DataFrame, baseline: str) -> pd.DataFrame:
    """Method − baseline, in accuracy points per budget and in AUBC, paired by KEYS; pooled and per strategy."""
    acc = df.pivot_table(index=[*KEYS, "n_labelled"], columns="method", values="accuracy")
    aubc = runs.pivot_table(index=KEYS, columns="method", values="aubc")
    out = []
    for method in (m for m in acc.columns if m != baseline):
        for strategy in ["all", *sorted(df.strategy.unique())]:
            pick = slice(None) if strategy == "all" else strategy
            a = acc.xs(pick, level="strategy", drop_level=False) if strategy != "all" else acc
            u = aubc.xs(pick, level="strategy", drop_level=False) if strategy != "all" else aubc
            d_aubc = (u[method] - u[baseline]).dropna()
            row = {"method": method, "strategy": strategy, "pairs": len(d_aubc)}
            for n, g in (a[method] - a[baseline]).groupby(level="n_labelled"):
                row[f"Δ acc @{n}"] = _mean_se(g)
            row["Δ AUBC"] = _mean_se(d_aubc)
            row["p (paired t)"] = float(stats.ttest_rel(u[method], u[baseline], nan_policy="omit").pvalue) \
                if len(d_aubc) > 1 else float("nan")
            out.append(row)
    return pd.DataFrame(out)


def labels_needed(n: np.ndarray, acc: np.ndarray, target: float) -> float:
    """Labels at which the curve (n (R,) increasing, acc (R,)) first reaches ``target``, interpolated
    linearly in log labels; ``-inf`` when its first point already does, ``inf`` when it never does."""
    if acc[0] >= target:
        return -np.inf
    for i in range(1, len(n)):
        if acc[i] >= target:
            t = (target - acc[i - 1]) / (acc[i] - acc[i - 1])
            return float(np.exp(np.log(n[i - 1]) + t * (np.log(n[i]) - np.log(n[i - 1]))))
    return np.inf


def label_savings(df: pd.DataFrame, baseline: str) -> pd.DataFrame:
    """Per method ≠ baseline and strategy, per budget n: the labels the method's mean curve needs to reach
    the best mean accuracy the baseline has reached with at most n labels (its running maximum, so one
    noisy round does not set an easy target), and the saving 1 − labels / n."""
    mean = df.groupby(["method", "strategy", "n_labelled"]).accuracy.mean()
    out = []
    for (method, strategy), curve in mean.groupby(level=[0, 1]):
        if method == baseline:
            continue
        base = mean.loc[(baseline, strategy)].cummax()
        n, acc = curve.index.get_level_values("n_labelled").to_numpy(float), curve.to_numpy()
        row = {"method": method, "strategy": strategy}
        for budget, target in base.items():
            need = labels_needed(n, acc, target)
            shown = (f"≤ {int(n[0])}" if need == -np.inf else f"> {int(n[-1])}" if need == np.inf
                     else f"{need:.0f} ({100 * (1 - need / budget):+.0f}%)")
            row[f"@{budget}"] = f"{100 * target:.1f}% → {shown}"
        out.append(row)
    return pd.DataFrame(out)


def strategy_order(runs: pd.DataFrame) -> pd.DataFrame:
    """Per method: each strategy's mean AUBC, its paired AUBC difference to random, and the order."""
    out = []
    for method, g in runs.groupby("method", sort=True):
        wide = g.pivot_table(index=["dataset", "seed"], columns="strategy", values="aubc")
        means = wide.mean().sort_values(ascending=False)
        row = {"method": method, "order (mean AUBC)": " > ".join(means.index)}
        for s in means.index:
            row[s] = f"{100 * means[s]:.1f}" + ("" if s == "random" or "random" not in wide
                                                else f" ({_mean_se(wide[s] - wide['random'])})")
        out.append(row)
    return pd.DataFrame(out)


def report(results_dir: Path | list[Path], baseline: str) -> str:
    """The Markdown tables of the comparison."""
    df = load(results_dir)
    if baseline not in set(df.method):
        raise SystemExit(f"--baseline {baseline!r} is not a method here; choose one of {sorted(set(df.method))}")
    runs = per_run(df)
    seconds = runs.groupby("method").seconds.agg(["sum", "mean", "count"])
    seconds.columns = ["fit+query s (sum)", "per run (mean)", "runs"]
    seeds = runs.groupby(["method", "strategy"]).seed.nunique()
    parts = [f"Runs paired by dataset, strategy and seed; {seeds.min()}–{seeds.max()} seeds per method × strategy; "
             "differences in accuracy points, mean ± SE over the pairs.",
             f"## Method − {baseline}, accuracy points per budget and AUBC",
             accuracy_differences(df, runs, baseline).to_markdown(index=False, floatfmt=".3g"),
             f"## Labels to reach {baseline}'s accuracy by each budget (cell: {baseline}'s best mean accuracy with "
             "at most that many labels → labels the method needs (saving))",
             label_savings(df, baseline).to_markdown(index=False),
             "## Strategies per method: mean AUBC (%) and paired difference to random (points ± SE)",
             strategy_order(runs).to_markdown(index=False),
             "## Compute (wall seconds of fits and queries, as recorded)",
             seconds.to_markdown(floatfmt=".0f")]
    return "\n\n".join(parts) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("results_dir", type=Path, nargs="+", help="one or more (methods tagged @DIR) results dirs")
    ap.add_argument("--baseline", required=True, help="short method name to compare against, e.g. finetune")
    ap.add_argument("--out", type=Path, help="also write the tables to this Markdown file")
    args = ap.parse_args(argv)
    text = report(args.results_dir, args.baseline)
    sys.stdout.write(text)
    if args.out:  # the file says which command wrote it
        dirs = " ".join(str(d) for d in args.results_dir)
        command = f"python scripts/method_pairs.py {dirs} --baseline {args.baseline} --out {args.out}"
        args.out.write_text(f"<!-- generated by `{command}`; do not edit -->\n{text}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
