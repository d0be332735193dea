"""The PDF edition: structure, page numbers, footnotes, index, fonts, reproducibility.

Every check reads the PDF as a reader's tools do: pypdf for the document model
(outline, named destinations, link annotations, attachments, metadata), poppler's
``pdftotext -bbox`` for the words on each page, ``pdffonts`` for the fonts.
The small book ``tests/roots/pdf-basic`` is checked exhaustively; the real edition
(built once per session by ``edition_build``) on the same properties.
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from lxml import etree

from conftest import ROOTS, run_editio

pypdf = pytest.importorskip("pypdf")
POPPLER = shutil.which("pdftotext") and shutil.which("pdffonts")
needs_poppler = pytest.mark.skipif(not POPPLER, reason="poppler-utils (pdftotext, pdffonts) not installed")
NUM_END = re.compile(r"(\d+)n?(?:\s*[–-]\s*(\d+))?n?[).,;:]*\s*$")   # "12n": in a note


# ------------------------------------------------------------------ helpers
class Pdf:
    """A built PDF, read once: pages, named destinations, links, words."""

    def __init__(self, path: Path):
        self.path = path
        self.reader = pypdf.PdfReader(str(path))
        self.dests = {name: self.reader.get_destination_page_number(d) + 1
                      for name, d in self.reader.named_destinations.items()}
        self._words = None

    @property
    def n(self) -> int:
        return len(self.reader.pages)

    def links(self):
        """(page number, rect, destination name) of every internal link."""
        out = []
        for i, page in enumerate(self.reader.pages, 1):
            for ref in page.get("/Annots") or []:
                a = ref.get_object()
                if a.get("/Subtype") == "/Link" and "/Dest" in a:
                    out.append((i, [float(x) for x in a["/Rect"]], str(a["/Dest"])))
        return out

    def words(self):
        """page number -> (page height, [(x0, y0, x1, y1, word)]) in points, top-left origin."""
        if self._words is None:
            out = subprocess.run(["pdftotext", "-bbox", str(self.path), "-"], capture_output=True,
                                 check=True).stdout
            tree = etree.fromstring(out, etree.XMLParser(recover=True, huge_tree=True))
            self._words = {}
            for i, page in enumerate(tree.iter("{*}page"), 1):
                ws = [(float(w.get("xMin")), float(w.get("yMin")), float(w.get("xMax")), float(w.get("yMax")),
                       w.text or "") for w in page.iter("{*}word")]
                self._words[i] = (float(page.get("height")), ws)
        return self._words

    def text_in(self, page: int, rect) -> str:
        height, ws = self.words()[page]
        x1, y1, x2, y2 = rect
        top, bottom = height - max(y1, y2), height - min(y1, y2)
        inside = [w for w in ws if min(x1, x2) - 1 <= (w[0] + w[2]) / 2 <= max(x1, x2) + 1
                  and top - 1 <= (w[1] + w[3]) / 2 <= bottom + 1]
        return " ".join(w[4] for w in inside)

    def text(self, first: int | None = None, last: int | None = None) -> str:
        args = ["pdftotext", "-enc", "UTF-8"]
        if first:
            args += ["-f", str(first)]
        if last:
            args += ["-l", str(last)]
        return subprocess.run(args + [str(self.path), "-"], capture_output=True, check=True,
                              text=True).stdout


def squash(s: str) -> str:
    return re.sub(r"\s+", "", s)


def mentions_of(project: Path) -> dict[str, list[str]]:
    """entity id -> the anchor ids of its mentions, as the builder records them."""
    from editio.build import prepare
    from editio.builders.pdf import Book
    from editio.config import load
    edition, report = prepare(load(project))
    book = Book(edition, report)
    book.render_chapters()
    out: dict[str, list[str]] = {}
    for ch in book.chapters:
        for ent, anchor in ch.mentions:
            out.setdefault(ent, []).append(anchor)
    return out


def build(project: Path, *extra) -> subprocess.CompletedProcess:
    r = run_editio("build", "--project", project, "--format", "pdf", *extra)
    assert r.returncode == 0, r.stderr
    return r


@pytest.fixture(scope="module")
def basic(tmp_path_factory):
    dest = tmp_path_factory.mktemp("pdf") / "pdf-basic"
    shutil.copytree(ROOTS / "pdf-basic", dest)
    r = build(dest)
    assert "(0 warning(s))" in r.stderr, r.stderr
    return dest


@pytest.fixture(scope="module")
def basic_pdf(basic) -> Pdf:
    return Pdf(basic / "build" / "pdf" / "edition.pdf")


@pytest.fixture(scope="module")
def edition_pdf(edition_build) -> Pdf:
    return Pdf(edition_build / "build" / "pdf" / "edition.pdf")


@pytest.fixture(params=["basic", "edition"])
def book(request):
    """Both books, for the properties that hold of any book."""
    name = request.param
    project = request.getfixturevalue(name)
    pdf = request.getfixturevalue(f"{name}_pdf")
    return project, pdf


@pytest.fixture(scope="module")
def edition(edition_build):
    return edition_build


# ---------------------------------------------------------------- structure
def test_metadata_and_tagging(book):
    project, pdf = book
    from editio.config import load
    p = load(project)
    from editio.typography import curl          # the edition's words, typographic quotes
    meta = pdf.reader.metadata
    assert meta.title == curl(p.title)
    assert meta.author == ", ".join(curl(e) for e in p.editors)
    assert meta.subject == curl(p.description or p.subtitle or p.title)
    assert "TEI" in meta.get("/Keywords", "")
    assert meta.get("/CreationDate") and meta.get("/CreationDate") == meta.get("/ModDate")
    root = pdf.reader.trailer["/Root"]
    assert str(root["/Lang"]) == p.language
    assert root["/MarkInfo"]["/Marked"]                      # tagged PDF (PDF/UA-1)
    assert "/StructTreeRoot" in root
    assert b"pdfuaid" in root["/Metadata"].get_object().get_data()


def test_bookmarks(book):
    project, pdf = book
    top = [o for o in pdf.reader.outline if not isinstance(o, list)]
    titles = [o.title for o in top]
    for want in ("Contents", "Note on the text", "Key to the editorial signs", "Index"):
        assert want in titles, titles
    chapters = [t for t in titles if re.match(r"\d+\. ", t)]
    from editio.config import load
    from editio.corpus import Corpus
    assert len(chapters) == len(Corpus.load(load(project)).texts)
    # each chapter bookmark points to the chapter's first page
    for o in top:
        m = re.match(r"(\d+)\. ", o.title)
        if m:
            page = pdf.reader.get_destination_page_number(o) + 1
            chapter_anchor = [k for k in pdf.dests if k.startswith("chapter-")][int(m.group(1)) - 1]
            assert page == pdf.dests[chapter_anchor]


def test_attachments_are_the_tei_sources(book):
    project, pdf = book
    att = pdf.reader.attachments
    from editio.config import load
    p = load(project)
    for f in sorted((project / p.input).rglob("*.xml")):
        name = f.relative_to(project / p.input).as_posix()
        assert name in att, sorted(att)
        # the checked tree as published (publish.tei_bytes): the same XML as the file
        c14n = lambda data: etree.tostring(etree.fromstring(data).getroottree(), method="c14n")
        assert c14n(att[name][0]) == c14n(f.read_bytes())


def test_title_page_and_contents(basic_pdf):
    first = basic_pdf.text(1, 1)
    assert "A Test Book" in first and "A. Editor, B. Editor" in first and "Test Press" in first
    assert "2026" in first
    verso = basic_pdf.text(2, 2)
    assert "CC BY 4.0" in verso
    contents = basic_pdf.text(3, 3)
    assert "Contents" in contents and "Document A" in contents and "Index" in contents


# -------------------------------------------------------------- page numbers
@needs_poppler
def test_every_printed_page_number_is_the_page_of_its_target(book):
    """Contents, cross-references ("Doc. 2, ¶ 4, p. 27"), concordance and index: the
    number a link prints is the page its destination is on."""
    _, pdf = book
    assert printed_numbers_checked(pdf) >= 20


def printed_numbers_checked(pdf: Pdf) -> int:
    """Check that every link that prints a page number prints its destination's page;
    return how many were checked."""
    checked = 0
    groups: list[list] = []                 # the pieces of one link broken over lines
    for page, rect, dest in pdf.links():
        if groups and groups[-1][0] == page and groups[-1][2] == dest:
            groups[-1][1].append(rect)
        else:
            groups.append([page, [rect], dest])
    for page, rects, dest in groups:
        txt = " ".join(pdf.text_in(page, r) for r in rects)
        m = NUM_END.search(txt)
        if not m or dest not in pdf.dests:
            continue
        assert int(m.group(1)) == pdf.dests[dest], f"p. {page}: link {txt!r} -> #{dest} on p. {pdf.dests[dest]}"
        checked += 1
    return checked


@needs_poppler
def test_a_page_number_follows_its_p_by_a_word_space(book):
    """A page-number slot has the room of its own number ("p. 28"), not the room of the
    book's widest number with the number set at its end ("p.   28"): the space between
    "p." and the number is the line's word space (lines are justified: measured against
    the other spaces of the same line).  Only a number just below a power of ten (its
    room guessed a figure wider on a first build, and kept) may have room to spare."""
    _, pdf = book
    seen, spare = 0, []
    for page, (_, ws) in pdf.words().items():
        for i, (a, b) in enumerate(zip(ws, ws[1:])):
            m = re.fullmatch(r"(\d+)([–-]\d+)?(\W*)", b[4])
            if a[4] not in ("p.", "pp.") or abs(a[1] - b[1]) > 1 or not m:
                continue
            line = [w for w in ws if abs(w[1] - a[1]) < 1]
            spaces = sorted(y[0] - x[2] for x, y in zip(line, line[1:]) if y[0] - x[2] > 0.5)
            space = spaces[len(spaces) // 2]
            seen += 1
            if b[0] - a[2] <= space + 0.5:
                continue
            n = int(m.group(1))
            assert n * 1.2 >= 10 ** len(m.group(1)), \
                f"p. {page}: {a[4]} {b[4]}: {b[0] - a[2]:.1f} pt apart, the line's word space {space:.1f} pt"
            spare.append((page, b[4]))
    assert seen >= 15 and len(spare) <= seen // 10, spare


@needs_poppler
def test_a_number_narrower_than_its_room_leaves_no_gap_before_punctuation(tmp_path, monkeypatch):
    """A first build may give a slot a figure more room than its number takes (a guess
    near a power of ten).  The number is set against its "p." and the punctuation that
    follows the slot is drawn right after it: "(p. 9)", never "(p.  9)" nor "(p. 9 )";
    the spare room falls after the punctuation, where a space or the line's end is.
    Forced here: every guessed room is a figure wider than its number."""
    from editio.build import prepare
    from editio.builders import pdf as pdfmod
    from editio.config import load
    dest = tmp_path / "wide"
    shutil.copytree(ROOTS / "pdf-basic", dest)
    room_of = pdfmod.PageGuess.room_of
    monkeypatch.setattr(pdfmod.PageGuess, "room_of", lambda self, ref, tight=False: room_of(self, ref, tight) + "0")
    edition, report = prepare(load(dest))
    pdf = Pdf(pdfmod.build_pdf(edition, tmp_path / "out", report, workers=1))
    assert not [d for d in report.items if d.code.startswith("pdf.") and d.severity != "info"]
    assert printed_numbers_checked(pdf) >= 20
    seen = 0
    for page, (_, ws) in pdf.words().items():
        for a, b, c in zip(ws, ws[1:], ws[2:] + [(0, -9, 0, 0, "")]):
            m = re.fullmatch(r"(\d+)(\W*)", b[4])
            if a[4] != "p." or abs(a[1] - b[1]) > 1 or not m:
                continue
            line = [w for w in ws if abs(w[1] - a[1]) < 1]
            spaces = sorted(y[0] - x[2] for x, y in zip(line, line[1:]) if y[0] - x[2] > 0.5)
            space = spaces[len(spaces) // 2]
            assert b[0] - a[2] <= space + 0.5, f"p. {page}: {a[4]} {b[4]}: {b[0] - a[2]:.1f} pt apart"
            # no punctuation standing apart after the number ("9 )")
            assert not (abs(c[1] - b[1]) < 1 and re.fullmatch(r"[).,;:\]]+", c[4])), (page, b[4], c[4])
            seen += 1 if m.group(2) else 0
    assert seen >= 5
    text = pdf.text()
    assert re.search(r"\bp\.\s\d+\)", text) and not re.search(r"\bp\.\s+\d+\s+[).,;:]", text)


@needs_poppler
def test_running_heads_on_every_page_but_where_a_chapter_or_section_opens(basic_pdf):
    """As in a printed book: every page of text has a running head (versos the book's
    title, rectos the document's) except a page where a chapter or a section opens (and
    the title pages and blank pages)."""
    pdf = basic_pdf
    sections = {"contents", "introduction", "principles", "key", "concordance", "index", "redactions"}
    opens = {p for k, p in pdf.dests.items() if k in sections or re.fullmatch(r"(chapter|group)-[\w]+", k)}
    assert len(opens) >= 6
    seen = 0
    for i, (_, ws) in pdf.words().items():
        if i <= 2 or not ws:
            continue
        head = [w[4] for w in ws if w[3] < 20 * 72 / 25.4 and not w[4].isdigit()]
        assert bool(head) == (i not in opens), (i, head)
        seen += bool(head)
    assert seen >= 6


@needs_poppler
def test_cross_references_print_see_page(basic_pdf):
    pageref_links = [(p, r, d) for p, r, d in basic_pdf.links() if d.startswith(("a--", "b--"))]
    texts = [basic_pdf.text_in(p, r) for p, r, _ in pageref_links]
    assert any(re.search(r"Doc\. 2, ¶ \d+(, n\. \d+)?, p\.\s+\d+\W*$", t) for t in texts), texts
    # the <ptr> in b.xml prints the place and page of a.xml#a-x02
    want = basic_pdf.dests["a--a-x02"]
    assert any(re.search(rf"Doc\. 1, ¶ \d+, n\. \d+, p\.\s+{want}\W*$", t) for t in texts), texts


def test_footnote_is_on_the_page_of_its_call(book):
    _, pdf = book
    notes = {k: v for k, v in pdf.dests.items() if re.search(r"--note-\d+$", k)}
    assert notes
    for name, page in notes.items():
        call = name.replace("--note-", "--call-")
        assert pdf.dests.get(call) == page, f"{name} on p. {page}, its call on p. {pdf.dests.get(call)}"


@needs_poppler
def test_footnote_text_at_the_foot(basic_pdf):
    """The footnote body is printed on its page, below the text."""
    page = basic_pdf.dests["a--note-1"]
    txt = basic_pdf.text(page, page)
    assert "The subject of “crossed” is the UN forces." in txt or 'The subject of "crossed"' in txt


def _index_pages(pdf, mentions):
    """entity -> set of page numbers printed in the index (ranges expanded)."""
    anchor_entity = {a: e for e, anchors in mentions.items() for a in anchors}
    out: dict[str, set] = {}
    index_start = pdf.dests["index"]
    for page, rect, dest in pdf.links():
        if page < index_start or dest not in anchor_entity:
            continue
        m = NUM_END.search(pdf.text_in(page, rect))
        assert m, pdf.text_in(page, rect)
        a, b = int(m.group(1)), int(m.group(2) or m.group(1))
        out.setdefault(anchor_entity[dest], set()).update(range(a, b + 1))
    return out


@needs_poppler
def test_index_page_numbers_basic(basic, basic_pdf):
    mentions = mentions_of(basic)
    printed = _index_pages(basic_pdf, mentions)
    for ent, anchors in mentions.items():
        want = {basic_pdf.dests[a] for a in anchors}
        assert printed.get(ent) == want, (ent, printed.get(ent), want)
    # duplicates merged into runs: Kim Il Sung is on many consecutive pages
    txt = basic_pdf.text(basic_pdf.dests["index"])
    assert re.search(r"Kim Il Sung.*\d+–\d+", squash(txt).replace("KimIlSung", "Kim Il Sung"))


@needs_poppler
def test_index_page_numbers_edition_sample(edition, edition_pdf):
    from editio.builders.pdf import SUBENTRIES
    mentions = mentions_of(edition)
    printed = _index_pages(edition_pdf, mentions)
    ranked = sorted(mentions, key=lambda e: (-len(mentions[e]), e))
    sample = ranked[:6] + ranked[len(ranked) // 2: len(ranked) // 2 + 3] + ranked[-3:]
    for ent in sample:
        want = {edition_pdf.dests[a] for a in mentions[ent]}
        got = printed.get(ent) or set()
        if len(want) <= SUBENTRIES:
            assert got == want, (ent, got, want)
        else:   # a long run may print as "12–40 passim"
            assert want <= got and (min(got), max(got)) == (min(want), max(want)), (ent, got, want)


@needs_poppler
def test_concordance_lists_every_passage(basic_pdf):
    txt = basic_pdf.text(basic_pdf.dests["concordance"], basic_pdf.dests["index"] - 1)
    assert "Moscow meeting, November 1957" in txt and "Last Volunteers leave Korea" in txt
    assert txt.count("disagrees") >= 1


# -------------------------------------------------------------------- text
@needs_poppler
def test_editorial_signs_in_the_edited_text(basic_pdf):
    body = squash(basic_pdf.text(basic_pdf.dests["chapter-a"], basic_pdf.dests["chapter-b"] - 1))
    assert squash("[forces]") in body                        # restored, high certainty
    assert squash("[Mao Zedong?]") in body                   # medium
    assert squash("[Zhou??]") in body                        # low
    assert "[…]" in body                                     # not restored
    assert "⸢Khrushchev⸣" in body                            # corrected
    assert squash("†some factions were replaced and even happened†") in body
    assert "**" not in body.split("Mask")[0]                 # masks only quoted in the notes


@needs_poppler
def test_diplomatic_view(tmp_path):
    dest = tmp_path / "dip"
    shutil.copytree(ROOTS / "pdf-basic", dest)
    build(dest, "--view", "diplomatic")
    pdf = Pdf(dest / "build" / "pdf" / "edition.pdf")
    body = pdf.text(pdf.dests["chapter-a"], pdf.dests["chapter-b"] - 1)
    assert re.search(r"The joint \*\*\s*\d*\s*crossed", body)
    assert re.search(r"Stalin\s*\d*\s*met", body)
    assert "[forces]" not in squash(body)
    assert "Diplomatic text" in pdf.text(1, 1)


@needs_poppler
def test_original_script_names_survive_extraction(book):
    project, pdf = book
    from editio.config import load
    from editio.corpus import Corpus
    corpus = Corpus.load(load(project))
    names = [t for k in ("person", "place", "org") for e in corpus.entities_of(k)
             for t, _ in e.original_names if corpus.mentions.get(e.id)]
    assert names
    txt = squash(pdf.text(pdf.dests["index"]))
    missing = [n for n in names if squash(n) not in txt]
    assert not missing, missing


@needs_poppler
def test_only_the_shipped_fonts_are_embedded(book):
    _, pdf = book
    out = subprocess.run(["pdffonts", str(pdf.path)], capture_output=True, text=True, check=True).stdout
    rows = out.splitlines()[2:]
    assert rows
    for row in rows:
        name = row.split()[0]
        assert re.match(r"[A-Z]{6}\+editio-?(Garamond|Serif-?CJK)", name), row
        assert " yes " in row[row.index(name) + len(name):], row        # embedded


def test_hyphenation_and_language(basic):
    from editio.build import prepare
    from editio.builders.pdf import Book
    from editio.config import load
    edition, report = prepare(load(basic))
    book = Book(edition, report)
    book.render_chapters()
    ctx = book.context()
    html = "".join(book.part_html(p, ctx) for p in book.parts())
    assert html.count('<html lang="en">') == len(book.parts())
    css = (Path(__file__).resolve().parents[1] / "styles" / "print.css").read_text()
    assert "hyphens: auto" in css and "widows: 2" in css and "float: footnote" in css


# ------------------------------------------------------------ reproducibility
def test_same_input_same_bytes(basic, tmp_path):
    """Built again elsewhere, the PDF is byte-identical."""
    again = tmp_path / "elsewhere" / "copy"
    shutil.copytree(ROOTS / "pdf-basic", again)
    build(again)
    assert (again / "build/pdf/edition.pdf").read_bytes() == (basic / "build/pdf/edition.pdf").read_bytes()


def test_a_copied_project_takes_its_parts_from_the_build_cache(basic, tmp_path):
    """The build cache (``<project>/.editio-cache/pdf``) keys a part on its content, not on
    where the project is: a copy of a built project elsewhere lays out nothing again and
    writes the same bytes."""
    copy = tmp_path / "moved" / "copy"
    shutil.copytree(basic, copy)
    shutil.rmtree(copy / "build")                     # (else the whole build is up to date)
    from editio.build import build as run_build
    from editio.config import load
    res = run_build(load(copy), formats=("pdf",), workers=1)
    [d] = [d for d in res.report.items if d.code == "pdf.parts"]
    m = re.search(r"in (\d+) parts: (\d+) layouts in \d+ pass\(es\), (\d+) taken from the build cache", d.message)
    assert m[2] == "0" and m[3] == m[1], d.message
    assert (copy / "build/pdf/edition.pdf").read_bytes() == (basic / "build/pdf/edition.pdf").read_bytes()


def test_the_cache_key_holds_the_images_bytes_not_the_projects_path(tmp_path):
    """An image of the project named in a part's HTML counts by its bytes: the same image
    in a project elsewhere gives the same key, an image changed in place another."""
    from editio.builders.pdf import PartCache
    keys = []
    for name, data in (("a", b"\x89PNG one"), ("b", b"\x89PNG one"), ("b", b"\x89PNG two")):
        root = tmp_path / name
        (root / "img").mkdir(parents=True, exist_ok=True)
        (root / "img" / "f.png").write_bytes(data)
        cache = PartCache(root / ".editio-cache/pdf", tmp_path / "styles", project=root)
        html = f'<img src="{(root / "img" / "f.png").as_uri()}">'
        keys.append(cache.key({"key": "p", "html": html, "fetcher": {"project_root": str(root)},
                               "stylesheets": [str(root / "styles/print.css")]}))
    assert keys[0] == keys[1] != keys[2]


def test_source_date_epoch(tmp_path):
    dest = tmp_path / "sde"
    shutil.copytree(ROOTS / "pdf-basic", dest)
    r = run_editio("build", "--project", dest, "--format", "pdf", env={"SOURCE_DATE_EPOCH": "1700000000"})
    assert r.returncode == 0, r.stderr
    meta = pypdf.PdfReader(str(dest / "build/pdf/edition.pdf")).metadata
    assert meta["/CreationDate"].startswith("D:20231114")


# ---------------------------------------------------------------- units
def test_page_list_merges_runs():
    from editio.builders.pdf import _page_list
    pages = {"a": 3, "b": 3, "c": 7, "d": 8, "e": 9, "f": 12, "g": 14, "h": 15}
    got = _page_list(list(pages), pages)
    assert [p["label"] for p in got] == ["3", "7–9", "12", "14–15"]
    assert [p["anchor"] for p in got] == ["a", "c", "f", "g"]
    assert [p["label"] for p in _page_list(["a", "b"], None)] == ["", ""]


def test_short_title():
    from editio.builders.pdf import short_title
    assert short_title("Volunteers in Korea: Five Web Articles") == "Volunteers in Korea"
    long = "word " * 30
    assert len(short_title(long)) <= 62 and short_title(long).endswith("…")


def test_print_renderer_footnotes_and_mentions(basic):
    """Every annotation becomes one footnote; every tagged mention gets an anchor."""
    from editio.build import prepare
    from editio.config import load
    from editio.render.print import PrintLinks, PrintRenderer
    edition, report = prepare(load(basic))
    rdoc = edition.docs[0]
    r = PrintRenderer(edition, rdoc, PrintLinks(), report, view="edited")
    out = r.render()
    notes = out.xpath("//span[contains(@class, 'footnote')]")
    assert [int(n.get("data-n")) for n in notes] == sorted(a.n for a in rdoc.annotations)
    assert all(n.get("id") == f"{rdoc.id}--note-{n.get('data-n')}" for n in notes)
    ids = out.xpath("//@id")
    assert len(ids) == len(set(ids))
    assert len(r.mentions) == len(out.xpath("//span[@data-entity]"))
    assert not out.xpath("//a[contains(@class, 'permalink')]")
    assert not [d for d in report.items if d.code == "element.unknown"]


def test_missing_glyph_is_reported(tmp_path):
    """A character no shipped font has is named, with its line."""
    dest = tmp_path / "glyph"
    shutil.copytree(ROOTS / "pdf-basic", dest)
    auth = dest / "tei" / "authority.xml"
    auth.write_text(auth.read_text(encoding="utf-8").replace("Москва", "Москва</placeName>"
                    '<placeName xml:lang="bug">ᨀᨁ'), encoding="utf-8")
    from editio.build import prepare
    from editio.builders.pdf import Book
    from editio.config import load
    edition, report = prepare(load(dest))
    book = Book(edition, report)
    book.render_chapters()
    book.check_glyphs()
    glyph = [d for d in report.items if d.code == "pdf.glyph"]
    assert glyph and glyph[0].file == "tei/authority.xml" and glyph[0].line > 0


def test_frus_volume_builds(tmp_path, frus_edition):
    """A real FRUS volume becomes a book: unknown elements fall back with located
    warnings, every page reference and footnote lands."""
    from editio.builders.pdf import build_pdf
    from editio.diagnostics import Report
    report = Report()
    out = build_pdf(frus_edition, tmp_path / "pdf", report)
    pdf = Pdf(out)
    assert pdf.n > 50
    assert all(d.line for d in report.items if d.code == "element.unknown")
    assert not [d for d in report.items if d.code.startswith("pdf.") and d.severity != "info"], \
        [d.format() for d in report.items]
    for name, page in pdf.dests.items():
        if "--note-" in name:
            assert pdf.dests.get(name.replace("--note-", "--call-")) == page, name


# ------------------------------------------------------- the book in parts
def _pike(path):
    pikepdf = pytest.importorskip("pikepdf")
    return pikepdf.open(path)


def test_links_across_parts_land_on_named_destinations(book):
    """Every internal link, within a part or to another part, is a /Dest naming a
    destination of the book; none is left as the parts' editio-dest: placeholder."""
    _, pdf = book
    links = pdf.links()
    assert links
    missing = sorted({d for _, _, d in links if d not in pdf.dests})
    assert not missing, missing[:10]
    with _pike(pdf.path) as p:
        for page in p.pages:
            for a in page.obj.get("/Annots", []):
                uri = str(a.get("/A", {}).get("/URI", "")) if "/A" in a else ""
                assert not uri.startswith("editio-dest:"), uri


