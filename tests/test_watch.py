"""``editio serve --watch``: rebuild on save, reload the open page, diagnostics over the last good
rendering, and a server that never exits on bad XML."""
from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import run_editio
from editio.config import load
from editio.watch import LiveState, Rebuilder, run_once

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run"]


def _files(site: Path) -> dict[str, bytes]:
    return {p.relative_to(site).as_posix(): p.read_bytes() for p in sorted(site.rglob("*"))
            if p.is_file() and "pagefind" not in p.relative_to(site).parts}


@pytest.fixture
def edition(tmp_path):
    dest = tmp_path / "ed"
    r = run_editio("new", dest)
    assert r.returncode == 0, r.stderr
    return dest


def test_rebuild_does_only_what_a_change_needs(edition, tmp_path):
    import io
    out = io.StringIO()
    rb, state = Rebuilder(load(edition)), LiveState()
    first = run_once(rb, state, out, force=True)
    assert first.ok and first.changed > 10 and first.search and state.generation == 1
    site = edition / "build" / "html"
    page = site / "d001.html"
    # a save without an edit (or a touch): nothing read, nothing written
    doc = edition / "tei" / "d001.xml"
    doc.write_bytes(doc.read_bytes())
    before = {p: p.stat().st_mtime_ns for p in site.rglob("*") if p.is_file()}
    again = run_once(rb, state, out)
    assert again.skipped and state.generation == 1
    assert before == {p: p.stat().st_mtime_ns for p in site.rglob("*") if p.is_file()}
    # one document changed: its page changes; unchanged pages are not rewritten
    doc.write_text(doc.read_text().replace("A typing slip for", "A slip of the typist for"))
    one = run_once(rb, state, out)
    assert one.ok and not one.skipped and 0 < one.changed < first.changed
    # the changed document's page is told first, then the pages that list it
    assert "slip of the typist" in page.read_text() and state.generation >= 2
    pages = state.snapshot()["pages"]
    assert pages["d001.html"] > pages["*"] == 1   # its page changed, not every page (the style)
    assert (site / "assets" / "web.css").stat().st_mtime_ns == before[site / "assets" / "web.css"]
    # the live site is what a clean build makes
    clean = tmp_path / "clean"
    import shutil
    shutil.copytree(edition, clean, ignore=shutil.ignore_patterns("build"))
    assert run_editio("build", "--format", "html", "--project", clean).returncode == 0
    assert _files(site) == _files(clean / "build" / "html")
    # broken XML: not rebuilt, the last good site stays, the diagnostics are located
    good = page.read_bytes()
    doc.write_text(doc.read_text().replace("</TEI>", "</TEIx>"))
    bad = run_once(rb, state, out)
    snap = state.snapshot()
    assert not bad.ok and not snap["ok"] and page.read_bytes() == good
    d = snap["diagnostics"][0]
    assert (d["file"], d["code"]) == ("tei/d001.xml", "read.syntax") and d["line"] > 1
    assert re.search(r"tei/d001\.xml:\d+:\d+: error: .*\[read\.syntax\]", out.getvalue())
    # fixed back to the sources of the site served: good again, nothing to rebuild
    doc.write_text(doc.read_text().replace("</TEIx>", "</TEI>"))
    fixed = run_once(rb, state, out)
    assert fixed.ok and state.snapshot()["ok"] and state.snapshot()["diagnostics"] == []


def _until(check, timeout: float = 60.0, what: str = ""):
    """Poll ``check`` (Python; the page's CSP forbids evaluated strings) until it is true."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except Exception:  # the page is reloading (its context went away): look again
            pass
        time.sleep(0.1)
    pytest.fail(f"not within {timeout:.0f}s: {what}")


def _start(edition: Path):
    p = subprocess.Popen([sys.executable, "-m", "editio", "serve", "--watch", "--port", "0",
                          "--project", str(edition)], stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 180
    lines = []
    while time.monotonic() < deadline:
        line = p.stderr.readline()
        if not line:
            break
        lines.append(line)
        m = re.search(r"http://127\.0\.0\.1:\d+/", line)
        if m:
            return p, m.group(0)
    p.kill()
    pytest.fail("server did not start: " + "".join(lines))


@pytest.mark.browser
def test_the_open_page_follows_the_sources(edition):
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip("no chromium")
    server, url = _start(edition)
    doc = edition / "tei" / "d001.xml"
    try:
        with sync_api.sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = browser.new_page()
            hosts = []
            page.on("request", lambda r: hosts.append(r.url))
            page.goto(url + "d001.html")
            assert "Jane" in page.text_content("main")
            # an edit on disk shows in the open page, without touching the browser
            doc.write_text(doc.read_text().replace(">Jane<", ">Janet<"))
            _until(lambda: "Janet" in page.text_content("main"), what="the edit shown")
            # broken XML: the located diagnostics over the last good rendering
            doc.write_text(doc.read_text().replace("</TEI>", "</TEIx>"))
            overlay = page.wait_for_selector("#editio-live-overlay", timeout=60000)
            text = overlay.text_content()
            assert re.search(r"tei/d001\.xml:\d+:\d+ error: .*\[read\.syntax\]", text), text
            assert "Janet" in page.text_content("main")   # the last good page, still there
            # fixed: the overlay goes, the page shows the new text
            doc.write_text(doc.read_text().replace("</TEIx>", "</TEI>")
                           .replace(">Janet<", ">Joan<"))
            _until(lambda: page.query_selector("#editio-live-overlay") is None
                   and "Joan" in page.text_content("main"), what="overlay cleared, fix shown")
            browser.close()
        assert server.poll() is None, "the server exited"
        assert all(h.startswith(url) for h in hosts), [h for h in hosts if not h.startswith(url)]
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
