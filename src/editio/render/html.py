"""Render one resolved TEI document to HTML with the shared behaviour table.

``HtmlRenderer`` has one method per behaviour name (``b_paragraph``,
``b_alternate`` …) with one signature ``(el, out)``: render TEI element ``el``
into the HTML element ``out``.  Unknown behaviour names and fallback rows
render generically (a ``div`` or ``span`` keeping the TEI name in
``data-tei``, as CETEIcean does) and log a located ``element.unknown`` warning.
The print output (:mod:`editio.render.print`) subclasses this and overrides
only what differs (footnotes instead of a notes list, page references instead
of links).  Links are made by a :class:`Links` object supplied by the builder,
so the renderer knows nothing of file layout.

Output is built as lxml elements, so all TEI text is escaped; class names
from ``@rend`` are filtered; URLs come only from :class:`Links` or the
scheme allow-list of :mod:`editio.corpus`.
"""
from __future__ import annotations

import copy
import re

from lxml import etree

from editio import XML_ID, XML_LANG
from editio.annotations import Annotation, repeat_of
from editio.typography import curl
from editio.behaviours import is_tei, local
from editio.dates import dates_in_words, iso_in_words
from editio.diagnostics import Report
from editio.text import choice_reading, is_unrestored, plain
from editio.publish import allowed_namespaces, namespace
from editio.transforms import Edition, ResolvedDoc

_TEI = "{http://www.tei-c.org/ns/1.0}"

_CLASS_OK = re.compile(r"[^A-Za-z0-9_-]+")


def _image_description(graphic) -> str:
    """The words that say what an image shows, for those who cannot see it: the graphic's
    own ``desc``, else its figure's ``figDesc`` (TEI's description of a figure)."""
    desc = graphic.find(_TEI + "desc")
    fig = graphic.getparent()
    if desc is None and fig is not None and fig.tag == _TEI + "figure":
        desc = fig.find(_TEI + "figDesc")
    return " ".join("".join(desc.itertext()).split()) if desc is not None else ""

def kind_label(profile, kind: str) -> str:
    """The reader's word for an annotation kind (the profile's ``[labels.kinds]``)."""
    return profile.label("kinds", kind, kind.capitalize()) if profile is not None else kind.capitalize()


def type_label(profile, typ: str) -> str:
    return profile.label("types", typ, typ) if profile is not None else typ


def annotation_label(a: Annotation, profile=None) -> str:
    k = kind_label(profile, a.kind)
    t = type_label(profile, a.type)
    if not k:
        return ""
    return f"{k}, {t}" if t and t not in ("note",) and a.type != a.kind else k


class Links:
    """Where things are. Builders subclass this; the renderer only asks."""

    def doc(self, rdoc: ResolvedDoc) -> str:
        return f"#{rdoc.id}"

    def anchor(self, rdoc: ResolvedDoc, name: str) -> str:
        """The HTML id for anchor ``name`` of ``rdoc`` (unique in the output page)."""
        return name

    def element(self, rdoc: ResolvedDoc, el) -> str:
        return f"#{self.anchor(rdoc, anchor_name(rdoc, el))}"

    def entity(self, ent) -> str | None:
        return None

    def event(self, ent) -> str | None:
        return None

    def work(self, bibl) -> str | None:
        """Where a work of the edition's bibliography (a ``bibl`` with an id) is listed."""
        return None

    def note(self, rdoc: ResolvedDoc, a: Annotation) -> str:
        return f"#{self.anchor(rdoc, f'note-{a.n}')}"

    def asset(self, path) -> str | None:
        return None

    def glossary(self, entry) -> str | None:
        return None


# Rows of a table short enough to be kept whole on a page of the book (a page holds about
# forty rows of a table's type; a longer table breaks between rows, two rows at least on
# each side).
SHORT_TABLE = 15


def anchor_name(rdoc: ResolvedDoc, el) -> str:
    i = el.get(XML_ID)
    if i:
        return i
    p = rdoc.paragraph_of(el)
    if p:
        return p[0]
    leading = getattr(rdoc, "leading", ())
    for a in (el, *el.iterancestors()):     # a division's text that opens the unit: its section
        if any(a is x for x in leading):
            div = a.getparent()
            return "intro-" + div.get(XML_ID) if div is not None and div.get(XML_ID) else "top"
    return "top"


def classes(*names) -> str:
    return " ".join(n for n in names if n)


def rend_classes(el) -> str:
    r = el.get("rend") or ""
    return " ".join(f"rend-{_CLASS_OK.sub('', t)}" for t in r.split() if _CLASS_OK.sub("", t))


def add_after(out, box) -> None:
    """Append ``box`` to ``out`` after what was just rendered into it (and its tail)."""
    out.append(box)


def add_text(out, s: str | None) -> None:
    if not s:
        return
    if len(out):
        last = out[-1]
        last.tail = (last.tail or "") + s
    else:
        out.text = (out.text or "") + s


_DIGIT = re.compile(r"\d")
_ID_TOKEN = re.compile(r"(?<![\w#/.-])[A-Za-z_][\w.-]*\d[\w.-]*(?<![.-])")


def id_label(edition, token: str) -> str:
    """The reader's label of an ``xml:id`` ("Doc. 3", "Doc. 1, note 32", "Doc. 2, ¶ 4",
    an event's name), or "" where the token is no id of the edition."""
    for doc in edition.corpus.documents:
        if token in doc.ids:
            return edition.target(doc, "#" + token).label or ""
    return ""


def reader_text(edition, text: str) -> str:
    """:func:`reader_ids` on plain text (an entity's or event's description), with ISO
    dates in words."""
    if not text or not any(c.isdigit() for c in text):
        return text
    return iso_in_words(_ID_TOKEN.sub(lambda m: id_label(edition, m.group(0)) or m.group(0), text))


def reader_ids(edition, out) -> None:
    """Identifiers an editor wrote in a note's prose ("d002 gives the same dates", a
    reference whose text is its target's id) read as the reader's labels ("Doc. 3 gives
    …"). Only tokens with a digit that are ids of the edition are replaced."""
    def sub(text):
        if not text or not _DIGIT.search(text):   # (a token is replaced only if it has one)
            return text
        return _ID_TOKEN.sub(lambda m: id_label(edition, m.group(0)) or m.group(0), text)
    for el in out.iter():
        if not isinstance(el.tag, str) or el.tag in ("code", "q"):
            if el is not out:
                el.tail = sub(el.tail)
            continue
        el.text = sub(el.text)
        if el is not out:
            el.tail = sub(el.tail)


