"""Hugging Face hub loaders: AG News, IMDb, DBpedia, Yelp polarity, 20 Newsgroups, MNIST, CIFAR-10, SVHN.

Each loader reads the official train/test splits with ``datasets.load_dataset``
and converts them once into altbench's Arrow cache (text: one ``str`` per
example, several text columns joined with a space; images: decoded to native
uint8 (n, H, W) or (n, H, W, 3)).  Where the data come from, first match wins:

1. ``source=`` (a loader parameter): a folder holding ``train*`` and ``test*``
   parquet or arrow files laid out like the hub's (same columns and features);
2. ``<data_dir>/<name>/`` holding such files (an offline copy);
3. the hub itself (``hub_id``; needs internet, cached under the Arrow cache).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from altbench.datasets import Dataset
from altbench.datasets.cache import Cached, cache_root, cached_splits, file_identity, labelled_table, to_dataset
from altbench.datasets.cards import Card, add
from altbench.datasets.files import DataFileError
from altbench.registry import DATASETS

NEWSGROUPS = ("alt.atheism", "comp.graphics", "comp.os.ms-windows.misc", "comp.sys.ibm.pc.hardware",
              "comp.sys.mac.hardware", "comp.windows.x", "misc.forsale", "rec.autos", "rec.motorcycles",
              "rec.sport.baseball", "rec.sport.hockey", "sci.crypt", "sci.electronics", "sci.med", "sci.space",
              "soc.religion.christian", "talk.politics.guns", "talk.politics.mideast", "talk.politics.misc",
              "talk.religion.misc")
DIGITS = tuple(str(d) for d in range(10))
ZHANG15 = ("Zhang, Zhao & LeCun (2015), 'Character-level Convolutional Networks for Text "
           "Classification', NeurIPS.")


@dataclass(frozen=True)
class HubSpec:
    """How to read one hub dataset."""

    hub_id: str  # e.g. "fancyzhx/ag_news"
    x_cols: tuple[str, ...]  # text columns (joined by a space) or the one image column
    modality: str  # "text" | "image"
    config: str | None = None  # hub config name (e.g. SVHN's "cropped_digits")
    label_col: str = "label"
    shape: tuple[int, ...] | None = None  # image shape (H, W) or (H, W, C)


HUB: dict[str, HubSpec] = {}


def _hub(name: str, spec: HubSpec, classes: tuple[str, ...], sizes: dict, citation: str, terms: str,
         doc: str) -> None:
    """Register hub dataset ``name``: its spec, its card and a loader function."""
    HUB[name] = spec
    add(Card(name, doc.split(" (")[0], spec.modality, classes, sizes, f"https://huggingface.co/datasets/{spec.hub_id}",
             citation, terms, "official train / test (hub splits)", hub_id=spec.hub_id))

    def loader(data_dir: Path, rng=None, source: str | None = None) -> Dataset:
        return load_hub(name, data_dir, source)

    loader.__name__ = loader.__qualname__ = name
    loader.__doc__ = doc
    globals()[name] = DATASETS.register(loader)


def _find_local(folder: Path) -> dict[str, list[Path]] | None:
    files = {s: sorted(p for p in folder.glob(f"**/{s}*") if p.suffix in (".parquet", ".arrow"))
             for s in ("train", "test")}
    return files if all(files.values()) else None


def hub_splits(name: str, source: str | None, data_dir: Path | None = None) -> Cached:
    """Memory-mapped cached ``train``/``test`` splits of hub dataset ``name``."""
    spec = HUB[name]
    where = Path(source) if source else (Path(data_dir) / name if data_dir else None)
    local = _find_local(where) if where is not None and where.is_dir() else None
    if source and local is None:
        raise DataFileError(f"{name}: source {source} holds no train*/test* .parquet or .arrow files; "
                            f"point source at a folder laid out like the hub's {spec.hub_id}")
    hf_cache = str(cache_root() / "hf")

    def build() -> dict[str, pa.Table]:
        import datasets  # slow to import: only when the cache misses

        if local is not None:
            fmt = "parquet" if local["train"][0].suffix == ".parquet" else "arrow"
            raw = datasets.load_dataset(fmt, data_files={s: [str(p) for p in ps] for s, ps in local.items()},
                                        cache_dir=hf_cache)
        else:
            try:
                raw = datasets.load_dataset(spec.hub_id, spec.config, cache_dir=hf_cache)
            except Exception as exc:
                raise DataFileError(f"{name}: cannot load {spec.hub_id} from the Hugging Face hub "
                                    f"({type(exc).__name__}); put train/test parquet files in "
                                    f"{Path(data_dir or '<data_dir>') / name}/ or pass source=FOLDER") from None
        return {s: convert(raw[s], spec) for s in ("train", "test")}

    key = file_identity([p for ps in local.values() for p in ps]) if local else [spec.hub_id, spec.config]
    return cached_splits(name, key, build)


def convert(ds: Any, spec: HubSpec, batch: int = 4096) -> pa.Table:
    """One hub split → altbench's ``x``/``label`` table (text joined, images decoded to uint8)."""
    y = np.asarray(ds[spec.label_col], dtype=np.int64)
    if spec.modality == "text":
        cols = [ds[c] for c in spec.x_cols]
        return labelled_table([" ".join(parts).strip() for parts in zip(*cols)], y)
    col = spec.x_cols[0]
    out = np.empty((len(ds), *spec.shape), dtype=np.uint8)
    for start in range(0, len(ds), batch):
        images = ds[start:start + batch][col]  # PIL images (the column's Image feature decodes)
        out[start:start + len(images)] = np.stack([np.asarray(im, dtype=np.uint8) for im in images])
    return labelled_table(out, y)


