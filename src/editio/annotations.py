"""Editorial annotations: one record per mark an editor made in a text.

Kinds (``Annotation.kind``) and what they come from:

=============  ==============================================  =====================
kind           TEI                                             type
=============  ==============================================  =====================
redaction      ``choice[orig][supplied]`` (a platform mask)    restored | unrestored
correction     ``choice[sic][corr]``                           ``corr/@type``
normalisation  ``choice[orig][reg]``, ``choice[abbr][expan]``  reg | expan
restoration    ``supplied`` outside a ``choice``               ``@reason``
error          ``sic`` without ``corr`` (kept, annotated)      its note's ``@subtype``
crossref       ``seg[@type="crossref"]`` (``@corresp`` event)  agrees | disagrees
problem        ``seg[@type="problem"]``                        problem
gap            ``gap`` outside a ``choice``                    ``@reason``
note           any other ``note`` (e.g. authorial footnotes)   ``note/@type``
=============  ==============================================  =====================

Each record carries the document, file and line, the text in both views,
``cert``/``resp``, the plain text of its explanatory notes, the offset of its
start in the diplomatic text, the ids of what it points to and, for a cross-reference,
the relation derived from its claims (``agreement``: "agrees", "partly agrees: …",
"disagrees: number (delegation-last): 6 vs 7 (d001-x26)", "unverified").
"""
from __future__ import annotations

from dataclasses import dataclass, field

from editio import TEI_NS, XML_ID
from editio.behaviours import local
from editio.text import TextView, is_unrestored, plain

T = "{%s}" % TEI_NS
FIELDS = ("n", "id", "document", "file", "line", "kind", "type", "diplomatic", "edited", "cert",
          "resp", "note", "offset", "targets", "agreement")


@dataclass(eq=False)
class Annotation:
    n: int
    id: str
    document: str
    file: str
    line: int
    kind: str
    type: str
    diplomatic: str
    edited: str
    cert: str
    resp: str
    note: str
    offset: int
    targets: list[str] = field(default_factory=list)
    agreement: str = ""  # crossref: the relation derived from the claims (editio.rules.claims)
    element: object = None
    notes: list = field(default_factory=list)
    label: str = ""          # the number as printed (a TEI note's own @n, else ``n``)

    def record(self) -> dict:
        return {k: getattr(self, k) for k in FIELDS}


def _text(el, view: str) -> str:
    tv = TextView(view)
    tv.inline(el) if local(el) != "choice" else tv.inline(el)
    return tv.text()


CLASSIFIED = frozenset({"choice", "supplied", "sic", "gap", "seg"})
"""The local names of the elements :func:`classify` may find annotated (None for others)."""


def classify(el) -> tuple[str, str, object] | None:
    """(kind, type, element carrying cert/resp) for an annotated element, or None."""
    name = local(el)
    if name == "choice":
        kids = {local(c): c for c in el if isinstance(c.tag, str)}
        if "supplied" in kids and ("orig" in kids or "sic" in kids):
            s = kids["supplied"]
            return "redaction", "unrestored" if is_unrestored(s) else "restored", s
        if "corr" in kids:
            c = kids["corr"]
            return "correction", c.get("type") or "unspecified", c
        if "reg" in kids:
            return "normalisation", "reg", kids["reg"]
        if "expan" in kids:
            return "normalisation", "expan", kids["expan"]
        return None
    parent = el.getparent()
    in_choice = parent is not None and local(parent) == "choice"
    if name == "supplied" and not in_choice:
        return "restoration", el.get("reason") or "supplied", el
    if name == "sic" and not in_choice:
        return "error", el.get("type") or "sic", el
    if name == "gap" and not (parent is not None and local(parent) == "supplied"):
        return "gap", el.get("reason") or "gap", el
    if name == "seg" and el.get("type") == "crossref":
        return "crossref", el.get("subtype") or "agrees", el
    if name == "seg" and el.get("type") == "problem":
        return "problem", "problem", el
    return None


def repeat_of(corpus, doc, el):
    """The note ``el`` calls again, or None: a ``note`` whose ``@target`` names (with or
    without "#") another note of the file with the same ``@n`` and the same words is a
    second call of that footnote, as a printed volume sets one footnote's number at two
    places (FRUS v23p2 Doc. 28: ``<note n="5" target="d28fn5">`` repeating note 5).  It is
    no note of its own: its call leads to the first."""
    tok = (el.get("target") or "").split()
    if local(el) != "note" or len(tok) != 1 or not el.get("n"):
        return None
    other = doc.ids.get(tok[0].lstrip("#"))
    if other is None or other is el or local(other) != "note" or other.get("n") != el.get("n"):
        return None
    if " ".join(corpus.note_text(other, doc).split()) != " ".join(corpus.note_text(el, doc).split()):
        return None
    return other


