"""The PDF edition: the resolved edition -> print HTML (Jinja2) -> parts laid out by
WeasyPrint in parallel -> one PDF (pikepdf).

    book   = Book(edition, view)            # render every unit with PrintRenderer
    parts  = book.parts()                   # front matter, groups of units, back matter
    lay out, in worker processes, every part not in the build cache (once, in parallel)
    pages  = the parts' page counts added up: anchor -> page of the book
    lay out the index with those pages (nothing points into it)
    lay out each distinct page number and running head once ("stamps")
    merge the parts' PDFs, drawing the stamps on the pages where they stand (pdf_merge)

**Parts.**  A part's layout depends only on its own HTML, never on where it lands in the
book, so the parts are laid out independently, in any order, on any machine
(:mod:`editio.builders.executor`), and a part whose HTML did not change is taken from the
build cache (``<project>/.editio-cache/pdf``; the key hashes the part's HTML, the styles
and fonts, and the versions of editio and WeasyPrint).  A part that opens a group starts
on a recto; one that continues a group (a FRUS chapter cut into parts) runs on from the
page after the previous part.  It is laid out from a recto all the same: the margins
are mirrored and of one width, so it breaks into the same pages, and the merge moves its
pages that are versos in the book by the difference of the margins.  A part prints no
page number and no running head of its own: those are drawn by the overlay.

**Chains.**  A group that runs on over several parts would leave the last page of each
part partly blank where the next part starts on a fresh page.  So the parts of such a
group are laid out in chains (as many as there are workers, of about equal size:
:func:`_chains`): inside a chain, one part after the other, each part whose last page is
more than a little blank gives what that page holds (whole blocks, or the rest of a
paragraph from the page's first character) to the next part, which begins with it
(:func:`editio.builders.pdf_layout.carry_cut`); the next part's HTML, with what it was
given, is its cache key.  Where one chain ends and the next begins (laid out at the same
time, from a fresh page), the last part of the first chain, if its last page is too
blank, lays its last pages out again with their leading a little tighter or looser
(:func:`editio.builders.pdf_layout.fit_seam`: vertical justification), so a chain ends
only after a part long enough for that (:data:`SEAM_HTML`).  The chains run in
parallel, with the parts of other groups.

**Page numbers are laid over, not laid out.**  Every page number printed in the text
(contents, "see Doc. 3, ¶ 4, p. 27", the concordance, the redactions appendix) is a
``<span class="pn" data-ref="anchor">`` slot.  In the part it holds zeros (tabular figures)
as many as the number it stands for has figures, guessed before the layout
(:class:`PageGuess`: the room the anchor had in the previous build, or an estimate of its
page from its place in the book), and draws nothing; the layout reports where each slot
is (page, box, baseline, font, colour).  Once the parts are laid out, every anchor's page
is known.  Each distinct number (in each font) and each running head is then laid out
once, on a sheet (:func:`pdf_layout.lay_out_stamps`), with two reference pages of
``folio.html``/``folio.css`` per CSS page name that say where a folio and a head go on a
recto and on a verso and in which font; the merge copies each stamp's drawing operators
onto every page where it stands (in the slot, on its baseline; the folio and head where
the margin boxes put them), as an artifact, with the sheet's fonts, and gives the link
around each slot the alternative text "page N".  So every part is laid out once: a
second pass lays out again only a part where a number came out wider than its guessed
room.  A number narrower than its room (a guess a figure too wide, near a power of ten,
on a first build) is set against the word before it, so the spare room reads as a word
space ("p. 99 and"); the punctuation that directly follows a slot is taken into it (its
``data-tail``) and drawn right after the number, from a stamp of its own ("p. 99),":
never "p. 99 )," nor "p.  99),"), the spare room falling after it.
The paragraphs' numbers in the margin (print.css ``[data-para]::before``) are drawn the
same way: the layout builds no box for them (it cost about 2 ms each) but reports where
each would stand (:func:`pdf_layout.margin_marks`), and each distinct number is a stamp.
The index comes last and nothing points into it: it is laid out after the parts, with
its page numbers merged into runs (``3, 7–9``).

**Failures.**  A part that WeasyPrint cannot lay out is reported (``pdf.layout``, at the
TEI file and line of its first unit) and replaced by a page that says so; the rest of
the book is written.

The PDF is reproducible: its dates come from ``SOURCE_DATE_EPOCH`` or else from the
latest ``revisionDesc/change/@when`` of the TEI (never the clock), the merged file's
identifier is computed from its content, and the fonts are the subsets shipped in
``styles/fonts`` (a character they lack is reported as ``pdf.glyph``).
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from html import escape
from pathlib import Path
from urllib.parse import unquote, urlsplit

from jinja2 import Environment, FileSystemLoader, select_autoescape
from lxml import etree

from editio import TEI_NS, XML_LANG, __version__, gate, publish
from editio.diagnostics import Report
from editio.dates import dates_in_words
from editio.render.html import reader_text
from editio.render.print import PrintLinks, PrintRenderer, normalise_space
from editio.resources import styles_dir, style_file, template_dirs
from editio.text import plain
from editio.transforms import Edition
from editio.typography import curl

T = "{%s}" % TEI_NS
# PDF/UA-1 (tagged, with a logical structure, alternative texts and the document language)
# serves readers better than PDF/A-3b: screen readers, reflow on small screens and
# copy-and-paste follow the structure tags, and the TEI sources are attached to the PDF
# all the same (plain embedded files, which PDF/UA allows).  PDF/A-3 would add only the
# "associated file" relationship and archival constraints that a reader never sees.
from editio.builders.pdf_layout import PDF_VARIANT  # noqa: E402

KINDS = (("person", "Persons"), ("place", "Places"), ("org", "Organisations"))
MAX_PASSES = 4
PN = re.compile(r'<span class="pn" data-ref="([^"]*)"([^>]*)>[^<]*</span>')
TO = re.compile(r' data-to="([^"]*)"')
# what follows a slot: the first character after its closing tags (a tag that opens: "<";
# the end of the part: "")
AFTER = re.compile(r"(?:</[^>]+>)*(.?)", re.S)
# a slot with the closing tags after it and the punctuation that follows them ("p. 99)",
# "p. 99),"): the punctuation is taken into the slot (its "tail", drawn after the number)
PUNCT = ")]}.,;:!?\u2019\u201d\u00bb"
SLOT = re.compile(PN.pattern + r"((?:</[^>]+>)*)([" + re.escape(PUNCT) + r"]*)")
TAIL = re.compile(r' data-tail="([^"]*)"')
# the class of a page locator of a printed index (editio.render.print: a page link of the
# source's index, "521", printed as the book's page)
LOCATOR = "page-of-book"
INDEX = "back-index"
IDS = re.compile(r'\sid="([^"]+)"')
HREFS = re.compile(r'href="#([^"]+)"')
VIEW_LABELS = {"edited": "Edited reading text", "diplomatic": "Diplomatic text"}
# A part holds units up to about this much print HTML (a part of this size takes about
# 300 MB in WeasyPrint; a single larger unit makes a part of its own).
PART_HTML = 400_000
# A chain of a run-on group ends only after a part of at least this much print HTML (about
# 15 pages of a FRUS volume): where the next chain begins, the part's last pages are laid
# out again to take up the gap (pdf_layout.fit_seam), which a short part cannot do unseen.
SEAM_HTML = 90_000
CACHE_DIR = ".editio-cache/pdf"


def build_pdf(edition: Edition, out_dir: Path, report: Report, view: str = "edited",
              progress=None, workers: int | None = None, executor: str | None = None,
              cache: bool = True) -> Path | None:
    """Write ``out_dir/edition.pdf`` and return its path."""
    from editio.builders.executor import open_executor
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    book = Book(edition, report, view=view)
    target = out_dir / "edition.pdf"
    with open_executor(executor, workers) as ex:
        parts = PartCache(edition.project.root / CACHE_DIR, book.styles, enabled=cache, project=edition.project.root)
        # each part of the text is laid out as soon as it is rendered, while the main
        # process renders the next ones
        early = EarlyParts(book, ex, parts)
        book.render_chapters(progress, on_unit=early.send)
        book.check_glyphs()
        book.make(ex, target, parts, progress, early=early)
    return target


@dataclass
class Chapter:
    id: str
    number: object                 # the unit's number as printed ("12"; FRUS: its @n)
    title: str
    short: str
    running: str
    lang: str
    source: str
    text: str
    file: str = ""
    line: int = 0
    group: str = ""
    group_id: str = ""
    group_title: str = ""          # set on the first unit of a titled group
    group_html: str = ""           # its heading as printed, where a note is on it (a footnote)
    outer: list = field(default_factory=list)  # the divisions above the group that open here
                                   # (a FRUS compilation, then its chapter …): {id, title}
    run_on: bool = False           # continues its group's page (no recto break)
    continued: bool = False        # the rest of a unit too large for one part
    kind: str = "document"         # document | section (a unit that is no document: no number)
    title_in_text: bool = False    # the unit's own head (with its notes) opens its text
    piece: int = 0                 # which piece of the unit (0: the first, with its heading)
    endnotes: str = ""
    mentions: list = field(default_factory=list)
    note_mentions: set = field(default_factory=set)   # anchors of mentions in the notes


@dataclass
class Part:
    """One part of the book, laid out on its own.  ``template`` is the part's own template
    (rendered inside part.html); back matter parts carry their data in ``data`` under
    ``name`` (a template variable)."""
    key: str
    kind: str                      # front | text | back
    template: str
    label: str = ""
    name: str = ""
    data: object = None
    chapters: list = field(default_factory=list)
    file: str = ""
    line: int = 0
class Book:
    """One printed book: its chapters, front and back matter, and its layout."""

    def __init__(self, edition: Edition, report: Report, view: str = "edited"):
        if view not in VIEW_LABELS:
            raise ValueError(f"unknown view {view!r}")
        self.edition = edition
        self.project = edition.project
        self.report = report
        self.view = view
        self.links = PrintLinks()
        self.chapters: list[Chapter] = []
        self.passes = 0
        self.laid_out: list[dict] = []   # every layout result of this build (or cache hit)
        self._stamps_cpu = 0.0
        self.stats: dict = {}
        self.styles = styles_dir(self.project)
        self.env = Environment(loader=FileSystemLoader([str(d) for d in template_dirs(self.project, "print")]),
                               autoescape=select_autoescape(["html"]), trim_blocks=False)
        self.env.filters["typographic"] = curl

    # ------------------------------------------------------------ chapters
    def render_chapters(self, progress=None, on_unit=None) -> None:
        """Render every unit of the edition (a document, or a FRUS document) with the print
        renderer.  Units of one group (the divisions holding them, e.g. a FRUS chapter) run
        on; each group starts on a recto under its title."""
        if progress is not None:
            progress.start("PDF: text", len(self.edition.docs))
        previous_group = None
        opened: set = set()        # the outer divisions whose headings are printed already
        for rdoc in self.edition.docs:
            r = PrintRenderer(self.edition, rdoc, self.links, self.report, view=self.view)
            text = normalise_space(r.render())
            # a unit inside a file (a FRUS document) has its source in its source note; the
            # file's header describes the whole volume
            src = r.source_description() if rdoc.is_file else None
            title = rdoc.title
            if not rdoc.is_file:   # "12. Telegram From …": the number is printed apart
                title = re.sub(rf"^\s*{re.escape(str(rdoc.n))}\.\s+", "", title) or title
            short = short_title(title)
            unit = rdoc.element                         # the unit's element (a FRUS document)
            group, group_title = _group(rdoc, unit)
            shown = rdoc.number if rdoc.is_file else rdoc.n
            first = group != previous_group
            previous_group = group
            outer = _outer_heads(rdoc, opened) if first and group_title else []
            noted = _noted_heads(r, rdoc) if first and group_title else {}
            for head in outer:
                head["html"] = noted.get(head["xid"], "")
            chunks = split_tree(text, PART_HTML)
            ch = Chapter(
                id=self.links.chapter_id(rdoc), number=shown, title=title,
                kind=rdoc.kind, title_in_text=not rdoc.is_file and rdoc.title_element is not None, short=short,
                running=f"{rdoc.label} · {short}" if rdoc.is_file else short, lang=rdoc.doc.root.get(XML_LANG) or self.project.language,
                source=_html(normalise_space(src)) if src is not None else "", text=_html(chunks[0]),
                file=rdoc.doc.rel, line=(unit.sourceline if unit is not None else rdoc.doc.root.sourceline) or 1,
                group=group, group_id=f"group-{_slug(group)}" if group_title and first else "",
                group_title=group_title if first else "", outer=outer, run_on=not first,
                group_html=noted.get(rdoc.context[-1][0], "") if noted and rdoc.context else "",
                endnotes="".join(_html(normalise_space(e)) for e in r.endnotes),
                mentions=r.mentions, note_mentions=r.in_notes)
            self.chapters.append(ch)
            lines = {self.links.anchor(rdoc, a): el.sourceline for el, (a, _) in rdoc.paragraphs.items()} \
                if len(chunks) > 1 else {}
            for k, chunk in enumerate(chunks[1:], 1):   # a unit too large for one part goes on
                self.chapters.append(dataclasses.replace(
                    ch, piece=k, text=_html(chunk), source="", group_id="", group_title="", outer=[], run_on=True,
                    continued=True, mentions=[], line=_first_line(chunk, lines, ch.line), endnotes=""))
            if len(chunks) > 1:        # the notes at the end of the unit, after its last piece
                self.chapters[-1].endnotes, ch.endnotes = ch.endnotes, ""
            if on_unit is not None:
                on_unit()
            if progress is not None:
                progress.advance()
        if progress is not None:
            progress.stop()

    # -------------------------------------------------------- HTML of the book
    def base_context(self) -> dict:
        """What every part's template sees that does not depend on the rest of the book."""
        p = self.project
        return {
            "project": p, "book_short": short_title(p.title, 70), "version": __version__, "view": self.view, "view_label": VIEW_LABELS[self.view],
            "subject": p.description or p.subtitle or p.title, "keywords": self.keywords(),
            "date_iso": self.date().strftime("%Y-%m-%dT%H:%M:%SZ")}

    def context(self, pages: dict | None = None, known: set | None = None) -> dict:
        """What every part's template sees (the part itself comes as ``part``)."""
        p = self.project
        back = self.back_matter(pages, known)
        return {
            **self.base_context(),
            "sources": [d.name for d in self.edition.corpus.documents],
            "witnesses": [w.name for w in self.witnesses()],
            "introduction": [s.strip() for s in re.split(r"\n\s*\n", p.introduction or "") if s.strip()],
            "principles": _paragraphs(self.edition.profile.principles),
            "counts": self.counts(), "key": self.key(),
            "silent": sum(len(rd.silent) for rd in self.edition.docs),
            "front_toc": [x for x in (
                {"id": "introduction", "label": "Introduction"} if p.introduction else None,
                {"id": "principles", "label": "Note on the text"},
                {"id": "key", "label": "Key to the editorial signs"}) if x],
            "chapters": self.chapters,
            "groups": [{"id": ch.group_id, "label": ch.group_title} for ch in self.chapters if ch.group_title],
            "back_toc": [{"id": part.name, "label": part.label} for part in back],
        }

    def back_matter(self, pages: dict | None = None, known: set | None = None) -> list[Part]:
        """The parts after the text, in order: each is a template and its data (an empty
        part is left out).  An appendix is one more entry here.  (Before the pages are
        known, with the book's own ids, made once: the contents and the parts both ask.)"""
        if pages is None and known is not None and known is getattr(self, "_known", None):
            if getattr(self, "_back", None) is None:
                self._back = self._back_matter(None, known)
            return self._back
        return self._back_matter(pages, known)

    def _back_matter(self, pages: dict | None, known: set | None) -> list[Part]:
        out = []
        redactions = self.redactions(known)
        if redactions:
            out.append(Part("back-redactions", "back", "redactions.html", "Appendix: Redactions",
                            "redactions", redactions))
        for g in self.edition.profile.glossaries:     # FRUS: Persons, Abbreviations
            glossary = self.glossary(g)
            if glossary:
                out.append(Part(f"back-glossary-{_slug(g.name)}", "back", "glossary.html", g.label,
                                glossary["id"], glossary))     # the template reads part.data
        concordance = self.concordance()
        if concordance:
            out.append(Part("back-concordance", "back", "concordance.html", "Concordance of events",
                            "concordance", concordance))
        index = self.index(pages)
        if index:
            out.append(Part("back-index", "back", "index.html",
                            "Index of persons, places and organisations", "index", index))
        return out

    def parts(self, pages: dict | None = None, known: set | None = None) -> list[Part]:
        """Front matter, the text in parts of a sensible size, the back matter."""
        return [Part("front", "front", "front.html", "Front matter")] + self.text_parts() \
            + self.back_matter(pages, known)

    def text_parts(self) -> list[Part]:
        """The text (the chapters rendered so far) in parts of a sensible size."""
        out: list[Part] = []
        current: list[Chapter] = []
        size = 0

        def flush():
            nonlocal current, size
            if current:
                first = current[0]
                out.append(Part(f"text-{first.id}" + (f"-{first.piece}" if first.piece else ""), "text", "chapters.html", first.title,
                                chapters=current, file=first.file, line=first.line))
            current, size = [], 0

        for ch in self.chapters:
            n = len(ch.text) + len(ch.source)
            if current and (not ch.run_on or size + n > PART_HTML):
                flush()
            current.append(ch)
            size += n
            if ch.continued:   # the rest of a large unit fills its part (one running head)
                flush()
        flush()
        return out

    def part_html(self, part: Part, ctx: dict) -> str:
        extra = {part.name: part.data} if part.name else {}
        return self.env.get_template("part.html").render(**ctx, **extra, part=part)

    def counts(self) -> dict:
        """Annotations per kind, and per kind and type (``redaction.restored``: the masks
        or withheld words the editors restored, which make the reading text differ from the
        witness; an unrestored redaction, FRUS's "[… not declassified]", does not)."""
        out: dict = {}
        for r in self.edition.docs:
            for a in r.annotations:
                for key in (a.kind, f"{a.kind}.{a.type}"):
                    out[key] = out.get(key, 0) + 1
        return out

    def key(self) -> list[dict]:
        """The key to the signs, from the profile's ``[[signs]]``: a row is shown when the
        edition has annotations of one of its kinds (a row without kinds always) and its
        view (if it names one) is the book's.  Samples use the very classes of the text,
        so print.css draws them exactly as it draws the text."""
        c = self.counts()
        rows = []
        for sign in self.edition.profile.signs:
            kinds = sign.get("kinds") or []
            if kinds and not any(c.get(k) for k in kinds):
                continue
            if sign.get("view") and sign["view"] != self.view:
                continue
            rows.append({"sample": str(sign.get("sample", "")), "meaning": str(sign.get("meaning", ""))})
        return rows

    def keywords(self) -> list[str]:
        kw = self.project.extra.get("keywords")
        if isinstance(kw, list) and all(isinstance(k, str) for k in kw):
            return kw
        mentions = self.edition.corpus.mentions
        top = sorted(((len(v), k) for k, v in mentions.items()), key=lambda x: (-x[0], x[1]))[:8]
        ents = self.edition.corpus.entities
        return ["TEI", "scholarly edition"] + [ents[k].name for _, k in top if k in ents]

    def date(self) -> datetime:
        """The book's date, from the input only: SOURCE_DATE_EPOCH, else the latest
        ``revisionDesc/change/@when``, else the edition's year, else 1970."""
        sde = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
        if sde.isdigit():
            return datetime.fromtimestamp(int(sde), tz=timezone.utc)
        whens = []
        for d in self.edition.corpus.documents:
            for ch in d.root.iterfind(f"{T}teiHeader/{T}revisionDesc//{T}change"):
                w = (ch.get("when") or "")[:10]
                if re.fullmatch(r"\d{4}(-\d{2}(-\d{2})?)?", w):
                    whens.append(w)
        if not whens and re.fullmatch(r"\d{4}", self.project.date or ""):
            whens.append(self.project.date)
        for w in sorted(whens, reverse=True):  # the latest that is a real date (not year 0)
            parts = [int(x) for x in w.split("-")] + [1, 1]
            try:
                return datetime(parts[0], parts[1], parts[2], tzinfo=timezone.utc)
            except ValueError:
                continue
        return datetime(1970, 1, 1, tzinfo=timezone.utc)

    def witnesses(self) -> list[Path]:
        out = []
        for d in self.edition.corpus.texts:
            w = d.witness
            if w is not None and gate.passes(self.project.root, w, output=self.project.output_dir):
                out.append(w)
        return out

    # ---------------------------------------------------- concordance, index
    def concordance(self) -> list[dict]:
        """The events and their passages (:attr:`Edition.concordance`), with page anchors
        and short excerpts."""
        out = []
        for item in self.edition.concordance:
            ev = item["event"]
            passages = []
            for r in item["rows"]:
                excerpt = plain(r["seg"], self.view)
                if self.view == "edited":
                    excerpt = curl(excerpt)
                passages.append({
                    "anchor": self.links.element(r["unit"], r["seg"])[1:],
                    "label": r["label"],
                    "disagrees": r["subtype"] == "disagrees",
                    "excerpt": excerpt if len(excerpt) <= 160 else excerpt[:157].rsplit(" ", 1)[0] + " …"})
            when = dates_in_words(ev.element)
            out.append({"id": ev.id, "name": ev.name, "dates": when if when not in ev.name else "",
                        "desc": reader_text(self.edition, curl(ev.description)),
                        "passages": passages})
        return out

    def glossary(self, g) -> dict | None:
        """A glossary of the profile (the lists of persons and abbreviations of a FRUS volume)
        as an appendix: its entries in collation order, each with its description; a
        cross-reference entry ("Yang, Dr., see You Chan Yang") points to the entry it names.
        Names and terms in the text link to their entry."""
        ed = self.edition
        entries = sorted(ed.glossary_entries(g.name), key=lambda e: ed.sort_key(e.term))
        if not entries:
            return None
        rows = []
        for e in entries:
            target = ed.glossary_target(e)
            rows.append({"id": f"glossary-{e.id}", "term": e.term, "description": e.description,
                         "see": f"glossary-{target.id}" if target is not e else "",
                         "see_term": target.term if target is not e else ""})
        return {"id": "glossary--" + re.sub(r"[^A-Za-z0-9_-]", "-", g.name), "label": g.label, "heading": g.heading,
                "entries": rows}

    def redactions(self, known: set | None = None) -> dict | None:
        """The appendix of redactions (templates/print/redactions.html): totals, a table per
        document, each redaction with the page it stands on.  None when the edition says
        nothing about redactions."""
        from editio.redactions import describe_tally, figures, rules_of
        if rules_of(self.project).empty:
            return None
        docs, total = figures(self.edition.redactions)
        groups = []
        for f in docs:
            rd = self.edition.locate(f.unit.shown_at) or self.edition.resolved(f.unit.doc)
            if rd is None:
                continue
            rows = []
            for r in f.items:
                cands = [self.links.element(rd, el)[1:] for el in (r.element, r.anchor) if el is not None]
                par = rd.paragraph_of(r.anchor) if r.anchor is not None else None
                if par:
                    cands.append(self.links.anchor(rd, par[0]))
                cands.append(self.links.element(rd, f.unit.shown_at)[1:])
                cands.append(self.links.chapter_id(rd))
                anchor = next((a for a in cands if known is None or a in known), None)
                rows.append({"r": r, "anchor": anchor})
            groups.append({"unit": f.unit, "rows": rows, "tally": f.tally,
                           "extent": describe_tally(f.tally)})
        order = {"high": 0, "medium": 1, "low": 2}
        return {"groups": groups, "total": total, "extent": describe_tally(total),
                "has_extent": any(r.extent is not None for r in self.edition.redactions),
                "certs": sorted(total["by_cert"].items(), key=lambda c: (order.get(c[0], 9), c[0])),
                "whole": sum(1 for g in groups if g["tally"]["withheld"] == "whole"),
                "part": sum(1 for g in groups if g["tally"]["withheld"] == "part")}

    def index(self, pages: dict | None = None) -> list[dict]:
        """Entries per kind; ``pages`` (anchor -> page number) merges the page numbers.

        As a back-of-book index: each original-script form once; a "see" reference only
        where it sends the reader elsewhere (never to the heading beside it: "Stalin, see
        Stalin, Joseph"); a name mentioned more than :data:`SUBENTRIES` times in more than
        one document gets a subentry per document ("Doc. 4: 55–58, 61"), and a subentry
        with more than :data:`SUBENTRIES` pages prints its span *passim*."""
        corpus = self.edition.corpus
        labels = {self.links.chapter_id(rd): rd.label for rd in self.edition.docs}
        notes = set().union(*(ch.note_mentions for ch in self.chapters))
        by_entity: dict[str, list[tuple[str, str]]] = {}
        for ch in self.chapters:
            for ent_id, anchor in ch.mentions:
                by_entity.setdefault(ent_id, []).append((labels.get(ch.id, ch.title), anchor))
        parts = []
        for kind, label in KINDS:
            entries = []
            for ent in corpus.entities_of(kind):
                found = by_entity.get(ent.id)
                if not found:
                    continue
                anchors = [a for _, a in found]
                docs = list(dict.fromkeys(d for d, _ in found))
                subs = []
                if len(anchors) > SUBENTRIES and len(docs) > 1:
                    subs = [{"label": d, "pages": _passim(_page_list([a for dd, a in found if dd == d], pages, notes))}
                            for d in docs]
                originals, seen = [], set()
                for t, lang in ent.original_names:
                    if t not in seen:
                        seen.add(t)
                        originals.append({"text": t, "lang": lang})
                entries.append({"id": ent.id, "name": ent.index_name, "sort": self.edition.entity_sort_key(ent),
                                "originals": originals,
                                "dates": ent.dates if kind == "person" else "",
                                "pages": [] if subs else _passim(_page_list(anchors, pages, notes)), "subs": subs})
                for v in ent.variants:
                    if _sort_key(v) != _sort_key(ent.name) and _sort_key(v) != _sort_key(ent.index_name):
                        entries.append({"see": ent.index_name, "name": v, "sort": self.edition.sort_key(v)})
            if entries:
                entries.sort(key=lambda e: (e["sort"], "see" in e))
                entries = _useful_see(entries)
                parts.append({"kind": kind, "label": label, "entries": entries})
        return parts

    # ---------------------------------------------------------------- glyphs
    def check_glyphs(self) -> None:
        """Warn (``pdf.glyph``) about characters of the book that the shipped fonts lack."""
        try:
            from fontTools.ttLib import TTFont
        except ImportError:  # pragma: no cover - fontTools comes with WeasyPrint
            return
        fonts = sorted((self.styles / "fonts").glob("*.[ot]tf"))
        if not fonts:
            return
        covered: set[int] = set()
        for f in fonts:
            covered.update(TTFont(str(f), lazy=True).getBestCmap() or {})
        text = "".join(ch.text + ch.source + ch.title for ch in self.chapters)
        text = etree.HTML("<div>" + text + "</div>").xpath("string()") if text else ""
        for e in self.edition.corpus.entities.values():
            text += "".join(t for t, _, _ in e.names)
        missing = sorted({c for c in text if ord(c) > 0x20 and ord(c) not in covered
                          and not (0xFE00 <= ord(c) <= 0xFE0F) and c not in "\u200b\u200c\u200d\u2060\ufeff"})
        for c in missing:
            where = self._locate_char(c)
            self.report.warning(where[0], where[1], "pdf.glyph",
                                f"character {c} (U+{ord(c):04X}) is in no font of styles/fonts; the PDF "
                                "would use a system font. Run tools/subset_fonts.py to add it")

    def _locate_char(self, c: str) -> tuple[str, int]:
        for d in self.edition.corpus.documents:
            try:
                for i, line in enumerate(d.path.read_text(encoding="utf-8").splitlines(), 1):
                    if c in line:
                        return d.rel, i
            except OSError:
                continue
        return "styles/fonts", 0

    # ---------------------------------------------------------------- layout
    def tei_size(self, part: "Part") -> float:
        """The characters of TEI text a part of the text prints: each of its units' (the
        share of its pieces a unit cut in pieces has here); 0 for other parts."""
        if part.kind != "text" or not part.chapters:
            return 0
        if getattr(self, "_unit_chars", None) is None:
            self._unit_chars = {}
            for rd in self.edition.docs:
                el = rd.element if rd.element is not None else rd.doc.root
                self._unit_chars[self.links.chapter_id(rd)] = len(" ".join("".join(el.itertext()).split()))
        html: dict = {}
        for ch in self.chapters:
            html[ch.id] = html.get(ch.id, 0) + len(ch.text)
        return sum(self._unit_chars.get(ch.id, 0) * len(ch.text) / max(1, html.get(ch.id, 0)) for ch in part.chapters)

    def page_guess(self, cache: "PartCache") -> "PageGuess":
        """The guess of each anchor's page before the parts are laid out (:class:`PageGuess`):
        the previous build's page map, else an estimate from the input.  An anchor nobody
        can place gets the room of the book's last page as estimated from the TEI's text
        (a page holds about 2,500 characters with its notes; 1,800 for headroom)."""
        prev = cache.load_map() or {}
        chars = sum(len(" ".join("".join(d.root.itertext()).split())) for d in self.edition.corpus.documents)
        return PageGuess(len(self.edition.docs), prev,
                         fallback=len(str(max(10, chars // 1800 + 12))),
                         introduction=len(self.project.introduction or ""))

    def make(self, executor, target: Path, cache: "PartCache", progress=None, early=None) -> int:
        """Lay the parts out (in parallel, once), then the index with the pages they have,
        then one overlay of every page number; merge it all into ``target``.  Returns the
        number of layout passes over the parts (1; 2 when a slot's room, guessed, was not
        its number's: those parts only are laid out again)."""
        import time
        from editio.builders.pdf_layout import lay_out
        from editio.builders.pdf_merge import merge_apart
        clock = {"start": time.perf_counter()}
        guess = early.guess if early is not None else self.page_guess(cache)
        results: dict[str, dict] = {}
        laid: dict[str, str] = {}          # part key -> the HTML its result was laid out from
        wrong: set = set()                 # the parts with a number wider than its room
        ctx_attachments = self.attachments()
        ctx = self.context(None, known=self.known_ids())
        for n in range(1, MAX_PASSES + 1):
            body = [p for p in self.parts(None, known=self.known_ids()) if p.key != INDEX]
            raw = {part.key: self.part_html(part, ctx) for part in body}
            # A printed index's page locators (a volume's own index: "Korea, 38–40, 73–74")
            # are set with the room their numbers take, no more (a slot as wide as the
            # book's widest number leaves a gap: "38–40,   73–74"): a part holding them
            # (pointing back into the book, unlike a volume's own list of contents) is laid
            # out once the parts before it are, so its numbers are known, while the parts
            # after it that hold no locators are laid out with the first (two volumes bound
            # in one book: the second volume's text does not wait for the first's index).
            # (The layout is the same on every build with the same pages, so such a part
            # comes from the cache like any other.)
            late = _first_index(body, raw)
            before = body[:late]
            held = [part for part in body[late:] if LOCATOR in raw[part.key]]
            # the parts of a long run-on group, in chains (each part begins with what the
            # one before it carried over from its last page): a part after a held one in
            # its chain is held with it
            chains = _chains(body, raw, getattr(executor, "workers", None) or 2, late={h.key for h in held})
            keys = {h.key for h in held}
            for part in body:
                if chains[0].get(part.key) in keys and part.key not in keys:
                    keys.add(part.key)
                    held.append(part)
            first = [part for part in body if part.key not in keys]
            if n == 1:
                for part in body:           # (in book order; the parts of the text placed early stay)
                    guess.place(part, raw[part.key], self.tei_size(part))
            # a pass after the first gives the slots of the parts where a number came out
            # wider than its room the room of their numbers (the pages of the pass before),
            # never less than they had (so the layouts settle); the other parts stay as
            # they were laid out
            exact = pages if n > 1 else None
            floors = {k: {i: r for i, (_, _, r) in _rooms(h).items()} for k, h in laid.items()} if n > 1 else {}
            htmls = {part.key: laid[part.key] if n > 1 and part.key not in wrong
                     else self.fill(raw[part.key], guess, exact, floors.get(part.key)) if n > 1
                     or part.key in chains[0]          # (a part given blocks by the one before: as kept)
                     else self.kept_or_tight(part, raw[part.key], guess, cache, part.key in chains[1], ctx_attachments,
                                             seam=part.key in chains[2])
                     for part in first}

            def known_pages(before=before):
                offs, _ = _offsets(before, results)
                return self._page_map(before, results, offs)

            def later(known, rest=held, raw=raw, htmls=htmls, chains=chains, exact=exact, floors=floors,
                      wrong=wrong):
                for part in rest:
                    htmls[part.key] = laid[part.key] if exact and part.key not in wrong else \
                        self.fill(raw[part.key], guess, {**(exact or {}), **known}, floors.get(part.key))
                return _with_chains([part for part in rest if laid.get(part.key) != htmls[part.key]], rest, chains)

            # (a part laid out again may carry other blocks over: the next in its chain too)
            todo = _with_chains([p for p in first if laid.get(p.key) != htmls[p.key]], first, chains)
            waits = {p.key for p in todo} & {p.key for p in before}
            started = early.take(htmls, chains[1]) if early is not None and n == 1 else {}
            more = self._lay_out(executor, lay_out, todo, htmls, results, cache, ctx_attachments, progress, n,
                                 then=(waits, known_pages, later, len(held)) if held else None,
                                 started=started, chains=chains)
            for p in todo + more:
                laid[p.key] = htmls[p.key]
            offsets, total = _offsets(body, results)
            pages = self._page_map(body, results, offsets)
            # a number wider than its room: its part is laid out again with room for it
            # (a narrower one is set against the word before it: Book.fill)
            wrong = {p.key for p in body if any(len(need) > len(room)
                                                for _, room, need in self.wrong_rooms(laid.get(p.key, ""), pages))}
            if not wrong:
                break
            if n == MAX_PASSES:
                self.report.warning("build/pdf/edition.pdf", 0, "pdf.pages",
                                    f"the parts' layout did not settle after {MAX_PASSES} passes; "
                                    "some page numbers may be too wide for their room")
                break
        self.passes = n
        clock["parts"] = time.perf_counter()
        pages = self._page_map(body, results, offsets)
        # the index last: nothing points into it, so it is laid out with the real pages
        # (merged runs, "12–14") once the parts before it are laid out
        parts = body
        index = [p for p in self.back_matter(pages, known=set(pages)) if p.key == INDEX]
        if index:
            part = index[0]
            htmls[INDEX] = self.fill(self.part_html(part, self.context(pages, known=set(pages))), guess, pages)
            self._lay_out(executor, lay_out, [part], htmls, results, cache, ctx_attachments, progress, n + 1)
            parts = body + [part]
            offsets, total = _offsets(parts, results)
            pages = self._page_map(parts, results, offsets)
        clock["index"] = time.perf_counter()
        refs = {r for part in parts for s in results[part.key].get("slots", ())
                for r in (s["ref"], s.get("to")) if r}
        refs.update(a for ch in self.chapters for _, a in ch.mentions)  # the index
        missing = sorted(r for r in refs if r not in pages)
        for r in missing[:20]:
            self.report.warning("build/pdf/edition.pdf", 0, "pdf.ref",
                                f'page reference to "#{r}", which is not in the book')
        # every page number of the book (the running folios and the numbers in the slots),
        # laid out once and laid over the parts' pages
        # A part that runs on from the page before it may start on a verso: it was laid out
        # from a recto all the same (mirrored margins of one width), so each of its pages on
        # the other side is moved by the difference of the margins.
        xs: dict = {}
        for part in parts:
            for side, name, x in results[part.key].get("sides", ()):
                xs.setdefault((side, name), x)
                xs.setdefault((side, ""), x)
        folios: list = []
        numbers: list = []
        marks: list = []           # the paragraphs' margin numbers (pdf_layout.margin_marks)
        heads: list = []
        shifts: list = []
        for part in parts:
            r = results[part.key]
            first = len(folios)
            folios += r["folios"]
            numbers += [[] for _ in r["folios"]]
            marks += [[] for _ in r["folios"]]
            for m in r.get("marks", ()):
                marks[first + m["page"] - 1].append(m)
            heads += (r.get("heads") or [])[:len(r["folios"])] + [""] * (len(r["folios"]) - len(r.get("heads") or []))
            for j, (side, name, x) in enumerate(r.get("sides") or [["right", "", 0]] * len(r["folios"])):
                real = "right" if (first + j) % 2 == 0 else "left"
                other = xs.get((real, name), xs.get((real, ""), x))
                shifts.append(0.0 if real == side else round((other - x) * 0.75, 3))
            shifts += [0.0] * (len(folios) - len(shifts))
            for s in r.get("slots", ()):
                i = first + s["page"] - 1
                numbers[i].append({**s, "text": _slot_text(s, pages),
                                   "mid": [s["mid"][0] + shifts[i], s["mid"][1]]})
            if len(folios) % 2 and part is not parts[-1] and _starts_right(parts, part):
                folios.append(None)
                numbers.append([])
                marks.append([])
                heads.append("")
                shifts.append(0.0)
        if len(folios) % 2:
            folios.append(None)
            numbers.append([])
            marks.append([])
            heads.append("")
            shifts.append(0.0)
        # each distinct number and head laid out once (a "stamp"), and drawn on each page
        # where it stands, in its place: a folio and a head where the margin boxes of
        # folio.css put them on a page of that name and side; a slot's number on the
        # slot's baseline, at the slot's end (or start)
        # the merge copies the parts into the book (in a process of its own) while the
        # stamps are laid out; it then draws them
        parts = [p for p in parts if "path" in results[p.key]]   # (a failed part's stand-in failing too)
        recto = [not _runs_on(p) for p in parts]

        def finish():
            overlay = self._stamps(executor, folios, numbers + marks, heads, cache)
            if overlay is not None:
                sheet, stamps, refs = overlay
                draw: list = []
                for i, (f, nums, head) in enumerate(zip(folios, numbers, heads)):
                    side = "right" if i % 2 == 0 else "left"
                    here = []
                    if f is not None:
                        roles = refs.get((f, side), {})
                        for role, text in (("folio", str(i + 1)), ("head", head)):
                            if text is None:        # (a page where a chapter opens: no head)
                                continue
                            r = roles.get(role)
                            text = r and (r["text"] if r["text"] is not None else text)
                            st = stamps.get((text, r["font"])) if text else None
                            if st is not None:
                                x = r["anchor"] - {"left": 0, "right": st["w"]}.get(r["align"], st["w"] / 2)
                                here.append((st["ops"], x - st["x"], r["baseline"] - st["baseline"]))
                    cx = xs.get((side, f or ""), xs.get((side, ""), 0))
                    for num in nums:
                        st = stamps.get((num["text"], num["font"]))
                        if st is None or "by" not in num:
                            continue
                        tail = stamps.get((num.get("tail"), num["font"])) if num.get("tail") else None
                        w = st["w"] + (tail["w"] if tail is not None else 0)
                        x = cx + num["x"] + (num["w"] - w if num.get("align", "end") == "end" else 0)
                        here.append((st["ops"], x - st["x"], num["by"] - st["baseline"]))
                        if tail is not None:   # (the punctuation after it: "99)")
                            here.append((tail["ops"], x + st["w"] - tail["x"], num["by"] - tail["baseline"]))
                    for m in marks[i]:
                        st = stamps.get((m["text"], m["font"]))
                        if st is not None:
                            here.append(mark_drawn(m, st, cx))
                    draw.append(here)
                overlay = (sheet, draw)
            clock["overlay"] = time.perf_counter()
            return overlay, _link_labels(numbers), shifts

        count, merge_rss, merge_cpu = merge_apart([results[p.key]["path"] for p in parts], recto, finish, target)
        clock["merge"] = time.perf_counter()
        if count != len(folios):
            self.report.warning("build/pdf/edition.pdf", 0, "pdf.pages",
                                f"the book has {count} pages but {len(folios)} page numbers")
        self.page_count = count
        self.page_map = pages
        fresh = [r for r in self.laid_out if not r.get("cached")]
        self.stats = {"parts": len(parts), "passes": n, "pages": count,
                      "laid_out": len(fresh), "from_cache": len(self.laid_out) - len(fresh),
                      "peak_rss": max((r.get("peak_rss", 0) for r in fresh), default=0),
                      "merge_rss": merge_rss, "merge_cpu": merge_cpu,
                      "stamps_cpu": self._stamps_cpu,
                      "layout_seconds": sum(r.get("seconds", 0) for r in fresh),
                      "layout_cpu": sum(r.get("cpu", 0) for r in fresh),
                      "seconds": {k: round(clock[k] - clock[prev], 1) for prev, k in
                                  (("start", "parts"), ("parts", "index"), ("index", "overlay"),
                                   ("overlay", "merge"))}}
        self.report.add("build/pdf/edition.pdf", 0, 0, "info", "pdf.parts",
                        f"{count} pages in {len(parts)} parts: {len(fresh)} layouts in {n} pass(es), "
                        f"{self.stats['from_cache']} taken from the build cache; peak memory of a "
                        f"layout process {self.stats['peak_rss'] / 2**20:.0f} MB, of the merge "
                        f"{merge_rss / 2**20:.0f} MB; "
                        + ", ".join(f"{k} {v:.1f} s" for k, v in self.stats["seconds"].items())
                        + f"; CPU of the layouts {self.stats['layout_cpu']:.1f} s, of the stamps "
                        f"{self._stamps_cpu:.1f} s, of the merge {merge_cpu:.1f} s")
        # the pages of the anchors that slots point at: the next build's guess (PageGuess)
        # the next build's rooms (PageGuess): each anchor a slot points at, its page and the
        # widest room a slot pointing at it had
        rooms: dict = {}
        for h in laid.values():
            for ref, to, room in _rooms(h).values():
                if not to and ref in pages:
                    rooms[ref] = max(rooms.get(ref, 0), len(room))
        cache.save_map({"pages": {r: pages[r] for r in sorted(rooms)}, "rooms": {r: rooms[r] for r in sorted(rooms)}})
        cache.prune()
        for part in parts:
            for w in results[part.key]["warnings"]:
                self.report.warning(part.file or "build/pdf/edition.pdf", part.line, "pdf.weasyprint", w)
            seam = results[part.key].get("seam") or {}
            if seam.get("why"):
                # (where two chains of a run-on group meet: pdf_layout.fit_seam)
                last = offsets.get(part.key, 0) + results[part.key]["pages"]
                self.report.add(part.file or "build/pdf/edition.pdf", part.line, 0, "info", "pdf.seam",
                                f"page {last} of the book is {seam['blank']:.0%} blank: the text after it was "
                                f"laid out apart (in parallel) and the pages before it could not take up "
                                f"the gap ({seam['why']})")
        return n

    @staticmethod
    def _page_map(parts: list, results: dict, offsets: dict) -> dict:
        """anchor id -> its page in the book."""
        out: dict = {}
        for part in parts:
            for name, i in results[part.key]["anchors"].items():
                out.setdefault(name, offsets[part.key] + i)
        return out

    def known_ids(self) -> set:
        """The ids of the book's text (what a page reference may point at)."""
        if getattr(self, "_known", None) is None:
            ids = set()
            for ch in self.chapters:
                ids.update(IDS.findall(ch.text))
                ids.update(IDS.findall(ch.source))
                ids.update(IDS.findall(ch.endnotes))
                ids.add(ch.id)
            self._known = ids
        return self._known

    def attachments(self) -> list[dict]:
        """The TEI sources and the witnesses, attached to the front part (so to the book)."""
        when = self.date()
        out = [{"name": d.name, "description": f"TEI source: {d.title}",
                "data": publish.tei_bytes(d, self.project), "when": when}   # from the checked tree
               for d in self.edition.corpus.documents]
        out += [{"name": w.name, "description": "Witness as captured (plain text)",
                 "data": gate.open_regular(w), "when": when} for w in self.witnesses()]
        return out

    def _job(self, key: str, html: str, tagged: bool = True, stylesheets=None, attachments=(),
             overlay: bool = False) -> dict:
        from editio.resources import STYLES
        roots = [str(r) for r in (self.styles, STYLES) if Path(r).is_dir()]
        return {"key": key, "html": html, "base_url": str(self.styles) + "/",
                # WeasyPrint's url_fetcher in the worker (editio.builders.fetcher): no network,
                # nothing outside the project and the styles
                "fetcher": {"project_root": str(self.project.root), "style_roots": roots,
                            "output": str(self.project.output_dir)},
                "stylesheets": stylesheets or [str(style_file(self.project, "print.css"))],
                "tagged": tagged, "overlay": overlay,
                # (the same for the same content wherever the project is)
                "identifier": hashlib.sha256(unplaced(html, str(self.project.root)).encode()).hexdigest()[:32],
                "attachments": list(attachments)}

    def _lay_out(self, executor, fn, todo, htmls, results, cache, attachments, progress, n,
                 counting=(), then=None, started=None, chains=None) -> list:
        """Lay out ``todo`` (from the cache when it can), in parallel; the parts in
        ``counting`` only for their page facts.  ``then``: (keys, known, more, count): as
        soon as the parts ``keys`` of ``todo`` are laid out, ``more(known())`` gives (up to
        ``count``) more parts to lay out (their HTML put in ``htmls``) while the rest go on;
        those are returned.  ``started``: part key -> (job, cache key, part, future, cache
        hit) of layouts begun already (:class:`EarlyParts`).  ``chains``: (after, carry, seam):
        a part in ``after`` is laid out once the part named there is, beginning with the
        blocks that part carried over (:func:`_chains`); a part in ``carry`` may carry its
        last page's blocks over to the next part.

        At most as many layouts as the executor has workers are submitted at a time, the
        one heading the longest chain of parts still to do first (the parts of a chain go
        one after the other: a worker is never idle while a chain waits in a queue)."""
        from concurrent.futures import FIRST_COMPLETED, wait
        after, carry, seam = chains or ({}, set(), set())
        nxt = {prev: key for key, prev in after.items()}
        jobs: dict = {}
        futures: dict = {}
        added: list = []
        done: set = set()
        ready: list = []
        waiting: dict = {}                # part key -> the parts waiting for it
        limit = getattr(executor, "workers", None) or 0
        coming = {p.key for p in todo} | set(started or ())

        def rank(key):
            out = 0
            while key is not None:
                out += len(htmls.get(key, ""))
                key = nxt.get(key)
            return out

        def submit(parts):
            for part in parts:
                prev = after.get(part.key)
                if prev is not None and prev in coming and prev not in done:
                    waiting.setdefault(prev, []).append(part)
                    continue
                html = htmls[part.key]
                heads = None
                got = (results.get(prev) or {}).get("carry") if prev is not None else None
                if got:
                    html, heads = carried_into(html, got["html"]), got["heads"]
                job = self._job(part.key, html, attachments=attachments if part.kind == "front" else ())
                if heads:
                    job["carry_heads"] = heads
                if part.key in carry:
                    job["carry_out"] = True
                if part.key in seam:      # (where the next chain begins: fit_seam)
                    job["seam"] = True
                ck = cache.key(job)
                job["write"] = part.key not in counting
                hit = cache.get(ck)
                if hit is not None:
                    results[part.key] = hit
                    finished(part.key)
                    self.laid_out.append({"cached": True})
                else:
                    jobs[part.key] = (job, ck, part)
                    ready.append(part.key)

        def finished(key):
            done.add(key)
            submit(waiting.pop(key, ()))

        def dispatch():
            ready.sort(key=rank)
            while ready and (not limit or len(pending) < limit):
                key = ready.pop()
                fut = executor.submit(fn, jobs[key][0])
                futures[fut] = key
                pending.add(fut)

        def release():
            nonlocal then
            while then is not None and then[0] <= done:
                keys, known, more, _ = then
                then = None
                extra = more(known())
                added.extend(extra)
                coming.update(p.key for p in extra)
                submit(extra)

        pending: set = set()
        for key, (job, ck, part, fut, hit) in (started or {}).items():
            if hit is not None:
                results[key] = hit
                self.laid_out.append({"cached": True})
                finished(key)
            else:
                jobs[key] = (job, ck, part)
                futures[fut] = key
                pending.add(fut)
        submit([p for p in todo if p.key not in (started or {})])
        release()
        dispatch()
        shown = bool(progress is not None and (jobs or then is not None))
        if shown:
            progress.start(f"PDF: layout, pass {n}", len(jobs) + sum(len(w) for w in waiting.values())
                           + (then[3] if then else 0))
        try:
            while pending:
                finished_now, pending = wait(pending, return_when=FIRST_COMPLETED)
                for fut in finished_now:
                    key = futures[fut]
                    job, ck, part = jobs[key]
                    try:
                        res = fut.result()
                    except Exception as err:  # the worker died (killed): once more, alone
                        res = self._retry(executor, fn, job, err)
                    self.laid_out.append(res)
                    if res.get("error"):
                        res = self._failed(part, res["error"], executor, fn, cache)
                        results[key] = res
                    elif not job["write"]:
                        results[key] = res
                    else:
                        results[key] = cache.put(ck, res)
                    finished(key)
                    if shown:
                        progress.advance()
                release()
                dispatch()
        finally:
            if shown:
                progress.stop()
        return added

    @staticmethod
    def _retry(executor, fn, job, err) -> dict:
        """A part whose process died (with others' parts in the same pool) is laid out again
        on its own; if that fails too, the error is the part's."""
        try:
            return executor.submit(fn, job).result()
        except Exception as again:
            return {"key": job["key"], "error": f"the layout process failed: {type(again).__name__}: "
                    f"{again or err}"}

    def _lay_out_one(self, executor, fn, job, cache, what: str) -> dict:
        """One layout job, from the cache or the executor (retried once); a failure is
        warned about as "``what`` could not be laid out" and returned with its error."""
        ck = cache.key(job)
        hit = cache.get(ck)
        if hit is not None:
            return {**hit, "cached": True}
        try:
            res = executor.submit(fn, job).result()
        except Exception as err:
            res = self._retry(executor, fn, job, err)
        if res.get("error"):
            self.report.warning("build/pdf/edition.pdf", 0, "pdf.layout",
                                f"{what} could not be laid out: {res['error']}")
            return res
        return cache.put(ck, res)

    def _stamps(self, executor, folios: list, numbers: list, heads: list, cache):
        """Every distinct page number and running head of the book laid out once, with
        where the folios and heads of each page name and side go
        (:func:`pdf_layout.lay_out_stamps`; from the cache when nothing changed): the
        sheet's PDF, {(text, font): stamp}, and
        {(page name, side): {"folio"|"head": where}}; None if it could not be laid out."""
        from editio.builders.pdf_layout import lay_out_stamps
        sheets = [str(style_file(self.project, "print.css")), str(style_file(self.project, "folio.css"))]
        names = sorted({f for f in folios if f is not None})
        head = "Running head"
        ref = [{"name": name, "numbers": [], "head": head, "folio": 2 * k + j + 1}
               for k, name in enumerate(names) for j in (0, 1)]
        html = self.env.get_template("folio.html").render(
            project=self.project, book_short=short_title(self.project.title, 70), pages=ref)
        job = self._job("stamps", html, tagged=False, overlay=True, stylesheets=sheets)
        job.update(head=head, lang=self.project.language or "en",
                   numbers=sorted({(t, n["font"]) for nums in numbers for n in nums
                                   for t in (n["text"], n.get("tail")) if t}),
                   folios=[str(i + 1) for i, f in enumerate(folios) if f is not None],
                   heads=sorted({h for h in heads if h}))
        res = self._lay_out_one(executor, lay_out_stamps, job, cache, "the page numbers")
        self._stamps_cpu = 0.0 if res.get("cached") else res.get("cpu", 0.0)
        if res.get("error"):
            return None
        stamps = {(st["text"], st["font"]): st for st in res["stamps"] if st is not None}
        refs = {(name, side): roles for name, side, roles in res["ref"]}
        return cache.pdf(res), stamps, refs

    def _failed(self, part: Part, error: str, executor, fn, cache) -> dict:
        """Report a part WeasyPrint could not lay out, and put a page in its place that says
        so (with its anchors, so that references to it still land there)."""
        what = part.label if part.kind != "text" else (
            f"Document {part.chapters[0].number}" if len(part.chapters) == 1 else
            f"Documents {part.chapters[0].number}–{part.chapters[-1].number}")
        self.report.warning(part.file or "build/pdf/edition.pdf", part.line, "pdf.layout",
                            f"{what} could not be laid out and is left out of the PDF "
                            f"(a page says so): {error}")
        ids = []
        if part.kind == "text":
            for ch in part.chapters:
                ids += IDS.findall(ch.text) + IDS.findall(ch.source) + [ch.id]
        ids = list(dict.fromkeys(ids))
        anchors = "".join(f'<span id="{i}"></span>' for i in ids)
        html = self.env.get_template("part.html").render(
            **self.context(None), part=Part(part.key, "failed", "failed.html", what, data=error),
            failed={"label": what, "anchors": anchors, "file": part.file, "line": part.line})
        res = self._lay_out_one(executor, fn, self._job(part.key + "-failed", html), cache,
                                f"the page that says {what} is missing")
        if res.get("error"):       # not even the page that says so: the part is left out
            return {"key": part.key, "pages": 0, "anchors": {}, "folios": [], "warnings": [],
                    "error": res["error"]}
        return res

    def fill(self, html: str, guess: "PageGuess", known: dict | None = None, floor: dict | None = None,
             tight: bool = False) -> str:
        """Give every page-number slot its room and its number in the part (``data-slot``:
        the layout reports where each one is, and the number is laid over it); turn links to
        anchors of other parts into ``editio-dest:`` links that the merge points at the
        named destination.

        A slot's room is zeros (tabular figures) as many as its number has figures: the
        number itself where ``known`` (anchor -> page of the book) has it (a range slot:
        "50–56", or "50" when its ends share a page), else as ``guess`` guesses it
        (:class:`PageGuess`).  ``floor`` (slot number -> the room it had in the layout
        before): no room narrower than that (a third pass only widens rooms, so the
        layouts settle)."""
        count = iter(range(1 << 30))

        ids = self.known_ids() if known is not None else set()

        def sub(m):
            to = TO.search(m.group(2))
            to = to and to.group(1)
            room = None
            if known is not None and m.group(1) in known and (to is None or to in known or to not in ids):
                room = _room(_slot_text({"ref": m.group(1), "to": to}, known))
            if room is None:
                room = guess.room(m.group(1), to, tight)
            k = next(count)
            if floor is not None and len(floor.get(k, "")) > len(room):
                room = floor[k]
            attrs, closing, tail = m.group(2), m.group(3), m.group(4)
            if " data-align=" in attrs:       # (contents, redactions: flush right)
                closing += tail
                tail = ""
            else:
                # a number narrower than its room is set against the word before it, so
                # the spare room reads as a word space ("p. 99 and"); the punctuation that
                # follows it is taken into the slot and drawn after the number ("p. 99),":
                # never "p. 99 )," nor "p.  99),"); else (a tag or a letter follows) at
                # the room's end
                nxt = AFTER.match(m.string, m.end()).group(1)
                attrs += ' data-align="start"' if tail or not nxt or nxt.isspace() else ' data-align="end"'
                if tail:
                    attrs += f' data-tail="{tail}"'
            return (f'<span class="pn" data-ref="{m.group(1)}"{attrs} data-slot="{k}">'
                    + room + tail + "</span>" + closing)
        html = SLOT.sub(sub, html)
        own = set(IDS.findall(html))
        return HREFS.sub(lambda m: m.group(0) if m.group(1) in own else f'href="editio-dest:{m.group(1)}"', html)

    def kept_or_tight(self, part: "Part", raw: str, guess: "PageGuess", cache: "PartCache", carry_out: bool,
                      attachments=(), seam: bool = False) -> str:
        """A part's HTML filled for this build: with the rooms the last build kept (a room a
        figure wider than its number, from a first build's guess, is kept while the part is
        in the cache: it is not laid out again for that alone), or, when the part is to be
        laid out anyway, with the rooms of its numbers as the last build found them."""
        html = self.fill(raw, guess)
        if not guess.rooms:
            return html
        tight = self.fill(raw, guess, tight=True)
        if tight == html:
            return html
        job = self._job(part.key, html, attachments=attachments if part.kind == "front" else ())
        if carry_out:
            job["carry_out"] = True
        if seam:
            job["seam"] = True
        return html if cache.get(cache.key(job)) is not None else tight

    def wrong_rooms(self, html: str, pages: dict) -> list:
        """The slots of a filled part whose room is not the room of the number they print
        (``pages``: the book's): [(slot, room, the number's room)]."""
        out = []
        for k, (ref, to, room) in _rooms(html).items():
            if ref not in pages:          # (not known yet: an anchor of the index)
                continue
            need = _room(_slot_text({"ref": ref, "to": to}, pages))
            if need != room:
                out.append((k, room, need))
        return out

    @staticmethod
    def anchor_pages(pdf_path: Path) -> dict[str, int]:
        """anchor id -> the number of its page in a written book (its named destinations)."""
        import pikepdf
        out = {}
        with pikepdf.open(pdf_path) as pdf:
            index = {p.obj.objgen: i for i, p in enumerate(pdf.pages, 1)}
            names = pdf.Root.get("/Names")
            if names is not None and "/Dests" in names:
                arr = names.Dests.Names
                for i in range(0, len(arr), 2):
                    out[str(arr[i])] = index.get(arr[i + 1][0].objgen)
        return out


def _slot_text(slot: dict, pages: dict) -> str:
    """What a slot prints: its anchor's page ("?" if it is not in the book); a range slot
    (``data-to``) "50–56", or "50" when both ends are on one page."""
    p = pages.get(slot["ref"])
    if p is None:
        return "?"
    q = pages.get(slot.get("to") or "")
    return f"{p}\u2013{q}" if q is not None and q != p else str(p)


# A first estimate of the book's pages, before anything is laid out (measured on the first
# edition and three FRUS volumes: a page of text holds 2,300-2,900 characters of print HTML
# with its notes, 2,330 (FRUS) to 2,500 characters of the TEI's text,
# a page of a printed index about 1,100, of the contents about 1,000; the front matter takes
# about 7 pages, a line of contents per unit and the introduction)
TEXT_PER_PAGE = 2450
TEI_PER_PAGE = 2400
INDEX_PER_PAGE = 1100
FRONT_PER_PAGE = 1000
FRONT_PAGES = 7
FRONT_PER_UNIT = 0.06
# The estimate errs by a few hundredths on a FRUS volume (by up to a tenth on other
# books): a guess this close below a power of ten is given the room of the wider number.  (A room a figure too wide costs a little space
# beside the number; one too narrow costs a second layout of its part.)
GUESS_MARGIN = 0.06
TAG = re.compile(r"<[^>]+>")


class PageGuess:
    """The room each page-number slot is given before the parts are laid out, so that a
    slot has the room of its own number ("p. 32": two figures), not that of the book's
    widest.

    The room is the one the slot's anchor had in the previous build (the build cache
    keeps each anchor's page and room), widened if its page there needed more; or else
    from an estimate of its page from the input only: the front matter's size from the
    number of units and the introduction, then the parts in book order, each starting on
    a recto unless it runs on, as long as the TEI text it prints takes at
    :data:`TEI_PER_PAGE` (a part of other matter: its HTML's text), an anchor on the page
    its position in its part's text (the characters before it, tags left out) gives,
    biased wide near a power of ten (:data:`GUESS_MARGIN`).  The parts are placed in order as
    they are known (:class:`EarlyParts` places each part of the text as it is closed;
    :meth:`Book.make` the rest): an anchor's guess depends only on the parts up to its
    own, so a part filled early gets the rooms it would get later.

    A number that comes out wider than its room is given its room in a second layout of
    its part (:meth:`Book.make`); one narrower (a guess a figure too wide) is set against
    the word before it, the spare room falling where the text goes on (``data-align``,
    :meth:`Book.fill`).  The room is kept on later builds while the number fits it, so a
    part is never laid out again only to take in a figure's room (a cold build and a
    rebuild give the same bytes); a part laid out anyway takes its numbers' own rooms
    (:meth:`Book.kept_or_tight`)."""

    def __init__(self, units: int, previous: dict | None = None, fallback: int = 3, introduction: int = 0):
        previous = previous or {}
        pages, rooms = previous.get("pages"), previous.get("rooms")
        self.previous = pages if isinstance(pages, dict) else {}
        self.rooms = rooms if isinstance(rooms, dict) else {}
        self.fallback = fallback              # digits for an anchor nobody knows
        front = int(FRONT_PAGES + FRONT_PER_UNIT * units + introduction / FRONT_PER_PAGE)
        self.next = front + front % 2         # pages before the next part placed
        self.pages: dict[str, int] = {}
        self.placed: list[str] = []

    def place(self, part: "Part", html: str, tei: float = 0) -> None:
        """Guess the pages of the anchors of ``part`` (the next part of the book, in order;
        the front matter, whose size is estimated apart, at any time).  ``tei``: the
        characters of the TEI text the part prints (its units' share), which give its
        pages better than its HTML (:data:`TEI_PER_PAGE`)."""
        if part.key in self.placed:
            return
        self.placed.append(part.key)
        front = part.kind == "front"
        text = len(TAG.sub("", html))
        if front:                  # (its size is estimated apart: it comes first, placed last)
            start, pages = 0, text / FRONT_PER_PAGE
        else:
            self.next += 0 if _runs_on(part) else self.next % 2
            start = self.next
            pages = text / INDEX_PER_PAGE if LOCATOR in html else tei / TEI_PER_PAGE if tei \
                else text / TEXT_PER_PAGE
        pos, last = 0, 0
        for m in TAG.finditer(html):
            pos += m.start() - last
            last = m.end()
            i = IDS.search(m.group(0))
            if i is not None:
                self.pages.setdefault(i.group(1), start + 1 + int(pages * pos / max(1, text)))
        if not front:
            self.next += max(1, -int(-pages // 1))

    def knows(self, ref: str) -> bool:
        return ref in self.previous or ref in self.pages

    def room_of(self, ref: str, tight: bool = False) -> str:
        p = self.previous.get(ref)
        if p is not None:
            n = max(len(str(p)), 0 if tight else int(self.rooms.get(ref) or 0))
            return "0" * n
        p = self.pages.get(ref)
        if p is None:      # an anchor in no part placed yet: after them (the index)
            p = self.next + 1 if self.placed else None
        if p is None:
            return "0" * self.fallback
        n = len(str(p))
        if p * (1 + GUESS_MARGIN) >= 10 ** n:
            n += 1
        return "0" * n

    def room(self, ref: str, to: str | None = None, tight: bool = False) -> str:
        """The room of a slot: zeros as many as its guessed number has figures (a range
        slot: both ends); ``tight``: not the room the last build kept if wider."""
        return "\u2013".join(self.room_of(r, tight) for r in ((ref, to) if to else (ref,)))


def _room(text: str) -> str:
    """The room a slot's text takes (tabular figures: each figure as wide as a zero; "?",
    an anchor not in the book, as one figure)."""
    return re.sub(r"\d", "0", text).replace("?", "0")


ROOMS = re.compile(r'<span class="pn" data-ref="([^"]*)"([^>]*?) data-slot="(\d+)">([^<]*)</span>')


def _rooms(html: str) -> dict:
    """slot number -> (ref, to, room) of a filled part's HTML."""
    out = {}
    for m in ROOMS.finditer(html):
        to = TO.search(m.group(2))
        tail = TAIL.search(m.group(2))
        room = m.group(4)[:len(m.group(4)) - len(tail.group(1))] if tail else m.group(4)
        out[int(m.group(3))] = (m.group(1), to and to.group(1), room)
    return out


class EarlyParts:
    """The parts of the text laid out while the book is still being rendered: a part goes
    to the layout processes as soon as the unit after it is rendered (its HTML is then
    final: a part of the text needs only :meth:`Book.base_context`), while the main process
    renders on.  :meth:`Book.make` takes those whose HTML is the book's after all; any
    other is laid out again (and this one's result is not waited for)."""

    def __init__(self, book: "Book", executor, cache: "PartCache"):
        from editio.builders.pdf_layout import lay_out
        self.book, self.executor, self.cache, self.fn = book, executor, cache, lay_out
        self.guess = book.page_guess(cache)
        self.sent: dict = {}
        self._ctx = None
        self._seen = 0

    def send(self) -> None:
        """Called after each unit is rendered: lay out the parts of the text now closed."""
        if len(self.book.chapters) == self._seen:
            return
        self._seen = len(self.book.chapters)
        parts = self.book.text_parts()
        for i, part in enumerate(parts[:-1]):      # (the last may still grow)
            if part.key in self.sent:
                continue
            if self._ctx is None:
                self._ctx = self.book.base_context()
            raw = self.book.part_html(part, self._ctx)
            self.guess.place(part, raw, self.book.tei_size(part))
            # (laid out when the pages it points to are known: make(); a part that runs on
            # in a chain begins with what the part before it carries over: make(); a part
            # pointing at a page not guessed yet (further on, or in the back matter): make())
            if LOCATOR in raw or _runs_on(part) or not all(self.guess.knows(m.group(1)) for m in PN.finditer(raw)):
                self.sent[part.key] = (None, None)
                continue
            carry_out = i + 1 < len(parts) and _runs_on(parts[i + 1])  # (as make() will have it,
            html = self.book.kept_or_tight(part, raw, self.guess, self.cache, carry_out)   # unless a chain ends here)
            job = self.book._job(part.key, html)
            if carry_out:
                job["carry_out"] = True
            ck = self.cache.key(job)
            job["write"] = True
            hit = self.cache.get(ck)
            fut = self.executor.submit(self.fn, job) if hit is None else None
            self.sent[part.key] = (html, (job, ck, part, fut, hit))

    def take(self, htmls: dict, carry: set) -> dict:
        """The layouts begun whose part's HTML is ``htmls``'s and that carry blocks over
        where ``carry`` says (key -> started entry)."""
        out = {k: entry for k, (html, entry) in self.sent.items() if html is not None and htmls.get(k) == html
               and bool(entry[0].get("carry_out")) == (k in carry)}
        self.sent = {}
        return out


def mark_drawn(mark: dict, stamp: dict, cx: float) -> tuple:
    """(operators, dx, dy) that draw a paragraph's margin number (``mark``:
    :func:`pdf_layout.margin_marks`) from its ``stamp`` on a page whose content box is at
    ``cx``: in its box (its left, width and alignment), the middle of its line where the
    middle of the line was (the half-leading is the same above and below the text)."""
    x = cx + mark["x"]
    if mark["w"] is not None:
        x += {"right": mark["w"] - stamp["w"], "center": (mark["w"] - stamp["w"]) / 2}.get(mark["align"], 0)
    return stamp["ops"], x - stamp["x"], mark["top"] + mark["lh"] / 2 - stamp["mid"]


def _link_labels(numbers: list) -> list:
    """Per page of the book: (x, y from the top, "page N") of each slot, in pt: the merge
    gives the link around a slot its alternative text (the number is drawn as an artifact)."""
    return [[(s["mid"][0], s["mid"][1], ("pages " if "\u2013" in s["text"] else "page ") + s["text"])
             for s in nums] for nums in numbers]


def _first_index(parts: list, raw: dict) -> int:
    """The position of the first part holding a printed index's page locators that point
    mostly to earlier parts (``len(parts)`` if there is none)."""
    where: dict = {}
    for i, part in enumerate(parts):
        for a in IDS.findall(raw[part.key]):
            where.setdefault(a, i)
    for i, part in enumerate(parts):
        if LOCATOR not in raw[part.key]:
            continue
        refs = [m.group(1) for m in PN.finditer(raw[part.key])]
        if refs and 2 * sum(1 for r in refs if where.get(r, i) < i) > len(refs):
            return i
    return len(parts)


BODY = re.compile(r"<body\b[^>]*>")


def carried_into(html: str, carried: str) -> str:
    """A part's HTML beginning with the blocks the part before it carried over (right
    after ``<body>``); their links to anchors that are not in this part go across parts
    (``editio-dest:``, resolved when merging)."""
    m = BODY.search(html)
    if m is None:
        return html
    own = set(IDS.findall(html)) | set(IDS.findall(carried))
    carried = HREFS.sub(lambda x: x.group(0) if x.group(1) in own else f'href="editio-dest:{x.group(1)}"', carried)
    return html[:m.end()] + carried + html[m.end():]


def _chains(parts: list, htmls: dict, workers: int, late=frozenset()) -> tuple[dict, set, set]:
    """Which parts are laid out one after the other, each beginning with the blocks the one
    before carried over (so a run-on group cut into parts has no half-blank page where it
    was cut): the parts of a group that runs on over several parts are split into at most
    ``workers`` chains of consecutive parts, of about equal size (a chain is laid out by
    one worker at a time; the chains go on in parallel), and only into as many as the
    group has workers' shares of the book (a book of many chapters has none split; the
    parts ``late``, laid out once the others are, share the workers among themselves).  Only where one chain ends and
    the next begins can a page stay partly blank: the last part of a chain that another
    chain of its group follows lays its last pages out again with its leading changed
    a little if its last page is too blank (:func:`editio.builders.pdf_layout.fit_seam`).
    Returns (part key -> the part it follows, the keys of the parts that may carry blocks
    over, the keys of the parts where a chain ends and the next begins)."""
    after: dict = {}
    carry: set = set()
    seam: set = set()
    groups: list = []
    for part in parts:
        if _runs_on(part) and groups:
            groups[-1].append(part)
        else:
            groups.append([part])
    # a group is cut into chains only as far as the workers' shares of the whole need it:
    # the chapters of a book of many are laid out side by side, each in one chain, with
    # no seam inside any; one as large as a share or more gets that many chains (10 %
    # over a share is one chain still: a seam costs its part's last pages again)
    shares = {when: sum(len(htmls.get(p.key, "")) for p in parts if (p.key in late) == when) / max(1, workers)
              for when in (False, True)}
    for group in groups:
        if len(group) < 2:
            continue
        sizes = [len(htmls.get(p.key, "")) for p in group]
        # (a chain ends only after a part long enough to take up the gap where the next
        # chain begins: fit_seam)
        never = {i for i in range(1, len(group)) if sizes[i - 1] < SEAM_HTML}
        need = -(-sum(sizes) // int(shares[group[0].key in late] * 1.1 + 1))
        for k in range(max(1, min(workers, len(group), need)), 0, -1):
            cuts = _balanced(sizes, k, avoid={i for i, p in enumerate(group) if p.chapters and p.chapters[0].continued},
                             never=never)
            if cuts is not None:
                break
        for i in range(1, len(group)):
            if i not in cuts:
                after[group[i].key] = group[i - 1].key
                carry.add(group[i - 1].key)
            else:
                seam.add(group[i - 1].key)
    return after, carry, seam


def _balanced(sizes: list, k: int, avoid=frozenset(), never=frozenset()) -> set | None:
    """Where to cut a row of ``sizes`` into ``k`` runs whose largest sum is the least (a cut
    before an index in ``avoid``, the rest of a unit cut in pieces, only if nothing else
    balances as well; never before an index in ``never``): the set of indices that begin
    a run (0 left out), None if there is no such cut."""
    n = len(sizes)
    pre = [0]
    for x in sizes:
        pre.append(pre[-1] + x)
    INF = float("inf")
    # best[j][i]: (largest run, cuts at avoided places) for sizes[:i] in j runs
    best = [[(INF, INF)] * (n + 1) for _ in range(k + 1)]
    how = [[0] * (n + 1) for _ in range(k + 1)]
    best[0][0] = (0, 0)
    for j in range(1, k + 1):
        for i in range(1, n + 1):
            for m in range(j - 1, i):
                prev = best[j - 1][m]
                if prev[0] == INF or m in never:
                    continue
                cand = (max(prev[0], pre[i] - pre[m]), prev[1] + (1 if m in avoid and m else 0))
                if cand < best[j][i]:
                    best[j][i], how[j][i] = cand, m
    if best[k][n][0] == INF:
        return None
    out, i = set(), n
    for j in range(k, 0, -1):
        m = how[j][i]
        if m:
            out.add(m)
        i = m
    return out


def _with_chains(todo: list, parts: list, chains: tuple) -> list:
    """``todo`` and every part of ``parts`` after one of them in its chain, in book order."""
    keys = {p.key for p in todo}
    for part in parts:
        if chains[0].get(part.key) in keys:
            keys.add(part.key)
    return [p for p in parts if p.key in keys]


def _runs_on(part: Part) -> bool:
    """A part that continues a group: it starts on the page after the previous part."""
    return bool(part.kind == "text" and part.chapters and part.chapters[0].run_on)


def _starts_right(parts: list[Part], part: Part) -> bool:
    """Whether the part after ``part`` starts on a recto (a new group) or runs on."""
    i = parts.index(part)
    return i + 1 >= len(parts) or not _runs_on(parts[i + 1])


def _offsets(parts: list[Part], results: dict) -> tuple[dict, int]:
    """part key -> the number of pages before it in the book (parts that start a group
    start on a recto: a blank verso is added before them when needed); and the total."""
    out, total = {}, 0
    for part in parts:
        if not _runs_on(part):
            total += total % 2
        out[part.key] = total
        total += results[part.key]["pages"]
    return out, total + total % 2


PROJECT_URL, PROJECT_PATH = "editio-project-url:", "editio-project-path:"


def unplaced(text: str, root: str | None) -> str:
    """``text`` without the project's path (as a file URL and as a path): what the build
    cache keys and keeps does not say where the project is."""
    if not root:
        return text
    return text.replace(Path(root).as_uri(), PROJECT_URL).replace(str(root), PROJECT_PATH)


def placed(text: str, root: str) -> str:
    """What :func:`unplaced` took out, put back for the project at ``root``."""
    return text.replace(PROJECT_URL, Path(root).as_uri()).replace(PROJECT_PATH, str(root))


class PartCache:
    """The parts laid out by earlier builds (``<project>/.editio-cache/pdf``): a part's PDF
    and its page facts under a hash of everything its layout depends on."""

    def __init__(self, root: Path, styles: Path, enabled: bool = True, project: Path | None = None):
        from importlib.metadata import version
        wv = version("weasyprint")
        self.root = Path(root)
        self.project = str(project) if project else None
        self.enabled = enabled
        self.used: set[str] = set()
        from editio.builders.pdf_layout import RESULT_FORMAT
        h = hashlib.sha256(f"editio {__version__}\0weasyprint {wv}\0{RESULT_FORMAT}\0".encode())
        for f in sorted(Path(styles).rglob("*")):
            if f.is_file():
                h.update(str(f.relative_to(styles)).encode() + b"\0" + f.read_bytes())
        self.env = h.hexdigest()
        self.root.mkdir(parents=True, exist_ok=True)

    def key(self, job: dict) -> str:
        """The hash of what a layout job depends on: its content, not where the project is
        (a project copied or moved elsewhere takes its parts from its cache): the
        project's path in the job and its HTML is left out, and the bytes of each file of
        the project the HTML names (an image) are hashed instead (an image changed in
        place lays its part out again)."""
        root = (job.get("fetcher") or {}).get("project_root")
        h = hashlib.sha256(self.env.encode())
        h.update(unplaced(json.dumps({k: v for k, v in job.items() if k not in ("html", "attachments", "key")},
                                     sort_keys=True), root).encode())
        h.update(unplaced(job["html"], root).encode())
        if root:
            base = Path(root).as_uri() + "/"
            for url in sorted(set(re.findall(r'"(%s[^"]+)"' % re.escape(base), job["html"]))):
                path = Path(unquote(urlsplit(url).path))
                try:
                    h.update(url[len(base):].encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
                except OSError:
                    h.update(url[len(base):].encode() + b"\0missing")
        for a in job.get("attachments", ()):
            h.update(a["name"].encode() + b"\0" + a["description"].encode() + b"\0" + a["data"]
                     + str(a["when"]).encode())
        return h.hexdigest()[:40]

    def get(self, key: str) -> dict | None:
        meta, pdf = self.root / f"{key}.json", self.root / f"{key}.pdf"
        if not (self.enabled and meta.is_file() and pdf.is_file()):
            return None
        try:
            res = json.loads(meta.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        self.used.add(key)
        res["path"] = str(pdf)
        res["warnings"] = res.get("warnings", [])
        if (res.get("carry") or {}).get("html") and self.project:
            res["carry"] = {**res["carry"], "html": placed(res["carry"]["html"], self.project)}
        return res

    def put(self, key: str, res: dict) -> dict:
        """Store a fresh result (its PDF goes to a file; the result keeps its path)."""
        pdf = self.root / f"{key}.pdf"
        tmp = pdf.with_suffix(".tmp")
        tmp.write_bytes(res["pdf"])
        os.replace(tmp, pdf)
        meta = {k: v for k, v in res.items() if k != "pdf"}
        stored = meta
        if (meta.get("carry") or {}).get("html") and self.project:   # (the project may move)
            stored = {**meta, "carry": {**meta["carry"], "html": unplaced(meta["carry"]["html"], self.project)}}
        (self.root / f"{key}.json").write_text(json.dumps(stored), encoding="utf-8")
        self.used.add(key)
        return {**meta, "path": str(pdf), "warnings": res.get("warnings", [])}

    @staticmethod
    def pdf(res: dict) -> bytes:
        return Path(res["path"]).read_bytes()

    def load_map(self) -> dict | None:
        """The last build's page map; none with the cache off (``--no-cache``: the book is
        made as a first build makes it, from the input alone, and has its bytes)."""
        if not self.enabled:
            return None
        try:
            return json.loads((self.root / "pages.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def save_map(self, data: dict) -> None:
        (self.root / "pages.json").write_text(json.dumps(data), encoding="utf-8")

    def prune(self) -> None:
        """Keep what this build used, nothing else (the cache does not grow)."""
        for f in self.root.iterdir():
            if f.suffix in (".pdf", ".json", ".tmp") and f.stem not in self.used and f.name != "pages.json":
                f.unlink(missing_ok=True)


# --------------------------------------------------------------------- helpers
# an index heading with more locations than this gets subentries (per document) or "passim"
SUBENTRIES = 15


def short_title(title: str, limit: int = 60) -> str:
    """A running-head title: up to the first colon or parenthesis, cut at a word."""
    t = re.split(r":\s| \(", title, maxsplit=1)[0].strip() or title
    if len(t) > limit:
        t = t[:limit].rsplit(" ", 1)[0].rstrip(",;") + " …"
    return t


def _sort_key(name: str) -> str:
    import unicodedata
    s = unicodedata.normalize("NFKD", name)
    s = "".join(c for c in s if not unicodedata.combining(c))
    s = re.sub(r"^(the|a|an)\s+", "", s.lower())
    return re.sub(r"[^\w\s]", "", s)


def _page_list(anchors: list[str], pages: dict | None, notes=frozenset()) -> list[dict]:
    """First pass: one page slot per mention.  Later passes: the pages merged into runs
    (``12–14``), each linked to the first mention on its first page; a page whose
    mentions are all in notes is ``12n`` (and not merged)."""
    if pages is None:
        return [{"anchor": a, "label": ""} for a in anchors]
    first: dict[int, str] = {}
    text_on: set[int] = set()
    for a in anchors:
        p = pages.get(a)
        if p is None:
            continue
        first.setdefault(p, a)
        if a not in notes:
            text_on.add(p)
    nums = sorted(first)
    out, i = [], 0
    while i < len(nums):
        if nums[i] not in text_on:
            out.append({"anchor": first[nums[i]], "label": f"{nums[i]}n"})
            i += 1
            continue
        j = i
        while j + 1 < len(nums) and nums[j + 1] == nums[j] + 1 and nums[j + 1] in text_on:
            j += 1
        label = str(nums[i]) if j == i else f"{nums[i]}\u2013{nums[j]}"
        out.append({"anchor": first[nums[i]], "label": label})
        i = j + 1
    return out


def _useful_see(entries: list[dict]) -> list[dict]:
    """Drop the "see" references that send the reader to the heading beside them (or to
    one a "see" beside them already names), and repeated ones."""
    out, seen = [], set()
    for i, e in enumerate(entries):
        if "see" in e:
            near = [entries[j] for j in (i - 1, i + 1) if 0 <= j < len(entries)]
            key = (e["name"], e["see"])
            if key in seen or any(n["name"] == e["see"] or n.get("see") == e["see"] and n["name"] == e["name"]
                                  for n in near if n is not e):
                continue
            seen.add(key)
        out.append(e)
    return out


def _passim(locs: list[dict]) -> list[dict]:
    """More than :data:`SUBENTRIES` page locators (after merging runs) as one span, *passim*."""
    if len(locs) <= SUBENTRIES or not all(x["label"] for x in locs):
        return locs
    first = locs[0]["label"].split("\u2013")[0].rstrip("n")
    last = locs[-1]["label"].split("\u2013")[-1].rstrip("n")
    return [{"anchor": locs[0]["anchor"], "label": f"{first}\u2013{last}", "passim": True}]


def _paragraphs(value) -> list[str]:
    if isinstance(value, str):
        return [s.strip() for s in re.split(r"\n\s*\n", value) if s.strip()]
    if isinstance(value, list):
        return [s for s in value if isinstance(s, str)]
    return []


def _html(el) -> str:
    return etree.tostring(el, encoding="unicode", method="html")




def _group(rdoc, unit) -> tuple[str, str]:
    """The group a unit belongs to and the group's title: the innermost titled division
    that holds the unit (a FRUS chapter holding documents, from the unit's ``context``);
    a whole file is a group of its own."""
    base = rdoc.doc.name
    if unit is None or unit is rdoc.doc.root:
        return f"{base}#{rdoc.id}", ""
    context = getattr(rdoc, "context", None)
    if context:
        xid, heading = context[-1]
        return f"{base}#{xid or '/'.join(h for _, h in context)}", heading
    div = next((a for a in unit.iterancestors() if isinstance(a.tag, str)
                and a.tag in (f"{T}div", f"{T}div1", f"{T}div2", f"{T}div3")), None)
    if div is None:
        return base, ""
    head = div.find(f"{T}head")
    title = " ".join(plain(head).split()) if head is not None else ""
    return f"{base}#{div.get('{http://www.w3.org/XML/1998/namespace}id') or div.getroottree().getpath(div)}", title


def _outer_heads(rdoc, opened: set) -> list[dict]:
    """The titled divisions above a unit's group (its ``context`` but the innermost) whose
    headings have not been printed yet, outermost first: a FRUS compilation and its chapter
    above the subchapter that holds the document.  ``opened`` keeps those printed."""
    out = []
    context = list(getattr(rdoc, "context", None) or [])[:-1]
    for depth, (xid, heading) in enumerate(context):
        key = f"{rdoc.doc.name}#{xid or '/'.join(h for _, h in context[:depth + 1])}"
        if key in opened or not heading:
            continue
        opened.add(key)
        out.append({"id": f"group-{_slug(key)}", "title": heading, "xid": xid})
    return out


def _noted_heads(r, rdoc) -> dict:
    """The headings of the divisions that open with a unit and carry a note (a FRUS
    chapter's "For the period before …"), rendered by the unit's renderer so that the note
    is a footnote of the page the heading opens: division xml:id -> the heading's inner HTML."""
    out = {}
    for el in getattr(rdoc, "leading", ()):
        if el.tag != f"{T}head" or next(el.iter(f"{T}note"), None) is None:
            continue
        xid = el.getparent().get("{http://www.w3.org/XML/1998/namespace}id")
        if not xid:
            continue
        box = etree.Element("div")
        r.node(el, box)
        if len(box):
            h = box[0]
            out[xid] = (escape(h.text or "")) + "".join(_html(c) for c in h)
    return out


def _slug(s: str) -> str:
    return hashlib.sha1(s.encode()).hexdigest()[:10]


def split_tree(el, limit: int) -> list:
    """``el`` (an HTML element) as one or more trees of at most about ``limit`` characters
    of HTML, cut between block children (at any depth): each piece keeps the chain of
    elements above it (without their ids, which stay with the first piece), and a
    numbered list cut in two goes on with the right number.  A unit this large is laid
    out as several parts, each of bounded memory.  The children of an element are shared
    out evenly among as many pieces as ``limit`` asks for (cut where the running size
    passes each piece's share of the whole): a FRUS index of 640,000 characters is laid
    out as two parts of about 320,000 side by side, not 430,000 and 210,000 (the larger
    one alone at the end of the build)."""
    total = len(etree.tostring(el, encoding="unicode"))
    if total <= limit:
        return [el]
    share = total / -(-total // limit)       # each piece's share of the whole

    def shell(first: bool, done_items: int = 0):
        new = etree.Element(el.tag, {k: v for k, v in el.attrib.items() if first or k != "id"})
        if first:
            new.text = el.text
        elif el.tag == "ol" and done_items:
            new.set("start", str(int(el.get("start", "1") or 1) + done_items))
        return new

    out, cur, size, items = [], shell(True), 0, 0
    run = 0                 # the size of the children before this one
    after_large = False     # cur holds the last piece of a large child
    for child in list(el):
        n = len(etree.tostring(child, encoding="unicode"))
        if n > limit and isinstance(child.tag, str):
            pieces = split_tree(child, limit)
            # what comes before the large child (a heading: a volume's "Index" above its
            # list) goes with its first piece, never into a part (a page) of its own
            first = len(etree.tostring(pieces[0], encoding="unicode"))
            if len(cur) and size + first > limit + limit // 4:
                out.append(cur)
                cur = shell(False, items)
            for piece in pieces[:-1]:
                cur.append(piece)
                out.append(cur)
                cur = shell(False, items)
            # the last piece stays open: what follows the large child (a few page breaks
            # after a volume's index) goes with it, never into a part of its own
            cur.append(pieces[-1])
            size = len(etree.tostring(pieces[-1], encoding="unicode"))
            after_large = True
        else:
            if len(cur) and (size + n > limit + limit // 4 if after_large else
                             size + n > limit or run + n / 2 > (len(out) + 1) * share):
                out.append(cur)
                cur, size, after_large = shell(False, items), 0, False
            cur.append(child)
            size += n
        run += n
        if child.tag == "li":
            items += 1
    if len(cur) or not out:
        out.append(cur)
    return out


def _first_line(el, lines: dict, default: int) -> int:
    """The TEI line of a piece of a unit (of its first paragraph), for diagnostics."""
    for e in el.iter():
        line = lines.get(e.get("id")) if isinstance(e.tag, str) else None
        if line:
            return line
    return default
