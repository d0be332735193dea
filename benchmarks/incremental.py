"""Benchmark: incremental builds (the build cache, editio.cache) beside a clean build.

usage: .venv/bin/python benchmarks/incremental.py [PROJECT_DIR] [--pdf]
(default: this repository's edition, copied to a temporary folder first)

One run, in one process, on a copy of the edition; the site only unless --pdf:

`editio build` (the same function the command runs):
1. clean build (``cache=False``: nothing taken from .editio-cache/);
2. no change: the same build again (every input hashes as before: nothing is rewritten);
3. one document changed (a word of an editorial note): the pages it touches are made again,
   the rest taken from the last build.

`editio serve --watch` (its Rebuilder, on the output of the builds above):
4. the first watch build (the server starting), and what it left running in the background
   (the schema's warm-up);
5. no change (a save that leaves every byte as it was);
6. one document changed: until its own page is in place (the open page reloads then), until
   the pages that point to it or list it are in place too, and until the search index is
   rebuilt; the first save after the server started, then the next.

Ratios are against the clean build of the same run; absolute seconds depend on the machine
(the load average is printed); the CPU seconds of each step (this process and the processes
it waited for) are printed beside the wall clock, as they depend less on the machine's load.  Each step says how many pages were made and how many taken
from the last build.
"""
from __future__ import annotations

import io
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(HERE / "src"))

from editio.build import build  # noqa: E402
from editio.builders import site as site_module  # noqa: E402
from editio.config import load  # noqa: E402
from editio.watch import LiveState, Rebuilder, run_once  # noqa: E402

PARTS = ("tei", "witnesses", "schema", "styles", "templates", "editio.toml", "profile.toml")


class Pages:
    """Counts the pages made and taken from the last build (wraps Site._make_pages)."""

    def __init__(self):
        self.made = self.kept = 0
        orig = site_module.Site._make_pages
        counter = self

        def make_pages(site, jobs):
            done = orig(site, jobs)
            kept = len(site.cache.reused) if site.cache is not None else 0
            counter.kept += kept
            counter.made += len(jobs) - kept
            return done
        site_module.Site._make_pages = make_pages

    def take(self) -> str:
        out = f"{self.made} page(s) made, {self.kept} kept"
        self.made = self.kept = 0
        return out


def cpu() -> float:
    """CPU seconds of this process and of its children it waited for (the page writers, the
    schema validation, Pagefind): less swayed by the other processes of a busy machine than
    the wall clock."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def edit(doc: Path, words: str) -> None:
    text = doc.read_text(encoding="utf-8")
    at = text.find('type="editorial-notes"')
    at = text.index("<note", at if at >= 0 else 0)
    at = text.index(">", at) + 1
    doc.write_text(text[:at] + words + text[at:], encoding="utf-8")


def main(src: Path, formats: tuple) -> None:
    pages = Pages()
    rows = []
    with tempfile.TemporaryDirectory(prefix="editio-incremental-") as tmp:
        # a validation cache of this run's own (editio keeps the schema validation's results
        # in ~/.cache/editio by content: the edits below, the same in every run, would
        # otherwise be found there and never validated)
        os.environ["EDITIO_CACHE"] = str(Path(tmp) / "cache")
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
        doc = docs[len(docs) // 2]

        clean = measure(project, formats, rows, pages, lambda words: edit(doc, words) or doc.name,
                        saved=lambda: doc.write_bytes(doc.read_bytes()))

    show(f"edition: {src} ({len(docs)} documents); {', '.join(formats)}", rows, clean)


def measure(project, formats: tuple, rows: list, pages: Pages, change, saved=None,
            profile: str | None = None) -> float:
    """The steps of the module's docstring on ``project``, one row each in ``rows`` (label,
    wall, note, cpu); ``change(words)`` edits one document and names it, ``saved()`` saves
    a file with every byte as it was.  Returns the clean build's wall time."""
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
        sys.exit("the edition does not build: "
                 + "; ".join(d.format() for d in result.report.sorted()[:3]))
    timed("editio build: no change", lambda: build(project, formats=formats),
          lambda r: "up to date, nothing rewritten" if r.up_to_date else pages.take())
    name = change("Revised. ")
    timed(f"editio build: one document changed ({name})",
          lambda: build(project, formats=formats), lambda r: pages.take())

    out = io.StringIO()
    rebuilder, state = Rebuilder(project, out=out, profile=profile), LiveState()
    timed("serve --watch: first build", lambda: run_once(rebuilder, state, out, force=True),
          lambda r: f"{r.changed} file(s) of the site written; " + pages.take())
    # the server's start-up work left in the background (the schema's warm-up, ~0.5 s of
    # CPU beside the first search index) is done before the first save, as it is long
    # before a scholar saves a first edit
    timed("serve --watch: start-up work in the background", rebuilder.settle)
    if saved is not None:
        saved()
        timed("serve --watch: no change", lambda: run_once(rebuilder, state, out),
              lambda r: "nothing rebuilt" if r.skipped else pages.take())

    pages_at = []           # when a reload was sent (the changed page first)
    orig = state.publish

    def publish(ok, diagnostics, new_pages, pages=None):
        if ok and new_pages:
            pages_at.append((time.perf_counter(), pages, cpu()))
        orig(ok, diagnostics, new_pages, pages)
    state.publish = publish
    synced = []   # when every page is in place (no second reload is sent when only the
    #               changed document's page changed: it was in place, and told, first)
    render = rebuilder._render

    def rendered(*a, **k):
        r = render(*a, **k)
        synced.append((time.perf_counter(), cpu()))
        return r
    rebuilder._render = rendered
    # the first save after the server started (what no rebuild needed yet is worked out
    # now: the unchanged files' text views, the templates of the pages made again …),
    # then the next one (the loop as a scholar lives it)
    for what_edit, words in (("one document changed", "Again. "), ("changed again", "Once more. ")):
        change(words)
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
        done, done_cpu = (synced[-1][0] - t, synced[-1][1] - c) if synced else (total, total_cpu)
        rows.append((f"{label}, all pages in place", done,
                     f"{one.changed} file(s) of the site changed; {what}", done_cpu))
        rows.append((f"{label}, with search index", total,
                     "search index rebuilt" if one.search else "search index kept", total_cpu))
    return clean


def show(what: str, rows: list, clean: float) -> None:
    """The rows, each with its ratio to the clean build, under ``what`` and the load average."""
    load_avg = os.getloadavg()
    print(f"{what}; one run; load average {load_avg[0]:.2f} {load_avg[1]:.2f} {load_avg[2]:.2f}")
    width = max(len(r[0]) for r in rows)
    print(f"  {'':<{width}} {'wall':>9}  {'ratio':>6}  {'cpu':>7}")
    for label, s, note, c in rows:
        print(f"  {label:<{width}} {s:7.3f} s  {s / clean:6.3f}  {c:5.3f} s  {note}")


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    main(Path(args[0]).resolve() if args else HERE,
         ("html", "pdf") if "--pdf" in sys.argv else ("html",))