def collect(corpus, doc) -> list[Annotation]:
    """The annotations of ``doc`` in text order, numbered from 1."""
    text = doc.root.find(T + "text")
    if text is None:
        return []
    dip_spans = doc.diplomatic.spans
    notes_by_target = corpus.notes_by_target
    out: list[Annotation] = []
    ends: list[int] = []
    claimed = set()
    from editio.rules.claims import derive
    derived = derive(corpus)
    texts = doc.__dict__.setdefault("_annotation_texts", {})   # a function of the tree alone
    table = corpus.behaviour_table
    candidates = _candidates(doc, text)
    # the notes some annotated passage reads (its @target resolves to that passage); a note
    # whose @target leads nowhere a passage is (FRUS v23p2: <note n="2" target="d193fn2"> in a
    # signature) is a footnote where it stands, not lost
    attached = set()
    for el, c, _ in candidates:
        if c is not None:
            attached.update(notes_by_target.get(el, ()))
            attached.update(notes_by_target.get(c[2], ()))
    for el, c, in_notes in candidates:
        if c is None:   # a note
            if el in claimed or (el.get("target") and el in attached) or in_notes:
                continue  # attached notes are read with what they annotate
            if table.behaviour(el).name != "note":
                continue  # a note the edition prints in the text (FRUS's document summary)
            if el.get("target") and repeat_of(corpus, doc, el) is not None:
                continue  # a second call of a footnote: the renderers call the first
            kind, typ, carrier = "note", el.get("type") or "note", el
            notes = [el]
            corpus._note_owner.setdefault(el, doc)
        else:
            kind, typ, carrier = c
            notes = notes_by_target.get(el, [])
            if carrier is not el:
                notes = notes + notes_by_target.get(carrier, [])
            claimed.update(notes)
            if kind == "error":  # an authorial error kept in the reading: typed by its note
                typ = next((n.get("subtype") for n in notes
                            if n.get("type") == "error" and n.get("subtype")), typ)
        span = dip_spans.get(el)
        if span is None:  # e.g. inside a note or the platform's omitted parts
            anc = next((a for a in el.iterancestors() if a in dip_spans), None)
            span = dip_spans.get(anc, (0, 0)) if anc is not None else (0, 0)
        targets = []
        for attr in ("corresp", "target", "sameAs") if kind != "note" else ():
            for tok in (el.get(attr) or "").split():
                r = corpus.resolve(doc, tok)
                if r.status == "element":
                    targets.append(r.element.get(XML_ID) or r.doc.id)
        if kind == "note":
            dip = ""
            ed = ""
        else:
            dip, ed = texts.get((el, "d")), texts.get((el, "e"))
            if dip is None:
                dip = texts[(el, "d")] = _text(el, "diplomatic")
            if ed is None:
                ed = texts[(el, "e")] = _text(el, "edited")
        out.append(Annotation(
            n=0, id=el.get(XML_ID) or "", document=doc.id, file=doc.rel,
            line=el.sourceline or 0, kind=kind, type=typ, diplomatic=dip, edited=ed,
            cert=carrier.get("cert") or "", resp=" ".join(_short(r) for r in (carrier.get("resp") or "").split()),
            note=" ".join(corpus.note_text(n) for n in notes), offset=span[0], targets=targets,
            agreement=derived[el].summary() if kind == "crossref" and el in derived else "",
            element=el, notes=notes))
        ends.append(span[1])
    # number in the order of the note calls (which stand at the end of what they annotate)
    order = sorted(range(len(out)), key=lambda k: (ends[k], -out[k].offset, k))
    out = [out[k] for k in order]
    for n, a in enumerate(out, 1):
        a.n = n
    return out


def _candidates(doc, text) -> list:
    """``(element, classify(element) or None for a note, inside the notes division)`` of
    every note and annotated element of ``text``, in document order: a function of the tree
    alone, worked out once per parsed file (:class:`editio.corpus.Document`)."""
    memo = doc.__dict__.get("_annotation_candidates")
    if memo is not None and memo[0] is text:
        return memo[1]
    out = []
    # (in document order, the notes and what classify may find annotated, of any namespace,
    # as local() reads names: the others are not looked at in Python)
    for el in text.iter(*_CANDIDATE_TAGS):
        if local(el) == "note":
            out.append((el, None, _in_notes_div(el)))
        else:
            c = classify(el)
            if c is not None:
                out.append((el, c, False))
    doc.__dict__["_annotation_candidates"] = (text, out)
    return out


_CANDIDATE_TAGS = tuple("{*}" + n for n in ("note", *sorted(CLASSIFIED)))


def _short(ptr: str) -> str:
    return ptr.rsplit("#", 1)[-1]


def _in_notes_div(el) -> bool:
    return any(local(a) == "div" and a.get("type") == "editorial-notes" for a in el.iterancestors())
