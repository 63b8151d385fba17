"""Zhan et al. (2021) / Lu et al. (2023) protocol: their AUBC, paired gains, published numbers.

Zhan, Liu, Li & Chan (2021), "A Comparative Survey: Benchmarking for
Pool-based Active Learning", IJCAI; Lu, Cheng, Li & Lin (2023), "An Expanded
Benchmark that Rediscovers and Affirms the Edge of Uncertainty Sampling for
Active Learning in Tabular Datasets" (arXiv 2306.08954), whose code
(github.com/ariapoy/active-learning-benchmark) re-runs Zhan's protocol.

Their AUBC (Lu et al.'s ``AUBC`` in ``src/utils.py``, query size 1) leaves
out the accuracy of the initial labelled set: with U labels bought and
post-query accuracies a_1 … a_U, AUBC = Σ_{i<U} (a_i + a_{i+1}) / 2 / U —
trapezoids between the U post-query points, divided by U.  altbench's own
normalised AUBC (:func:`altbench.metrics.normalised_aubc`) includes the initial
point and divides by the label range; both are reported.
"""

from __future__ import annotations

import numpy as np

BASELINE = "random"


def zhan_aubc(n_labelled: np.ndarray, score: np.ndarray) -> float:
    """AUBC as Zhan et al. / Lu et al. compute it, from a learning curve.

    n_labelled, score: (R,) with n_labelled increasing, the first point the
    initial labelled set.  The initial point is excluded; the trapezoidal area
    under the R − 1 post-query points (against labels) is divided by the labels
    bought, U = n_labelled[-1] − n_labelled[0].  For query size 1 this is Lu
    et al.'s Σ (a_i + a_{i+1}) / 2 / U (they also round each run to 5 decimals;
    we do not).  Fewer than two post-query points: that point's score (NaN if none).
    """
    x = np.asarray(n_labelled, dtype=np.float64)
    y = np.asarray(score, dtype=np.float64)
    if len(x) < 2:
        return float("nan")
    if len(x) == 2:
        return float(y[1])
    return float(np.trapezoid(y[1:], x[1:]) / (x[-1] - x[0]))


def base_name(label):
    """Strategy labels without their parameters: ``coreset(dtype="float64",…)`` → ``coreset``."""
    return label.str.replace(r"\(.*\)$", "", regex=True)


def run_aubcs(df):
    """One row per run: dataset, strategy (base name), seed, aubc_zhan, aubc (altbench's)."""
    import pandas as pd

    from altbench.metrics import normalised_aubc

    rows = []
    for run_id, g in df.sort_values(["run_id", "n_labelled"]).groupby("run_id", sort=True):
        n, acc = g.n_labelled.to_numpy(), g.accuracy.to_numpy()
        rows.append({"dataset": g.dataset.iloc[0], "strategy": g.strategy.iloc[0], "seed": int(g.seed.iloc[0]),
                     "aubc_zhan": zhan_aubc(n, acc), "aubc": normalised_aubc(n, acc)})
    out = pd.DataFrame(rows, columns=["dataset", "strategy", "seed", "aubc_zhan", "aubc"])
    return out.assign(strategy=base_name(out.strategy))


def paired_gains(runs, baseline: str = BASELINE, value: str = "aubc_zhan"):
    """Per dataset × strategy: mean over seeds of (strategy − baseline) ``value`` on the
    same seed, its standard error (SD / √n, ddof 1) and n (seeds run by both)."""
    import pandas as pd

    wide = runs.pivot_table(index=["dataset", "seed"], columns="strategy", values=value)
    rows = []
    for dataset, g in wide.groupby(level="dataset", sort=True):
        for s in g.columns:
            if s == baseline or baseline not in g.columns:
                continue
            d = (g[s] - g[baseline]).dropna().to_numpy()
            se = d.std(ddof=1) / np.sqrt(len(d)) if len(d) > 1 else float("nan")
            rows.append({"dataset": dataset, "strategy": s, "gain": d.mean() if len(d) else float("nan"),
                         "gain_se": se, "pairs": len(d)})
    return pd.DataFrame(rows, columns=["dataset", "strategy", "gain", "gain_se", "pairs"])


