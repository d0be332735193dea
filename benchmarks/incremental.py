"""Benchmark: what `editio serve --watch` redoes after a save, beside a clean site build.

usage: .venv/bin/python benchmarks/incremental.py [PROJECT_DIR]   (default: this repository's
edition, copied to a temporary folder first)

One run, in one process, on a copy of the edition:

1. clean build of the site (`editio build --format html`: read, check, render, search index);
2. no change: a save that leaves every input's bytes as they were (`touch`, save unedited);
3. one document changed (a word of an editorial note): time until the changed pages are in
   place (the open page reloads then) and until the search index is rebuilt too.

Ratios are against the clean build of the same run; absolute seconds depend on the machine.
"""
from __future__ import annotations

import io
import shutil
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(HERE / "src"))

from editio.build import build  # noqa: E402
from editio.config import load  # noqa: E402
from editio.watch import LiveState, Rebuilder, run_once  # noqa: E402

PARTS = ("tei", "witnesses", "schema", "styles", "templates", "editio.toml", "profile.toml")


def main(src: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="editio-incremental-") as tmp:
        project_dir = Path(tmp) / "edition"
        project_dir.mkdir()
        for name in PARTS:
            p = src / name
            if p.is_dir():
                shutil.copytree(p, project_dir / name)
            elif p.is_file():
                shutil.copy(p, project_dir / name)
        project = load(project_dir)
        docs = sorted(p for p in project.input_dir.glob("*.xml") if p.name != "authority.xml")

        t = time.perf_counter()
        result = build(project, formats=("html",))
        clean = time.perf_counter() - t
        if result.report.errors:
            sys.exit("the edition does not build: "
                     + "; ".join(d.format() for d in result.report.sorted()[:3]))

        out = io.StringIO()
        rebuilder, state = Rebuilder(project, out=out), LiveState()
        t = time.perf_counter()
        first = run_once(rebuilder, state, out, force=True)
        watch_first = time.perf_counter() - t

        docs[0].write_bytes(docs[0].read_bytes())       # saved, not edited
        t = time.perf_counter()
        none = run_once(rebuilder, state, out)
        no_change = time.perf_counter() - t
        assert none.skipped, none

        doc = docs[len(docs) // 2]
        text = doc.read_text(encoding="utf-8")
        at = text.index("<note", text.index('type="editorial-notes"'))
        at = text.index(">", at) + 1
        doc.write_text(text[:at] + "Revised. " + text[at:], encoding="utf-8")
        pages_at = []
        orig = state.publish

        def publish(ok, diagnostics, new_pages):
            if ok and new_pages and not pages_at:
                pages_at.append(time.perf_counter())
            orig(ok, diagnostics, new_pages)
        state.publish = publish
        t = time.perf_counter()
        one = run_once(rebuilder, state, out)
        one_total = time.perf_counter() - t
        one_pages = (pages_at[0] - t) if pages_at else one_total
        assert one.ok and one.changed, out.getvalue()

    n = len(docs)
    print(f"edition: {src} ({n} documents); site only (no PDF); one run")
    print(f"  clean build (editio build --format html)    {clean:7.2f} s   1.000")
    print(f"  first watch build (site + search)           {watch_first:7.2f} s   "
          f"{watch_first / clean:.3f}  ({first.changed} files written)")
    print(f"  no change (inputs' bytes unchanged)         {no_change:7.3f} s   "
          f"{no_change / clean:.3f}")
    print(f"  one document changed: pages in place        {one_pages:7.2f} s   "
          f"{one_pages / clean:.3f}  ({one.changed} files of the site changed, {doc.name})")
    print(f"  one document changed: with search index     {one_total:7.2f} s   "
          f"{one_total / clean:.3f}")


if __name__ == "__main__":
    main(Path(sys.argv[1]).resolve() if len(sys.argv) > 1 else HERE)