def test_page_references_cross_parts(edition_pdf):
    """The five-document book is laid out in several parts, and its page references
    reach across them (from the front matter to the index, from one document to another)."""
    chapters = sorted(v for k, v in edition_pdf.dests.items() if k.startswith("chapter-"))
    assert len(chapters) == 5
    bounds = chapters + [edition_pdf.dests["concordance"], edition_pdf.dests["index"]]

    def part_of(page):
        return sum(1 for b in bounds if page >= b)
    across = [(p, d) for p, _, d in edition_pdf.links() if part_of(p) != part_of(edition_pdf.dests[d])]
    assert len(across) > 100


def test_structure_tree_survives_the_merge(book):
    """One /Document element holds every part's structure; the parent tree maps every
    page's marked content and every link annotation; every element's page is a page of
    the book (PDF/UA-1)."""
    _, pdf = book
    pikepdf = pytest.importorskip("pikepdf")
    with _pike(pdf.path) as p:
        st = p.Root.StructTreeRoot
        assert len(st.K) == 1 and st.K[0].S == "/Document"
        doc = st.K[0]
        nums = st.ParentTree.Nums
        keys = [int(nums[i]) for i in range(0, len(nums), 2)]
        assert keys == sorted(set(keys)) and int(st.ParentTreeNextKey) > max(keys)
        pages = {pg.obj.objgen for pg in p.pages}
        with_content = [pg for pg in p.pages if "/StructParents" in pg.obj or pg.obj.get("/Annots")]
        assert len(with_content) >= len(p.pages) - 4      # all but the blank versos
        for pg in with_content:
            assert int(pg.obj.StructParents) in keys
            for a in pg.obj.get("/Annots", []):
                assert int(a.StructParent) in keys
        seen = 0
        todo = [(doc, st)]
        while todo:
            el, parent = todo.pop()
            seen += 1
            assert el.P.objgen == parent.objgen
            if "/Pg" in el:
                assert el.Pg.objgen in pages
            kids = el.get("/K")
            for k in (kids if isinstance(kids, pikepdf.Array) else [kids]):
                if isinstance(k, pikepdf.Dictionary) and "/S" in k:
                    todo.append((k, el))
        assert seen > len(p.pages)
        chapters = [k for k in doc.K if k.get("/S") == "/Sect"]
        assert len(chapters) >= 3     # front matter sections, chapters, back matter, from every part
        assert p.Root.PageLabels.Nums[1].S == "/D"


