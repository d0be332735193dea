"""What the printed book changes in the shared renderer (:mod:`editio.render.html`).

Only these behaviours differ from the site; everything else is inherited:

* the note call of an annotation becomes a **footnote** on the page of the call
  (``<span class="footnote">`` floated with ``float: footnote`` in print.css),
  numbered like the site's notes so "Doc. 3, note 12" means the same in both;
* links inside the edition become **page references**: the link text, then
  ``(Doc. 3, ¶ 4, p. 27)`` where the page number is a slot that builders/pdf.py fills
  from the previous layout pass until the pages settle; external links print their URL;
* every tagged **mention** of a person, place or organisation gets an anchor id
  that the index points to (recorded in :attr:`PrintRenderer.mentions`);
* no permalinks; headings carry ``data-bookmark`` (a plain-text label for PDF
  bookmarks and running heads, free of footnote text).

How masks, restorations and corrections look is decided by print.css from the
classes the shared renderer writes (``annot-redaction``, ``reading-ed``,
``data-cert`` …), so the key to the signs and the text cannot drift apart.

Before::   <choice><orig>**</orig><supplied cert="medium">Mao Zedong</supplied></choice>
After::    <span class="annot annot-redaction annot-restored" data-cert="medium">
             <span class="reading reading-ed">Mao Zedong</span></span>
           <span class="note-anchor" id="d000--call-7"/><span class="footnote"
             id="d000--note-7" data-n="7">Mask, restored (certainty: medium) …</span>
"""
from __future__ import annotations

import re

from lxml import etree

from editio import TEI_NS, XML_ID
from editio.annotations import Annotation
from editio.behaviours import local
from editio.render.html import HtmlRenderer, Links, add_text, event_name, id_label
from editio.text import plain
from editio.transforms import ResolvedDoc, letter_mark
from editio.typography import curl

T = "{%s}" % TEI_NS
# A footnote longer than this (characters, about five lines) keeps its apparatus at the
# foot of the page and sends its commentary to the notes at the end of the document.
LONG_NOTE = 480


# the plain end of a page range after a page link: "–427" (a dash, a number, not a digit more)
_RANGE_END = re.compile(r"(\s*[–-]\s*)(\d+)(?!\d)")
_DASH_ONLY = re.compile(r"\s*[–-]\s*")


class PrintLinks(Links):
    """Every id lives in one HTML document: anchors are prefixed with the document id."""

    def doc(self, rdoc: ResolvedDoc) -> str:
        return f"#{self.chapter_id(rdoc)}"

    @staticmethod
    def chapter_id(rdoc: ResolvedDoc) -> str:
        return f"chapter-{rdoc.id}"

    def anchor(self, rdoc: ResolvedDoc, name: str) -> str:
        return f"{rdoc.id}--{name}"

    def entity(self, ent) -> str | None:
        return f"#index-{ent.id}" if ent is not None else None

    def event(self, ent) -> str | None:
        return f"#event-{ent.id}" if ent is not None else None

    def asset(self, path) -> str | None:
        return path.as_uri()

    def glossary(self, entry) -> str | None:
        """A name or term links to its entry in the glossary appendix (Book.glossary)."""
        return f"#glossary-{entry.id}" if entry is not None else None


