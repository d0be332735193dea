"""The HTML edition (editio.builders.site): golden document pages, every page type, links,
HTML5 validity, security rules, search index, template overrides."""
from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest
from lxml import html as lhtml

from conftest import ROOTS, run_editio
from sitecheck import broken_links, html_errors, pages, security_problems

GOLDEN = Path(__file__).resolve().parent / "golden"
PAGE_TYPES = ("index.html", "principles.html", "persons.html", "places.html", "organisations.html",
              "concordance.html", "timeline.html", "annotations.html", "search.html")


def build_root(tmp_path_factory, name: str) -> Path:
    dest = tmp_path_factory.mktemp("site") / name
    shutil.copytree(ROOTS / name, dest)
    r = run_editio("build", "--project", dest, "--format", "html")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "0 warning(s)" in r.stdout + r.stderr, r.stdout + r.stderr
    return dest / "build" / "html"


@pytest.fixture(scope="module")
def basic(tmp_path_factory) -> Path:
    return build_root(tmp_path_factory, "site-basic")


def main_of(path: Path) -> str:
    """The <main> of a page, one element per line, for readable golden diffs."""
    text = path.read_text(encoding="utf-8")
    m = re.search(r"<main\b.*?</main>", text, re.S)
    assert m, f"{path.name} has no <main>"
    return re.sub(r"(</(?:p|h[1-6]|li|section|div|blockquote|ol|ul|aside|details|fieldset|nav|header)>)", r"\1\n",
                  m.group(0)).rstrip() + "\n"


@pytest.mark.parametrize("page", ["t001.html", "t002.html", "concordance.html", "persons.html"])
def test_golden(basic, page):
    got = main_of(basic / page)
    golden = GOLDEN / "site-basic" / page
    if os.environ.get("EDITIO_ACCEPT") == "1" or not golden.exists():
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(got, encoding="utf-8")
        if os.environ.get("EDITIO_ACCEPT") != "1":
            pytest.fail(f"new golden file {golden}; check it and commit it")
    want = golden.read_text(encoding="utf-8")
    assert got == want, (f"{page} differs from {golden}. If the new output is right, accept it with\n"
                         f"    EDITIO_ACCEPT=1 .venv/bin/python -m pytest tests/test_site.py -k golden")


def test_every_page_type_is_written(basic):
    for name in (*PAGE_TYPES, "t001.html", "t002.html", "tei/t001.xml", "tei/authority.xml",
                 "assets/web.css", "assets/site.js", "pagefind/pagefind-ui.js", "pagefind/pagefind.js"):
        assert (basic / name).is_file(), name


def test_links_resolve(basic):
    assert broken_links(basic) == []


def test_html5_valid_and_unique_ids(basic):
    errors = [e for p in pages(basic) for e in html_errors(p)]
    assert errors == []


def test_security_rules(basic):
    problems = [e for p in pages(basic) for e in security_problems(p)]
    assert problems == []
    css = (basic / "assets" / "web.css").read_text()
    assert not re.search(r"url\(\s*['\"]?(https?:)?//", css)


def test_tei_text_is_escaped(basic):
    page = (basic / "t001.html").read_text()
    assert "<script>alert" not in page
    # (the quotes are typographic in the edited reading, given twice: q-dip/q-ed)
    assert "&lt;script&gt;alert(" in page and ")&lt;/script&gt; &amp; ampersands" in page
    home = (basic / "index.html").read_text()
    assert "<b>angle brackets</b>" not in home and "&lt;b&gt;angle brackets&lt;/b&gt;" in home