def test_page_numbers_are_artifacts_laid_over(basic_pdf):
    """The running page numbers are laid over every page but the title pages and blank
    pages, as artifacts (not read aloud, not in the structure), and print the page's number."""
    pikepdf = pytest.importorskip("pikepdf")
    numbered = 0
    with _pike(basic_pdf.path) as p:
        for i, page in enumerate(p.pages, 1):
            c = page.obj.Contents
            data = b"".join(x.read_bytes() for x in (c if isinstance(c, pikepdf.Array) else [c]))
            _, words = basic_pdf.words()[i]
            head = [w[4] for w in words if w[3] < 20 * 72 / 25.4]     # in the top margin
            if b"/Artifact BMC" in data:
                numbered += 1
                assert str(i) in head, (i, head)
            else:                                   # the title pages and blank pages
                assert i <= 2 or not words, (i, words[:5])
    assert numbered >= basic_pdf.n // 2


def test_rebuild_takes_parts_from_the_cache(tmp_path):
    """A cold build lays every part out once (page numbers are laid over, not laid out; a
    part whose guessed numbers came out a figure wider or narrower once more); a second build lays nothing out again and gives the same bytes; after one
    document changes, only its part is laid out again (and the index, laid out with the
    real pages), even when its page count changes: the parts after it keep their layout."""
    from editio.build import build as run_build
    from editio.config import load
    dest = tmp_path / "cache"
    shutil.copytree(ROOTS / "pdf-basic", dest)

    def stats(res):
        [d] = [d for d in res.report.items if d.code == "pdf.parts"]
        m = re.search(r"in (\d+) parts: (\d+) layouts in (\d+) pass\(es\), (\d+) taken from", d.message)
        return {"parts": int(m[1]), "layouts": int(m[2]), "passes": int(m[3]), "cached": int(m[4])}

    first = stats(run_build(load(dest), formats=("pdf",), workers=1))
    cold = (dest / "build/pdf/edition.pdf").read_bytes()
    # (a cold build guesses each slot's number; a part where a guess was off by a figure is
    # laid out once more with the real numbers' rooms)
    assert first["passes"] <= 2 and first["cached"] == 0 and first["parts"] <= first["layouts"] <= 2 * first["parts"]
    # nothing changed: the build cache (editio.cache) does nothing at all
    assert run_build(load(dest), formats=("pdf",), workers=1).up_to_date
    # a change the book does not read (a file beside the edition): every part from the cache
    (dest / "NOTES.txt").write_text("a note for the editors\n", encoding="utf-8")
    again = stats(run_build(load(dest), formats=("pdf",), workers=1))
    assert again == {"parts": first["parts"], "layouts": 0, "passes": 1, "cached": first["parts"]}
    assert (dest / "build/pdf/edition.pdf").read_bytes() == cold
    # --no-cache: made as a first build makes it (no part, and no page map of the last
    # build to guess the numbers' rooms from): the cold build's bytes
    nocache = run_build(load(dest), formats=("pdf",), workers=1, cache=False)
    assert stats(nocache)["cached"] == 0
    assert (dest / "build/pdf/edition.pdf").read_bytes() == cold
    b = dest / "tei" / "b.xml"
    b.write_text(b.read_text(encoding="utf-8").replace("recalled.</p>", "recalled. One more sentence.</p>", 1),
                 encoding="utf-8")
    # (the text no longer matches its witness: an error that --keep-going builds past)
    changed = stats(run_build(load(dest), formats=("pdf",), workers=1, keep_going=True))
    assert changed["passes"] == 1 and 1 <= changed["layouts"] <= 2, changed   # b's part (+ the index)
    pages = Pdf(dest / "build/pdf/edition.pdf").n
    # a document that grows by pages: still only its part (and the index) is laid out again
    # (in its last paragraph: no paragraph is renumbered, no reference to it changes)
    more = " ".join(f"Another sentence, number {i}, added to make the document longer than it "
                    "was, so that it takes more pages." for i in range(150))
    text = b.read_text(encoding="utf-8")
    at = text.rindex("recalled.</p>") + len("recalled.")
    b.write_text(text[:at] + " " + more + text[at:], encoding="utf-8")
    grown = stats(run_build(load(dest), formats=("pdf",), workers=1, keep_going=True))
    assert grown["passes"] == 1 and 1 <= grown["layouts"] <= 2, grown
    pdf = Pdf(dest / "build/pdf/edition.pdf")
    assert pdf.n > pages
    test_every_printed_page_number_is_the_page_of_its_target((dest, pdf))


