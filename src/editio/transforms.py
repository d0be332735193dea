"""Transforms: the corpus -> the resolved edition every builder shares.

The TEI trees are never modified; each transform derives one index over them
(as Sphinx's environment collects what spans documents before any builder
runs).  Builders (HTML site, PDF) receive the same :class:`Edition`.

* ``split_units``        each text -> its page units, as the profile says (one TEI file,
  or every element an XPath selects, e.g. FRUS ``div[@type='document']``)::

      <TEI><text>… <div type="document" xml:id="d12" n="12"> …   ->  unit "d12", "Doc. 12"

* ``number_paragraphs``  line elements of a unit -> stable anchors ``p1``, ``p2``
  (or their xml:id)::

      <p>On June 25…</p>            ->  anchor "p1", number 1

* ``number_annotations`` annotations in text order -> 1, 2, 3 … per unit
  (collected by :mod:`editio.annotations`), indexed by element; with the profile's
  ``[notes] number = "@n"`` a note's printed number is its ``@n`` (FRUS: per document,
  the source note first);
* ``back_links``          every resolved ``@target``/``@corresp`` in a text or a note
  -> the list of places that point to each element ("referenced by");
* ``event_passages``      event -> passages (cross-document concordance), in
  :class:`editio.corpus.Corpus`;
* ``mentions``            entity -> tagged mentions, in :class:`editio.corpus.Corpus`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property

from lxml import etree

from editio import TEI_NS, XML_ID
from editio.behaviours import LINE, BehaviourTable, local
from editio.corpus import Corpus, Document
from editio.profile import Unit
from editio.text import plain
from editio.typography import curl, curl_tree

T = "{%s}" % TEI_NS


@dataclass(eq=False)
class ResolvedDoc:
    """One page unit: a whole TEI file, or one element of it (a FRUS document)."""
    doc: Document
    number: int                                   # 1-based position among the units
    annotations: list = field(default_factory=list)
    by_element: dict = field(default_factory=dict)  # element -> Annotation
    paragraphs: dict = field(default_factory=dict)  # line element -> (anchor, number)
    element: object = None                        # the unit's root (the TEI root for a file)
    unit_id: str = ""                             # page name ("d12"); "" = the document's id
    n: str = ""                                   # the unit's own number (@n), else ``number``
    numbered: bool = True                         # the number is the TEI's own (False: counted)
    label: str = ""                               # the reader's label: "Doc. 12"
    kind: str = "document"                        # document | section
    heading: str = ""                             # title from the unit (its head), if any
    leading: list = field(default_factory=list)   # page breaks and a division's own text just
                                                  # before the unit (outside it)
    trailing: list = field(default_factory=list)  # a division's own text after the unit (outside it)
    title_element: object = None                  # the element the title comes from (its head)
    context: list = field(default_factory=list)   # headings of the divisions around the unit
    silent: list = field(default_factory=list)    # regularisations made silently (no call, no note)

    @property
    def id(self) -> str:
        return self.unit_id or self.doc.id

    @property
    def title(self) -> str:
        # a unit with no heading of its own goes by its label ("Doc. 2"), never by its
        # file's title (every such document of a FRUS volume was "Foreign Relations …")
        return curl(self.heading or (self.doc.title if self.is_file else self.label or self.doc.title))

    @property
    def is_file(self) -> bool:
        return self.element is None or self.element is self.doc.root

    @property
    def text_root(self):
        """The element whose content is the unit's text (``text`` for a whole file)."""
        if self.is_file:
            return self.doc.root.find(T + "text")
        return self.element

    def paragraph_of(self, el):
        """(anchor, number) of the paragraph holding ``el``."""
        for a in [el, *el.iterancestors()]:
            if a in self.paragraphs:
                return self.paragraphs[a]
        return None

    @cached_property
    def first_with_note(self) -> dict:
        """note element -> the first annotation (in note order) that it explains.

        One note may explain several annotations (forty identical typographic slips);
        it is printed in full once and referred to from the others."""
        out: dict = {}
        for a in self.annotations:
            for n in a.notes:
                out.setdefault(n, a)
        return out

    @cached_property
    def counts(self) -> dict:
        out: dict = {}
        for a in self.annotations:
            out[(a.kind, a.type)] = out.get((a.kind, a.type), 0) + 1
        return out


@dataclass(eq=False)
class Target:
    """A pointer, resolved once for every output: what it reaches and how a reader names it."""
    status: str                     # element | external | file | missing | unsafe
    kind: str = ""                  # unit | division | note | page | paragraph | element | entity | event | glossary | work
    unit: "ResolvedDoc | None" = None
    element: object = None
    label: str = ""                 # "Doc. 3", "Doc. 3, ¶ 4", "Doc. 3, note 2"
    note: object = None             # the annotation the target is (or is inside the note of)
    url: str = ""
    entity: object = None
    entry: "GlossEntry | None" = None
    path: object = None
    print_url: bool = True          # external: the book gives the address in a note


@dataclass(eq=False)
class SourceField:
    """One labelled field of a source description (print: a ``dt``/``dd`` pair)."""
    label: str
    kind: str                 # lead | witness | link | element | holder
    element: object = None
    text: str = ""            # lead text; the witness file name
    tail: str = ""            # text after the element in the header ("; ", ". 2024")


@dataclass(eq=False)
class Source:
    """What a unit's header says of its source, for every output (a unit inside a file
    has none: its source is its source note)."""
    holder: object = None     # the sourceDesc/bibl the fields come from
    titles: list = field(default_factory=list)
    author: str = ""
    publisher: str = ""
    date: str = ""            # ISO
    notes: list = field(default_factory=list)     # the bibl's note elements
    fields: list = field(default_factory=list)    # [SourceField] in header order


