"""FRUS volumes nobody has seen: tests/roots/frus-variants is a small volume in the older
style of the series (chapters and subchapters, a president's message in the front matter, a
title page, inclosures as frus:attachment in the first frus namespace, a chapter whose
documents are elsewhere, tables, ordered and nested lists, verse, a postscript, a missing
image, rend values the three volumes of the corpus do not use, a page break inside a
footnote, and the XInclude of the series' shared date taxonomy, not in the project).  A
plain `editio build` with the profile makes the site and the book, and they read well."""
from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest
from lxml import html as lhtml

from conftest import ROOTS, run_editio
from sitecheck import broken_links


@pytest.fixture(scope="module")
def volume(tmp_path_factory):
    return _built(tmp_path_factory, "frus-variants")


def _built(tmp_path_factory, root: str):
    """tests/roots/``root`` copied and built (site and book): (its folder, the run)."""
    dest = tmp_path_factory.mktemp(root) / "v"
    shutil.copytree(ROOTS / root, dest)
    return dest, run_editio("build", "--project", dest, timeout=600)


def page(volume, name):
    return lhtml.parse(str(volume[0] / "build" / "html" / name)).getroot()


def text(el) -> str:
    return " ".join(el.text_content().split())


def test_a_plain_build_makes_site_and_book_with_located_warnings(volume):
    dest, r = volume
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
    assert (dest / "build" / "pdf" / "edition.pdf").stat().st_size > 10_000
    warnings = [ln for ln in r.stderr.splitlines() if ": warning: " in ln]
    assert all(re.match(r"tei/frus-variants\.xml:\d+:\d+: warning: .* \[[a-z.-]+\]$", ln) for ln in warnings), warnings
    codes = {ln.rsplit("[", 1)[1].rstrip("]") for ln in warnings}
    # the shared taxonomy of the series' repository is not here: left out, said where
    assert "xinclude.missing" in codes and "ref.missing" in codes and "element.unknown" not in codes
    assert any('"../shared/frus-dates.xml"' in ln for ln in warnings)
    # and nothing else about it: the header's classDecl is the series' (frus.rng allows it),
    # and its emptiness is the missing file's ("Expecting an element , got nothing" was a
    # second warning on the line above)
    assert "schema.invalid" not in codes, warnings
    assert " error: " not in r.stderr
    r = run_editio("check", "--project", dest, "--strict")
    assert r.returncode == 1 and "[xinclude.missing]" in r.stdout


def test_every_paragraph_number_a_label_can_cite_is_in_the_margin(volume):
    """On every page the margin numbers run 1, 2, 3 … and each numbered line shows its
    own: a table is one paragraph (its caption and rows are not counted unseen), list
    items, verse lines, a postscript, an attachment's heads."""
    site = volume[0] / "build" / "html"
    pages = 0
    for p in sorted(site.glob("*.html")):
        body = lhtml.parse(str(p)).getroot().find_class("tei-text")
        if not body:
            continue
        pages += 1
        nums = [int(a.get("data-n")) for a in body[0].iter("a") if a.get("class") == "permalink"]
        paras = [int(e.get("data-para")) for e in body[0].iter() if e.get("data-para")]
        assert nums == list(range(1, len(nums) + 1)) and paras == nums, (p.name, nums, paras)
    assert pages >= 5
    d1 = page(volume, "d1.html")
    table = d1.xpath("//div[contains(@class,'tei-table')][@data-para]")[0]
    assert table.xpath("./a[@class='permalink']") and table.xpath(".//caption[.='Statement of claims']")
    assert [text(th) for th in table.xpath(".//th")] == ["Claimant", "Amount"], "row role=label: a header row"


def test_documents_read_like_the_volume(volume):
    d1 = page(volume, "d1.html")
    assert text(d1.xpath("//main//h1")[0]) == "Mr. Hay to Mr. Smith."
    assert d1.xpath("//span[@id='pg_5']/following::h1"), "the page marker before the heading"
    # an inclosure in the first frus namespace, set off; the closing and signature
    att = d1.xpath("//section[contains(@class,'attachment')]")[0]
    assert "[Inclosure.]" in text(att) and "A. Brown." in text(att)
    assert d1.xpath("//div[contains(@class,'tei-closer')]/p[contains(@class,'tei-signed')][contains(.,'John Hay')]")
    assert [text(li) for li in d1.xpath("//ol/li")][0] == "That the claim be paid;"
    # a page break inside a footnote: the page marker is there, and the index reaches it
    assert d1.xpath("//ol[@class='annotations']//span[@id='pg_6']")
    index = page(volume, "doc-index.html")
    assert index.xpath("//a[.='6']/@href") == ["d1.html#pg_6"]
    assert index.xpath("//a[.='3']/@href") == ["message.html#pg_3"]
    d3 = page(volume, "d3.html")
    for cls in ("rend-underline", "rend-smallcaps", "rend-superscript", "rend-strikethrough", "rend-bold"):
        assert d3.xpath(f"//*[contains(@class,'{cls}')]"), cls
    assert [text(l) for l in d3.xpath("//*[contains(@class,'tei-lg')]/*[contains(@class,'tei-l')]")] == \
        ["A line of verse,", "and another."]
    # an image not in the project: in the reader's words, never its file name (the caption says what it was)
    assert "[Image not included]" in text(d3) and "figure_0002" not in text(d3)
    assert d3.xpath("string(//figure[.//*[contains(@class,'graphic-missing')]]/figcaption)") == "Map of Testland"
    assert "P.S. The minister leaves tomorrow." in text(d3)
    assert d3.xpath("//a[@href='https://history.state.gov/historicaldocuments/frus1898/d12']")
    assert d3.xpath("//a[@href='d1.html#note-2']"), "#d1fn2: footnote 2 of Document 1"
    # the title page's page markers open no page (the site has its own home page)
    msg = page(volume, "message.html")
    assert not msg.xpath("//span[@id='pg_1']")
    assert "William McKinley." in text(msg)
    assert broken_links(volume[0] / "build" / "html") == []