def test_a_part_the_engine_cannot_lay_out_is_reported_and_marked(basic, tmp_path):
    """A failure inside WeasyPrint on one part: a located pdf.layout warning, a page in
    its place, and the rest of the book written (no traceback)."""
    from concurrent.futures import Executor, Future
    from editio.build import prepare
    from editio.builders.pdf import build_pdf
    from editio.builders.pdf_layout import lay_out
    from editio.config import load

    class Breaks(Executor):
        def submit(self, fn, job):
            f = Future()
            if job["key"] == "text-chapter-b":
                job = dict(job, html=job["html"].replace("<body", "<body data-x", 1))
                f.set_result(dict(lay_out(job), error="AssertionError: Got ' \\n' between two lines"))
            else:
                f.set_result(fn(job))
            return f

    dest = tmp_path / "breaks"
    shutil.copytree(ROOTS / "pdf-basic", dest)
    edition, report = prepare(load(dest))
    out = build_pdf(edition, tmp_path / "out", report, executor=Breaks())
    layout = [d for d in report.items if d.code == "pdf.layout"]
    assert len(layout) == 1 and layout[0].file == "tei/b.xml" and layout[0].line > 0, layout
    assert "Got ' \\n'" in layout[0].message
    pdf = Pdf(out)
    text = pdf.text()
    assert "could not be laid out" in text and "Document A" in text
    assert "chapter-b" in pdf.dests and "index" in pdf.dests


def test_whitespace_of_the_source_is_normalised():
    from lxml import etree
    from editio.render.print import normalise_space
    el = etree.fromstring("<div><p>a  \n   b<span>c\n</span>\n d</p><pre>x\n  y</pre></div>")
    normalise_space(el)
    assert etree.tostring(el, encoding="unicode") == "<div><p>a b<span>c </span> d</p><pre>x\n  y</pre></div>"


def test_split_tree_keeps_numbering_and_ids():
    from lxml import etree
    from editio.builders.pdf import split_tree
    root = etree.fromstring("<div id='t'>lead<ol>" + "".join(
        f"<li id='i{i}'>item {i} {'x' * 50}</li>" for i in range(10)) + "</ol></div>")
    pieces = split_tree(root, 250)
    assert len(pieces) > 2
    assert all(len(etree.tostring(p)) < 400 for p in pieces)
    assert pieces[0].get("id") == "t" and not any(p.get("id") for p in pieces[1:])
    assert pieces[0].text == "lead"
    starts = [p.find("ol").get("start") for p in pieces[1:]]
    assert starts == sorted(starts, key=int) and starts[0] != "1"
    ids = [li.get("id") for p in pieces for li in p.iter("li")]
    assert ids == [f"i{i}" for i in range(10)]


def test_split_tree_keeps_what_follows_a_large_child_with_its_last_piece():
    """A volume's index ends with the page breaks of its blank last pages: they go with the
    index's last piece, not into a part (a printed page) of their own."""
    from lxml import etree
    from editio.builders.pdf import split_tree
    root = etree.fromstring("<div><ul>" + "".join(f"<li>entry {i} {'x' * 50}</li>" for i in range(10))
                            + "</ul><span class='pb'>[p. 561]</span><span class='pb'>[p. 562]</span></div>")
    pieces = split_tree(root, 250)
    assert len(pieces) > 2
    assert all(p.find("ul") is not None for p in pieces), [etree.tostring(p) for p in pieces]
    assert [s.text for s in pieces[-1].iter("span")] == ["[p. 561]", "[p. 562]"]


