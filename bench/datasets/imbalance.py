"""Long-tailed variants of any dataset: the train pool subsampled to a controlled imbalance ratio.

Protocol of Cui, Jia, Lin, Song & Belongie (2019, "Class-Balanced Loss Based
on Effective Number of Samples", CVPR), as used for CIFAR-10/100-LT: class
sizes decay geometrically from the head to the tail,

    n_r = n_head · ratio^(−r / (C − 1)),   r = 0 … C−1,

so ``n_head / n_tail = ratio``.  Here the classes are ranked by their size in
the base train pool (largest first, ties by class index), and ``n_head`` is
the largest value every class can supply; ``n_tail = floor(n_head / ratio)``
and ``n_head = n_tail · ratio`` (rounded), so an integer ratio is met
exactly.  The examples kept in each class are drawn without replacement
from ``numpy.random.default_rng(split_seed)``: the subsample is part of the
dataset, identical for every strategy, method and seed of a grid.  The test
set (and dev set) is the base's, untouched, so test metrics stay comparable
with the balanced base; report balanced accuracy or macro-F1 besides
accuracy (a skewed pool does not skew a balanced test set, but TREC-6's
test set, for one, is itself skewed).

An experiment writes ``{name: imbalanced, base: trec6, ratio: 10}`` (base
parameters in ``base_params``).  The dataset's name (and so its fingerprint
and feature caches) is ``<base>_imb<ratio>``; the run id differs from the
base's because the plugin and its parameters do.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import ClassVar

import numpy as np

from altbench.datasets import Dataset, load_dataset
from altbench.registry import DATASETS

SPLIT_SEED = 0  # default seed of the subsample (fixed: the subsample is part of the dataset)


def class_sizes(available: np.ndarray, ratio: float) -> np.ndarray:
    """(C,) target train sizes per class of a geometric decay from head to tail at ``ratio``.

    available: (C,) examples per class in the base pool.  Classes are ranked by
    ``available`` (largest first, ties by index); the rank-r class gets
    round(n_head · ratio^(−r/(C−1))), never more than it has.
    """
    available = np.asarray(available, dtype=np.int64)
    n_classes = len(available)
    order = np.lexsort((np.arange(n_classes), -available))  # (C,) class ids, largest first
    decay = float(ratio) ** (-np.arange(n_classes) / max(n_classes - 1, 1))  # (C,) n_r / n_head
    head_cap = np.floor(np.min(available[order] / decay) + 1e-9)  # largest head all classes can follow
    n_tail = int(np.floor(head_cap / ratio + 1e-9))
    if n_tail < 1:
        raise ValueError(f"ratio {ratio:g} leaves the smallest class empty (largest feasible head: "
                         f"{int(head_cap)} examples); lower the ratio")
    n_head = int(round(n_tail * ratio))
    target = np.minimum(np.round(n_head * decay).astype(np.int64), available[order])
    target[-1] = n_tail if n_classes > 1 else n_head
    sizes = np.empty(n_classes, dtype=np.int64)
    sizes[order] = target
    return sizes


def subsample(y: np.ndarray, sizes: np.ndarray, seed: int) -> np.ndarray:
    """Sorted train indices keeping ``sizes[c]`` random examples of each class c (seeded).

    y: (n,) int labels; sizes: (C,); returns (sizes.sum(),) int64.
    """
    rng = np.random.default_rng(seed)
    keep = [rng.choice(np.flatnonzero(y == c), size=int(k), replace=False) for c, k in enumerate(sizes)]
    return np.sort(np.concatenate(keep)).astype(np.int64)


@DATASETS.register(name="imbalanced")
@dataclass(frozen=True)
class Imbalanced:
    """Long-tailed train pool of a base dataset at a controlled imbalance ratio (Cui et al. 2019).

    Write ``{name: imbalanced, base: trec6, ratio: 10}``; the test set is the base's, untouched.
    """

    USAGE: ClassVar[str] = "{name: imbalanced, base: NAME, ratio: 10, base_params: {...}}"
    base: str = "digits"  # the dataset to subsample (any registered dataset)
    ratio: float = 10.0  # largest / smallest class size in the train pool (>= 1)
    split_seed: int = SPLIT_SEED  # seed of the subsample, fixed for the whole grid
    base_params: dict = field(default_factory=dict)  # parameters of the base dataset

    def __post_init__(self):
        if self.ratio < 1:
            raise ValueError(f"ratio {self.ratio:g} is below 1; write the largest / smallest class size, e.g. 10")
        if self.base == "imbalanced":
            raise ValueError("base cannot be imbalanced itself; name the dataset to subsample, e.g. trec6")

    def data_identity(self) -> tuple[str, str]:
        """(the runs' dataset column, e.g. ``trec6_imb10``; the base's content hash for user data, else "")."""
        from altbench.plugin_params import build, is_config_class

        plugin = DATASETS.get(self.base)
        has_hash = is_config_class(plugin) and hasattr(plugin, "data_identity")
        label, sha = build(plugin, self.base_params).data_identity() if has_hash else (self.base, "")
        extra = "".join(f"_{k}={v}" for k, v in sorted(self.base_params.items())) if not has_hash else ""
        seed = f"_split{self.split_seed}" if self.split_seed != SPLIT_SEED else ""
        return f"{label}{extra}_imb{self.ratio:g}{seed}", sha

    def load(self, data_dir: Path | None = None, rng: np.random.Generator | None = None) -> Dataset:
        """The base dataset with its train pool subsampled; ``rng`` goes to the base (per-seed splits)."""
        ds = load_dataset(self.base, data_dir, rng, **self.base_params)
        y = np.asarray(ds.y_train, dtype=np.int64)
        sizes = class_sizes(np.bincount(y, minlength=ds.n_classes), self.ratio)
        rows = subsample(y, sizes, self.split_seed)
        info = {**ds.info, "imbalance": {"base": ds.name, "ratio": self.ratio, "split_seed": self.split_seed,
                                         "train_sizes": sizes.tolist(), "protocol": "Cui et al. 2019 (long-tailed)"},
                "train_rows": rows.tolist()}
        return replace(ds, name=f"{ds.name}_imb{self.ratio:g}", X_train=ds.X_train[rows], y_train=y[rows],
                       info=info)