def test_a_chapter_whose_documents_are_elsewhere_is_a_page(volume):
    ch2 = page(volume, "ch2.html")
    assert "printed in the microfiche supplement" in text(ch2)
    contents = page(volume, "contents.html")
    assert contents.xpath("//a[@href='ch2.html'][contains(.,'Boundary Question')]")
    hrefs = contents.xpath("//a/@href")
    assert hrefs.index("d2.html") < hrefs.index("ch2.html") < hrefs.index("d3.html")


def test_the_printed_indexs_own_page_breaks_are_no_markers_in_the_index(volume):
    """The page breaks of the printed index's own pages (between its entries and after the
    last: v23p2's "[p. 561] [p. 562] [p. 563] [p. 564]"; the one just before its heading,
    "[p. 539]") are noise in an index set anew as a
    list: the FRUS profile's behaviour row makes them anchors (a pointer to the page still
    lands), no marker; the entries around one stay one list.  In the book, no marker either."""
    index = page(volume, "doc-index.html")
    shown = text(index.xpath("//main")[0])
    assert not re.search(r"\[p\. (6a|7|8)\]", shown), shown
    assert index.xpath("//*[@id='pg_6a']") and index.xpath("//*[@id='pg_7']") and index.xpath("//*[@id='pg_8']")
    entries = index.xpath("//main//div[contains(@class,'hanging-list')]/ul")
    assert len(entries) == 1 and [text(li).split(",")[0] for li in entries[0].xpath("li")] == [
        "Brown", "Testland"]
    # a document's own page breaks are markers still
    assert "[p. 3]" in text(page(volume, "message.html"))
    if shutil.which("pdftotext"):
        flat = " ".join(subprocess.run(["pdftotext", str(volume[0] / "build" / "pdf" / "edition.pdf"), "-"],
                                       capture_output=True, text=True, check=True).stdout.split())
        assert "Testland, Legation in" in flat and not re.search(r"\[p\. (6a|7|8)\]", flat)


def test_the_book_of_the_volume(volume):
    if not shutil.which("pdftotext"):
        pytest.skip("pdftotext not installed")
    pdf = volume[0] / "build" / "pdf" / "edition.pdf"
    out = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True,
                         check=True).stdout
    flat = " ".join(out.split())
    for words in ("Mr. Hay to Mr. Smith.", "Boundary Question", "The documents on the boundary question are printed",
                  "[Inclosure.]", "Statement of claims", "P.S. The minister leaves tomorrow.",
                  "Hay, John, Secretary of State"):
        assert words in flat, words
    assert "600x338" not in flat and "frus-dates" not in flat


def test_plain_text_carries_on_past_a_missing_include_as_build_does(root_copy):
    """`editio text` reads the file as `editio build` does: the include of the series'
    shared taxonomy, not here, is a located warning under the FRUS profile and the text
    is written; where the include is an error (the default profile), nothing is."""
    dest = root_copy("frus-variants")
    r = run_editio("text", "tei/frus-variants.xml", cwd=dest)
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
    assert r.stderr.splitlines() == [
        'tei/frus-variants.xml:28:1: warning: xi:include href "../shared/frus-dates.xml": '
        'no such file; left out [xinclude.missing]']
    assert "Mr. Hay to Mr. Smith." in r.stdout and "P.S. The minister leaves tomorrow." in r.stdout
    r = run_editio("text", "--project", dest, dest / "tei" / "frus-variants.xml", "--view", "edited")
    assert r.returncode == 0 and "[xinclude.missing]" in r.stderr and "Mr. Hay" in r.stdout
    r = run_editio("text", "--profile", "default", "tei/frus-variants.xml", cwd=dest)
    assert r.returncode == 1 and r.stdout == "" and "Traceback" not in r.stderr
    assert r.stderr.startswith("tei/frus-variants.xml:28:1: error: ") and "[xinclude.missing]" in r.stderr


# ----------------------------------------------------------------- a recent volume
@pytest.fixture(scope="module")
def modern(tmp_path_factory):
    """tests/roots/frus-modern (the style of the volumes since 1969-1976), built once."""
    return _built(tmp_path_factory, "frus-modern")


def test_a_recent_volume_builds_with_located_warnings_only(modern):
    dest, r = modern
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
    warnings = [ln for ln in r.stderr.splitlines() if ": warning: " in ln]
    assert all(re.match(r"tei/frus-modern\.xml:\d+:\d+: warning: .* \[[a-z.-]+\]$", ln) for ln in warnings), warnings
    # names with no List of Persons in the volume: said where, printed as plain names
    assert sum("[ref.missing]" in ln for ln in warnings) >= 4 and " error: " not in r.stderr
    # a local pointer written without its "#" (target="pg_4"): the warning says what was meant
    assert any('@target "pg_4" resolves to nothing (a local pointer takes a "#": "#pg_4")' in ln
               for ln in warnings), warnings
    d1 = page(modern, "d1.html")
    assert not d1.xpath("//main//a[contains(@href,'#p_')]")
    assert "Ambassador Tesla, Embassy of Testland" in text(d1)
    assert broken_links(dest / "build" / "html") == []
    for p in (dest / "build" / "html").glob("d*.html"):
        shown = text(lhtml.parse(str(p)).getroot().xpath("//main")[0])
        for word in ("frus:attachment", "div type", "d1fn", "ch1fn", "comp1", "ch2subch1"):
            assert word not in shown, (p.name, word)