def test_split_tree_keeps_a_heading_with_the_large_child_after_it():
    """A volume's index: its heading, then one list larger than a part.  The heading goes
    with the list's first piece (alone, it made a page of its own, 90 % blank)."""
    from lxml import etree
    from editio.builders.pdf import split_tree
    root = etree.fromstring("<section><h1>Index</h1><p>Note: the terms.</p><ul>"
                            + "".join(f"<li>entry {i} {'x' * 50}</li>" for i in range(10)) + "</ul></section>")
    pieces = split_tree(root, 250)
    assert len(pieces) > 2
    assert pieces[0].find("h1") is not None and pieces[0].find("ul") is not None, etree.tostring(pieces[0])
    assert [li.text.split()[1] for p in pieces for li in p.iter("li")] == [str(i) for i in range(10)]


def test_chains_split_a_run_on_group_evenly_and_leave_other_groups_alone():
    """A group that runs on over several parts is split into as many chains as there are
    workers, of about equal size (a cut before the rest of a unit cut in pieces only if
    nothing balances as well), as far as it holds workers' shares of the book; a group
    of one part is no chain."""
    from editio.builders.pdf import Chapter, Part, _balanced, _chains
    assert _balanced([10, 10, 10, 10], 2) == {2}
    assert _balanced([30, 10, 10, 10], 2) == {1}
    assert _balanced([10, 10, 10, 10], 1) == set()
    assert _balanced([10, 10, 10, 10, 10, 10], 3) == {2, 4}
    assert _balanced([10, 10, 10, 10], 2, avoid={2}) == {2}      # (nothing else as good)
    assert _balanced([10, 10, 11, 10], 2, avoid={2}) in ({2}, {3})

    def part(key, run_on, continued=False):
        ch = Chapter(id=key, number=1, title="", short="", running="", lang="en", source="", text="",
                     run_on=run_on, continued=continued)
        return Part(key, "text", "chapters.html", chapters=[ch])
    parts = [Part("front", "front", "front.html"), part("a", False), part("b", True), part("c", True),
             part("d", True), part("e", False), part("f", False), part("g", True)]
    htmls = {p.key: "x" * 100 for p in parts}
    big = "x" * 100_000
    htmls = {p.key: big if p.key in "abcdfg" else "x" * 1000 for p in parts}
    # (a … d: two workers' shares of the book: two chains; f, g: less than a share: one)
    after, carry, seam = _chains(parts, htmls, 2)
    assert after == {"b": "a", "d": "c", "g": "f"} and carry == {"a", "c", "f"}
    assert seam == {"b"}               # (where the first chain of a … d ends)
    after, carry, seam = _chains(parts, htmls, 1)
    assert after == {"b": "a", "c": "b", "d": "c", "g": "f"} and not seam
    # two chapters of a worker's share each: side by side, no seam inside either
    after, carry, seam = _chains(parts, {**htmls, "f": big * 2, "g": big * 2}, 2)
    assert after == {"b": "a", "c": "b", "d": "c", "g": "f"} and not seam
    # parts laid out once the others are (a printed index) share the workers among themselves
    after, carry, seam = _chains(parts, htmls, 2, late={"f", "g"})
    assert seam == {"b", "f"} and "g" not in after
    # a chain never ends after a part too short to take up the gap where the next begins
    # (its last pages laid out again with a leading a little changed: pdf_layout.fit_seam)
    htmls["b"] = "x" * 1000
    after, carry, seam = _chains(parts, htmls, 2)
    assert "b" not in seam and len(seam) == 1 and len(after) == 3
    htmls = {p.key: "x" * 1000 for p in parts}
    after, carry, seam = _chains(parts, htmls, 2)
    assert after == {"b": "a", "c": "b", "d": "c", "g": "f"} and not seam
    assert _balanced([10, 10, 10, 10], 2, never={1, 2, 3}) is None


@pytest.mark.parametrize("kind", ["paragraphs", "index"])
def test_carry_cut_gives_what_the_last_page_holds_to_the_next_part(kind):
    """The worker's cut (pdf_layout.carry_cut): a part whose last page is partly blank keeps
    its pages before the last one that can be cut (a page that begins a block, or goes on
    with a paragraph or an index entry), and gives the rest as HTML for the next part;
    nothing is lost and nothing is given twice (every word once: on a page kept or in the
    HTML given)."""
    from lxml import html as lhtml
    from weasyprint import CSS, HTML
    from weasyprint.formatting_structure.boxes import TextBox
    from editio.builders.pdf_layout import SLOT_CSS, blank_fraction, carry_cut, keep_pages
    css = CSS(string="@page { size: 110mm 90mm; margin: 8mm } body { font: 9pt serif; line-height: 1.3 }"
                     " p, ul { margin: 0 0 2mm } li { margin: 0 } " + SLOT_CSS)

    def body(n):
        words = lambda k: " ".join(f"w{k}x{j}" for j in range(3 + (k * 7) % 40))
        if kind == "index":
            return ("<section class='back' id='s'><h1>Index</h1><ul class='idx'>"
                    + "".join(f"<li id='e{k}'>{words(k)}</li>" for k in range(n)) + "</ul></section>")
        return "<section id='s'><div class='text'>" + "".join(f"<p id='p{k}'>{words(k)}</p>" for k in range(n)) \
            + "</div></section>"

    for n in range(40, 120):
        html = f"<html><body>{body(n)}</body></html>"
        doc = HTML(string=html).render(stylesheets=[css])
        if len(doc.pages) > 3 and blank_fraction(doc.pages[-1]) > 0.4:
            break
    cut = carry_cut(doc)
    assert cut is not None
    first, given = cut
    assert 0 < first < len(doc.pages)
    kept = keep_pages(doc, first)
    on_pages = [w for page in kept.pages for b in page._page_box.descendants() if isinstance(b, TextBox)
                for w in b.text.split() if w.startswith("w")]
    in_given = [w for w in " ".join(lhtml.fragment_fromstring(given, create_parent="div").itertext()).split()
                if w.startswith("w")]
    every = [w for w in " ".join(lhtml.fromstring(html).itertext()).split() if w.startswith("w")]
    assert on_pages + in_given == every
    assert "data-editio-carried" in given and ' id="' + ("e" if kind == "index" else "p") not in given.split(">")[0]


def test_a_seam_that_cannot_be_fitted_leaves_the_part_as_it_was(monkeypatch):
    """Where two chains meet, laying the last pages out again is a refinement: if it fails,
    the part is the part as first laid out, and the result says why (``pdf.seam``, info),
    never a failed part."""
    from editio.builders import pdf_layout

    def broken(*args, **kwargs):
        raise RuntimeError("a test's failure")
    monkeypatch.setattr(pdf_layout, "fit_seam", broken)
    html = "<html><body>" + "".join(f"<p>paragraph {k} " + "word " * 80 + "</p>" for k in range(12)) + "</body></html>"
    job = {"key": "k", "html": html, "base_url": ".", "stylesheets": [], "tagged": False,
           "identifier": "0" * 32, "seam": True}
    res = pdf_layout.lay_out(job)
    assert res["error"] is None and res["pages"] >= 1 and res["pdf"].startswith(b"%PDF")
    assert "a test's failure" in res["seam"]["why"]


def test_a_unit_larger_than_a_part_is_laid_out_in_several(tmp_path, monkeypatch):
    """No size limit: a document larger than a part goes on in the following parts."""
    from editio.build import prepare
    from editio.builders import pdf as pdfmod
    from editio.config import load
    dest = tmp_path / "long"
    shutil.copytree(ROOTS / "pdf-basic", dest)
    monkeypatch.setattr(pdfmod, "PART_HTML", 4000)
    edition, report = prepare(load(dest))
    out = pdfmod.build_pdf(edition, tmp_path / "out", report, workers=2)
    [d] = [d for d in report.items if d.code == "pdf.parts"]
    assert int(re.search(r"in (\d+) parts", d.message)[1]) > 6
    assert not [d for d in report.items if d.code.startswith("pdf.") and d.severity != "info"]
    pdf = Pdf(out)
    for name, page in pdf.dests.items():
        if "--note-" in name:
            assert pdf.dests.get(name.replace("--note-", "--call-")) == page, name


@pytest.mark.slow
def test_dask_local_cluster_gives_the_same_bytes(basic, tmp_path):
    """The parts sent to a Dask cluster (distributed.LocalCluster) make the same PDF."""
    distributed = pytest.importorskip("distributed")
    dest = tmp_path / "dask"
    shutil.copytree(ROOTS / "pdf-basic", dest)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None, host="127.0.0.1") as cluster:
        address = cluster.scheduler_address.replace("tcp://", "dask://")
        build(dest, "--executor", address)
    assert (dest / "build/pdf/edition.pdf").read_bytes() == (basic / "build/pdf/edition.pdf").read_bytes()


def test_unknown_executor_is_a_usage_error(tmp_path):
    dest = tmp_path / "ex"
    shutil.copytree(ROOTS / "pdf-basic", dest)
    r = run_editio("build", "--project", dest, "--format", "pdf", "--executor", "ftp://x")
    assert r.returncode == 1 and "[pdf.executor]" in r.stderr and "Traceback" not in r.stderr