def zhan_table(df):
    """Per dataset × strategy: ours = mean Zhan/Lu AUBC, aubc_altbench = mean altbench AUBC,
    gain ± gain_se = paired gain over random (Zhan/Lu AUBC), seeds = runs averaged."""
    runs = run_aubcs(df)
    g = runs.groupby(["dataset", "strategy"], sort=True)
    out = g.agg(ours=("aubc_zhan", "mean"), aubc_altbench=("aubc", "mean"), seeds=("seed", "size")).reset_index()
    gains = paired_gains(runs)[["dataset", "strategy", "gain", "gain_se"]]
    return out.merge(gains, on=["dataset", "strategy"], how="left")


# ------------------------------------------------------------ published numbers
# Zhan et al. (2021), Table 3 (26 binary datasets, RBF-SVM): the RS column, and the BEST column
# where the best of their 17 methods is k-center (our coreset).  The paper gives no per-strategy
# column for US or KCenter and no multi-class rows.  Transcribed from Lu et al.'s machine-readable
# copy (results/table3-xz2021.csv @3539036).
ZHAN2021_TABLE3_RS = {
    "appendicitis": 0.836, "sonar": 0.617, "parkinsons": 0.840, "ex8b": 0.866, "heart": 0.808,
    "haberman": 0.727, "ionosphere": 0.901, "clean1": 0.649, "breast": 0.954, "wdbc": 0.952,
    "australian": 0.846, "diabetes": 0.736, "mammographic": 0.819, "ex8a": 0.838, "tictactoe": 0.870,
    "german": 0.726, "splice": 0.806, "gcloudb": 0.893, "gcloudub": 0.942, "checkerboard": 0.978,
    "spambase": 0.685, "banana": 0.895, "phoneme": 0.822, "ringnorm": 0.976, "twonorm": 0.976,
    "phishing": 0.926}
ZHAN2021_TABLE3_BEST = {  # (dataset, our strategy): BEST value where Zhan's best method is k-center
    ("australian", "coreset"): 0.853, ("diabetes", "coreset"): 0.751, ("checkerboard", "coreset"): 0.986,
    ("twonorm", "coreset"): 0.976}
# Lu et al. (2023): their re-run of Zhan's protocol (SVC rbf, gamma auto, C 1, 100 trials), from
# results/README.md of their repository (@ec5321f / @198ce75).  Mean AUBC (summary table) of
# Uniform, US-C, QBC, Core-Set; and "mean difference from Uniform" (usefulness table) of US-C and
# Core-Set with their paired t-test mark (* p < 0.05, ** p < 0.01; ⚠ = fewer trials).  They
# publish SDs of AUBC, not standard errors of the gains.
LU2023_ZHAN_RERUN = {
    "appendicitis": (0.8395, 0.8454, 0.8441, 0.8398), "sonar": (0.7463, 0.7762, 0.7655, 0.7420),
    "parkinsons": (0.8305, 0.8531, 0.8449, 0.8356), "heart": (0.8051, 0.8157, 0.8130, 0.8105),
    "haberman": (0.7308, 0.7295, 0.7304, 0.7267), "ionosphere": (0.9180, 0.9300, 0.9278, 0.9134),
    "wdbc": (0.9539, 0.9652, 0.9626, 0.9586)}
LU_COLUMNS = ("Uniform", "US-C", "QBC", "Core-Set")
LU_TO_OURS = {"Uniform": "random", "US-C": "us_c", "Core-Set": "coreset"}  # QBC: a different committee
LU2023_GAINS = {  # dataset: {our strategy: (mean difference from Uniform, t-test mark)}
    "appendicitis": {"us_c": (0.0058, "**"), "coreset": (0.0003, "")},
    "sonar": {"us_c": (0.0299, "**"), "coreset": (-0.0044, "")},
    "parkinsons": {"us_c": (0.0226, "**"), "coreset": (0.0051, "**")},
    "heart": {"us_c": (0.0107, "**"), "coreset": (0.0054, "**")},
    "haberman": {"us_c": (-0.0014, ""), "coreset": (-0.0041, "")},
    "ionosphere": {"us_c": (0.0120, "**"), "coreset": (-0.0046, "")},
    "wdbc": {"us_c": (0.0113, "**"), "coreset": (0.0047, "**⚠")}}


