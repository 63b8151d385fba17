"""Paper figures (seaborn), saved as PNG and PDF, byte-reproducible, text >= 7 pt in print.

* learning curves: mean over seeds (with bootstrap 95% CI bands up to
  BAND_LIMIT strategies), one panel per dataset × method;
* difference to the reference strategy: per-seed paired Δ accuracy with its
  CI, one panel per strategy (the paired view of Ash et al. 2020, Fig. 3);
* transfer data efficiency (Howard & Ruder 2018, Fig. 3);
* heatmap of the pairwise penalty matrix (Ash et al. 2020) with a colour bar;
* critical-difference diagram of average ranks (Demšar 2006, Fig. 1 style).

Every figure of a report draws strategies with one :func:`altbench.styles.style_map`
(colour + dash + marker; ``random`` black dashed).  The x axis is
logarithmic when the budget spans more than LOG_X_SPAN×.  Files carry the
command that made them in their metadata and a footer line.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from altbench.styles import FONT_PT, REFERENCE, TEXT_WIDTH_IN, rc_params, style_map

LOG_X_SPAN = 10.0  # largest / smallest labelled-set size above which the x axis is logarithmic
BAND_LIMIT = 8  # more strategies than this: learning curves without CI bands (the Δ figure has them)
PANEL_IN = (2.3, 1.9)  # width, height of one curve panel, inches
DELTA_PANEL_IN = (1.6, 1.3)  # one panel of the difference-to-reference figure, inches
LEGEND_IN = 1.45  # room for a legend to the right of the panels, inches
TITLE_CHARS, LEGEND_CHARS = 34, 20  # line length of panel titles and legend entries at FONT_PT


def wrap_label(text: str, width: int) -> str:
    """``text`` on lines of at most ``width`` characters, broken after commas and opening brackets
    (plugin labels such as ``linear-probe(backbone="tfidf",logreg={...})``), so a ``key: value``
    pair stays on one line; a single longer piece keeps its own line.  Short labels come back unchanged."""
    lines, line = [], ""
    for piece in re.split(r"(?<=[,({])", text):
        if line and len(line) + len(piece) > width:
            lines.append(line.rstrip())
            line = piece.lstrip()
        else:
            line += piece
    return "\n".join([*lines, line])


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import seaborn as sns

    sns.set_theme(context="paper", style="whitegrid", palette="colorblind")
    plt.rcParams.update(rc_params())
    return plt, sns


def strategy_colours(names) -> dict[str, tuple]:
    """Strategy → colour of :func:`altbench.styles.style_map` (kept for callers wanting colours only)."""
    return {n: s.colour for n, s in style_map(names).items()}


def _below_legends(fig) -> float:
    """Figure-fraction y under the panels and under any figure legend (a long legend can run below the
    panels; the provenance footer then goes under it instead of across it)."""
    fig.canvas.draw()
    lows = [lg.get_window_extent().y0 / fig.bbox.height for lg in fig.legends]
    return min([0.0, *lows]) - 0.005


def save(fig, stem: Path, command: str) -> list[Path]:
    """Write ``stem``.png and ``stem``.pdf without timestamps; returns both paths."""
    plt, _ = _plt()
    fig.text(0.99, _below_legends(fig), f"altbench: {command}", ha="right", va="top", fontsize=FONT_PT["footer"],
             color="0.45")
    png, pdf = stem.with_suffix(".png"), stem.with_suffix(".pdf")
    fig.savefig(png, dpi=150, bbox_inches="tight", metadata={"Software": None, "Description": command})
    fig.savefig(pdf, bbox_inches="tight", metadata={"CreationDate": None, "Subject": command})
    plt.close(fig)
    return [png, pdf]


def use_log_x(n_labelled) -> bool:
    """True when the labelled-set sizes span more than LOG_X_SPAN× (all positive)."""
    n = np.asarray(n_labelled, dtype=np.float64)
    return bool(len(n) and n.min() > 0 and n.max() / n.min() > LOG_X_SPAN)


def _grid(plt, n_panels: int, legend: bool, ncols: int = 2, panel=PANEL_IN, **share):
    """Figure with n_panels axes in ≤ ncols columns (unused ones hidden) and room for a right legend."""
    cols = min(n_panels, ncols)
    rows = -(-n_panels // cols)
    fig, axes = plt.subplots(rows, cols, squeeze=False, figsize=(panel[0] * cols + (LEGEND_IN if legend else 0),
                                                                panel[1] * rows + 0.3), **share)
    flat = [ax for row in axes for ax in row]
    for ax in flat[n_panels:]:
        ax.set_visible(False)
    return fig, flat[:n_panels], rows, cols


def log_ticks(lo: float, hi: float) -> list[int]:
    """1-2-5 ticks within [lo, hi], with lo itself when fewer than 3 fall inside."""
    ticks = [m * 10 ** e for e in range(0, 8) for m in (1, 2, 5) if lo <= m * 10 ** e <= hi]
    return sorted({int(lo), *ticks}) if len(ticks) < 3 else ticks


def _x_axis(ax, n_labelled, log: bool, bottom: bool, label: str = "labelled examples") -> None:
    if log:
        from matplotlib.ticker import NullFormatter

        ax.set_xscale("log")
        ax.set_xticks(log_ticks(float(np.min(n_labelled)), float(np.max(n_labelled))))
        ax.xaxis.set_major_formatter("{x:.0f}")
        ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel((f"{label} (log scale)" if log else label) if bottom else "")


def _legend(fig, plt, styles: dict, names) -> None:
    """One legend to the right of every panel, reference strategy first."""
    order = sorted(names, key=lambda s: (s != REFERENCE, s))
    handles = [plt.Line2D([], [], lw=1.5, ms=4, **styles[s].kwargs()) for s in order]
    fig.legend(handles, [wrap_label(s, LEGEND_CHARS) for s in order], loc="upper left",
               bbox_to_anchor=(_panels_right(fig), 0.98), frameon=False,
               ncol=1 if len(order) <= 22 else 2, handlelength=2.6)


def _panels_right(fig) -> float:
    """Right edge of the panels (figure fraction): the last LEGEND_IN inches hold the legend."""
    return 1.0 - LEGEND_IN / fig.get_figwidth()


def _markevery(n_points: int) -> int:
    return max(1, n_points // 8)


def learning_curves(bands, stem: Path, command: str, ylabel: str = "test accuracy", styles=None,
                    x: str = "n_labelled", xlabel: str = "labelled examples") -> list[Path]:
    """Mean curve per strategy (+ CI band up to BAND_LIMIT strategies) against column ``x`` (labels, or
    cumulative cost: ``cost_report.cost_bands``); bands: ``stats.curve_bands``."""
    plt, _ = _plt()
    names = sorted(bands.strategy.unique())
    styles = styles or style_map(names)
    panels = sorted(bands.groupby(["method", "dataset"]).groups)
    fig, axes, rows, cols = _grid(plt, len(panels), legend=True)
    log, draw_bands = use_log_x(bands[x]), len(names) <= BAND_LIMIT
    for i, ((m, d), ax) in enumerate(zip(panels, axes)):
        for s, g in bands[(bands.dataset == d) & (bands.method == m)].groupby("strategy", sort=True):
            ax.plot(g[x], g["mean"], markevery=_markevery(len(g)), label=s, zorder=3 if s == REFERENCE
                    else 2, **styles[s].kwargs())
            if draw_bands:
                ax.fill_between(g[x], g.ci_low, g.ci_high, color=styles[s].colour, alpha=0.15, lw=0)
        ax.set_title(wrap_label(f"{d} · {m}", TITLE_CHARS))
        _x_axis(ax, bands[x], log, bottom=i >= len(panels) - cols, label=xlabel)
        ax.set_ylabel(ylabel if i % cols == 0 else "")
    fig.tight_layout(rect=(0, 0, _panels_right(fig), 1))
    _legend(fig, plt, styles, names)
    return save(fig, stem, command)


def delta_curves(deltas, stem: Path, command: str, reference: str = REFERENCE, styles=None,
                 ylabel: str = "Δ accuracy (pp)") -> list[Path]:
    """One panel per strategy: mean paired Δ to the reference (pp) with its CI, a line per setting.

    deltas: ``stats.delta_bands`` output.  The dashed black zero line is the
    reference strategy; a band clear of it is a difference at that budget.
    """
    plt, sns = _plt()
    names = sorted(deltas.strategy.unique())
    styles = styles or style_map([*names, reference])
    settings = sorted(deltas.groupby(["dataset", "method"]).groups)
    tones = dict(zip(settings, sns.color_palette("dark", max(len(settings), 3))))
    fig, axes, rows, cols = _grid(plt, len(names), legend=False, ncols=4, panel=DELTA_PANEL_IN, sharex=True,
                                  sharey=True)
    log = use_log_x(deltas.n_labelled)
    lo, hi = 100 * np.nanmin(deltas.ci_low), 100 * np.nanmax(deltas.ci_high)
    for i, (s, ax) in enumerate(zip(names, axes)):
        ax.axhline(0, **{**styles.get(reference, styles[s]).kwargs(), "marker": None}, lw=1.0)
        for key, g in deltas[deltas.strategy == s].groupby(["dataset", "method"], sort=True):
            colour = tones[key] if len(settings) > 1 else styles[s].colour
            ax.plot(g.n_labelled, 100 * g["mean"], color=colour, marker=styles[s].marker,
                    markevery=_markevery(len(g)))
            ax.fill_between(g.n_labelled, 100 * g.ci_low, 100 * g.ci_high, color=colour, alpha=0.2, lw=0)
        ax.set_ylim(lo - 0.05 * (hi - lo), hi + 0.05 * (hi - lo))
        ax.set_title(s)
        _x_axis(ax, deltas.n_labelled, log, bottom=False)
        ax.set_ylabel(ylabel if i % cols == 0 else "")
    fig.supxlabel("labelled examples (log scale)" if log else "labelled examples", fontsize=FONT_PT["base"])
    height = fig.get_figheight()
    legend_rows = -(-len(settings) // 3) if len(settings) > 1 else 0
    fig.suptitle(f"Difference to {reference} (paired by seed, 95% bootstrap CI); dashed line: {reference}",
                 y=1.0, va="top", fontsize=FONT_PT["title"])
    if legend_rows:
        handles = [plt.Line2D([], [], color=tones[k], lw=1.5) for k in settings]
        fig.legend(handles, [f"{d} · {m}" for d, m in settings], loc="upper center",
                   bbox_to_anchor=(0.5, 1 - 0.2 / height), frameon=False, ncol=min(len(settings), 3))
    fig.tight_layout(rect=(0, 0, 1, 1 - (0.25 + 0.2 * legend_rows) / height))
    return save(fig, stem, command)


def transfer_curves(bands, stem: Path, command: str) -> list[Path]:
    """Test error vs labels, one panel per dataset, colour = method, line style = strategy.

    The form of ULMFiT's data-efficiency figure (Howard & Ruder 2018, Fig. 3):
    how much a transfer method buys at each budget, under each strategy.
    """
    plt, sns = _plt()
    datasets, methods = sorted(bands.dataset.unique()), sorted(bands.method.unique())
    strategies = sorted(bands.strategy.unique())
    colours = dict(zip(methods, sns.color_palette("colorblind", max(len(methods), 3))))
    dashes = dict(zip(strategies, ["-", "--", ":", "-."] * (len(strategies) // 4 + 1)))
    fig, axes, rows, cols = _grid(plt, len(datasets), legend=True)
    log = use_log_x(bands.n_labelled)
    for i, (d, ax) in enumerate(zip(datasets, axes)):
        for (m, s), g in bands[bands.dataset == d].groupby(["method", "strategy"], sort=True):
            ax.plot(g.n_labelled, 1 - g["mean"], color=colours[m], ls=dashes[s])
            ax.fill_between(g.n_labelled, 1 - g.ci_high, 1 - g.ci_low, color=colours[m], alpha=0.15, lw=0)
        ax.set_title(d)
        _x_axis(ax, bands.n_labelled, log, bottom=i >= len(datasets) - cols)
        ax.set_ylabel("test error" if i % cols == 0 else "")
    handles = [plt.Line2D([], [], color=colours[m], lw=2, label=wrap_label(m, LEGEND_CHARS)) for m in methods]
    handles += [plt.Line2D([], [], color="0.3", ls=dashes[s], lw=1.4, label=wrap_label(s, LEGEND_CHARS))
                for s in strategies]
    fig.tight_layout(rect=(0, 0, _panels_right(fig), 1))
    fig.legend(handles=handles, loc="upper left", bbox_to_anchor=(_panels_right(fig), 0.98), frameon=False)
    return save(fig, stem, command)


def penalty_heatmap(P, stem: Path, command: str) -> list[Path]:
    """Heatmap of a penalty matrix (rows beat columns) with a colour bar; cells annotated up to 12×12."""
    plt, sns = _plt()
    k = len(P)
    cell = 0.42 if k <= 12 else 0.26
    fig, ax = plt.subplots(figsize=(1.9 + cell * k, 1.6 + cell * k))
    sns.heatmap(P, annot=k <= 12, fmt=".2f", cmap="cividis", square=True, ax=ax, linewidths=0.5,
                linecolor="white", annot_kws={"fontsize": FONT_PT["annot"]},
                cbar_kws={"label": "share of settings where row beats column", "shrink": 0.8, "pad": 0.02})
    ax.set_xticks(np.arange(k) + 0.5, [f"{c} ({m:.2f})" for c, m in zip(P.columns, P.mean(axis=0))], rotation=90)
    ax.set_yticks(np.arange(k) + 0.5, list(P.index), rotation=0)
    ax.tick_params(length=0)
    ax.set_xlabel("loser (column mean: how often it is beaten)")
    ax.set_ylabel("winner")
    fig.tight_layout()
    return save(fig, stem, command)


def cd_diagram(result, stem: Path, command: str, styles=None) -> list[Path]:
    """Critical-difference diagram: average ranks on an axis, bars join groups within CD."""
    plt, _ = _plt()
    names = sorted(result.ranks, key=lambda s: (result.ranks[s], s))
    ranks = np.array([result.ranks[s] for s in names])
    k = len(names)
    styles = styles or style_map(names)
    fig, ax = plt.subplots(figsize=(min(TEXT_WIDTH_IN, 3.0 + 0.3 * k), 1.3 + 0.2 * k))
    ax.set_xlim(k + 0.3, 0.7)  # rank 1 (best) on the right
    ax.set_ylim(-((k + 1) // 2 + 0.4), 1.7)
    ax.axis("off")
    ax.hlines(0, 1, k, color="k", lw=1)
    for t in range(1, k + 1):
        ax.vlines(t, 0, 0.15, color="k", lw=1)
        ax.text(t, 0.3, str(t), ha="center", va="bottom")
    half = (k + 1) // 2
    for i, (s, r) in enumerate(zip(names, ranks)):
        right = i < half  # best half labelled on the right
        y = -(i if right else k - 1 - i) - 0.8
        x_end = 0.75 if right else k + 0.25
        ax.plot([r, r, x_end], [0, y, y], color=styles[s].colour, ls=styles[s].linestyle, lw=1.2)
        ax.text(x_end, y, f" {s} ({r:.2f}) " if right else f" ({r:.2f}) {s} ",
                ha="left" if right else "right", va="center")
    cd = min(result.cd, k - 1)
    ax.plot([1, 1 + cd], [1.2, 1.2], color="k", lw=2)
    ax.text(1 + cd / 2, 1.3, f"CD = {result.cd:.2f}", ha="center", va="bottom")
    for j, (lo, hi) in enumerate(_cliques(ranks, result.cd)):
        y = -0.35 - 0.25 * j
        ax.plot([ranks[lo] - 0.03, ranks[hi] + 0.03], [y, y], color="k", lw=3, solid_capstyle="round")
    ax.set_title(f"Average rank over {result.n_blocks} settings (Friedman p = {_p(result.pvalue)}, "
                 f"Nemenyi α = {result.alpha})")
    return save(fig, stem, command)


def _p(p: float) -> str:
    return "n/a" if not np.isfinite(p) else ("<0.001" if p < 0.001 else f"{p:.3g}")


def _cliques(ranks: np.ndarray, cd: float) -> list[tuple[int, int]]:
    """Maximal runs [lo, hi] of sorted ranks whose spread is below the CD (length ≥ 2)."""
    out = []
    for lo in range(len(ranks)):
        hi = max(j for j in range(lo, len(ranks)) if ranks[j] - ranks[lo] < cd)
        if hi > lo and not any(a <= lo and hi <= b for a, b in out):
            out.append((lo, hi))
    return out
