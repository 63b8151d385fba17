"""``altbench report``: a results directory → every table and figure a paper needs.

Pure function of the run files (plus ``experiment.json`` for provenance);
running it twice gives byte-identical files.  What it writes is listed in
:data:`OUTPUTS` (also the text of ``altbench report --help``); figures that
would mislead are not drawn, and ``report.md`` says why.  Notes, captions and
links are built from the options used (test, α, metric) and the files
actually written.  Every file names the command and the config (experiment
name + SHA-256 of ``experiment.json``) that produced it.  Runs whose resolved
configs differ in anything but the seed are never averaged
(:func:`altbench.pooling.check_poolable`).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from altbench.metric_registry import run_metric_labels
from altbench.metrics import parse_target
from altbench.pooling import check_poolable

DEFAULT_TARGETS = ("95%", "baseline")  # labels-to-target: accuracy "0.9", share of best "95%", or "baseline"
DELTA_MIN_STRATEGIES = 8  # more strategies than this: also draw the difference-to-baseline figure
OUTPUTS = (  # (path, what it is): the layout written, shown by `altbench report --help`
    ("table.md", "summary table (Markdown) for a quick look"),
    ("summary.csv", "one row per run: final accuracy, AUBC, labels-to-target, seconds"),
    ("curves.png", "copy of report/figures/curves.png"),
    ("report.md", "every table, the figures written and notes on those not drawn"),
    ("report/tables/{summary,pairwise,win_tie_loss,ranks,penalty}.{md,tex,csv}",
     "tables: Markdown, LaTeX (booktabs longtable, split when wide) and CSV"),
    ("report/tables/{curves,curves_macro_f1,delta,runs}.csv", "the numbers behind the figures, per run"),
    ("report/figures/{curves,curves_macro_f1}.{png,pdf}", "learning curves (log x when the budget spans >10x)"),
    ("report/figures/delta.{png,pdf}", f"difference to the baseline, paired by seed (> {DELTA_MIN_STRATEGIES} "
                                       "strategies)"),
    ("report/figures/transfer.{png,pdf}", "test error by transfer method (when methods are compared)"),
    ("report/figures/penalty.{png,pdf}", "pairwise penalty matrix with colour bar"),
    ("report/figures/cd.{png,pdf}", "critical-difference diagram (>= 5 settings and >= 3 strategies)"),
    ("report/figures/curves_cost.{png,pdf}", "accuracy vs cumulative annotation cost (runs with a cost column)"),
    ("report/tables/cost.{md,tex,csv}, curves_cost.csv", "final cost and AUBC over cost; the cost curves' numbers"),
    ("report/paper/{abstract,statistics,experiments,appendix}.tex", "the paper's prose, generated from the results"),
    ("report/references.bib", "BibTeX of the datasets, strategies, methods and statistics used"),
)


@dataclass(frozen=True)
class ReportOptions:
    """What the report compares and how."""

    targets: tuple[str, ...] = DEFAULT_TARGETS  # labels-to-target specs
    baseline: str = "random"  # strategy every other is compared with
    metric: str = "aubc"  # per-run metric of the paired tests and ranks (a key of run_metric_labels())
    test: str = "t"  # decision test for marks and win/tie/loss: "t" or "wilcoxon"
    alpha: float = 0.05  # significance level (after Holm correction)
    power_effect: float = 0.01  # true difference (metric units) the pairwise table's power column is for


@dataclass(frozen=True)
class Computed:
    """What one report computed, for the notes, report.md and the paper's prose."""

    tables: list  # [tables.Table]
    friedman: object  # stats.FriedmanResult or None
    vs_baseline: object  # comparisons of options.metric against the baseline
    skipped: dict  # figure stem → one-line reason it was not drawn


def config_label(results_dir: Path) -> str:
    """``<experiment name> (experiment.json sha256:<12 hex>)`` or a note that it is absent."""
    path = Path(results_dir) / "experiment.json"
    if not path.exists():
        return "config: none (no experiment.json in the results dir)"
    blob = path.read_bytes()
    name = json.loads(blob).get("name", "?")
    return f"config: {name} (experiment.json sha256:{hashlib.sha256(blob).hexdigest()[:12]})"