# default labels of the source fields; a profile renames them in [labels.source]
# ("publisher" = "Platform"; keys: element name, or name.type / name.level)
SOURCE_LABELS = {
    "title.desc": "Description", "title.main": "Title", "title.a": "Title", "title.m": "Book",
    "title.j": "Journal", "title.s": "Series", "note.publication": "Publication",
    "note.translation": "Translation", "note.references": "References", "note.title": "On the title",
    "date.updated": "Updated", "title": "Title", "author": "Author", "editor": "Editor",
    "publisher": "Publisher", "date": "Date", "note": "Note", "idno": "Identifier",
    "pubPlace": "Place", "ptr": "Link", "ref": "Link", "respStmt": "Responsibility",
    "edition": "Edition", "extent": "Extent", "biblScope": "Scope", "distributor": "Distributor",
    "source": "Source", "witness": "Witness",
}


@dataclass(eq=False)
class GlossEntry:
    """A person or term of a glossary list (FRUS "List of Persons", "List of Abbreviations")."""
    id: str
    term: str
    description: str
    glossary: str          # the glossary's name (persons, terms)
    kind: str              # person | term
    page: str              # the page that lists it
    label: str             # the glossary's label ("Persons")
    element: object = None
    doc: Document = None
    see: str = ""          # a cross-reference entry ("Yang, Dr., see You Chan Yang"): the id
    #                        of the entry it sends the reader to