def test_document_page(basic):
    tree = lhtml.parse(str(basic / "t001.html")).getroot()
    # both readings, the toggle, the diplomatic mask and the restoration
    assert tree.xpath('//input[@type="radio"][@id="view-diplomatic"]')
    mask = tree.get_element_by_id("t001-m01")
    assert mask.xpath('.//*[contains(@class,"reading-dip")]')[0].text_content() == "**"
    assert mask.xpath('.//*[contains(@class,"reading-ed")]')[0].text_content() == "Mao Zedong"
    # every annotation: a call in the text and a numbered note
    calls = tree.xpath('//a[@class="note-call"]')
    notes = tree.xpath('//ol[@class="annotations"]/li')
    assert [c.get("href") for c in calls] == [f"#note-{i}" for i in range(1, 6)]
    assert [n.get("id") for n in notes] == [f"note-{i}" for i in range(1, 6)]
    # stable paragraph anchors; the permalink carries the number the margin shows (no text)
    for p in tree.xpath('//*[@data-para]'):
        assert p.xpath('./a[@class="permalink"]/@href') == ["#" + p.get("id")]
        assert p.xpath('./a[@class="permalink"]/@data-n') == [p.get("data-para")]
        assert p.xpath('string(./a[@class="permalink"])') == ""
    # cross-reference target shows who points to it
    refby = tree.xpath('//*[@id="t001-x01"]/following-sibling::span[@class="backlinks"][1]//a/@href')
    assert "t002.html#note-2" in refby
    # entity names link to the index
    assert tree.xpath('//a[@href="persons.html#mikoyan"]')
    # cite block with base_url, TEI and PDF links, JSON-LD
    assert "https://example.org/edition/t001.html" in tree.xpath('string(//*[@class="cite-text"])')
    assert tree.xpath('//a[@href="tei/t001.xml"]') and tree.xpath('//a[@href="../pdf/edition.pdf"]')
    ld = json.loads(tree.xpath('//script[@type="application/ld+json"]')[0].text)
    assert ld["name"] == "Mikoyan at Xibaipo: a test article" and ld["url"].endswith("t001.html")
    assert tree.xpath('//meta[@name="description"]/@content')[0].startswith("Document 1 of")


def test_entity_index(basic):
    tree = lhtml.parse(str(basic / "persons.html")).getroot()
    mao = tree.get_element_by_id("mao-zedong")
    assert mao.xpath('.//span[@lang="zh-Hans"]')[0].text == "毛泽东"
    assert "Chairman Mao" in mao.text_content() and "1893" in mao.text_content()
    hrefs = mao.xpath('.//a[@class="mention"]/@href')
    assert "t001.html#p4" in hrefs and "t001.html#p6" in hrefs
    assert not tree.xpath('//*[@id="eds"]'), "the editors are not an index entry"
    orgs = lhtml.parse(str(basic / "organisations.html")).getroot()
    assert orgs.get_element_by_id("cpv").xpath('.//a[@class="mention"]/@href') == ["t002.html#p3"]


def test_concordance_and_timeline(basic):
    tree = lhtml.parse(str(basic / "concordance.html")).getroot()
    ev = tree.get_element_by_id("ev-visit")
    passages = ev.xpath('.//article[contains(@class,"passage")]')
    assert len(passages) == 2
    texts = [p.xpath('string(.//blockquote)') for p in passages]
    assert "Mikoyan came to Xibaipo" in texts[0] and "February 1949" in texts[1]
    assert "passage-disagrees" in passages[1].get("class")
    assert "visit began on 30 January" in passages[1].text_content()
    tl = lhtml.parse(str(basic / "timeline.html")).getroot()
    ids = [li.get("id") for li in tl.xpath('//li[contains(@class,"tl-item")]')]
    assert ids == ["ev-ev-visit", "ev-ev-withdrawal", "pub-t001"]


def test_annotations_page(basic):
    tree = lhtml.parse(str(basic / "annotations.html")).getroot()
    items = tree.xpath('//li[@class="annot-item"]')
    assert len(items) == 8
    assert {i.get("data-kind") for i in items} == {"redaction", "correction", "crossref", "problem"}
    assert sorted(i.get("data-cert") for i in items if i.get("data-kind") == "redaction") == ["", "high", "low"]
    assert tree.xpath('//form[@id="annot-filter"][@hidden]'), "filters are hidden until the script runs"