def load_hub(name: str, data_dir: Path, source: str | None = None) -> Dataset:
    """Load hub dataset ``name`` (see the module docstring for where it is read from)."""
    from altbench.datasets.cards import CARDS

    card, spec = CARDS[name], HUB[name]
    cached = hub_splits(name, source, data_dir)
    return to_dataset(name, spec.modality, card.classes, cached, shape=spec.shape,
                      source=source or card.source, split=card.split)


_hub("ag_news", HubSpec("fancyzhx/ag_news", ("text",), "text"), ("World", "Sports", "Business", "Sci/Tech"),
     {"train": 120000, "test": 7600}, ZHANG15, "non-commercial research use (AG's corpus)",
     "AG News topics (Zhang et al. 2015): 120,000 / 7,600, 4 classes, from the hub.")
_hub("imdb", HubSpec("stanfordnlp/imdb", ("text",), "text"), ("neg", "pos"), {"train": 25000, "test": 25000},
     "Maas et al. (2011), 'Learning Word Vectors for Sentiment Analysis', ACL.", "research use (IMDb terms)",
     "IMDb movie reviews (Maas et al. 2011): 25,000 / 25,000, 2 classes, from the hub.")
_hub("dbpedia", HubSpec("fancyzhx/dbpedia_14", ("title", "content"), "text"),
     ("Company", "EducationalInstitution", "Artist", "Athlete", "OfficeHolder", "MeanOfTransportation",
      "Building", "NaturalPlace", "Village", "Animal", "Plant", "Album", "Film", "WrittenWork"),
     {"train": 560000, "test": 70000}, ZHANG15, "CC BY-SA 3.0",
     "DBpedia-14 ontology classes (Zhang et al. 2015): 560,000 / 70,000, 14 classes, from the hub.")
_hub("yelp_polarity", HubSpec("fancyzhx/yelp_polarity", ("text",), "text"), ("negative", "positive"),
     {"train": 560000, "test": 38000}, ZHANG15, "Yelp Dataset terms (non-commercial)",
     "Yelp review polarity (Zhang et al. 2015): 560,000 / 38,000, 2 classes, from the hub.")
_hub("newsgroups20", HubSpec("SetFit/20_newsgroups", ("text",), "text"), NEWSGROUPS,
     {"train": 11314, "test": 7532}, "Lang (1995), 'NewsWeeder: Learning to Filter Netnews', ICML.",
     "no explicit license; research use", "20 Newsgroups, by-date split (Lang 1995): 11,314 / 7,532, "
     "20 classes, from the hub.")
_hub("mnist", HubSpec("ylecun/mnist", ("image",), "image", shape=(28, 28)), DIGITS,
     {"train": 60000, "test": 10000}, "LeCun, Bottou, Bengio & Haffner (1998), 'Gradient-based learning "
     "applied to document recognition', Proc. IEEE.", "CC BY-SA 3.0",
     "MNIST digits (LeCun et al. 1998): 60,000 / 10,000 uint8 28x28, 10 classes, from the hub.")
_hub("cifar10", HubSpec("uoft-cs/cifar10", ("img",), "image", shape=(32, 32, 3)),
     ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"),
     {"train": 50000, "test": 10000}, "Krizhevsky (2009), 'Learning Multiple Layers of Features from "
     "Tiny Images', tech. report.", "no explicit license; research use",
     "CIFAR-10 (Krizhevsky 2009): 50,000 / 10,000 uint8 32x32x3, 10 classes, from the hub.")
_hub("svhn", HubSpec("ufldl-stanford/svhn", ("image",), "image", config="cropped_digits", shape=(32, 32, 3)),
     DIGITS, {"train": 73257, "test": 26032}, "Netzer et al. (2011), 'Reading Digits in Natural Images "
     "with Unsupervised Feature Learning', NeurIPS workshop.", "non-commercial use only",
     "SVHN cropped digits (Netzer et al. 2011): 73,257 / 26,032 uint8 32x32x3, 10 classes, from the hub.")
HUB["fashion_mnist"] = HubSpec("zalando-datasets/fashion_mnist", ("image",), "image", shape=(28, 28))
