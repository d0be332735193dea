"""The HTML edition in headless Chromium: reading views, note popovers by keyboard,
cross-references and back-links, search, phone widths, no other host, and axe-core
(WCAG 2.2 AA and best practice) on every page type.

axe-core (MPL-2.0) is vendored as tests/vendor/axe.min.js (from the npm package
``axe-core``); if it is missing the fixture fetches it with ``npm pack``."""
from __future__ import annotations

import functools
import http.server
import shutil
import subprocess
import tarfile
import threading
from pathlib import Path

import pytest

from conftest import ROOTS, run_editio

pytestmark = pytest.mark.browser
sync_api = pytest.importorskip("playwright.sync_api")

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run"]
VENDOR = Path(__file__).resolve().parent / "vendor"
PAGE_TYPES = ["index.html", "principles.html", "persons.html", "places.html", "organisations.html",
              "concordance.html", "timeline.html", "annotations.html", "search.html"]


@pytest.fixture(scope="session")
def axe_js(tmp_path_factory) -> str:
    path = VENDOR / "axe.min.js"
    if not path.exists():
        npm = shutil.which("npm")
        if not npm:
            pytest.skip("axe-core not vendored and npm not available")
        tmp = tmp_path_factory.mktemp("axe")
        subprocess.run([npm, "pack", "axe-core@4", "--silent"], cwd=tmp, check=True, capture_output=True)
        with tarfile.open(next(tmp.glob("axe-core-*.tgz"))) as tar:
            tar.extract("package/axe.min.js", tmp, filter="data")
        path = tmp / "package" / "axe.min.js"
    return path.read_text(encoding="utf-8")


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def serve(directory: Path):
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(directory)))
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv, f"http://127.0.0.1:{srv.server_address[1]}/"


@pytest.fixture(scope="module")
def site(edition_site):
    srv, url = serve(edition_site)
    yield url
    srv.shutdown()


def _built_and_served(tmp_path_factory, root: str):
    """tests/roots/``root`` copied, its site built, and served: (server, url)."""
    dest = tmp_path_factory.mktemp("browser") / root
    shutil.copytree(ROOTS / root, dest)
    r = run_editio("build", "--project", dest, "--format", "html")
    assert r.returncode == 0, r.stderr
    return serve(dest / "build" / "html")


@pytest.fixture(scope="module")
def basic_site(tmp_path_factory):
    srv, url = _built_and_served(tmp_path_factory, "site-basic")
    yield url
    srv.shutdown()


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip("no Chromium at /usr/bin/chromium")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


class Watch:
    """Console errors (CSP violations among them) and requests to any other host."""

    def __init__(self, page, base):
        self.errors, self.foreign = [], []
        page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on("request", lambda r: r.url.startswith((base, "data:", "file:")) or self.foreign.append(r.url))

    def check(self):
        assert self.foreign == [], f"requests to other hosts: {self.foreign}"
        assert self.errors == [], f"console errors: {self.errors}"


@pytest.fixture
def page(browser, site):
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    pg = ctx.new_page()
    w = Watch(pg, site)
    yield pg
    w.check()
    ctx.close()


def first_doc(page, site) -> str:
    page.goto(site + "index.html")
    return page.locator(".doc-list a").first.get_attribute("href")


def test_view_toggle(page, site):
    doc = first_doc(page, site)
    page.goto(site + doc)
    mask = page.locator(".annot-redaction").first
    dip, ed = mask.locator(".reading-dip"), mask.locator(".reading-ed")
    assert ed.is_visible() and not dip.is_visible()
    page.click("label[for=view-diplomatic]")
    assert dip.is_visible() and not ed.is_visible()
    assert dip.inner_text().strip().startswith("*")
    page.reload()  # the choice is remembered
    assert page.locator("#view-diplomatic").is_checked() and dip.is_visible()
    page.keyboard.press("Tab")
    page.focus("#view-diplomatic")
    page.keyboard.press("ArrowLeft")  # radios are keyboard operable
    assert page.locator("#view-edited").is_checked() and ed.is_visible()