def test_a_chapters_own_text_opens_its_first_document(modern):
    """A chapter's introductory text before its first document is shown: on the site at
    the head of the first document's page, set off; in the book after the chapter's
    heading, before the document.  The page break before it comes with it."""
    d1 = page(modern, "d1.html")
    intro = d1.xpath("//section[contains(@class,'division-text')]")
    assert len(intro) == 1 and intro[0].get("aria-label") == \
        "The New Administration and Testland, January 1969–June 1970"
    # under the chapter's heading, which carries its footnote (the book sets the heading
    # itself, without it)
    assert text(intro[0].xpath("./h2")[0]) == "The New Administration and Testland, January 1969–June 1970*"
    assert text(intro[0].xpath("./h2/following-sibling::p")[0]).startswith("The documents in this chapter follow the review")
    call = intro[0].xpath("./h2/a[@class='note-call']")[0]
    note = d1.xpath(f"//li[@id='{call.get('href')[1:]}']")[0]
    assert text(note).startswith("For the period before January 1969, see Foreign Relations, 1964–1968")
    assert intro[0].xpath(".//a[@href='https://history.state.gov/historicaldocuments/frus1969-76v01/d12']")
    assert d1.xpath("//span[@id='pg_1']/following::section[contains(@class,'division-text')]")
    assert intro[0].xpath("following::h1[starts-with(normalize-space(),'1. Action Memorandum')]")
    assert not page(modern, "d2.html").xpath("//section[contains(@class,'division-text')]")
    # a subchapter with no text but a note on its heading: the heading and its note open Doc. 3
    sub = page(modern, "d3.html").xpath("//section[contains(@class,'division-text')]")
    assert len(sub) == 1 and text(sub[0]) == "The First Round*"
    assert "The second round is in a later volume." in text(page(modern, "d3.html").xpath("//ol[@class='annotations']")[0])
    # the contents lead to it, under its chapter, before the first document
    contents = page(modern, "contents.html")
    hrefs = contents.xpath("//main//li/a/@href")
    assert contents.xpath("//li[@class='contents-intro']/a[.='Introduction']/@href") == ["d1.html#intro-ch1"]
    assert hrefs.index("d1.html#intro-ch1") + 1 == hrefs.index("d1.html") and intro[0].get("id") == "intro-ch1"
    if shutil.which("pdftotext"):
        flat = " ".join(subprocess.run(["pdftotext", str(modern[0] / "build" / "pdf" / "edition.pdf"), "-"],
                                       capture_output=True, text=True, check=True).stdout.split())
        at = flat.index("The documents in this chapter follow the review")
        assert flat.rindex("January 1969–June 1970", 0, at) < at < flat.index("1. Action Memorandum", at)


def test_a_recent_volumes_documents_read_as_published(modern):
    d1 = page(modern, "d1.html")
    # the summary is printed under the heading, not as a footnote
    summary = d1.xpath("//p[contains(concat(' ', @class, ' '), ' summary ')]")
    assert len(summary) == 1 and text(summary[0]).startswith("Green recommended that the Secretary")
    assert summary[0].xpath("preceding::h1") and not summary[0].xpath("ancestor::ol")
    # the chapter's note (its own series, by symbol), then the document's as the TEI numbers them
    assert [a.text for a in d1.xpath("//main//a[@class='note-call']")] == ["*", "1", "2", "3", "4"]
    # a footnote whose @target leads nowhere ("d1fn4", no "#") is a footnote where it stands
    # (it was left out: read as a note attached to a passage that is not there)
    assert d1.xpath("//p[contains(@class,'tei-signed')][contains(.,'Marshall Green')]/a[@class='note-call'][.='4']")
    assert "Printed from a copy that bears this typed signature." in text(d1.xpath("//ol[@class='annotations']/li[5]")[0])
    # participants: a plain list under its heading; a quotation set off
    assert [text(li) for li in d1.xpath("//div[contains(@class,'plain-list')]//li")] == \
        ["The Secretary", "Ambassador Tesla, Embassy of Testland"]
    assert d1.xpath("//blockquote[contains(.,'Our two governments will review')]")
    # a table with row and column spans
    assert d1.xpath("//th[.='Strength'][@colspan='2']") and d1.xpath("//td[.='Army'][@rowspan='2']")
    # two page breaks in one footnote: both markers, both reachable
    note2 = d1.xpath("//ol[@class='annotations']/li[3]")[0]
    assert note2.xpath(".//span[@id='pg_2']") and note2.xpath(".//span[@id='pg_3']")
    # other volumes in every form the series writes
    hrefs = d1.xpath("//main//a/@href")
    for url in ("frus1969-76v01/d12", "frus1969-76v01/pg_123", "frus1969-76v01/d12fn3"):
        assert f"https://history.state.gov/historicaldocuments/{url}" in hrefs, url
    assert any(h.rstrip("/").endswith("historicaldocuments/frus1969-76v01") for h in hrefs)
    assert "d3.html" in hrefs
    # an editorial note is a document of its own, with no dateline and no source note
    d2 = page(modern, "d2.html")
    assert text(d2.xpath("//main//h1")[0]) == "2. Editorial Note" and not d2.xpath("//ol[@class='annotations']")
    # a document with no dateline: no date of its own (not its attachment's)
    d3 = page(modern, "d3.html")
    assert "July 1, 1970" not in text(d3.xpath("//p[@class='doc-source-summary']")[0]) \
        if d3.xpath("//p[@class='doc-source-summary']") else True
    assert "1 July 1970" not in text(d3.xpath("//main")[0]).split("Attachment")[0]
    att = d3.xpath("//section[contains(@class,'attachment')]")[0]
    assert "Paper Prepared in the Embassy" in text(att) and "Testville, July 1, 1970." in text(att)
    assert att.xpath(".//*[contains(@class,'tei-signed')][contains(.,'Armin Meyer')]")
    assert [text(a) for a in page(modern, "contents.html").xpath("//main//a")][:1] and \
        page(modern, "contents.html").xpath("//a[@href='d3.html']")


