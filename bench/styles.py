"""One line style per strategy for every figure of a report, and print-size fonts.

A report builds :func:`style_map` once, from the sorted names of all its
strategies, and hands it to every figure, so a strategy looks the same in
the learning curves, the difference-to-random panels and the CD diagram.
The reference strategy (``random``) is always black and dashed, without
markers.  The others take colour ``i mod 9`` of seaborn's colour-blind
palette (its grey left out, so nothing resembles the reference), line style
``(i div 9) mod 3`` and marker ``i mod 7``: up to 27 strategies differ in
colour or dash, and neighbours in the legend always differ in marker too
(the advice of Tufte 2001 and of Wong 2011, "Points of view: Color
blindness", Nature Methods 8: 441, to encode a series twice).

Font sizes are in points at the figure's natural size; figures are sized
for a 6.5 in text block, so included at that width their text stays >= 7 pt.
"""

from __future__ import annotations

from dataclasses import dataclass

REFERENCE = "random"  # the baseline every strategy is drawn against
TEXT_WIDTH_IN = 6.5  # width of the paper's text block (A4, 2.2 cm margins), inches
FONT_PT = {"base": 8.5, "title": 8.5, "tick": 8.0, "legend": 8.0, "footer": 7.0, "annot": 7.5}
LINESTYLES = ("-", (0, (5, 1.5)), (0, (1.2, 1.2)))  # solid, long dash, dotted
MARKERS = ("o", "s", "^", "D", "v", "P", "X")
GREY_SLOT = 7  # seaborn "colorblind" slot 7 is grey: kept for nothing


@dataclass(frozen=True)
class Style:
    """How one strategy is drawn: colour (RGB in [0, 1]), dash pattern, marker (None: no marker)."""

    colour: tuple
    linestyle: object
    marker: str | None

    def kwargs(self) -> dict:
        """Keyword arguments for ``Axes.plot``."""
        return {"color": self.colour, "ls": self.linestyle, "marker": self.marker}


REFERENCE_STYLE = Style((0.0, 0.0, 0.0), (0, (4, 2)), None)


def palette() -> list[tuple]:
    """The 9 non-grey colours of seaborn's colour-blind palette."""
    import seaborn as sns

    return [tuple(c) for i, c in enumerate(sns.color_palette("colorblind", 10)) if i != GREY_SLOT]


def style_map(names, reference: str = REFERENCE) -> dict[str, Style]:
    """Strategy name → :class:`Style`, a pure function of the sorted names (see the module doc)."""
    colours = palette()
    others = sorted(n for n in set(names) if n != reference)
    out = {n: Style(colours[i % len(colours)], LINESTYLES[(i // len(colours)) % len(LINESTYLES)],
                    MARKERS[i % len(MARKERS)]) for i, n in enumerate(others)}
    if reference in set(names):
        out[reference] = REFERENCE_STYLE
    return out


def rc_params() -> dict:
    """Matplotlib settings of every report figure: print-size fonts, deterministic files."""
    return {"font.size": FONT_PT["base"], "axes.titlesize": FONT_PT["title"], "axes.labelsize": FONT_PT["base"],
            "xtick.labelsize": FONT_PT["tick"], "ytick.labelsize": FONT_PT["tick"],
            "legend.fontsize": FONT_PT["legend"], "svg.hashsalt": "altbench", "pdf.fonttype": 42,
            "lines.linewidth": 1.3, "lines.markersize": 3.5}