def test_views_without_javascript(browser, site):
    ctx = browser.new_context(java_script_enabled=False)
    pg = ctx.new_page()
    pg.goto(site + "index.html")
    doc = pg.locator(".doc-list a").first.get_attribute("href")
    pg.goto(site + doc)
    mask = pg.locator(".annot-redaction").first
    assert mask.locator(".reading-ed").is_visible()
    pg.click("label[for=view-diplomatic]")
    assert mask.locator(".reading-dip").is_visible() and not mask.locator(".reading-ed").is_visible()
    pg.goto(site + "annotations.html")
    assert pg.locator(".annot-item").count() > 10 and not pg.locator("#annot-filter").is_visible()
    ctx.close()


def test_popover_by_keyboard(page, site):
    page.goto(site + first_doc(page, site))
    for _ in range(120):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.classList.contains('note-call')"):
            break
    else:
        pytest.fail("no note call reached with the Tab key")
    call = page.locator("a.note-call:focus")
    n = call.get_attribute("data-note")
    pop = page.locator(".popover[role=dialog]")
    assert pop.is_visible() and call.get_attribute("aria-expanded") == "true"
    note = page.locator(f"#note-{n} .note-label").inner_text()
    assert note in pop.inner_text()
    page.keyboard.press("Enter")  # pins it (no jump to the note list)
    assert pop.is_visible() and page.evaluate("location.hash") == ""
    page.keyboard.press("Tab")  # into the popover
    assert page.evaluate("!!document.activeElement.closest('.popover')")
    page.keyboard.press("Escape")
    assert pop.count() == 0
    assert page.evaluate("document.activeElement.classList.contains('note-call')")
    assert call.get_attribute("aria-expanded") == "false"
    # hover opens it too, and the pointer can move onto it
    call.hover()
    assert page.locator(".popover").is_visible()
    page.locator(".popover").hover()
    page.wait_for_timeout(500)
    assert page.locator(".popover").is_visible()


def test_crossref_and_backlink(browser, basic_site):
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    pg = ctx.new_page()
    w = Watch(pg, basic_site)
    pg.goto(basic_site + "t002.html#note-2")
    pg.click(".layers summary")
    pg.check("#layer-backlinks")  # back-links are a layer the reader turns on (remembered)
    pg.click('#note-2 a[href="t001.html#t001-x01"]')
    pg.wait_for_url("**/t001.html#t001-x01")
    target = pg.locator("#t001-x01")
    assert target.is_visible() and pg.evaluate("document.querySelector(':target').id") == "t001-x01"
    back = pg.locator('#t001-x01 ~ .backlinks a[href="t002.html#note-2"]').first
    back.click()
    pg.wait_for_url("**/t002.html#note-2")
    assert pg.evaluate("document.querySelector(':target').id") == "note-2"
    w.check()
    ctx.close()


def test_search(page, site):
    page.goto(site + "search.html")
    box = page.locator(".pagefind-ui__search-input")
    box.fill("Mikoyan")
    page.wait_for_selector(".pagefind-ui__result", timeout=15000)
    page.wait_for_load_state("networkidle")  # leaving while fragments load aborts their fetches
    assert page.locator(".pagefind-ui__result").count() > 0
    # Pagefind draws the filter panel once its filter index has loaded, after the results
    page.wait_for_function("""() => {
        const t = [...document.querySelectorAll('.pagefind-ui__filter-name')]
            .map(e => e.innerText.toLowerCase());
        return t.some(x => x.includes('document')) && t.some(x => x.includes('annotation'));
    }""", timeout=15000)
    filters = page.locator(".pagefind-ui__filter-name").all_inner_texts()
    assert any("document" in f.lower() for f in filters) and any("annotation" in f.lower() for f in filters)
    href = page.locator(".pagefind-ui__result-link").first.get_attribute("href")
    assert not href.startswith(("/", "http")), "result links are relative"
    page.locator(".pagefind-ui__result-link").first.click()
    page.wait_for_load_state()
    assert "search.html" not in page.url and page.locator("main").is_visible()