@dataclass(eq=False)
class Edition:
    corpus: Corpus
    docs: list[ResolvedDoc]                        # the page units, in reading order
    inbound: dict                                  # element -> [(Document, pointing element)]
    table: BehaviourTable = None                   # defaults + the profile's overlay
    quotes: dict = field(default_factory=dict)     # (element, "text"|"tail") -> typographic text
    aside: dict = field(default_factory=dict)      # page break in no unit -> front matter, or None

    @property
    def project(self):
        return self.corpus.project

    @property
    def profile(self):
        return self.corpus.project.profile

    @cached_property
    def by_name(self) -> dict:
        out: dict = {}
        for r in self.docs:
            out.setdefault(r.doc.name, r)
        return out

    @cached_property
    def by_id(self) -> dict:
        return {r.id: r for r in self.docs}

    @cached_property
    def _units(self) -> dict:
        out: dict = {}
        for r in self.docs:
            out[r.element if r.element is not None else r.doc.root] = r
            for el in (*r.leading, *r.trailing):
                out[el] = r
        return out

    def resolved(self, doc: Document) -> ResolvedDoc | None:
        """The first unit of ``doc`` (its only one when a file is a unit)."""
        return self.by_name.get(doc.name)

    def _first_unit_in(self, el):
        """The first unit inside ``el`` (a division that holds units), or None."""
        for rd in self.docs:
            if rd.element is not None and rd.element is not el and \
                    any(a is el for a in rd.element.iterancestors()):
                return rd
        return None

    def locate(self, el):
        """The unit holding any element of a text (a page break just before a unit
        belongs to it), else None."""
        units = self._units
        for a in (el, *el.iterancestors()):
            r = units.get(a)
            if r is not None:
                return r
        return None

    @cached_property
    def redactions(self) -> list:
        """Every redaction of the edition (:mod:`editio.redactions`), collected once for
        every builder."""
        from editio.redactions import collect
        return collect(self.corpus)

    # ---- source descriptions, made once for every output
    def source_label(self, key: str) -> str:
        return self.profile.label("source", key, SOURCE_LABELS.get(key, key[:1].upper() + key[1:]))

    def _field_label(self, el) -> str:
        name = local(el)
        for key in (el.get("type"), el.get("level")):
            if key and f"{name}.{key}" in SOURCE_LABELS or \
                    key and isinstance(self.profile.labels.get("source"), dict) \
                    and f"{name}.{key}" in self.profile.labels["source"]:
                return self.source_label(f"{name}.{key}")
        return self.source_label(name)

    def source(self, rd: ResolvedDoc) -> Source:
        cache = self.__dict__.setdefault("_sources", {})
        if rd.id not in cache:
            cache[rd.id] = self._source(rd)
        return cache[rd.id]

    def _source(self, rd: ResolvedDoc) -> Source:
        if not rd.is_file:
            # a day (a time of day left out), or a range of days "1977-03-01/1977-03-03"
            return Source(date="/".join(x[:10] for x in _unit_date(rd.element).split("/")))
        sd = rd.doc.root.find(f"{T}teiHeader/{T}fileDesc/{T}sourceDesc")
        bibl = sd.find(T + "bibl") if sd is not None else None
        src = Source(holder=bibl if bibl is not None else sd, date=rd.doc.date)
        if src.holder is not None:
            h = src.holder
            src.titles = [curl(plain(t)) for t in h.iterfind(T + "title")]
            a, p = h.find(T + "author"), h.find(T + "publisher")
            src.author = curl(plain(a)) if a is not None else ""
            src.publisher = curl(plain(p)) if p is not None else ""
            src.notes = list(h.iterfind(T + "note"))
        for holder in ([c for c in sd if isinstance(c.tag, str)] if sd is not None else []):
            if local(holder) not in ("bibl", "biblStruct", "biblFull", "msDesc"):
                src.fields.append(SourceField(self.source_label("source"), "holder", holder))
                continue
            lead = (holder.text or "").strip()
            if lead:
                src.fields.append(SourceField(self.source_label("source"), "lead", text=curl(lead)))
            for c in holder:
                if not isinstance(c.tag, str):
                    continue
                tail = (c.tail or "").strip()
                tail = " " + tail.lstrip(",;: ") if tail and tail not in ".,;:" else ""
                name = local(c)
                if name == "ptr" and (c.get("target") or "").endswith(".txt"):
                    src.fields.append(SourceField(self.source_label("witness"), "witness", c,
                                                  (c.get("target") or "").rsplit("/", 1)[-1], tail))
                else:
                    src.fields.append(SourceField(self._field_label(c),
                                                  "link" if name in ("ptr", "ref") else "element",
                                                  c, tail=tail))
        return src

    # ---- pointers, resolved once
    @cached_property
    def _targets(self) -> dict:
        return {}

    @cached_property
    def _note_owner(self) -> dict:
        """note element -> (unit, annotation) for every note an annotation reads."""
        out: dict = {}
        for rd in self.docs:
            for a in rd.annotations:
                for n in a.notes:
                    out.setdefault(n, (rd, a))
        return out

    def target(self, doc: Document, token: str) -> Target:
        """What ``token`` (a pointer written in ``doc``) reaches, and its reader label;
        computed once per (document, pointer) and shared by every renderer."""
        key = (doc.name, token)
        t = self._targets.get(key)
        if t is None:
            t = self._targets[key] = self._resolve_target(doc, token)
        return t

    def _resolve_target(self, doc: Document, token: str) -> Target:
        r = self.corpus.resolve(doc, token)
        if r.status != "element":
            return Target(r.status, url=r.url, path=r.path, print_url=r.print_url)
        el = r.element
        name = local(el)
        if name in ("person", "place", "org", "event"):
            ent = self.corpus.entities.get(el.get(XML_ID))
            return Target("element", "event" if name == "event" else "entity", element=el,
                          entity=ent, label=ent.name if ent is not None else "")
        if name in ("bibl", "biblStruct") and r.doc is not None and not r.doc.has_text:
            return Target("element", "work", element=el)
        entry = self.glossary.get(el)
        if entry is not None:
            return Target("element", "glossary", element=el, entry=entry, label=entry.term)
        rd = self.locate(el)
        if rd is None:
            if name == "pb" and el in self.aside:
                return self._page_aside(el)
            first = self._first_unit_in(el)
            if first is not None:   # a chapter holding units: where its first one begins
                head = el.find(T + "head")
                return Target("element", "division", first, el,
                              " ".join(plain(head, "edited").split()) if head is not None else first.label)
            return Target("element", "element", element=el)
        if el is r.doc.root or el is rd.element:
            return Target("element", "unit", rd, el, rd.label)
        if name == "pb":        # a page marker, in the text or in a footnote: the marker itself
            return Target("element", "page", rd, el, rd.label + (f", p. {el.get('n')}" if el.get("n") else ""))
        owner = self._note_owner.get(el) or next(
            (self._note_owner[a] for a in el.iterancestors() if a in self._note_owner), None)
        ann = rd.by_element.get(el)
        if owner is not None and owner[0] is rd:
            return Target("element", "note", rd, el, self.note_label(rd, owner[1]), note=owner[1])
        return Target("element", "paragraph" if rd.paragraph_of(el) else "element", rd, el,
                      self.place_label(rd, el), note=ann)

    def _page_aside(self, pb) -> Target:
        """A page break no unit shows (:func:`split_units`): a page of a glossary list
        reaches the first entry of that page (the list's page shows it), any other (a
        blank page, a page of the table of contents) the next page marker a unit shows,
        else the last one before it."""
        holder = self.aside.get(pb)
        entries = [e for el, e in self.glossary.items() if holder is not None
                   and any(a is holder for a in el.iterancestors())]
        if entries:
            order = {el: i for i, el in enumerate(holder.iter())}
            at = order.get(pb, -1)
            entries.sort(key=lambda e: order.get(e.element, 0))
            entry = next((e for e in entries if order.get(e.element, 0) > at), entries[-1])
            return Target("element", "glossary", element=pb, entry=entry, label=entry.label)
        shown = [p for r in self.docs for p in (r.element if r.element is not None else r.doc.root).iter(T + "pb")]
        shown += [p for r in self.docs for el in (*r.leading, *r.trailing) for p in el.iter(T + "pb")]
        if shown:
            root = pb.getroottree().getroot()
            order = {el: i for i, el in enumerate(root.iter(T + "pb"))}
            mine = [p for p in shown if p in order]
            if mine:
                at = order[pb]
                later = [p for p in mine if order[p] > at]
                near = min(later, key=order.get) if later else max(mine, key=order.get)
                rd = self.locate(near)
                if rd is not None:
                    return Target("element", "page", rd, near,
                                  rd.label + (f", p. {near.get('n')}" if near.get("n") else ""))
        return Target("element", "element", element=pb)

    # ---- reader labels, made here once for every output
    def place_label(self, rd: ResolvedDoc, el) -> str:
        """"Doc. 3, ¶ 5" for an element of a unit ("Doc. 3" for the unit itself)."""
        p = rd.paragraph_of(el) if el is not rd.element else None
        para = self.profile.text("paragraph", "¶ {number}")
        return rd.label + (", " + label_of(para, number=p[1]) if p else "")

    def note_label(self, rd: ResolvedDoc, ann) -> str:
        """"Doc. 3, note 12"."""
        note = self.profile.text("note", "note {number}")
        return f"{rd.label}, " + label_of(note, number=ann.label or ann.n)

    # ---- the concordance of events, for every output
    @cached_property
    def concordance(self) -> list[dict]:
        """Every event told in the texts, in the order of the authority list (by date), with
        its passages: ``{"event", "rows": [{"unit", "seg", "para", "label", "subtype",
        "annotation"}]}``; builders add only their links and renderings."""
        out = []
        for ev in self.corpus.entities_of("event"):
            rows = []
            for _doc, seg in self.corpus.event_passages.get(ev.id, []):
                rd = self.locate(seg)
                if rd is None:
                    continue
                rows.append({"unit": rd, "seg": seg, "para": rd.paragraph_of(seg),
                             "label": self.place_label(rd, seg), "subtype": seg.get("subtype") or "",
                             "annotation": rd.by_element.get(seg)})
            if rows:
                out.append({"event": ev, "rows": rows})
        return out

    # ---- one sort key for every index, list and glossary
    @cached_property
    def _collator(self):
        from editio.collation import Collator   # pyuca's, its table read as needed
        return Collator()

    def sort_key(self, text: str) -> tuple:
        """The key that orders index entries: the Unicode Collation Algorithm (accents sort
        with their letter, "Émile" beside "Emile"; other scripts after Latin), after a
        leading article is set aside."""
        memo = self.__dict__.setdefault("_sort_keys", {})
        try:
            return memo[text]
        except KeyError:
            pass
        t = re.sub(r"^(the|a|an)\s+", "", " ".join((text or "").split()), flags=re.I)
        t = re.sub(r"^[^\w]+", "", t)
        key = memo[text] = tuple(self._collator.sort_key(t))
        return key

    def drop_caches(self) -> None:
        """Forget what can be worked out again (the collation table, the documents' source
        lines), e.g. when the pages are written and the search indexer, a big process of its
        own, runs: the build's peak memory is the sum of both."""
        self.__dict__.pop("_collator", None)
        self.corpus.__dict__.pop("_resolved", None)   # Corpus.resolve's memo
        for d in self.corpus.documents:
            d.drop_caches()

    def sort_keys_ahead(self) -> None:
        """The sort keys of every glossary entry and entity worked out now, in the process
        that forks the page writers (:mod:`editio.parallel`): the collation table is read and
        each key computed once, not once per process and page."""
        for e in self.glossary.values():
            self.sort_key(e.term)
        for ent in self.corpus.entities.values():
            self.sort_key(ent.name)
            self.entity_sort_key(ent)

    def entity_sort_key(self, ent) -> tuple:
        return self.sort_key(ent.element.get("sortKey") or ent.index_name)

    # ---- glossaries (persons and terms lists of the profile)
    @cached_property
    def glossary(self) -> dict:
        """entry element -> :class:`GlossEntry`, for every glossary of the profile."""
        out: dict = {}
        ns = self.profile.xpath_namespaces()
        for g in self.profile.glossaries:
            find = etree.XPath(g.entries, namespaces=ns)
            desc = etree.XPath(g.description, namespaces=ns) if g.description else None
            for doc in self.corpus.documents:
                for el in find(doc.root):
                    if not isinstance(el, etree._Element) or not el.get(XML_ID):
                        continue
                    term = " ".join(plain(el, "edited").split())
                    text = ""
                    if desc is not None:
                        holder = desc(el)
                        if holder and isinstance(holder[0], etree._Element):
                            full = " ".join(plain(holder[0], "edited").split())
                            text = full[len(term):] if full.startswith(term) else full
                            text = text.lstrip(" ,:;—–-").strip()
                    entry = GlossEntry(el.get(XML_ID), term, text, g.name, g.kind, g.page, g.label, el, doc)
                    if text and holder and re.match(rf"(?:{g.see})\b", text, re.I):
                        entry.see = self._see_target(doc, el, holder[0])
                    out[el] = entry
        ids = {e.id for e in out.values()}
        for e in out.values():  # only to another entry of a glossary
            if e.see not in ids or e.see == e.id:
                e.see = ""
        return out

    def _see_target(self, doc, entry_el, holder) -> str:
        """The id an entry's cross-reference points to: the first pointer (``@corresp``,
        ``@target``, ``@ref``) in its description, other than the entry itself."""
        for el in holder.iter():
            if el is entry_el or not isinstance(el.tag, str):
                continue
            for attr in ("corresp", "target", "ref"):
                for tok in (el.get(attr) or "").split()[:1]:
                    r = self.corpus.resolve(doc, tok)
                    if r.status == "element" and r.element.get(XML_ID):
                        return r.element.get(XML_ID)
        return ""

    def glossary_target(self, entry):
        """The entry a reader is sent to for ``entry``: the end of its "see" chain."""
        if entry is None or not entry.see:
            return entry
        by_id = self.__dict__.get("_glossary_by_id")
        if by_id is None:
            by_id = self._glossary_by_id = {e.id: e for e in self.glossary.values()}
        seen = {entry.id}
        while entry.see and entry.see in by_id and entry.see not in seen:
            entry = by_id[entry.see]
            seen.add(entry.id)
        return entry

    @cached_property
    def glossary_mentions(self) -> dict:
        """entry id -> [(unit, element)] of every name or term pointing to it."""
        out: dict = {}
        gl = self.glossary
        if not gl:
            return out
        for rd in self.docs:
            root = rd.text_root
            if root is None:
                continue
            # (only the elements with one of the attributes: XPath finds them in C)
            for el in root.xpath("descendant-or-self::*[@corresp or @target or @ref]"):
                for attr in ("corresp", "target", "ref"):
                    tok = (el.get(attr) or "").split()[:1]
                    if not tok:
                        continue
                    r = self.corpus.resolve(rd.doc, tok[0])
                    if r.status == "element" and r.element in gl:
                        out.setdefault(gl[r.element].id, []).append((rd, el))
                        break
        return out

    def glossary_entries(self, name: str) -> list:
        return [e for e in self.glossary.values() if e.glossary == name]

    def annotation_of(self, el):
        r = self.locate(el)
        return r.by_element.get(el) if r else None