def test_every_note_call_leads_to_one_note_on_its_page(modern):
    """A chapter heading's note and the first document's source note are both n="1" in
    the TEI; the book set both as footnote 1 on one page and the site listed two notes 1.
    The chapter's notes are a series of their own (*, †, …): on every site page each call's
    mark names one note of the list, and on the book's page the two footnotes differ."""
    for p in sorted((modern[0] / "build" / "html").glob("d*.html")):
        doc = lhtml.parse(str(p)).getroot()
        calls = doc.xpath("//main//a[@class='note-call']")
        marks = {}
        for li in doc.xpath("//ol[@class='annotations']/li"):
            marks[li.get("id")] = li.get("data-label") or li.get("value")
        assert len(set(marks.values())) == len(marks), (p.name, marks)
        for a in calls:
            assert a.text == marks[a.get("href")[1:]], (p.name, a.text, marks)
    if not shutil.which("pdftotext"):
        pytest.skip("pdftotext not installed")
    pages = subprocess.run(["pdftotext", "-layout", str(modern[0] / "build" / "pdf" / "edition.pdf"), "-"],
                           capture_output=True, text=True, check=True).stdout.split("\f")
    [page] = [p for p in pages if "For the period before January 1969" in p]
    chapter = re.search(r"(\S+)\s+For the period before January 1969", page).group(1)
    source = re.search(r"(\S+)\s+Source: National Archives, RG 59", page).group(1)
    assert source == "1." and chapter == "*", (chapter, source)
    heading = " ".join(page.split("[p. 1]")[0].split())
    assert heading.endswith("January 1969–June 1970 *") or heading.endswith("June 1970*"), heading


def test_a_redaction_in_a_chapters_own_text_is_counted(modern):
    """A statement of withheld text in a chapter's introduction (outside every document)
    is a redaction in the figures: on the redactions page (linked to where the site shows
    it), in the book's appendix with its page, in `editio stats` and in the annotations
    listing; the chapter's text is not counted as a document."""
    dest = modern[0]
    red = page(modern, "redactions.html")
    lead = text(red.xpath("//p[@class='lead']")[0])
    assert "1 redaction in the text of 1 chapter" in lead and "documents" not in lead, lead
    rows = red.xpath("//table[@class='redaction-list']//tr[td]")
    assert [text(td) for td in rows[0].xpath("td")] == \
        ["1", "text", "[less than 1 line not declassified]", "less than 1 line"]
    href = rows[0].xpath(".//a/@href")[0]
    assert href == "d1.html#intro-ch1"
    d1 = page(modern, "d1.html")
    [intro] = d1.xpath("//section[@id='intro-ch1']")
    assert "[less than 1 line not declassified]" in text(intro)
    heading = text(red.xpath("//section[@class='redaction-doc']/h2")[0])
    assert heading == "Introduction: The New Administration and Testland, January 1969–June 1970"
    r = run_editio("stats", "--project", dest, "--format", "json")
    data = json.loads(r.stdout)
    assert data["total"]["count"] == 1 and data["total"]["documents"] == 0
    assert data["total"]["division_texts"] == 1 and data["total"]["documents_in_edition"] == 3
    assert data["documents"][0]["kind"] == "division"
    r = run_editio("annotations", "--project", dest, "--kind", "redaction", "--format", "json")
    [rec] = json.loads(r.stdout)
    assert rec["statement"] == "[less than 1 line not declassified]" and rec["location"].startswith("tei/frus-modern.xml:4")
    if shutil.which("pdftotext"):
        flat = " ".join(subprocess.run(["pdftotext", str(dest / "build" / "pdf" / "edition.pdf"), "-"],
                                       capture_output=True, text=True, check=True).stdout.split())
        appendix = flat[flat.rindex("Appendix: Redactions"):]
        assert "1 redaction in the text of 1 chapter" in appendix
        assert re.search(r"1 text \[less than 1 line not declassified\] less than 1 line not restored 7\b", appendix), appendix[:600]