def test_phone_width(browser, site, tmp_path):
    ctx = browser.new_context(viewport={"width": 375, "height": 812}, is_mobile=True, has_touch=True)
    pg = ctx.new_page()
    w = Watch(pg, site)
    pg.goto(site + "index.html")
    doc = pg.locator(".doc-list a").first.get_attribute("href")
    for name in [doc, *PAGE_TYPES]:
        pg.goto(site + name)
        width = pg.evaluate("document.documentElement.scrollWidth")
        assert width <= 375, f"{name} scrolls sideways at 375px ({width}px)"
    pg.goto(site + doc)
    pg.locator("a.note-call").first.tap()
    pop = pg.locator(".popover")
    assert pop.is_visible()
    box = pop.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 375
    w.check()
    ctx.close()


def test_opened_from_disk(browser, edition_site):
    ctx = browser.new_context()
    pg = ctx.new_page()
    errors = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.goto((edition_site / "index.html").as_uri())
    doc = pg.locator(".doc-list a").first
    with pg.expect_navigation(wait_until="load"):
        doc.click()
    assert pg.evaluate("document.documentElement.classList.contains('js')"), "site.js runs from disk"
    assert pg.locator("link[rel=stylesheet]").count() >= 1
    assert pg.evaluate("getComputedStyle(document.querySelector('.site-header')).borderBottomStyle") == "solid"
    pg.goto((edition_site / "search.html").as_uri())
    assert pg.locator("#search-file-notice").is_visible()
    assert errors == []
    ctx.close()


def _axe(pg, axe_js):
    pg.add_script_tag(content=axe_js)
    res = pg.evaluate("""async () => {
        const r = await axe.run(document, {resultTypes: ['violations']});
        return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.slice(0, 3).map(n => n.target.join(' ') + ' :: ' + n.failureSummary)}));
    }""")
    return res


@pytest.mark.parametrize("width", [1280, 375])
def test_axe_every_page_type(browser, site, axe_js, width):
    ctx = browser.new_context(viewport={"width": width, "height": 900}, bypass_csp=True)
    pg = ctx.new_page()
    pg.goto(site + "index.html")
    docs = pg.locator(".doc-list a").evaluate_all("els => els.map(e => e.getAttribute('href'))")
    found = {}
    for name in [*PAGE_TYPES, *docs]:
        pg.goto(site + name)
        if name == "search.html":
            pg.fill(".pagefind-ui__search-input", "Volunteers")
            pg.wait_for_selector(".pagefind-ui__result", timeout=15000)
        v = _axe(pg, axe_js)
        if v:
            found[name] = v
    # the states the scripts create: diplomatic view, an open popover, filtered annotations
    pg.goto(site + docs[0])
    pg.locator("a.note-call").first.click()
    pg.click(".layers summary")
    for box in pg.locator("input[data-layer]").all():
        box.check()
    v = _axe(pg, axe_js)
    if v:
        found["document (popover open, every layer on)"] = v
    pg.keyboard.press("Escape")
    pg.click("label[for=view-diplomatic]")
    v = _axe(pg, axe_js)
    if v:
        found["document (diplomatic)"] = v
    pg.goto(site + "annotations.html")
    pg.select_option("#f-kind", index=1)
    v = _axe(pg, axe_js)
    if v:
        found["annotations (filtered)"] = v
    ctx.close()
    assert found == {}


@pytest.fixture(scope="module")
def frus_site(tmp_path_factory):
    srv, url = _built_and_served(tmp_path_factory, "frus-modern")
    yield url
    srv.shutdown()


@pytest.fixture(scope="module")
def odd_site(tmp_path_factory):
    srv, url = _built_and_served(tmp_path_factory, "frus-odd")
    yield url
    srv.shutdown()


@pytest.mark.parametrize("volume", ["frus-modern", "frus-odd"])
def test_a_note_call_never_starts_a_line(browser, request, volume):
    """A note call stays on the line of the word it follows at any width (frus1964-68v29p2
    Doc. 91 at 390 px: "… to Secretary of State Rusk" then "1" alone on the next line; a
    call after an ellipsis, "[…" then "3]" at 384-396 px): each call stands right of the
    text just before it, on the same line."""
    site = request.getfixturevalue("frus_site" if volume == "frus-modern" else "odd_site")
    ctx = browser.new_context(viewport={"width": 390, "height": 800})
    pg = ctx.new_page()
    pg.goto(site + "d1.html")
    calls = 0
    for width in range(240, 400, 4 if volume == "frus-modern" else 2):
        pg.set_viewport_size({"width": width, "height": 800})
        bad = pg.evaluate("""() => [...document.querySelectorAll('main a.note-call')].map(a => {
            const block = a.closest('p, h1, h2, h3, li, td, th, div');
            const r = document.createRange(); r.setStart(block, 0); r.setEndBefore(a);
            const rects = [...r.getClientRects()].filter(x => x.width > 0);
            const last = rects[rects.length - 1], c = a.getBoundingClientRect();
            return last && (c.left < last.right - 1 || c.top > last.bottom) ? a.textContent : null;
        })""")
        calls = len(bad)
        assert not [b for b in bad if b], f"at {width}px, note call(s) {bad} start a line"
    assert calls >= 3
    ctx.close()


