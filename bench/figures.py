"""Paper figures (seaborn, colour-blind palette), saved as PNG and PDF, byte-reproducible.

* learning curves: mean over seeds with bootstrap 95% CI bands, one panel per
  dataset (rows = methods);
* heatmap of the pairwise penalty matrix (Ash et al. 2020);
* critical-difference diagram of average ranks (Demšar 2006, Fig. 1 style).

Every strategy keeps one colour in every figure (:func:`strategy_colours`).
Files carry the command that made them in their metadata and a footer line.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

# Strategies with a fixed slot in seaborn's 10-colour "colorblind" palette
# (random = grey, the baseline); others take the free slots alphabetically.
CANONICAL = {"entropy": 0, "least_confidence": 1, "margin": 2, "badge": 3, "bald": 4, "variation_ratios": 5,
             "mean_std": 6, "random": 7, "qbc": 8, "coreset": 9}


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import seaborn as sns

    sns.set_theme(context="paper", style="whitegrid", palette="colorblind", font_scale=1.0)
    plt.rcParams.update({"svg.hashsalt": "altbench", "pdf.fonttype": 42})
    return plt, sns


def strategy_colours(names) -> dict[str, tuple]:
    """Fixed strategy → colour map: canonical names keep their slot across all figures."""
    import seaborn as sns

    palette = sns.color_palette("colorblind", 10)
    base = {n: n.split("(")[0] for n in names}
    out, used = {}, set()
    for n in sorted(names):
        if base[n] in CANONICAL and base[n] not in used:
            out[n] = palette[CANONICAL[base[n]]]
            used.add(base[n])
    taken = {CANONICAL[b] for b in used}
    free = [i for i in range(10) if i not in taken] + list(range(10))
    for i, n in enumerate(x for x in sorted(names) if x not in out):
        out[n] = palette[free[i % len(free)]]
    return out


def save(fig, stem: Path, command: str) -> list[Path]:
    """Write ``stem``.png and ``stem``.pdf without timestamps; returns both paths."""
    plt, _ = _plt()
    fig.text(0.99, 0.002, f"altbench: {command}", ha="right", va="bottom", fontsize=5, color="0.5")
    png, pdf = stem.with_suffix(".png"), stem.with_suffix(".pdf")
    fig.savefig(png, dpi=150, bbox_inches="tight", metadata={"Software": None, "Description": command})
    fig.savefig(pdf, bbox_inches="tight", metadata={"CreationDate": None, "Subject": command})
    plt.close(fig)
    return [png, pdf]


def learning_curves(bands, stem: Path, command: str, ylabel: str = "test accuracy") -> list[Path]:
    """Mean curve with CI band per strategy; bands: ``stats.curve_bands`` output."""
    plt, _ = _plt()
    datasets, methods = sorted(bands.dataset.unique()), sorted(bands.method.unique())
    colours = strategy_colours(bands.strategy.unique())
    fig, axes = plt.subplots(len(methods), len(datasets), squeeze=False, sharey=False,
                             figsize=(3.0 * len(datasets) + 0.6, 2.3 * len(methods) + 0.4))
    for (r, m), (c, d) in ((x, y) for x in enumerate(methods) for y in enumerate(datasets)):
        ax = axes[r][c]
        for s, g in bands[(bands.dataset == d) & (bands.method == m)].groupby("strategy", sort=True):
            ax.plot(g.n_labelled, g["mean"], color=colours[s], lw=1.4, label=s)
            ax.fill_between(g.n_labelled, g.ci_low, g.ci_high, color=colours[s], alpha=0.2, lw=0)
        ax.set_title(f"{d} · {m}", fontsize=9)
        ax.set_xlabel("labelled examples" if r == len(methods) - 1 else "")
        ax.set_ylabel(ylabel if c == 0 else "")
    handles = {s: plt.Line2D([], [], color=col, lw=2) for s, col in sorted(colours.items())}
    fig.legend(handles.values(), handles.keys(), loc="upper center", ncol=min(len(handles), 5),
               bbox_to_anchor=(0.5, 1.0 + 0.06 / len(methods)), frameon=False, fontsize=8)
    fig.tight_layout()
    return save(fig, stem, command)


def transfer_curves(bands, stem: Path, command: str) -> list[Path]:
    """Test error vs labels (log x), one panel per dataset, colour = method, line style = strategy.

    The form of ULMFiT's data-efficiency figure (Howard & Ruder 2018, Fig. 3):
    how much a transfer method buys at each budget, under each strategy.
    """
    plt, sns = _plt()
    datasets, methods = sorted(bands.dataset.unique()), sorted(bands.method.unique())
    strategies = sorted(bands.strategy.unique())
    colours = dict(zip(methods, sns.color_palette("colorblind", max(len(methods), 3))))
    styles = dict(zip(strategies, ["-", "--", ":", "-."] * (len(strategies) // 4 + 1)))
    fig, axes = plt.subplots(1, len(datasets), squeeze=False, figsize=(3.4 * len(datasets) + 0.6, 2.8))
    for c, d in enumerate(datasets):
        ax = axes[0][c]
        for (m, s), g in bands[bands.dataset == d].groupby(["method", "strategy"], sort=True):
            ax.plot(g.n_labelled, 1 - g["mean"], color=colours[m], ls=styles[s], lw=1.4)
            ax.fill_between(g.n_labelled, 1 - g.ci_high, 1 - g.ci_low, color=colours[m], alpha=0.15, lw=0)
        ax.set_xscale("log")
        ax.set_title(d, fontsize=9)
        ax.set_xlabel("labelled examples (log scale)")
        ax.set_ylabel("test error" if c == 0 else "")
    handles = [plt.Line2D([], [], color=colours[m], lw=2, label=m) for m in methods]
    handles += [plt.Line2D([], [], color="0.3", ls=styles[s], lw=1.4, label=s) for s in strategies]
    fig.legend(handles=handles, loc="upper center", ncol=min(len(handles), 6), bbox_to_anchor=(0.5, 1.08),
               frameon=False, fontsize=8)
    fig.tight_layout()
    return save(fig, stem, command)


def penalty_heatmap(P, stem: Path, command: str) -> list[Path]:
    """Heatmap of a penalty matrix (rows beat columns) with column means below."""
    plt, sns = _plt()
    k = len(P)
    fig, ax = plt.subplots(figsize=(1.0 + 0.75 * k, 0.8 + 0.7 * k))
    sns.heatmap(P, annot=True, fmt=".2f", cmap="cividis", cbar=False, square=True, ax=ax,
                annot_kws={"fontsize": 7}, linewidths=0.5, linecolor="white")
    ax.set_xticklabels([f"{c}\n{m:.2f}" for c, m in zip(P.columns, P.mean(axis=0))], rotation=30, ha="right",
                       fontsize=7)
    ax.set_yticklabels(P.index, rotation=0, fontsize=7)
    ax.set_xlabel("loser (column mean below name)")
    ax.set_ylabel("winner")
    fig.tight_layout()
    return save(fig, stem, command)


def cd_diagram(result, stem: Path, command: str) -> list[Path]:
    """Critical-difference diagram: average ranks on an axis, bars join groups within CD."""
    plt, _ = _plt()
    names = sorted(result.ranks, key=lambda s: (result.ranks[s], s))
    ranks = np.array([result.ranks[s] for s in names])
    k = len(names)
    colours = strategy_colours(names)
    fig, ax = plt.subplots(figsize=(6.0, 1.2 + 0.28 * k))
    ax.set_xlim(k + 0.3, 0.7)  # rank 1 (best) on the right
    ax.set_ylim(-((k + 1) // 2 + 0.4), 1.7)
    ax.axis("off")
    ax.hlines(0, 1, k, color="k", lw=1)
    for t in range(1, k + 1):
        ax.vlines(t, 0, 0.15, color="k", lw=1)
        ax.text(t, 0.3, str(t), ha="center", va="bottom", fontsize=8)
    half = (k + 1) // 2
    for i, (s, r) in enumerate(zip(names, ranks)):
        right = i < half  # best half labelled on the right
        y = -(i if right else k - 1 - i) - 0.8
        x_end = 0.75 if right else k + 0.25
        ax.plot([r, r, x_end], [0, y, y], color=colours[s], lw=1.2)
        ax.text(x_end, y, f" {s} ({r:.2f}) " if right else f" ({r:.2f}) {s} ", fontsize=8,
                ha="left" if right else "right", va="center")
    if np.isfinite(result.cd):
        ax.plot([1, 1 + result.cd], [1.2, 1.2], color="k", lw=2)
        ax.text(1 + result.cd / 2, 1.3, f"CD = {result.cd:.2f}", ha="center", va="bottom", fontsize=8)
        for j, (lo, hi) in enumerate(_cliques(ranks, result.cd)):
            y = -0.35 - 0.25 * j
            ax.plot([ranks[lo] - 0.03, ranks[hi] + 0.03], [y, y], color="k", lw=3, solid_capstyle="round")
    p = "n/a" if not np.isfinite(result.pvalue) else f"{result.pvalue:.3g}"
    ax.set_title(f"Average rank over {result.n_blocks} settings (Friedman p = {p}, Nemenyi α = {result.alpha})",
                 fontsize=9)
    return save(fig, stem, command)


def _cliques(ranks: np.ndarray, cd: float) -> list[tuple[int, int]]:
    """Maximal runs [lo, hi] of sorted ranks whose spread is below the CD (length ≥ 2)."""
    out = []
    for lo in range(len(ranks)):
        hi = max(j for j in range(lo, len(ranks)) if ranks[j] - ranks[lo] < cd)
        if hi > lo and not any(a <= lo and hi <= b for a, b in out):
            out.append((lo, hi))
    return out