def blank_pages(pdf: Pdf, limit: float = 1 / 3) -> list[tuple[int, float]]:
    """Pages inside a chapter (not its last page) whose text area has an empty stretch over
    ``limit`` of its height, measured on the words of the rendered page (pdftotext -bbox):
    the largest gap between lines, or above the first, or below the last."""
    mm = 72 / 25.4
    starts = sorted({v for k, v in pdf.dests.items() if k.startswith("chapter-") or k.startswith("group-")
                     or k in ("concordance", "index", "redactions")})
    words = pdf.words()
    text_pages = [i for i in range(1, pdf.n + 1) if words[i][1]]
    last_of_chapter = set()
    for s in starts[1:] + [pdf.n + 1]:
        before = [i for i in text_pages if i < s]
        if before:
            last_of_chapter.add(before[-1])
    out = []
    for i in text_pages:
        if not starts or i < starts[0] or i in last_of_chapter:
            continue
        height, ws = words[i]
        top, bottom = 20 * mm, height - 22 * mm
        spans = sorted((w[1], w[3]) for w in ws if top - 2 <= w[1] <= bottom + 2)
        gap, cur = 0.0, top
        for a, b in spans:
            gap = max(gap, a - cur)
            cur = max(cur, b)
        gap = max(gap, bottom - cur)
        if gap / (bottom - top) > limit:
            out.append((i, round(gap / (bottom - top), 2)))
    return out


@needs_poppler
def test_no_page_inside_a_chapter_is_a_third_blank(edition_pdf):
    assert not blank_pages(edition_pdf)


def _gaps(pdf: Pdf, page: int) -> float:
    """The largest empty stretch of a page's text area, as a fraction of its height."""
    mm = 72 / 25.4
    height, ws = pdf.words()[page]
    top, bottom = 20 * mm, height - 22 * mm
    gap, cur = 0.0, top
    for a, b in sorted((w[1], w[3]) for w in ws if top - 2 <= w[1] <= bottom + 2):
        gap = max(gap, a - cur)
        cur = max(cur, b)
    return max(gap, bottom - cur) / (bottom - top)


@needs_poppler
@pytest.mark.parametrize("part_html", [12000, 100000])
def test_a_run_on_chapter_cut_into_parts_has_no_half_blank_page(tmp_path, monkeypatch, part_html):
    """A FRUS chapter whose 28 documents run on, cut into several parts (a small part
    size).  The parts of the chapter are laid out in chains (as many as there are workers
    when the parts are long enough, 100,000: a chain of one part and a chain of the rest);
    within a chain each part begins with the blocks of the previous part's last page
    (12,000: 14 short parts in one chain), and where one chain ends and the next begins
    the first chain's last pages are laid out again with their leading changed a little
    (at most 3 %) so that its last page is full or gone: no page of the chapter is more
    than a third blank.  The pages still add up: every printed page number is its
    target's page, every note is on its call's page, and links and anchors moved with
    their blocks.  After a document near the start grows, the parts after it in its chain
    are laid out again only as far as what they are given changed, and the book is as
    right as a cold one."""
    from editio.build import prepare
    from editio.builders import pdf as pdfmod
    from editio.config import load
    dest = tmp_path / "runon"
    shutil.copytree(ROOTS / "frus-runon", dest)
    monkeypatch.setattr(pdfmod, "PART_HTML", part_html)

    def build_and_check():
        edition, report = prepare(load(dest))
        out = pdfmod.build_pdf(edition, tmp_path / "out", report, workers=2)
        assert not [d for d in report.items if d.code.startswith("pdf.") and d.severity != "info"]
        [info] = [d for d in report.items if d.code == "pdf.parts"]
        parts = int(re.search(r"in (\d+) parts", info.message)[1])
        laid = int(re.search(r"(\d+) layouts", info.message)[1])
        pdf = Pdf(out)
        first = min(p for k, p in pdf.dests.items() if k.startswith("group-"))
        last = min(p for k, p in pdf.dests.items() if k in ("index", "redactions") or k.startswith("chapter-index")) - 1
        text = [i for i in range(first, last + 1) if pdf.words()[i][1]]
        assert (parts > 8 if part_html < 20000 else parts >= 4) and len(text) > 20, (parts, text)
        # (the chapter's last page may end where it ends)
        blank = [(i, round(_gaps(pdf, i), 2)) for i in text[:-1] if _gaps(pdf, i) > 1 / 3]
        assert blank == [], blank
        if part_html > 20000:       # (a seam, closed: the leading of its last pages changed)
            seams = [r["seam"] for f in (dest / ".editio-cache" / "pdf").glob("*.json")
                     for r in [json.loads(f.read_text())] if r.get("seam")]
            assert seams and all(0.97 <= s["leading"] <= 1.03 and s["leading"] != 1 for s in seams), seams
        # a running head on every page of the chapter but its opening page, also on the
        # first page of each part and on the pages where a document begins
        heads = {i: [w[4] for w in pdf.words()[i][1] if w[3] < 20 * 72 / 25.4 and not w[4].isdigit()] for i in text}
        assert not heads[first], heads[first]
        assert [i for i in text[1:] if not heads[i]] == []
        # every document is there, in order, once
        chapters = sorted((p, int(k.split("-d")[-1])) for k, p in pdf.dests.items() if re.fullmatch(r"chapter-d\d+", k))
        assert [n for _, n in chapters] == list(range(1, 29))
        for name, page in pdf.dests.items():
            if "--note-" in name and name.replace("--note-", "--call-") in pdf.dests:
                assert pdf.dests[name.replace("--note-", "--call-")] == page, name
        # every paragraph is printed (none is lost where a part was cut): its first words
        from lxml import etree as et
        tei = et.parse(str(dest / "tei" / "frus-runon.xml"))
        ns = {"t": "http://www.tei-c.org/ns/1.0"}
        printed = squash(re.sub(r"[-\u2010\u00ad]\s*\n\s*", "", pdf.text(first, last)))
        paras = tei.xpath("//t:body//t:div[@type='document']/t:p", namespaces=ns)
        assert len(paras) > 100
        for para in paras:
            et.strip_elements(para, "{%s}note" % ns["t"], with_tail=False)
            start = " ".join("".join(para.itertext()).split()[:6])
            assert squash(start) in printed, start
        # (a block carried over keeps its ids where it is printed: the page numbers printed
        # for them, in the index and the cross-references, are their pages)
        assert printed_numbers_checked(pdf) >= 10
        return parts, laid

    parts, laid = build_and_check()
    assert parts <= laid <= 2 * parts      # (a part whose guessed page numbers were a figure off: twice)
    tei = dest / "tei" / "frus-runon.xml"
    src = tei.read_text(encoding="utf-8")
    at = src.index("</p>", src.index('xml:id="d2"'))
    tei.write_text(src[:at] + " A sentence added to the second document, long enough to add a line or two"
                   " to its paragraph and move what follows it on its pages." + src[at:], encoding="utf-8")
    parts, laid = build_and_check()
    assert 1 <= laid < parts


@pytest.mark.slow
@pytest.mark.parametrize("volume", ["frus1917-72PubDip", "frus1964-68v29p2", "frus1955-57v23p2"])
def test_every_frus_volume_gets_a_book(tmp_path, volume):
    """No size limit: every FRUS volume becomes a book, laid out in parts of bounded memory
    (≤ 1 GB per layout process), one part per group of documents, without a traceback."""
    from conftest import FRUS, TEI_ALL
    from editio.build import build as run_build
    from editio.config import load
    src = FRUS / f"{volume}.xml"
    if not src.exists():
        pytest.skip("FRUS corpus not available")
    (tmp_path / "tei").mkdir()
    shutil.copy(src, tmp_path / "tei" / src.name)
    res = run_build(load(tmp_path, profile="frus"), formats=("pdf",), keep_going=True,
                    schema=TEI_ALL if TEI_ALL.exists() else None)
    assert not [d for d in res.report.items if d.code == "pdf.layout"]
    [info] = [d for d in res.report.items if d.code == "pdf.parts"]
    m = re.search(r"(\d+) pages in (\d+) parts: .* peak memory of a layout process (\d+) MB", info.message)
    assert int(m[1]) > 50 and int(m[2]) > 2 and int(m[3]) <= 1024, info.message
    pdf = Pdf(tmp_path / "build" / "pdf" / "edition.pdf")
    for name, page in pdf.dests.items():
        if "--note-" in name and name.replace("--note-", "--call-") in pdf.dests:
            assert pdf.dests[name.replace("--note-", "--call-")] == page, name
    # the contents lists every document (a link to each chapter from the contents pages)
    chapters = {k for k in pdf.dests if k.startswith("chapter-")}
    first = min(pdf.dests[k] for k in chapters)
    listed = {d for p, _, d in pdf.links() if p < first and d in chapters}
    assert len(listed) == len(chapters) > 40


# ------------------------------------------------- the print apparatus (issue 12)
def _runs(pdf: Pdf, first: int, last: int) -> list[tuple[float, str]]:
    """(font size in points, text) of every text run on pages first..last, in order."""
    out = []
    for i in range(first - 1, last):
        def visit(text, cm, tm, font, size):
            if text:
                out.append((round(size * tm[0] * cm[0], 2), text))
        pdf.reader.pages[i].extract_text(visitor_text=visit)
        out.append((0.0, "\n"))
    return out


def _text_pages(pdf: Pdf) -> tuple[int, int]:
    first = min(p for name, p in pdf.dests.items() if name.startswith("chapter-"))
    last = min((p for name, p in pdf.dests.items() if name.startswith(("concordance", "redactions", "index"))),
               default=pdf.n + 1) - 1
    return first, last