# behaviours that mark a place and show no text of their own: a line holding nothing else
# (a page break between two paragraphs, an anchor) is no paragraph a reader could cite
MARKERS = frozenset({"pagebreak", "linebreak", "anchor", "omit"})


def number_paragraphs(root, table: BehaviourTable, skip=None) -> dict:
    """Line elements under ``root`` (a unit's text) -> (anchor, number).

    Before/after, with a page break alone in a paragraph and a unit whose title is
    ``skip`` (the page's heading, not a paragraph)::

        <div><head>5. Report</head><p><pb n="10"/></p><p>Text</p><p/></div>
        -> {p(Text): ("p1", 1)}

    A line with no text and nothing but markers (page and line breaks, anchors, omitted
    elements) is not numbered, and a table is one paragraph, so the numbers in the margin,
    the "Doc. 5, ¶ 1" labels and the anchors count only what a reader sees as a paragraph.
    Nothing inside an element whose behaviour says ``numbered = false`` is numbered (a
    back-of-book index: its entries are no paragraphs a reader cites)."""
    out: dict = {}
    if root is None:
        return out
    n = 0
    omitted: set = set()
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        parent = el.getparent()
        beh = table.behaviour(el)
        if parent in omitted or beh.layout == "omit" or beh.params.get("numbered") is False:
            omitted.add(el)
            continue
        # a table is one paragraph (its caption and rows are not numbered one by one)
        if beh.layout == LINE or beh.name == "table":
            if el is skip or any(a in out or a is skip for a in el.iterancestors()):
                continue
            if not _has_content(el, table):
                continue
            n += 1
            out[el] = (el.get(XML_ID) or f"p{n}", n)
    return out