def event_name(ent) -> str:
    """An event's name with its dates in words, unless the name already gives them."""
    when = dates_in_words(ent.element)
    return ent.name + (f" ({when})" if when and when not in ent.name else "")


class HtmlRenderer:
    """TEI -> HTML for one document; ``view`` is both | edited | diplomatic."""

    output = "html"

    def __init__(self, edition: Edition, rdoc: ResolvedDoc, links: Links,
                 report: Report | None = None, view: str = "both"):
        self.edition = edition
        self.profile = edition.profile
        self.table = edition.table
        self.corpus = edition.corpus
        self.rdoc = rdoc
        self.doc = rdoc.doc
        self.links = links
        self.report = report if report is not None else Report()
        self.view = view
        self.depth = 0
        self.place_backlinks = False   # the page of the unit itself: "Referenced by" boxes
        self._placed: set = set()
        self._line_boxes: list = []    # boxes for omitted targets, placed in their line
        self._item_label = None        # a list item's label, rendered at the item's start
        self._item_before = []         # page breaks that stood before it, between two items
        self._in_note = 0
        self._allowed = allowed_namespaces(self.corpus.project)   # the rest is never shown
        self._ed_only = 0            # inside a reading only the edited view shows
        # annotation -> (text, children) of its note as notes_list rendered it (copies),
        # kept when a caller sets a dict here (the site reuses them elsewhere)
        self.note_bodies: dict | None = None
        # (tag, @rend, extra class) -> an element's class; behaviour -> its handler
        self._classes: dict = edition.__dict__.setdefault("_html_classes", {})
        self._handlers: dict = {}
        self._entry_of: dict = {}      # element -> its glossary entry (None: none)

    # ---------------------------------------------------------------- driver
    def behaviour(self, el):
        """The behaviour of ``el`` in this output (defaults + the edition's overlay)."""
        return self.table.behaviour(el, self.output)

    def label(self, a: Annotation) -> str:
        return annotation_label(a, self.profile)

    def render(self) -> etree._Element:
        out = etree.Element("div", {"class": "tei-text", "lang": self.doc.root.get(XML_LANG, "en")})
        self.division_text(self.rdoc.leading, out)   # page breaks, a chapter's introduction
        if self.rdoc.is_file:
            text = self.doc.root.find("{http://www.tei-c.org/ns/1.0}text")
            if text is not None:
                self.children(text, out)
        else:
            self.node(self.rdoc.element, out)
        self.division_text(self.rdoc.trailing, out)
        return out

    def division_text(self, els, out) -> None:
        """What the unit shows of the divisions around it (:func:`split_units`): page
        breaks as they are, the division's own text set off in a section of its own."""
        box = None
        for el in els:
            if local(el) == "pb":
                self.node(el, box if box is not None and el.getparent() is box_of else out)
                continue
            if box is None or el.getparent() is not box_of:
                box_of = el.getparent()
                box = etree.SubElement(out, "section", {"class": "division-text"})
                if box_of.get(XML_ID) and el in self.rdoc.leading:   # the contents link to it
                    box.set("id", self.links.anchor(self.rdoc, "intro-" + box_of.get(XML_ID)))
                head = box_of.find("{http://www.tei-c.org/ns/1.0}head")
                if head is not None:
                    box.set("aria-label", " ".join(plain(head).split()))
            self.node(el, box)

    def children(self, el, out) -> None:
        self.put_text(out, el, "text", el.text if not self._ws_only_container(el, el.text) else None)
        for c in el:
            self.node(c, out)
            if c.tail and c.tail[0] in _CLOSING and len(out):
                _trim_layout_space(out[-1], deep=True)   # "Wilson\n  </hi>, vol." -> "Wilson, vol."
            self.put_text(out, c, "tail", c.tail if not self._ws_only_container(el, c.tail) else None)

    def put_text(self, out, el, slot: str, s: str | None) -> None:
        """A text slot of the TEI: in the edited reading with typographic quotes (made once
        by the transforms, :mod:`editio.typography`), in the diplomatic as the source has
        it.  Where both views share the text (the site), each changed character is given
        twice, ``<span class="q-dip">'</span><span class="q-ed">’</span>``, and the styles
        show the one of the view."""
        if not s:
            return
        curled = self.edition.quotes.get((el, slot))
        if curled is None or len(curled) != len(s):
            add_text(out, s)
        elif self.view == "edited" or self._in_note or self._ed_only:
            add_text(out, curled)
        elif self.view == "diplomatic":
            add_text(out, s)
        else:
            buf = []
            for a, b in zip(s, curled):
                if a == b:
                    buf.append(a)
                    continue
                add_text(out, "".join(buf))
                buf = []
                etree.SubElement(out, "span", {"class": "q-dip"}).text = a
                etree.SubElement(out, "span", {"class": "q-ed"}).text = b
            add_text(out, "".join(buf))

    def _ws_only_container(self, el, s) -> bool:
        return s is not None and not s.strip() and (
            self.behaviour(el).layout == "container" or local(el) in ("choice", "subst", "app"))

    def node(self, el, out) -> None:
        if not isinstance(el.tag, str):
            return
        if not el.tag.startswith(_TEI) and namespace(el) not in self._allowed:
            return   # a namespace the edition does not publish (XHTML): check says so (tei.foreign)
        beh = self.behaviour(el)
        if beh.fallback:
            self.report.warning(self.doc.rel, el.sourceline or 0, "element.unknown",
                                f"<{_display_name(el)}> has no behaviour; rendered as a generic {beh.name}")
        handler = self._handlers.get((beh.name, beh.layout))
        if handler is None:
            handler = getattr(self, "b_" + beh.name.replace("-", "_"), None)
            if handler is None:
                handler = self.b_block if beh.layout == "container" else self.b_inline
            self._handlers[beh.name, beh.layout] = handler
        ann = self.rdoc.by_element.get(el)
        if ann is not None and beh.name not in ("note",):
            self.annotated(el, out, handler, ann)
        elif beh.layout == "inline" and beh.name in ("entity", "inline", "highlight") \
                and self.glossary_entry(el) is not None:
            self.b_glossary(el, out)
        else:
            handler(el, out)
        if self.place_backlinks and not self._in_note and el in self.edition.inbound \
                and el not in self._placed and beh.layout != "line" and local(el) != "note":
            box = self.backlink_box(el)
            if box is not None:
                if beh.layout == "omit":      # not shown: the box goes to the end of its line
                    self._line_boxes.append(box)
                else:
                    add_after(out, box)

    def el(self, out, tag: str, src=None, cls: str = "", **attrs) -> etree._Element:
        """Append an HTML element for TEI element ``src``."""
        a = {}
        if src is not None:
            key = (src.tag, src.get("rend"), cls)    # the class is a function of these
            c = self._classes.get(key)
            if c is None:
                name = _display_name(src)
                c = self._classes[key] = classes(f"tei-{_CLASS_OK.sub('-', name)}", cls,
                                                 rend_classes(src))
            a["class"] = c
            i = src.get(XML_ID)
            if i and tag not in ("a",):
                a["id"] = self.links.anchor(self.rdoc, i)
            lang = src.get(XML_LANG)
            if lang:
                a["lang"] = lang
        elif cls:
            a["class"] = cls
        for k, v in attrs.items():
            if v is not None:
                a[k.rstrip("_").replace("_", "-")] = str(v)
        return etree.SubElement(out, tag, a)

    # ------------------------------------------------------------ structure
    def b_block(self, el, out):
        beh = self.behaviour(el)
        div = self.el(out, beh.tag if beh.tag in _BLOCK_TAGS else "div", el,
                      cls=beh.params.get("class", ""))
        if beh.params.get("label"):
            lab = etree.SubElement(div, "p", {"class": "block-label"})
            lab.text = beh.params["label"]
        self.children(el, div)

    b_document = b_block

    def b_section(self, el, out):
        sec = self.el(out, "section", el, data_type=el.get("type"))
        self.depth += 1
        self.children(el, sec)
        self.depth -= 1

    def b_paratext(self, el, out):
        """Text set apart from the edited text (``params``: ``label``, ``aria_label``).
        An <aside> landmark: a text may hold several, and landmarks of one role need
        distinct names, so the second and later are numbered."""
        params = self.behaviour(el).params
        self._paratexts = getattr(self, "_paratexts", 0) + 1
        n = f" ({self._paratexts})" if self._paratexts > 1 else ""
        label = params.get("label", "Not part of the text")
        aside = self.el(out, "aside", el, cls="paratext",
                        aria_label=params.get("aria_label", label) + n)
        lab = etree.SubElement(aside, "p", {"class": "paratext-label"})
        lab.text = label
        self.children(el, aside)

    def b_notes(self, el, out):
        pass

    b_metadata = b_omit = b_notes

    def b_blank_line(self, el, out):
        pass

    def line(self, el, out, tag: str, cls: str = "", lead=None, before=()):
        """A line-level block: stable anchor and a permalink (``lead``: an element rendered
        at its start, an item's label; ``before``: elements rendered ahead of that, a page
        break that stood between two items)."""
        p = self.rdoc.paragraphs.get(el)
        attrs = {}
        if p and not el.get(XML_ID):
            attrs["id"] = self.links.anchor(self.rdoc, p[0])
        node = self.el(out, tag, el, cls=cls, **attrs)
        if p:
            node.set("data-para", str(p[1]))
        outer, self._line_boxes = self._line_boxes, []
        for m in before:
            self.node(m, node)
        if lead is not None:
            box = self.el(node, "span", lead, cls="item-label")
            self.children(lead, box)
            box.tail = " "
        self.children(el, node)
        boxes, self._line_boxes = self._line_boxes, outer
        if self.place_backlinks and not self._in_note and el in self.edition.inbound:
            box = self.backlink_box(el)
            if box is not None:
                boxes.insert(0, box)
        for box in boxes:
            node.append(box)
        if p:
            self.permalink(node, p)
        return node

    def permalink(self, node, p):
        # the number shows in the margin (CSS ``attr(data-n)``), so it is no part of the
        # text a reader copies, a search indexes or the diplomatic view compares
        etree.SubElement(node, "a", {"class": "permalink", "href": "#" + self.links.anchor(self.rdoc, p[0]),
                                     "aria-label": f"Paragraph {p[1]} (link)", "data-n": str(p[1])})

    def b_paragraph(self, el, out):
        # a paragraph holding a list, a table, verse or a block quotation (TEI allows them
        # in <p>; HTML does not: a browser closes the <p> before them, and the paragraph's
        # number and the text after the list fell out of it) is a block of its own kind
        tag = "div" if _holds_blocks(self, el) else "p"
        self.line(el, out, tag, self.behaviour(el).params.get("class", ""))

    def b_byline(self, el, out):
        self.line(el, out, "p", "byline")

    def b_heading(self, el, out):
        if el is self.rdoc.title_element:       # the unit's own title: the page's h1
            self.line(el, out, "h1", "unit-title")
            return
        parent = el.getparent()
        if parent is not None and self.behaviour(parent).name == "figure" and out.tag == "figure":
            self.line(el, out, "figcaption", "heading")   # a figure's title is its caption
            return
        if parent is not None and self.behaviour(parent).name in ("list", "table", "figure", "quotation"):
            self.line(el, out, "p", "heading")
            return
        level = min(1 + max(self.depth - (0 if self.rdoc.is_file else 1), 1), 6)
        self.line(el, out, f"h{level}")

    def b_list(self, el, out):
        ordered = (el.get("type") or "") in ("ordered", "numbered") or "numbered" in (el.get("rend") or "")
        kids = [c for c in el if isinstance(c.tag, str)]
        # a list of labelled items (<label>(a)</label><item>…</item>, a glossary, the
        # numbered points of a memorandum): each label opens its item's line, and the list
        # numbers nothing itself
        labelled = {c: nxt for c, nxt in zip(kids, kids[1:])
                    if local(c) == "label" and self.behaviour(nxt).name == "item"}
        wrap = self.el(out, "div", el, cls=classes(self.behaviour(el).params.get("class", ""),
                                                    "labelled-list" if labelled else ""))
        lst = None
        add_text(wrap, None)
        lead = None
        held = []    # a page break (or anchor) between two items: it opens the next one
        for k, c in enumerate(kids):
            if c in labelled:
                lead = c
                continue
            if self.behaviour(c).name == "item":
                if lst is None:
                    lst = etree.SubElement(wrap, "ol" if ordered and not labelled else "ul")
                self._item_label, lead = lead, None
                self._item_before, held = held, []
                self.node(c, lst)
            elif lst is not None and self.behaviour(c).name in ("pagebreak", "anchor") and any(
                    self.behaviour(n).name == "item" for n in kids[k + 1:]):
                held.append(c)   # one list still, not two around the marker
            else:
                lst = None
                for m in held:
                    self.node(m, wrap)
                held = []
                self.node(c, wrap)

    def b_item(self, el, out):
        if out.tag not in ("ul", "ol"):
            out = etree.SubElement(out, "ul")
        lead, self._item_label = getattr(self, "_item_label", None), None
        before, self._item_before = getattr(self, "_item_before", []), []
        self.line(el, out, "li", lead=lead, before=before)

    def b_table(self, el, out):
        p = self.rdoc.paragraphs.get(el)       # a table is one numbered paragraph
        outer = self.el(out, "div", el, id=self.links.anchor(self.rdoc, p[0]) if p and not el.get(XML_ID) else None,
                        data_para=str(p[1]) if p else None)
        wrap = etree.SubElement(outer, "div", {"class": "table-wrap"})   # scrolls on a phone
        rows = sum(1 for c in el if isinstance(c.tag, str) and local(c) == "row")
        # a short table is kept whole on one page of the book (print.css)
        table = etree.SubElement(wrap, "table", {"class": "table-short"} if rows <= SHORT_TABLE else {})
        for c in el:
            if isinstance(c.tag, str):
                if local(c) == "row":
                    self.node(c, table)
                elif local(c) == "head":
                    cap = etree.SubElement(table, "caption")
                    self.children(c, cap)
                elif local(c) in ("pb", "cb", "milestone", "anchor") and len(table):
                    # a page break between rows stays where it stands: a row of its own
                    width = max((sum(int(x.get("cols") or 1) if (x.get("cols") or "1").isdigit() else 1
                                     for x in r if isinstance(x.tag, str))
                                 for r in el if isinstance(r.tag, str) and local(r) == "row"), default=1)
                    tr = etree.SubElement(table, "tr", {"class": "table-milestone"})
                    self.node(c, etree.SubElement(tr, "td", {"colspan": str(width)}))
                else:
                    self.node(c, wrap)
        if p:
            self.permalink(outer, p)     # outside the scrolling box, which would clip it

    def b_row(self, el, out):
        if out.tag != "table":
            out = etree.SubElement(out, "table")
        tr = self.el(out, "tr", el)
        for c in el:
            if isinstance(c.tag, str):
                self.node(c, tr)

    def b_cell(self, el, out):
        row = el.getparent()
        tag = "th" if el.get("role") == "label" or (row is not None and row.get("role") == "label") else "td"
        if tag == "th" and not "".join(el.itertext()).strip() and not len(el):
            tag = "td"          # an empty label cell heads nothing (a corner above row labels)
        if out.tag != "tr":
            self.b_inline(el, out)
            return
        td = self.el(out, tag, el, colspan=el.get("cols"), rowspan=el.get("rows"))
        self.children(el, td)

    def b_quotation(self, el, out):
        bq = self.el(out, "blockquote", el)
        self.children(el, bq)

    def b_figure(self, el, out):
        fig = self.el(out, "figure", el)
        self.children(el, fig)
        # a figure whose content is all in a namespace the edition does not publish (FRUS's
        # embedded XHTML video players): said where it stands, not an empty caption
        kids = [c for c in el if isinstance(c.tag, str) and local(c) not in ("head", "figDesc")]
        if kids and all(not c.tag.startswith(_TEI) and namespace(c) not in self._allowed for c in kids):
            span = etree.SubElement(fig, "span", {"class": "graphic-missing", "role": "img",
                                                  "aria-label": "Media not included"})
            span.text = "[Media not included]"

    # --------------------------------------------------------------- inline
    def b_inline(self, el, out):
        """A generic inline; an overlay row may give it a ``tag`` and ``params``
        (``class``, ``before``, ``after``)."""
        beh = self.behaviour(el)
        tag = beh.tag if beh.tag in _INLINE_TAGS and not beh.fallback else "span"
        span = self.el(out, tag, el, cls=beh.params.get("class", ""))
        add_text(span, beh.params.get("before"))
        self.children(el, span)
        add_text(span, beh.params.get("after"))

    b_segment = b_inline
    b_original = b_edited = b_inline

    def b_inline_quote(self, el, out):
        self.b_inline(el, out)

    def b_highlight(self, el, out):
        rend = (el.get("rend") or "").lower()
        tag = "em" if "italic" in rend or local(el) == "emph" else \
            "strong" if "bold" in rend or "strong" in rend.split() else \
            "sup" if "sup" in rend else "sub" if "sub" in rend else "span"
        node = self.el(out, tag, el)
        self.children(el, node)

    def b_code(self, el, out):
        """``code``, ``gi``, ``tag``, ``att``, ``val``: monospaced, with the delimiters of the table."""
        node = self.el(out, "code", el)
        add_text(node, self.behaviour(el).params.get("before"))
        self.children(el, node)
        add_text(node, self.behaviour(el).params.get("after"))

    def b_deletion(self, el, out):
        node = self.el(out, "del", el)
        self.children(el, node)

    def b_linebreak(self, el, out):
        self.el(out, "br", el)

    def b_pagebreak(self, el, out):
        if el.get("n"):
            span = self.el(out, "span", el, cls="pb", data_n=el.get("n"))
            span.text = f"[p. {el.get('n')}]"

    def b_anchor(self, el, out):
        self.el(out, "span", el)

    def b_date(self, el, out):
        when = el.get("when") or el.get("from") or el.get("notBefore")
        node = self.el(out, "time", el, datetime=when)
        self.children(el, node)

    def b_graphic(self, el, out):
        url = el.get("url", "")
        r = self.corpus.resolve(self.doc, url) if url else None
        src = None
        alt = _image_description(el)
        if r is not None and r.status == "file":
            src = self.links.asset(r.path)
        elif r is not None and r.status == "external":
            # never loaded from another host (privacy; the PDF engine would fetch it): a link
            a = self.el(out, "a", el, cls="graphic-external", href=r.url, rel="noopener noreferrer")
            a.text = alt or r.url
            return
        elif r is not None and r.status == "missing":
            # an image the edition names but does not hold (FRUS "Document A.1": a photograph
            # of the printed volume): said where it stands, in the reader's words (never its
            # file name), not a broken image; the check has reported the pointer, located
            said = self.profile.text("image_missing", "Image not included") if self.profile \
                else "Image not included"
            what = alt
            fig = el.getparent()
            caption = fig is not None and local(fig) == "figure" and fig.find(_TEI + "head") is not None
            if not what and not caption:   # nothing tells what it was: where it stood
                page = el.xpath("string(preceding::*[local-name()='pb'][@n][1]/@n)")
                if page:
                    what = (self.profile.text("image_page", "figure on p. {page}") if self.profile
                            else "figure on p. {page}").replace("{page}", page)
            span = self.el(out, "span", el, cls="graphic-missing", role="img",
                           aria_label=f"{said}: {what}" if what else said)
            span.text = f"[{said}: {what}]" if what else f"[{said}]"
            return
        # an unsafe @url (another host's page, a file outside the project): the check has
        # reported it; nothing is shown
        if src:
            img = self.el(out, "img", el, alt=alt, loading="lazy")
            img.set("src", src)

    def b_gap(self, el, out):
        span = self.el(out, "span", el, cls="gap", title=f"gap: {el.get('reason') or 'omitted'}")
        # in brackets of the source's own ("[<gap/>]", as FRUS writes an omission): the
        # ellipsis alone, never "[[…]]"
        prev = el.getprevious()
        before = (prev.tail if prev is not None else el.getparent().text if el.getparent() is not None
                  else "") or ""
        span.text = "…" if before.rstrip().endswith("[") and (el.tail or "").lstrip().startswith("]") \
            else "[…]"

    def b_supplied(self, el, out):
        if self.view == "diplomatic":
            return
        span = self.el(out, "span", el, cls="supplied", data_cert=el.get("cert"))
        self.children(el, span)

    # ------------------------------------------------------------- links
    def _nested_link(self, el, out, own_links: bool = False) -> bool:
        """True where ``el`` cannot be an HTML link: inside a link already, or holding an
        annotation (whose note call is a link) or, with ``own_links``, a link of its own."""
        if out.tag == "a" or next(out.iterancestors("a"), None) is not None:
            return True
        for d in el.iterdescendants():
            if d in self.rdoc.by_element:
                return True
            if own_links and isinstance(d.tag, str) and self.behaviour(d).name in ("link", "pointer", "entity"):
                return True
        return False

    def b_link(self, el, out):
        href = self.href_for(el, el.get("target") or "")
        if href and self._nested_link(el, out):
            href = None
        if href:
            a = self.el(out, "a", el, href=href)
            if href.startswith(("http:", "https:")):
                a.set("rel", "noopener noreferrer")
        else:
            a = self.el(out, "span", el)
        self.children(el, a)

    def b_pointer(self, el, out):
        href = self.href_for(el, el.get("target") or "")
        if href:
            a = self.el(out, "a", el, href=href)
            a.text = self.pointer_label(el)

    def pointer_label(self, el) -> str:
        tok = (el.get("target") or "").split()
        t = self.edition.target(self.doc, tok[0]) if tok else None
        if t is not None and t.unit is not None:
            return self.place_label(t.unit, t.element)
        return tok[0] if tok else ""

    def href_for(self, el, target: str) -> str | None:
        """The link of a pointer, from its resolved :class:`Target` (made once by the
        transforms); renderers never resolve pointers themselves."""
        toks = target.split()
        if not toks:
            return None
        t = self.edition.target(self.doc, toks[0])
        if t.status == "external":
            return t.url
        if t.status == "element":
            if t.kind == "entity":
                return self.links.entity(t.entity)
            if t.kind == "event":
                return self.links.event(t.entity)
            if t.kind == "work":
                return self.links.work(t.element)
            if t.kind == "glossary":
                return self.links.glossary(t.entry)
            if t.unit is None:
                return None
            if t.kind in ("unit", "division"):   # a chapter: the page of its first unit
                return self.links.doc(t.unit)
            return self.links.element(t.unit, t.element)
        if t.status == "unsafe":
            self.report.warning(self.doc.rel, el.sourceline or 0, "ref.unsafe",
                                f'link "{toks[0]}" is not allowed; rendered as text')
        return None

    def place_label(self, rd: ResolvedDoc, el) -> str:
        return self.edition.place_label(rd, el)

    # ------------------------------------------------------------ glossary
    def glossary_entry(self, el):
        """The glossary entry (a person or term of the edition's lists) that ``el`` points
        to with ``@corresp``/``@target``/``@ref``, else None."""
        gl = self.edition.glossary
        if not gl:
            return None
        try:
            return self._entry_of[el]   # (asked first by node(), then by b_glossary)
        except KeyError:
            pass
        found = None
        for attr in ("corresp", "target", "ref"):
            for tok in (el.get(attr) or "").split()[:1]:
                r = self.corpus.resolve(self.doc, tok)
                if r.status == "element" and r.element in gl:
                    found = gl[r.element]
                    break
            if found is not None:
                break
        self._entry_of[el] = found
        return found

    def b_glossary(self, el, out):
        """A name or term linked to its glossary entry; the entry's description goes in
        ``data-gloss`` (the site shows it as a popover) and ``title``."""
        # a cross-reference entry ("Yang, Dr., see You Chan Yang") sends the reader on
        entry = self.edition.glossary_target(self.glossary_entry(el))
        href = self.links.glossary(entry)
        if href and self._nested_link(el, out, own_links=True):
            href = None
        desc = f"{entry.term}: {entry.description}" if entry.description else entry.term
        if href:
            node = self.el(out, "a", el, cls=f"gloss gloss-{entry.kind}", href=href,
                           data_gloss=desc, data_gloss_kind=entry.kind.capitalize())
        else:
            node = self.el(out, "span", el, cls=f"gloss gloss-{entry.kind}", title=desc)
        self.children(el, node)

    def b_entity(self, el, out):
        ent = None
        for tok in (el.get("ref") or "").split():
            r = self.corpus.resolve(self.doc, tok)
            if r.status == "element":
                ent = self.corpus.entities.get(r.element.get(XML_ID))
                break
        href = self.links.entity(ent) if ent is not None else None
        if href and self._nested_link(el, out, own_links=True):
            href = None
        if href:
            node = self.el(out, "a", el, cls="entity", href=href, data_entity=ent.id)
        else:
            node = self.el(out, "span", el, cls="entity" if ent else "",
                           data_entity=ent.id if ent else None)
        self.children(el, node)

    # -------------------------------------------------------- annotations
    def annotated(self, el, out, handler, ann: Annotation):
        wrap = etree.SubElement(out, "span", {
            "class": f"annot annot-{ann.kind} annot-{_CLASS_OK.sub('-', ann.type)}",
            "data-annot": str(ann.n)})
        if ann.cert:
            wrap.set("data-cert", ann.cert)
        if ann.id:
            wrap.set("id", self.links.anchor(self.rdoc, ann.id))
        if local(el) == "choice":
            self.b_alternate(el, wrap)
        elif local(el) == "seg":
            self.children(el, wrap)
        else:
            handler(el, wrap)
            if wrap.get("id"):  # the element's own rendering repeats its xml:id
                for d in wrap.iterdescendants():
                    if d.get("id") == wrap.get("id"):
                        del d.attrib["id"]
        # the call goes right after the last word of the passage: space the passage ends
        # with moves after the call ("word¹ The", never "word ¹The"), and a call that
        # follows another call directly is set apart from it ("8,9", never "89")
        space = _pop_trailing_space(wrap)
        after_call = _ends_with_call(wrap)
        self.call(ann, out)
        if after_call and len(out):
            out[-1].set("class", (out[-1].get("class", "") + " call-after-call").strip())
        if isinstance(space, str):
            add_text(out, space)
        elif space is not None:
            out.append(space)

    def b_alternate(self, el, out):
        """``choice``: the diplomatic and the edited reading side by side."""
        dip = choice_reading(el, "diplomatic")
        ed = choice_reading(el, "edited")
        if self.view in ("both", "diplomatic") and dip is not None:
            s = self.el(out, "span", dip, cls="reading reading-dip")
            self.children(dip, s)
        if self.view in ("both", "edited") and ed is not None:
            lead, trail = _edge_space(ed)
            self.edge_space(out, lead, dip)
            s = self.el(out, "span", ed, cls="reading reading-ed", data_cert=ed.get("cert"))
            if local(ed) == "supplied" and is_unrestored(ed):
                s.set("class", s.get("class") + " unrestored")
                s.text = "[…]"
            else:
                self._ed_only += 1
                try:
                    self.children(ed, s)
                finally:
                    self._ed_only -= 1
                _strip_edges(s)
            self.edge_space(out, trail, dip)

    def edge_space(self, out, space: str, dip) -> None:
        """Space at the edge of the edited reading, kept outside its mark; where both
        readings show, marked as the edited reading's (the diplomatic view hides it)."""
        if space and self.view == "both" and dip is not None:
            etree.SubElement(out, "span", {"class": "ed-space"}).text = space
        else:
            add_text(out, space)

    def call(self, ann: Annotation, out):
        """The note call after an annotated passage (site: a link to the note)."""
        a = etree.SubElement(out, "a", {"class": "note-call", "href": self.links.note(self.rdoc, ann),
                                        "id": self.links.anchor(self.rdoc, f"call-{ann.n}"),
                                        "role": "doc-noteref", "data-note": ann.label or str(ann.n),
                                        "aria-label": f"Note {ann.label or ann.n}"
                                                      + (f": {self.label(ann)}" if self.label(ann) else "")})
        a.text = ann.label or str(ann.n)

    def call_again(self, ann: Annotation, out):
        """A second call of a note (the same footnote number at a second place): a link to
        the note, with no anchor of its own (the note's ↩ leads to its first call)."""
        a = etree.SubElement(out, "a", {"class": "note-call call-again", "href": self.links.note(self.rdoc, ann),
                                        "role": "doc-noteref", "data-note": ann.label or str(ann.n),
                                        "aria-label": f"Note {ann.label or ann.n} (again)"})
        a.text = ann.label or str(ann.n)

    # notes -----------------------------------------------------------------
    def note_body(self, ann: Annotation, out) -> None:
        """The explanation of an annotation: label, readings, note text, related passages."""
        label = self.label(ann)
        if label:
            lab = etree.SubElement(out, "span", {"class": "note-label"})
            lab.text = label
            if ann.cert:
                lab.text += f" (certainty: {ann.cert})"
            lab.tail = ". "
        if ann.kind in ("redaction", "correction", "normalisation"):
            r = etree.SubElement(out, "span", {"class": "note-readings"})
            dip, ed = ann.diplomatic, ann.edited.strip()
            q1 = etree.SubElement(r, "q", {"class": "note-dip"})
            q1.text = dip
            q1.tail = " → "
            q2 = etree.SubElement(r, "q", {"class": "note-ed"})
            q2.text = curl(ann.edited if dip.strip() == ed else ed)   # the edited reading's quotes
            r.tail = ". "
            if dip.strip() == ed and dip != ann.edited:  # only the spacing differs
                r.tail = (" (space added). " if len(ann.edited) > len(dip) else " (space removed). ")
        first = self.rdoc.first_with_note
        for n in ann.notes:
            span = etree.SubElement(out, "span", {"class": "note-text"})
            earlier = first.get(n)
            if earlier is not None and earlier is not ann:
                span.text = "As "
                a = etree.SubElement(span, "a", {"class": "note-ref",
                                                 "href": self.links.note(self.rdoc, earlier)})
                a.text = f"note {earlier.label or earlier.n}"
                a.tail = "."
            else:
                self.note_content(n, span)
            add_text(out, " ")
        if ann.kind == "crossref":
            self.related(ann, out)
            self.derived(ann, out)

    def note_content(self, note, out):
        saved = self.view
        self.view = "edited"
        self._in_note += 1
        try:
            self.children(note, out)
        finally:
            self._in_note -= 1
        self.view = saved
        reader_ids(self.edition, out)

    def derived(self, ann: Annotation, out):
        """The relation derived from the passage's claims (editio.rules.claims), where it was
        compared: "Compared by its claims: disagrees: number of delegation-last: 6 against 7 (Doc. 2, ¶ 9)"."""
        from editio.rules.claims import derive
        d = derive(self.corpus).get(ann.element)
        if d is None or d.relation == "unverified":
            return

        def name_of(i):
            ent = self.corpus.entities.get(i)
            return ent.name if ent is not None else i

        def place_of(seg):
            for doc, s in (p for ps in self.corpus.event_passages.values() for p in ps):
                if s is seg:
                    rd = self.edition.locate(seg)
                    return self.place_label(rd, seg) if rd is not None else doc.id
            return ""
        span = etree.SubElement(out, "span", {"class": "derived", "data-relation": d.relation})
        span.text = " Compared by its claims: " + iso_in_words(d.readable(name_of, place_of)) + "."

    def related(self, ann: Annotation, out):
        """The other passages of the same event(s): "Event (dates). Also in: Doc. 2, ¶ 4; …"."""
        for ev_id in ann.targets:
            ent = self.corpus.entities.get(ev_id)
            if ent is None or ent.kind != "event":
                continue
            p = etree.SubElement(out, "span", {"class": "related"})
            self.event_label(p, ent)
            others = [(self.edition.locate(s), s) for d, s in self.corpus.event_passages.get(ev_id, [])
                      if s is not ann.element and self.edition.locate(s) is not None]
            if not others:
                add_text(p, ". ")
                continue
            add_text(p, ". Also in: ")
            for i, (rd, s) in enumerate(others):
                self.xref(p, self.links.element(rd, s), self.place_label(rd, s),
                          " (disagrees)" if s.get("subtype") == "disagrees" else "",
                          s.get("subtype") or "")
                add_text(p, "; " if i < len(others) - 1 else ". ")

    def event_label(self, out, ent) -> None:
        """An event's name and dates (site: a link to the concordance)."""
        href = self.links.event(ent)
        lead = etree.SubElement(out, "a" if href else "span", {"href": href} if href else {})
        lead.text = event_name(ent)

    def xref(self, out, href: str, label: str, suffix: str = "", subtype: str = "") -> None:
        """A link to another passage (print: with its page number)."""
        a = etree.SubElement(out, "a", {"href": href, "class": "xref", "data-subtype": subtype})
        a.text = label + suffix

    def notes_list(self) -> etree._Element | None:
        """The numbered list of every annotation, at the end of the document."""
        if not self.rdoc.annotations:
            return None
        ol = etree.Element("ol", {"class": "annotations"})
        for ann in _by_number(self.rdoc.annotations):
            li = etree.SubElement(ol, "li", {"id": self.links.anchor(self.rdoc, f"note-{ann.n}"),
                                             "value": str(ann.n), "data-kind": ann.kind,
                                             "data-type": ann.type})
            if ann.label and ann.label != str(ann.n):
                li.set("data-label", ann.label)   # the TEI's own number (styles print it)
                if ann.label.isdigit():
                    li.set("value", ann.label)
                else:              # a second series (*, †, a …): its mark alone, no full stop
                    li.set("class", "note-apart")
            if ann.cert:
                li.set("data-cert", ann.cert)
            self.note_body(ann, li)
            if self.note_bodies is not None:
                self.note_bodies[ann] = (li.text, [copy.deepcopy(c) for c in li])
            if self.place_backlinks:   # what points to the annotated passage or into its notes
                for target in self._note_targets(ann):
                    box = self.backlink_box(target, again=target is ann.element)
                    if box is not None:
                        li.append(box)
            back = etree.SubElement(li, "a", {"href": "#" + self.links.anchor(self.rdoc, f"call-{ann.n}"),
                                              "class": "note-back", "role": "doc-backlink",
                                              "aria-label": f"Back to the text of note {ann.n}"})
            back.text = "↩"
        return ol

    def _note_targets(self, ann) -> list:
        inbound = self.edition.inbound
        out = [ann.element] if ann.element in inbound and local(ann.element) != "note" else []
        for n in ann.notes:
            out += [d for d in n.iter() if d in inbound]
        return out

    def backlink_box(self, el, again: bool = False):
        """"Referenced by Doc. 2, note 4": the places that point to ``el``, once per page
        (``again``: a second box for the same target, in its note)."""
        if el in self._placed and not again:
            return None
        links = self.backlinks(el)
        if not links:
            return None
        self._placed.add(el)
        box = etree.Element("span", {"class": "backlinks"})
        lab = etree.SubElement(box, "span", {"class": "backlinks-label"})
        lab.text = "Referenced by "
        for i, (label, href) in enumerate(links):
            a = etree.SubElement(box, "a", {"href": href, "class": "backlink"})
            a.text = label
            if i < len(links) - 1:
                a.tail = ", "
        return box

    def unplaced_backlinks(self) -> list[tuple[str, str]]:
        """The places pointing to targets of this unit that the page does not show (its
        header): listed at the top of the page."""
        out = []
        for target in self.edition.inbound:
            if target not in self._placed and self.edition.locate(target) is self.rdoc:
                out.extend(self.backlinks(target))
        return out

    def backlinks(self, el) -> list[tuple[str, str]]:
        """(label, href) of the places that point to ``el`` ("referenced by")."""
        out = []
        for d, src in self.edition.inbound.get(el, []):
            rd = self.edition.locate(src)
            if rd is None:
                continue
            ann = None
            for a in src.iterancestors():
                if local(a) == "note":
                    for tok in (a.get("target") or "").split():
                        r = self.corpus.resolve(d, tok)
                        if r.status == "element":
                            ann = rd.by_element.get(r.element)
                    break
            if ann is not None:
                out.append((self.edition.note_label(rd, ann), self.links.note(rd, ann)))
            else:
                out.append((self.place_label(rd, src), self.links.element(rd, src)))
        return out

    # b_note: inline notes that are annotations of their own (authorial footnotes)
    def b_note(self, el, out):
        ann = self.rdoc.by_element.get(el)
        if ann is None:
            first = repeat_of(self.corpus, self.doc, el) if el.get("target") else None
            ann = self.rdoc.by_element.get(first) if first is not None else None
            if ann is not None:      # a footnote called a second time: its number again
                _trim_layout_space(out)
                self.call_again(ann, out)
            return
        line, perma = _line_before(self, el, out)
        if line is None:
            _trim_layout_space(out)      # "Sisson\n   <note>" -> "Sisson¹", as printed
            after_call = _ends_with_call(out)
            self.call(ann, out)
            if after_call and len(out):  # "2,1", never "21"
                out[-1].set("class", (out[-1].get("class", "") + " call-after-call").strip())
            return
        held = etree.Element("span")
        self.call(ann, held)
        prev = perma.getprevious() if perma is not None else (line[-1] if len(line) else None)
        if prev is not None:
            prev.tail = (prev.tail or "").rstrip() or None
        else:
            line.text = (line.text or "").rstrip() or None
        if len(held) and (prev is not None and not (prev.tail or "").strip() and any(
                c in (prev.get("class") or "").split() for c in CALL_CLASSES)):
            held[-1].set("class", (held[-1].get("class", "") + " call-after-call").strip())
        for c in list(held):
            if perma is not None:
                perma.addprevious(c)
            else:
                line.append(c)