def test_the_book_prints_a_links_address_at_the_foot_of_the_page(modern):
    """A link's address was printed in the line ("volume I
    <https://history.state.gov/historicaldocuments/frus1969-76v01>"), whose long unbreakable
    words spread the justified lines before them (a gap of five spaces between words).
    A web link's address is a note at the foot of the page, marked a, b … (the footnotes
    keep the source's numbers), set ragged right; the line reads as text.  A reference to
    another volume of the series prints no address at all (the FRUS profile's
    ``print_url = false``): its text names the volume, as the printed series does."""
    if not shutil.which("pdftotext"):
        pytest.skip("pdftotext not installed")
    pdf = str(modern[0] / "build" / "pdf" / "edition.pdf")
    pages = subprocess.run(["pdftotext", "-layout", pdf, "-"], capture_output=True, text=True,
                           check=True).stdout.split("\f")
    k = next(i for i, p in enumerate(pages) if "See page 123 of volume I" in p)
    flat = " ".join(pages[k].split())
    assert "https://" not in flat[flat.index("See page 123"):flat.index("Recommendation:")]
    assert "history.state.gov" not in pages[k], "an address printed for a series reference"
    assert re.search(r"^\s*[a-z]\s+https://www\.state\.gov/treaties-in-force/?\s*$", pages[k], re.M), pages[k]
    # the words of the paragraph's lines are evenly spaced (pdftotext -bbox)
    box = subprocess.run(["pdftotext", "-bbox", "-f", str(k + 1), "-l", str(k + 1), pdf, "-"],
                         capture_output=True, text=True, check=True).stdout
    words = [(float(y), float(x0), float(x1), w) for x0, x1, y, w in
             re.findall(r'<word xMin="([\d.]+)" yMin="[\d.]+" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>', box)]
    lines: dict = {}
    for y, x0, x1, w in words:
        lines.setdefault(round(y), []).append((x0, x1, w))
    para = [sorted(ws) for ws in lines.values()
            if any(w in ("footnote", "below,") for _, _, w in ws)]
    assert para
    for ws in para:
        gaps = [b[0] - a[1] for a, b in zip(ws, ws[1:])]
        assert max(gaps) < 5, (" ".join(w for _, _, w in ws), gaps)


def test_the_book_keeps_short_tables_whole_and_no_row_alone(root_copy):
    """A small table split across pages ("Forces in Testland": caption and header on one
    page, the rest on the next), or left one row alone on a page.  Twenty-four five-row
    tables, after paragraphs of one to seven lines (so that some of them fall where a page
    ends: without the rule three of them split, one with its last row alone on the next
    page), each stand on one page; a table of sixty rows breaks, with two rows at least on
    each page it is on."""
    if not shutil.which("pdftotext"):
        pytest.skip("pdftotext not installed")
    dest = root_copy("frus-modern")
    tei = dest / "tei" / "frus-modern.xml"
    parts = ['<div type="document" xml:id="d4" n="4"><head>4. Tables of the Embassy</head>']
    for t in range(1, 25):
        parts.append("<p>" + " ".join(["Filler text of the memorandum."] * (t % 7 + 1)) + "</p>")
        rows = "".join(f"<row><cell>T{t}R{r}</cell><cell>{r * 100}</cell></row>" for r in range(1, 6))
        parts.append(f'<table><head>Table {t}</head><row role="label"><cell>Item</cell>'
                     f"<cell>Figure</cell></row>{rows}</table>")
    rows = "".join(f"<row><cell>LR{r}</cell><cell>{r}</cell></row>" for r in range(1, 61))
    parts.append(f"<table><head>Long table</head>{rows}</table></div>")
    tei.write_text(tei.read_text(encoding="utf-8").replace("</body>", "".join(parts) + "</body>"),
                   encoding="utf-8")
    r = run_editio("build", "--project", dest, "--format", "pdf")
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
    pages = subprocess.run(["pdftotext", str(dest / "build" / "pdf" / "edition.pdf"), "-"],
                           capture_output=True, text=True, check=True).stdout.split("\f")
    words = [set(p.split()) for p in pages]
    for t in range(1, 25):
        on = {k for k, w in enumerate(words) for r in range(1, 6) if f"T{t}R{r}" in w}
        assert len(on) == 1, f"table {t} is on pages {sorted(k + 1 for k in on)}"
    per_page = [sum(1 for r in range(1, 61) if f"LR{r}" in w) for w in words]
    assert sum(per_page) == 60 and len([n for n in per_page if n]) >= 2, per_page
    assert all(n == 0 or n >= 2 for n in per_page), per_page


def test_the_annotations_page_numbers_notes_as_the_documents_do(modern):
    """The annotations page called the source note of Doc. 1 "Note 2" (its place in the
    list) where the document's page calls it 1, and spoke of masks, errors and problems a
    FRUS volume does not have; the home page's counts said "note" and "source" (the
    notes' @type)."""
    ann = page(modern, "annotations.html")
    lead = text(ann.xpath("//p[@class='lead']")[0])
    assert "masks" not in lead and "errors" not in lead and "numbered as on each document" in lead
    d1 = page(modern, "d1.html")
    shown = {a.get("href").split("#")[1]: a.text for a in d1.xpath("//main//a[@class='note-call']")}
    heads = ann.xpath("//section[@data-doc='d1']//p[@class='annot-head']/a[1]")
    assert [text(a) for a in heads] == [f"Note {shown[a.get('href').split('#')[1]]}" for a in heads]
    assert [text(a) for a in heads][:2] == ["Note *", "Note 1"]
    counts = text(page(modern, "index.html").xpath("//table[@class='counts-table']")[0])
    assert "source note" in counts and "footnote" in counts