class PrintRenderer(HtmlRenderer):
    """The shared renderer with the print overrides listed in the module docstring."""

    output = "pdf"

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        self.mentions: list[tuple[str, str]] = []   # (entity id, anchor id) in reading order
        self.in_notes: set[str] = set()              # the anchors of mentions inside notes
        self._seq = 0
        self._in_footnote = False
        self._footnote = None            # the footnote being written
        self._inner: list = []           # notes called inside the footnote being written
        self._link_notes = 0             # the notes that give a link's address (a, b …)
        self._ids: set[str] = set()
        self.endnotes: list = []     # the commentary of long notes, for the end of the document
        self._consumed_tail: dict = {}   # element -> characters of its tail printed already
        self._skip: set = set()          # elements printed already (a page range's end)

    # ----------------------------------------------------------- structure
    def el(self, out, tag: str, src=None, cls: str = "", **attrs):
        """As the site's, but an id is given once only: a note attached to two passages
        is printed in both footnotes, and the book is one HTML document."""
        node = super().el(out, tag, src, cls, **attrs)
        i = node.get("id")
        if i is not None:
            if i in self._ids:
                del node.attrib["id"]
            else:
                self._ids.add(i)
        return node

    def permalink(self, node, p):
        pass                                         # a book has no permalinks

    def division_text(self, els, out) -> None:
        """As the site's, without the divisions' headings: the book sets a chapter's
        heading itself (print/chapters.html) before its first unit."""
        super().division_text([e for e in els if local(e) != "head"], out)

    def line(self, el, out, tag: str, cls: str = "", lead=None, before=()):
        node = super().line(el, out, tag, cls, lead=lead, before=before)
        if tag[:1] == "h" and tag[1:].isdigit():
            node.set("data-bookmark", plain(el, "diplomatic") if self.view == "diplomatic"
                     else curl(plain(el, "edited")))
        return node

    # ------------------------------------------------------------ mentions
    def b_entity(self, el, out):
        ent = None
        for tok in (el.get("ref") or el.get("key") or "").split():
            r = self.corpus.resolve(self.doc, tok)
            if r.status == "element":
                ent = self.corpus.entities.get(r.element.get(XML_ID))
                break
        node = self.el(out, "span", el, cls="entity" if ent is not None else "",
                       data_entity=ent.id if ent is not None else None)
        if ent is not None and ent.kind in ("person", "place", "org"):
            if not node.get("id"):
                self._seq += 1
                node.set("id", self.links.anchor(self.rdoc, f"m{self._seq}"))
            self.mentions.append((ent.id, node.get("id")))
            if self._in_footnote:
                self.in_notes.add(node.get("id"))
        self.children(el, node)

    # --------------------------------------------------------- footnotes
    def call_again(self, ann: Annotation, out):
        """A second call of a footnote: its number, set as a call, leading to the note
        (the footnote is printed once, at its first call)."""
        a = etree.SubElement(out, "a", {"class": "note-again", "href": self.links.note(self.rdoc, ann)})
        a.text = ann.label or str(ann.n)

    def call(self, ann: Annotation, out):
        """The footnote itself, at the place of its call (WeasyPrint moves it to the foot)."""
        if self._in_footnote:
            # a note cannot hold a footnote: refer to the annotation's own footnote instead
            a = etree.SubElement(out, "a", {"class": "note-ref", "href": self.links.note(self.rdoc, ann)})
            a.text = f"[n. {ann.label or ann.n}]"
            self._inner.append(ann)      # printed right after the note that calls it
            return
        etree.SubElement(out, "span", {"class": "note-anchor",
                                       "id": self.links.anchor(self.rdoc, f"call-{ann.n}")})
        apart = " fn-apart" if ann.label and not ann.label.isdigit() else ""   # *, †, a …
        fn = etree.SubElement(out, "span", {"class": f"footnote fn-{ann.kind}{apart}",
                                            "id": self.links.anchor(self.rdoc, f"note-{ann.n}"),
                                            "data-n": ann.label or str(ann.n), "role": "doc-footnote"})
        own_id = ann.element.get(XML_ID) if local(ann.element) == "note" else None
        if own_id:   # an authorial note that others point to: keep its xml:id as an anchor
            etree.SubElement(fn, "span", {"class": "note-id", "id": self.links.anchor(self.rdoc, own_id)})
        self._in_footnote = True
        self._footnote = fn
        try:
            self.note_body(ann, fn)
        finally:
            self._in_footnote = False
            self._footnote = None
        _trim_tail(fn)
        if len("".join(fn.itertext())) > LONG_NOTE:
            self._to_endnote(ann, fn)
        # a note in a note (its call "[n. 3]" in the note): its own footnote follows, with
        # no call in the text (it was printed nowhere)
        inner, self._inner = self._inner, []
        for a in inner:
            self.call(a, out)
            for node in out.iterchildren("span"):
                if node.get("id") == self.links.anchor(self.rdoc, f"note-{a.n}"):
                    node.set("class", node.get("class", "") + " fn-inner")

    def _to_endnote(self, ann: Annotation, fn) -> None:
        """Split a long note: the apparatus (label and readings) stays a footnote on the
        page of its call; the commentary goes to the notes at the end of the document, so
        that a long note never pins its paragraph (WeasyPrint cannot split a footnote
        across pages).  Each points to the other's page."""
        keep = ("note-label", "note-readings", "note-id")
        moved = [c for c in fn if c.get("class") not in keep]
        if not moved:
            return
        end = etree.Element("p", {"class": f"endnote en-{ann.kind}",
                                  "id": self.links.anchor(self.rdoc, f"endnote-{ann.n}")})
        num = etree.SubElement(end, "span", {"class": "endnote-n"})
        num.text = f"{ann.n}."
        num.tail = " "
        back = self.page_ref(end, "#" + self.links.anchor(self.rdoc, f"call-{ann.n}"))
        back.set("class", "pageref endnote-back")
        back.tail = ". "
        for c in moved:
            fn.remove(c)
            end.append(c)
        _trim_tail(end)
        shown = [c for c in fn if c.get("class") != "note-id"]   # the id anchor shows nothing
        if shown:
            shown[-1].tail = (shown[-1].tail or "").rstrip() or ". "
            if not shown[-1].tail.endswith(" "):
                shown[-1].tail += " "
            self.page_ref(fn, "#" + end.get("id"), "Note at the end of the document")
        else:   # a plain note (FRUS's source notes): all of it is at the end
            self.page_ref(fn, "#" + end.get("id"), "See the note at the end of the document")
        add_text(fn, ".")
        self.endnotes.append(end)

    # ----------------------------------------------------- page references
    def page_ref(self, out, href: str, label: str = "", cls: str = "pageref"):
        """``label, p. N`` as a link; N is a :func:`page_number` slot the builder fills in."""
        a = etree.SubElement(out, "a", {"class": cls, "href": href})
        label = _TIE.sub("\u00a0", label)       # "Doc. 3", "¶ 4", "n. 2" never split at a line's end
        a.text = (label + ", " if label else "") + "p.\u00a0"
        page_number(a, href)
        return a

    def b_link(self, el, out):
        target = el.get("target") or ""
        href = self.href_for(el, target)
        if href and href.startswith("#") and self._is_page_marker(target):
            # "521" in a printed index (FRUS: <ref target="#pg_521">521</ref>) names a page of
            # the printed source; the book prints its own page there, one page system
            a = etree.SubElement(out, "a", {"class": "pageref page-of-book", "href": href})
            pn = page_number(a, href)
            end = self._range_end(el, target)
            if end:   # one slot for the range: "50–56" set tight, "50" when both are on one page
                pn.set("data-to", end.lstrip("#"))
            return
        node = self.el(out, "span", el, cls="xref-text")
        raw = plain(el).strip()
        full = self._reader_label(target) if href and href.startswith("#") and _is_id_text(self.edition, raw, target) \
            else ""
        if full:
            # the link's text is its target's id ("d002"): the reader's label once, then the
            # page ("Doc. 3 (p. 37)", never "Doc. 3 (Doc. 3, p. 37)")
            node.text = full
            add_text(out, " (")
            self.page_ref(out, href)
            add_text(out, ")")
            return
        self.children(el, node)
        if not href:
            return
        if href.startswith("#"):
            label = self._target_label(target)
            if label is None:
                return
            raw = " ".join(plain(el).split())
            if label == raw or self._names_unit(raw, target):
                label = ""                 # "Doc. 3 (p. 37)", not "Doc. 3 (Doc. 3, p. 37)";
                                           # "Document 3 (p. 9)", not "Document 3 (Doc. 3, p. 9)"
            elif label.startswith(raw + ", "):
                label = label[len(raw) + 2:]
            add_text(out, " (")
            self.page_ref(out, href, label)
            add_text(out, ")")
        elif not _same_url(plain(el), href) and self._prints_url(target):
            self._address(out, href)

    def _prints_url(self, target: str) -> bool:
        """Whether the book gives a link's address: not for a pointer in a form the profile
        declares with ``print_url = false`` (FRUS: another volume of the series, whose text
        names it, as the printed volumes do; a list of the series' volumes would otherwise
        carry a page of addresses)."""
        toks = target.split()
        return not toks or self.edition.target(self.doc, toks[0]).print_url

    def _address(self, out, href: str) -> None:
        """A link's address for the reader of the printed page.  In the text, a note at
        the foot of the page (marked a, b … : the footnotes' own numbers stay the
        source's), as a book prints a URL, never in the line, whose long unbreakable words
        spread a justified line; in a footnote (a note cannot hold a note), after the link,
        the footnote set ragged right.  Either way it may break only where
        :func:`_breakable_url` allows."""
        if self._footnote is not None or self._in_footnote:
            add_text(out, " ")
            url = etree.SubElement(out, "a", {"class": "url", "href": href})
            _breakable_url(url, f"<{href}>")
            if self._footnote is not None and "fn-ragged" not in self._footnote.get("class", ""):
                self._footnote.set("class", self._footnote.get("class") + " fn-ragged")
            return
        mark = letter_mark(self._link_notes)
        self._link_notes += 1
        fn = etree.SubElement(out, "span", {"class": "footnote fn-link fn-apart fn-ragged",
                                            "data-n": mark, "role": "doc-footnote"})
        url = etree.SubElement(fn, "a", {"class": "url", "href": href})
        _breakable_url(url, href)

    def _range_end(self, el, target: str) -> str | None:
        """The end of a page range that starts with the page link ``el`` (the href of its
        page marker), taken out of the text that follows: another page link after a dash
        (``<ref target="#pg_420">420</ref>–<ref target="#pg_427">427</ref>``) or a number
        (``…</ref>–427``, the marker ``#pg_427``: the book's page at both ends, never
        "486–427").  None when no range follows or its end's marker does not exist."""
        tail = el.tail or ""
        nxt = el.getnext()
        if _DASH_ONLY.fullmatch(tail) and nxt is not None and nxt.tag == el.tag and (nxt.text or "").strip():
            end = nxt.get("target") or ""
            href = self.href_for(nxt, end) if self._is_page_marker(end) else None
            if href and href.startswith("#"):
                self._consumed_tail[el] = len(tail)
                self._skip.add(nxt)
                return href
        m = _RANGE_END.match(tail)
        raw = plain(el).strip()
        if not m or not raw or not target.endswith(raw):
            return None
        end = target[: len(target) - len(raw)] + m.group(2)
        if not self._is_page_marker(end):
            return None
        href = self.href_for(el, end)
        if not href or not href.startswith("#"):
            return None
        self._consumed_tail[el] = m.end()
        return href

    def node(self, el, out) -> None:
        if el in self._skip:     # printed already (the end of a page range)
            return
        super().node(el, out)

    def put_text(self, out, el, slot: str, s: str | None) -> None:
        skip = self._consumed_tail.get(el) if slot == "tail" else None
        if not skip or not s:
            return super().put_text(out, el, slot, s)
        curled = self.edition.quotes.get((el, slot))
        text = curled if self.view == "edited" and curled and len(curled) == len(s) else s
        add_text(out, text[skip:])

    def b_pointer(self, el, out):
        target = el.get("target") or ""
        href = self.href_for(el, target)
        if href and href.startswith("#"):
            self.page_ref(out, href, self._target_label(target) or "")
        elif href:
            u = self.el(out, "span", el, cls="url")
            _breakable_url(u, href)

    def _is_page_marker(self, target: str) -> bool:
        toks = target.split()
        if len(toks) != 1:
            return False
        t = self.edition.target(self.doc, toks[0])      # resolved once by the transforms
        return t.status == "element" and t.element is not None and local(t.element) == "pb"

    def _reader_label(self, target: str) -> str:
        """The target's full reader label ("Doc. 3", "Doc. 1, ¶ 2", "Doc. 1, note 3")."""
        toks = target.split()
        t = self.edition.target(self.doc, toks[0]) if toks else None
        return t.label if t is not None and t.status == "element" else ""

    def _names_unit(self, raw: str, target: str) -> bool:
        """Whether a link to a whole unit says which one by its number ("Document 3",
        "Doc. 3" for the unit numbered 3): its label would only repeat it."""
        toks = target.split()
        t = self.edition.target(self.doc, toks[0]) if toks else None
        if t is None or t.status != "element" or t.kind != "unit" or t.unit is None or not t.unit.n:
            return False
        return re.search(rf"(?<![\w.]){re.escape(t.unit.n)}(?!\w)", raw) is not None

    def _target_label(self, target: str) -> str | None:
        """"Doc. 3, ¶ 4", "Doc. 3, note 12", "index: Kim Il Sung" for a pointer, or None."""
        toks = target.split()
        if not toks:
            return None
        t = self.edition.target(self.doc, toks[0])     # resolved once by the transforms
        if t.status != "element":
            return None
        if t.kind in ("entity", "event"):
            return ("concordance: " if t.kind == "event" else "index: ") + t.label
        if t.kind == "glossary":
            return f"{t.entry.label.lower()}: {t.entry.term}"
        rd = t.unit
        if rd is None:
            return None
        if t.kind == "unit":
            return rd.label
        if t.kind == "division":        # a chapter: its page alone ("the next chapter (p. 9)")
            return ""
        parts = [] if rd is self.rdoc else [rd.label]
        p = rd.paragraph_of(t.element)
        if p:
            parts.append(f"¶ {p[1]}")
        ann = rd.by_element.get(t.element)
        if ann is not None:
            parts.append(f"n. {ann.label or ann.n}")
        return ", ".join(parts)

    def event_label(self, out, ent) -> None:
        lead = etree.SubElement(out, "span", {"class": "event-name"})
        lead.text = event_name(ent)                      # dates in words, as on the site
        lead.tail = " ("
        self.page_ref(out, self.links.event(ent), "concordance")
        add_text(out, ")")

    def xref(self, out, href: str, label: str, suffix: str = "", subtype: str = "") -> None:
        self.page_ref(out, href, label)
        add_text(out, suffix)

    # ------------------------------------------------ source description
    def source_description(self) -> etree._Element | None:
        """The source of a chapter (:meth:`Edition.source`, made once for every output) as
        a list of labelled fields (title, publisher, author, date, translation note, witness)."""
        src = self.edition.source(self.rdoc)
        if not src.fields:
            return None
        dl = etree.Element("dl", {"class": "source-description"})
        saved, self.view = self.view, "edited"
        try:
            for f in src.fields:
                dd = self._field(dl, f.label)
                if f.kind == "lead":
                    dd.text = f.text
                elif f.kind == "witness":
                    code = etree.SubElement(dd, "span", {"class": "witness-file"})
                    code.text = f.text
                    code.tail = " (the text as captured; attached to this PDF)"
                elif f.kind in ("link", "holder"):
                    self.node(f.element, dd)
                else:
                    self.children(f.element, dd)
                add_text(dd, f.tail or None)
        finally:
            self.view = saved
        return dl if len(dl) else None

    def _field(self, dl, label: str):
        dt = etree.SubElement(dl, "dt")
        dt.text = label
        return etree.SubElement(dl, "dd")


