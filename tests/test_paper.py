"""The LaTeX output compiles, and the paper PDF built from a results dir contains its tables."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from altbench.report import write_report
from test_report import make_results

PAPER = Path(__file__).resolve().parents[1] / "paper"
HAVE_TEX = shutil.which("pdflatex") is not None and shutil.which("pdftotext") is not None

if not HAVE_TEX and os.environ.get("CI"):
    raise RuntimeError("pdflatex/pdftotext missing in CI; `make test` installs them via `make tex`")
needs_tex = pytest.mark.skipif(not HAVE_TEX, reason="needs pdflatex + pdftotext (run `make tex`)")


def _latex(workdir: Path, source: str) -> subprocess.CompletedProcess:
    return subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "-jobname=main", source],
                          cwd=workdir, capture_output=True, text=True, timeout=120)


@needs_tex
def test_paper_pdf_contains_generated_tables(tmp_path):
    results = make_results(tmp_path / "results")
    write_report(results, command="altbench report results")
    build = tmp_path / "paper"
    shutil.copytree(PAPER, build, ignore=shutil.ignore_patterns("main.pdf", "*.aux", "*.log", "*.out"))
    source = rf"\def\resultsdir{{{results.as_posix()}}}\input{{main.tex}}"
    for _ in range(2):  # second pass resolves references
        out = _latex(build, source)
        assert out.returncode == 0, out.stdout[-3000:]
    text = subprocess.run(["pdftotext", "-layout", str(build / "main.pdf"), "-"], capture_output=True,
                          text=True, check=True).stdout
    nums = pd.read_csv(results / "report/tables/summary.csv", comment="#")
    margin_a = nums[(nums.dataset == "toy_a") & (nums.strategy == "margin")].iloc[0]
    assert f"{100 * margin_a.aubc_mean:.1f}" in text  # a number of the summary table
    assert "toy_a" in text and "Win" in text and "Average rank" in text
    assert "Table 1" in text and "Figure 1" in text and "??" not in text


@needs_tex
def test_every_generated_table_compiles_standalone(tmp_path):
    results = make_results(tmp_path / "results", datasets=("toy_a", "toy_b"), seeds=3)
    write_report(results, command="altbench report results")
    tables = sorted((results / "report/tables").glob("*.tex"))
    assert len(tables) == 5
    body = "\n".join(rf"\resizebox{{\linewidth}}{{!}}{{\input{{{t.as_posix()}}}}}\par" for t in tables)
    (tmp_path / "doc.tex").write_text("\\documentclass{article}\\usepackage{booktabs,graphicx}\n"
                                      f"\\begin{{document}}\n{body}\n\\end{{document}}\n")
    out = _latex(tmp_path, "doc.tex")
    assert out.returncode == 0, out.stdout[-3000:]
    assert (tmp_path / "main.pdf").stat().st_size > 5000
