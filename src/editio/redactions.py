"""Redactions as data: what was withheld from the reader, where, how much, and whether the
editors restored it, for any edition.

editio knows nothing about any edition's conventions here: the rules come from the edition's
profile (or ``editio.toml``), table ``[redactions]``::

    [redactions]
    # what counts as one document in the figures (XPath 1.0 from a TEI file's root, prefix
    # tei:); default: the profile's page unit, else each TEI file
    unit = "//tei:div[@type='document']"

    # elements that mark a redaction: an XPath (prefix tei:) each ...
    elements = ["tei:gap[@reason='redacted']"]
    # ... or a table with how to read it (every key but xpath optional, all XPath 1.0
    # relative to the element):
    [[redactions.elements]]
    xpath    = "tei:choice[tei:orig][tei:supplied]"
    restored = "tei:supplied[not(.//tei:gap)]"   # true when the editors restored the text
                                                 #   (default: a supplied without a gap inside)
    cert     = "tei:supplied/@cert"              # certainty of the restoration
                                                 #   (default: @cert here or on a supplied inside)
    extent   = "@extent"                         # a stated extent ("3 lines"); default:
                                                 #   @extent, or @quantity + @unit (here or on a
                                                 #   gap inside), as TEI's att.dimensions says
    shown    = "tei:orig"                        # what the source shows in its place ("**")

    # text statements of a redaction, e.g. "[1 paragraph (3 lines) not declassified]"
    [[redactions.patterns]]
    regex    = '\\[(?P<extent>[^\\[\\]]{1,160}?)\\s+not declassified\\.?\\]'
                            # Python regex on the text of a paragraph, heading, item or note
                            #   (markup inside it, e.g. italics, is read through); the named
                            #   group "extent" is the stated extent, parsed as below
    document = false        # true: the statement accounts for a document's source text
                            #   ("2 pages of source text not declassified"): the document is
                            #   withheld, in whole (nothing else of its text is printed) or in part
    context  = '^\\s*\\[Source:'   # only in a paragraph or note whose text matches this regex

    [redactions.units]      # more words for units (the English ones are known), e.g.
    Zeile = "line"          #   Zeilen = "line"

Patterns are tried in order; text a pattern (or a redaction element) has claimed is not
matched again.

An extent statement is read as ``[qualifier] quantity unit [of (source) text] [(inner)]``:
"less than 1 line", "1-1/2 lines", "2½ lines", "1 paragraph (6 lines of source text)",
"3 pages", "name", "text".  Its unit is one of word, name, line, paragraph, page, document,
text (anything else: "text", with the words kept as ``what``), its quantity a fraction
(``None`` when it states none), its qualifier "less than", "about" or "more than", its inner
extent the lines of a paragraph.  Figures add up per document and per volume: how many
redactions, how much of each unit (lines in paragraphs counted apart), restored or not, by
certainty, and the documents withheld.

Output (reader language, never an id or an element name): :class:`Redaction` records for
``editio annotations --kind redaction``, :func:`summary` for ``editio stats``, the site's
redactions page and the book's appendix.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from fractions import Fraction
from functools import cached_property

from lxml import etree

from editio import TEI_NS, XML_ID
from editio.behaviours import LINE, OMIT, behaviour, local
from editio.diagnostics import EditioError

T = "{%s}" % TEI_NS
NS = {"tei": TEI_NS}
UNITS = ("page", "paragraph", "line", "word", "name", "document", "text")
UNIT_WORDS = {
    "word": "word", "words": "word", "name": "name", "names": "name",
    "line": "line", "lines": "line", "paragraph": "paragraph", "paragraphs": "paragraph",
    "para": "paragraph", "paras": "paragraph", "page": "page", "pages": "page",
    "document": "document", "documents": "document", "text": "text", "sentence": "text",
    "sentences": "text", "passage": "text", "passages": "text", "character": "text",
    "characters": "text", "chars": "text", "char": "text", "mask": "text", "masks": "text",
}
NUMBER_WORDS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
                "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
                "half a": Fraction(1, 2), "half": Fraction(1, 2)}
FRACTIONS = {"½": Fraction(1, 2), "¼": Fraction(1, 4), "¾": Fraction(3, 4), "⅓": Fraction(1, 3),
             "⅔": Fraction(2, 3), "⅛": Fraction(1, 8)}
QUALIFIERS = {"less than": "less than", "under": "less than", "fewer than": "less than",
              "about": "about", "approximately": "about", "approx.": "about", "some": "about",
              "roughly": "about", "nearly": "about", "more than": "more than", "over": "more than"}
_NUM = r"(?:\d+(?:\s*[-–—]?\s*(?:\d+/\d+|[½¼¾⅓⅔⅛]))?|\d+/\d+|[½¼¾⅓⅔⅛]|[Il](?=\s)|" \
       + "|".join(sorted((re.escape(w) for w in NUMBER_WORDS), key=len, reverse=True)) + ")"
_QUAL = "|".join(sorted((re.escape(q) for q in QUALIFIERS), key=len, reverse=True))
TEXT_AFTER = r"(?:\s+(?:of\s+)?(?:the\s+)?(?:source\s+|original\s+)?text(?:\s*,[^,()]{1,60},)?)?"


# ------------------------------------------------------------------ extents
@dataclass(frozen=True)
class Extent:
    """A stated extent: ``quantity`` ``unit`` (``qualifier``), with the ``inner`` extent of a
    paragraph ("1 paragraph (6 lines)")."""
    unit: str
    quantity: Fraction | None = None
    qualifier: str = ""
    inner: "Extent | None" = None
    what: str = ""          # the words of a statement that gives no unit ("document number")

    def describe(self) -> str:
        """Reader words: "1 paragraph (6 lines)", "less than 1 line", "a name", "text"."""
        if self.quantity is None:
            return self.what or {"text": "text", "name": "a name", "word": "a word",
                                 "document": "a document"}.get(self.unit, self.unit)
        s = quantity_words(self.quantity, self.unit)
        if self.qualifier:
            s = f"{self.qualifier} {s}"
        if self.inner is not None:
            s += f" ({self.inner.describe()})"
        return s

    def record(self) -> dict:
        return {"unit": self.unit, "quantity": _num(self.quantity), "qualifier": self.qualifier,
                "inner": self.inner.record() if self.inner else None, "what": self.what,
                "text": self.describe()}


def _num(q):
    if q is None:
        return None
    return int(q) if q.denominator == 1 else float(q)


def fraction_words(q: Fraction) -> str:
    """3/2 -> "1½"; 7 -> "7"."""
    whole, rest = divmod(q, 1)
    glyph = {Fraction(1, 2): "½", Fraction(1, 4): "¼", Fraction(3, 4): "¾", Fraction(1, 3): "⅓",
             Fraction(2, 3): "⅔", Fraction(1, 8): "⅛"}.get(rest)
    if rest == 0:
        return str(int(whole))
    if glyph:
        return f"{int(whole) or ''}{glyph}"
    return f"{float(q):g}"


def quantity_words(q: Fraction, unit: str) -> str:
    plural = unit if q == 1 or unit == "text" else unit + "s"
    return f"{fraction_words(q)} {plural}"


def parse_quantity(s: str) -> Fraction | None:
    s = s.strip().lower()
    if s in NUMBER_WORDS:
        return Fraction(NUMBER_WORDS[s])
    if s in ("i", "l"):  # OCR: "less than I line"
        return Fraction(1)
    m = re.fullmatch(r"(\d+)?\s*[-–—]?\s*(?:(\d+)/(\d+)|([½¼¾⅓⅔⅛]))?", s)
    if not m or not s:
        return None
    whole = Fraction(int(m.group(1))) if m.group(1) else Fraction(0)
    if m.group(2):
        if not m.group(1) and "-" not in s and "–" not in s:
            return Fraction(int(m.group(2)), int(m.group(3)))
        whole += Fraction(int(m.group(2)), int(m.group(3)) or 1)
    elif m.group(4):
        whole += FRACTIONS[m.group(4)]
    return whole


def parse_extent(statement: str, units: dict | None = None) -> Extent:
    """The extent a statement gives, e.g. "1 paragraph (2-1/2 lines of source text)" ->
    Extent("paragraph", 1, inner=Extent("line", 5/2)); words that state no unit -> a
    ``text`` extent keeping them as ``what``."""
    words = {**UNIT_WORDS, **{k.lower(): v for k, v in (units or {}).items()}}
    s = " ".join((statement or "").replace("\u00a0", " ").split()).strip(" .,;:[]")
    s = re.sub(r"^(?:excerpt|extract)\s*[-–—:]\s*", "", s, flags=re.I)
    if not s:
        return Extent("text")
    unit_re = "|".join(sorted((re.escape(w) for w in words), key=len, reverse=True))
    m = re.fullmatch(rf"(?i)(?:(?P<qual>{_QUAL})\s+)?(?:(?P<num>{_NUM})\s+)?(?P<unit>{unit_re})"
                     rf"{TEXT_AFTER}(?:\s*\((?P<inner>[^()]+)\))?(?:\s*,.*)?", s)
    if not m:
        return Extent("text", what=s[:1].lower() + s[1:] if s[1:2].islower() else s)
    unit = words[m.group("unit").lower()]
    q = parse_quantity(m.group("num")) if m.group("num") else None
    if q is None and m.group("unit").lower() in ("name", "word", "document", "page", "line",
                                                 "paragraph") and unit != "text":
        q = Fraction(1) if m.group("num") is None and unit in ("name", "word", "document") else q
    inner = parse_extent(m.group("inner"), units) if m.group("inner") else None
    if inner is not None and inner.quantity is None:
        inner = None
    qual = QUALIFIERS.get((m.group("qual") or "").lower(), "")
    return Extent(unit, q, qual, inner)


# ------------------------------------------------------------------ rules
@dataclass(frozen=True)
class ElementRule:
    xpath: str
    restored: str = ""
    cert: str = ""
    extent: str = ""
    shown: str = ""

    @cached_property
    def compiled(self):
        def c(expr):
            return etree.XPath(expr, namespaces=NS) if expr else None
        return (etree.XPath(f"descendant::{self.xpath}" if not self.xpath.startswith(("/", "."))
                            else self.xpath, namespaces=NS),
                c(self.restored), c(self.cert), c(self.extent), c(self.shown))


@dataclass(frozen=True)
class PatternRule:
    regex: str
    document: bool = False
    context: str = ""

    @cached_property
    def compiled(self):
        return re.compile(self.regex), re.compile(self.context) if self.context else None

    @cached_property
    def local(self) -> bool:
        """Whether the regex, found in a text, is found in every text holding that text: it
        reads nothing around what it matches but what a lookahead or lookbehind asks for
        (no ``^``, ``$``, ``\\b`` or other anchor, no negative lookaround, no atomic group
        or possessive repeat).  Only then does a unit whose whole text it is not found in
        have no paragraph it is found in (``^\\[Exempt\\]`` is found in a paragraph, not in
        the unit's text joined)."""
        return _local_regex(self.regex)


def _local_regex(regex: str) -> bool:
    try:
        from re import _constants as C, _parser as P
    except ImportError:   # (another Python's re): every paragraph is read
        return False
    try:
        tree = P.parse(regex)
    except re.error:
        return False
    refuse = {C.AT, C.ASSERT_NOT, getattr(C, "ATOMIC_GROUP", None),
              getattr(C, "POSSESSIVE_REPEAT", None)} - {None}

    def ok(seq) -> bool:
        for op, av in seq:
            if op in refuse:
                return False
            for x in (av if isinstance(av, (tuple, list)) else (av,)):
                if isinstance(x, P.SubPattern) and not ok(x):
                    return False
                if isinstance(x, (tuple, list)) and not all(
                        ok(y) for y in x if isinstance(y, P.SubPattern)):
                    return False
        return True
    return ok(tree)


@dataclass(frozen=True)
class Rules:
    elements: tuple = ()
    patterns: tuple = ()
    unit: str = ""
    units: tuple = ()         # (word, unit) pairs

    @property
    def empty(self) -> bool:
        return not self.elements and not self.patterns


def rules_of(project) -> Rules:
    """The edition's redaction rules: its profile's ``[redactions]`` table (else the one in
    ``editio.toml``), checked; a bad rule is a located error."""
    profile = getattr(project, "profile", None)
    raw = getattr(profile, "redactions", None) if profile is not None else None
    if raw is None:
        raw = (getattr(project, "extra", None) or {}).get("redactions")
    if raw is None:
        raw = {}
    where = "editio.toml"

    def bad(msg):
        raise EditioError(f"[redactions] {msg}", file=where, code="config.redactions")

    if not isinstance(raw, dict):
        bad("must be a table")
    elements = []
    for i, e in enumerate(raw.get("elements", []) or []):
        if isinstance(e, str):
            e = {"xpath": e}
        if not isinstance(e, dict) or not isinstance(e.get("xpath"), str):
            bad(f"elements[{i}] must be an XPath or a table with 'xpath'")
        unknown = set(e) - {"xpath", "restored", "cert", "extent", "shown"}
        if unknown:
            bad(f"elements[{i}]: unknown key(s) {', '.join(sorted(unknown))}")
        rule = ElementRule(**{k: str(v) for k, v in e.items()})
        try:
            rule.compiled
        except etree.XPathError as err:
            bad(f"elements[{i}]: invalid XPath ({err})")
        elements.append(rule)
    patterns = []
    for i, p in enumerate(raw.get("patterns", []) or []):
        if isinstance(p, str):
            p = {"regex": p}
        if not isinstance(p, dict) or not isinstance(p.get("regex"), str):
            bad(f"patterns[{i}] must be a table with 'regex'")
        unknown = set(p) - {"regex", "document", "context"}
        if unknown:
            bad(f"patterns[{i}]: unknown key(s) {', '.join(sorted(unknown))}")
        rule = PatternRule(p["regex"], bool(p.get("document", False)), str(p.get("context", "")))
        try:
            rule.compiled
        except re.error as err:
            bad(f"patterns[{i}]: invalid regex ({err})")
        patterns.append(rule)
    unit = raw.get("unit") or _profile_unit(project) or ""
    if not isinstance(unit, str):
        bad("'unit' must be an XPath")
    if unit:
        try:
            etree.XPath(unit, namespaces=NS)
        except etree.XPathError as err:
            bad(f"unit: invalid XPath ({err})")
    units = raw.get("units", {}) or {}
    if not isinstance(units, dict) or not all(v in UNITS for v in units.values()):
        bad(f"'units' maps words to one of {', '.join(UNITS)}")
    return Rules(tuple(elements), tuple(patterns), unit, tuple(units.items()))


def _profile_unit(project) -> str:
    """The page unit the edition's profile declares, if any (an XPath)."""
    profile = getattr(project, "profile", None)
    for u in getattr(profile, "units", ()) or ():
        xpath = getattr(u, "xpath", "")
        if xpath and getattr(u, "kind", "document") == "document":
            return xpath if xpath.startswith(("/", "(")) else f"//{xpath}"
    return ""


# ------------------------------------------------------------------ records
@dataclass(eq=False)
class Unit:
    """One document of the figures: a TEI file, or a part of one (a FRUS document)."""
    doc: object              # corpus Document
    element: object          # its root element (the file's TEI, or the unit's div)
    number: str              # as readers cite it ("12")
    title: str
    position: int            # 1-based, in the edition
    id: str
    # a division's own text (a chapter's introduction, editorial text between its
    # documents): its blocks outside the documents, read alone; not a document
    own: tuple = ()
    opening: bool = False    # all of that text stands before the division's first document

    @property
    def label(self) -> str:
        if self.own:
            return "Introduction" if self.opening else "Editorial text"
        return f"Doc. {self.number}"

    @property
    def shown_at(self):
        """An element of the unit that pages show (a division's first block of text)."""
        if self.own:
            return next((e for e in self.own if local(e) != "head"), self.own[0])
        return self.element


@dataclass(eq=False)
class Redaction:
    n: int                   # 1-based within its document
    unit: Unit
    place: str               # "¶ 5", "note 3", "source note", "heading"
    file: str
    line: int
    col: int
    source: str              # element | statement
    statement: str           # the words of the statement, or what the source shows ("**")
    extent: Extent | None
    restored: bool = False
    restoration: str = ""    # the text supplied, when restored
    cert: str = ""
    withheld: str = ""       # whole | part: the statement accounts for the document
    element: object = None   # the element to link to (the redaction, or what holds it)
    anchor: object = None    # the TEI element the statement is read in (paragraph, note)
    annotation: object = None  # the editorial annotation on the same element, if any

    @property
    def document(self) -> str:
        return self.unit.id

    @property
    def label(self) -> str:
        return f"{self.unit.label}, {self.place}" if self.place else self.unit.label

    @property
    def location(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"

    @property
    def status(self) -> str:
        return "restored" if self.restored else "not restored"

    def describe(self) -> str:
        return self.extent.describe() if self.extent else "not stated"

    def record(self) -> dict:
        return {"n": self.n, "document": self.unit.id, "document_label": self.unit.label,
                "label": self.label, "file": self.file, "line": self.line, "col": self.col,
                "location": self.location, "kind": "redaction", "source": self.source,
                "statement": self.statement,
                "extent": self.extent.record() if self.extent else None,
                "restored": self.restored, "restoration": self.restoration, "cert": self.cert,
                "withheld": self.withheld,
                "note": " ".join(self.annotation.note.split()) if self.annotation else ""}


# ------------------------------------------------------------------ collecting
def collect(corpus, rules: Rules | None = None) -> list[Redaction]:
    """Every redaction of the edition's texts, in document and text order."""
    rules = rules if rules is not None else rules_of(corpus.project)
    if rules.empty:
        return []
    anns = {}
    for doc in corpus.texts:
        for a in corpus.annotations.get(doc.name, []):
            anns[a.element] = a
    out: list[Redaction] = []
    position = 0
    for doc in corpus.texts:
        for unit in units_of(doc, rules.unit, position):
            position = unit.position
            out.extend(_collect_unit(doc, unit, rules, anns, corpus.behaviour_table))
    return out


def all_units(corpus, rules: Rules) -> list[Unit]:
    """Every document of the edition as the figures count them, and the divisions' own
    texts (``Unit.own``; not documents: :func:`documents` leaves them out)."""
    out: list[Unit] = []
    for doc in corpus.texts:
        out.extend(units_of(doc, rules.unit, len(documents(out))))
    return out


def units_of(doc, unit_xpath: str, start: int = 0) -> list[Unit]:
    text = doc.root.find(T + "text")
    found = []
    if unit_xpath and text is not None:
        found = [e for e in etree.XPath(unit_xpath, namespaces=NS)(doc.root)
                 if isinstance(e, etree._Element)]
        found = [e for e in found if not any(a in found for a in e.iterancestors())] \
            if len(found) < 2000 else found
    if not found:
        return [Unit(doc, doc.root, str(start + 1), doc.title, start + 1, doc.id)]
    out = []
    from editio.text import plain
    for i, e in enumerate(found, start + 1):
        head = e.find(T + "head")
        title = plain(head) if head is not None else ""
        n = e.get("n") or str(i - start)
        out.append(Unit(doc, e, n, title, i, e.get(XML_ID) or f"{doc.id}-{n}"))
    # the divisions that hold documents have text of their own (an introduction, editorial
    # text between documents): redactions there are counted too, apart from the documents
    units = set(found)
    divisions: list = []
    for e in found:
        for a in e.iterancestors():
            if a.tag != T + "div" or a in divisions:
                break
            divisions.append(a)
    if not divisions:
        return out
    order = {el: k for k, el in enumerate(doc.root.iter())}
    inside = {a for u in found for a in u.iterancestors()}
    for div in divisions:
        own, opening, seen_unit = [], True, False
        for c in div:
            if not isinstance(c.tag, str):
                continue
            if c in units or c in inside:
                seen_unit = True
                continue
            if local(c) in _NOT_TEXT:
                continue
            own.append(c)
            opening = opening and not seen_unit
        if not any(local(c) != "head" or c.find(".//" + T + "note") is not None for c in own):
            continue
        head = div.find(T + "head")
        title = " ".join(plain(head).split()) if head is not None else ""
        out.append(Unit(doc, div, "", title, 0, div.get(XML_ID) or f"{doc.id}-text-{order.get(div, 0)}",
                        own=tuple(own), opening=opening))
    out.sort(key=lambda u: order.get(u.shown_at, 0))
    position = start
    for u in out:            # a division's text: the place of the document before it
        if u.own:
            u.position = position
        else:
            position = u.position
    return out


def documents(units: list[Unit]) -> list[Unit]:
    """The documents among ``units`` (not the divisions' own texts)."""
    return [u for u in units if not u.own]


# what a division holds beside its text that is no text of its own
_NOT_TEXT = frozenset({"pb", "cb", "fw", "milestone", "anchor", "lb"})


def _collect_unit(doc, unit: Unit, rules: Rules, anns: dict, table=None) -> list[Redaction]:
    scope = unit.element if unit.element is not doc.root else doc.root.find(T + "text")
    if scope is None:
        return []
    scopes = unit.own or (scope,)     # a division: its own text only, not its documents
    found: list[tuple[tuple, Redaction]] = []
    claimed_elements: set = set()
    elements = [(rule, el) for rule in rules.elements for sc in scopes
                for el in rule.compiled[0](sc) if isinstance(el, etree._Element)]
    # a unit none of whose text any pattern matches is not read further; a pattern read only
    # in some blocks (its ``context``: a source note) is looked for in those blocks alone,
    # once the elements have claimed theirs (below)
    anywhere = [rule for rule in rules.patterns if rule.compiled[1] is None]
    text_all = (" ".join(scopes[0].itertext()) if len(scopes) == 1 else
                " ".join(t for sc in scopes for t in sc.itertext())) if anywhere else ""
    # a regex that reads only what it matches (:attr:`PatternRule.local`) and is not found
    # in the unit's text is in none of its paragraphs (each of which is part of that text)
    live = {rule for rule in anywhere if not rule.local or rule.compiled[0].search(text_all)}
    in_context = [rule for rule in rules.patterns if rule.compiled[1] is not None]
    if not elements and not live and not in_context:
        return []
    order = {e: i for i, e in enumerate(e for sc in scopes for e in sc.iter())}
    places = _Places(unit, table)
    # --- elements
    for rule, el in elements:
        _, restored_x, cert_x, extent_x, shown_x = rule.compiled
        if el in claimed_elements or any(a in claimed_elements for a in el.iterancestors()):
            continue
        claimed_elements.add(el)
        restored = _bool(restored_x, el) if restored_x is not None else _default_restored(el)
        cert = _str(cert_x, el) if cert_x is not None else _default_cert(el)
        ext_text = _str(extent_x, el) if extent_x is not None else _default_extent(el)
        extent = parse_extent(ext_text, dict(rules.units)) if ext_text else None
        shown = _str(shown_x, el) if shown_x is not None else ""
        block = _block_of(el)
        found.append(((order.get(el, 0), 0), Redaction(
            0, unit, places.of(block), doc.rel, el.sourceline or 0, doc.column(el),
            "element", shown, extent, restored,
            _restoration(el) if restored else "", cert if restored else "", "", el, block,
            anns.get(el))))
    # --- text statements
    blocks = [b for sc in scopes for b in _blocks(sc)
              if not claimed_elements
              or not any(a in claimed_elements for a in [b, *b.iterancestors()])] \
        if live or in_context else []
    flat: dict = {}

    def flattened(block):
        if block not in flat:
            flat[block] = _flatten(block, claimed_elements)
        return flat[block]
    joined: dict = {}

    def text_of(block):   # what the patterns are tried on first, joined once per block
        if block not in joined:
            joined[block] = " ".join(block.itertext())
        return joined[block]
    flat_text: dict = {}

    def flattened_text(block):   # (the text alone: its pieces' places only where it matches)
        if block in flat:
            return flat[block][0]
        if block not in flat_text:
            flat_text[block] = _flatten(block, claimed_elements, places=False)[0]
        return flat_text[block]
    for rule in in_context:
        rx, ctx = rule.compiled
        if any(ctx.search(flattened_text(b)) and rx.search(text_of(b)) for b in blocks):
            live.add(rule)
    live = [rule for rule in rules.patterns if rule in live]   # in the profile's order
    if live:
        units = dict(rules.units)
        for block in blocks:
            if not any(rule.compiled[0].search(text_of(block)) for rule in live):
                continue
            text, segs = flattened(block)
            if not text.strip():
                continue
            positions = None
            taken: list[tuple[int, int]] = []
            for rule in live:
                rx, ctx = rule.compiled
                if ctx is not None and not ctx.search(text):
                    continue
                for m in rx.finditer(text):
                    a, b = m.span()
                    if a == b or any(a < y and x < b for x, y in taken):
                        continue
                    taken.append((a, b))
                    stated = m.groupdict().get("extent")
                    extent = parse_extent(stated if stated is not None else m.group(0), units)
                    if positions is None:
                        positions = _positions(doc, segs, text)
                    node, line, col = _locate(doc, segs, text, a, positions)
                    withheld = ""
                    if rule.document and not unit.own:
                        withheld = "whole" if _nothing_else(unit, block) else "part"
                    found.append(((order.get(block, 0), a), Redaction(
                        0, unit, places.of(block), doc.rel, line, col, "statement",
                        " ".join(m.group(0).split()), extent, False, "", "", withheld,
                        block, block, None)))
    found.sort(key=lambda x: x[0])
    out = [r for _, r in found]
    for i, r in enumerate(out, 1):
        r.n = i
    return out


def _bool(x, el) -> bool:
    v = x(el)
    if isinstance(v, list):
        return bool(v)
    return bool(v)


def _str(x, el) -> str:
    v = x(el)
    if isinstance(v, list):
        v = v[0] if v else ""
        if isinstance(v, etree._Element):
            v = "".join(v.itertext())
    if isinstance(v, bool):
        return ""
    if isinstance(v, float):
        return f"{v:g}"
    return " ".join(str(v).split())


_SUPPLIED_NO_GAP = etree.XPath("descendant-or-self::tei:supplied[not(descendant::tei:gap)]"
                               "[normalize-space(.) != '']", namespaces=NS)
_CERT = etree.XPath("(@cert | descendant::tei:supplied/@cert | descendant::*/@cert)[1]",
                    namespaces=NS)
_DIM = etree.XPath("descendant-or-self::*[@extent or @quantity][1]", namespaces=NS)


def _default_restored(el) -> bool:
    return bool(_SUPPLIED_NO_GAP(el))


def _default_cert(el) -> str:
    v = _CERT(el)
    return str(v[0]) if v else ""


def _default_extent(el) -> str:
    d = _DIM(el)
    if not d:
        return ""
    d = d[0]
    if d.get("extent"):
        return d.get("extent")
    return f"{d.get('quantity')} {d.get('unit') or ''}".strip()


def _restoration(el) -> str:
    from editio.text import plain
    s = _SUPPLIED_NO_GAP(el)
    return plain(s[0]) if s else ""


def _block_of(el):
    """The paragraph-like element or note that holds ``el``."""
    return next((a for a in el.iterancestors() if _is_block(a)), None)


def _is_block(el) -> bool:
    return local(el) == "note" or behaviour(el).layout == LINE


def _blocks(scope):
    """Paragraph-like elements and notes, each read on its own (a note inside a paragraph
    is its own block; the paragraph reads on after it); nothing inside a header or an
    omitted part (a note excepted)."""
    skipped: set = set()
    for el in scope.iter():
        tag = el.tag
        if tag.__class__ is not str:
            continue
        if skipped:
            parent = el.getparent()
            if parent is not None and parent in skipped:
                skipped.add(el)
                continue
        name = tag.rpartition("}")[2]     # (local(el))
        if name == "note":
            yield el
            continue
        if name in ("teiHeader", "standOff"):
            skipped.add(el)
            continue
        layout = behaviour(el).layout
        if layout == OMIT:
            skipped.add(el)
        elif layout == LINE:             # (_is_block(el))
            yield el


def _flatten(block, skip: set, places: bool = True) -> tuple[str, list]:
    """The text of ``block`` without its nested blocks, and where each piece came from:
    [(offset in the text, element, "text"|"tail")] (with ``places`` False, the text alone
    and no places: a context's test, which needs no source positions)."""
    parts: list[str] = []
    segs: list = []
    pos = 0

    def add(s, el, where):
        nonlocal pos
        if s:
            if places:
                segs.append((pos, el, where))
                pos += len(s)
            parts.append(s)

    def walk(el):
        add(el.text, el, "text")
        for c in el:
            if c.tag.__class__ is str:
                if c in skip:
                    add(" ", c, "skip")
                elif not _is_block(c):
                    walk(c)
            add(c.tail, c, "tail")

    walk(block)
    return "".join(parts), segs


def _positions(doc, segs, text) -> list[tuple[int, int]]:
    """The source (line, column) where each piece of a flattened block starts, found by
    reading the source forward from the block's start tag (a tail has no line of its own)."""
    lines = doc._source_lines
    out = []
    cur_line, cur_col = 0, 0
    for k, (start, el, where) in enumerate(segs):
        end = segs[k + 1][0] if k + 1 < len(segs) else len(text)
        if where == "text" and (el.sourceline or 0) >= cur_line:
            cur_line, cur_col = el.sourceline or 0, doc.column(el) - 1
        first = _escape(text[start:end].split("\n")[0])
        found = None
        if first.strip() and lines:
            for ln in range(max(cur_line, 1), min(cur_line + 200, len(lines)) + 1):
                i = lines[ln - 1].find(first, cur_col if ln == cur_line else 0)
                if i >= 0:
                    found = (ln, i)
                    break
        if found is None:
            found = (cur_line or (el.sourceline or 0), cur_col)
        out.append(found)
        cur_line, cur_col = found[0], found[1] + len(first)
    return out


def _escape(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _locate(doc, segs, text, offset, positions) -> tuple[object, int, int]:
    """The source line and column where the text at ``offset`` of a flattened block starts."""
    k = None
    for i, s in enumerate(segs):
        if s[0] <= offset:
            k = i
        else:
            break
    if k is None:
        return None, 0, 0
    start, el, where = segs[k]
    line, col = positions[k]
    before = text[start:offset]
    if "\n" in before:
        return el, line + before.count("\n"), len(_escape(before.rsplit("\n", 1)[1])) + 1
    src = doc._source_lines[line - 1] if 0 < line <= len(doc._source_lines) else ""
    esc = _escape(before)
    if src[col:col + len(esc)] != esc and src[col:col + len(esc)].replace("&gt;", ">") != before:
        # the source writes a character differently (&#x2014;): count on the text instead
        return el, line, col + len(before) + 1
    return el, line, col + len(esc) + 1


def _newlines_inside(el) -> int:
    s = etree.tostring(el, encoding="unicode", with_tail=False)
    return s.count("\n")


class _Places:
    """Where blocks of one unit are, in reader words: the paragraphs numbered as the site
    and the book number them in the margin (:func:`editio.transforms.number_paragraphs`:
    the unit's heading and blocks holding nothing but a page break are no paragraphs)."""

    def __init__(self, unit: Unit, table=None):
        self.unit = unit
        self.table = table
        self._numbers = None

    def of(self, block) -> str:
        if self.unit.own:    # a division's own text: its heading, a note, else its text
            place = _place(self.unit, block, None) if block is not None and (
                local(block) in ("head", "note") or _starts_source(block)
                or any(local(a) == "note" for a in block.iterancestors())) else ""
            return place
        return _place(self.unit, block, self)

    def number(self, block):
        if self._numbers is None:
            from editio.behaviours import DEFAULT
            from editio.transforms import number_paragraphs
            top = self.unit.element
            whole = top is self.unit.doc.root
            numbered = number_paragraphs(top.find(T + "text") if whole else top, self.table or DEFAULT,
                                         skip=None if whole else top.find(T + "head"))
            self._numbers = {}
            n = 0
            for el in top.iter():
                if not isinstance(el.tag, str):
                    continue
                if el in numbered:
                    n = numbered[el][1]
                    self._numbers[el] = n
                    continue
                para = next((a for a in el.iterancestors() if a in numbered), None)
                # inside a paragraph: its number; a block that is no paragraph: the next one
                self._numbers[el] = numbered[para][1] if para is not None else n + 1
        return self._numbers.get(block)


def _place(unit: Unit, block, places: "_Places | None" = None) -> str:
    """Where in the document, in reader words: "¶ 5", "note 3", "source note", "heading"."""
    if block is None:
        return ""
    note = block if local(block) == "note" else next(
        (a for a in block.iterancestors() if local(a) == "note"), None)
    if note is not None:
        if (note.get("type") or "") == "source" or _starts_source(note):
            return "source note"
        return f"note {note.get('n')}" if note.get("n") else "note"
    if local(block) == "head":
        return "heading"
    if _starts_source(block):
        return "source note"
    if places is not None:
        k = places.number(block)
        return f"¶ {k}" if k else ""
    n = 0
    for el in unit.element.iter():
        if not isinstance(el.tag, str) or local(el) == "head":
            continue
        if el is block:
            return f"¶ {n + 1}"
        if behaviour(el).layout == LINE and not any(local(a) == "note" for a in el.iterancestors()) \
                and not _nested_line(el, unit.element):
            n += 1
    return ""


def _nested_line(el, top) -> bool:
    for a in el.iterancestors():
        if a is top:
            return False
        if behaviour(a).layout == LINE:
            return True
    return False


def _starts_source(el) -> bool:
    from editio.text import plain
    return bool(re.match(r"\s*\[?\s*Source\s*:", (el.text or "") or plain(el)[:12]))


def _nothing_else(unit: Unit, block) -> bool:
    """True when the document prints nothing of its text beyond its heading, dateline and
    the statement's own paragraph or note (a document withheld in whole)."""
    from editio.text import plain
    rest = 0
    for el in unit.element.iter():
        if not isinstance(el.tag, str) or el is block or _is_block(el) is False:
            continue
        if any(a is block for a in el.iterancestors()) or local(el) in ("head", "dateline"):
            continue
        if local(el) == "note" or any(local(a) == "note" for a in el.iterancestors()):
            continue
        if _nested_line(el, unit.element):
            continue
        rest += len(plain(el))
    return rest < 120


# ------------------------------------------------------------------ figures
def tally(items: list[Redaction]) -> dict:
    """Figures for a set of redactions: counts, extent per unit, restored, by certainty."""
    by_unit: dict = {}
    for r in items:
        e = r.extent or Extent("text")
        slot = by_unit.setdefault(e.unit, {"count": 0, "quantity": Fraction(0), "less_than": 0,
                                           "inner_lines": Fraction(0), "unquantified": 0})
        slot["count"] += 1
        if e.quantity is None:
            slot["unquantified"] = slot.get("unquantified", 0) + 1
            slot.setdefault("what", []).append(e.what)
        elif e.qualifier == "less than":
            slot["less_than"] += 1
        else:
            slot["quantity"] += e.quantity
        if e.inner is not None and e.inner.unit == "line" and e.inner.quantity is not None:
            slot["inner_lines"] += e.inner.quantity
    certs: dict = {}
    for r in items:
        if r.restored:
            certs[r.cert or "unstated"] = certs.get(r.cert or "unstated", 0) + 1
    return {
        "count": len(items),
        "restored": sum(1 for r in items if r.restored),
        "not_restored": sum(1 for r in items if not r.restored),
        "by_cert": certs,
        "withheld": _withheld(items),
        "extent": by_unit,
    }


def _withheld(items) -> str:
    kinds = {r.withheld for r in items if r.withheld}
    return "whole" if "whole" in kinds else ("part" if "part" in kinds else "")


def describe_tally(t: dict) -> str:
    """Reader words for a tally's extent: "3 paragraphs (19 lines), 41½ lines and 102 passages
    of less than 1 line, 2 names, text (4)"."""
    parts = []
    ext = t["extent"]
    for unit in UNITS:
        s = ext.get(unit)
        if not s:
            continue
        bits = []
        if s["quantity"]:
            b = quantity_words(Fraction(s["quantity"]), unit)
            if s.get("inner_lines"):
                b += f" ({quantity_words(Fraction(s['inner_lines']), 'line')})"
            bits.append(b)
        if s["less_than"]:
            n = s["less_than"]
            bits.append(f"{n} passage{'s' if n != 1 else ''} of less than 1 {unit}")
        if s.get("unquantified"):
            n = s["unquantified"]
            whats = s.get("what", [])
            if unit == "text" and n <= 2 and all(whats):   # what the statement names
                bits.append(" and ".join(whats))
            else:
                word = {"text": "passage", "name": "name", "word": "word"}.get(unit, unit)
                bits.append(f"{n} {word}{'s' if n != 1 else ''}" +
                            (" of unstated extent" if unit == "text" else ""))
        parts.append(" and ".join(bits))
    if set(ext) == {"text"} and ext["text"].get("unquantified") == t["count"] \
            and not all(ext["text"].get("what", [])):
        return "not stated"
    return ", ".join(p for p in parts if p) or "none"


def _json_tally(t: dict) -> dict:
    ext = {}
    for unit, s in t["extent"].items():
        ext[unit] = {k: (_num(Fraction(v)) if k in ("quantity", "inner_lines") else v)
                     for k, v in s.items()}
    return {**t, "extent": ext, "extent_text": describe_tally(t)}


@dataclass
class DocumentFigures:
    unit: Unit
    items: list
    tally: dict


def summary(items: list[Redaction], units: list[Unit] | None = None) -> dict:
    """Per-document and whole-edition figures, as data (``editio stats --format json``)."""
    by_unit: dict = {}
    for r in items:
        by_unit.setdefault(r.unit, []).append(r)
    docs = []
    for u, rs in by_unit.items():
        t = tally(rs)
        docs.append({"document": u.id, "label": u.label, "title": u.title,
                     "kind": "division" if u.own else "document", **_json_tally(t)})
    total = tally(items)
    withheld = [{"document": u.id, "label": u.label, "title": u.title, "withheld": w}
                for u, rs in by_unit.items() for w in [_withheld(rs)] if w]
    return {"documents": docs,
            "total": {**_json_tally(total), "documents": len(documents(list(by_unit))),
                      "division_texts": sum(1 for u in by_unit if u.own),
                      "withheld_whole": sum(1 for w in withheld if w["withheld"] == "whole"),
                      "withheld_part": sum(1 for w in withheld if w["withheld"] == "part")},
            "withheld": withheld}


def figures(items: list[Redaction]) -> tuple[list[DocumentFigures], dict]:
    """(per document, total) for the site page and the book appendix."""
    by_unit: dict = {}
    for r in items:
        by_unit.setdefault(r.unit, []).append(r)
    docs = [DocumentFigures(u, rs, tally(rs)) for u, rs in by_unit.items()]
    return docs, tally(items)
