"""Reading the edition in headless Chromium: the calm text and its layers, the diplomatic
view as the witness, side by side, paragraph numbers in the margin, the shipped fonts,
dark mode. (Static checks of the same pages are at the end.)"""
from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from conftest import REPO, run_editio
from test_browser import ARGS, CHROMIUM, Watch, _axe, axe_js, serve  # noqa: F401 (fixture)

sync_api = pytest.importorskip("playwright.sync_api")

GENERIC = {"serif", "sans-serif", "monospace", "cursive", "fantasy", "system-ui", "ui-serif",
           "ui-sans-serif", "ui-monospace", "ui-rounded", "emoji", "math", "fangsong", "inherit",
           "initial", "unset"}


@pytest.fixture(scope="module")
def site(edition_site):
    srv, url = serve(edition_site)
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


def new_page(browser, site, width=1280, **kw):
    ctx = browser.new_context(viewport={"width": width, "height": 900}, **kw)
    pg = ctx.new_page()
    return ctx, pg, Watch(pg, site)


def doc_pages(edition_site) -> list[str]:
    return sorted(p.name for p in edition_site.glob("d*.html"))


def words(s: str) -> str:
    return " ".join(s.split())


@pytest.mark.browser
def test_calm_text_and_layers(browser, site):
    """By default names, cross-reference passages, noted errors and back-links are not
    marked; each is a layer the reader turns on, remembered on the next page."""
    ctx, pg, w = new_page(browser, site)
    pg.goto(site + "d004.html")
    name = pg.locator(".tei-text a.entity").first
    xref = pg.locator(".tei-text .annot-crossref").first
    assert "underline" not in name.evaluate("e => getComputedStyle(e).textDecorationLine")
    assert "underline" not in xref.evaluate("e => getComputedStyle(e).textDecorationLine")
    assert pg.locator(".tei-text .backlinks").first.is_hidden()
    # the restorations and corrections stay marked
    assert pg.locator(".annot-redaction .reading-ed").first.evaluate(
        "e => getComputedStyle(e).borderBottomStyle") != "none"
    # the control is in the header, not over the text
    assert pg.locator(".site-header .reading-tools").is_visible()
    assert pg.locator(".reading-tools").evaluate("e => getComputedStyle(e.closest('header')).position") == "static"
    pg.click(".layers summary")
    pg.check("#layer-names")
    pg.check("#layer-backlinks")
    assert "underline" in name.evaluate("e => getComputedStyle(e).textDecorationLine")
    back = pg.locator(".tei-text .backlinks").first
    assert back.is_visible()
    # on a wide screen a back-link stands in the margin, beside the text, not in the sentence
    text_right = pg.locator(".doc-body").evaluate("e => e.getBoundingClientRect().right")
    assert back.bounding_box()["x"] >= text_right
    pg.goto(site + "d001.html")
    assert pg.locator("#layer-names").is_checked() and not pg.locator("#layer-xrefs").is_checked()
    assert "underline" in pg.locator(".tei-text a.entity").first.evaluate(
        "e => getComputedStyle(e).textDecorationLine")
    w.check()
    ctx.close()
    # without JavaScript: the calm text, no side-by-side option
    ctx = browser.new_context(java_script_enabled=False)
    pg = ctx.new_page()
    pg.goto(site + "d004.html")
    assert "underline" not in pg.locator(".tei-text a.entity").first.evaluate(
        "e => getComputedStyle(e).textDecorationLine")
    assert pg.locator("label[for=view-parallel]").is_hidden()
    ctx.close()


@pytest.mark.browser
def test_diplomatic_view_is_the_witness(browser, site, edition_site):
    """What a reader sees in the diplomatic view is the witness, word for word: no note
    calls, restorations, back-links, labels or numbers in it; and nothing marked."""
    ctx, pg, w = new_page(browser, site)
    pg.goto(site + "d004.html")
    pg.click(".layers summary")
    for box in pg.locator("input[data-layer]").all():
        box.check()  # the reader's layers add nothing to the diplomatic view
    for page in doc_pages(edition_site):
        tei = REPO / "tei" / page.replace(".html", ".xml")
        want = run_editio("text", str(tei), "--view", "diplomatic", "--project", str(REPO))
        assert want.returncode == 0, want.stderr
        pg.goto(site + page + "?view=diplomatic")
        assert pg.locator("#view-diplomatic").is_checked()
        seen = pg.locator(".doc-body .tei-text").inner_text()
        assert words(seen) == words(want.stdout), page
        marked = pg.evaluate("""() => [...document.querySelectorAll('.doc-body .tei-text *')].filter(e => {
            const s = getComputedStyle(e);
            return e.offsetParent !== null && !e.classList.contains('permalink') &&
                   (s.textDecorationLine !== 'none' || s.borderBottomStyle !== 'none' ||
                    s.backgroundColor !== 'rgba(0, 0, 0, 0)');
        }).map(e => e.className).slice(0, 5)""")
        assert marked == [], (page, marked)
    pg.goto(site + "d004.html?view=edited")
    w.check()
    ctx.close()