def test_principles_page(basic):
    tree = lhtml.parse(str(basic / "principles.html")).getroot()
    text = tree.text_content()
    assert "Key to the signs" in text
    assert "All documents" in text, "identical declarations are given once"
    assert tree.xpath('//code[.="<choice>"]') and tree.xpath('//code[.="@type"]')


def search_fragments(site: Path) -> list[dict]:
    """The pages of a site's Pagefind index as Pagefind stores them (url, meta, filters,
    anchors, content)."""
    import gzip
    out = []
    for f in sorted((site / "pagefind" / "fragment").glob("*.pf_fragment")):
        raw = gzip.decompress(f.read_bytes())
        assert raw.startswith(b"pagefind_dcd")
        out.append(json.loads(raw[len(b"pagefind_dcd"):]))
    return out


def test_search_index_has_records(basic):
    entry = json.loads((basic / "pagefind" / "pagefind-entry.json").read_text())
    # the two texts, the notes of each document by kind (t001: cross-reference, mask,
    # correction, problem; t002: mask, cross-reference), the four index entries
    assert entry["languages"]["en"]["page_count"] == 2 + 6 + 4
    assert (basic / "pagefind" / "filter").is_dir()
    frags = search_fragments(basic)
    assert sorted(f["url"] for f in frags if not f["url"].startswith("/r")) == ["/t001.html", "/t002.html"], \
        "only the pages with a part to index (the texts) are indexed as pages"
    # a note's words are found in its document's notes, under a heading that is the note's
    # own anchor: Pagefind's sub-result for it lands at the note
    (rec,) = [f for f in frags if f["meta"].get("url") == "t001.html#notes"
              and f["filters"].get("annotation") == ["Mask"]]
    assert rec["filters"]["document"] == ["Doc. 1"] and rec["filters"]["type"] == ["Note"]
    assert rec["meta"]["title"] == "Doc. 1, notes: Mask"
    assert [(a["element"], a["id"], a["text"]) for a in rec["anchors"]] == [
        ("h2", "note-2", "Note 2: Mask, restored"), ("h2", "note-4", "Note 4: Mask, not restored")]
    words = rec["content"].split()   # the note's words follow its heading
    second = " ".join(words[rec["anchors"][0]["location"]:rec["anchors"][1]["location"]])
    assert second.startswith("Note 2: Mask") and "The mask stands for Mao" in second
    page = lhtml.parse(str(basic / "t001.html")).getroot()
    assert page.get_element_by_id("note-2") is not None and page.get_element_by_id("note-4") is not None
    entries = [f for f in frags if f["meta"].get("url", "").startswith("persons.html#")]
    assert {f["meta"]["title"] for f in entries} == {"Anastas Mikoyan (Person)", "Mao Zedong (Person)"}
    assert all(not v for f in frags for vs in f["filters"].values() for v in vs if not v.strip()), \
        "no empty filter value"


def test_site_without_the_search_indexer(tmp_path):
    """Pagefind missing: the site is built without its search index, and the build says so
    (the indexer is started while pages are still being made; its failure there is no
    failure of the build)."""
    dest = tmp_path / "p"
    shutil.copytree(ROOTS / "site-basic", dest)
    r = run_editio("build", "--project", dest, "--format", "html",
                   env={"PAGEFIND_BINARY_PATH": str(tmp_path / "no-such-pagefind")})
    assert r.returncode == 0, r.stderr
    assert "search index not built" in r.stderr and "[html.search]" in r.stderr, r.stderr
    assert "Traceback" not in r.stderr
    site = dest / "build" / "html"
    assert (site / "t001.html").is_file() and (site / "annotations.html").is_file()
    assert not (site / "pagefind").exists()