def _line_before(renderer, el, out):
    """(the line, the permalink in it or None) a note's call goes to when the note stands
    between blocks (a source note written after a document's last paragraph), where a
    call alone would make a line of its own: the end of the block before it; else None."""
    parent = el.getparent()
    if parent is None or renderer.behaviour(parent).layout != "container" or not len(out):
        return None, None
    last = out[-1]
    if last.tag not in ("p", "h1", "h2", "h3", "h4", "h5", "h6", "li", "div", "blockquote") \
            or (last.tail or "").strip():
        return None, None
    if last.tag in ("div", "blockquote"):
        inner = [c for c in last.iter("p", "li")]
        if not inner:
            return None, None
        last = inner[-1]
    perma = last[-1] if len(last) and last[-1].get("class") == "permalink" else None
    return last, perma


_BLOCK_NAMES = tuple("{http://www.tei-c.org/ns/1.0}" + n for n in (
    "list", "table", "lg", "quote", "q", "figure", "floatingText", "listBibl", "cit", "sp", "p", "ab"))


def _holds_blocks(renderer, el) -> bool:
    """Whether ``el`` holds, outside its notes, an element rendered as a block."""
    for d in el.iterdescendants(*_BLOCK_NAMES):
        a = d.getparent()
        while a is not None and a is not el and local(a) != "note":
            a = a.getparent()
        if a is not el:
            continue            # inside a note: only the note's call stands in the text
        if renderer.behaviour(d).layout == "container" or local(d) in ("p", "ab"):
            return True
    return False


