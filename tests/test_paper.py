"""The paper compiles to print quality from a results dir: generated tables, figures, prose and .bib."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from altbench.report import write_report
from test_report import make_results

PAPER = Path(__file__).resolve().parents[1] / "paper"
HAVE_TEX = all(shutil.which(t) for t in ("pdflatex", "pdftotext", "bibtex"))
MIN_PT = 7.0  # smallest text size allowed in print

if not HAVE_TEX and os.environ.get("CI"):
    raise RuntimeError("pdflatex/bibtex/pdftotext missing in CI; `make test` installs them via `make tex`")
needs_tex = pytest.mark.skipif(not HAVE_TEX, reason="needs pdflatex + bibtex + pdftotext (run `make tex`)")


def _latex(workdir: Path, source: str) -> subprocess.CompletedProcess:
    return subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "-jobname=main", source],
                          cwd=workdir, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def paper(tmp_path_factory):
    """(results dir, PDF text, main.log) of the paper built as `make paper` does: latex, bibtex, latex × 2."""
    tmp = tmp_path_factory.mktemp("paper")
    results = make_results(tmp / "results", datasets=tuple(f"toy_{c}" for c in "abcde"), seeds=5)
    write_report(results, command="altbench report results")
    build = tmp / "build"
    shutil.copytree(PAPER, build, ignore=shutil.ignore_patterns("main.pdf", "*.aux", "*.log", "*.out", "*.bbl"))
    source = rf"\def\resultsdir{{{results.as_posix()}}}\input{{main.tex}}"
    out = _latex(build, source)
    assert out.returncode == 0, out.stdout[-3000:]
    bib = subprocess.run(["bibtex", "main"], cwd=build, capture_output=True, text=True, timeout=60)
    assert bib.returncode == 0, bib.stdout[-2000:]
    for _ in range(2):
        out = _latex(build, source)
        assert out.returncode == 0, out.stdout[-3000:]
    text = subprocess.run(["pdftotext", "-layout", str(build / "main.pdf"), "-"], capture_output=True,
                          text=True, check=True).stdout
    return results, build, text, (build / "main.log").read_text(errors="replace")


@needs_tex
def test_paper_pdf_has_tables_p_values_and_no_dangling_references(paper):
    results, _, text, log = paper
    nums = pd.read_csv(results / "report/tables/summary.csv", comment="#")
    margin_a = nums[(nums.dataset == "toy_a") & (nums.strategy == "margin")].iloc[0]
    assert f"{100 * margin_a.aubc_mean:.1f}" in text  # a number of the summary table
    assert "<0.001" in (results / "report/tables/pairwise.md").read_text()
    assert "<0.001" in text and "¡" not in text  # T1 encoding: `<` prints as itself
    assert "toy_a" in text and "Win" in text and "Average rank" in text
    assert "Table 1" in text and "Figure 1" in text and "??" not in text
    assert "Citation" not in re.sub(r"\s+", " ", log).replace("Citation `", "") or "undefined" not in log


@needs_tex
def test_paper_prose_is_generated_from_the_results(paper):
    results, _, text, _ = paper
    flat = re.sub(r"\s+", " ", text)
    assert "The results directory holds 75 runs: 5 datasets" in flat  # 5 datasets × 3 strategies × 5 seeds
    assert "5 seeds per cell (seeds 0" in flat
    wtl = pd.read_csv(results / "report/tables/win_tie_loss.csv", comment="#").set_index("strategy")
    assert f"margin in {wtl.loc['margin', 'win']}" in flat  # significance sentence matches the table
    assert "Critical-difference diagram" in flat  # 5 settings: the CD figure is in
    assert "Scheffer" in flat and "Holm" in flat and "Demsar" in flat  # bibliography from the generated .bib


@needs_tex
def test_no_text_smaller_than_7pt_and_no_resizebox(paper):
    results, build, _, log = paper
    assert "\\resizebox" not in (PAPER / "main.tex").read_text()
    assert not any("\\resizebox" in p.read_text() for p in (results / "report").rglob("*.tex"))
    # font sizes as the PDF states them (pdftohtml's fontspec; any font: LM, EC bitmaps, figures' DejaVu),
    # calibrated on the 10 pt body font (at -zoom 10 pdftohtml writes 3 units per pt)
    xml = subprocess.run(["pdftohtml", "-xml", "-stdout", "-i", "-zoom", "10", str(build / "main.pdf")],
                         capture_output=True, text=True, check=True).stdout
    specs = re.findall(r'<fontspec id="(\d+)" size="([\d.]+)" family="([^"]*)"', xml)
    size = {i: float(v) for i, v, _ in specs}
    body = [float(v) for _, v, fam in specs if re.search(r"(?i)roman10|ecrm1000|cmr10", fam)]
    per_pt = body[0] / 10.0 if body else 3.0
    words = [size[f] / per_pt for f, w in re.findall(r'<text [^>]*font="(\d+)"[^>]*>(.*?)</text>', xml)
             if re.search(r"[A-Za-z]{2,}", re.sub(r"<[^>]+>", "", w))]
    assert len(words) > 100
    assert min(words) >= MIN_PT - 0.1, sorted(set(words))[:5]
    overfull = [float(x) for x in re.findall(r"Overfull \\hbox \(([\d.]+)pt too wide\)", log)]
    assert max(overfull, default=0.0) < 20.0  # tables are split, not pushed into the margin


@needs_tex
def test_every_generated_table_compiles_standalone(tmp_path):
    results = make_results(tmp_path / "results", datasets=("toy_a", "toy_b"), seeds=3)
    write_report(results, command="altbench report results")
    tables = sorted((results / "report/tables").glob("*.tex"))
    assert len(tables) == 5
    body = "\n".join(rf"\input{{{t.as_posix()}}}" for t in tables)
    (tmp_path / "doc.tex").write_text("\\documentclass{article}\\usepackage[T1]{fontenc}\\usepackage{booktabs,"
                                      f"longtable}}\n\\begin{{document}}\n{body}\n\\end{{document}}\n")
    out = _latex(tmp_path, "doc.tex")
    assert out.returncode == 0, out.stdout[-3000:]
    assert (tmp_path / "main.pdf").stat().st_size > 5000
