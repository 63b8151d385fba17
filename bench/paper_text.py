"""The paper's prose, generated from one report: what ran, with which statistics, what is significant.

``paper/main.tex`` inputs these pieces from ``RESULTS/report/paper/``.  Every
sentence about results points at the generated table or figure that backs
it (``tab:summary``, ``tab:win_tie_loss``, ``tab:ranks``, ``fig:*``); figures
and tables that the report did not write are neither included nor cited.
Citations come from :mod:`altbench.bibliography` (``report/references.bib``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from altbench.bibliography import STATISTICS_CITATIONS, Bibliography, dataset_citations, plugin_citations
from altbench.latex import tex_text


def _cite(keys) -> str:
    return f"~\\cite{{{','.join(keys)}}}" if keys else ""


def _names(names, bib: Bibliography, cite_fn) -> str:
    """``a~\\cite{x}, b and c~\\cite{y}`` for plugin names with their citations."""
    items = [f"\\texttt{{{tex_text(n)}}}{_cite(bib.cite(cite_fn(n)))}" for n in names]
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _plural(n: int, word: str, many: str | None = None) -> str:
    return f"{n} {word if n == 1 else (many or word + 's')}"


def _setup(df, summ, bib: Bibliography) -> str:
    datasets, methods = sorted(df.dataset.unique()), sorted(df.method.unique())
    strategies = sorted(df.strategy.unique())
    seeds = sorted(int(s) for s in summ.seed.unique())
    per_cell = summ.groupby(["dataset", "method", "strategy"]).seed.nunique()
    cells = (f"{int(per_cell.min())}" if per_cell.min() == per_cell.max()
             else f"{int(per_cell.min())} to {int(per_cell.max())}")
    seed_list = f"{seeds[0]}--{seeds[-1]}" if seeds == list(range(seeds[0], seeds[-1] + 1)) else ", ".join(map(str, seeds))
    return (f"\\paragraph{{Setup.}} The results directory holds {_plural(len(summ), 'run')}: "
            f"{_plural(len(datasets), 'dataset')} ({_names(datasets, bib, dataset_citations)}), "
            f"{_plural(len(methods), 'transfer method')} "
            f"({_names(methods, bib, lambda n: plugin_citations('method', n))}) and "
            f"{_plural(len(strategies), 'query strategy', 'query strategies')} "
            f"({_names(strategies, bib, lambda n: plugin_citations('strategy', n))}), with {cells} seeds per cell "
            f"(seeds {seed_list}) and {int(df.n_labelled.min())} to {int(summ.final_labels.max())} labelled "
            "examples (Table~\\ref{tab:summary}, columns Seeds and Labels).")


def _best_per_setting(summ) -> str:
    means = summ.groupby(["dataset", "method", "strategy"]).aubc.mean()
    parts = []
    for (d, m), g in means.groupby(level=[0, 1], sort=True):
        top = g.droplevel([0, 1])
        best = sorted(s for s, v in top.items() if np.isclose(v, top.max(), rtol=0, atol=1e-12))
        parts.append(f"{tex_text(d)} / {tex_text(m)}: {', '.join(map(tex_text, best))} ({100 * top.max():.1f}\\%)")
    return ("The highest mean AUBC per dataset $\\times$ method setting: " + "; ".join(parts)
            + " (Table~\\ref{tab:summary}, bold).")


def _significance(comp, baseline: str, label: str, decision: str) -> str:
    if not len(comp):
        return f"No setting ran \\texttt{{{tex_text(baseline)}}}, so no strategy is compared with it."
    n = comp.groupby(["dataset", "method"]).ngroups
    counts = comp.groupby("a").outcome.value_counts().unstack(fill_value=0)
    phrase = []
    for outcome, word in (("win", "better"), ("loss", "worse")):
        hits = sorted(counts[counts[outcome] > 0][outcome].items()) if outcome in counts else []
        if hits:
            phrase.append(f"significantly {word}: " + ", ".join(f"\\texttt{{{tex_text(s)}}} in {c}" for s, c in hits))
    if not phrase:
        return (f"No strategy differs significantly from \\texttt{{{tex_text(baseline)}}} on {tex_text(label)} in "
                f"any of the {_plural(n, 'setting')} ({tex_text(decision)}; Table~\\ref{{tab:win_tie_loss}}).")
    return (f"Against \\texttt{{{tex_text(baseline)}}} on {tex_text(label)} ({tex_text(decision)}), of the "
            f"{_plural(n, 'setting')}: " + "; ".join(phrase) + " (Table~\\ref{tab:win_tie_loss}).")


def _ranks(friedman, skipped: dict) -> str:
    if friedman is None:
        return "No setting ran every strategy, so no ranks are computed."
    order = sorted(friedman.ranks, key=lambda s: (friedman.ranks[s], s))
    p = "n/a" if not np.isfinite(friedman.pvalue) else ("$<$0.001" if friedman.pvalue < 0.001
                                                          else f"{friedman.pvalue:.3g}")
    text = (f"Over {_plural(friedman.n_blocks, 'setting')}, the best average rank is "
            f"\\texttt{{{tex_text(order[0])}}} ({friedman.ranks[order[0]]:.2f}) and the worst "
            f"\\texttt{{{tex_text(order[-1])}}} ({friedman.ranks[order[-1]]:.2f}); Friedman $p$ = {p} "
            "(Table~\\ref{tab:ranks}).")
    if "cd" in skipped:
        return text + f" No critical-difference diagram is drawn: {tex_text(skipped['cd'])}."
    return text + " Figure~\\ref{fig:cd} joins strategies whose ranks differ by less than the Nemenyi CD."


FIGURES = (  # stem, caption: what each figure shows (only figures the report wrote are included)
    ("curves", "Learning curves: mean test accuracy over seeds{bands}; one panel per dataset $\\times$ method."),
    ("delta", "Difference in test accuracy to \\texttt{{{baseline}}} (percentage points), paired by seed, with "
              "bootstrap 95\\% bands; the dashed line is \\texttt{{{baseline}}}."),
    ("transfer", "Test error against labels for each transfer method (colour) and strategy (line style)."),
    ("penalty", "Pairwise penalty matrix: how often the row strategy beats the column strategy (paired $t$-test "
                "at each labelled-set size, $\\alpha$ = {alpha}); column means under the names."),
    ("cd", "Critical-difference diagram of average ranks; bars join strategies within the Nemenyi CD."),
)


def _figures(results_dir: Path, n_strategies: int, options) -> list[str]:
    from altbench.figures import BAND_LIMIT

    bands = (" with bootstrap 95\\% bands" if n_strategies <= BAND_LIMIT
             else f" (bands omitted above {BAND_LIMIT} strategies; see the difference figure)")
    out = []
    for stem, caption in FIGURES:
        if (results_dir / "report" / "figures" / f"{stem}.pdf").exists():
            text = caption.format(bands=bands, baseline=tex_text(options.baseline), alpha=options.alpha)
            out += ["\\begin{figure}[tbp]\\centering", f"\\fitfigure{{\\generated{{figures/{stem}.pdf}}}}",
                    f"\\caption{{{text}}}\\label{{fig:{stem}}}", "\\end{figure}", ""]
    return out


def _tables(names) -> list[str]:
    return [f"\\input{{\\generated{{tables/{n}.tex}}}}" for n in names]


def paper_pieces(results_dir: Path, df, summ, done, options, header: str) -> dict[str, str]:
    """``{relative path under report/: text}`` for the paper's generated pieces and its .bib."""
    from altbench.report import METRICS
    from altbench.tables import decision_phrase

    bib = Bibliography()
    label, decision = METRICS[options.metric], decision_phrase(options.test, options.alpha)
    names = [t.name for t in done.tables]
    setup = _setup(df, summ, bib)
    sig = _significance(done.vs_baseline, options.baseline, label, decision)
    stat_cites = {k: _cite(bib.cite([v])) for k, v in STATISTICS_CITATIONS.items()}
    k = df.strategy.nunique()
    figure_refs = [f"\\ref{{fig:{s}}}" for s, _ in FIGURES
                   if (results_dir / "report" / "figures" / f"{s}.pdf").exists()]
    experiments = ["\\section{Experiments}", "\\label{sec:experiments}", setup, "",
                   "\\paragraph{Results.} " + _best_per_setting(summ) + " " + sig + " "
                   + (_ranks(done.friedman, done.skipped) if "ranks" in names else ""),
                   ("Figure" + ("s~" if len(figure_refs) > 1 else "~") + ", ".join(figure_refs) + " show"
                    + ("" if len(figure_refs) > 1 else "s") + " the curves and comparisons.") if figure_refs else "",
                   "", *_tables(n for n in ("summary", "win_tie_loss", "ranks") if n in names), "",
                   *_figures(results_dir, k, options)]
    statistics = (f"\\paragraph{{Statistics.}} Per run, AUBC is the normalised area under the accuracy curve"
                  f"{stat_cites['aubc']}; labels-to-target follows Gal et al.{stat_cites['labels_to_target']}. "
                  f"Strategies are compared on {tex_text(label)} with the {tex_text(decision)}"
                  f"{stat_cites['holm']} (both the $t$-test and Wilcoxon $p$-values are in "
                  f"Table~\\ref{{tab:pairwise}}); the penalty matrix follows Ash et al.{stat_cites['penalty']}; "
                  f"ranks across settings use the Friedman test with the Nemenyi critical difference"
                  f"{stat_cites['friedman']}.")
    n_sig = int((done.vs_baseline.outcome != "tie").sum()) if len(done.vs_baseline) else 0
    abstract = ("\\begin{abstract}\n" + f"We compare {_plural(k, 'active-learning strategy', 'active-learning strategies')}"
                f" on {_plural(df.dataset.nunique(), 'dataset')} with "
                f"{_plural(df.method.nunique(), 'transfer method')} over {summ.seed.nunique()} seeds "
                f"(Table~\\ref{{tab:summary}}). "
                + (f"Against \\texttt{{{tex_text(options.baseline)}}}, {n_sig} of {len(done.vs_baseline)} "
                   f"strategy--setting comparisons of {tex_text(label)} are significant "
                   f"({tex_text(decision)}; Table~\\ref{{tab:win_tie_loss}}). " if len(done.vs_baseline) else "")
                + "Every number, table, figure and sentence about results here is regenerated from the run files "
                "by \\texttt{make paper}.\n\\end{abstract}\n")
    appendix = ["\\section{All pairwise comparisons}", *_tables(["pairwise"])]
    comment = f"% {header}\n"
    return {"paper/abstract.tex": comment + abstract,
            "paper/statistics.tex": comment + statistics + "\n",
            "paper/experiments.tex": comment + "\n".join(experiments) + "\n",
            "paper/appendix.tex": comment + "\n".join(appendix) + "\n",
            "references.bib": bib.bibtex(header)}
