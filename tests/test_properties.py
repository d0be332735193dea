"""Property-based tests: random TEI fragments never crash the renderer or the text views,
the diplomatic text equals an independent reference, and no text is lost in the HTML.

A fragment is the content of one ``<p>``: random nesting of hi, choice (orig/sic with
supplied/corr), supplied, sic, corr, note, persName, seg, unknown elements and nested
``p``, with random Unicode text (markup characters, quotes, ``**`` masks, CR, astral
characters).  It is built as an lxml tree, serialised, and read back through
:func:`editio.read.parse_bytes`, as a file would be.

The reference implementation below is written from the encoding rules
(docs/encoding.md and the TEI Guidelines), not from :mod:`editio.text`:

* the diplomatic text is the witness as it stands: ``note`` is not part of it (its
  tail is); a ``choice`` stands for its original reading (``orig``, else ``sic``,
  else ``abbr``, else its first child); ``supplied`` outside a choice is the
  editors' addition, not the witness's text; everything else (unknown elements
  too) contributes all of its text;
* every ``p`` is a line of its own: text before, inside and after a nested ``p``
  lies on separate lines; lines are joined with LF (lines are compared without the
  white space at their edges, which beside a nested ``p`` is layout).
"""
from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings, strategies as st
from lxml import etree

from editio import TEI_NS
from editio.config import Project
from editio.corpus import Corpus, Document
from editio.read import parse_bytes
from editio.render.html import HtmlRenderer, Links
from editio.text import text_of
from editio.transforms import resolve