@pytest.mark.browser
def test_side_by_side(browser, site):
    ctx, pg, w = new_page(browser, site)
    pg.goto(site + "d004.html")
    pg.click("label[for=view-parallel]")
    paras = pg.locator(".tei-text [data-para]")
    n = paras.count()
    assert n > 20 and pg.locator(".dip-cell").count() == n
    # aligned: each diplomatic cell starts level with its edited cell
    for i in (0, 5, n - 1):
        d, e = paras.nth(i).locator(".dip-cell"), paras.nth(i).locator(".ed-cell")
        assert abs(d.bounding_box()["y"] - e.bounding_box()["y"]) < 2
        assert d.bounding_box()["x"] + d.bounding_box()["width"] <= e.bounding_box()["x"]
    assert pg.locator(".dip-cell .note-call").first.is_hidden()
    assert pg.locator(".dip-cell [id]").count() == 0
    assert pg.evaluate("document.documentElement.scrollWidth") <= 1280
    pg.reload()
    assert pg.locator("#view-parallel").is_checked() and pg.locator(".dip-cell").first.is_visible()
    w.check()
    ctx.close()
    # a phone shows one text
    ctx, pg, w = new_page(browser, site, width=375)
    pg.goto(site + "d004.html?view=parallel")
    assert pg.locator("label[for=view-parallel]").is_hidden()
    assert pg.locator(".dip-cell").first.is_hidden() and pg.locator(".ed-cell").first.is_visible()
    assert pg.evaluate("document.documentElement.scrollWidth") <= 375
    ctx.close()


@pytest.mark.browser
@pytest.mark.parametrize("width", [1280, 375])
def test_paragraph_numbers_in_the_margin(browser, site, width):
    ctx, pg, w = new_page(browser, site, width=width)
    pg.goto(site + "d002.html")
    p = pg.locator(".tei-text p[data-para]").nth(3)
    num = p.locator("a.permalink")
    assert num.evaluate("e => getComputedStyle(e, '::before').content") == f'"{p.get_attribute("data-para")}"'
    nb, pb = num.bounding_box(), p.bounding_box()
    assert nb["x"] + nb["width"] <= pb["x"] and nb["x"] >= 0, "the number is left of the text, on screen"
    assert num.inner_text() == ""
    ctx.close()


def font_families(css: str) -> set[str]:
    names = set()
    for decl in re.findall(r"(?:font-family|--serif|--sans|--cjk|--mono)\s*:\s*([^;}]+)", css):
        for part in decl.split(","):
            part = part.strip().strip('"\'')
            if part and not part.startswith("var(") and part.lower() not in GENERIC:
                names.add(part)
    return names


@pytest.mark.browser
def test_every_font_named_is_shipped_and_loaded(browser, site, edition_site):
    assets = edition_site / "assets"
    faces = (assets / "fonts.css").read_text(encoding="utf-8")
    declared = dict(re.findall(r'font-family:\s*"([^"]+)";[^}]*?src:\s*url\(([^)]+)\)', faces, re.S))
    assert declared, "fonts.css declares the shipped faces"
    for family, url in declared.items():
        assert (assets / url).is_file(), url
    named = font_families((assets / "web.css").read_text(encoding="utf-8"))
    assert named and named <= set(declared), f"named but not shipped: {named - set(declared)}"
    ctx, pg, w = new_page(browser, site)
    for page, want in (("d004.html", {"editio Garamond"}), ("persons.html", set(declared))):
        pg.goto(site + page)
        loaded = pg.evaluate("""async () => { await document.fonts.ready;
            return [...document.fonts].filter(f => f.status === 'loaded').map(f => f.family.replace(/"/g, '')); }""")
        assert want <= set(loaded), (page, loaded)
    # Chinese renders in the shipped face (no empty boxes where no system CJK font exists)
    pg.goto(site + "persons.html")
    cjk = pg.locator(":lang(zh)").first
    assert pg.evaluate("""async (e) => { await document.fonts.ready;
        return document.fonts.check('16px "editio Serif CJK"', e.textContent); }""", cjk.element_handle())
    w.check()
    ctx.close()