_TIE = re.compile(r"(?<=[.\u00b6]) (?=\d)")


def page_number(parent, href: str):
    """A slot for the page number of ``href`` (``#anchor``): ``<span class="pn"
    data-ref="anchor">``.  The PDF builder leaves room in it for the book's page numbers
    and lays the anchor's page over it once every part is laid out (exact, and cheaper for
    WeasyPrint than ``target-counter()``)."""
    pn = etree.SubElement(parent, "span", {"class": "pn", "data-ref": href.lstrip("#")})
    pn.text = "0"
    return pn


def _is_id_text(edition, text: str, target: str) -> bool:
    """Whether a link's text is only an identifier: its target's (``d002`` for
    ``d002.xml``, ``d000-m02`` for ``#d000-m02``) or another xml:id of the edition."""
    if not text or " " in text:
        return False
    tok = (target.split() or [""])[0]
    names = {tok.lstrip("#"), tok.rsplit("#", 1)[-1], tok.rsplit("/", 1)[-1].removesuffix(".xml")}
    return text in names or bool(id_label(edition, text))


# Where a URL may break at the end of a line (Chicago Manual 6.17): after a colon or a
# double slash; before a single slash, a tilde, a period, a comma, a hyphen, an underline,
# a question mark, a number sign or a percent sign; before or after an equals sign or an
# ampersand.  No hyphen is added (hyphens: manual in print.css).
_URL_BREAK = re.compile(r"(?<=://)|(?<=[=&])(?!$)|(?<=[^/:])(?=/[^/])|(?<=.)(?=[~.,\-_?#%=&])")


