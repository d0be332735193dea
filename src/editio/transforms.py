"""Transforms: the corpus -> the resolved edition every builder shares.

The TEI trees are never modified; each transform derives one index over them
(as Sphinx's environment collects what spans documents before any builder
runs).  Builders (HTML site, PDF) receive the same :class:`Edition`.

* ``number_paragraphs``  line elements of the text -> stable anchors ``p1``, ``p2``
  (or their xml:id)::

      <p>On June 25…</p>            ->  anchor "p1", number 1

* ``number_annotations`` annotations in text order -> 1, 2, 3 … per document
  (done in :mod:`editio.annotations`), indexed by element;
* ``back_links``          every resolved ``@target``/``@corresp`` in a text or a note
  -> the list of places that point to each element ("referenced by");
* ``event_passages``      event -> passages (cross-document concordance), in
  :class:`editio.corpus.Corpus`;
* ``mentions``            entity -> tagged mentions, in :class:`editio.corpus.Corpus`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from editio import TEI_NS, XML_ID
from editio.behaviours import LINE, behaviour, local
from editio.corpus import Corpus, Document

T = "{%s}" % TEI_NS


@dataclass(eq=False)
class ResolvedDoc:
    doc: Document
    number: int                                   # 1-based position among the texts
    annotations: list = field(default_factory=list)
    by_element: dict = field(default_factory=dict)  # element -> Annotation
    paragraphs: dict = field(default_factory=dict)  # line element -> (anchor, number)

    @property
    def id(self) -> str:
        return self.doc.id

    @property
    def title(self) -> str:
        return self.doc.title

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
class Edition:
    corpus: Corpus
    docs: list[ResolvedDoc]
    inbound: dict                                  # element -> [(Document, pointing element)]

    @property
    def project(self):
        return self.corpus.project

    @cached_property
    def by_name(self) -> dict:
        return {r.doc.name: r for r in self.docs}

    def resolved(self, doc: Document) -> ResolvedDoc | None:
        return self.by_name.get(doc.name)

    def locate(self, el):
        """(ResolvedDoc, element) for any element of a text, else None."""
        root = el.getroottree().getroot()
        for r in self.docs:
            if r.doc.root is root:
                return r
        return None

    @cached_property
    def redactions(self) -> list:
        """Every redaction of the edition (:mod:`editio.redactions`), collected once for
        every builder."""
        from editio.redactions import collect
        return collect(self.corpus)

    def annotation_of(self, el):
        r = self.locate(el)
        return r.by_element.get(el) if r else None


def number_paragraphs(doc: Document) -> dict:
    out: dict = {}
    text = doc.root.find(T + "text")
    if text is None:
        return out
    n = 0
    for el in text.iter():
        if not isinstance(el.tag, str):
            continue
        if behaviour(el).layout == LINE and not _inside_omitted(el):
            if any(a in out for a in el.iterancestors()):
                continue
            n += 1
            out[el] = (el.get(XML_ID) or f"p{n}", n)
    return out


def _inside_omitted(el) -> bool:
    return any(behaviour(a).layout == "omit" for a in el.iterancestors())


def back_links(corpus: Corpus) -> dict:
    out: dict = {}
    for doc in corpus.texts:
        text = doc.root.find(T + "text")
        if text is None:
            continue
        for el in text.iter():
            if not isinstance(el.tag, str) or local(el) not in ("ref", "ptr", "seg", "note"):
                continue
            attrs = ("target",) if local(el) in ("ref", "ptr") else ("corresp", "sameAs")
            if local(el) == "note":
                continue  # a note's @target is its anchor, not a cross-reference
            for a in attrs:
                for tok, r in corpus.targets(doc, el, a):
                    if r.status == "element" and r.element is not el:
                        out.setdefault(r.element, []).append((doc, el))
    return out


def resolve(corpus: Corpus) -> Edition:
    """Run every transform once and return the resolved edition."""
    docs = []
    for i, doc in enumerate(corpus.texts, 1):
        anns = corpus.annotations[doc.name]
        docs.append(ResolvedDoc(doc, i, anns, {a.element: a for a in anns}, number_paragraphs(doc)))
    return Edition(corpus, docs, back_links(corpus))
