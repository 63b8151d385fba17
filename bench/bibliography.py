"""A BibTeX file generated from what a report used: datasets, strategies, methods, statistics.

Citations are one-line strings, ``Authors (Year), 'Title', Venue.`` — the
form of the dataset cards (:mod:`altbench.datasets.cards`).  Strategies and
methods cite their papers in docstrings; their citation strings live here,
in the report layer (:data:`PLUGIN_CITATIONS`), and a third-party plugin may
carry its own as a ``citation`` attribute (a string or a tuple of them).
:func:`parse_citation` turns a string into a ``@misc`` entry with a stable key
(first author's surname + year + first title word).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

GAL = "Gal, Islam & Ghahramani (2017), 'Deep Bayesian Active Learning with Image Data', ICML."
KIRSCH23 = ("Kirsch, Farquhar, Atighehchian, Jesson, Branchaud-Charron & Gal (2023), 'Stochastic Batch Acquisition: "
            "A Simple Baseline for Deep Active Learning', TMLR.")
KUMAR = ("Kumar, Raghunathan, Jones, Ma & Liang (2022), 'Fine-Tuning can Distort Pretrained Features and "
         "Underperform Out-of-Distribution', ICLR.")
SKLEARN = "Pedregosa et al. (2011), 'Scikit-learn: Machine Learning in Python', JMLR."
PLUGIN_CITATIONS: dict[str, tuple[str, ...]] = {  # built-in strategy / method name → the papers it follows
    "least_confidence": ("Lewis & Gale (1994), 'A Sequential Algorithm for Training Text Classifiers', SIGIR.",),
    "margin": ("Scheffer, Decomain & Wrobel (2001), 'Active Hidden Markov Models for Information Extraction', "
               "IDA.",),
    "entropy": ("Settles (2009), 'Active Learning Literature Survey', University of Wisconsin-Madison, "
                "Computer Sciences Technical Report 1648.",),
    "bald": ("Houlsby, Huszar, Ghahramani & Lengyel (2011), 'Bayesian Active Learning for Classification and "
             "Preference Learning', arXiv:1112.5745.", GAL),
    "max_entropy": (GAL,), "variation_ratios": (GAL,), "mean_std": (GAL,),
    "batchbald": ("Kirsch, van Amersfoort & Gal (2019), 'BatchBALD: Efficient and Diverse Batch Acquisition for "
                  "Deep Bayesian Active Learning', NeurIPS.",),
    "power_bald": (KIRSCH23,), "stochastic": (KIRSCH23,),
    "coreset": ("Sener & Savarese (2018), 'Active Learning for Convolutional Neural Networks: A Core-Set "
                "Approach', ICLR.",),
    "badge": ("Ash, Zhang, Krishnamurthy, Langford & Agarwal (2020), 'Deep Batch Active Learning by Diverse, "
              "Uncertain Gradient Lower Bounds', ICLR.",),
    "cluster_margin": ("Citovsky et al. (2021), 'Batch Active Learning at Scale', NeurIPS.",),
    "typiclust": ("Hacohen, Dekel & Weinshall (2022), 'Active Learning on a Budget: Opposite Strategies Suit High "
                  "and Low Budgets', ICML.",),
    "probcover": ("Yehuda, Dekel, Hacohen & Weinshall (2022), 'Active Learning Through a Covering Lens', "
                  "NeurIPS.",),
    "cal": ("Margatina, Vernikos, Barrault & Aletras (2021), 'Active Learning by Acquiring Contrastive Examples', "
            "EMNLP.",),
    "dal": ("Gissin & Shalev-Shwartz (2019), 'Discriminative Active Learning', arXiv:1907.06347.",),
    "alfamix": ("Parvaneh et al. (2022), 'Active Learning by Feature Mixing', CVPR.",),
    "egl": ("Settles, Craven & Ray (2008), 'Multiple-Instance Active Learning', NeurIPS.",),
    "density_weighted": ("Settles & Craven (2008), 'An Analysis of Active Learning Strategies for Sequence "
                         "Labeling Tasks', EMNLP.",),
    "qbc": ("Seung, Opper & Sompolinsky (1992), 'Query by Committee', COLT.",),
    "us_c": ("Lu, Cheng, Li & Lin (2023), 'An Expanded Benchmark that Rediscovers and Affirms the Edge of "
             "Uncertainty Sampling for Active Learning in Tabular Datasets', arXiv:2306.08954.",),
    "logreg": (SKLEARN,), "svm_rbf": (SKLEARN,), "mlp": (SKLEARN,),
    "linear-probe": (KUMAR,), "lp-ft": (KUMAR,),
    "ulmfit": ("Howard & Ruder (2018), 'Universal Language Model Fine-tuning for Text Classification', ACL.",),
    "setfit": ("Tunstall et al. (2022), 'Efficient Few-Shot Learning Without Prompts', arXiv:2209.11055.",),
}
STATISTICS_CITATIONS = {  # what the report's statistics follow, by role (cited in the generated prose)
    "aubc": "Zhan, Liu, Li & Chan (2021), 'A Comparative Survey: Benchmarking for Pool-based Active Learning', IJCAI.",
    "labels_to_target": GAL,
    "holm": "Holm (1979), 'A Simple Sequentially Rejective Multiple Test Procedure', Scandinavian Journal of "
            "Statistics.",
    "penalty": PLUGIN_CITATIONS["badge"][0],
    "friedman": "Demsar (2006), 'Statistical Comparisons of Classifiers over Multiple Data Sets', JMLR.",
}
_CITE = re.compile(r"^(?P<authors>.+?) \((?P<year>\d{4})\)(?:, '(?P<title>[^']+)')?(?:, (?P<venue>.+?))?\.?$")


@dataclass(frozen=True)
class BibEntry:
    """One generated BibTeX ``@misc`` entry."""

    key: str
    authors: tuple[str, ...]
    year: str
    title: str
    venue: str

    def bibtex(self) -> str:
        from altbench.latex import tex_text

        fields = {"author": " and ".join(map(tex_text, self.authors)), "title": "{" + tex_text(self.title) + "}",
                  "year": self.year, "howpublished": tex_text(self.venue)}
        body = ",\n".join(f"  {k} = {{{v}}}" for k, v in fields.items() if v)
        return f"@misc{{{self.key},\n{body}\n}}\n"


def split_citations(text: str) -> list[str]:
    """A card's citation field → one string per cited work ("... EMNLP. Files as prepared by Kim (2014), ...")."""
    return [p.strip() for p in re.split(r"(?<=\.)\s+(?=[^.]*\(\d{4}\))", text.strip()) if p.strip()]