def _breakable_url(node, url: str) -> None:
    """``url`` as the text of ``node`` with a ``<wbr>`` at each place it may break, so that a
    long URL in a justified line breaks there instead of spreading the line before it
    (the link, where ``node`` is one, keeps the whole URL)."""
    parts = [p for p in _URL_BREAK.split(url) if p]
    node.text = parts[0] if parts else ""
    for p in parts[1:]:
        etree.SubElement(node, "wbr").tail = p


def _same_url(text: str, href: str) -> bool:
    t = text.strip().rstrip("/")
    return t in (href.rstrip("/"), href.split("://", 1)[-1].rstrip("/"))


def _trim_tail(node):
    """Drop the trailing space the note body leaves."""
    if len(node):
        last = node[-1]
        if last.tail:
            last.tail = last.tail.rstrip()
    elif node.text:
        node.text = node.text.rstrip()


_SPACE = re.compile(r"[ \t\r\n]+")


def normalise_space(tree):
    """TEI's default whitespace (``xml:space="default"``, Guidelines v.3.6): every run of
    spaces, tabs and line breaks in the text is one space.  The print HTML is normalised
    before layout, so the line breaks of the TEI source never reach WeasyPrint (they
    made it fail on some FRUS notes: "Got ' \\n' between two lines").  ``pre`` is kept."""
    if tree is None:
        return tree
    for node in tree.iter():
        if isinstance(node.tag, str) and node.tag != "pre" and node.text:
            node.text = _SPACE.sub(" ", node.text)
        if node.tail:
            node.tail = _SPACE.sub(" ", node.tail)
    return tree