T = "{%s}" % TEI_NS
SETTINGS = settings(max_examples=150, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# -------------------------------------------------------------------- the fragments
# XML 1.0 characters only (no C0 controls but TAB LF CR, no surrogates, no U+FFFE/FFFF)
XML_CHARS = st.characters(blacklist_categories=("Cs",), blacklist_characters="\ufffe\uffff",
                          min_codepoint=0x09).filter(
    lambda c: c in "\t\n\r" or ord(c) >= 0x20)
TEXT = st.one_of(
    st.text(XML_CHARS, max_size=12),
    st.sampled_from(["<", "&", "&amp;", '"', "'", "**", "***", "<script>alert(1)</script>",
                     "]]>", " ", "\r\n", "𝔘𝔫𝔦", "中文", "e\u0301", "\u200b", "--", "<!--"]),
)
INLINE = ("hi", "persName", "seg", "sic", "corr", "supplied", "unknownThing")


def _node(children):
    return st.tuples(st.sampled_from(INLINE), children)


def _choice(children):
    first = st.tuples(st.sampled_from(["orig", "sic"]), children)
    second = st.tuples(st.sampled_from(["supplied", "corr"]), children)
    ws = st.sampled_from(["", " ", "\n  "])
    return st.tuples(st.just("choice"), st.tuples(ws, first, ws, second, ws))


def _note(children):
    return st.tuples(st.just("note"), children)


def _contents(inner):
    return st.lists(st.one_of(TEXT, inner), max_size=5)


NODE = st.recursive(
    TEXT,
    lambda inner: st.one_of(_node(_contents(inner)), _choice(_contents(inner)),
                            _note(_contents(inner))),
    max_leaves=25,
)


def _p_contents(depth=0):
    items = st.one_of(NODE, st.tuples(st.just("p"), st.deferred(lambda: _p_contents(depth + 1)))
                      ) if depth < 2 else NODE
    return st.lists(items, max_size=6)


FRAGMENT = _p_contents()


# -------------------------------------------------------------------- building TEI
def build(parent, items) -> None:
    """Append ``items`` (strings and (tag, children) tuples) to lxml element ``parent``."""
    for it in items:
        if isinstance(it, str):
            if len(parent):
                parent[-1].tail = (parent[-1].tail or "") + it
            else:
                parent.text = (parent.text or "") + it
            continue
        tag, kids = it
        if tag == "choice":
            el = etree.SubElement(parent, T + "choice")
            ws1, (t1, k1), ws2, (t2, k2), ws3 = kids
            el.text = ws1 or None
            a = etree.SubElement(el, T + t1)
            build(a, k1)
            a.tail = ws2 or None
            b = etree.SubElement(el, T + t2)
            build(b, k2)
            b.tail = ws3 or None
            continue
        el = etree.SubElement(parent, T + tag)
        build(el, kids)


def tei_bytes(items) -> bytes:
    root = etree.Element(T + "TEI", nsmap={None: TEI_NS})
    h = etree.SubElement(root, T + "teiHeader")
    fd = etree.SubElement(h, T + "fileDesc")
    etree.SubElement(etree.SubElement(fd, T + "titleStmt"), T + "title").text = "Fragment"
    body = etree.SubElement(etree.SubElement(root, T + "text"), T + "body")
    p = etree.SubElement(body, T + "p")
    build(p, items)
    return etree.tostring(root, encoding="utf-8", xml_declaration=True)


# ------------------------------------------------------------ the reference
ORIGINAL_ORDER = ("orig", "sic", "abbr")


class Ref:
    """Lines of the diplomatic text, from the (tag, children) data, not from lxml."""

    def __init__(self):
        self.lines: list[list[str]] = []
        self.pieces: list[str] = []   # every text that belongs to the diplomatic view

    def emit(self, s: str) -> None:
        if s:  # (a CR survives: lxml writes it as &#13;, which the parser keeps)
            if not self.lines:
                self.lines.append([])
            self.lines[-1].append(s)
            self.pieces.append(s)

    def line(self, items) -> None:
        self.lines.append([])
        self.inline(items)
        self.lines.append([])       # what follows a line is on a new line

    def inline(self, items) -> None:
        for it in items:
            if isinstance(it, str):
                self.emit(it)
                continue
            tag, kids = it
            if tag == "p":
                self.line(kids)
            elif tag == "note":
                continue
            elif tag == "supplied":
                continue            # the editors' text, not the witness's
            elif tag == "choice":
                _, first, _, second, _ = kids
                readings = [first, second]
                pick = next((r for want in ORIGINAL_ORDER for r in readings if r[0] == want),
                            readings[0])
                self.inline_reading(pick)
            else:
                self.inline(kids)

    def inline_reading(self, reading) -> None:
        tag, kids = reading
        if tag == "supplied":
            self.inline(kids)   # a choice's own reading is shown whatever it is
        else:
            self.inline(kids)

    def text(self) -> str:
        return "\n".join("".join(ln) for ln in self.lines)


def lines_of(text: str) -> list[str]:
    """The non-empty lines, without the white space at their edges: a line break inside the
    text and a line boundary read the same, and the white space beside a nested ``p`` is
    layout, not the witness's text."""
    return [ln.strip() for ln in text.split("\n") if ln.strip()]


def reference(items) -> Ref:
    r = Ref()
    r.line(items)
    return r


# ------------------------------------------------------------ running editio
def edition_of(data: bytes):
    tree = parse_bytes(data, "tei/d.xml")
    project = Project(root=Path("/nonexistent-project"))
    corpus = Corpus(project)
    corpus.documents.append(Document("d.xml", Path("/nonexistent-project/tei/d.xml"),
                                     "tei/d.xml", tree, 0, project.root))
    return tree, resolve(corpus)


def visible(html) -> str:
    """The text a reader sees, without the anchors editio adds (¶ permalinks, note calls)."""
    for a in html.xpath('.//a[@class="permalink" or @class="note-call"]'):
        tail, parent, prev = a.tail, a.getparent(), a.getprevious()
        parent.remove(a)  # drops a's own text (and its tail, put back below)
        if tail:
            if prev is not None:
                prev.tail = (prev.tail or "") + tail
            else:
                parent.text = (parent.text or "") + tail
    return "".join(html.itertext())


def contains_in_order(haystack: str, pieces) -> str | None:
    pos = 0
    for p in pieces:
        if not p.strip():
            continue
        k = haystack.find(p, pos)
        if k < 0:
            return p
        pos = k + len(p)
    return None


# ------------------------------------------------------------ the properties
@SETTINGS
@given(FRAGMENT)
def test_diplomatic_text_equals_the_reference(items):
    tree, _ = edition_of(tei_bytes(items))
    assert lines_of(text_of(tree.getroot(), "diplomatic")) == lines_of(reference(items).text())


@SETTINGS
@given(FRAGMENT)
def test_rendering_never_crashes_and_loses_no_text(items):
    tree, edition = edition_of(tei_bytes(items))
    text_of(tree.getroot(), "edited")
    rdoc = edition.docs[0]
    for view in ("both", "edited", "diplomatic"):
        r = HtmlRenderer(edition, rdoc, Links(), view=view)
        html = r.render()
        etree.tostring(html, method="html", encoding="unicode")
        r.notes_list()
    dip = HtmlRenderer(edition, rdoc, Links(), view="diplomatic").render()
    missing = contains_in_order(visible(dip), reference(items).pieces)
    assert missing is None, f"diplomatic HTML lost {missing!r}"


@SETTINGS
@given(FRAGMENT)
def test_html_text_is_escaped(items):
    """Whatever the text, the HTML holds it as text: serialised and parsed again, the
    visible text is unchanged, and no element editio did not make appears."""
    from lxml import html as lhtml
    tree, edition = edition_of(tei_bytes(items))
    out = HtmlRenderer(edition, edition.docs[0], Links(), view="both").render()
    s = etree.tostring(out, method="html", encoding="unicode")
    again = lhtml.fragment_fromstring(s)

    def norm(t: str) -> str:
        return t.replace("\r\n", "\n").replace("\r", "\n")
    assert norm("".join(again.itertext())) == norm("".join(out.itertext()))
    assert not again.xpath("//script|//iframe|//object|//embed|//@*[starts-with(name(), 'on')]")


# ================================================================================
# Paths and names (issue 11): the gate, media names, escaped diagnostics, CSV cells
import os  # noqa: E402
import re as _re  # noqa: E402

import pytest  # noqa: E402

from editio import gate  # noqa: E402
from editio.cli import csv_cell  # noqa: E402
from editio.diagnostics import Diagnostic  # noqa: E402
from editio.publish import media_name  # noqa: E402

SEGMENTS = st.sampled_from(["..", ".", "", ".git", ".env", "a", "b", "f.txt", "link-out",
                            "link-in", "loop", "fifo", "editio.toml", "ghost", "…", "a b",
                            "%2e%2e", "\u202e", "x" * 300])


@pytest.fixture(scope="module")
def gated(tmp_path_factory):
    """A project with hidden files, symlinks in and out, a loop, a FIFO and a dangling link."""
    base = tmp_path_factory.mktemp("gate")
    root = base / "p"
    (root / "a" / "b").mkdir(parents=True)
    (root / ".git").mkdir()
    (base / "outside").mkdir()
    for d in (root, root / "a", root / "a" / "b", root / ".git", base / "outside"):
        (d / "f.txt").write_text("x")
    (root / ".env").write_text("secret")
    (root / "editio.toml").write_text("title = 'x'\n")
    os.symlink(base / "outside", root / "a" / "link-out")
    os.symlink(root / "a" / "b", root / "link-in")
    os.symlink(root / "a" / "loop", root / "a" / "loop")
    os.symlink(root / "nowhere", root / "a" / "ghost")
    os.mkfifo(root / "a" / "fifo")
    return root


@SETTINGS
@given(st.lists(SEGMENTS, min_size=1, max_size=6), st.booleans())
def test_gate_never_lets_out_a_path_outside_hidden_or_special(gated, parts, from_a):
    base = gated / "a" / "doc.xml" if from_a else None
    try:
        real = gate.check(gated, "/".join(parts), base=base)
    except gate.Refused as err:
        assert err.reason and "\n" not in err.reason
        return
    root = gated.resolve()
    assert root in real.parents
    assert not any(p.startswith(".") for p in real.relative_to(root).parts)
    assert real.is_file() and not real.is_symlink()
    assert real.relative_to(root).parts != ("editio.toml",)


PATH_TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
                    min_size=1, max_size=40)


