"""The PDF edition: the resolved edition -> print HTML (Jinja2) -> WeasyPrint -> edition.pdf.

    book   = Book(edition, view)            # render every chapter with PrintRenderer
    pages  = None                           # anchor id -> page, from the previous pass
    repeat:                                 # usually twice
        doc   = book.layout(book.html(pages))   # page numbers filled in from ``pages``
        new   = book.anchor_pages(doc)
        stop when new agrees with pages on every anchor the book refers to
    doc.write_pdf()

Every page number printed in the book (contents, "see Doc. 3, ¶ 4, p. 27", the
concordance, the index) is a ``<span class="pn" data-ref="anchor">`` slot that the
builder fills with the page the previous layout pass found for the anchor; the
last pass must reproduce the pages it was given, so the numbers are exact.  This
replaces CSS ``target-counter()``, which makes WeasyPrint lay out again every page
holding a forward reference (with footnotes, several times slower), and it lets the
index merge its page numbers (``3, 7–9``).  The slots use tabular figures, so a
placeholder with the right number of digits takes the room of the real number.

Everything lives in a :class:`Book` made per call (no module state).  Because the
layout of a part depends only on its own content (every part starts on a recto and
the page numbers are literal), parts can later be laid out in separate processes:
a part needs only the page offset of the parts before it and the anchor pages of
the others, which is what ``pages`` carries between passes.

The PDF is reproducible: its dates come from ``SOURCE_DATE_EPOCH`` or else from
the latest ``revisionDesc/change/@when`` of the TEI (never the clock), its file
identifier is a hash of the input, and the fonts are the subsets shipped in
``styles/fonts`` (a character they lack is reported as ``pdf.glyph``).
"""
from __future__ import annotations

import contextlib
import hashlib
import inspect
import logging
import os
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from lxml import etree

from editio import TEI_NS, XML_LANG, __version__, gate, publish
from editio.diagnostics import Report
from editio.render.print import PrintLinks, PrintRenderer
from editio.resources import styles_dir, template_dirs
from editio.text import plain
from editio.transforms import Edition

T = "{%s}" % TEI_NS
# PDF/UA-1 (tagged, with a logical structure, alternative texts and the document language)
# serves readers better than PDF/A-3b: screen readers, reflow on small screens and
# copy-and-paste follow the structure tags, and the TEI sources are attached to the PDF
# all the same (plain embedded files, which PDF/UA allows).  PDF/A-3 would add only the
# "associated file" relationship and archival constraints that a reader never sees.
PDF_VARIANT = "pdf/ua-1"
KINDS = (("person", "Persons"), ("place", "Places"), ("org", "Organisations"))
MAX_PASSES = 4
PN = re.compile(r'(<span class="pn" data-ref=")([^"]*)(">)([^<]*)(</span>)')
VIEW_LABELS = {"edited": "Edited reading text", "diplomatic": "Diplomatic text"}


# WeasyPrint lays a book out in one process, in memory: about 6 MB of memory per 1,000
# characters of text and three passes.  Beyond this the PDF is not attempted (a later
# version lays out parts in separate processes); the HTML is still built.
MAX_TEXT_CHARS = 2_500_000


def build_pdf(edition: Edition, out_dir: Path, report: Report, view: str = "edited",
              progress=None) -> Path | None:
    """Write ``out_dir/edition.pdf``; return its path (None when the book is too large)."""
    sizes = [(len(rd.doc.diplomatic.text()), rd.doc) for rd in edition.docs]
    total = sum(n for n, _ in sizes)
    if total > MAX_TEXT_CHARS:
        n, biggest = max(sizes, key=lambda x: x[0])
        report.warning(biggest.rel, 1, "pdf.too-large",
                       f"the texts hold {total:,} characters, over the {MAX_TEXT_CHARS:,} one PDF "
                       f"can be laid out from in memory (this file: {n:,}); no PDF written")
        return None
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    book = Book(edition, report, view=view)
    if progress is not None:
        progress.start("PDF", len(edition.docs) + MAX_PASSES)
    try:
        book.render_chapters(progress)
        book.check_glyphs()
        document, _ = book.converge(progress)
        target = out_dir / "edition.pdf"
        book.write(document, target)
    finally:
        if progress is not None:
            progress.stop()
    return target


