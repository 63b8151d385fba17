"""scripts/method_pairs.py: transfer methods compared against a baseline method, paired by seed."""

import numpy as np
import pandas as pd
import pytest
from conftest import load_script

mp = load_script("method_pairs")
FT = 'finetune(backbone_params={"max_length": 64})'
AD = 'finetune(adapt={"name": "mlm", "steps": 300},backbone_params={"max_length": 64})'
UL = 'ulmfit(backbone_params={"max_length": 64})'


def test_short_names_keep_only_what_differs():
    names = mp.short_names([FT, AD, UL])
    assert names == {FT: "finetune", AD: "finetune+adapt=mlm", UL: "ulmfit"}


def test_short_names_read_nested_values_and_compare_within_a_method_name():
    train = '{"epochs": 10, "early_stop": {"monitor": "train_loss", "patience": 2}, "lr": 5e-05}'
    ft = f'finetune(backbone_params={{"max_length": 64}},min_steps=100,train={train})'
    ad = f'finetune(adapt={{"name": "mlm", "steps": 300}},backbone_params={{"max_length": 64}},min_steps=100,train={train})'
    ul = 'ulmfit(backbone_params={"max_length": 64},min_steps=150,train={"epochs": 10, "lr": 0.0002})'
    assert mp.label_params(ft) == ("finetune", ['backbone_params={"max_length": 64}', "min_steps=100", f"train={train}"])
    assert mp.short_names([ft, ad, ul]) == {ft: "finetune", ad: "finetune+adapt=mlm", ul: "ulmfit"}
    odd = 'm(a="x,\\\\",b=[1, {"c": "}"}])'  # a comma and an escaped backslash in a string, a brace in a list
    assert mp.label_params(odd) == ("m", ['a="x,\\\\"', 'b=[1, {"c": "}"}]'])
    other = ft.replace("min_steps=100", "min_steps=50")
    assert mp.short_names([ft, other])[other] == "finetune+min_steps=50"


def test_labels_needed_interpolates_in_log_labels():
    n, acc = np.array([50.0, 200.0]), np.array([0.6, 0.8])
    assert mp.labels_needed(n, acc, 0.7) == pytest.approx(100.0)  # halfway in log between 50 and 200
    assert mp.labels_needed(n, acc, 0.5) == -np.inf
    assert mp.labels_needed(n, acc, 0.9) == np.inf


def frame() -> pd.DataFrame:
    """Two methods × one strategy × 2 seeds at 50/100/200 labels; 'better' is +2 points everywhere."""
    rows = []
    for seed in (0, 1):
        for n, a in ((50, 0.60), (100, 0.70), (200, 0.75)):
            rows.append({"dataset": "d", "strategy": "random", "seed": seed, "n_labelled": n,
                         "method": "base", "accuracy": a + 0.01 * seed})
            rows.append({"dataset": "d", "strategy": "random", "seed": seed, "n_labelled": n,
                         "method": "better", "accuracy": a + 0.02 + 0.01 * seed})
    return pd.DataFrame(rows)


def test_differences_are_paired_by_seed():
    df = frame()
    runs = mp.per_run(df)
    table = mp.accuracy_differences(df, runs, "base")
    row = table[table.strategy == "all"].iloc[0]
    assert row["pairs"] == 2
    assert row["Δ acc @100"] == "+2.0 ± 0.0"
    assert row["Δ AUBC"] == "+2.0 ± 0.0"


def test_label_savings_read_the_baselines_running_best():
    df = frame()
    df.loc[(df.method == "base") & (df.n_labelled == 200), "accuracy"] = 0.65  # a noisy drop of the baseline
    table = mp.label_savings(df, "base").iloc[0]
    # the target at 200 stays the baseline's best so far (mean 70.5% at 100 labels), which 'better' reaches
    # between 50 (62.5%) and 100 (72.5%): log-interpolated at 50 * 2 ** 0.8 ≈ 87 labels
    assert table["@200"] == "70.5% → 87 (+56%)"
    assert table["@50"].endswith("→ ≤ 50")


@pytest.mark.filterwarnings("ignore:Precision loss occurred:RuntimeWarning")  # equal differences by design
def test_two_directories_pair_the_same_method_under_two_recipes(monkeypatch):
    from pathlib import Path

    frames = {"old": frame().replace({"method": {"base": FT, "better": UL}}),
              "new": frame().replace({"method": {"base": FT, "better": UL}}).assign(
                  accuracy=lambda d: d.accuracy + 0.05)}

    class Store:  # RunStore over an in-memory frame per directory
        def __init__(self, path):
            self.name = Path(path).name

        def read_results(self):
            return frames[self.name].copy()

    frames["new"] = pd.concat([frames["new"], frames["new"].assign(seed=7)])  # a seed only "new" has
    monkeypatch.setattr(mp, "RunStore", Store)
    df = mp.load([Path("results/old"), Path("results/new")])
    assert set(df.method) == {"finetune@old", "ulmfit@old", "finetune@new", "ulmfit@new"}
    assert set(df.seed) == {0, 1}  # cells every directory has
    assert set(mp.load(Path("results/old")).method) == {"finetune", "ulmfit"}  # one directory: no tag
    diffs = mp.accuracy_differences(df, mp.per_run(df), "finetune@old").set_index(["method", "strategy"])
    row = diffs.loc[("finetune@new", "all")]
    assert row["pairs"] == 2 and row["Δ acc @50"] == row["Δ acc @200"] == "+5.0 ± 0.0"  # the recipe effect, paired
    assert "ulmfit@new" in mp.report([Path("results/old"), Path("results/new")], "finetune@old")