@pytest.mark.parametrize("width", [390, 320])
def test_nothing_scrolls_sideways_at_phone_width(browser, frus_site, width):
    """At phone width no page of a FRUS volume scrolls sideways, nor any part of it: the
    navigation wraps into rows (it scrolled sideways, "Abbreviations" cut at the edge) and the
    volume's title is shown whole (it was cut: "Foreign Relations of the United States, 19…").
    Only a table of the source may scroll in its own box (WCAG 1.4.10: a data table needs
    its two dimensions); the edition's own tables (the redactions page) fit."""
    ctx = browser.new_context(viewport={"width": width, "height": 800}, is_mobile=True, has_touch=True)
    pg = ctx.new_page()
    pg.goto(frus_site + "index.html")
    names = ["index.html", *pg.locator(".site-nav a").evaluate_all("els => els.map(e => e.getAttribute('href'))"),
             "d1.html", "d2.html", "d3.html"]
    assert {"contents.html", "redactions.html", "persons.html", "search.html"} <= set(names), names
    for name in dict.fromkeys(names):
        pg.goto(frus_site + name)
        found = pg.evaluate("""() => {
            const d = document.documentElement, out = [];
            if (d.scrollWidth > d.clientWidth) out.push(`page ${d.scrollWidth}px`);
            for (const e of document.querySelectorAll('body *')) {
                const cs = getComputedStyle(e);
                if (e.clientWidth <= 1 || cs.overflowX === 'visible') continue;   // a hidden label
                if (e.scrollWidth > e.clientWidth + 1 && !e.matches('.tei-text .table-wrap'))
                    out.push(`${e.tagName.toLowerCase()}.${e.className} ${e.scrollWidth}>${e.clientWidth}`);
            }
            const title = document.querySelector('.site-title');
            if (getComputedStyle(title).textOverflow === 'ellipsis') out.push('title cut');
            return out;
        }""")
        assert found == [], f"{name} at {width}px: {found}"
    ctx.close()


@pytest.mark.parametrize("width", [1280, 390])
def test_axe_every_page_type_of_a_frus_volume(browser, frus_site, axe_js, width):
    """axe-core on every page type of a FRUS volume (the first edition's are above): a
    source table's empty corner cell was an empty table header; a table that scrolls in its
    box at phone width is a region the keyboard reaches."""
    ctx = browser.new_context(viewport={"width": width, "height": 900}, bypass_csp=True)
    pg = ctx.new_page()
    pg.goto(frus_site + "index.html")
    names = ["index.html", *pg.locator(".site-nav a").evaluate_all("els => els.map(e => e.getAttribute('href'))"),
             "d1.html", "d2.html", "d3.html"]
    found = {}
    for name in dict.fromkeys(names):
        pg.goto(frus_site + name)
        if name == "search.html":
            continue   # the search box is the first edition's test's
        v = _axe(pg, axe_js)
        if v:
            found[name] = v
    # a table made too wide for the screen scrolls in its box, which the keyboard can reach
    pg.goto(frus_site + "d1.html")
    pg.set_viewport_size({"width": 240, "height": 900})
    pg.evaluate("window.dispatchEvent(new Event('resize'))")
    wrap = pg.locator(".tei-text .table-wrap").first
    if wrap.evaluate("w => w.scrollWidth > w.clientWidth"):
        assert wrap.get_attribute("tabindex") == "0" and wrap.get_attribute("aria-label") == "Forces in Testland"
        v = _axe(pg, axe_js)
        if v:
            found["d1.html at 240px"] = v
    ctx.close()
    assert found == {}