def test_every_contents_entry_of_the_book_has_its_leader(modern):
    """Every entry of the book's contents has dots before its page number, also one whose
    title nearly fills its line; the numbers stand in one column."""
    if not shutil.which("pdftotext"):
        pytest.skip("pdftotext not installed")
    out = subprocess.run(["pdftotext", "-layout", "-f", "3", "-l", "3",
                          str(modern[0] / "build" / "pdf" / "edition.pdf"), "-"],
                         capture_output=True, text=True, check=True).stdout
    assert "Contents" in out
    entries = [ln for ln in out.splitlines() if re.search(r"\S.*\s\d+$", ln)]
    assert len(entries) >= 6, out
    for ln in entries:
        assert re.search(r"(\. ?){3,}\s+\d+$", ln), f"no leader: {ln!r}"
    # the numbers' right edges (pdftotext -bbox: the last word of each line)
    box = subprocess.run(["pdftotext", "-bbox", "-f", "3", "-l", "3",
                          str(modern[0] / "build" / "pdf" / "edition.pdf"), "-"],
                         capture_output=True, text=True, check=True).stdout
    words = [(float(y), float(x), w) for y, x, w in
             re.findall(r'<word xMin="[\d.]+" yMin="([\d.]+)" xMax="([\d.]+)" yMax="[\d.]+">([^<]*)</word>', box)]
    ends = [x for y, x, w in words if w.isdigit()
            and any(abs(y2 - y) < 3 and x2 < x for y2, x2, _ in words)        # not the folio
            and not any(abs(y2 - y) < 3 and x2 > x for y2, x2, _ in words)]   # last on its line
    assert len(ends) >= 6 and max(ends) - min(ends) < 1, ends


def test_the_books_note_on_the_text_speaks_of_this_volume(modern):
    """The book's Note on the text of a volume with no masks, corrections or entity index
    says nothing of them (it said: "with its masks and errors", "the diplomatic edition of
    this PDF", "original-script forms"): the profile's principles and how to cite."""
    if not shutil.which("pdftotext"):
        pytest.skip("pdftotext not installed")
    out = subprocess.run(["pdftotext", str(modern[0] / "build" / "pdf" / "edition.pdf"), "-"],
                         capture_output=True, text=True, check=True).stdout
    flat = " ".join(out.split())
    start = flat.rindex("Note on the text", 0, flat.index("Doc. 3, ¶ 4, p. 27"))
    note = flat[start:flat.index("Key to the editorial signs", start)]
    assert "Office of the Historian" in note and "Doc. 3, ¶ 4, p. 27" in note
    assert "The paragraphs of each document are numbered in the margin" in note   # not "lines of the source"
    for words in ("masks", "diplomatic", "original-script", "description of its source"):
        assert words not in note, words


def test_documents_without_an_id_or_a_heading_keep_pages_of_their_own(root_copy):
    """A document with no xml:id had the volume file's page, and a second one overwrote
    it; one with no heading was titled with the volume's title.  Each now has its own page
    (named by kind and number, with a located warning that the name is not stable) and
    goes by its label."""
    dest = root_copy("frus-modern")
    tei = dest / "tei" / "frus-modern.xml"
    s = tei.read_text(encoding="utf-8")
    s = s.replace('<div type="document" xml:id="d2" n="2" subtype="editorial-note">\n'
                  '                        <head>2. Editorial Note</head>',
                  '<div type="document" subtype="editorial-note">')
    s = s.replace('<div type="document" xml:id="d3" n="3"', '<div type="document" n="3"')
    tei.write_text(s, encoding="utf-8")
    r = run_editio("build", "--project", dest, "--format", "html")
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
    missing = [ln for ln in r.stderr.splitlines() if "[unit.id-missing]" in ln]
    assert len(missing) == 2 and all(re.match(r"tei/frus-modern\.xml:\d+:1: warning: ", ln) for ln in missing)
    site = dest / "build" / "html"
    contents = lhtml.parse(str(site / "contents.html")).getroot()
    entries = [(a.get("href"), text(a)) for a in contents.xpath("//li[contains(@class,'contents-document')]/a")]
    assert [h for h, _ in entries] == ["d1.html", "document-2.html", "document-3.html"], entries
    assert entries[1][1] == "Doc. 2" and entries[2][1].startswith("3. Telegram From the Embassy")
    assert "No record of the discussion has been found." in text(lhtml.parse(str(site / "document-2.html")).getroot())
    assert "Ambassador reported no progress." in text(lhtml.parse(str(site / "document-3.html")).getroot())
    assert broken_links(site) == []


def test_a_documents_chapters_lead_to_the_contents_and_only_its_marks_are_offered(modern):
    """The line of chapters above a document (history.state.gov's breadcrumb) links each
    chapter to its place in the contents; the reader's "Show" offers only the marks the
    volume has (names; no errors noted, no back-links: FRUS has neither)."""
    d3 = page(modern, "d3.html")
    crumbs = d3.xpath("//p[@class='doc-context']/a")
    assert [(text(a), a.get("href")) for a in crumbs] == [
        ("Testland, 1969–1972", "contents.html#c-comp1"),
        ("The Base Negotiations, 1970–1972", "contents.html#c-ch2"),
        ("The First Round", "contents.html#c-ch2subch1")]
    contents = page(modern, "contents.html")
    for a in crumbs:
        target = contents.xpath(f"//*[@id='{a.get('href').split('#')[1]}']")
        assert len(target) == 1 and text(target[0]) == text(a)
    assert d3.xpath("//input[@data-layer]/@data-layer") == ["names"]
    # what the disclosure shows is said by its summary (it read "Show", alone)
    assert d3.xpath("string(//details[@class='layers']/summary)") == "Show in the text"
    # nor does its description (search engines, link previews) speak of readings it has not
    assert d3.xpath("//meta[@name='description']/@content")[0].endswith(
        "3. Telegram From the Embassy in Testland to the Department of State. Text with 1 annotation.")