def published_rows(datasets=None) -> tuple[dict, ...]:
    """Zhan et al.'s Table 3 rows (dataset, strategy, published) for ``datasets`` (None: all)."""
    keep = (lambda d: datasets is None or d in datasets)
    rows = [{"dataset": f"zhan_{d}", "strategy": "random", "published": v}
            for d, v in ZHAN2021_TABLE3_RS.items() if keep(d)]
    rows += [{"dataset": f"zhan_{d}", "strategy": s, "published": v}
             for (d, s), v in ZHAN2021_TABLE3_BEST.items() if keep(d)]
    return tuple(rows)


def lu_reference_rows(datasets=None) -> tuple[dict, ...]:
    """Lu et al.'s rows: dataset, strategy, reference (mean AUBC), lu_gain, lu_sig."""
    rows = []
    for d, values in LU2023_ZHAN_RERUN.items():
        if datasets is not None and d not in datasets:
            continue
        for column, v in zip(LU_COLUMNS, values):
            s = LU_TO_OURS.get(column)
            if s is not None:
                gain, sig = LU2023_GAINS.get(d, {}).get(s, (None, None))
                rows.append({"dataset": f"zhan_{d}", "strategy": s, "reference": v, "lu_gain": gain,
                             "lu_sig": sig})
    return tuple(rows)


EXTRA_COLUMNS = (("aubc_altbench", "altbench AUBC"), ("gain", "gain vs random"), ("gain_se", "± SE"),
                 ("lu_gain", "Lu gain"), ("lu_sig", "Lu t-test"), ("seeds", "seeds"))
QUANTITY = ("AUBC of test accuracy as Zhan/Lu define it (initial point excluded: trapezoids over the U "
            "post-query points ÷ U), mean over seeds; 'altbench AUBC' = ours with the initial point; "
            "'gain vs random' = mean over seeds of (strategy − random) on the same seed ± its standard error")
CITATION = ("Zhan, Liu, Li & Chan (2021), 'A Comparative Survey: Benchmarking for Pool-based Active "
            "Learning', IJCAI — classic protocol (RBF-SVM gamma='auto', C=1, no Platt scaling; query size 1, "
            "whole pool, initial 20 with every class), as re-run by Lu et al. (2023)")
NOTE = ("Published: Zhan et al.'s Table 3 gives, per binary dataset, random sampling's AUBC and the best of "
        "their 17 methods; it has no per-strategy column for uncertainty or k-center, so k-center is filled "
        "only where it is Zhan's best method, and multi-class sets have no published number (values from Lu "
        "et al.'s machine-readable copy). 'Lu et al. 2023' is their independent re-run of Zhan's protocol (100 "
        "trials): mean AUBC, and 'Lu gain' their mean difference from Uniform with their paired t-test mark "
        "(* p<0.05, ** p<0.01, ⚠ fewer trials); they publish no standard error of the gain. Lu et al. found some "
        "of Zhan's RS values (sonar, clean1, spambase) far below their own. Protocol as theirs: accuracy from "
        "SVC.predict; `us_c` = Lu et al.'s US-C, smallest |decision_function| of the task SVM (multi-class: "
        "gap of the top two one-vs-rest scores), first pool position on ties; `coreset` = k-center greedy on "
        "the standardised features in float64 with the first maximiser (dtype float64, ties first). QBC is "
        "not run: Zhan's committee (LR, linear SVM, RBF-SVM, LDA) is not altbench's bagged committee. "
        "Remaining differences: the per-seed split and initial set come from altbench's seeded streams, not "
        "Lu et al.'s seeds, so individual trials differ; altbench redraws an initial set lacking a class "
        "where Lu et al. drop that trial.")