def _numbered(doc, root, table: BehaviourTable, skip=None) -> dict:
    """:func:`number_paragraphs`, kept with the file: a function of its tree and of the
    table (its signature), worked out once per parsed file and table."""
    memo = doc.__dict__.setdefault("_numbered", {})
    key = (root, skip, table.signature)
    out = memo.get(key)
    if out is None:
        if len(memo) > 64:   # tables come and go (a server whose profile is edited)
            memo.clear()
        out = memo[key] = number_paragraphs(root, table, skip=skip)
    return out


def _has_content(el, table: BehaviourTable) -> bool:
    """Does the line ``el`` show anything besides markers (text, an image, a note call …)?"""
    if (el.text or "").strip():
        return True
    for d in el.iterdescendants():
        if (d.tail or "").strip():
            return True
        if isinstance(d.tag, str) and table.behaviour(d).name not in MARKERS:
            return True
    return False


# what holds a text of its own inside a unit: its dates are not the unit's
_NESTED_TEXTS = frozenset({"note", "div", "floatingText", "attachment", "quote", "q", "postscript",
                           "listBibl", "bibl"})


def _unit_date(unit) -> str:
    """The @when of a unit's own date: its dateline's, else the first date of its text;
    never one of a text it holds (an attachment's dateline, a quoted letter, a footnote)::

        <div type="document"><head/><p>…</p><frus:attachment><dateline><date when="1970-07-01"/>
        -> "" (the attachment's date is not the document's)"""
    def own(d) -> bool:
        for a in d.iterancestors():
            if a is unit:
                return True
            if local(a) in _NESTED_TEXTS:
                return False
        return False
    for d in unit.iter(T + "date"):     # the dateline's: a day, or a range ("March 1–3")
        if own(d) and any(local(a) == "dateline" for a in d.iterancestors()):
            if d.get("when"):
                return d.get("when")
            a, b = d.get("from") or d.get("notBefore"), d.get("to") or d.get("notAfter")
            if a or b:
                return f"{a}/{b}" if a and b else a or b
    dates = [d for d in unit.iter(T + "date") if d.get("when") and own(d)]
    return dates[0].get("when") if dates else ""