@SETTINGS
@given(PATH_TEXT, PATH_TEXT)
def test_media_names_are_one_to_one_and_safe(a, b):
    na, nb = media_name(a), media_name(b)
    if a != b and not (a.startswith(".") or b.startswith(".") or "/." in a + b or "//" in a + b
                       or a.endswith("/") or b.endswith("/")):
        assert na != nb, (a, b)
    assert _re.fullmatch(r"media/[A-Za-z0-9._/-]*", na), na
    assert ".." not in na.split("/") and not any(p.startswith(".") for p in na.split("/")[1:])


@SETTINGS
@given(st.text(max_size=60), st.text(max_size=60))
def test_diagnostics_are_one_safe_line(name, message):
    line = Diagnostic(name, 3, 4, "error", "x.y", message).format()
    assert "\n" not in line and "\r" not in line and "\x1b" not in line and "\x00" not in line
    assert not _re.search("[\u202a-\u202e\u2066-\u2069\u200e\u200f]", line)
    assert line.endswith("[x.y]")


@SETTINGS
@given(st.text(max_size=40))
def test_csv_cells_never_start_a_formula(value):
    cell = csv_cell(value)
    assert not cell.startswith(("=", "+", "-", "@", "\t", "\r"))
    assert cell in (value, "'" + value)