def test_note_calls_are_set_apart(edition_pdf):
    """A call follows its word ("word¹ The", never "word ¹The"); a call after another
    call is set apart ("8,9", never "89"): the calls of a chapter count 1, 2, 3 …"""
    first, last = _text_pages(edition_pdf)
    runs = [r for r in _runs(edition_pdf, first, last) if r[1]]
    chars: dict = {}
    for size, text in runs:
        chars[size] = chars.get(size, 0) + len(text.strip())
    body = max(sorted(chars, key=chars.get)[-3:])       # the text's size (notes are smaller)
    small = [0 < size < 0.62 * body for size, _ in runs]   # calls: 64 %; margin numbers: 65 %
    calls, glued, i = [], [], 0
    while i < len(runs):
        if not small[i]:
            i += 1
            continue
        j = i
        while j + 1 < len(runs) and small[j + 1]:
            j += 1
        raw = "".join(t for _, t in runs[i:j + 1])
        call = raw.strip()
        prev = runs[i - 1][1] if i else ""
        nxt = next((t for size, t in runs[j + 1:] if not 0.62 * body <= size < 0.7 * body), "")  # margin ¶
        i = j + 1
        if not re.fullmatch(r"\d+(,\d+)*", call):
            continue
        calls.append([int(n) for n in call.split(",")])
        if (nxt[:1].isalnum() and not raw[-1].isspace()) or \
                ((prev[-1:].isspace() or raw[0].isspace()) and prev.strip()):
            glued.append((prev[-20:], call, nxt[:20]))
    assert len(calls) > 100
    assert not glued, glued[:10]
    flat = [n for c in calls for n in c]
    jumps = [(a, b) for a, b in zip(flat, flat[1:]) if b != a + 1 and b != 1]
    assert not jumps, jumps[:10]
    assert any(len(c) > 1 for c in calls)            # the edition has adjacent calls


@needs_poppler
def test_no_spacing_note_and_typographic_quotes(edition, edition_pdf):
    """Spacing is regularised silently (declared in the Note on the text); the edited
    reading and what editio writes have typographic quotes; no ISO date is printed but
    those the sources' own text has ("Updated on 2024-02-13")."""
    iso = re.compile(r"\b\d{4}-\d\d-\d\d\b")
    quoted = set()
    for f in (edition / "tei").glob("*.xml"):
        quoted |= set(iso.findall(" ".join(etree.parse(str(f)).getroot().itertext())))
    txt = edition_pdf.text()
    assert "space added" not in txt and "space removed" not in txt
    front = edition_pdf.text(1, edition_pdf.dests["key"])
    assert "Spacing is regularised silently" in " ".join(front.split())
    assert "People’s" in front and "People's" not in front
    first, last = _text_pages(edition_pdf)
    body = edition_pdf.text(first, last)
    assert body.count("’") > 20 * max(1, body.count("'")), (body.count("’"), body.count("'"))
    printed = [d for d in iso.findall(txt) if d not in quoted]
    assert not printed, printed[:10]


def test_typographic_quotes_in_the_edited_reading_only():
    from editio.typography import curl
    assert curl("the People's Army") == "the People’s Army"
    assert curl('He said "go" and \'left\'.') == "He said “go” and ‘left’."
    assert curl("in the '50s") == "in the ’50s"
    assert curl("the Volunteers' withdrawal") == "the Volunteers’ withdrawal"
    assert curl("x", prev="") == "x"
    assert curl('see https://a.org/?q="x"') == 'see https://a.org/?q="x"'
    assert curl('"', prev="a") == "”" and curl('"', prev=" ") == "“"


def test_index_has_no_self_pointing_see_and_each_form_once(edition, edition_pdf):
    from editio.build import prepare
    from editio.builders.pdf import SUBENTRIES, Book
    from editio.config import load
    ed, report = prepare(load(edition))
    book = Book(ed, report)
    book.render_chapters()
    pages = {a: 1 + i // 3 for i, a in enumerate(a for ch in book.chapters for _, a in ch.mentions)}
    for part in book.index(pages):
        entries = part["entries"]
        names = {e["name"] for e in entries if "see" not in e}
        for i, e in enumerate(entries):
            if "see" in e:
                assert e["see"] in names, e                        # sends the reader somewhere
                near = {entries[j]["name"] for j in (i - 1, i + 1) if 0 <= j < len(entries)}
                assert e["see"] not in near, e                     # ... not to the line beside it
            else:
                forms = [o["text"] for o in e["originals"]]
                assert len(forms) == len(set(forms)), e
                assert len(e["pages"]) <= SUBENTRIES and all(len(s["pages"]) <= SUBENTRIES for s in e["subs"]), e
    assert any(e.get("subs") for part in book.index(pages) for e in part["entries"])
    txt = " ".join(edition_pdf.text(edition_pdf.dests["index"]).split())
    assert "Stalin, see Stalin" not in txt and "釜山, 釜山" not in txt


@needs_poppler
def test_links_whose_text_is_an_id_read_as_labels(edition_pdf):
    """<ref target="d002.xml">d002</ref> prints "Doc. 3 (p. 37)", never the id, nor the
    label twice ("Doc. 3 (Doc. 3, p. 37)")."""
    txt = " ".join(edition_pdf.text().split())
    assert not re.search(r"Doc\. \d+(, ¶ \d+)? \(Doc\. \d+", txt), re.findall(r".{20}Doc\. \d+ \(Doc\..{20}", txt)[:5]
    assert re.search(r"Doc\. \d+ \(p\.\s+\d+\s*\)", txt)      # (the number is laid over its slot)


@needs_poppler
def test_no_xml_id_in_the_book(edition, edition_pdf):
    """No xml:id of the edition in the text a reader sees (the names of the attached
    files, "d002.xml", are file names and stay)."""
    from editio.build import prepare
    from editio.config import load
    ed, _ = prepare(load(edition))
    ids = {i for d in ed.corpus.documents for i in d.ids if re.search(r"[\d-]", i)}
    txt = re.sub(r"\S+\.(xml|txt)\b", " ", edition_pdf.text())
    found = sorted(set(re.findall(r"[\w-]+", txt)) & ids)
    assert not found, found[:20]


def _frus_mini_with_index_item(tmp_path, item: str):
    """A copy of tests/roots/frus-mini whose index entry "Testland" reads ``item``."""
    from conftest import ROOTS
    dest = tmp_path / "frus-mini"
    shutil.copytree(ROOTS / "frus-mini", dest)
    tei = dest / "tei" / "frus-mini.xml"
    src = tei.read_text()
    old = '<item>Testland, <ref target="#pg_3">3</ref>, <ref target="#pg_4">4</ref></item>'
    assert old in src
    tei.write_text(src.replace(old, item))
    return dest


def test_a_page_range_in_a_printed_index_prints_the_books_pages(tmp_path):
    """A FRUS index writes a range as a link and plain text, ``<ref target="#pg_3">3</ref>–4``:
    both ends print the book's page (two slots), never the book's page and the source's;
    an end whose page marker does not exist stays as written."""
    from editio.build import prepare
    from editio.builders.pdf import Book
    from editio.config import load
    dest = _frus_mini_with_index_item(
        tmp_path, '<item>Testland, <ref target="#pg_3">3</ref>–4, <ref target="#pg_4">4</ref>–99</item>')
    edition, report = prepare(load(dest, profile="frus"))
    book = Book(edition, report)
    book.render_chapters()
    ctx = book.context()
    from lxml import html as lhtml
    trees = [lhtml.fromstring(book.part_html(p, ctx)) for p in book.parts()]
    [item] = [li for t in trees for li in t.iter("li") if "tei-item" in (li.get("class") or "")
              and li.text_content().strip().startswith("Testland,")]
    refs = [(pn.get("data-ref"), pn.get("data-to")) for pn in item.iter("span") if pn.get("class") == "pn"]
    assert [(r.rsplit("pg_", 1)[-1], t and t.rsplit("pg_", 1)[-1]) for r, t in refs] == [("3", "4"), ("4", None)], refs
    text = " ".join(item.text_content().split())
    assert "–99" in text and "–4," not in text, text


def test_a_page_range_is_one_slot_set_tight_and_one_page_when_its_ends_meet(tmp_path):
    """``<ref target="#pg_3">3</ref>–<ref target="#pg_4">4</ref>`` in a printed index is one
    slot for the range: the book prints "N–M" with no room inside it (two slots of the
    widest number's width read "50– 56"), and "N" alone when both ends fall on one page of
    the book (never "50–50").  A part holding such locators is laid out once the pages
    they point to are known, each slot as wide as its number."""
    from editio.builders.pdf import _slot_text
    assert _slot_text({"ref": "a", "to": "b"}, {"a": 50, "b": 56}) == "50\u201356"
    assert _slot_text({"ref": "a", "to": "b"}, {"a": 50, "b": 50}) == "50"
    assert _slot_text({"ref": "a", "to": "x"}, {"a": 50}) == "50"
    assert _slot_text({"ref": "a"}, {"a": 7}) == "7"
    # pg_3 and pg_4 are markers of the source's pages; in the book both may share a page
    dest = _frus_mini_with_index_item(
        tmp_path, '<item>Testland, <ref target="#pg_3">3</ref>–<ref target="#pg_4">4</ref>, '
                  '<ref target="#pg_4">4</ref></item>')
    r = run_editio("build", "--project", dest, "--profile", "frus", "--format", "pdf", "-q")
    assert r.returncode == 0, r.stderr
    pdf = dest / "build" / "pdf" / "edition.pdf"
    from editio.builders.pdf import Book
    pages = Book.anchor_pages(pdf)
    a = next(v for k, v in pages.items() if k.endswith("pg_3"))
    b = next(v for k, v in pages.items() if k.endswith("pg_4"))
    want = f"{a}–{b}" if a != b else f"{a}"
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True).stdout
    # (as wide as its number: no room to spare before it, "Testland,    10" with the
    # room of the book's widest number)
    line = next(t.strip() for t in text.splitlines() if t.strip().startswith("Testland,"))
    assert line.startswith(f"Testland, {want}, {b}"), (line, want)