def split_units(doc: Document, units: tuple[Unit, ...], ns: dict) -> tuple[list, dict]:
    """The page units of ``doc``: ([(element, Unit, leading page breaks)] in document order,
    {page break: the front matter that holds it, or None}).  Without units in the profile
    (or when none matches) the whole file is one unit.

    A page break outside every unit goes to the unit that follows it (FRUS: ``[p. 1]``
    before a chapter heading opens Doc. 1), unless what follows it is front matter that
    is no page (an element a unit's ``exclude`` leaves out: the table of contents, the
    lists of persons and terms) or nothing at all (a blank page)::

        <front><pb n="XVII"/><div xml:id="terms"><pb n="XVIII"/>…</div><pb n="XXIV"/></front>
        <body><div><pb n="1"/><head>Korea</head><div type="document">…
        -> leading of the document: [pb 1]; aside: {XVII: terms, XVIII: terms, XXIV: None}
    """
    found: list = []
    excluded: list = []
    for u in units:
        if not u.xpath:
            continue
        for el in etree.XPath(u.xpath, namespaces=ns)(doc.root):
            if not isinstance(el, etree._Element):
                continue
            if u.exclude and etree.XPath(f"boolean(self::*[{u.exclude}])", namespaces=ns)(el):
                excluded.append(el)
                continue
            found.append((el, u))
    if not found:
        return [(doc.root, Unit(), [], [])], {}
    # outermost wins; document order
    els = {el for el, _ in found}
    found = [(el, u) for el, u in found if not any(a in els for a in el.iterancestors())]
    order = {el: i for i, el in enumerate(doc.root.iter())}
    found.sort(key=lambda x: order.get(x[0], 0))
    unit_set = {el for el, _ in found}
    aside_set = {el for el in excluded if not any(a in unit_set for a in el.iterancestors())}
    leading: dict = {}
    trailing: dict = {}
    aside: dict = {}
    shown_with = _division_text(found, unit_set, aside_set, order, leading, trailing)
    for pb in doc.root.iter(T + "pb"):
        ancestors = list(pb.iterancestors())
        if any(a in unit_set or a in shown_with for a in ancestors):
            continue
        holder = next((a for a in ancestors if a in aside_set), None)
        if holder is not None:
            aside[pb] = holder
            continue
        owner = _page_owner(pb, unit_set, aside_set, shown_with)
        if owner in unit_set:
            leading.setdefault(owner, []).append(pb)
        else:
            aside[pb] = owner
    for el in leading:
        leading[el].sort(key=lambda x: order.get(x, 0))
    return [(el, u, leading.get(el, []), trailing.get(el, [])) for el, u in found], aside


# what a division holds beside its text that is no text of its own
_NOT_TEXT = frozenset({"head", "pb", "cb", "fw", "milestone", "anchor", "lb"})


def _division_text(found, units: set, aside: set, order: dict, leading: dict,
                   trailing: dict) -> dict:
    """A division's own text (a chapter's introduction, an editorial note as a plain
    paragraph between two documents): the blocks of a ``div`` that holds units which are
    neither a unit nor hold one.  Those before the division's first unit open that unit
    (``leading``), after the division's heading; the others follow the unit before them
    (``trailing``).  A heading with a note on it opens the first unit also where the
    division has no text of its own::

        <div type="chapter"><head>Japan</head><p>The documents …</p><div type="document" xml:id="d1">
        -> leading of d1: [head, p]

    Returns {block: the unit that shows it}."""
    divisions: set = set()
    for el, _ in found:
        for a in el.iterancestors():
            if a in divisions:
                break
            if isinstance(a.tag, str) and a.tag.startswith(T + "div") and a not in units:
                divisions.add(a)
    shown: dict = {}
    for div in sorted(divisions, key=lambda d: order.get(d, 0)):
        first = next((u for u in div.iter() if u in units), None)
        opening = len(leading.get(first, []))
        before = None     # the last unit of this division before the block
        for c in div:
            if not isinstance(c.tag, str):
                continue
            if c in units or c in divisions:
                inner = [u for u in c.iter() if u in units]
                before = inner[-1] if inner else before
                continue
            if local(c) in _NOT_TEXT or c in aside:
                continue
            if before is None:
                leading.setdefault(first, []).append(c)
                shown[c] = first
            else:
                trailing.setdefault(before, []).append(c)
                shown[c] = before
        # the division's heading opens its text, or stands alone where a note is on it (a
        # chapter's footnote); the site shows it there, the book prints it as the chapter's
        head = next((c for c in div if isinstance(c.tag, str) and c.tag == T + "head"), None)
        if head is not None and (len(leading.get(first, [])) > opening
                                 or any(True for _ in head.iter(T + "note"))):
            leading.setdefault(first, []).insert(opening, head)
            shown[head] = first
    return shown


def _page_owner(pb, units: set, aside: set, shown_with: dict | None = None):
    """What shows the page that ``pb`` begins: the first unit or front matter that is no
    page to follow it in document order (or the unit that shows the division's own text
    that follows it); None when another page break (or the end) comes before any text (a
    blank page), or when text no unit shows comes first (a title page: only the headings
    of the divisions that hold the unit are shown with it)."""
    holders = [pb.getparent()] if (pb.tail or "").strip() else []
    shown_with = shown_with or {}
    for el in _following(pb):
        if el in aside:
            return el
        if el in shown_with:     # a division's own text, after its headings
            return shown_with[el] if _in_headings(holders, el) else None
        if el in units:
            return el if _in_headings(holders, el) else None
        if not isinstance(el.tag, str):
            if (el.tail or "").strip():
                holders.append(el.getparent())
            continue
        if el.tag == T + "pb" and not holders:
            return None
        if (el.text or "").strip():
            holders.append(el)
        if (el.tail or "").strip():
            holders.append(el.getparent())
    return None


def _in_headings(holders, el) -> bool:
    """Whether all of ``holders`` are (in) the headings of the divisions that hold ``el``
    (a chapter's heading and the note on it are shown with its first document)."""
    context = set(el.iterancestors())
    return all(h is not None and isinstance(h.tag, str)
               and any(a.tag == T + "head" and a.getparent() in context
                       for a in (h, *h.iterancestors()))
               for h in holders)


def _following(el):
    """The nodes after ``el`` in document order (not its own descendants)."""
    node = el
    while node is not None:
        for sib in node.itersiblings():
            yield from sib.iter()
        node = node.getparent()


