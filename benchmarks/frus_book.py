"""Benchmark: editio's book of a FRUS volume against plain WeasyPrint, in one run.

usage: .venv/bin/python benchmarks/frus_book.py [VOLUME.xml] [--workers N] [--no-double]
       (default volume: ../shared/corpora/frus/frus1955-57v23p2.xml; needs the ``bench``
       extra, saxonche, for the TEI Stylesheets' HTML)

Prints, one line each:
  * plain WeasyPrint: one ``HTML(...).write_pdf()`` in a child process of the TEI
    Stylesheets' HTML of the volume (made first with ../shared/anchors/teistyle_html.py;
    the Stylesheets are run from shared/, never copied);
  * editio cold: ``editio build --profile frus --format pdf`` of the volume (one unit per
    FRUS document), build cache empty;
  * editio after one document changed (a word added to one paragraph), cache warm;
  * editio of the volume doubled (two copies of it in the edition), cache empty;
with the wall time, the ratio to plain WeasyPrint (and doubled / single), the pages,
and the peak memory of the main process, of the largest layout process and of the merge's
process.  Each build
runs in a child process.  One run, this machine: compare ratios, not seconds.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]
SHARED = HERE.parent / "shared"
if not SHARED.is_dir():
    SHARED = Path("/work/shared")
DEFAULT = SHARED / "corpora" / "frus" / "frus1955-57v23p2.xml"
TEI_ALL = SHARED / "corpora" / "schema" / "tei_all.rng"

PLAIN = r"""
import json, resource, sys, time
t = time.perf_counter()
from weasyprint import HTML
doc = HTML(filename=sys.argv[1]).render()
doc.write_pdf(sys.argv[2])
print(json.dumps({"wall": time.perf_counter() - t, "pages": len(doc.pages), "cpu": time.process_time(),
                  "rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}))
"""

EDITIO = r"""
import json, re, resource, sys, time
from pathlib import Path
t = time.perf_counter()
from editio.build import build
from editio.config import load
res = build(load(Path(sys.argv[1]), profile="frus"), formats=("pdf",), keep_going=True,
            schema=Path(sys.argv[2]) if sys.argv[2] else None,
            workers=int(sys.argv[3]) if sys.argv[3] else None)
wall = time.perf_counter() - t
info = [d.message for d in res.report.items if d.code == "pdf.parts"]
bad = [d.format() for d in res.report.items if d.code in ("pdf.layout", "pdf.pages")]
m = re.search(r"(\d+) pages in (\d+) parts: (\d+) layouts in (\d+) pass\(es\), (\d+) taken from "
              r"the build cache; peak memory of a layout process (\d+) MB", info[0]) if info else None
print(json.dumps({"wall": wall, "pdf_s": res.timings.get("pdf"), "pages": int(m[1]) if m else 0,
                  "parts": int(m[2]) if m else 0, "layouts": int(m[3]) if m else 0,
                  "passes": int(m[4]) if m else 0, "cached": int(m[5]) if m else 0,
                  "worker_rss": int(m[6]) * 2**20 if m else 0, "problems": bad[:5],
                  "merge_rss": int(g[1]) * 2**20 if (g := re.search(r"of the merge (\d+) MB", info[0] if info else "")) else 0,
                  "phases": info[0].split(" MB; ", 1)[-1] if info else "",
                  "rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
                  "cpu": sum(resource.getrusage(resource.RUSAGE_SELF)[:2]),
                  "layout_cpu": sum(float(c) for c in re.findall(r"(?:CPU of the layouts|of the stamps|of the merge) ([\d.]+) s",
                                                                  info[0] if info else ""))}))
"""


def child(code: str, *args, env=None) -> dict:
    r = subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True,
                       text=True, env=env)
    if r.returncode:
        sys.exit(r.stderr[-3000:])
    return json.loads(r.stdout.strip().splitlines()[-1])


def mb(n: float) -> str:
    return f"{n / 2**20:,.0f} MB"


def project(root: Path, volumes: list[Path]) -> Path:
    (root / "tei").mkdir(parents=True)
    for i, v in enumerate(volumes):
        name = v.name if i == 0 else f"{v.stem}-copy{i}{v.suffix}"
        shutil.copy(v, root / "tei" / name)
    return root


def change_one_document(vol: Path) -> None:
    """Add a word to one paragraph of a document in the middle of the volume."""
    text = vol.read_text(encoding="utf-8")
    docs = [m.start() for m in re.finditer(r'<div[^>]*type="document"', text)]
    at = docs[len(docs) // 2] if docs else len(text) // 2
    p = text.index("</p>", at)
    vol.write_text(text[:p] + " (benchmark)" + text[p:], encoding="utf-8")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("volume", nargs="?", default=str(DEFAULT))
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--no-double", action="store_true", help="skip the doubled volume")
    a = ap.parse_args()
    vol = Path(a.volume).resolve()
    env = dict(os.environ, PYTHONPATH=str(HERE / "src") + os.pathsep + os.environ.get("PYTHONPATH", ""))
    schema = TEI_ALL if TEI_ALL.exists() else ""
    workers = a.workers or ""
    print(f"volume {vol.name}; {os.cpu_count()} cores, workers {a.workers or 'default'}; "
          f"load average {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        html = tmp / "stylesheets.html"
        t = time.perf_counter()
        r = subprocess.run([sys.executable, str(SHARED / "anchors" / "teistyle_html.py"),
                            str(SHARED / "anchors" / "tei-stylesheets"), str(vol), str(html)],
                           capture_output=True, text=True)
        if r.returncode:
            sys.exit("the TEI Stylesheets did not run (pip install 'editio[bench]'):\n" + r.stderr[-2000:])
        print(f"TEI Stylesheets html5 (SaxonC): {time.perf_counter() - t:.1f} s  {r.stdout.strip()}")

        plain = child(PLAIN, html, tmp / "plain.pdf", env=env)
        print(f"plain WeasyPrint:          {plain['wall']:7.1f} s  {plain['pages']:5d} pages  "
              f"peak {mb(plain['rss'])} (one process); CPU {plain['cpu']:.1f} s")

        single = project(tmp / "single", [vol])
        cold = child(EDITIO, single, schema, workers, env=env)
        print(f"editio cold:               {cold['wall']:7.1f} s  {cold['pages']:5d} pages  "
              f"ratio {cold['wall'] / plain['wall']:.2f}x  {cold['parts']} parts, {cold['layouts']} layouts, "
              f"{cold['passes']} passes; peak main {mb(cold['rss'])}, largest layout process "
              f"{mb(cold['worker_rss'])}, merge process {mb(cold['merge_rss'])}  {cold['problems'] or ''}")
        print(f"    ({cold['phases']}); CPU: main {cold['cpu']:.1f} s + layouts, stamps and merge {cold['layout_cpu']:.1f} s "
              f"= {(cold['cpu'] + cold['layout_cpu']) / plain['cpu']:.2f}x plain WeasyPrint's")

        change_one_document(single / "tei" / vol.name)
        warm = child(EDITIO, single, schema, workers, env=env)
        print(f"editio, one doc changed:   {warm['wall']:7.1f} s  {warm['pages']:5d} pages  "
              f"ratio {warm['wall'] / plain['wall']:.2f}x  {warm['layouts']} layouts, {warm['cached']} "
              f"from the cache, {warm['passes']} passes; peak main {mb(warm['rss'])}, largest layout "
              f"process {mb(warm['worker_rss'])}, merge process {mb(warm['merge_rss'])}")
        print(f"    ({warm['phases']})")

        if not a.no_double:
            double = project(tmp / "double", [vol, vol])
            dbl = child(EDITIO, double, schema, workers, env=env)
            print(f"editio, volume doubled:    {dbl['wall']:7.1f} s  {dbl['pages']:5d} pages  "
                  f"{dbl['wall'] / cold['wall']:.2f}x the single volume ({dbl['pages'] / max(1, cold['pages']):.2f}x "
                  f"the pages); peak main {mb(dbl['rss'])}, largest layout process {mb(dbl['worker_rss'])}, "
                  f"merge process {mb(dbl['merge_rss'])}")
            print(f"    ({dbl['phases']})")
    print(f"load average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