def test_footnotes_laid_out_once_give_the_same_pages(monkeypatch):
    """pdf_layout._footnotes_measured_once (a note of a page laid out once per place, not
    once for every note added after it): the part's PDF and page facts are the same bytes
    as WeasyPrint's own layout, on pages with many notes (several lines each, one of them
    with a float and one too long for its page) and fewer lines are laid out."""
    import contextlib
    import hashlib
    from weasyprint.layout import inline
    from editio.builders import pdf_layout
    from editio.resources import STYLES
    notes = lambda k: "".join(
        f"<span class='footnote' data-n='{k}{j}'>Note {k}.{j}: " + "some words of the note " * (3 + (k * j) % 9)
        + ("<span style='float: right'>[float]</span>" if (k, j) == (3, 1) else "")
        + ("more words " * 400 if (k, j) == (5, 2) else "") + "</span>" for j in range(1, 4))
    body = "".join(f"<p class='tei-p' data-para='{k}'>" + "Text of the paragraph goes on. " * (8 + k % 5)
                   + notes(k) + " and ends here.</p>" for k in range(1, 25))
    job = {"key": "notes", "html": f"<!DOCTYPE html><html lang='en'><body><div class='tei-text'>{body}</div></body></html>",
           "base_url": str(STYLES) + "/", "stylesheets": [str(STYLES / "print.css")], "tagged": True,
           "identifier": "0" * 32}
    lines = {"n": 0}
    real = inline.split_first_line

    def counted(*a, **k):
        lines["n"] += 1
        return real(*a, **k)

    monkeypatch.setattr(inline, "split_first_line", counted)
    out = []
    for memo in (False, True):
        if not memo:
            monkeypatch.setattr(pdf_layout, "_footnotes_measured_once", contextlib.nullcontext)
        else:
            monkeypatch.undo()
            monkeypatch.setattr(inline, "split_first_line", counted)
        lines["n"] = 0
        res = pdf_layout.lay_out(dict(job))
        assert res["error"] is None and res["pages"] > 3
        out.append((hashlib.sha256(res["pdf"]).hexdigest(), res["anchors"], res["sides"], res["heads"],
                    res["slots"], lines["n"]))
    assert out[0][:5] == out[1][:5]
    assert out[1][5] < out[0][5] * 0.9, (out[0][5], out[1][5])


def test_layouts_in_threads_of_one_process_give_the_bytes_of_one_at_a_time():
    """A Dask worker may run several parts in threads of one process: the layouts swap
    WeasyPrint's functions and catch its log for the length of a part, so they take turns
    (pdf_layout._ONE_LAYOUT); each part's PDF is the one a layout alone gives."""
    import hashlib
    from concurrent.futures import ThreadPoolExecutor
    from editio.builders import pdf_layout
    from editio.resources import STYLES

    def job(k):
        body = "".join(f"<p class='tei-p' data-para='{i}'>" + f"Part {k}, paragraph {i}. " * (20 + k)
                       + f"<span class='footnote' data-n='{i}'>Note {i} of part {k}: "
                       + "words " * (5 + i % 7) + "</span> ends.</p>" for i in range(1, 12))
        return {"key": f"part{k}", "html": f"<!DOCTYPE html><html lang='en'><body><div class='tei-text'>"
                f"{body}</div></body></html>", "base_url": str(STYLES) + "/",
                "stylesheets": [str(STYLES / "print.css")], "tagged": True, "identifier": "0" * 32}

    alone = [pdf_layout.lay_out(job(k)) for k in range(3)]
    with ThreadPoolExecutor(3) as pool:
        together = list(pool.map(pdf_layout.lay_out, [job(k) for k in range(3)]))
    for a, b in zip(alone, together):
        assert a["error"] is None and b["error"] is None and a["pages"] > 1
        assert hashlib.sha256(a["pdf"]).digest() == hashlib.sha256(b["pdf"]).digest()
        assert (a["anchors"], a["warnings"]) == (b["anchors"], b["warnings"])


def test_no_cache_guesses_page_numbers_as_a_first_build_does(tmp_path):
    """With the cache off (``--no-cache``) the last build's page map is not read: the rooms
    of the page numbers are guessed from the input alone, so the book has the bytes of a
    first build whatever was built before (the first edition's book differed in three
    footnotes' lines otherwise)."""
    from editio.builders.pdf import PartCache
    root = tmp_path / "pdf"
    root.mkdir()
    PartCache(root, tmp_path).save_map({"d1": 94})
    assert PartCache(root, tmp_path).load_map() == {"d1": 94}
    assert PartCache(root, tmp_path, enabled=False).load_map() is None


@needs_poppler
def test_margin_numbers_drawn_as_stamps_where_weasyprint_drew_them(tmp_path, monkeypatch):
    """pdf_layout._margin_numbers_as_stamps: the paragraphs' margin numbers (print.css
    ``[data-para]::before``: paragraphs, list items, plain lists, paratext, a quotation; one
    paragraph broken over a page) get no box in the part; drawn by the merge from stamps,
    each stands where WeasyPrint drew it (same words at the same place, to 0.05 pt), and
    the rest of the part is laid out as before (pages, anchors, slots)."""
    import contextlib
    from editio.builders import pdf_layout
    from editio.builders.pdf import mark_drawn
    from editio.builders.pdf_merge import merge
    from editio.resources import STYLES
    para = lambda k, n=12: f"<p class='tei-p' data-para='{k}' id='p{k}'>" + f"Words of paragraph {k} go on. " * n + "</p>"
    body = (para(1) + "<blockquote>" + para(2) + "</blockquote>" + para(3, 140)
            + "<ul>" + "".join(f"<li data-para='{k}'>An item, {k}. " + "More. " * 9 + "</li>" for k in (4, 5)) + "</ul>"
            + "<div class='plain-list'><ul><li data-para='6'>A plain item.</li><li data-para='7'>Another.</li></ul></div>"
            + "<aside class='paratext'><p class='paratext-label'>Note</p>" + para(8, 5) + "</aside>"
            + "".join(para(k, 9 + k % 4) for k in range(9, 40))
            + "<p class='tei-p' data-para='40'>See <a class='pageref' href='#p3'>p.&nbsp;<span class='pn' "
            "data-ref='p3' data-slot='0'>0</span></a>.</p>")
    job = {"key": "marks", "html": f"<!DOCTYPE html><html lang='en'><body><div class='tei-text'>{body}</div></body></html>",
           "base_url": str(STYLES) + "/", "stylesheets": [str(STYLES / "print.css")], "tagged": True,
           "identifier": "0" * 32}
    stamped = pdf_layout.lay_out(dict(job))
    monkeypatch.setattr(pdf_layout, "_margin_numbers_as_stamps", lambda found: contextlib.nullcontext())
    laid = pdf_layout.lay_out(dict(job))
    monkeypatch.undo()
    assert stamped["error"] is None and laid["error"] is None and laid["pages"] >= 3
    assert [m["text"] for m in stamped["marks"]] == [str(k) for k in range(1, 41)] and not laid.get("marks")
    for key in ("pages", "anchors", "slots", "sides", "heads"):
        assert stamped[key] == laid[key], key
    sheet = pdf_layout.lay_out_stamps({
        "key": "stamps", "html": "<!DOCTYPE html><html><body></body></html>", "base_url": str(STYLES) + "/",
        "stylesheets": [str(STYLES / "print.css")], "identifier": "1" * 32, "head": "", "lang": "en",
        "numbers": sorted({(m["text"], m["font"]) for m in stamped["marks"]}), "folios": [], "heads": []})
    assert sheet["error"] is None
    stamps = {(st["text"], st["font"]): st for st in sheet["stamps"]}
    draw = [[] for _ in range(stamped["pages"])]
    for m in stamped["marks"]:
        draw[m["page"] - 1].append(mark_drawn(m, stamps[(m["text"], m["font"])], stamped["sides"][m["page"] - 1][2]))
    merge([stamped["pdf"]], [True], (sheet["pdf"], draw), tmp_path / "stamped.pdf")
    (tmp_path / "laid.pdf").write_bytes(laid["pdf"])
    (tmp_path / "part.pdf").write_bytes(stamped["pdf"])

    def margin(path):
        pdf = Pdf(path)
        return [(page, w[4], round(w[0], 2), round(w[3], 2)) for page, (_, ws) in pdf.words().items()
                for w in ws if w[3] - w[1] < 7.5]          # (6.8 pt; paratext 8.5, the text 10.5)
    want = margin(tmp_path / "laid.pdf")
    assert [w[1] for w in want] == [str(k) for k in range(1, 41)]
    assert not margin(tmp_path / "part.pdf")
    got = margin(tmp_path / "stamped.pdf")
    assert [w[:2] for w in got] == [w[:2] for w in want]
    assert all(abs(a[2] - b[2]) <= 0.05 and abs(a[3] - b[3]) <= 0.05 for a, b in zip(got, want)), list(zip(got, want))
