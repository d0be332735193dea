"""The TEI-element -> behaviour table, shared by every output.

Modelled on TEI Publisher's processing model and CETEIcean's behaviours: a
declarative table maps each TEI element (optionally with a predicate on the
element) to a behaviour with parameters; unknown elements fall back to ``_``
(a generic block if they contain blocks, else a generic inline) and are
reported with their line.

``layout`` says how the element sits in the text flow, and is all that the
plain-text views need:

* ``container`` holds lines (div, list, body ...); its children are lines;
* ``line``      is one line of the witness (p, head, item ...);
* ``inline``    is part of a line;
* ``space``     is a blank line of the witness (``<space dim="vertical">``);
* ``omit``      is not part of the text (teiHeader, note, figDesc ...).

Outputs (HTML, print) map behaviour *names* to renderers; a print override
replaces only the renderers that differ (see ``editio.render``).

``TABLE`` holds the package defaults and is never changed.  Each run builds a
:class:`BehaviourTable` from the defaults and the edition profile's
``[[behaviours]]`` rows (element, XPath predicate, behaviour, layout, tag,
params, and the outputs a row applies to, as TEI Publisher's
``<model output="…">``); the overlay's rows are tried first, the last one
declared first.  Foreign elements match rows named with the profile's prefix
(``frus:attachment``), whichever of the prefix's namespace URIs they use.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from editio import TEI_NS

CONTAINER, LINE, INLINE, SPACE, OMIT = "container", "line", "inline", "space", "omit"


@dataclass(frozen=True)
class Behaviour:
    name: str                 # block, paragraph, heading, list, item, inline, note, ...
    layout: str               # container | line | inline | space | omit
    tag: str = ""             # suggested HTML tag
    params: dict = field(default_factory=dict)
    fallback: bool = False    # True for the "_" rows (unknown elements)


Pred = Callable[[object], bool]


def B(name, layout, tag="", **params) -> Behaviour:
    return Behaviour(name, layout, tag, params)


def _attr(name, *values) -> Pred:
    return lambda el: el.get(name) in values


def _has_blocks(el) -> bool:
    return any(isinstance(c.tag, str) and behaviour(c).layout in (CONTAINER, LINE, SPACE)
               for c in el)


# element -> [(predicate or None, behaviour)], first match wins
TABLE: dict[str, list[tuple[Pred | None, Behaviour]]] = {
    # structure
    "TEI": [(None, B("document", CONTAINER, "article"))],
    "teiCorpus": [(None, B("document", CONTAINER, "div"))],
    "teiHeader": [(None, B("metadata", OMIT))],
    "standOff": [(None, B("metadata", OMIT))],
    "facsimile": [(None, B("metadata", OMIT))],
    "sourceDoc": [(None, B("metadata", OMIT))],
    "text": [(None, B("block", CONTAINER, "div"))],
    "group": [(None, B("block", CONTAINER, "div"))],
    "front": [(None, B("block", CONTAINER, "div"))],
    "body": [(None, B("block", CONTAINER, "div"))],
    "back": [(None, B("block", CONTAINER, "div"))],
    "div": [(_attr("type", "editorial-notes"), B("notes", OMIT)),
            (None, B("section", CONTAINER, "section"))],
    **{f"div{i}": [(None, B("section", CONTAINER, "section"))] for i in range(1, 8)},
    "titlePage": [(None, B("block", CONTAINER, "div"))],
    "docTitle": [(None, B("block", CONTAINER, "div"))],
    "titlePart": [(None, B("heading", LINE, "p"))],
    "docImprint": [(None, B("paragraph", LINE, "p"))],
    "docAuthor": [(None, B("inline", INLINE, "span"))],
    "docDate": [(lambda el: _parent_name(el) in ("front", "titlePage", "div", "body", "back"),
                 B("paragraph", LINE, "p")), (None, B("date", INLINE, "time"))],
    "affiliation": [(None, B("inline", INLINE, "span"))],
    "roleName": [(None, B("inline", INLINE, "span"))],
    "forename": [(None, B("inline", INLINE, "span"))],
    "surname": [(None, B("inline", INLINE, "span"))],
    "addName": [(None, B("inline", INLINE, "span"))],
    "country": [(None, B("entity", INLINE, "span", kind="place"))],
    "settlement": [(None, B("entity", INLINE, "span", kind="place"))],
    "region": [(None, B("entity", INLINE, "span", kind="place"))],
    "address": [(None, B("inline", INLINE, "span"))],
    "addrLine": [(None, B("inline", INLINE, "span"))],
    "email": [(None, B("inline", INLINE, "span"))],
    "head": [(None, B("heading", LINE, "h2"))],
    "p": [(None, B("paragraph", LINE, "p"))],
    "ab": [(None, B("paragraph", LINE, "p"))],
    "byline": [(None, B("byline", LINE, "p"))],
    "dateline": [(None, B("paragraph", LINE, "p"))],
    "opener": [(_has_blocks, B("block", CONTAINER, "div")), (None, B("paragraph", LINE, "p"))],
    "closer": [(_has_blocks, B("block", CONTAINER, "div")), (None, B("paragraph", LINE, "p"))],
    "salute": [(None, B("paragraph", LINE, "p"))],
    "signed": [(None, B("paragraph", LINE, "p"))],
    "postscript": [(None, B("block", CONTAINER, "div"))],
    "trailer": [(None, B("paragraph", LINE, "p"))],
    "epigraph": [(None, B("block", CONTAINER, "blockquote"))],
    "argument": [(None, B("block", CONTAINER, "div"))],
    "list": [(_has_blocks, B("list", CONTAINER, "ul")), (None, B("inline", INLINE, "span"))],
    "listBibl": [(None, B("list", CONTAINER, "ul"))],
    "item": [(None, B("item", LINE, "li"))],
    "label": [(None, B("inline", INLINE, "span"))],
    "table": [(None, B("table", CONTAINER, "table"))],
    "row": [(None, B("row", LINE, "tr"))],
    "cell": [(None, B("cell", INLINE, "td"))],
    "lg": [(None, B("block", CONTAINER, "div"))],
    "l": [(None, B("paragraph", LINE, "p"))],
    "sp": [(None, B("block", CONTAINER, "div"))],
    "speaker": [(None, B("paragraph", LINE, "p"))],
    "stage": [(None, B("inline", INLINE, "span"))],
    "floatingText": [(None, B("quotation", CONTAINER, "blockquote"))],
    "quote": [(_has_blocks, B("quotation", CONTAINER, "blockquote")),
              (None, B("inline-quote", INLINE, "q"))],
    "q": [(_has_blocks, B("quotation", CONTAINER, "blockquote")),
          (None, B("inline-quote", INLINE, "q"))],
    "said": [(None, B("inline", INLINE, "span"))],
    "cit": [(_has_blocks, B("quotation", CONTAINER, "blockquote")), (None, B("inline", INLINE, "span"))],
    "bibl": [(lambda el: _parent_name(el) == "listBibl", B("item", LINE, "li")),
             (None, B("inline", INLINE, "cite"))],
    "biblStruct": [(None, B("item", LINE, "li"))],
    "citedRange": [(None, B("inline", INLINE, "span"))],
    "biblScope": [(None, B("inline", INLINE, "span"))],
    "figure": [(None, B("figure", CONTAINER, "figure"))],
    "figDesc": [(None, B("omit", OMIT))],
    "graphic": [(None, B("graphic", INLINE, "img"))],
    "pb": [(None, B("pagebreak", INLINE, "span"))],
    "lb": [(None, B("linebreak", INLINE, "br"))],
    "cb": [(None, B("omit", OMIT))],
    "milestone": [(None, B("omit", OMIT))],
    "anchor": [(None, B("anchor", INLINE, "span"))],
    "space": [(_attr("dim", "vertical"), B("blank-line", SPACE)),
              (None, B("inline", INLINE, "span"))],
    "fw": [(None, B("omit", OMIT))],
    # editorial annotation
    "note": [(None, B("note", OMIT))],
    "noteGrp": [(None, B("note", OMIT))],
    "choice": [(None, B("alternate", INLINE, "span"))],
    "sic": [(None, B("original", INLINE, "span"))],
    "orig": [(None, B("original", INLINE, "span"))],
    "abbr": [(None, B("original", INLINE, "abbr"))],
    "corr": [(None, B("edited", INLINE, "span"))],
    "reg": [(None, B("edited", INLINE, "span"))],
    "expan": [(None, B("edited", INLINE, "span"))],
    "supplied": [(None, B("supplied", INLINE, "span"))],
    "gap": [(None, B("gap", INLINE, "span"))],
    "unclear": [(None, B("inline", INLINE, "span"))],
    "del": [(None, B("deletion", INLINE, "del"))],
    "add": [(None, B("inline", INLINE, "ins"))],
    "subst": [(None, B("inline", INLINE, "span"))],
    "damage": [(None, B("inline", INLINE, "span"))],
    "surplus": [(None, B("inline", INLINE, "span"))],
    "seg": [(None, B("segment", INLINE, "span"))],
    "ref": [(None, B("link", INLINE, "a"))],
    "ptr": [(None, B("pointer", INLINE, "a"))],
    # names and dates
    "persName": [(None, B("entity", INLINE, "span", kind="person"))],
    "placeName": [(None, B("entity", INLINE, "span", kind="place"))],
    "orgName": [(None, B("entity", INLINE, "span", kind="org"))],
    "geogName": [(None, B("entity", INLINE, "span", kind="place"))],
    "name": [(None, B("entity", INLINE, "span", kind="name"))],
    "rs": [(None, B("entity", INLINE, "span", kind="name"))],
    "date": [(None, B("date", INLINE, "time"))],
    "time": [(None, B("date", INLINE, "time"))],
    "num": [(None, B("inline", INLINE, "span"))],
    "measure": [(None, B("inline", INLINE, "span"))],
    "title": [(None, B("inline", INLINE, "cite"))],
    "author": [(None, B("inline", INLINE, "span"))],
    "editor": [(None, B("inline", INLINE, "span"))],
    "pubPlace": [(None, B("inline", INLINE, "span"))],
    "publisher": [(None, B("inline", INLINE, "span"))],
    "idno": [(None, B("inline", INLINE, "span"))],
    "foreign": [(None, B("inline", INLINE, "span"))],
    "term": [(None, B("inline", INLINE, "span"))],
    "gloss": [(None, B("inline", INLINE, "span"))],
    "mentioned": [(None, B("inline", INLINE, "em"))],
    "soCalled": [(None, B("inline", INLINE, "q"))],
    "emph": [(None, B("highlight", INLINE, "em"))],
    # technical terms of the headers and notes (code, element and attribute names)
    "code": [(None, B("code", INLINE, "code"))],
    "gi": [(None, B("code", INLINE, "code", before="<", after=">"))],
    "tag": [(None, B("code", INLINE, "code", before="<", after=">"))],
    "att": [(None, B("code", INLINE, "code", before="@"))],
    "val": [(None, B("code", INLINE, "code", before='"', after='"'))],
    "hi": [(None, B("highlight", INLINE, "span"))],
    # fallbacks
    "_": [(_has_blocks, Behaviour("block", CONTAINER, "div", {}, True)),
          (None, Behaviour("inline", INLINE, "span", {}, True))],
}


def _parent_name(el) -> str:
    p = el.getparent()
    return local(p) if p is not None else ""


def local(el) -> str:
    tag = el.tag
    if tag.__class__ is not str:  # a comment or processing instruction
        return ""
    return tag.rpartition("}")[2]


_TEI_PREFIX = "{" + TEI_NS + "}"


def is_tei(el) -> bool:
    tag = el.tag
    return tag.__class__ is str and tag.startswith(_TEI_PREFIX)


class BehaviourTable:
    """The defaults plus an edition's overlay rows, for one run (see the module docstring)."""

    def __init__(self, overlay=(), profile=None):
        self.profile = profile
        import json
        self.signature = json.dumps(
            [list(overlay), getattr(profile, "namespaces", None) if overlay or profile else None],
            sort_keys=True, default=str)
        """What this table is made of (its rows, the namespaces naming their elements): two
        tables with one signature say the same of every element."""
        # what depends on an element's tag alone, worked out once per tag: its row key,
        # and its behaviour per output where no predicate decides it
        self._keys: dict[str, str | None] = {}
        self._static: dict[tuple[str, str | None], Behaviour] = {}
        # an overlay row's predicate (an XPath) on one element: asked of it by every renderer
        # and more than once while it renders (FRUS: every note, list, page break, division);
        # kept with this table, an edition's (the package's own rows test an attribute or
        # two: never kept, so :data:`DEFAULT` keeps no element of any edition)
        self._tested: dict[tuple, bool] = {}
        self._xpaths: set = set()
        self.rows: dict[str, list] = {k: [(p, b, None) for p, b in v] for k, v in TABLE.items()}
        if overlay:
            from lxml import etree
            ns = profile.xpath_namespaces() if profile is not None else {"tei": TEI_NS}
            by_name = {b.name: b for rows in TABLE.values() for _, b in rows}
            for row in overlay:
                key = row["element"]
                name = row["behaviour"]
                pred = None
                if row.get("predicate"):
                    xp = etree.XPath(f"boolean(self::*[{row['predicate']}])", namespaces=ns)
                    pred = (lambda x: lambda el: bool(x(el)))(xp)
                    self._xpaths.add(pred)
                base = by_name.get(name)
                defaults = self.rows.get(key, self.rows["_"])
                layout = row.get("layout") or (base.layout if base else defaults[-1][1].layout)
                tag = row.get("tag") or (base.tag if base else "")
                params = {**(base.params if base else {}), **(row.get("params") or {})}
                outputs = tuple(row["output"]) if row.get("output") else None
                self.rows[key] = [(pred, Behaviour(name, layout, tag, params), outputs),
                                  *self.rows.get(key, [])]

    def key(self, el) -> str | None:
        tag = el.tag
        try:
            return self._keys[tag]
        except KeyError:
            pass
        except TypeError:  # a comment or processing instruction: no row names it
            return None
        k = None
        if tag.startswith(_TEI_PREFIX):
            k = tag[len(_TEI_PREFIX):]
        elif self.profile is not None and tag.startswith("{"):
            prefix = self.profile.prefix_of(tag[1:].split("}", 1)[0])
            if prefix:
                k = f"{prefix}:{tag.rpartition('}')[2]}"
        self._keys[tag] = k
        return k

    def knows(self, el) -> bool:
        """True if a row (not the ``_`` fallback) is meant for ``el``."""
        k = self.key(el)
        return k is not None and k in self.rows and k != "_"

    def behaviour(self, el, output: str | None = None) -> Behaviour:
        """The behaviour of one element for ``output`` (html, pdf …; None: rows for every
        output only): the first matching row, else the ``_`` fallback.

        Elements no row names (and processing instructions/comments) take the fallback
        (comments and PIs are omitted); foreign active content is never rendered."""
        tag = el.tag
        if tag.__class__ is not str:
            return _OMIT
        try:
            return self._static[tag, output]
        except KeyError:
            pass
        k = self.key(el)
        if k is None and local(el).lower() in ACTIVE_CONTENT:
            self._static[tag, output] = _ACTIVE
            return _ACTIVE
        rows = self.rows.get(k) if k is not None else None
        static = True  # no predicate tried yet: the answer holds for every element of this tag
        for pred, beh, outputs in rows or self.rows["_"]:
            if outputs is not None and output not in outputs:
                continue
            if pred is None:
                if static:
                    self._static[tag, output] = beh
                return beh
            static = False
            if pred is _has_blocks:
                hit = self._has_blocks(el)
            elif pred in self._xpaths:
                try:
                    hit = self._tested[pred, el]
                except KeyError:
                    hit = self._tested[pred, el] = pred(el)
            else:
                hit = pred(el)
            if hit:
                return beh
        beh = TABLE["_"][-1][1]
        if static:
            self._static[tag, output] = beh
        return beh

    def _has_blocks(self, el) -> bool:
        return any(isinstance(c.tag, str) and self.behaviour(c).layout in (CONTAINER, LINE, SPACE)
                   for c in el)


def behaviour(el) -> Behaviour:
    """The package default behaviour of one element (no edition overlay): what the
    plain-text views use."""
    return DEFAULT.behaviour(el)


_OMIT = B("omit", OMIT)
# foreign (e.g. XHTML) elements that are active content: never rendered, always reported
ACTIVE_CONTENT = {"script", "style", "object", "embed", "iframe", "param", "applet", "form",
                  "input", "button", "link", "meta", "base", "frame", "frameset", "svg", "math"}
_ACTIVE = Behaviour("omit", OMIT, "", {"active": True}, True)

DEFAULT = BehaviourTable()
"""The package defaults alone (never changed; editions get their own table)."""