@dataclass
class Chapter:
    id: str
    number: int
    title: str
    short: str
    running: str
    lang: str
    source: str
    text: str
    mentions: list = field(default_factory=list)


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
        self.styles = styles_dir(self.project)
        self.env = Environment(loader=FileSystemLoader([str(d) for d in template_dirs(self.project, "print")]),
                               autoescape=select_autoescape(["html"]), trim_blocks=False)

    # ------------------------------------------------------------ chapters
    def render_chapters(self, progress=None) -> None:
        for rdoc in self.edition.docs:
            r = PrintRenderer(self.edition, rdoc, self.links, self.report, view=self.view)
            text = r.render()
            # a unit inside a file (a FRUS document) has its source in its source note; the
            # file's header describes the whole volume
            src = r.source_description() if rdoc.is_file else None
            title = rdoc.title
            short = short_title(title)
            self.chapters.append(Chapter(
                id=self.links.chapter_id(rdoc), number=rdoc.number if rdoc.is_file else rdoc.n,
                title=title, short=short,
                running=f"{rdoc.label} · {short}" if rdoc.is_file else short, lang=rdoc.doc.root.get(XML_LANG) or self.project.language,
                source=_html(src) if src is not None else "", text=_html(text), mentions=r.mentions))
            if progress is not None:
                progress.advance()

    # -------------------------------------------------------- HTML of the book
    def html(self, pages: dict | None = None) -> str:
        return self.env.get_template("book.html").render(**self.context(pages))

    def context(self, pages: dict | None = None) -> dict:
        p = self.project
        concordance, index = self.concordance(), self.index(pages)
        redactions = self.redactions(pages)
        return {
            "project": p, "book_short": short_title(p.title, 70), "version": __version__, "view": self.view, "view_label": VIEW_LABELS[self.view],
            "subject": p.description or p.subtitle or p.title, "keywords": self.keywords(),
            "date_iso": self.date().strftime("%Y-%m-%dT%H:%M:%SZ"),
            "sources": [d.name for d in self.edition.corpus.documents],
            "witnesses": [w.name for w in self.witnesses()],
            "introduction": [s.strip() for s in re.split(r"\n\s*\n", p.introduction or "") if s.strip()],
            "principles": _paragraphs(self.edition.profile.principles),
            "counts": self.counts(), "key": self.key(),
            "front_toc": [x for x in (
                {"id": "introduction", "label": "Introduction"} if p.introduction else None,
                {"id": "principles", "label": "Editorial principles"},
                {"id": "key", "label": "Key to the editorial signs"}) if x],
            "chapters": self.chapters,
            "concordance": concordance,
            "index": index,
            "redactions": redactions,
            "back_toc": [x for x in (
                {"id": "redactions", "label": "Appendix: Redactions"} if redactions else None,
                {"id": "concordance", "label": "Concordance of events"} if concordance else None,
                {"id": "index", "label": "Index of persons, places and organisations"} if index else None)
                if x],
        }

    def counts(self) -> dict:
        out: dict = {}
        for r in self.edition.docs:
            for a in r.annotations:
                out[a.kind] = out.get(a.kind, 0) + 1
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
                passages.append({
                    "anchor": self.links.element(r["unit"], r["seg"])[1:],
                    "label": r["label"],
                    "disagrees": r["subtype"] == "disagrees",
                    "excerpt": excerpt if len(excerpt) <= 160 else excerpt[:157].rsplit(" ", 1)[0] + " …"})
            out.append({"id": ev.id, "name": ev.name, "dates": ev.dates, "desc": ev.description,
                        "passages": passages})
        return out

    def redactions(self, pages: dict | None = None) -> dict | None:
        """The appendix of redactions (templates/print/redactions.html): totals, a table per
        document, each redaction with the page it stands on.  None when the edition says
        nothing about redactions."""
        from editio.redactions import describe_tally, figures, rules_of
        if rules_of(self.project).empty:
            return None
        docs, total = figures(self.edition.redactions)
        groups = []
        for f in docs:
            rd = self.edition.locate(f.unit.element) or self.edition.resolved(f.unit.doc)
            if rd is None:
                continue
            rows = []
            for r in f.items:
                cands = [self.links.element(rd, el)[1:] for el in (r.element, r.anchor) if el is not None]
                par = rd.paragraph_of(r.anchor) if r.anchor is not None else None
                if par:
                    cands.append(self.links.anchor(rd, par[0]))
                cands.append(self.links.element(rd, f.unit.element)[1:])
                cands.append(self.links.chapter_id(rd))
                anchor = next((a for a in cands if pages is None or a in pages), None)
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
        """Entries per kind; ``pages`` (anchor -> page number) merges the page numbers."""
        corpus = self.edition.corpus
        by_entity: dict[str, list[str]] = {}
        for ch in self.chapters:
            for ent_id, anchor in ch.mentions:
                by_entity.setdefault(ent_id, []).append(anchor)
        parts = []
        for kind, label in KINDS:
            entries = []
            for ent in corpus.entities_of(kind):
                anchors = by_entity.get(ent.id)
                if not anchors:
                    continue
                entries.append({"id": ent.id, "name": ent.index_name, "sort": self.edition.entity_sort_key(ent),
                                "originals": [{"text": t, "lang": lang} for t, lang in ent.original_names],
                                "dates": ent.dates if kind == "person" else "",
                                "pages": _page_list(anchors, pages)})
                for v in ent.variants:
                    if _sort_key(v) != _sort_key(ent.name):
                        entries.append({"see": ent.index_name, "name": v, "sort": self.edition.sort_key(v)})
            if entries:
                entries.sort(key=lambda e: (e["sort"], "see" in e))
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
    def layout(self, html: str):
        from weasyprint import CSS, HTML
        from weasyprint.text.fonts import FontConfiguration
        from editio.builders.fetcher import for_project
        fc = FontConfiguration()
        fetcher = for_project(self.project)  # no network, nothing outside the project
        css = CSS(filename=str(self.styles / "print.css"), font_config=fc, url_fetcher=fetcher)
        with _weasyprint_log(self.report), footnotes_stay_with_their_calls(self.report):
            return HTML(string=html, base_url=str(self.styles) + "/", url_fetcher=fetcher).render(
                stylesheets=[css], font_config=fc, pdf_variant=PDF_VARIANT,
                presentational_hints=False)

    def fill(self, html: str, pages: dict | None, digits: int) -> str:
        """Write the page numbers into the ``pn`` slots (placeholders on the first pass)."""
        def sub(m):
            if pages is None:
                n = "0" * digits
            else:
                p = pages.get(m.group(2))
                if p is None:
                    self.report.warning("build/pdf/edition.pdf", 0, "pdf.ref",
                                        f'page reference to "#{m.group(2)}", which is not in the book')
                    n = "?"
                else:
                    n = str(p)
            return m.group(1) + m.group(2) + m.group(3) + n + m.group(5)
        return PN.sub(sub, html)

    def converge(self, progress=None):
        """Lay the book out until the page numbers it prints are the pages it has."""
        pages = None
        digits = 2
        refs: set[str] = set()
        for n in range(1, MAX_PASSES + 1):
            html = self.fill(self.html(pages), pages, digits)
            refs = set(m.group(2) for m in PN.finditer(html))
            refs.update(a for ch in self.chapters for _, a in ch.mentions)  # the merged index
            document = self.layout(html)
            new = self.anchor_pages(document)
            if progress is not None:
                progress.advance()
            if pages is not None and all(new.get(r) == pages.get(r) for r in refs):
                self.passes = n
                return document, new
            digits = len(str(len(document.pages)))
            pages = new
        moved = sorted(r for r in refs if new.get(r) != pages.get(r))
        self.report.warning("build/pdf/edition.pdf", 0, "pdf.pages",
                            f"page numbers did not settle after {MAX_PASSES} layout passes "
                            f"({len(moved)} reference(s), e.g. #{moved[0] if moved else ''}); some may be off by one")
        self.passes = MAX_PASSES
        return document, new

    @staticmethod
    def anchor_pages(document) -> dict[str, int]:
        """anchor id -> the number of its page (pages are numbered from 1)."""
        out: dict[str, int] = {}
        for i, page in enumerate(document.pages, 1):
            for name in page.anchors:
                out.setdefault(name, i)
        return out

    def write(self, document, target: Path) -> None:
        from weasyprint import Attachment
        when = self.date()
        attachments = []
        for d in self.edition.corpus.documents:
            attachments.append(Attachment(string=publish.tei_bytes(d, self.project), name=d.name,
                                          created=when, modified=when,
                                          description=f"TEI source: {d.title}", relationship="Source"))
        for w in self.witnesses():
            attachments.append(Attachment(string=gate.open_regular(w), name=w.name,
                                          created=when, modified=when,
                                          description="Witness as captured (plain text)",
                                          relationship="Source"))
        h = hashlib.sha256()
        for d in self.edition.corpus.documents:
            h.update(d.name.encode() + b"\0" + d.path.read_bytes())
        h.update(self.view.encode())
        with _weasyprint_log(self.report):
            document.write_pdf(str(target), attachments=attachments, pdf_variant=PDF_VARIANT,
                               pdf_identifier=h.hexdigest()[:32].encode(), uncompressed_pdf=False)