@pytest.mark.browser
def test_popover_type_size_and_dark_mode(browser, site, axe_js):
    ctx, pg, w = new_page(browser, site, color_scheme="dark", bypass_csp=True)
    pg.goto(site + "d004.html")
    bg = pg.evaluate("getComputedStyle(document.body).backgroundColor")
    assert bg != "rgb(253, 253, 251)", "dark mode follows prefers-color-scheme"
    call = pg.locator("a.note-call").first
    call.click()
    pop = pg.locator(".popover")
    assert pop.is_visible()
    size = pop.evaluate("e => parseFloat(getComputedStyle(e).fontSize)")
    call_size = call.evaluate("e => parseFloat(getComputedStyle(e).fontSize)")
    assert size >= 15 and size > call_size
    pg.keyboard.press("Escape")
    assert _axe(pg, axe_js) == []
    pg.click("label[for=view-parallel]")
    assert _axe(pg, axe_js) == []
    ctx.close()


# ---------------------------------------------------------------- static checks

def test_search_leaves_out_what_is_not_the_reading(edition_site):
    """Pagefind is told to skip the source readings, calls, numbers and back-links."""
    sys.path.insert(0, str(REPO / "src"))
    from editio.builders.site import SEARCH_EXCLUDE
    for sel in (".reading-dip", ".note-call", ".backlinks", ".permalink"):
        assert sel in SEARCH_EXCLUDE
    html = (edition_site / "d004.html").read_text(encoding="utf-8")
    assert "¶</a>" not in html


# the transcription (the source's own words), quotations of it and the page's address are
# not the editors' text; everything else a reader sees is
NOT_EDITORS = ('//script|//style|//*[@hidden]|//code|//*[contains(@class, "tei-text")]'
               '|//*[contains(@class, "reading-dip")]|//*[contains(@class, "note-dip")]'
               '|//*[contains(@class, "cite-url")]|//*[contains(@class, "cite-hint")]')
ISO = re.compile(r"(?<![\w/.-])\d{4}-(?:0[1-9]|1[0-2])(?:-\d{2})?(?![\w/-])")
TOKEN = re.compile(r"(?<![\w#/.-])[A-Za-z_][\w.-]*\d[\w.-]*(?<![.-])")
QUOTED = re.compile(r"“[^”]*”|\"[^\"]*\"")


def visible_text(path: Path) -> str:
    from lxml import html
    root = html.parse(str(path)).getroot()
    for el in root.xpath(NOT_EDITORS):
        if el.getparent() is not None:
            el.getparent().remove(el)
    return " ".join(root.text_content().split())


def test_reader_language_on_every_page(edition_site):
    """No xml:id and no ISO date in what a reader sees (the transcription and quotations
    of the source aside): documents as "Doc. 3", events by name, dates in words."""
    ids = set()
    for f in (REPO / "tei").glob("*.xml"):
        ids |= {i for i in re.findall(r'xml:id="([^"]+)"', f.read_text(encoding="utf-8"))
                if any(c.isdigit() for c in i)}
    assert ids
    found = {}
    for page in sorted(edition_site.glob("*.html")):
        if page.name == "principles.html":   # the encoding appendix names TEI on purpose
            continue
        text = QUOTED.sub("", visible_text(page))
        bad = [m.group(0) for m in ISO.finditer(text)] + [t for t in TOKEN.findall(text) if t in ids]
        if bad:
            found[page.name] = bad[:8]
    assert found == {}


def test_dates_in_words():
    sys.path.insert(0, str(REPO / "src"))
    from editio.dates import in_words, iso_in_words, range_in_words
    assert in_words("1950-10-25") == "25 October 1950" and in_words("1958-02") == "February 1958"
    assert range_in_words("1957-12-16", "1957-12-25") == "16–25 December 1957"
    assert range_in_words("1949-01-30", "1949-02-07") == "30 January – 7 February 1949"
    assert range_in_words("1954-09-16", "1955-10-26") == "16 September 1954 – 26 October 1955"
    assert iso_in_words("date: 1949-02-08 against 1949-01-30/1949-02-07") == \
        "date: 8 February 1949 against 30 January – 7 February 1949"
    assert iso_in_words("see https://x.org/2011-06/24/a.htm") == "see https://x.org/2011-06/24/a.htm"