def _xstr(el, expr: str, ns: dict) -> str:
    if not expr:
        return ""
    v = etree.XPath(f"string({expr})" if not expr.startswith(("string(", "concat(")) else expr,
                    namespaces=ns)(el)
    return " ".join(str(v).split())


def _title(el, expr: str, ns: dict):
    if not expr:
        return "", None
    found = etree.XPath(expr, namespaces=ns)(el)
    if not found or not isinstance(found[0], etree._Element):
        return "", None
    return " ".join(plain(found[0], "edited").split()), found[0]


def _context(el) -> list[tuple[str, str]]:
    """(xml:id, heading) of the divisions holding ``el``, outermost first (FRUS: the
    compilation and the chapter of a document)."""
    out = []
    for a in el.iterancestors():
        if local(a) in ("div", *(f"div{i}" for i in range(1, 8))):
            h = a.find(T + "head")
            if h is not None:
                out.append((a.get(XML_ID) or "", " ".join(plain(h, "edited").split())))
    return list(reversed(out))


def back_links(corpus: Corpus) -> dict:
    out: dict = {}
    for doc in corpus.texts:
        mine = doc.__dict__.get("_cross_references")   # a function of the tree alone
        if mine is None:
            mine = doc.__dict__["_cross_references"] = _cross_references(doc)
        for el, a in mine:
            for tok, r in corpus.targets(doc, el, a):
                if r.status == "element" and r.element is not el:
                    out.setdefault(r.element, []).append((doc, el))
    return out


def _cross_references(doc) -> list:
    """(element, attribute) of each pointer of the text that may be a cross-reference: a
    ``ref``'s or ``ptr``'s ``@target``, a ``seg``'s ``@corresp`` and ``@sameAs`` (a note's
    ``@target`` is its anchor, not a cross-reference)."""
    text = doc.root.find(T + "text")
    out = []
    if text is None:
        return out
    for el in text.iter():
        if not isinstance(el.tag, str) or local(el) not in ("ref", "ptr", "seg"):
            continue
        for a in ("target",) if local(el) in ("ref", "ptr") else ("corresp", "sameAs"):
            if el.get(a):
                out.append((el, a))
    return out


def label_of(template: str, **values) -> str:
    """``"Doc. {number}"`` filled in; unknown fields stay empty."""
    return re.sub(r"\{(\w+)\}", lambda m: str(values.get(m.group(1), "")), template).strip()


def resolve(corpus: Corpus) -> Edition:
    """Run every transform once and return the resolved edition."""
    profile = corpus.project.profile
    table = corpus.behaviour_table
    ns = profile.xpath_namespaces()
    docs = []
    asides: dict = {}
    i = 0
    for doc in corpus.texts:
        anns = corpus.annotations[doc.name]
        units, aside = split_units(doc, profile.units, ns)
        asides.update(aside)
        owner: dict = {}
        aside_text: set = set()      # the annotations in a division's own text
        if len(units) > 1:
            # a unit's own element, and the division text shown with it
            holder = {x: el for el, _, lead, trail in units for x in (el, *lead, *trail)}
            for a in anns:
                x = next((x for x in (a.element, *a.element.iterancestors()) if x in holder), None)
                owner[a] = holder.get(x) if x is not None else None
                if x is not None and x is not holder[x]:
                    aside_text.add(a.element)
        by_owner: dict = {}          # unit element -> its annotations, in their order
        for a in anns:
            by_owner.setdefault(owner.get(a), []).append(a)
        for el, u, leading, trailing in units:
            i += 1
            if el is doc.root:
                mine = anns
                if len(units) > 1:
                    mine = []
            else:
                mine = list(by_owner.get(el, ()))
            quiet = [a for a in mine if silent_kind(a, profile.silent)]
            if quiet:      # declared once in the Note on the text; the others are numbered on
                mine = [a for a in mine if a not in quiet]
            mine = _renumber(mine, profile.note_number) if el is not doc.root or quiet \
                else _labelled(mine, profile.note_number)
            _restarted(mine, aside_text)
            _apart(mine, aside_text)
            uid = _xstr(el, u.id, ns) if el is not doc.root else ""
            uid = re.sub(r"[^A-Za-z0-9_.-]+", "-", uid).strip("-.")
            n = _xstr(el, u.number, ns) if el is not doc.root else ""
            heading, title_el = _title(el, u.title, ns) if el is not doc.root else ("", None)
            kindcount = sum(1 for r in docs if r.kind == u.kind) + 1
            number = n or str(kindcount)
            if el is not doc.root and not uid:
                # no id to name its page (a document without xml:id): its kind and number,
                # never the file's page (two such documents overwrote each other there);
                # `editio check` says so (unit.id-missing)
                uid = re.sub(r"[^A-Za-z0-9_.-]+", "-", f"{u.kind}-{number}").strip("-.")
            label = label_of(u.label if u.xpath else profile.text("document", "Doc. {number}"),
                             number=number if u.xpath else i, n=number, title=heading, id=uid)
            rd = ResolvedDoc(doc, i, mine, {a.element: a for a in mine},
                             _numbered(doc, el if el is not doc.root else doc.root.find(T + "text"),
                                       table, title_el),
                             element=el, unit_id=uid if el is not doc.root else "", n=number,
                             numbered=bool(n) or el is doc.root or not u.number,
                             label=label or heading or uid, kind=u.kind, heading=heading,
                             leading=leading, trailing=trailing, title_element=title_el,
                             context=_context(el) if el is not doc.root else [], silent=quiet)
            docs.append(rd)
    # unit ids must be unique (they name pages)
    seen: set = set()
    for rd in docs:
        if rd.unit_id and rd.unit_id in seen:
            rd.unit_id = f"{rd.unit_id}-{rd.number}"
        seen.add(rd.id)
    if "title" not in corpus.project.extra and len(corpus.texts) == 1:
        corpus.project = _titled(corpus)
    corpus.project = _typographic(corpus.project)
    quotes: dict = {}
    for doc in corpus.texts:                 # the edited reading's quotes, for every output
        quotes.update(doc.quotes)
    return Edition(corpus, docs, back_links(corpus) if profile.backlinks else {}, table, quotes, asides)


