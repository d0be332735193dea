"""The HTML edition: a static site built from the resolved edition.

    build_site(edition, out_dir, report)
      files   -> the pages of the site (home, one per document, principles, indexes,
                 concordance, timeline, annotations, search)
      render  -> each document through the shared :class:`HtmlRenderer` (one tree, one
                 behaviour table, the same as the PDF's)
      Jinja   -> templates/html/*.html (an edition overrides any of them in
                 <project>/templates/html/)
      assets  -> web.css, site.js, fonts/ (styles/, overridable), tei/*.xml copied
      search  -> a Pagefind index written into pagefind/ (UI assets served by the site)

The layout is flat (every page at the top of the site, assets below), and every
link is relative, so the site works on any static host and opened from disk.  No
page loads anything from another host; the pages carry a Content-Security-Policy
that allows scripts and styles from the site only and no inline script.
"""
from __future__ import annotations

import functools
import json
import difflib
import re
import shutil
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined, select_autoescape
from lxml import etree
from markupsafe import Markup

from editio import TEI_NS, XML_ID, XML_LANG, __version__, gate, publish
from editio.behaviours import local
from editio.diagnostics import Report
from editio.render.html import (HtmlRenderer, Links, anchor_name, annotation_label, kind_label, reader_text,
                                type_label)
from editio.dates import dates_in_words
from editio.resources import style_file, styles_dir, template_dirs
from editio.text import plain
from editio.typography import curl
from editio.transforms import Edition, ResolvedDoc

T = "{%s}" % TEI_NS

# 'self' matches nothing in a page opened from disk (its origin is opaque), so the site's own
# files are also allowed as file: URLs; a page served over HTTP can never load file: URLs.
# 'wasm-unsafe-eval' lets Pagefind compile its WebAssembly; nothing else is evaluated.
CSP = ("default-src 'self'; script-src 'self' file: 'wasm-unsafe-eval'; style-src 'self' file:; "
       "img-src 'self' file: data:; font-src 'self' file:; connect-src 'self'; worker-src 'self' blob:; "
       "object-src 'none'; base-uri 'none'; form-action 'self'")

# the fixed pages: file name -> (navigation label, template)
PAGES = {
    "index": ("Home", "home.html"),
    "contents": ("Contents", "contents.html"),
    "principles": ("Note on the text", "principles.html"),
    "persons": ("Persons", "entities.html"),
    "places": ("Places", "entities.html"),
    "organisations": ("Organisations", "entities.html"),
    "concordance": ("Concordance", "concordance.html"),
    "timeline": ("Timeline", "timeline.html"),
    "annotations": ("Annotations", "annotations.html"),
    "redactions": ("Redactions", "redactions.html"),
    "search": ("Search", "search.html"),
}
ENTITY_PAGES = {"person": "persons", "place": "places", "org": "organisations"}
ENTITY_LABELS = {"person": "Person", "place": "Place", "org": "Organisation", "event": "Event"}
HEADER_SECTIONS = {
    "correction": "Correction", "normalization": "Normalisation", "quotation": "Quotation",
    "hyphenation": "Hyphenation", "segmentation": "Segmentation", "interpretation": "Interpretation",
    "punctuation": "Punctuation", "stdVals": "Standard values",
}
LANG_NAMES = {"zh": "Chinese", "ko": "Korean", "ru": "Russian", "ja": "Japanese", "en": "English",
              "de": "German", "fr": "French"}


# ------------------------------------------------------------------ links
class SiteLinks(Links):
    """Relative URLs of the flat site; ``current`` is the document whose page is being
    written (links into it become bare fragments), None on the other pages."""

    def __init__(self, site: "Site", current: ResolvedDoc | None = None):
        self.site = site
        self.current = current

    def page(self, rdoc: ResolvedDoc) -> str:
        self.site.depend(rdoc.doc)
        return self.site.doc_pages[rdoc.id]

    def _href(self, rdoc: ResolvedDoc, frag: str) -> str:
        if rdoc is self.current:
            return f"#{frag}"
        return f"{self.page(rdoc)}#{frag}"

    def doc(self, rdoc):
        self.site.depend(rdoc.doc)
        return self.page(rdoc) if rdoc is not self.current else "#top"

    def element(self, rdoc, el):
        return self._href(rdoc, self.site.fragment_for(rdoc, el))

    def entity(self, ent):
        if ent is None:
            return None
        self.site.depend(ent.doc)
        if ent.kind == "event":
            return self.event(ent)
        page = ENTITY_PAGES.get(ent.kind)
        return f"{page}.html#{ent.id}" if page and not self.site.edition.corpus.is_editor(ent) else None

    def work(self, bibl):
        i = bibl.get(XML_ID)
        return f"principles.html#{i}" if i else None

    def event(self, ent):
        if ent is None:
            return None
        self.site.depend(ent.doc)
        if ent.id in self.site.concordance_ids:
            return f"concordance.html#{ent.id}"
        if f"ev-{ent.id}" in self.site.timeline_ids:
            return f"timeline.html#ev-{ent.id}"
        return None

    def note(self, rdoc, a):
        return self._href(rdoc, f"note-{a.n}")

    def asset(self, path):
        return self.site.asset(Path(path))

    def glossary(self, entry):
        if entry is not None:
            self.site.depend(entry.doc)
        return f"{entry.page}.html#{entry.id}" if entry is not None else None


# ------------------------------------------------------------------ helpers
def html(el) -> Markup:
    """An lxml HTML fragment as markup for the templates (text already escaped)."""
    if el is None:
        return Markup("")
    return Markup(etree.tostring(el, method="html", encoding="unicode", with_tail=False))


def inner_html(el) -> Markup:
    if el is None:
        return Markup("")
    parts = [Markup.escape(el.text or "")]
    for c in el:
        parts.append(Markup(etree.tostring(c, method="html", encoding="unicode", with_tail=True)))
    return Markup("").join(parts)


SEARCH_EXCLUDE = (".reading-dip", ".q-dip", ".note-call", ".backlinks", ".permalink", ".paratext-label",
                  ".block-label", ".reading-tools", ".doc-links", ".cite", ".doc-about")
"""What Pagefind leaves out of a page: what is not the edited reading a reader searches."""


def strip_ids(el, page: str) -> None:
    """Make a fragment placeable on another page: no ids, no permalinks, same-page
    links pointed at ``page``."""
    for p in list(el.iter("a")):
        if "permalink" in (p.get("class") or "").split():
            _remove(p)
    for e in el.iter():
        if not isinstance(e.tag, str):
            continue
        if "id" in e.attrib:
            del e.attrib["id"]
        h = e.get("href")
        if h and h.startswith("#"):
            e.set("href", page + h)


def _remove(e) -> None:
    parent = e.getparent()
    if parent is None:
        return
    tail = e.tail or ""
    prev = e.getprevious()
    if prev is not None:
        prev.tail = (prev.tail or "") + tail
    else:
        parent.text = (parent.text or "") + tail
    parent.remove(e)


def insert_after(node, new) -> None:
    """Place ``new`` directly after ``node`` (before ``node``'s tail text)."""
    new.tail = node.tail
    node.tail = None
    node.addnext(new)


def fmt_date(iso: str) -> str:
    """ISO 8601 (YYYY, YYYY-MM, YYYY-MM-DD) -> "26 October 1958", a range
    ("1977-03-01/1977-03-03") -> "1–3 March 1977"; anything else as is."""
    if iso and iso.count("/") == 1:
        from editio.dates import range_in_words
        return range_in_words(*iso.split("/"))
    m = re.fullmatch(r"(-?\d{4})(?:-(\d{2}))?(?:-(\d{2}))?", iso or "")
    if not m:
        return iso or ""
    y, mo, d = m.groups()
    months = ["January", "February", "March", "April", "May", "June", "July", "August",
              "September", "October", "November", "December"]
    if mo and 1 <= int(mo) <= 12:
        return f"{int(d)} {months[int(mo) - 1]} {y}" if d else f"{months[int(mo) - 1]} {y}"
    return y


def fmt_range(el) -> str:
    return dates_in_words(el)


def lang_name(tag: str) -> str:
    base = (tag or "").split("-")[0]
    script = {"Hans": "simplified", "Hant": "traditional", "Hang": "Hangul", "Kore": "Hanja",
              "Cyrl": "Cyrillic", "Latn": "Latin"}.get((tag.split("-") + [""])[1], "")
    name = LANG_NAMES.get(base, tag)
    return f"{name} ({script})" if script else name