def parse_citation(text: str) -> BibEntry | None:
    """``Authors (Year), 'Title', Venue.`` → :class:`BibEntry`; None when the string has no (year)."""
    m = _CITE.match(text.strip())
    if not m:
        return None
    names = m["authors"].split(" by ")[-1]  # "Files as prepared by Kim" → "Kim"
    authors = tuple("others" if a.strip() == "et al." else a.strip()
                    for a in re.split(r",\s*|\s+&\s+|\s+(?=et al\.)", names) if a.strip())
    title = m["title"] or (m["venue"] or "").strip()
    venue = (m["venue"] or "").strip() if m["title"] else ""
    first = re.sub(r"[^a-z]", "", authors[0].split()[-1].lower()) if authors else "anon"
    word = next((re.sub(r"[^a-z]", "", w.lower()) for w in title.split() if len(w) > 3), "")
    return BibEntry(f"{first}{m['year']}{word}", authors, m["year"], title, venue)


def plugin_citations(kind: str, name: str) -> tuple[str, ...]:
    """Citation strings of a strategy / method: its ``citation`` attribute, else :data:`PLUGIN_CITATIONS`."""
    if name in PLUGIN_CITATIONS:
        return PLUGIN_CITATIONS[name]
    from altbench.registry import METHODS, STRATEGIES

    registry = {"strategy": STRATEGIES, "method": METHODS}[kind]
    try:
        own = getattr(registry.get(name), "citation", None)
    except Exception:  # an unknown or broken plugin simply has no citation here
        own = None
    return (own,) if isinstance(own, str) else tuple(own or ())


def dataset_citations(name: str) -> tuple[str, ...]:
    """Citation strings of a dataset's card (empty for a dataset without one)."""
    from altbench.datasets.cards import CARDS

    if name not in CARDS:
        try:
            from altbench.registry import DATASETS

            DATASETS.get(name)  # registering the dataset adds its card
        except Exception:
            return ()
    card = CARDS.get(name)
    return tuple(split_citations(card.citation)) if card and card.citation else ()


class Bibliography:
    """Entries collected in order of first use; :meth:`cite` returns the keys for ``\\cite{...}``."""

    def __init__(self) -> None:
        self.entries: dict[str, BibEntry] = {}
        self._by_text: dict[str, str] = {}

    def cite(self, citations) -> list[str]:
        keys = []
        for text in citations:
            if text not in self._by_text:
                entry = parse_citation(text)
                if entry is None:
                    continue
                key = entry.key
                while key in self.entries and self.entries[key] != entry:
                    key += "x"
                self.entries[key] = BibEntry(key, entry.authors, entry.year, entry.title, entry.venue)
                self._by_text[text] = key
            keys.append(self._by_text[text])
        return list(dict.fromkeys(keys))

    def bibtex(self, header: str) -> str:
        return f"% {header}\n\n" + "\n".join(self.entries[k].bibtex() for k in sorted(self.entries))