def _typographic(project):
    """The edition's own words (title, description …) with typographic quotes."""
    import dataclasses
    return dataclasses.replace(
        project, **{k: curl(getattr(project, k)) for k in
                    ("title", "subtitle", "publisher", "licence", "description", "introduction")},
        editors=tuple(curl(e) for e in project.editors),
        profile=dataclasses.replace(project.profile, principles=curl(project.profile.principles)))


def _titled(corpus: Corpus):
    """An edition of one TEI file without a title in editio.toml takes the TEI's (a FRUS volume's
    ``titleStmt/title[@type='complete']``, else the first title)."""
    import dataclasses
    for doc in corpus.texts:
        stmt = doc.root.find(f"{T}teiHeader/{T}fileDesc/{T}titleStmt")
        if stmt is None:
            continue
        titles = [t for t in stmt.iterfind(T + "title") if plain(t).strip()]
        best = next((t for t in titles if t.get("type") == "complete"), titles[0] if titles else None)
        if best is not None:
            return dataclasses.replace(corpus.project, title=" ".join(plain(best).split()))
    return corpus.project


# Regularisations that change no sense, made without a call or a note in the reading text
# (declared once in the Note on the text; still in the annotations listing and in
# ``editio annotations``).  Profile: ``[notes] silent = ["spacing"]``.
_NO_SPACE = re.compile(r"\s+")


def silent_kind(a, kinds) -> str:
    """The kind of silent regularisation ``a`` is ("spacing": a correction or
    normalisation whose readings differ only in white space), or ""."""
    if "spacing" in kinds and a.kind in ("correction", "normalisation") \
            and a.diplomatic != a.edited \
            and _NO_SPACE.sub("", a.diplomatic) == _NO_SPACE.sub("", a.edited):
        return "spacing"
    return ""


def _renumber(anns: list, note_number: str) -> list:
    """The annotations of one unit, numbered 1, 2 … in their order (copies: the corpus
    keeps the file's numbering)."""
    import copy
    out = []
    for k, a in enumerate(anns, 1):
        b = copy.copy(a)
        b.n = k
        out.append(b)
    return _labelled(out, note_number)


# Marks of a second series of notes on one page (Chicago Manual 14.25: notes to a title, or
# a second series, by symbol; after four, by letter).
NOTE_SYMBOLS = ("*", "\u2020", "\u2021", "\u00a7")


def _restarted(anns: list, division: set) -> None:
    """A unit whose own note numbers start again at 1 (notes numbered per printed page, as
    the older FRUS volumes do, or per section: a FRUS appendix whose twelve photographs each
    have a caption note "1") is numbered 1, 2 … in its order: on a page that collects its
    notes (the site's list, the book's pages, which are not the printed volume's), a call
    "1" must lead to one note.  The notes of a division's own text (:func:`_apart`) are
    not counted: they are a series of their own."""
    own = [a for a in anns if a.element not in division]
    if sum(1 for a in own if a.label == "1") < 2:
        return
    for k, a in enumerate(own, 1):
        a.label = str(k)


def _apart(anns: list, division: set) -> None:
    """The notes of a division's own text shown with a unit (a FRUS chapter's note on its
    heading, an introduction's notes) are a series of their own, not numbered as the unit's:
    the TEI numbers both from 1 (the chapter's note 1 and the document's source note 1 fell
    on one page).  They are marked *, \u2020, \u2021, \u00a7 (a, b, c … when there are more), on
    every page alike, so that every call leads to one note."""
    apart = [a for a in anns if a.element in division]
    for k, a in enumerate(apart):
        a.label = NOTE_SYMBOLS[k] if len(apart) <= len(NOTE_SYMBOLS) else letter_mark(k)


def letter_mark(k: int) -> str:
    """a, b … z, aa, ab …"""
    out = ""
    k += 1
    while k:
        k, r = divmod(k - 1, 26)
        out = chr(97 + r) + out
    return out


def _labelled(anns: list, note_number: str) -> list:
    """Printed note numbers: the TEI's own (``@n``) when the profile says so.  The
    annotations with no number of their own there (an editor's note on a gap, a note
    without ``@n``) are numbered on after the highest of the TEI's: a call "1" must lead
    to one note (a gap's note was "1" beside the source note "1")."""
    own_n = {}
    if note_number.startswith("@"):
        for a in anns:
            own = a.element.get(note_number.lstrip("@")) if a.kind == "note" else None
            if own and own.strip():
                own_n[id(a)] = own.strip()
    if not own_n:
        for a in anns:
            a.label = str(a.n)
        return anns
    taken = set(own_n.values())
    nxt = max((int(v) for v in taken if v.isdigit()), default=0)
    for a in anns:
        if id(a) in own_n:
            a.label = own_n[id(a)]
            continue
        nxt += 1
        while str(nxt) in taken:
            nxt += 1
        a.label = str(nxt)
    return anns
