"""Benchmark: incremental builds of one FRUS volume (one TEI file holding hundreds of
``div[@type=document]`` units) beside a clean build.

usage: .venv/bin/python benchmarks/incremental_frus.py [VOLUME.xml] [--profile NAME]
(default: frus1955-57v23p2 from /work/shared/corpora/frus, the ``frus`` profile)

One run, in one process, on a temporary project holding only the volume (``tei/``):

`editio build --format html` (the function the command runs):
1. clean build (``cache=False``);
2. no change;
3. one document's text changed (a word put at the start of the first paragraph of the
   middle document, different in every step): its page and the pages that depend on it are
   made, the other documents' pages taken from the last build.

`editio serve --watch` (its Rebuilder): the first build, then the same kind of edit twice:
until that document's page is in place, until every page is, and with the search index.

As benchmarks/incremental.py: ratios against the clean build of the same run, CPU seconds
(this process and the children it waited for) beside the wall clock, the load average;
a validation cache of the run's own (edits are never found in ~/.cache/editio).
"""
from __future__ import annotations

import io
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(HERE / "src"))
sys.path.insert(0, str(HERE / "benchmarks"))

from incremental import Pages, cpu  # noqa: E402
from editio.build import build  # noqa: E402
from editio.config import load  # noqa: E402
from editio.watch import LiveState, Rebuilder, run_once  # noqa: E402

DEFAULT = Path("/work/shared/corpora/frus/frus1955-57v23p2.xml")


def edit(path: Path, words: str) -> str:
    """Put ``words`` at the start of the first paragraph of the middle document; its id."""
    text = path.read_text(encoding="utf-8")
    ids = re.findall(r'<div\b[^>]*type="document"[^>]*xml:id="([^"]+)"', text) or \
        re.findall(r'<div\b[^>]*xml:id="([^"]+)"[^>]*type="document"', text)
    if not ids:
        sys.exit(f"{path}: no div[@type='document'] with an xml:id")
    unit = ids[len(ids) // 2]
    at = text.index(f'xml:id="{unit}"')
    at = re.compile(r"<p[\s>]").search(text, at).start()
    at = text.index(">", at) + 1
    path.write_text(text[:at] + words + text[at:], encoding="utf-8")
    return unit


def main(volume: Path, profile: str) -> None:
    pages = Pages()
    rows = []
    formats = ("html",)
    with tempfile.TemporaryDirectory(prefix="editio-incremental-frus-") as tmp:
        os.environ["EDITIO_CACHE"] = str(Path(tmp) / "cache")
        project_dir = Path(tmp) / "volume"
        (project_dir / "tei").mkdir(parents=True)
        target = project_dir / "tei" / volume.name
        shutil.copyfile(volume, target)
        project = load(project_dir, profile=profile)

        def timed(label, fn, note=lambda r: ""):
            t, c = time.perf_counter(), cpu()
            r = fn()
            s = time.perf_counter() - t
            rows.append((label, s, note(r), cpu() - c))
            return r, s

        result, clean = timed("editio build: clean (--no-cache)",
                              lambda: build(project, formats=formats, cache=False),
                              lambda r: pages.take())
        if result.report.errors:
            sys.exit("the volume does not build: "
                     + "; ".join(d.format() for d in result.report.sorted()[:3]))
        timed("editio build: no change", lambda: build(project, formats=formats),
              lambda r: "up to date, nothing rewritten" if r.up_to_date else pages.take())
        unit = edit(target, "Revised. ")
        timed(f"editio build: one document's text changed ({unit})",
              lambda: build(project, formats=formats), lambda r: pages.take())

        out = io.StringIO()
        rebuilder, state = Rebuilder(project, out=out, profile=profile), LiveState()
        timed("serve --watch: first build", lambda: run_once(rebuilder, state, out, force=True),
              lambda r: f"{r.changed} file(s) of the site written; " + pages.take())
        timed("serve --watch: start-up work in the background", rebuilder.settle)
        pages_at = []
        orig = state.publish

        def publish(ok, diagnostics, new_pages, pages=None):
            if ok and new_pages:
                pages_at.append((time.perf_counter(), pages, cpu()))
            orig(ok, diagnostics, new_pages, pages)
        state.publish = publish
        synced = []   # when every page is in place (no reload is sent when only the changed
        #               document's page changed: it was in place, and told, first)
        render = rebuilder._render

        def rendered(*a, **k):
            r = render(*a, **k)
            synced.append((time.perf_counter(), cpu()))
            return r
        rebuilder._render = rendered
        for what_edit, words in (("one document's text changed", "Again. "),
                                 ("changed again", "Once more. ")):
            edit(target, words)
            pages_at.clear()
            synced.clear()
            t, c = time.perf_counter(), cpu()
            one = run_once(rebuilder, state, out)
            total, total_cpu = time.perf_counter() - t, cpu() - c
            assert one.ok and one.changed, out.getvalue()
            what = pages.take()
            label = f"serve --watch: {what_edit}"
            if pages_at:
                rows.append((f"{label}, its page in place", pages_at[0][0] - t,
                             f"reload sent for {', '.join(pages_at[0][1] or ['every page'])}",
                             pages_at[0][2] - c))
            rows.append((f"{label}, all pages in place", synced[-1][0] - t,
                         f"{one.changed} file(s) of the site changed; {what}",
                         synced[-1][1] - c))
            rows.append((f"{label}, with search index", total,
                         "search index rebuilt" if one.search else "search index kept", total_cpu))

    load_avg = os.getloadavg()
    print(f"volume: {volume.name} ({profile}); html; one run; "
          f"load average {load_avg[0]:.2f} {load_avg[1]:.2f} {load_avg[2]:.2f}")
    print(f"  {'':<60} {'wall':>9}  {'ratio':>6}  {'cpu':>7}")
    for label, s, note, c in rows:
        print(f"  {label:<60} {s:7.3f} s  {s / clean:6.3f}  {c:5.3f} s  {note}")


if __name__ == "__main__":
    args = sys.argv[1:]
    prof = "frus"
    if "--profile" in args:
        i = args.index("--profile")
        prof = args[i + 1]
        del args[i:i + 2]
    vol = Path(args[0]).resolve() if args else DEFAULT
    if not vol.is_file():
        sys.exit(f"no such volume: {vol}")
    main(vol, prof)
