"""Benchmark: build the edition (tei/) into a temporary copy; print time, memory and size.

usage: .venv/bin/python benchmarks/build_edition.py [PROJECT_DIR]
Each format is built in its own child process (so peak memory is that build's own).
Figures are for one run on this machine; compare ratios, not absolute seconds.
"""
from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]


def run(project: Path, fmt: str) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "editio", "build", "--project", str(project),
                        "--format", fmt, "--quiet"], capture_output=True, text=True)
    dt = time.perf_counter() - t
    if r.returncode:
        sys.exit(r.stderr)
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return dt, max(peak, before) / 1024


def size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def main(src: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp) / "edition"
        project.mkdir()
        for name in ("tei", "witnesses", "schema", "styles", "editio.toml"):
            p = src / name
            if p.is_dir():
                shutil.copytree(p, project / name)
            elif p.exists():
                shutil.copy(p, project / name)
        html_s, html_mb = run(project, "html")
        out = project / "build"
        site = out / "html"
        pages = len(list(site.glob("*.html")))
        pdf_s, pdf_mb = run(project, "pdf")
        pdf = out / "pdf" / "edition.pdf"
        from pypdf import PdfReader
        npages = len(PdfReader(pdf).pages)
        docs = len(list((project / "tei").glob("*.xml"))) - 1
        print(f"documents: {docs}")
        print(f"html: {html_s:.1f}s, peak {html_mb:.0f} MB, {pages} pages, "
              f"{size(site) / 1e6:.1f} MB on disk ({html_s / docs:.2f}s per document)")
        print(f"pdf:  {pdf_s:.1f}s, peak {pdf_mb:.0f} MB, {npages} pages, "
              f"{pdf.stat().st_size / 1e6:.2f} MB ({pdf_s / npages:.2f}s per page)")
        print(f"ratio pdf/html time: {pdf_s / html_s:.0f}x")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE)