def _write(path: Path, text: str, out: list[Path]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    out.append(path)


def write_report(results_dir: Path, command: str | None = None,
                 options: ReportOptions = ReportOptions()) -> list[Path]:
    """Write all tables (Markdown, LaTeX, CSV), figures (PNG, PDF) and paper pieces; returns the paths written."""
    from altbench import cost_report, paper_text, stats, tables
    from altbench.metrics import require_round_metric, run_summaries
    from altbench.store import RunStore

    results_dir = Path(results_dir)
    command = command or f"altbench report {results_dir}"
    made_by = f"{command}; {config_label(results_dir)}"  # figures' footer and metadata
    header = f"generated by `{command}`; {config_label(results_dir)}; do not edit"
    check_poolable(results_dir)  # seeds of one config only; else name the difference
    df = RunStore(results_dir).read_results()
    if options.metric not in (labels := run_metric_labels()):
        raise ValueError(f"report metric {options.metric!r} unknown; use one of {', '.join(labels)}")
    require_round_metric(df, options.metric)  # results written before that metric existed lack its column
    require_higher_is_better(options.metric)  # the paired tests, marks and ranks assume it
    summ = cost_report.add_cost_summaries(df, run_summaries(df, options.targets, options.baseline))
    done = _tables(df, summ, options)
    if "aubc_cost" in summ:  # runs with budget.cost_model: AUBC over annotation cost
        done.tables.append(cost_report.cost_table(summ))
    out: list[Path] = []
    tdir = results_dir / "report" / "tables"
    for t in done.tables:
        _write(tdir / f"{t.name}.md", tables.to_markdown(t, header), out)
        _write(tdir / f"{t.name}.tex", tables.to_latex(t, header), out)
        _write(tdir / f"{t.name}.csv", tables.to_csv(t.numbers, header), out)
    bands = {"accuracy": stats.curve_bands(df, "accuracy"), "macro_f1": stats.curve_bands(df, "macro_f1")}
    deltas = stats.delta_bands(df, options.baseline, "accuracy")
    _write(tdir / "curves.csv", tables.to_csv(bands["accuracy"], header), out)
    _write(tdir / "curves_macro_f1.csv", tables.to_csv(bands["macro_f1"], header), out)
    _write(tdir / "delta.csv", tables.to_csv(deltas, header), out)
    _write(tdir / "runs.csv", tables.to_csv(summ, header), out)
    from altbench.stopping import write_stopping

    out += write_stopping(tdir, df, header)  # stopping.md/.csv, only when runs recorded the stopping signals
    out += cost_report.write_cost_curves(results_dir / "report", df, header, made_by, options.baseline)
    out += _figures(results_dir / "report" / "figures", bands, deltas, done, options, made_by)
    _write(results_dir / "table.md", f"# {results_dir.name}: {done.tables[0].title}\n\n"
           f"Regenerate with `{command}`. Full report: report.md.\n\n"
           + tables.to_markdown(done.tables[0], header), out)
    _write(results_dir / "summary.csv", tables.to_csv(summ, header), out)
    (results_dir / "curves.png").write_bytes((results_dir / "report/figures/curves.png").read_bytes())
    out.append(results_dir / "curves.png")
    for name, text in paper_text.paper_pieces(results_dir, df, summ, done, options, header).items():
        _write(results_dir / "report" / name, text, out)
    _write(results_dir / "report.md", _report_md(results_dir, done, header, command, out), out)
    return out


def require_higher_is_better(metric: str) -> None:
    """Refuse, in one line, a per-run metric of a registered metric that is better when lower (a loss)."""
    from altbench.metric_registry import ordered

    if any(metric in (m.final_column, m.aubc_column) and not m.higher_is_better for m in ordered()):
        raise ValueError(f"report metric {metric!r} is better when lower, but the paired tests and ranks "
                         "assume higher is better; pick a --metric of a higher-is-better metric")


def _tables(df, summ, options: ReportOptions) -> Computed:
    """Every table of one results table, with the Friedman result and the comparisons behind them."""
    from altbench import stats, tables
    from altbench.metrics import curve_targets
    from altbench.plan import pilot_differences

    vs_base = {m: stats.paired_comparisons(summ, m, options.baseline, options.alpha, options.test)
               for m in ("final_accuracy", "aubc", options.metric)}
    decision = tables.decision_phrase(options.test, options.alpha)
    label = run_metric_labels()[options.metric]
    threads = tuple(sorted({int(t) for t in df["threads"].dropna()})) if "threads" in df else ()
    tabs = [tables.summary_table(summ, curve_targets(df, options.targets, options.baseline), vs_base,
                                 options.targets, options.baseline, options.test, options.alpha, threads),
            tables.pairwise_table(stats.paired_comparisons(summ, options.metric, None, options.alpha, options.test),
                                  label, decision, pilot_differences(summ, options.metric), options.power_effect,
                                  options.alpha)]
    if len(vs_base[options.metric]):
        tabs.append(tables.wtl_table(stats.win_tie_loss(vs_base[options.metric]), options.baseline, label,
                                     decision))
    try:
        friedman = stats.friedman_nemenyi(summ, options.metric, options.alpha)
        tabs.append(tables.ranks_table(friedman, label))
    except ValueError:  # no setting ran every strategy: nothing to rank
        friedman = None
    penalty = stats.penalty_matrix(df, "accuracy", options.alpha)
    tabs.append(tables.penalty_table(penalty, options.alpha))
    skipped = {}
    if (reason := stats.cd_reason(friedman)) is not None:
        skipped["cd"] = reason
    return Computed(tabs, friedman, vs_base[options.metric], skipped)


def _figures(fdir: Path, bands: dict, deltas, done: Computed, options: ReportOptions, made_by: str) -> list[Path]:
    """Every figure that is meaningful for these results; records why the others were not drawn."""
    from altbench import figures
    from altbench.styles import style_map

    fdir.mkdir(parents=True, exist_ok=True)
    acc = bands["accuracy"]
    styles = style_map([*acc.strategy.unique(), options.baseline], options.baseline)
    out = figures.learning_curves(acc, fdir / "curves", made_by, styles=styles)
    out += figures.learning_curves(bands["macro_f1"], fdir / "curves_macro_f1", made_by, ylabel="test macro-F1",
                                   styles=styles)
    k = acc.strategy.nunique()
    if k > DELTA_MIN_STRATEGIES and len(deltas):
        out += figures.delta_curves(deltas, fdir / "delta", made_by, options.baseline, styles)
    else:
        done.skipped["delta"] = (f"{k} strategies (drawn above {DELTA_MIN_STRATEGIES})" if len(deltas) else
                                 f"no run of the baseline {options.baseline!r} to pair with")
    if acc.method.nunique() > 1:  # methods compared: the transfer data-efficiency figure
        out += figures.transfer_curves(acc, fdir / "transfer", made_by)
    else:
        done.skipped["transfer"] = "one transfer method: nothing to compare"
    out += figures.penalty_heatmap(next(t for t in done.tables if t.name == "penalty").numbers.set_index("winner"),
                                   fdir / "penalty", made_by)
    if "cd" not in done.skipped:
        out += figures.cd_diagram(done.friedman, fdir / "cd", made_by, styles)
    return out


FIGURE_CAPTIONS = {  # figure stem → caption in report.md (the paper's captions: altbench.paper_text)
    "curves": "learning curves (accuracy)", "curves_macro_f1": "learning curves (macro-F1)",
    "delta": "difference to the baseline, paired by seed", "transfer": "transfer methods: test error vs labels",
    "penalty": "pairwise penalty matrix", "cd": "critical-difference diagram",
    "curves_cost": "learning curves over cumulative annotation cost"}


def _report_md(results_dir: Path, done: Computed, header: str, command: str, written: list[Path]) -> str:
    from altbench import tables

    parts = [f"<!-- {header} -->", f"# Report: {results_dir.name}", "",
             f"Regenerate with `{command}`. LaTeX and CSV versions are in `report/tables/`, "
             "figures (PNG + PDF) in `report/figures/`, the paper's generated text in `report/paper/` "
             "and its bibliography in `report/references.bib`.", ""]
    for t in done.tables:
        parts += [f"## {t.title}", "", tables.to_markdown(t, header), ""]
    if any(p.name == "stopping.md" for p in written):  # only when runs recorded the stopping signals
        parts += ["## Stopping criteria", "", "Every criterion post hoc, per cell and across settings: "
                  "[report/tables/stopping.md](report/tables/stopping.md).", ""]
    parts += ["## Figures", ""]
    names = {p.relative_to(results_dir).as_posix() for p in written}
    for stem, caption in FIGURE_CAPTIONS.items():
        if f"report/figures/{stem}.png" in names:
            parts += [f"![{caption}](report/figures/{stem}.png)", ""]
    for stem, reason in sorted(done.skipped.items()):
        parts += [f"- Not drawn: {FIGURE_CAPTIONS[stem]} (`{stem}.png`): {reason}."]
    return "\n".join(parts) + "\n"


def __getattr__(name: str):
    if name == "METRICS":  # per-run metric → its label in notes, read from the metric registry
        return run_metric_labels()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def outputs_help() -> str:
    """The ``altbench report --help`` description: every file the report writes."""
    rows = "\n".join(f"  {path:<62} {what}" for path, what in OUTPUTS)
    return f"Writes into RESULTS_DIR (figures that would mislead are skipped, with a note in report.md):\n{rows}"


def add_report_options(parser) -> None:
    """Add the ``altbench report`` options (targets, baseline, metric, test, alpha, power effect) and outputs."""
    import argparse

    from altbench.cli import _positive

    parser.description = outputs_help()
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    d = ReportOptions()
    parser.add_argument("--target", action="append", dest="targets", metavar="T",
                        help="labels-to-target: accuracy (0.9), share of best accuracy (95%%) or 'baseline'; "
                             f"repeatable (default: {' '.join(d.targets).replace('%', '%%')})")
    parser.add_argument("--baseline", default=d.baseline, help=f"strategy to compare against (default {d.baseline})")
    parser.add_argument("--metric", default=d.metric, choices=tuple(run_metric_labels()),
                        help=f"per-run metric for tests and ranks (default {d.metric})")
    parser.add_argument("--test", default=d.test, choices=("t", "wilcoxon"),
                        help=f"paired test deciding marks and win/tie/loss (default {d.test})")
    parser.add_argument("--alpha", type=float, default=d.alpha, help=f"significance level (default {d.alpha})")
    parser.add_argument("--power-effect", type=_positive(float), default=d.power_effect,
                        help="true difference (metric units) the pairwise table's power column is computed for "
                             f"(default {d.power_effect} = 1 pp)")


def options_from_args(args) -> ReportOptions:
    """ReportOptions from parsed ``add_report_options`` arguments (missing ones: defaults)."""
    d = ReportOptions()
    targets = tuple(getattr(args, "targets", None) or d.targets)
    for t in targets:
        parse_target(t)  # fail early with a one-line message
    return ReportOptions(targets, getattr(args, "baseline", d.baseline), getattr(args, "metric", d.metric),
                         getattr(args, "test", d.test), getattr(args, "alpha", d.alpha),
                         getattr(args, "power_effect", d.power_effect))


def report_command(args) -> str:
    """The ``altbench report`` command line that reproduces these options."""
    parts = ["altbench report", str(args.results_dir)]
    d = ReportOptions()
    parts += [f"--target {t}" for t in (getattr(args, "targets", None) or [])]
    parts += [f"--{k.replace('_', '-')} {getattr(args, k)}"
              for k in ("baseline", "metric", "test", "alpha", "power_effect")
              if getattr(args, k, getattr(d, k)) != getattr(d, k)]
    return " ".join(parts)