def _by_number(anns: list) -> list:
    """The notes as their list gives them: a second series (*, † …) first, then by
    number, where the numbers are the TEI's own (a source note n="1" written after the
    text, a footnote 2 before it: 1, then 2, as the printed page lists them); in their
    order otherwise."""
    def key(a):
        lab = a.label or str(a.n)
        return (0, 0) if not lab.isdigit() else (1, int(lab))
    return sorted(anns, key=key)


# punctuation that closes up to the word before it
_CLOSING = frozenset(",.;:!?)]’”…")


def _trim_layout_space(node, deep: bool = False) -> None:
    """Drop the white space a pretty-printed source puts at the end of ``node``'s text (the
    line break and indentation before a footnote call, or before the closing tag of an
    element that punctuation follows): only space holding a line break, which no writer
    typed; with ``deep``, the end of ``node``'s own rendering, else of its content so far."""
    if deep:
        holder, slot = node, "tail"
        if not node.tail:
            holder, slot = node, "text"
            while len(holder):
                last = holder[-1]
                if last.tail:
                    holder, slot = last, "tail"
                    break
                holder, slot = last, "text"
    elif len(node):
        holder, slot = node[-1], "tail"
    else:
        holder, slot = node, "text"
    if deep and holder is node and slot == "tail":
        return                       # its tail is the punctuation's own text slot: nothing to do
    t = getattr(holder, slot) or ""
    kept = t.rstrip()
    if kept != t and "\n" in t[len(kept):]:
        setattr(holder, slot, kept)