def test_template_override(tmp_path):
    dest = tmp_path / "p"
    shutil.copytree(ROOTS / "site-basic", dest)
    (dest / "templates" / "html").mkdir(parents=True)
    (dest / "templates" / "html" / "home.html").write_text(
        '{% extends "base.html" %}{% block main %}<h1>Custom home of {{ project.title }}</h1>{% endblock %}')
    r = run_editio("build", "--project", dest, "--format", "html")
    assert r.returncode == 0, r.stderr
    assert "<h1>Custom home of Site test edition</h1>" in (dest / "build/html/index.html").read_text()
    assert "Mikoyan at Xibaipo" in (dest / "build/html/t001.html").read_text()


def test_edition_site(edition_site):
    """The real edition: every page type, links, validity, security."""
    for name in PAGE_TYPES:
        assert (edition_site / name).is_file()
    docs = [p for p in pages(edition_site) if re.fullmatch(r"d\d+\.html", p.name)]
    assert len(docs) >= 5
    assert broken_links(edition_site) == []
    assert [e for p in pages(edition_site) for e in html_errors(p)] == []
    assert [e for p in pages(edition_site) for e in security_problems(p)] == []


@pytest.mark.slow
def test_frus_volume(tmp_path, frus_edition):
    """A real FRUS volume renders (unknown elements fall back with located warnings) and the
    site's links resolve."""
    from editio.builders.site import build_site
    from editio.diagnostics import Report
    report = Report()
    site = build_site(frus_edition, tmp_path / "html", report)
    assert (site / "index.html").is_file() and (site / "frus1917-72PubDip.html").is_file()
    assert all(d.line for d in report.items if d.code == "element.unknown")
    assert broken_links(site) == []
    assert [e for p in pages(site) for e in html_errors(p)] == []


def test_an_image_the_edition_does_not_hold_is_said_in_its_place(tmp_path):
    """``graphic``s naming images the project does not hold (FRUS ``url="Document A.1"``,
    ``"figure_0001.tif"``): one located warning from the check for the file, which also
    says that a name with a space is no URL (no second, schema, warning on the same
    attribute); in the page, where each image would stand and never as a broken image,
    "Image not included" in the reader's words, never the file name: with the figure's
    description (``figDesc``) when it has one, alone when its caption (``head``) says what
    it was, else with the page of the source it stood on."""
    proj = tmp_path / "p"
    shutil.copytree(ROOTS / "valid", proj)
    a = proj / "tei" / "a.xml"
    a.write_text(a.read_text(encoding="utf-8").replace(
        "<p>The joint",
        '<pb n="12"/><figure><graphic url="Plate 3"/></figure>\n'
        '        <figure><graphic url="figure_0099.png"/><figDesc>A map of the river crossing.</figDesc></figure>\n'
        '        <figure><head>The bridge</head><graphic url="bridge.png"/></figure>\n'
        "        <p>The joint", 1), encoding="utf-8")
    r = run_editio("build", "--project", proj, "--format", "html", "--keep-going")
    assert r.returncode == 0, r.stderr
    warned = [ln for ln in r.stderr.splitlines() if "[ref.missing]" in ln]
    assert len(warned) == 1 and re.match(
        r'tei/a\.xml:\d+:\d+: warning: 3 images named by @url are not in the project \("Plate 3", '
        r'"figure_0099\.png", "bridge\.png"\); one of the names holds a space, which a URL may not; '
        r'the text says "Image not included" in place \[ref\.missing\]$', warned[0]), warned
    assert "[schema.invalid]" not in r.stderr, r.stderr
    site = proj / "build" / "html"
    page = next(p for p in site.glob("*.html") if "graphic-missing" in p.read_text(encoding="utf-8"))
    doc = lhtml.parse(str(page)).getroot()
    spans = doc.xpath("//span[contains(@class, 'graphic-missing')]")
    assert [s.text_content() for s in spans] == [
        "[Image not included: figure on p. 12]", "[Image not included: A map of the river crossing.]",
        "[Image not included]"]
    assert spans[2].getparent().xpath("string(figcaption)") == "The bridge"
    assert all(s.get("role") == "img" and s.get("aria-label") == s.text_content()[1:-1] for s in spans)
    assert not doc.xpath("//img") and "figure_0099" not in doc.xpath("string(//main)")
