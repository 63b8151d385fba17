"""Report tables as print-quality LaTeX: pandas ``Styler.to_latex`` longtables, split when too wide.

Cells and headers are escaped by pandas (``escape="latex"``); the few
non-ASCII symbols the tables use are then mapped to LaTeX (:data:`UNICODE_TEX`).
Tables are set in ``\\footnotesize`` (8 pt in a 10 pt document, never smaller)
as ``longtable`` (pages break inside long tables). A table wider than the
text block at that size is split into parts that repeat its key columns
(dataset, method, strategy, ...), instead of being shrunk.  Needs
``\\usepackage[T1]{fontenc}`` (so ``<`` prints as itself), ``booktabs`` and
``longtable`` in the including document.
"""

from __future__ import annotations

import re

TEXT_WIDTH_PT = 470.0  # text block of the paper (A4, 2.2 cm margins ≈ 16.6 cm)
PT_PER_CHAR = 4.6  # widest-case average glyph width of 8 pt Computer Modern (bold digits), pt
COL_SEP_PT = 12.0  # 2 × \tabcolsep
KEY_COLUMNS = ("Dataset", "Method", "Strategy", "A", "B", "winner \\ loser")  # repeated in every split part
BLOCK_COLUMNS = ("Dataset", "Method")  # a \midrule separates their blocks
MARKS = {"up": " ↑", "down": " ↓"}
UNICODE_TEX = {"±": r"$\pm$", "Δ": r"$\Delta$", "—": "--", "−": "-", " ↑": r"$^{\uparrow}$",
               " ↓": r"$^{\downarrow}$", "↑": r"$\uparrow$", "↓": r"$\downarrow$", "χ²": r"$\chi^2$",
               "α": r"$\alpha$", "×": r"$\times$", "≥": r"$\geq$", "·": r"$\cdot$", "…": r"\dots{}",
               "š": r"\v{s}"}
_ESCAPE = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
           "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}


def tex_text(text: str) -> str:
    """Plain text (captions, prose) → LaTeX: specials escaped, then symbols mapped."""
    return unicode_to_tex("".join(_ESCAPE.get(ch, ch) for ch in str(text)))


def unicode_to_tex(text: str) -> str:
    """Replace the non-ASCII symbols of :data:`UNICODE_TEX` (longest first) in already-escaped LaTeX."""
    for uni in sorted(UNICODE_TEX, key=len, reverse=True):
        text = text.replace(uni, UNICODE_TEX[uni])
    return text


def column_width_pt(header: str, values) -> float:
    """Estimated printed width of one column at 8 pt, separators included."""
    return max([len(str(header)), *(len(str(v)) + 2 for v in values)]) * PT_PER_CHAR + COL_SEP_PT


def split_columns(display, max_width: float = TEXT_WIDTH_PT) -> list[list[str]]:
    """Column groups that each fit ``max_width``; every group starts with the key columns."""
    cols = list(display.columns)
    keys = [c for c in cols if c in KEY_COLUMNS]
    width = {c: column_width_pt(c, display[c]) for c in cols}
    budget = max_width - sum(width[c] for c in keys)
    parts, current, used = [], [], 0.0
    for c in (c for c in cols if c not in keys):
        if current and used + width[c] > budget:
            parts.append(keys + current)
            current, used = [], 0.0
        current.append(c)
        used += width[c]
    return parts + [keys + current] if current or not parts else parts


def _cell_frame(table):
    """Display strings with the ↑/↓ marks appended (Unicode; mapped after escaping)."""
    disp = table.display.copy().astype(str)
    for (i, col), mark in table.marks.items():
        disp.iat[i, disp.columns.get_loc(col)] += MARKS[mark]
    return disp


def _longtable(disp, bold: frozenset, caption: str, label: str, continued: str) -> str:
    """One booktabs longtable of a string DataFrame through ``Styler.to_latex``."""
    import pandas as pd

    cols = list(disp.columns)
    weights = pd.DataFrame("", index=disp.index, columns=cols)
    for i, col in bold:
        if col in weights.columns:
            weights.iat[i, cols.index(col)] = "font-weight: bold;"
    styler = (disp.style.hide(axis="index").format(escape="latex").format_index(escape="latex", axis=1)
              .apply(lambda _: weights, axis=None))
    fmt = "".join("l" if c in KEY_COLUMNS else "r" for c in cols)
    tex = styler.to_latex(environment="longtable", hrules=True, column_format=fmt, convert_css=True,
                          caption=caption, label=label)
    tex = tex.replace(rf"\caption[]{{{caption}}} \\", rf"\multicolumn{{{len(cols)}}}{{l}}{{{continued}}} \\")
    return _block_rules(unicode_to_tex(tex), disp)


def _block_rules(tex: str, disp) -> str:
    r"""Insert ``\midrule`` between dataset × method blocks of the body rows."""
    blocks = [c for c in BLOCK_COLUMNS if c in disp.columns]
    if not blocks:
        return tex
    head, body = tex.split("\\endlastfoot\n", 1)
    rows, tail = body.split("\\end{longtable}", 1)
    lines = rows.splitlines()
    keys = [tuple(disp.iloc[i][c] for c in blocks) for i in range(len(disp))]
    out = [line if i == 0 or keys[i] == keys[i - 1] else "\\midrule\n" + line for i, line in enumerate(lines)]
    return head + "\\endlastfoot\n" + "\n".join(out) + "\n\\end{longtable}" + tail


def render_table(table, header: str, max_width: float = TEXT_WIDTH_PT) -> str:
    """A table as ``\\footnotesize`` longtable(s) with caption = title + note, label ``tab:<name>``."""
    disp = _cell_frame(table)
    parts = split_columns(disp, max_width)
    out = [f"% {header}", f"% {table.title}", "% needs: \\usepackage[T1]{fontenc}, booktabs, longtable",
           r"\begingroup\footnotesize"]
    for j, cols in enumerate(parts):
        title = table.title if len(parts) == 1 else f"{table.title} (part {j + 1} of {len(parts)})"
        caption = tex_text(f"{title}. {table.note}" if j == 0 and table.note else title)
        label = f"tab:{table.name}" + (f"-{j + 1}" if j else "")
        part_bold = frozenset((i, c) for i, c in table.bold if c in cols)
        out.append(_longtable(disp[cols], part_bold, caption, label, r"\emph{(continued)}"))
    out += [r"\endgroup", ""]
    return "\n".join(out)


def tex_label(text: str) -> str:
    """A string usable inside ``\\label``/``\\ref`` (letters, digits, ``-:.``)."""
    return re.sub(r"[^A-Za-z0-9:.-]+", "-", text)