_BLOCK_TAGS = {"div", "section", "aside", "blockquote", "figure", "article", "header", "footer"}
_INLINE_TAGS = {"span", "em", "strong", "small", "sup", "sub", "cite", "q", "abbr", "code", "mark",
                "time", "b", "i", "u", "s", "del", "ins", "dfn", "kbd", "var"}


def _display_name(el) -> str:
    return local(el) if is_tei(el) else el.tag.split("}")[-1]


CALL_CLASSES = ("note-call", "footnote")


def _pop_trailing_space(node):
    """Take the white space ``node``'s text ends with out of it: the string, or the
    ``span.ed-space`` element that holds it (the edited reading's own space), or None."""
    cur = node
    while True:
        if len(cur):
            last = cur[-1]
            if last.tail:
                if last.tail != last.tail.rstrip():
                    t = last.tail
                    last.tail = t.rstrip()
                    return t[len(t.rstrip()):]
                return None
            cls = (last.get("class") or "").split()
            if "ed-space" in cls:
                cur.remove(last)
                last.tail = None
                return last
            if any(c in cls for c in CALL_CLASSES) or not isinstance(last.tag, str):
                return None
            cur = last
            continue
        t = cur.text or ""
        if t and t != t.rstrip():
            cur.text = t.rstrip()
            return t[len(t.rstrip()):]
        return None


def _ends_with_call(node) -> bool:
    """Whether ``node``'s content ends with a note call (no text after it)."""
    cur = node
    while len(cur):
        last = cur[-1]
        if (last.tail or "").strip():
            return False
        if any(c in (last.get("class") or "").split() for c in CALL_CLASSES):
            return True
        cur = last
    return False


def _edge_space(el) -> tuple[str, str]:
    """Leading/trailing white space of an element's text (kept outside the marked reading)."""
    text = el.text or ""
    lead = text[: len(text) - len(text.lstrip())] if text else ""
    last = el[-1].tail if len(el) else el.text
    last = last or ""
    trail = last[len(last.rstrip()):] if last.strip() or len(el) else ""
    return lead, trail


def _strip_edges(node):
    if node.text:
        node.text = node.text.lstrip()
    if len(node):
        if node[-1].tail:
            node[-1].tail = node[-1].tail.rstrip()
    elif node.text:
        node.text = node.text.rstrip()