def test_the_book_prints_every_division_above_a_document_once(modern):
    """A document in a subchapter of a chapter of a compilation: the book prints, where
    each division opens, its heading above the next one's (with the footnote on it, if
    any), and lists each in the contents with its page (it printed only the innermost: "The First Round" without "The Base
    Negotiations, 1970–1972" or the compilation "Testland, 1969–1972")."""
    if not shutil.which("pdftotext"):
        pytest.skip("pdftotext not installed")
    pdf = modern[0] / "build" / "pdf" / "edition.pdf"
    pages = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True,
                           check=True).stdout.split("\f")
    flat = [" ".join(p.split()) for p in pages]
    contents = next(p for p in flat if p.startswith("Contents") or " Contents " in p[:40])
    for head in ("Testland, 1969–1972", "The Base Negotiations, 1970–1972", "The First Round"):
        assert contents.count(head) == 1, (head, contents)
    assert contents.index("Testland, 1969–1972") < contents.index("The New Administration") \
        < contents.index("The Base Negotiations") < contents.index("The First Round")
    # in the text: each heading once, the outer above the inner, on the page its first
    # document starts
    text = [p for p in flat if p is not contents]
    for head in ("Testland, 1969–1972", "The Base Negotiations, 1970–1972", "The First Round"):
        assert sum(p.count(head) for p in text if "Contents" not in p[:20]) >= 1, head
    [opening] = [p for p in text if "The First Round" in p]
    assert opening.index("The Base Negotiations, 1970–1972") < opening.index("The First Round") \
        < opening.index("Telegram From the Embassy in Testland")
    [first] = [p for p in text if "The New Administration and Testland" in p
               and "Action Memorandum" in p]
    assert first.index("Testland, 1969–1972") < first.index("The New Administration")
    # a note on a division's heading is a footnote of the page the heading opens
    assert "For the period before January 1969, see Foreign Relations, 1964–1968, vol. XXX" in first
    assert "The second round is in a later volume." in opening
    # bookmarks: one for each division
    outline = subprocess.run(["pdfinfo", "-dests", str(pdf)], capture_output=True, text=True).stdout
    assert outline.count("group-") >= 4, outline


# ----------------------------------------------------------------- odd encodings
@pytest.fixture(scope="module")
def odd(tmp_path_factory):
    """tests/roots/frus-odd (encodings the series uses here and there), built once."""
    return _built(tmp_path_factory, "frus-odd")


def visible(el) -> str:
    """What a reader sees of ``el`` (the diplomatic view's twin characters left out)."""
    import copy
    el = copy.deepcopy(el)
    for hidden in el.xpath(".//*[contains(concat(' ', @class, ' '), ' q-dip ')]"):
        hidden.drop_tree()
    return " ".join(el.text_content().split())


def test_odd_encodings_build_with_located_warnings_in_plain_words(odd):
    dest, r = odd
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
    warnings = [ln for ln in r.stderr.splitlines() if ": warning: " in ln]
    assert warnings and all(re.match(r"tei/frus-odd\.xml:\d+:\d+: warning: .* \[[a-z.-]+\]$", ln)
                            for ln in warnings), warnings
    schema = [ln for ln in warnings if ln.endswith("[schema.invalid]")]
    # an element the FRUS schema does not have, and an empty @target, said plainly
    assert any("<foreign> is not allowed by the schema frus.rng" in ln for ln in schema), schema
    assert any('value "" of attribute "target" on element "ref" is invalid; must be a URI' in ln
               for ln in schema), schema
    assert not any(re.search(r"failed to validate|Expecting|Did not expect", ln) for ln in schema)
    assert broken_links(dest / "build" / "html") == []
    for p in (dest / "build" / "html").glob("d*.html"):
        shown = visible(lhtml.parse(str(p)).getroot().xpath("//main")[0])
        for word in ("frus:attachment", "attachment>", "d1fn", "d2fn", "p_NOBODY", "p_VC1", "t_ODD1",
                     "comp1", "#ch2", "figDesc", "[[", "]]", "None"):
            assert word not in shown, (p.name, word)