def test_index_mentions_grouped_by_document():
    """"Doc. 5: ¶¶ 1, 4, 36–38; note 3"; past fifteen paragraphs "¶¶ 2–98 passim"."""
    sys.path.insert(0, str(REPO / "src"))
    from editio.builders.site import Mention, mention_groups

    class Rd:
        def __init__(self, i):
            self.id, self.label = f"d{i}", f"Doc. {i}"
    a, b = Rd(5), Rd(6)
    ms = [Mention(a, f"¶ {n}", f"d5.html#p{n}", "Mikoyan") for n in (36, 1, 4, 37, 38, 4)]
    ms.append(Mention(a, "note 3", "d5.html#note-3", "Mikoyan"))
    ms += [Mention(b, f"¶ {n}", f"d6.html#p{n}", "Mikoyan") for n in range(2, 40, 2)]
    g5, g6 = mention_groups(ms, {"d5": "d5.html", "d6": "d6.html"})
    assert [p["sign"] for p in g5["parts"]] == ["¶¶", "note"]
    assert [t for t, _ in g5["parts"][0]["items"]] == ["1", "4", "36–38"]
    assert g5["parts"][0]["items"][2][1] == "d5.html#p36"
    assert g6["parts"][0]["passim"] and g6["parts"][0]["items"][0][0] == "2–38"


def test_concordance_shows_the_disagreement(edition_site):
    """A dated list of events; the established facts open above the passages; a note
    shared by passages printed once; what a disagreeing passage differs in, set out."""
    from lxml import html
    root = html.parse(str(edition_site / "concordance.html")).getroot()
    items = root.xpath('//ol[@class="event-list"]/li')
    assert items and all(li.xpath('string(span[@class="ev-date"])').strip() for li in items)
    assert not root.xpath('//details[contains(@class, "event-facts")]')
    assert root.xpath('//div[@class="event-facts"]')
    assert root.xpath('//p[@class="passage-differs"]')
    for ev in root.xpath('//section[@class="event"]'):
        notes = [" ".join(n.text_content().split()[2:]) for n in ev.xpath('.//div[@class="passage-note"]')]
        full = [n for n in notes if not n.startswith("as the note on")]
        assert len(full) == len(set(full)), ev.get("id")


def test_spacing_regularised_silently_and_quotes_typographic(edition_site):
    """Missing spaces are corrected without a call or a note (declared once in the Note
    on the text, listed with the annotations); straight quotes are typographic in the
    edited reading and as the source has them in the diplomatic one."""
    from lxml import html
    for page in doc_pages(edition_site):
        text = (edition_site / page).read_text(encoding="utf-8")
        assert "space added" not in text and "space removed" not in text, page
    principles = " ".join(visible_text(edition_site / "principles.html").split())
    assert "Spacing is regularised silently" in principles
    listing = " ".join(visible_text(edition_site / "annotations.html").split())
    assert re.search(r"Spacing regularised silently \(\d+\): ¶", listing)
    root = html.parse(str(edition_site / "d003.html")).getroot()
    pairs = [(d.text, d.getnext().text) for d in root.xpath("//span[@class='q-dip']")]
    assert pairs and all(a in "'\"" and b in "‘’“”" for a, b in pairs), pairs[:5]
    # the edited view reads the typographic character only (the other is hidden)
    css = (edition_site / "assets" / "web.css").read_text(encoding="utf-8")
    assert ".q-dip { display: none; }" in css


@pytest.mark.browser
def test_quotes_in_each_view(browser, site):
    ctx, pg, w = new_page(browser, site)
    pg.goto(site + "d003.html?view=edited")
    ed = pg.locator(".doc-body .tei-text").inner_text()
    assert "People’s" in ed and "People's" not in ed
    pg.goto(site + "d003.html?view=diplomatic")
    dip = pg.locator(".doc-body .tei-text").inner_text()
    assert "People's" in dip and "People’s" not in dip
    w.check()
    ctx.close()