# --------------------------------------------------------------------- helpers
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


def _page_list(anchors: list[str], pages: dict | None) -> list[dict]:
    """First pass: one page slot per mention.  Later passes: the pages merged into runs
    (``12–14``), each linked to the first mention on its first page."""
    if pages is None:
        return [{"anchor": a, "label": ""} for a in anchors]
    first: dict[int, str] = {}
    for a in anchors:
        p = pages.get(a)
        if p is not None and p not in first:
            first[p] = a
    nums = sorted(first)
    out, i = [], 0
    while i < len(nums):
        j = i
        while j + 1 < len(nums) and nums[j + 1] == nums[j] + 1:
            j += 1
        label = str(nums[i]) if j == i else f"{nums[i]}\u2013{nums[j]}"
        out.append({"anchor": first[nums[i]], "label": label})
        i = j + 1
    return out


def _paragraphs(value) -> list[str]:
    if isinstance(value, str):
        return [s.strip() for s in re.split(r"\n\s*\n", value) if s.strip()]
    if isinstance(value, list):
        return [s for s in value if isinstance(s, str)]
    return []


def _html(el) -> str:
    return etree.tostring(el, encoding="unicode", method="html")


_DEFER = "report = not context.in_column and can_break_now and not could_break_before"


@contextlib.contextmanager
def footnotes_stay_with_their_calls(report: Report):
    """Lay out with WeasyPrint's "defer earlier footnotes to fit one more line" turned off.

    When a line at the foot of a page overflows and the paragraph may break after it,
    WeasyPrint (``layout/block.py``, ``_linebox_layout``) moves footnotes whose calls are
    already on the page to the next page to make room, and keeps them deferred even
    when that did not help; a deferred footnote is deferred again on every following
    page that ends the same way (in this edition a note drifted four pages from its
    call).  ``footnote-policy`` does not govern this path.  A scholarly edition needs
    every note on the page of its call, so for the duration of our layout the one
    statement that decides it is replaced (the line then simply breaks to the next
    page).  If a WeasyPrint release changes that code, nothing is patched, a
    ``pdf.footnotes`` warning says so, and the tests catch any displaced note.
    The swap lasts for one layout in this process; lay out parts in parallel with
    processes, not threads."""
    from weasyprint.layout import block
    original = block._linebox_layout
    try:
        src = inspect.getsource(original)
    except (OSError, TypeError):
        src = ""
    if _DEFER not in src:
        report.warning("build/pdf/edition.pdf", 0, "pdf.footnotes",
                       "this WeasyPrint version may move footnotes away from their calls")
        yield
        return
    namespace = dict(block.__dict__)
    exec(compile(src.replace(_DEFER, "report = False"), block.__file__, "exec"), namespace)
    block._linebox_layout = namespace[original.__name__]
    try:
        yield
    finally:
        block._linebox_layout = original


class _weasyprint_log:
    """Route WeasyPrint's warnings and errors into the build report (``pdf.weasyprint``)."""

    def __init__(self, report: Report):
        self.report = report
        self.handler = _ReportHandler(report)

    def __enter__(self):
        self.logger = logging.getLogger("weasyprint")
        self.logger.addHandler(self.handler)
        self._prop = self.logger.propagate
        self.logger.propagate = False
        return self

    def __exit__(self, *exc):
        self.logger.removeHandler(self.handler)
        self.logger.propagate = self._prop
        return False


class _ReportHandler(logging.Handler):
    def __init__(self, report: Report):
        super().__init__(logging.WARNING)
        self.report = report

    def emit(self, record):
        try:
            msg = record.getMessage()
        except Exception:  # pragma: no cover
            msg = str(record.msg)
        self.report.warning("build/pdf/edition.pdf", 0, "pdf.weasyprint", msg)