def test_odd_encodings_read_sensibly(odd):
    d1 = page(odd, "d1.html")
    # labelled items: each label opens its item's line, and the list numbers nothing itself
    assert [visible(li) for li in d1.xpath("//div[contains(@class,'labelled-list')]//li")] == \
        ["(a) That we wait;", "(b) That we do not wait."]
    assert not d1.xpath("//div[contains(@class,'labelled-list')]/ol")
    # a source note written after the text: its call ends the last paragraph (no line of
    # its own), two calls apart ("2,1"); the notes listed by number; a gap's note numbered
    # after the TEI's notes (it was a second "1"), in the source's brackets once ("[…]")
    last = d1.xpath("//main//p[.//a[@class='note-call' or contains(@class,'note-call')]]")[-1]
    assert visible(last).startswith("The source is given at the end.")
    calls = last.xpath(".//a[contains(@class,'note-call')]")
    assert [a.text for a in calls] == ["2", "1"] and "call-after-call" in calls[1].get("class")
    assert not d1.xpath("//main//*[self::p or self::div][normalize-space()='1']")
    notes = d1.xpath("//ol[@class='annotations']/li")
    assert [li.get("value") for li in notes] == ["1", "2", "3"]
    assert visible(notes[0]).startswith("Source: Carter Library") and "Gap" in visible(notes[2])
    assert "[…3]" in visible(d1.xpath("//main")[0]).replace(" ", "")
    # a dateline dated by a range (@from/@to; @notBefore/@notAfter): the page's date is the
    # range (it had none)
    # the redactions page heads a document by its heading when that begins with its number
    # ("Doc. 2: 2. Telegram …" before), else by its label
    red = page(odd, "redactions.html")
    assert [visible(h) for h in red.xpath("//section[@class='redaction-doc']/h2")] == \
        ["Doc. 1: Memorandum From Brzezinski to President Carter",
         "2. Telegram From the Embassy in Oddland to the Department of State"]
    assert visible(d1.xpath("//p[@class='doc-source-summary']")[0]) == "1–3 March 1977"
    assert visible(page(odd, "d2.html").xpath("//p[@class='doc-source-summary']")[0]) == "1–30 April 1977"
    # a word of another language keeps its language; a document with no number is cited
    # by its title (it was "document 1")
    assert d1.xpath("//span[contains(@class,'tei-foreign')][@lang='fr'][.='la langue de Molière']")
    cite = visible(d1.xpath("//p[@class='cite-text']")[0])
    assert "“Memorandum From Brzezinski to President Carter”" in cite and "document 1" not in cite
    d4 = page(odd, "d4.html")
    cite = visible(d4.xpath("//p[@class='cite-text']")[0])
    # a line break in a heading is a space in its plain text ("en clairFrom" before)
    assert "“4. Letter en clair From Vance”, document 4 in" in cite, cite
    # a footnote called twice (<note n="1" target="d4fn1"> with its words): its number
    # twice, leading to one note, listed once
    calls = d4.xpath("//main//a[contains(@class,'note-call')]")
    assert [a.text for a in calls] == ["1", "1"] and calls[0].get("href") == calls[1].get("href")
    assert "call-again" in calls[1].get("class") and not calls[1].get("id")
    assert len(d4.xpath("//ol[@class='annotations']/li")) == 1
    # a chapter of this volume: a link to where it begins; other volumes' chapters and
    # documents on history.state.gov
    d2 = page(odd, "d2.html")
    assert d2.xpath("//main//a[.='the next chapter']/@href") == ["d3.html"]
    for url in ("frus1977-80v01/ch3", "frus1977-80v01/d5"):
        assert d2.xpath(f"//main//a[@href='https://history.state.gov/historicaldocuments/{url}']"), url
    # a figure's title is its caption; a missing image said where it stands
    assert [visible(c) for c in d2.xpath("//figure/figcaption")] == ["A map of Oddland", "A photograph not included"]
    # (with the figure's description, figDesc, not the file's name)
    assert "[Image not included: Oddland and its neighbours.]" in visible(d2)
    # the table's spans, an attachment in an attachment, set off, with its own source note
    assert d2.xpath("//th[.='Amount'][@colspan='2']") and d2.xpath("//th[.='Grants'][@rowspan='2']")
    assert len(d2.xpath("//section[contains(@class,'attachment')]//section[contains(@class,'attachment')]")) == 1
    assert [li.get("value") for li in d2.xpath("//ol[@class='annotations']/li")] == ["1", "2"]
    # rend values: classes the styles read (uppercase, spaced, sub/superscript)
    for cls in ("rend-allcaps", "rend-letterspace", "rend-expanded", "rend-sub", "rend-sup"):
        assert d1.xpath(f"//*[contains(@class,'{cls}')]"), cls
    # a paragraph holding a list (TEI allows it, HTML's <p> does not: the browser closed it
    # before the list, and its margin number stood at the top of the page): one block
    d5 = page(odd, "d5.html")
    para = d5.xpath("//main//*[@data-para='3']")[0]
    assert para.tag == "div" and para.xpath(".//ol/li") and visible(para).startswith("The points are these:")
    assert "I hope you agree." in visible(para)
    # a page break between the rows of a table: where it stands, a row of its own
    mark = d5.xpath("//table//tr[@class='table-milestone']/td[@colspan='2']/span[@id='pg_13']")
    assert mark and mark[0].xpath("ancestor::tr[1]/preceding-sibling::tr[1][contains(.,'Aid')]") \
        and mark[0].xpath("ancestor::tr[1]/following-sibling::tr[1][contains(.,'Loans')]")
    # a note in a note: on the site in the list; in the book after the note that calls it
    assert [visible(li).rstrip(" ↩") for li in d5.xpath("//ol[@class='annotations']/li")][2] == "A note in a note."
    if shutil.which("pdftotext"):
        flat = " ".join(subprocess.run(["pdftotext", str(odd[0] / "build" / "pdf" / "edition.pdf"), "-"],
                                       capture_output=True, text=True, check=True).stdout.split())
        assert "(a) That we wait;" in flat and "A map of Oddland" in flat and "P.S. A postscript." in flat
        assert "3. A note in a note." in flat, "a note in a note was printed nowhere in the book"
        assert re.search(r"the next chapter \(p\. \d+\)", flat), "a chapter: its page in the book"


def test_notes_numbered_afresh_in_a_unit_are_numbered_in_sequence(odd):
    """An appendix whose photographs each have a caption note "1" (PubDip's twelve, one to a
    printed page): on the page that collects them, and in the book, each call leads to one
    note, numbered 1, 2 … in order; a document's notes keep the volume's numbers."""
    app = page(odd, "appendix.html")
    assert [li.get("value") for li in app.xpath("//ol[@class='annotations']/li")] == ["1", "2"]
    calls = [visible(a) for a in app.xpath("//main//a[contains(@class,'note-call')]")]
    assert calls == ["1", "2"], calls
    notes = [visible(li) for li in app.xpath("//ol[@class='annotations']/li")]
    assert notes[0].startswith("The Legation in Oddland") and notes[1].startswith("The harbour of Oddland")
    # the photographs not in the project: their page, in the reader's words
    assert [visible(s) for s in app.xpath("//*[contains(@class,'graphic-missing')]")] == [
        "[Image not included: figure on p. 13 of the printed volume]",
        "[Image not included: figure on p. 14 of the printed volume]"]