def json_ld(data: dict) -> Markup:
    """JSON for a <script type="application/ld+json"> data block, safe inside HTML."""
    s = json.dumps(data, ensure_ascii=False, indent=1)
    return Markup(s.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


@dataclass
class Mention:
    rdoc: ResolvedDoc
    label: str
    href: str
    form: str


PASSIM = 15
"""A document with more mentioned paragraphs than this is cited "passim" in an index."""


def plain_markup(m) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", str(m)).split())


def similar(a: str, b: str) -> bool:
    """The same note, near enough (a word or two changed)."""
    if a == b:
        return True
    if not a or not b or min(len(a), len(b)) / max(len(a), len(b)) < 0.9:
        return False
    return difflib.SequenceMatcher(None, a, b, autojunk=False).ratio() >= 0.92


def mention_groups(mentions: list, doc_pages: dict) -> list[dict]:
    """An index entry's mentions grouped by document, paragraphs in ranges: "Doc. 5:
    ¶¶ 1, 4, 36–38; notes 3, 7", or "¶¶ 2–98 passim" past :data:`PASSIM` paragraphs."""
    out: list[dict] = []
    by_doc: dict = {}
    for m in mentions:
        g = by_doc.get(m.rdoc.id)
        if g is None:
            g = by_doc[m.rdoc.id] = {"rd": m.rdoc, "href": doc_pages.get(m.rdoc.id, ""), "paras": {},
                                     "notes": {}}
            out.append(g)
        num = re.fullmatch(r"(¶|note) (\w+)", m.label)
        if num and num.group(1) == "¶" and num.group(2).isdigit():
            g["paras"].setdefault(int(num.group(2)), m.href)
        else:
            g["notes"].setdefault(num.group(2) if num else m.label, m.href)
    for g in out:
        paras = sorted(g["paras"])
        parts = []
        if len(paras) > PASSIM:
            parts.append({"sign": "¶¶", "items": [(f"{paras[0]}–{paras[-1]}", g["paras"][paras[0]])],
                          "passim": True})
        elif paras:
            runs, start = [], paras[0]
            for a, b in zip(paras, paras[1:] + [None]):
                if b != a + 1:
                    runs.append((f"{start}–{a}" if a != start else str(a), g["paras"][start]))
                    start = b
            parts.append({"sign": "¶¶" if len(paras) > 1 else "¶", "items": runs, "passim": False})
        if g["notes"]:
            parts.append({"sign": "notes" if len(g["notes"]) > 1 else "note",
                          "items": list(g["notes"].items()), "passim": False})
        g["parts"] = parts
        g["count"] = len(paras) + len(g["notes"])
    return out


# ------------------------------------------------------------------ the site
class Site:
    def __init__(self, edition: Edition, out: Path, report: Report, progress=None, cache=None):
        self.cache = cache                # editio.cache.SiteCache: pages of the last build
        self.edition = edition
        self.corpus = edition.corpus
        self.project = edition.project
        self.out = out
        self.report = report
        self.progress = progress
        self.profile = edition.profile
        self.glossaries = {g.page: g for g in self.profile.glossaries}
        self.doc_pages = self._doc_pages()
        self.assets: dict[Path, str] = {}
        self.search_records: list[dict] = []
        self.concordance_ids = {eid for eid, ps in self.corpus.event_passages.items() if ps}
        self.timeline_ids = {f"ev-{e.id}" for e in self.corpus.entities_of("event") if e.when}
        self.env = self._env()
        self._note_of: dict = {}          # note element -> (rdoc, annotation)
        for rd in edition.docs:
            for a in rd.annotations:
                for n in a.notes:
                    self._note_of[n] = (rd, a)
        self._rendered_ids: dict[str, set] = {}
        self._deps: set = set()           # documents the page being made reads
        self._fragments: dict = {}        # page -> {key: html} made by the page being made
        self._made_fragments: dict = {}   # page -> {key: html} the pages made so far made
        self._similar: dict = {}          # pair of note texts -> similar(), of the page being made
        self.on_first = None              # called with the changed documents' pages, made first
        self.before_fork = None           # called before the page writers fork (a server
        #                                   waits for its validating thread there)
        self.keep_memory = False          # keep the edition's caches after the pages (a server)
        self.tei_later = False            # the published TEI copied by the caller, after the
        #                                   pages (:meth:`copy_tei`; a server: pages first)
        self._early = None                # the search indexer, started on the unit pages
        self._runner = None               # the asyncio runner it lives in

    # ------------------------------------------------------------ setup
    def _doc_pages(self) -> dict[str, str]:
        out, taken = {}, {p.casefold() for p in (*PAGES, *self.glossaries)}
        for rd in self.edition.docs:
            stem = re.sub(r"[^A-Za-z0-9_.-]+", "-", rd.id).strip("-.") or f"doc{rd.number}"
            if stem.casefold() in taken:  # case-insensitive disks: d1 and D1 are one file
                stem = f"doc-{stem}"
            while stem.casefold() in taken:
                stem += "-"
            taken.add(stem.casefold())
            out[rd.id] = f"{stem}.html"
        return out

    def _env(self) -> Environment:
        dirs = template_dirs(self.project, "html")
        env = Environment(loader=ChoiceLoader([FileSystemLoader(str(d)) for d in dirs]),
                          bytecode_cache=self.cache.templates() if self.cache is not None else None,
                          autoescape=select_autoescape(default=True, default_for_string=True),
                          undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
        env.filters["date"] = fmt_date
        env.filters["reader"] = lambda text: reader_text(self.edition, text)
        env.filters["typographic"] = curl
        env.filters["mention_groups"] = lambda ms: mention_groups(ms, self.doc_pages)
        prof = self.profile
        env.globals.update(kind_label=lambda k: kind_label(prof, k) or k.capitalize(),
                           type_label=lambda t: type_label(prof, t), lang_name=lang_name)
        return env

    def fragment_for(self, rdoc: ResolvedDoc, el) -> str:
        """The id on the document's page where ``el`` is shown."""
        if el is rdoc.doc.root or el is rdoc.element:
            return "top"
        if local(el) == "note" and el in self._note_of:
            return f"note-{self._note_of[el][1].n}"
        if local(el) == "pb" and el.get(XML_ID):     # a page marker keeps its id, even in a note
            return anchor_name(rdoc, el)
        for a in el.iterancestors("{*}note", "{*}teiHeader"):   # (of any namespace)
            if a.tag.endswith("}teiHeader") or a.tag == "teiHeader":
                return "top"
            if a in self._note_of:
                return f"note-{self._note_of[a][1].n}"
        ann = rdoc.by_element.get(el)
        if ann is not None and not ann.id:
            return f"call-{ann.n}"
        name = anchor_name(rdoc, el)
        if el.get(XML_ID) and self.edition.table.behaviour(el, "html").layout == "omit":
            p = rdoc.paragraph_of(el)
            return p[0] if p else "top"
        return name

    def asset(self, path: Path) -> str:
        """Copy a file of the project (an image) into the site; its relative URL."""
        if path not in self.assets:  # only images the gate and publish.media_kind let through
            self.assets[path] = None
            try:
                data = gate.read_bytes(self.project.root, path, output=self.project.output_dir,
                                       max_bytes=publish.MAX_MEDIA_BYTES)
            except gate.Refused:
                return None  # check has said why (media.refused)
            kind = publish.media_kind(data)
            if kind is None or (kind == "svg" and publish.svg_problem(data)):
                return None
            dest = publish.media_name(self.project.rel(path), kind)
            (self.out / dest).parent.mkdir(parents=True, exist_ok=True)
            (self.out / dest).unlink(missing_ok=True)   # never through a link to the last build
            (self.out / dest).write_bytes(data)
            self.assets[path] = dest
        return self.assets[path]

    def renderer(self, rdoc: ResolvedDoc, current: ResolvedDoc | None, view: str = "both") -> HtmlRenderer:
        return HtmlRenderer(self.edition, rdoc, SiteLinks(self, current), self.report, view=view)

    # ------------------------------------------------------------ build
    def fixed_pages(self) -> list:
        """(file name, the function that writes it) of each page over the whole edition
        (every page but the units' own).  Each is either taken from the last build when its
        view of each changed document is as it was (:data:`editio.cache.INDEX_VIEWS`), or
        made again whenever a document changes (:data:`editio.cache.ALWAYS_MADE`, the
        glossaries)."""
        pages = [("index.html", self.home), ("contents.html", self.contents),
                 ("principles.html", self.principles),
                 *[(f"{ENTITY_PAGES[k]}.html", self._entities(k)) for k in ENTITY_PAGES
                   if ENTITY_PAGES[k] not in self.glossaries],
                 *[(f"{g.page}.html", self._glossary(g)) for g in self.profile.glossaries],
                 ("concordance.html", self.concordance), ("timeline.html", self.timeline),
                 ("annotations.html", self.annotations), ("search.html", self.search)]
        if self.has_redactions:
            pages.append(("redactions.html", self.redactions))
        return pages

    def build(self, later: list | None = None) -> None:
        """Write the site.  With ``later`` (a list), the search index is read but not yet
        written: the step that writes it (:class:`editio.builders.Later`, which needs
        nothing of the edition) is appended to ``later`` for the caller to run once the
        edition is let go."""
        self.out.mkdir(parents=True, exist_ok=True)
        self.copy_assets()
        pages = self.fixed_pages()
        total = len(self.edition.docs) + len(pages) + 1
        if self.progress:
            self.progress.start("HTML site", total)
        if self.cache is not None:
            self.cache.warm(self.edition)   # the sort keys of the last build
        self._ahead()   # before the page writers fork
        if self.cache is not None:
            self.cache.keep_sort_keys(self.edition)
        jobs = [(self.doc_pages[rd.id], functools.partial(self.document, rd), rd)
                for rd in self.edition.docs] + [(name, make, None) for name, make in pages]
        done = self._make_pages(jobs)
        if not self.tei_later:
            self.copy_tei()   # after the pages: a changed document's page is in place sooner
        for name, _, _ in jobs:   # merged in the order of the pages, however they were made
            records, diagnostics, assets = done[name]
            self.search_records.extend(records)
            for d in diagnostics:
                self.report.add(d.file, d.line, d.col, d.severity, d.code, d.message)
            self.assets.update(assets)
        # the edition's caches (a server keeps them for its next rebuild) are dropped before
        # the search index is written (_pagefind), once the cache record's work, which reads
        # them (the pointers resolved), is done
        if later is None:
            self.index_search()   # (a server may have replaced it)
        else:
            self.index_search(later)
        self._tick()
        if self.progress:
            self.progress.stop()

    def _ahead(self) -> None:
        """What every unit's page reads, worked out before the page writers fork (else each
        process works it out again): sort keys, the names and glossary entries of each unit,
        the redactions, the navigation, the compiled templates of a unit's page."""
        self.edition.sort_keys_ahead()
        self.entities_in, self.glossary_in, self.edition.glossary_mentions  # noqa: B018
        # (the redactions are not collected here: no unit's page reads them; the
        # redactions page is made first, by this process (:meth:`_page_cost`), and the
        # cache record's work reads the same collection afterwards)
        self.nav()
        for name in ("base.html", "document.html"):
            self.env.get_template(name)

    def _page_cost(self, make) -> int:
        """A guess at the time a page takes, so that the longest are started first: a unit's
        page by its number of elements; a page over the whole edition (contents, glossaries,
        annotations, redactions …) as costly as all of them."""
        rd = make.args[0] if isinstance(make, functools.partial) and make.args else None
        if isinstance(rd, ResolvedDoc):
            root = rd.doc.root if rd.is_file else rd.element
            return sum(1 for _ in root.iter())
        if not hasattr(self, "_edition_size"):
            self._edition_size = sum(1 for d in self.corpus.texts for _ in d.root.iter())
        # the redactions page first, so that this process makes it (split_map's own first
        # item): it collects the edition's redactions, which the cache record reads too
        return self._edition_size + (make == self.redactions)

    def _make_pages(self, jobs) -> dict:
        """Make the pages of ``jobs`` ((page, make, unit)), or take them from the last build
        where nothing they read changed (:class:`editio.cache.SiteCache`): the changed
        documents' pages first, then the pages they now point to and those that list them.
        Returns page -> (search records, diagnostics, assets)."""
        from editio.cache import ALL
        from editio.diagnostics import Diagnostic
        from editio.parallel import split_map
        cache = self.cache
        done: dict = {}
        made: dict = {}

        def run(batch):
            if len(batch) > 1 and self.before_fork is not None:
                self.before_fork()   # (split_map forks: no other thread may be running)
            for (name, _, rd), (records, diagnostics, assets, deps, frags, pairs) in zip(
                    batch, split_map([make for _, make, _ in batch], self._page_job,
                                 cost=self._page_cost)):
                done[name] = (records, diagnostics, assets)
                for page, kept in frags.items():   # for the pages made after (forked later)
                    self._made_fragments.setdefault(page, {}).update(kept)
                if cache is not None:
                    cache.similar_used.update(pairs)
                    if rd is None:
                        deps = [ALL]
                    else:   # its own file, and the documents sharing an event with it
                        deps = set(deps) | cache.related(self, rd.doc.name)
                    made[name] = cache.made(
                        self.out, name, deps, records,
                        [[d.file, d.line, d.col, d.severity, d.code, d.message] for d in diagnostics],
                        {str(k): v for k, v in assets.items()}, (), frags)
                self._tick()

        if cache is None:
            self._in_two(run, jobs)
            return done
        cache.start(self)
        first = cache.first(jobs)
        run(first)    # the changed documents' pages, in place first (serve --watch)
        if first and self.on_first is not None:
            self.on_first([name for name, _, _ in first])
        reuse, first_too, rest = cache.plan(self, jobs)   # what the others see of the change
        rest = [j for j in rest if j not in first] + [j for j in first_too if j not in first]
        more = cache.also(made, first, reuse)
        reuse = [j for j in reuse if j not in more]
        for name, _, _ in reuse:
            rec = cache.reuse(self.out, name)
            done[name] = (rec["records"], [Diagnostic(*d) for d in rec["diagnostics"]],
                          {Path(k): v for k, v in rec["assets"].items()})
            self.assets.update(done[name][2])
            self._tick()
        self._in_two(run, rest + more)
        return done

    def _in_two(self, run, batch) -> None:
        """``run(batch)``, the unit pages first: the search indexer is started on them (in
        its own process, :meth:`_index_early`) and reads them while the other pages
        (contents, annotations, glossaries …, which it does not index) are made."""
        units = [j for j in batch if j[2] is not None]
        others = [j for j in batch if j[2] is None]
        if not units or not others or "index_search" in self.__dict__:
            run(batch)   # (serve --watch replaces index_search: it indexes later, if at all)
            return
        run(units)
        self._index_early()
        try:
            run(others)
        except BaseException:
            self._stop_early()
            raise

    def depend(self, doc) -> None:
        """The page being made reads ``doc`` (a link to it, a quotation from it)."""
        if doc is not None:
            self._deps.add(doc.name)

    def _fragment(self, rd: ResolvedDoc, key: str, make):
        """A part of ``rd``'s page quoted by another page (a note body, a passage): taken
        from the last build while ``rd``'s page is (:class:`editio.cache.SiteCache`)."""
        page = self.doc_pages[rd.id]
        hit = self._made_fragments.get(page, {}).get(key)   # made with its page in this build
        if hit is None and self.cache is not None:
            hit = self.cache.fragment(page, key)
        if hit is not None:
            return Markup(hit[1]) if hit[0] == "m" else hit[1]
        value = make()
        self._fragments.setdefault(page, {})[key] = ["m" if isinstance(value, Markup) else "s",
                                                     str(value)]
        return value

    def _page_job(self, make) -> tuple[list, list, dict, list, dict, dict]:
        """Write one page (a document's, or a fixed page; in whichever process
        :func:`editio.parallel.split_map` runs it); return what the page added to the site's
        search records, report and assets, taken back out here so that the parent merges
        them in the order of the pages, whichever process made them; and the documents it
        read, the parts of other pages it made and the note texts it compared (for the
        build cache)."""
        n_rec, n_diag = len(self.search_records), len(self.report.items)
        before = dict(self.assets)
        self._deps, self._fragments, self._similar = set(), {}, {}
        make()
        records = self.search_records[n_rec:]
        del self.search_records[n_rec:]
        diagnostics = self.report.items[n_diag:]
        del self.report.items[n_diag:]
        for d in diagnostics:
            self.report._seen.discard(d)
        assets = {k: v for k, v in self.assets.items() if k not in before}
        return records, diagnostics, assets, sorted(self._deps), self._fragments, self._similar

    def _tick(self):
        if self.progress:
            self.progress.advance()

    def write(self, name: str, template: str, **ctx) -> None:
        g = self.glossaries.get(name.removesuffix(".html"))
        label = g.label if g else PAGES.get(name.removesuffix(".html"), ("", ""))[0]
        ctx.setdefault("page_title", label)
        ctx.setdefault("description", self.project.description or self.project.title)
        ctx.setdefault("json_ld", None)
        ctx.setdefault("glossaries", self.profile.glossaries)
        ctx.setdefault("body_class", name.removesuffix(".html"))
        text = self.env.get_template(template).render(
            project=self.project, nav=self.nav(), current=name, csp=CSP, docs=self.edition.docs,
            doc_pages=self.doc_pages, version=__version__, canonical=self.url(name),
            has_fonts=(self.out / "assets" / "fonts.css").exists(), **ctx)
        (self.out / name).write_text(text, encoding="utf-8")

    @property
    def has_redactions(self) -> bool:
        """The edition says what a redaction is (its profile's ``[redactions]``)."""
        from editio.redactions import rules_of
        return not rules_of(self.project).empty

    def nav(self) -> list[tuple[str, str]]:
        """The site's pages, without those the edition has nothing for (no places, no
        events); glossary pages of the profile stand in for the index pages."""
        if hasattr(self, "_nav"):
            return self._nav
        empty = set()
        for kind, page in ENTITY_PAGES.items():
            if page not in self.glossaries and not self.corpus.entities_of(kind):
                empty.add(page)
        if not self.concordance_ids:
            empty.add("concordance")
        if not self.timeline_ids and not any(rd.doc.date for rd in self.edition.docs):
            empty.add("timeline")
        out = []
        for k, (lab, _) in PAGES.items():
            if k == "persons":
                out += [(f"{g.page}.html", g.label) for g in self.profile.glossaries]
            if k in empty or k in self.glossaries or (k == "redactions" and not self.has_redactions):
                continue
            out.append((f"{k}.html", lab))
        self._nav = out
        return out

    def url(self, name: str) -> str:
        base = (self.project.base_url or "").strip()
        if not base:
            return ""
        return base.rstrip("/") + "/" + ("" if name == "index.html" else name)

    def copy_assets(self) -> None:
        dest = self.out / "assets"
        dest.mkdir(parents=True, exist_ok=True)
        for name in ("web.css", "site.js"):
            self._copy_asset(style_file(self.project, name), f"assets/{name}")
        fonts = styles_dir(self.project) / "fonts"
        if fonts.is_dir() and any(fonts.iterdir()):
            for src in sorted(fonts.rglob("*")):
                rel = f"assets/fonts/{src.relative_to(fonts).as_posix()}"
                if src.is_dir():
                    (self.out / rel).mkdir(parents=True, exist_ok=True)
                elif src.is_file():
                    self._copy_asset(src, rel)
            faces = style_file(self.project, "fonts.css")
            if faces.exists():
                self._copy_asset(faces, "assets/fonts.css")

    def _copy_asset(self, src: Path, rel: str) -> None:
        """Copy a style file into the site (linked from the last build when the copy there
        is of the same bytes: :meth:`editio.cache.SiteCache.reuse_copy`)."""
        target = self.out / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if self.cache is not None:
            from editio.cache import file_hash
            h = file_hash(src, self.corpus.hashes)
            if self.cache.reuse_copy(self.out, rel, h):
                return
        shutil.copyfile(src, target)
        if self.cache is not None:
            self.cache.copies[rel] = h

    def copy_tei(self) -> None:
        for d in self.corpus.documents:  # from the checked tree, cleaned: only TEI is published
            target = self.out / "tei" / d.name
            target.parent.mkdir(parents=True, exist_ok=True)
            if self.cache is not None and self.cache.reuse_tei(self.out, d.name):
                continue     # its bytes and the settings as at the last build: its copy
            data = publish.tei_bytes(d, self.project)
            target.write_bytes(data)
            if self.cache is not None:
                self.cache.tei_made(d.name, data)

    def tei_href(self, rdoc: ResolvedDoc) -> str:
        return "tei/" + rdoc.doc.name

    # ------------------------------------------------------------ documents
    def document(self, rd: ResolvedDoc) -> None:
        r = self.renderer(rd, rd)
        r.place_backlinks = True
        text = r.render()
        r.note_bodies = {}
        notes = r.notes_list()
        referenced = r.unplaced_backlinks()
        page = self.doc_pages[rd.id]
        for ann, (first, kids) in r.note_bodies.items():
            # the note as other pages quote it (note_html), from what this page rendered:
            # the same HTML once its ids are stripped (a test compares the two), and the
            # page that quotes it (the annotations page) need not render it again
            box = etree.Element("div", {"class": "note-body"})
            box.text = first
            box.extend(kids)
            strip_ids(box, page)
            self._fragments.setdefault(page, {})[self._note_key(ann)] = ["m", str(inner_html(box))]
        i = self.edition.docs.index(rd)
        prev_doc = self.edition.docs[i - 1] if i else None
        next_doc = self.edition.docs[i + 1] if i + 1 < len(self.edition.docs) else None
        mentioned = self.mentioned_entities(rd)
        kinds = sorted({kind_label(self.profile, a.kind) for a in rd.annotations})
        self.write(page, "document.html", rd=rd, text=html(text), notes=html(notes),
                   page_title=rd.title, description=self.doc_description(rd),
                   source=self.source_of(rd), tei_href=self.tei_href(rd),
                   pdf_href="../pdf/edition.pdf", prev_doc=prev_doc, next_doc=next_doc,
                   referenced=referenced, mentioned=mentioned, counts=self.doc_counts(rd),
                   has_masks=bool(rd.silent) or any(a.kind in ("redaction", "correction", "normalisation")
                                                    for a in rd.annotations),
                   json_ld=json_ld(self.doc_json_ld(rd)), cite=self.cite(rd),
                   search_filters=[("document", rd.label), ("type", "Text")], annotation_kinds=kinds,
                   layers=self.layers)
        self._search_notes(rd)

    @property
    def layers(self) -> tuple:
        """The marks a reader can turn on that this edition has (the same on every page,
        as the choice is remembered across pages): names, cross-references, errors noted,
        back-links; a FRUS volume has no errors noted and no back-links to offer."""
        if not hasattr(self, "_layers"):
            kinds = {a.kind for rd in self.edition.docs for a in rd.annotations}
            have = {"names": bool(self.corpus.entities) or bool(self.edition.glossary),
                    "xrefs": "crossref" in kinds, "errors": "error" in kinds,
                    "backlinks": bool(self.edition.inbound)}
            self._layers = tuple(k for k, v in have.items() if v)
        return self._layers

    def doc_description(self, rd: ResolvedDoc) -> str:
        n = len(rd.annotations)
        where = f"Document {rd.number}" if rd.is_file else rd.label
        # "diplomatic and edited" only where the page has both readings (masks, corrections)
        both = bool(rd.silent) or any(a.kind in ("redaction", "correction", "normalisation")
                                      for a in rd.annotations)
        return (f"{where} of {self.project.title}: {rd.title}. "
                f"{'Diplomatic and edited text' if both else 'Text'} with {n} annotation{'s' if n != 1 else ''}.")

    def source_of(self, rd: ResolvedDoc) -> dict:
        """What the header says of the source (:meth:`Edition.source`, made once for every
        output): title, author, publisher, date, notes rendered.  A unit inside a file (a
        FRUS document) has its own date (its dateline's) and its source in its source note."""
        src = self.edition.source(rd)
        out = {"titles": list(src.titles), "author": src.author, "publisher": src.publisher,
               "date": src.date, "notes": [], "summary": ""}
        r = HeaderRenderer(self, rd) if src.notes else None
        for n in src.notes:
            div = etree.Element("p", {"class": "source-note"})
            if n.get("type"):
                lab = etree.SubElement(div, "span", {"class": "source-note-type"})
                lab.text = n.get("type").capitalize() + ": "
            r.children(n, div)
            out["notes"].append(html(div))
        parts = [x for x in (out["publisher"], out["author"], fmt_date(out["date"])) if x]
        out["summary"] = "; ".join(parts)
        return out

    def doc_counts(self, rd: ResolvedDoc) -> list[tuple[str, int]]:
        c = Counter(annotation_label(a, self.profile) or "Footnotes" for a in rd.annotations)
        return sorted(c.items())

    @property
    def entities_in(self) -> dict:
        """A file (its unit is the whole file) or a unit -> the ids of the entities mentioned
        in it, in the corpus's order: every mention located once for all pages."""
        if not hasattr(self, "_entities_in"):
            out: dict = {}
            for eid, ms in self.corpus.mentions.items():
                for d, el in ms:
                    for key in (d, self.edition.locate(el)):
                        if key is not None:
                            out.setdefault(key, {})[eid] = None
            self._entities_in = out
        return self._entities_in

    def mentioned_entities(self, rd: ResolvedDoc) -> list:
        seen = {}
        for eid in self.entities_in.get(rd.doc if rd.is_file else rd, ()):
            ent = self.corpus.entities[eid]
            href = SiteLinks(self).entity(ent)
            if href:
                seen[eid] = (ENTITY_LABELS.get(ent.kind, ent.kind), ent.name, href)
        # the glossary entries named in this unit (history.state.gov's "Persons" and
        # "Abbreviations & Terms" of a document)
        links = SiteLinks(self)
        for e in self.glossary_in.get(rd.id, ()):
            e = self.edition.glossary_target(e)     # "Yang, Dr., see You Chan Yang": the latter
            seen[e.id] = (e.label, e.term, links.glossary(e))
        return sorted(seen.values(), key=lambda x: (x[0], self.edition.sort_key(x[1])))

    @property
    def glossary_in(self) -> dict:
        """unit id -> the glossary entries named in it."""
        if not hasattr(self, "_glossary_in"):
            out: dict = {}
            by_id = {e.id: e for e in self.edition.glossary.values()}
            for eid, places in self.edition.glossary_mentions.items():
                for rd, _ in places:
                    out.setdefault(rd.id, {})[eid] = by_id[eid]
            self._glossary_in = {k: list(v.values()) for k, v in out.items()}
        return self._glossary_in

    def doc_json_ld(self, rd: ResolvedDoc) -> dict:
        p = self.project
        data = {
            "@context": "https://schema.org", "@type": "CreativeWork",
            "name": rd.title, "position": rd.number, "inLanguage": rd.doc.root.get(XML_LANG) or p.language,
            "isPartOf": {"@type": "CreativeWork", "name": p.title},
            "editor": [{"@type": "Person" if len(e.split()) <= 4 else "Organization", "name": e}
                       for e in p.editors],
            "encodingFormat": "text/html",
            "associatedMedia": {"@type": "MediaObject", "encodingFormat": "application/tei+xml",
                                "contentUrl": self.url(self.tei_href(rd)) or self.tei_href(rd)},
        }
        if p.publisher:
            data["publisher"] = {"@type": "Organization", "name": p.publisher}
        if p.licence:
            data["license"] = p.licence
        if rd.doc.date:
            data["isBasedOn"] = {"@type": "CreativeWork", "datePublished": rd.doc.date}
        if self.url(self.doc_pages[rd.id]):
            data["url"] = self.url(self.doc_pages[rd.id])
        return data

    def cite(self, rd: ResolvedDoc) -> dict:
        p = self.project
        eds = ", ".join(p.editors)
        return {"editors": eds + (" (eds.)" if eds else ""), "title": rd.title, "edition": p.title,
                "publisher": p.publisher, "date": p.date, "url": self.url(self.doc_pages[rd.id]),
                "page": self.doc_pages[rd.id],
                # a document the TEI gives no number is cited by its title alone
                "number": rd.number if rd.is_file else rd.n if rd.numbered else ""}

    # ------------------------------------------------------------ fixed pages
    def home(self) -> None:
        intro = [para.strip() for para in re.split(r"\n\s*\n", self.project.introduction or "") if para.strip()]
        totals = Counter((a.kind, a.type) for rd in self.edition.docs for a in rd.annotations)
        by_kind: dict = defaultdict(list)
        for (k, t), n in sorted(totals.items()):
            by_kind[k].append((type_label(self.profile, t), n, t))
        kinds = [(k, kind_label(self.profile, k) or "Notes", sum(n for _, n, _ in v), v)
                 for k, v in sorted(by_kind.items(), key=lambda kv: -sum(n for _, n, _ in kv[1]))]
        docs = [(rd, self.source_of(rd), len(rd.annotations)) for rd in self.edition.docs]
        nav = {href for href, _ in self.nav()}
        ents = [(lab, f"{ENTITY_PAGES[k]}.html", len(self.corpus.entities_of(k)))
                for k, lab in (("person", "Persons"), ("place", "Places"), ("org", "Organisations"))
                if f"{ENTITY_PAGES[k]}.html" in nav and ENTITY_PAGES[k] not in self.glossaries]
        ents += [(g.label, f"{g.page}.html", len(self.edition.glossary_entries(g.name)))
                 for g in self.profile.glossaries]
        units = not all(rd.is_file for rd in self.edition.docs)
        volume = self.volume_source() if units else []
        events = len(self.corpus.entities_of("event"))
        data = {"@context": "https://schema.org", "@type": "WebSite", "name": self.project.title,
                "description": self.project.description,
                "hasPart": [{"@type": "CreativeWork", "name": rd.title, "position": rd.number}
                            for rd in self.edition.docs]}
        self.write("index.html", "home.html", page_title="", intro=intro, kinds=kinds, doc_rows=docs,
                   entity_counts=ents, event_count=events, json_ld=json_ld(data),
                   total_annotations=sum(totals.values()), units=units, volume=volume,
                   ndocuments=sum(1 for rd in self.edition.docs if rd.kind == "document"),
                   has_concordance="concordance.html" in nav, has_timeline="timeline.html" in nav)

    def volume_source(self) -> list[str]:
        """What the header of a file of many units says of it: editors, publisher, date."""
        out = []
        for doc in self.corpus.texts[:1]:
            fd = doc.root.find(f"{T}teiHeader/{T}fileDesc")
            if fd is None:
                continue
            eds = [plain(e) for e in fd.iterfind(f"{T}titleStmt/{T}editor") if plain(e).strip()]
            if eds:
                out.append("Edited by " + ", ".join(" ".join(e.split()) for e in eds))
            pub = fd.find(f"{T}publicationStmt")
            if pub is not None:
                bits = [" ".join(plain(pub.find(T + t)).split()) for t in ("publisher", "pubPlace", "date")
                        if pub.find(T + t) is not None]
                if any(bits):
                    out.append(", ".join(b for b in bits if b))
            for p in fd.iterfind(f"{T}sourceDesc/{T}p"):
                if plain(p).strip():
                    out.append(" ".join(plain(p).split()))
        return out

    def principles(self) -> None:
        groups: list[tuple[list, Markup, str]] = []
        seen_files: set = set()
        for rd in self.edition.docs:
            if rd.doc.name in seen_files:       # one header per file, however many units
                continue
            seen_files.add(rd.doc.name)
            decl = rd.doc.root.find(f"{T}teiHeader/{T}encodingDesc/{T}editorialDecl")
            if decl is None:
                continue
            r = HeaderRenderer(self, rd)
            div = etree.Element("div", {"class": "editorial-decl"})
            r.children(decl, div)
            strip_ids(div, self.doc_pages[rd.id])
            key = " ".join(plain(decl).split())
            for g in groups:
                if g[2] == key:
                    g[0].append(rd)
                    break
            else:
                groups.append(([rd], html(div), key))
        present = {(a.kind, a.type) for rd in self.edition.docs for a in rd.annotations}
        paras = [x.strip() for x in re.split(r"\n\s*\n", self.profile.principles or "") if x.strip()]
        pagebreaks = any(rd.doc.root.find(f".//{T}pb") is not None for rd in self.edition.docs[:1])
        self.write("principles.html", "principles.html", groups=[(g[0], g[1]) for g in groups],
                   present_kinds={k for k, _ in present}, present=present, principles=paras,
                   silent=sum(len(rd.silent) for rd in self.edition.docs),
                   glossaries=self.profile.glossaries, pagebreaks=pagebreaks, nfiles=len(seen_files),
                   works=self._works())

    def contents(self) -> None:
        """Every unit, grouped under the divisions that hold it (FRUS: compilation and
        chapter), in reading order."""
        groups: list[dict] = []
        anchored: set = set()      # each division's anchor once (a document's context links to it)
        for rd in self.edition.docs:
            key = tuple(rd.context)
            if not groups or groups[-1]["key"] != key:
                prev = groups[-1]["key"] if groups else ()
                common = 0
                while common < min(len(prev), len(key)) and prev[common] == key[common]:
                    common += 1
                heads = []
                for cid, h in key[common:]:
                    heads.append((f"c-{cid}" if cid and cid not in anchored else "", h))
                    anchored.add(cid)
                groups.append({"key": key, "heads": heads, "units": [], "intros": {}})
            groups[-1]["units"].append(rd)
            # a chapter's own text that opens this unit's page (transforms.split_units)
            divs = [el.getparent() for el in rd.leading if local(el) not in ("pb", "head")]
            groups[-1]["intros"][rd.id] = [f"intro-{d.get(XML_ID)}" for d in dict.fromkeys(divs)
                                           if d is not None and d.get(XML_ID)]
        self.write("contents.html", "contents.html", groups=groups)

    def _glossary(self, g):
        def make():
            links = SiteLinks(self)
            rows = []
            entries = sorted(self.edition.glossary_entries(g.name), key=lambda e: self.edition.sort_key(e.term))
            for e in entries:
                places, seen = [], set()
                for rd, el in self.edition.glossary_mentions.get(e.id, []):
                    if rd.id in seen:
                        continue
                    seen.add(rd.id)
                    places.append((rd.label, links.element(rd, el)))
                target = self.edition.glossary_target(e)   # "see …": a link to the entry meant
                rows.append((e, places, links.glossary(target) if target is not e else None))
                self.search_records.append({
                    "url": f"/{g.page}.html#{e.id}", "content": f"{e.term} {e.description}",
                    "meta": {"title": f"{e.term} ({g.label})"}, "filters": {"type": [g.label]}})
            self.write(f"{g.page}.html", "glossary.html", glossary=g, entries=rows)
        return make

    def _works(self) -> list[dict]:
        """The bibliography of the authority files (``standOff//listBibl/bibl``), cited in notes."""
        works = []
        for doc in self.edition.corpus.documents:
            if doc.has_text:
                continue
            for b in doc.root.iter(f"{T}bibl"):
                if b.get(XML_ID) and b.getparent() is not None and local(b.getparent()) == "listBibl":
                    urls = [p.get("target") for p in b.iter(f"{T}ptr")
                            if (p.get("target") or "").startswith(("https://", "http://"))]
                    text = " ".join(plain(b).split())  # an empty ptr leaves its punctuation
                    text = re.sub(r"\s*,\s*([.;])", r"\1", re.sub(r"\s+([.,;])", r"\1", text))
                    works.append({"id": b.get(XML_ID), "text": text, "url": urls[0] if urls else ""})
        return works

    def _entities(self, kind: str):
        def make():
            page = ENTITY_PAGES[kind]
            ents = []
            for e in sorted(self.corpus.entities_of(kind), key=self.edition.entity_sort_key):
                ents.append((e, self.mentions_of(e)))
            self.write(f"{page}.html", "entities.html", kind=kind, kind_label=ENTITY_LABELS[kind],
                       entities=ents)
            for e, ms in ents:
                content = " ".join(dict.fromkeys([*[n for n, _, _ in e.names], e.description,
                                                  *(m.form for m in ms)]))
                self.search_records.append({
                    "url": f"/{page}.html#{e.id}", "content": content,
                    "meta": {"title": f"{e.name} ({ENTITY_LABELS[kind]})"},
                    "filters": {"type": [ENTITY_LABELS[kind]]}})
        return make

    def mentions_of(self, ent) -> list[Mention]:
        out = []
        links = SiteLinks(self)
        for doc, el in self.corpus.mentions.get(ent.id, []):
            rd = self.edition.locate(el)
            if rd is None:
                continue
            note = next((a for a in el.iterancestors() if local(a) == "note"), None)
            if note is not None and note in self._note_of:
                ann = self._note_of[note][1]
                label, href = f"note {ann.n}", links.note(rd, ann)
            else:
                p = rd.paragraph_of(el)
                if p is None:
                    continue
                label, href = f"¶ {p[1]}", links._href(rd, p[0])
            out.append(Mention(rd, label, href, plain(el)))
        return out

    def passage(self, rd: ResolvedDoc, el, view: str = "edited") -> Markup:
        return self._fragment(rd, f"passage:{view}:{el.getroottree().getpath(el)}",
                              lambda: self._passage(rd, el, view))

    def _passage(self, rd: ResolvedDoc, el, view: str = "edited") -> Markup:
        r = self.renderer(rd, None, view=view)
        box = etree.Element("div", {"class": "passage-text tei-text", "lang": rd.doc.root.get(XML_LANG, "en")})
        r.node(el, box)
        strip_ids(box, self.doc_pages[rd.id])
        return inner_html(box)

    @staticmethod
    def _note_key(ann) -> str:
        el = ann.element
        return f"note:{ann.n}:{el.getroottree().getpath(el)}"

    def note_html(self, rd: ResolvedDoc, ann) -> Markup:
        return self._fragment(rd, self._note_key(ann), lambda: self._note_html(rd, ann))

    def _note_html(self, rd: ResolvedDoc, ann) -> Markup:
        r = self.renderer(rd, None)
        box = etree.Element("div", {"class": "note-body"})
        r.note_body(ann, box)
        strip_ids(box, self.doc_pages[rd.id])
        return inner_html(box)

    def concordance(self) -> None:
        """The events and their passages (:attr:`Edition.concordance`), rendered."""
        events = []
        links = SiteLinks(self)
        for item in self.edition.concordance:
            ev = item["event"]
            rows, seen = [], []
            for r in item["rows"]:
                rd, seg, ann = r["unit"], r["seg"], r["annotation"]
                place = self.edition.place_label(rd, seg)
                notes = []
                for n in (ann.notes if ann else []):
                    text = self.note_text(rd, n)
                    # a note shared by passages (the same words, near enough) is printed once
                    same = next((where for words, where in seen if self.similar(words, plain_markup(text))),
                                None)
                    if same is None:
                        seen.append((plain_markup(text), place))
                    notes.append({"text": text, "same_as": same})
                rows.append({"rd": rd, "para": r["para"], "href": links.element(rd, seg),
                             "subtype": r["subtype"], "text": self.passage(rd, seg),
                             "notes": notes, "n": ann.n if ann else None, "label": r["label"],
                             "differs": self.differs(rd, ann) if r["subtype"] == "disagrees" else ""})
            ndocs = len({r["rd"].id for r in rows})
            events.append({"ev": ev, "dates": fmt_range(ev.element), "rows": rows, "ndocs": ndocs,
                           "desc": ev.description,
                           "disagree": sum(1 for r in rows if r["subtype"] == "disagrees")})
        events.sort(key=lambda e: (-(e["ndocs"] > 1), e["ev"].when or "9999", e["ev"].name))
        self.write("concordance.html", "concordance.html", events=events)

    def similar(self, a: str, b: str) -> bool:
        """:func:`similar`, worked out once per pair of texts: kept in the build cache (a
        function of the two texts alone), so a build after an edit compares only the notes
        that changed."""
        if a == b:
            return True
        import hashlib
        from editio.cache import code_hash    # (and of editio's own code)
        key = "s:" + hashlib.sha256(f"{code_hash()}\0{len(a)}:{a}\0{b}".encode()).hexdigest()[:32]
        known = self.cache.similar.get(key) if self.cache is not None else None
        if not isinstance(known, bool):
            known = similar(a, b)
        self._similar[key] = known    # back to the parent with the page (_page_job)
        return known

    def differs(self, rd: ResolvedDoc, ann) -> str:
        """What a disagreeing passage's claims differ in, from editio.rules.claims."""
        if ann is None:
            return ""
        el = ann.element
        return self._fragment(rd, f"differs:{ann.n}:{el.getroottree().getpath(el)}",
                              lambda: self._differs(rd, ann))

    def _differs(self, rd: ResolvedDoc, ann) -> str:
        box = etree.Element("div")
        self.renderer(rd, None, view="edited").derived(ann, box)
        text = " ".join(box.xpath("string()").split())
        return text.removeprefix("Compared by its claims: ").removeprefix("disagrees: ").rstrip(".") \
            if box.find("span[@data-relation='disagrees']") is not None else ""

    def note_text(self, rd: ResolvedDoc, note) -> Markup:
        return self._fragment(rd, f"notetext:{note.getroottree().getpath(note)}",
                              lambda: self._note_text(rd, note))

    def _note_text(self, rd: ResolvedDoc, note) -> Markup:
        r = self.renderer(rd, None, view="edited")
        box = etree.Element("div")
        r.note_content(note, box)
        strip_ids(box, self.doc_pages[rd.id])
        return inner_html(box)

    def timeline(self) -> None:
        items = []
        for ev in self.corpus.entities_of("event"):
            if not ev.when:
                continue
            ps = []
            for doc, seg in self.corpus.event_passages.get(ev.id, []):
                rd = self.edition.locate(seg)
                if rd is not None:
                    p = rd.paragraph_of(seg)
                    ps.append((self.edition.place_label(rd, seg),
                               SiteLinks(self).element(rd, seg), seg.get("subtype") or ""))
            items.append({"id": f"ev-{ev.id}", "when": ev.when, "year": ev.when.lstrip("-")[:4],
                          "dates": fmt_range(ev.element), "label": ev.name, "desc": ev.description,
                          "passages": ps, "kind": "event",
                          "concordance": ev.id in self.concordance_ids, "ev": ev})
        for rd in self.edition.docs:
            if rd.doc.date:
                items.append({"id": f"pub-{rd.id}", "when": rd.doc.date, "year": rd.doc.date[:4],
                              "dates": fmt_date(rd.doc.date), "kind": "publication",
                              "label": f"{rd.label} published: {rd.title}", "desc": "",
                              "passages": [], "concordance": False, "ev": None, "rd": rd})
        items.sort(key=lambda i: (i["when"], i["label"]))
        years: dict = defaultdict(list)
        for it in items:
            years[it["year"]].append(it)
        self.write("timeline.html", "timeline.html", years=list(years.items()))

    def annotations(self) -> None:
        groups = []
        kinds, types, certs = Counter(), Counter(), Counter()
        for rd in self.edition.docs:
            rows = []
            for a in rd.annotations:
                p = rd.paragraph_of(a.element)
                rows.append({"a": a, "label": annotation_label(a, self.profile), "para": p,
                             "href": SiteLinks(self).note(rd, a),
                             "context": SiteLinks(self)._href(rd, f"call-{a.n}"),
                             "body": self.note_html(rd, a)})
                kinds[a.kind] += 1
                types[(a.kind, a.type)] += 1
                if a.cert:
                    certs[a.cert] += 1
            # the regularisations made silently: listed here, by paragraph (no note to link)
            silent = []
            for a in rd.silent:
                p = rd.paragraph_of(a.element)
                if p and not any(q[1] == p[1] for q, _ in silent):
                    silent.append((p, SiteLinks(self)._href(rd, p[0])))
            groups.append((rd, rows, {"n": len(rd.silent), "paras": silent}))
        order = {"high": 0, "medium": 1, "low": 2}
        self.write("annotations.html", "annotations.html", groups=groups,
                   group_html=[self._annotation_group(*g) for g in groups],
                   silent=sum(len(rd.silent) for rd in self.edition.docs),
                   kinds=sorted(kinds.items()), types=sorted(types.items()),
                   certs=sorted(certs.items(), key=lambda c: (order.get(c[0], 9), c[0])),
                   total=sum(kinds.values()))

    def _annotation_group(self, rd: ResolvedDoc, rows: list, quiet: dict) -> Markup:
        """One document's part of the annotations page (``annotations-group.html``), taken
        from the build cache when everything it shows is as it was (the key hashes it, and
        the skeleton: the templates, the settings, editio's own code)."""
        import hashlib
        key = None
        if self.cache is not None:
            data = [self.cache.skeleton, rd.id, rd.label, rd.title, self.doc_pages[rd.id],
                    [[r["a"].n, r["a"].label, r["a"].kind, r["a"].type, r["a"].cert, r["label"],
                      r["para"], r["href"], r["context"], str(r["body"])] for r in rows],
                    quiet]
            key = "g:" + hashlib.sha256(json.dumps(data, default=str, ensure_ascii=False)
                                        .encode()).hexdigest()[:32]
            known = self.cache.similar.get(key)
            if isinstance(known, str):
                self._similar[key] = known    # kept in the next record
                return Markup(known)
        text = self.env.get_template("annotations-group.html").render(
            rd=rd, rows=rows, quiet=quiet, doc_pages=self.doc_pages)
        if key is not None:
            self._similar[key] = text
        return Markup(text)

    def search(self) -> None:
        self.write("search.html", "search.html")

    def redactions(self) -> None:
        """What was withheld, document by document (:mod:`editio.redactions`): how many, how
        much, restored or not, by certainty; each redaction linked to its place."""
        from editio.redactions import describe_tally, figures
        docs, total = figures(self.edition.redactions)
        links = SiteLinks(self)
        groups = []
        for f in docs:
            rd = self.edition.locate(f.unit.shown_at) or self.edition.resolved(f.unit.doc)
            if rd is None:
                continue

            def note_of(r, rd=rd):   # the annotation as numbered in its page unit
                a = rd.by_element.get(r.annotation.element) if r.annotation is not None else None
                return links.note(rd, a) if a is not None else None
            def note_n(r, rd=rd):    # its number there (silent regularisations renumber)
                a = rd.by_element.get(r.annotation.element) if r.annotation is not None else None
                return (a.label or a.n) if a is not None else ""
            rows = [{"r": r, "href": links.element(rd, r.element if r.source == "element" else r.anchor)
                     if (r.element is not None or r.anchor is not None) else links.doc(rd),
                     "note": note_of(r), "note_n": note_n(r)}
                    for r in f.items]
            groups.append({"unit": f.unit, "href": links.element(rd, f.unit.shown_at), "rows": rows,
                           "tally": f.tally, "extent": describe_tally(f.tally),
                           "anchor": f"red-{re.sub(r'[^A-Za-z0-9_-]+', '-', f.unit.id)}"})
        from editio.redactions import all_units, documents, rules_of
        n_units = len(documents(all_units(self.corpus, rules_of(self.project))))
        order = {"high": 0, "medium": 1, "low": 2}
        self.write("redactions.html", "redactions.html", groups=groups, total=total,
                   total_extent=describe_tally(total), n_units=n_units,
                   has_extent=any(r.extent is not None for r in self.edition.redactions),
                   certs=sorted(total["by_cert"].items(), key=lambda c: (order.get(c[0], 9), c[0])),
                   withheld=[g for g in groups if g["tally"]["withheld"]])

    # ------------------------------------------------------------ search
    def _search_notes(self, rd: ResolvedDoc) -> None:
        """A search record for each note of ``rd``.  The notes of one document and kind are
        indexed together (:meth:`search_pages`): one result for the document's notes, each
        matching note a sub-result that lands at the note."""
        page = self.doc_pages[rd.id]
        for a in rd.annotations:
            label = annotation_label(a, self.profile)
            kind = kind_label(self.profile, a.kind)
            content = " ".join(x for x in (label, a.diplomatic, a.edited, a.note) if x)
            title = self.edition.note_label(rd, a)
            own = title.removeprefix(f"{rd.label}, ")   # "note 3", under "Doc. 12, notes"
            own = own[:1].upper() + own[1:]
            self.search_records.append({
                "url": f"/{page}#note-{a.n}", "content": content,
                "meta": {"title": f"{title}: {label}" if label else title},
                "heading": f"{own}: {label}" if label else own,
                "filters": {"document": [rd.label], "annotation": [kind] if kind else [],
                            "type": ["Note"]},
                "group": f"{rd.label}, notes: {kind}" if kind else f"{rd.label}, notes",
                "group_url": f"{page}#notes"})

    def index_search(self, later: list | None = None) -> None:
        """The search index, then the site's cache record (saved once, with the index's).
        With ``later``: the pages and records are read (and the cache record's work done)
        now; writing the index and saving the record is a :class:`editio.builders.Later`
        step appended to ``later``, which holds nothing of the edition."""
        import asyncio
        key = self._search_key() if self.cache is not None else None
        if key is not None and self.cache.search_reusable(key, self.out):
            self._stop_early()
            self.cache.save()
            return   # the same pages and records as the last build: its index
        runner, self._runner = self._runner or asyncio.Runner(), None
        write = _SearchWrite(runner, self.out, self.report, self.project.rel(self.out),
                             self.cache, key)
        try:
            try:
                index = runner.run(self._pagefind(write=later is None))
            except BaseException:
                runner.close()
                raise
        except Exception as err:  # the site stays usable without search
            write.failed(err)
        else:
            if later is None:
                write.written()
            else:
                write.index = index
        if later is None:   # (the index written, or not built): the record saved
            write.run()
            return
        if self.cache is not None:
            self.cache.ahead()          # (done already, unless the indexer failed)
            self.cache.let_go()         # the record keeps no reference to the edition
        from editio.builders import Later
        later.append(Later(write.run, write.cancel))

    def _search_key(self) -> str:
        """What the search index is made of: every page's bytes, the records, the language."""
        import hashlib
        from editio.cache import code_hash, file_hash
        h = hashlib.sha256(code_hash().encode())
        h.update(json.dumps([self.project.language, list(SEARCH_EXCLUDE), self.search_records],
                            sort_keys=True).encode())
        known = self.cache.pages if self.cache is not None else {}
        for p in sorted(self.out.glob("*.html")):   # a page's hash as its record has it
            sha = (known.get(p.name) or {}).get("sha") or file_hash(p)
            h.update(p.name.encode() + b"\0" + sha.encode())
        return h.hexdigest()

    async def _pagefind(self, write: bool = True):
        """Index the pages (or, if the indexer was started on the unit pages while the
        others were made, the rest of them), then the search records: the notes of each
        document and kind as one page, the index entries one each (:meth:`search_pages`).
        Without ``write``, the index is returned once Pagefind has read them all, for
        :class:`_SearchWrite` to write.

        Records are small HTML files in a temporary folder (outside the site) whose
        ``url`` meta points at the document's notes or the entry: adding them as HTML is
        fast, where Pagefind's ``add_custom_record`` costs a round trip of 0.1 s each."""
        import asyncio
        import tempfile

        early, self._early = self._early, None
        index, added = (early[0], early[2]) if early else (self._new_index(), set())
        side = None
        try:
            with tempfile.TemporaryDirectory(prefix="editio-search-", dir=_memory_tmp()) as tmp:
                for i, text in enumerate(self.search_pages()):
                    Path(tmp, f"r{i}.html").write_text(text, encoding="utf-8")
                from editio.parallel import give_back_memory
                if self.cache is not None:   # the cache record's own work, while Pagefind reads
                    side = asyncio.ensure_future(asyncio.to_thread(self.cache.ahead))
                if early:
                    await early[1]   # the unit pages read
                else:
                    await index.__aenter__()
                glob = self._indexed_glob(added)
                if glob:
                    await index.add_directory(str(self.out), glob=glob)
                if self.search_records:
                    await index.add_directory(tmp, glob="*.html")
                if side is not None:
                    await side
                if not write:
                    return index
                if not self.keep_memory:   # a server keeps them for its next rebuild
                    self.edition.drop_caches()
                # Pagefind's write is the build's peak (~120 MB for a FRUS volume, beside this
                # process): this process is as small as it gets first
                give_back_memory()
                await _pagefind_write(index)
                return None
        except BaseException:
            # Ctrl-C cancels this task; pagefind's close() then leaves its helper
            # process running (writing into the staging directory): stop it here
            await _pagefind_kill(index)
            raise

    def search_pages(self) -> list[str]:
        """The search records as the HTML pages Pagefind indexes.  A record of its own per
        index entry; the records of one ``group`` (a document's notes of one kind) as one
        page, each record under a heading whose id is its fragment: Pagefind gives the
        matching records as sub-results that land there (e.g. ``d12.html#note-3``).  A
        page each would cost the indexer as much as a whole document page."""
        out, groups = [], {}
        for rec in self.search_records:
            if rec.get("group"):
                key = (rec["group"], rec["group_url"], json.dumps(rec["filters"], sort_keys=True))
                if key not in groups:
                    groups[key] = len(out)
                    out.append([])
                out[groups[key]].append(rec)
            else:
                out.append(rec)
        return [self.record_html(r) if isinstance(r, dict) else self.group_html(r) for r in out]

    def _record_page(self, title: str, url: str, filters: dict, body: str) -> str:
        esc = Markup.escape
        flt = "".join(f'<span data-pagefind-filter="{esc(k)}:{esc(v)}"></span>'
                      for k, vs in filters.items() for v in vs if v)
        return (f'<!DOCTYPE html><html lang="{esc(self.project.language or "en")}"><head><meta charset="utf-8">'
                f'<title>{esc(title)}</title></head><body><main data-pagefind-body>'
                f'<h1 data-pagefind-meta="title">{esc(title)}</h1>'
                f'<span data-pagefind-meta="url:{esc(url.lstrip("/"))}"></span>{flt}'
                f'{body}</main></body></html>')

    def _new_index(self):
        from pagefind.index import IndexConfig, PagefindIndex
        lang = (self.project.language or "en").split("-")[0]
        if not re.fullmatch(r"[A-Za-z]{2,8}", lang):  # Pagefind names files after it
            lang = "en"
        # the edited reading only: no source readings, note calls, back-links or numbers
        return PagefindIndex(config=IndexConfig(output_path=str(self.out / "pagefind"),
                                                force_language=lang,
                                                exclude_selectors=list(SEARCH_EXCLUDE)))

    def _indexed(self, names=None) -> list[str] | None:
        """The pages (of ``names``, default all) with a part to index (``data-pagefind-
        body``); None if one has a name Pagefind's glob would read as a pattern."""
        paths = self.out.glob("*.html") if names is None else (self.out / n for n in names)
        out = sorted(p.name for p in paths if b"data-pagefind-body" in p.read_bytes())
        return None if any(re.search(r"[^A-Za-z0-9_.-]", n) for n in out) else out

    def _indexed_glob(self, added=frozenset()) -> str | None:
        """The pages Pagefind reads (but those it has read, ``added``): those with a part to
        index; Pagefind would otherwise parse every page (the annotations page of a FRUS
        volume alone is 1 MB) to find it has nothing to index.  None: none is left."""
        names = self._indexed()
        if names is None or (not names and not added):
            return "*.html"   # none marked (Pagefind indexes every page), or an odd name
        names = [n for n in names if n not in added]
        return "{" + ",".join(names) + "}" if names else None

    def _index_early(self) -> None:
        """Start the search indexer (its own process) on the unit pages now in place; it
        reads them while this process makes the other pages; :meth:`_pagefind` adds the
        rest (records, and any other page an edition's templates mark for indexing) and
        has it write the index."""
        import asyncio
        names = self._indexed([self.doc_pages[rd.id] for rd in self.edition.docs
                               if (self.out / self.doc_pages[rd.id]).exists()])
        if not names:
            return
        glob = "{" + ",".join(names) + "}"

        async def start():
            index = self._new_index()
            try:
                await index.__aenter__()
                reading = asyncio.ensure_future(index.add_directory(str(self.out), glob=glob))
                await asyncio.sleep(0)   # the request is sent: Pagefind works while we do not wait
            except BaseException:
                await _pagefind_kill(index)
                raise
            return index, reading, set(names)

        self._runner = asyncio.Runner()
        try:
            self._early = self._runner.run(start())
        except Exception:   # no indexer now: index_search tries again, and says why not
            self._stop_early()
        except BaseException:
            self._stop_early()
            raise

    def _stop_early(self) -> None:
        """Stop an indexer started early that will not be used (the build failed or was
        interrupted, or the last build's index is taken as it is)."""
        early, runner = self._early, self._runner
        self._early = self._runner = None
        if runner is None:
            return
        with runner:
            if early is not None:
                runner.run(_pagefind_kill(early[0]))

    def record_html(self, rec: dict) -> str:
        return self._record_page(rec["meta"]["title"], rec["url"], rec["filters"],
                                 f'<p>{Markup.escape(rec["content"])}</p>')

    def group_html(self, recs: list[dict]) -> str:
        esc = Markup.escape
        body = "".join(f'<h2 id="{esc(r["url"].rpartition("#")[2])}">{esc(r["heading"])}</h2>'
                       f'<p>{esc(r["content"])}</p>' for r in recs)
        return self._record_page(recs[0]["group"], recs[0]["group_url"], recs[0]["filters"], body)


async def _pagefind_write(index) -> None:
    try:
        await index.write_files()
        await _pagefind_done(index)
    except BaseException:
        await _pagefind_kill(index)
        raise


class _SearchWrite:
    """Writing the search index Pagefind has read (in its own process), then saving the
    site's cache record: what :meth:`Site.index_search` leaves for later.  It holds the
    indexer, the asyncio runner it lives in, the report and the cache record, and nothing
    of the edition."""

    def __init__(self, runner, out: Path, report: Report, where: str, cache, key):
        self.runner, self.out, self.report, self.where = runner, out, report, where
        self.cache, self.key = cache, key
        self.index = None

    def failed(self, err: BaseException) -> None:   # the site stays usable without search
        self.report.warning(self.where, 0, "html.search",
                            f"search index not built: {str(err).strip() or type(err).__name__}")

    def written(self) -> None:
        if self.key is not None:
            self.cache.searched(self.key, self.out)

    def run(self) -> None:
        index, runner, self.index, self.runner = self.index, self.runner, None, None
        if index is None:
            if runner is not None:
                runner.close()
            if self.cache is not None:
                self.cache.save()
            return
        from editio.cache import search_entry
        from editio.parallel import give_back_memory
        # the cache record (thousands of small objects) written first, its index part after:
        # this process is as small as it gets while Pagefind writes (the build's peak)
        record = self.cache.frozen() if self.cache is not None else None
        self.cache = None
        give_back_memory()
        try:
            with runner:
                runner.run(_pagefind_write(index))
            search = search_entry(self.key, self.out) if self.key is not None else None
        except Exception as err:
            self.failed(err)
            search = None
            # no half-written index beside the pages: the site's search says it has none
            shutil.rmtree(self.out / "pagefind", ignore_errors=True)
        if record is not None:
            record.save(search)

    def cancel(self) -> None:
        index, runner, self.index, self.runner = self.index, self.runner, None, None
        if runner is None:
            return
        with runner:
            if index is not None:
                runner.run(_pagefind_kill(index))


async def _pagefind_kill(index) -> None:
    """Stop Pagefind's helper process and the library's task that reads its answers."""
    import asyncio
    service = getattr(index, "_service", None)
    backend = getattr(service, "_backend", None)
    if backend is not None and backend.returncode is None:
        backend.kill()
        await backend.wait()
    poll = getattr(service, "_poll_task", None)
    if poll is not None:
        poll.cancel()
        await asyncio.gather(poll, return_exceptions=True)


async def _pagefind_done(index) -> None:
    """Let Pagefind's helper process end by itself once the index is written: it answers
    "written" while some files are still being written, and the library's ``close()``
    terminates it then, which could leave ``pagefind-ui.js`` cut short.  Told that no more
    requests come (its input closed), it finishes its writes and exits."""
    import asyncio
    service = index._service
    backend = service._backend
    backend.stdin.close()
    try:
        await asyncio.wait_for(backend.wait(), 60)
    except asyncio.TimeoutError:
        backend.kill()
        await backend.wait()
        raise RuntimeError("Pagefind did not finish writing the index") from None
    finally:
        service._poll_task.cancel()
        await asyncio.gather(service._poll_task, return_exceptions=True)
    if backend.returncode:
        raise RuntimeError(f"Pagefind stopped with status {backend.returncode}")


def _memory_tmp() -> str | None:
    """A folder in memory (Linux's /dev/shm) for the thousands of small search records,
    written, indexed and deleted within a second; None (the usual temporary folder) where
    there is none.  On a busy disk this is the difference between 1 s and 10 s."""
    import os
    shm = "/dev/shm"
    return shm if os.path.isdir(shm) and os.access(shm, os.W_OK | os.X_OK) else None


class HeaderRenderer(HtmlRenderer):
    """Renders parts of a TEI header (editorialDecl, source notes) with the shared
    behaviours, plus the few header-only containers (``correction``, ``normalization`` …)."""

    def __init__(self, site: Site, rd: ResolvedDoc):
        super().__init__(site.edition, rd, SiteLinks(site, None), site.report, view="edited")

    def node(self, el, out):
        name = local(el) if isinstance(el.tag, str) else ""
        if name in HEADER_SECTIONS:
            sec = etree.SubElement(out, "section", {"class": f"decl decl-{name}"})
            h = etree.SubElement(sec, "h3")
            h.text = HEADER_SECTIONS[name]
            self.children(el, sec)
            return
        if name == "p" and self.rdoc.paragraphs.get(el) is None:
            p = self.el(out, "p", el)
            self.children(el, p)
            return
        super().node(el, out)


def site_cache(project, enabled: bool = True, kept: tuple | None = None):
    """The pages of the last build of ``project``'s site, in its output (``<output>/html``);
    ``kept``: the record a server kept in memory (:class:`editio.cache.SiteCache`)."""
    from editio.cache import SiteCache, Store, cache_root
    return SiteCache(Store(cache_root(project), enabled=enabled), project.output_dir / "html",
                     kept=kept)


def build_site(edition: Edition, out_dir: Path, report: Report, progress=None,
               cache: bool = True, later: list | None = None) -> Path:
    """Write the HTML edition into ``out_dir``; returns ``out_dir``.  Pages whose inputs did
    not change since the last build are taken from it (:class:`editio.cache.SiteCache`;
    ``cache=False``: every page is made).  ``later``: the search index is written by a
    step appended to it (:meth:`Site.build`)."""
    out_dir = Path(out_dir)
    Site(edition, out_dir, report, progress, cache=site_cache(edition.project, cache)).build(later)
    return out_dir
