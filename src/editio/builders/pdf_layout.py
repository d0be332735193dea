"""Laying out one part of the book: print HTML -> WeasyPrint -> the part's PDF.

This module is what a worker process (local, or on a Dask cluster) runs.  It holds no
state and needs nothing but its job, a plain dict that pickles::

    job = {"key": "…", "html": "<!DOCTYPE html>…", "base_url": "/…/styles/",
           "stylesheets": ["/…/styles/print.css"], "tagged": True,
           "fetcher": {"project_root", "style_roots", "output"},
           "identifier": "…", "attachments": [{"name", "description", "data", "when"}],
           "write": True,             # False: lay out for the page facts only, no PDF
           "overlay": False,          # True: the page numbers' document (draws its heads)
           "carry_out": False,        # True: the next part of its chain takes its last page
           "seam": False,             # True: the next part runs on but begins a chain of its
                                      # own: a last page too blank is made up (fit_seam)
           "carry_heads": [...]}      # the heads of the pages given by the part before
    result = lay_out(job)
    result = {"key", "pdf": bytes, "pages": 12, "anchors": {"id": page index from 1},
              "folios": ["plain" | "" | None per page], "warnings": [...],
              "error": None | "message", "seconds", "peak_rss",
              "carry": {"html", "heads"},   # what the next part begins with (carry_out)
              "seam": {"blank", "pages", "leading", …},   # what fit_seam did, or "why" not
              "slots": [...], "marks": [...]}   # page numbers and margin numbers to draw

``folios`` says, page by page, whether the page carries a page number (the name of its
CSS page, ``""`` for the default page) or not (``None``: a blank page).  The part never
prints its page numbers itself: a part's layout must not depend on where it starts in the
book, so the numbers are laid out once for the whole book (``folio.css``) and laid over
the pages when the parts are merged (:mod:`editio.builders.pdf_merge`).

:func:`weasyprint_html` is the one place where WeasyPrint's ``HTML`` objects are made
(the place to give WeasyPrint a ``url_fetcher``).
"""
from __future__ import annotations

import contextlib
import inspect
import io
import logging
import re
import resource
import threading
import time
import traceback

PDF_VARIANT = "pdf/ua-1"
# what a layout result holds (part of the build cache's key)
RESULT_FORMAT = "slots-sides-heads-carry-marks 9"
# A page-number slot (``<span class="pn" data-slot="k">000</span>``) keeps its room in the
# line but draws nothing: its number is laid over it when the parts are merged.  (A
# leader before it, as in the contents, is drawn.)
SLOT_CSS = ".pn { visibility: hidden; white-space: nowrap; } .pn::before { visibility: visible; }" \
    " [data-editio-carried] { margin-top: 0 !important; padding-top: 0 !important;" \
    " border-top-width: 0 !important; break-before: auto !important; }" \
    " p[data-editio-rest] { text-indent: 0 !important; }" \
    " [data-editio-rest]::before, [data-editio-rest]::marker, [data-editio-carried]::before," \
    " [data-editio-carried]::marker { content: none !important; }" \
    " li[data-editio-carried], li[data-editio-rest] { list-style: none !important; }"
# A part whose last page is more than this much blank (between its last line and its
# footnotes) gives the blocks of its last page(s) to the next part of its chain
CARRY_BLANK = 0.15
# the block elements a carried block may sit in (a shell of each is made in the next part)
# (an unordered list and its items too: a printed index; never a numbered list, whose
# count would start again)
CARRY_SHELLS = {"section", "div", "article", "aside", "main", "blockquote", "ul", "li"}
CARRIED = "data-editio-carried"      # a shell (the rest of a block that began before)
WHOLE = "data-editio-whole"          # a whole block carried over
REST = "data-editio-rest"            # an element whose beginning stayed in the part before


def weasyprint_html(string: str, base_url: str, url_fetcher=None):
    """The only constructor of WeasyPrint ``HTML`` objects in editio.

    The HTML is parsed by lxml (libxml2) and handed to WeasyPrint as the element tree its
    own parser (tinyhtml5, pure Python) would give: the print HTML is editio's own,
    serialised from lxml trees, and tinyhtml5 took 20 times as long to read it (4 % of a
    text part, 12 % of a FRUS index).  libxml2 keeps the tree as it was written where
    HTML5's rules would rebuild it (a paragraph of a note inside a ``span``: HTML5 closes
    the paragraph around the note, so the note's second paragraph fell out of the
    footnote into the text).  With a WeasyPrint that is not laid out like version 70's
    (no ``HTML`` attributes to set), tinyhtml5 parses it."""
    import weasyprint
    from weasyprint import HTML
    if not all(hasattr(weasyprint, n) for n in ("_find_base_url", "URLFetcher", "cssselect2")):
        return HTML(string=string, base_url=base_url, url_fetcher=url_fetcher)
    from weasyprint.urls import ensure_url
    root = _element_tree(string)
    doc = HTML.__new__(HTML)
    doc.base_url = weasyprint._find_base_url(root, ensure_url(base_url) if base_url else None)
    doc.url_fetcher = url_fetcher if url_fetcher is not None else weasyprint.URLFetcher()
    doc.media_type = "print"
    doc.wrapper_element = weasyprint.cssselect2.ElementWrapper.from_html_root(root, content_language=None)
    doc.etree_element = doc.wrapper_element.etree_element
    return doc


def _element_tree(string: str):
    """``string`` (HTML) parsed by lxml, as an ``xml.etree.ElementTree`` element (what
    WeasyPrint works on): elements, attributes and text; comments and processing
    instructions dropped (their tails kept)."""
    import xml.etree.ElementTree as ET
    from lxml import html as lhtml
    Element = ET.Element

    def conv(el):
        new = Element(el.tag, dict(el.attrib))
        new.text = el.text
        last = None
        for child in el:
            if not isinstance(child.tag, str):
                if child.tail:
                    if last is None:
                        new.text = (new.text or "") + child.tail
                    else:
                        last.tail = (last.tail or "") + child.tail
                continue
            last = conv(child)
            last.tail = child.tail
            new.append(last)
        return new
    return conv(lhtml.document_fromstring(string))


def fetcher(spec: dict | None):
    """The job's url_fetcher (:class:`editio.builders.fetcher.ProjectFetcher`), made here
    from plain paths: no network, nothing outside the project and the styles."""
    if not spec:
        return None
    from editio.builders.fetcher import ProjectFetcher
    return ProjectFetcher(spec["project_root"], spec.get("style_roots", ()), output=spec.get("output"))


_ONE_LAYOUT = threading.Lock()
"""Held for each layout: the layouts swap WeasyPrint's and pydyf's functions and catch its
log for the length of one part, so two layouts in one process (a Dask worker running tasks
in threads) take turns; a worker process of the local executor runs one at a time anyway."""


def lay_out(job: dict) -> dict:
    """Lay out one part and write its PDF; never raises (an error is returned)."""
    t0 = time.perf_counter(), time.process_time()
    warnings: list[str] = []
    out = {"key": job["key"], "pdf": b"", "pages": 0, "anchors": {}, "folios": [],
           "warnings": warnings, "error": None}
    try:
        from weasyprint import CSS, Attachment
        from weasyprint.text.fonts import FontConfiguration
        stamped: dict = {}     # the margin numbers drawn as stamps (not laid out)
        with _ONE_LAYOUT, _collect_log(warnings), footnotes_stay_with_their_calls(warnings), \
                _page_references_once(), _footnotes_measured_once(), _pdf_objects_written_once(), \
                _font_descriptions_once(), _margin_numbers_as_stamps(stamped):
            fc = FontConfiguration()
            fetch = fetcher(job.get("fetcher"))
            css = [CSS(filename=s, font_config=fc, url_fetcher=fetch) for s in job["stylesheets"]]
            css.append(CSS(string=SLOT_CSS, font_config=fc))
            tagged = job.get("tagged", True)
            document = weasyprint_html(job["html"], job["base_url"], fetch).render(
                stylesheets=css, font_config=fc, pdf_variant=PDF_VARIANT if tagged else None,
                presentational_hints=False)
            sides, heads = page_facts(document, strip=not job.get("overlay"))
            if job.get("carry_heads"):     # the pages of the blocks carried over from the part before
                heads = carried_heads(document, heads, job["carry_heads"])
            if job.get("carry_out"):       # the next part runs on, laid out after this one
                cut = carry_cut(document)
                if cut is not None:
                    first, html = cut
                    out["carry"] = {"html": html, "heads": heads[first:]}
                    document = keep_pages(document, first)
                    sides, heads = sides[:first], heads[:first]
            elif job.get("seam"):          # the next part runs on, laid out at the same time
                try:
                    fitted, info = fit_seam(document, heads, job, css, fc, fetch, tagged)
                except Exception as err:   # (the part as it was laid out: a seam left, said)
                    fitted, info = None, {"blank": round(blank_fraction(document.pages[-1]), 3),
                                          "why": f"laying its last pages out again failed: "
                                                 f"{type(err).__name__}: {err}"}
                if info is not None:
                    out["seam"] = info
                if fitted is not None:
                    document, sides, heads = fitted
            out["sides"], out["heads"] = sides, heads
            anchors: dict[str, int] = {}
            folios: list = []
            for i, page in enumerate(document.pages, 1):
                for name in page.anchors:
                    anchors.setdefault(name, i)
                ptype = page._page_box.page_type
                folios.append(None if ptype.blank else (ptype.name or ""))
            out["slots"] = slots(document)
            out["marks"] = margin_marks(document, stamped)
            if not job.get("write", True):   # only the page facts
                out.update(pages=len(document.pages), anchors=anchors, folios=folios)
                return _finish(out, t0)
            attachments = [Attachment(file_obj=io.BytesIO(a["data"]), name=a["name"],
                                      description=a["description"], created=a["when"],
                                      modified=a["when"], relationship="Source")
                           for a in job.get("attachments", ())]
            buf = io.BytesIO()
            document.write_pdf(buf, attachments=attachments,
                               pdf_variant=PDF_VARIANT if tagged else None,
                               pdf_identifier=job["identifier"].encode(), uncompressed_pdf=False)
        out.update(pdf=buf.getvalue(), pages=len(document.pages), anchors=anchors, folios=folios)
    except MemoryError:
        out["error"] = "out of memory while laying out this part"
    except Exception as err:  # a failure inside the layout engine: reported, never raised
        tb = traceback.extract_tb(err.__traceback__)
        where = next((f"{f.filename.rsplit('/site-packages/', 1)[-1]}:{f.lineno}"
                      for f in reversed(tb)), "")
        out["error"] = f"{type(err).__name__}: {err}".strip() + (f" (in {where})" if where else "")
    return _finish(out, t0)


def lay_out_stamps(job: dict) -> dict:
    """The page numbers and running heads of the whole book, each distinct one laid out
    once ("stamps"), for the merge to draw on every page where it stands.

    ``job["html"]`` is ``folio.html`` for two pages (a recto and a verso) of each CSS page
    name of the book, with the folios "1", "2", … and the running head ``job["head"]``:
    its margin boxes tell where the folio and the running head of a page of that name and
    side go (the anchor: the left edge, centre or right edge of the text, by the box's
    alignment; the baseline) and in which font.  ``job["numbers"]`` are the slots'
    numbers ([text, font CSS]), ``job["folios"]`` and ``job["heads"]`` the texts of the
    book's folios and running heads.  Each distinct (text, font) is laid out once, on a
    sheet, and its drawing operators are taken from the sheet's PDF: the result's
    ``stamps`` give, per stamp, its ``text`` and ``font``, the operators (``ops``, in the
    sheet's coordinates: CSS px from the top left), the x where its text starts, its
    width and its baseline; ``pdf`` is the sheet (its resources: the fonts' subsets)."""
    t0 = time.perf_counter(), time.process_time()
    warnings: list[str] = []
    out = {"key": job["key"], "pdf": b"", "pages": 0, "anchors": {}, "folios": [],
           "warnings": warnings, "error": None, "stamps": [], "ref": []}
    try:
        from html import escape
        from weasyprint import CSS
        from weasyprint.formatting_structure.boxes import MarginBox, TextBox
        from weasyprint.text.fonts import FontConfiguration
        with _ONE_LAYOUT, _collect_log(warnings):
            fc = FontConfiguration()
            fetch = fetcher(job.get("fetcher"))
            css = [CSS(filename=s, font_config=fc, url_fetcher=fetch) for s in job["stylesheets"]]
            ref = weasyprint_html(job["html"], job["base_url"], fetch).render(
                stylesheets=css, font_config=fc, presentational_hints=False)
            refs = []       # per reference page: name, side, {"folio"|"head": where and how}
            for k, page in enumerate(ref.pages):
                pb = page._page_box
                roles = {}
                for mb in pb.children:
                    if not isinstance(mb, MarginBox):
                        continue
                    boxes = [b for b in mb.descendants() if isinstance(b, TextBox)]
                    text = "".join(b.text for b in boxes).strip()
                    if not text:
                        continue
                    role = "folio" if text == str(k + 1) else "head"
                    x0 = min(b.position_x for b in boxes)
                    x1 = max(b.position_x + b.width for b in boxes)
                    align = mb.style["text_align_all"]
                    align = {"start": "left", "end": "right", "justify": "left"}.get(align, align)
                    roles[role] = {"font": font_css(boxes[0].style, tabular=False), "align": align,
                                   "anchor": round({"left": x0, "right": x1}.get(align, (x0 + x1) / 2), 3),
                                   "baseline": round(boxes[0].position_y + boxes[0].baseline, 3),
                                   # a head that is not the page's own (versos: the book's title)
                                   "text": None if role == "folio" or text == job["head"] else text}
                refs.append([pb.page_type.name or "", pb.page_type.side, roles])
            out["ref"] = refs
            wanted = [tuple(x) for x in job["numbers"]]
            for _, _, roles in refs:
                if "folio" in roles:
                    wanted += [(t, roles["folio"]["font"]) for t in job["folios"]]
                if "head" in roles:
                    h = roles["head"]
                    wanted += [(h["text"], h["font"])] if h["text"] is not None else \
                        [(t, h["font"]) for t in job["heads"] if t]
            wanted = sorted(set(wanted))
            # one stamp a row, rows far enough apart that no two stamps' text overlaps
            row = 64
            per_page = 400
            sheet = ["<!DOCTYPE html><html lang=\"%s\"><head><meta charset=\"utf-8\"><style>"
                     "@page editio-stamps { size: 1600px %dpx; margin: 0; "
                     "@top-left { content: none } @top-center { content: none } "
                     "@top-right { content: none } @bottom-center { content: none } } "
                     "html, body { margin: 0; padding: 0; page: editio-stamps; string-set: none } "
                     ".editio-stamp { display: block; height: %dpx; margin: 0; padding: 0; "
                     "white-space: pre; text-indent: 0; text-align: left; hyphens: manual }\n"
                     % (escape(job.get("lang", "en")), row * per_page, row)]
            fonts = {f: k for k, f in enumerate(sorted({f for _, f in wanted}))}
            # (a rule per font, not a style attribute per stamp: WeasyPrint parses each)
            sheet += [".editio-f%d { %s; line-height: %dpx }" % (k, f.replace("<", ""), row)
                      for f, k in fonts.items()]
            sheet.append("</style></head><body>")
            for text, font in wanted:
                sheet.append(f'<div class="editio-stamp editio-f{fonts[font]}">{escape(text)}</div>')
            sheet.append("</body></html>")
            document = weasyprint_html("".join(sheet), job["base_url"], fetch).render(
                stylesheets=css, font_config=fc, presentational_hints=False)
            found = {}          # (page, row) -> stamp: where its text boxes are
            n = 0
            for i, page in enumerate(document.pages):
                for box in page._page_box.descendants():
                    if isinstance(box, TextBox) and box.text.strip():
                        key = (i, int((box.position_y + box.height / 2) // row))
                        found.setdefault(key, []).append(box)
            stamps = []
            for k, (text, font) in enumerate(wanted):
                boxes = found.get((k // per_page, k % per_page), [])
                if not boxes:
                    stamps.append(None)
                    continue
                x0 = min(b.position_x for b in boxes)
                stamps.append({"text": text, "font": font, "page": k // per_page, "x": round(x0, 3),
                               # the middle of its row: a text of another line height is
                               # placed by it (the half-leading is the same above and below)
                               "mid": (k % per_page) * row + row / 2,
                               "w": round(max(b.position_x + b.width for b in boxes) - x0, 3),
                               "baseline": round(boxes[0].position_y + boxes[0].baseline, 3)})
            buf = io.BytesIO()
            document.write_pdf(buf, pdf_identifier=job["identifier"].encode(), uncompressed_pdf=False)
        _stamp_ops(buf.getvalue(), stamps, row, per_page)
        out.update(pdf=buf.getvalue(), pages=len(document.pages), stamps=stamps)
    except Exception as err:  # reported, never raised
        out["error"] = f"{type(err).__name__}: {err}".strip()
    return _finish(out, t0)


# operators that set the state text is drawn with, by what they set (kept with each stamp)
_STATE_OPS = {"gs": "gs", "cs": "fcs", "rg": "fill", "g": "fill", "k": "fill", "sc": "fill",
              "scn": "fill", "CS": "scs", "RG": "stroke", "G": "stroke", "K": "stroke",
              "SC": "stroke", "SCN": "stroke", "w": "w", "Tf": "Tf", "Tc": "Tc", "Tw": "Tw",
              "Tz": "Tz", "TL": "TL", "Tr": "Tr", "Ts": "Ts"}
_STATE_ORDER = ("gs", "fcs", "fill", "scs", "stroke", "w", "Tf", "Tc", "Tw", "Tz", "TL", "Tr", "Ts")


def _stamp_ops(pdf: bytes, stamps: list, row: int, per_page: int) -> None:
    """Give each stamp the operators that draw it on the sheet (``ops``): each run of text
    on its row (from its text matrix, ``Tm``, to the next), as a text object of its own
    with the graphics and text state it is drawn with."""
    import pikepdf
    by_row: dict = {}

    def close(piece, snapshot, y, i):
        if piece:
            ops = [snapshot[k] for k in _STATE_ORDER if k in snapshot]
            by_row.setdefault((i, int(y // row)), []).append(pikepdf.unparse_content_stream(
                [([], pikepdf.Operator("BT"))] + ops + piece + [([], pikepdf.Operator("ET"))]))

    with pikepdf.open(io.BytesIO(pdf)) as sheet:
        for i, page in enumerate(sheet.pages):
            state, stack, cms = {}, [], 0
            piece, snapshot, y = None, None, 0.0
            for operands, op in pikepdf.parse_content_stream(page):
                name = str(op)
                if name == "q":
                    stack.append(dict(state))
                elif name == "Q":
                    state = stack.pop() if stack else {}
                elif name == "cm":
                    cms += 1
                    if cms > 2:     # (the page's own: flip, px -> pt)
                        raise ValueError("the stamp sheet has a transformation inside its page")
                elif name == "Tm":
                    close(piece, snapshot, y, i)
                    piece, snapshot, y = [(operands, op)], dict(state), float(operands[5])
                elif name == "ET":
                    close(piece, snapshot, y, i)
                    piece = None
                elif name != "BT" and piece is not None:
                    piece.append((operands, op))
                if name in _STATE_OPS:
                    state[_STATE_OPS[name]] = (operands, op)
    for k, st in enumerate(stamps):
        if st is not None:
            st["ops"] = b"\n".join(by_row.get((k // per_page, k % per_page), [])).decode("latin-1")


# ------------------------------------------------------------ carrying blocks over
def _flow_bottom(pb) -> float:
    """The bottom of the last line (or block without lines) of a page's flow (CSS px)."""
    from weasyprint.formatting_structure.boxes import FootnoteAreaBox, LineBox, ReplacedBox
    bottom = pb.content_box_y()
    stack = [c for c in pb.children[:1]]
    while stack:
        b = stack.pop()
        if isinstance(b, (LineBox, ReplacedBox)):
            bottom = max(bottom, b.position_y + b.height)
            continue
        kids = [c for c in getattr(b, "children", ()) if not isinstance(c, FootnoteAreaBox)]
        if kids:
            stack.extend(kids)
        elif b.height and b.height != "auto":
            bottom = max(bottom, b.position_y + b.height)
    return bottom


def _area_top(pb) -> float:
    """Where the footnotes of a page begin (the foot of its content box if it has none)."""
    from weasyprint.formatting_structure.boxes import FootnoteAreaBox
    area = next((c for c in pb.children if isinstance(c, FootnoteAreaBox)), None)
    if area is not None and area.children:
        return area.position_y
    return pb.content_box_y() + pb.height


def blank_fraction(page) -> float:
    """How much of a laid-out page's text area is empty below its last line."""
    pb = page._page_box
    return max(0.0, _area_top(pb) - _flow_bottom(pb)) / max(1.0, pb.height)


def _block_start(pages, i):
    """Where page ``i`` begins: (the chain of elements from the root down to the parent of
    the block it begins with, that block, None) if the block begins there; (the chain, the
    paragraph, (its element whose text goes on, the text node, the character where the
    page begins)) if the page goes on with a paragraph of the page before; else None."""
    from weasyprint.formatting_structure.boxes import LineBox, TextBox
    seen = {id(b.element) for b in pages[i - 1]._page_box.descendants() if b.element is not None}
    box = pages[i]._page_box.children[0]
    path = []
    while True:
        if box.element is None or "::" in (box.element_tag or ""):
            return None
        if id(box.element) not in seen:
            if not path or not box.is_in_normal_flow() or isinstance(box, LineBox):
                return None
            return path, box.element, None
        if not path or path[-1] is not box.element:
            path.append(box.element)
        kids = [c for c in getattr(box, "children", ()) if c.is_in_normal_flow()]
        if not kids:
            return None
        if isinstance(kids[0], LineBox):
            break
        box = kids[0]
    # a paragraph goes on: where, in its text (the first text of the page's first line)
    para = path.pop()
    leaf = kids[0]
    while not isinstance(leaf, TextBox):
        inner = [c for c in getattr(leaf, "children", ()) if "::" not in (c.element_tag or "")]
        if not inner or leaf.element is None:
            return None
        leaf = inner[0]
    el = leaf.element
    if el is None or "::" in (leaf.element_tag or ""):
        return None
    own = [el.text or ""] + [c.tail or "" for c in el]
    text = "".join("".join(own).split())
    k = 0
    hyphens = ("\u2010", "-", leaf.style["hyphenate_character"])
    for page in pages[:i]:
        for b in page._page_box.children[0].descendants():
            if isinstance(b, TextBox) and b.element is el and "::" not in (b.element_tag or ""):
                t = "".join(b.text.split())
                if text.startswith(t, k):
                    k += len(t)
                elif t[-1:] in hyphens and text.startswith(t[:-1], k):
                    k += len(t) - 1       # (a hyphen the line break added)
                else:
                    return None           # (a text the layout changed: text-transform)
    first = "".join(leaf.text.split())
    if not first or not (text.startswith(first, k) or text.startswith(first[:-1], k)):
        return None
    for node, part in enumerate(own):     # the k-th character that is not a space
        n = len("".join(part.split()))
        if k < n:
            j = 0
            for j, ch in enumerate(part):
                if not ch.isspace():
                    if k == 0:
                        break
                    k -= 1
            return path, para, (el, node - 1, j)
        k -= n
    return None


def _rest(para, el, node: int, j: int):
    """A copy of the paragraph ``para`` from character ``j`` of a text node of ``el`` on
    (``node`` -1: its text; else the tail of its child ``node``): everything before is
    left out, the elements around the cut keep no id (it stays where they began) and are
    marked (they print no generated text before them again: a paragraph number, a
    bracket); and the original elements that are in it."""
    import copy
    chain = [el]
    while chain[-1] is not para:
        chain.append(next(a for a in para.iter() if any(c is chain[-1] for c in a)))
    chain.reverse()                       # para … el
    kept = set()
    twin = copy.deepcopy(para)
    cur, orig = twin, para
    for depth, o in enumerate(chain):
        kids = list(orig)
        if o is el:
            cut = node + 1                # the children after the text node stay
            if node < 0:
                cur.text = (cur.text or "")[j:]
            else:
                cur.text = (kids[node].tail or "")[j:]
        else:
            nxt = chain[depth + 1]
            cut = next(k for k, c in enumerate(kids) if c is nxt)
            cur.text = None
        for c in list(cur)[:cut]:
            cur.remove(c)
        for c in kids[cut:]:
            if o is not el and c is chain[depth + 1]:
                continue
            kept.update(id(e) for e in c.iter())
        kept.add(id(o))
        cur.attrib.pop("id", None)
        cur.set(REST, "")
        if o is not el:
            cur, orig = cur[0], chain[depth + 1]
    twin.attrib.pop("data-para", None)
    twin.set(CARRIED, "")
    return twin, kept


def carry_cut(document, limit: float = CARRY_BLANK, back: int = 6):
    """Where to cut a part whose last page is more than ``limit`` blank: the index of the
    first page to drop, and the HTML of what it holds and all after it, for the next part
    to begin with.  The page dropped begins with a new block, or goes on with a paragraph
    of the page before (the rest of the paragraph goes, from the first character of the
    page); every footnote on the pages dropped belongs to what goes.  Each block that
    goes is in a shell of the blocks it sits in (no ids: those stay where the block
    began; marked ``data-editio-carried``).  None when the part is better left as it is."""
    pages = document.pages
    if len(pages) < 2 or blank_fraction(pages[-1]) <= limit:
        return None
    for i in range(len(pages) - 1, max(0, len(pages) - 1 - back), -1):
        html = cut_before(pages, i)
        if html is not None:
            return i, html
    return None


def cut_before(pages, i: int) -> str | None:
    """The HTML of what pages ``i`` and after hold, if the part can be cut before page
    ``i`` (:func:`carry_cut`), else None."""
    import xml.etree.ElementTree as ET
    from weasyprint.formatting_structure.boxes import FootnoteAreaBox
    found = _block_start(pages, i)
    if found is None:
        return None
    path, start, rest = found
    if len(path) < 2 or any(el.tag not in CARRY_SHELLS for el in path[2:]):
        return None           # (path: html, body, the blocks around the start)
    if rest is not None and not (start.tag == "p" or start.tag == "li" and path[-1].tag == "ul"):
        return None           # (the rest of an item of a numbered list would count again)
    # what goes: the start and the blocks after it, at every level up to the body
    levels = []               # per ancestor below the body: (shell element, carried children)
    child = start
    for parent in reversed(path[1:]):
        kids = list(parent)
        at = next(k for k, c in enumerate(kids) if c is child)
        levels.append((parent, kids[at:] if child is start else kids[at + 1:], kids[at - 1] if at else None))
        child = parent
    moved = set()
    for depth, (_, kids, _) in enumerate(levels):
        for k in kids[1 if rest is not None and depth == 0 else 0:]:
            moved.update(id(e) for e in k.iter())
    for j in range(len(levels) - 1):
        moved.add(id(levels[j][0]))
    first_html = None
    if rest is not None:
        twin, kept = _rest(start, *rest)
        moved |= kept
        first_html = ET.tostring(twin, encoding="unicode", method="html")
    ok = True
    for page in pages[i:]:
        area = next((c for c in page._page_box.children if isinstance(c, FootnoteAreaBox)), None)
        for note in getattr(area, "children", ()) if area is not None else ():
            if note.element is not None and id(note.element) not in moved:
                ok = False
    if not ok:
        return None

    def ser(k, depth, n):
        if n == 0 and depth == 0 and first_html is not None:
            return first_html
        out = ET.tostring(k, encoding="unicode", method="html")
        return _mark(out) if depth == len(levels) - 1 else out

    # the HTML: innermost shell first; each shell is a copy of its element without id
    html = ""
    for depth, (parent, kids, before) in enumerate(levels[:-1]):
        shell = ET.Element(parent.tag, {k: v for k, v in parent.attrib.items() if k != "id"})
        shell.set(CARRIED, "")
        if depth == 0 and before is not None:   # (p + p: the first carried block keeps its indent)
            shell.append(ET.Element(before.tag, {"class": before.get("class", ""), "hidden": ""}))
        inner = ET.tostring(shell, encoding="unicode", method="html")
        cut = inner.rindex("</")
        html = inner[:cut] + html + "".join(ser(k, depth, n) for n, k in enumerate(kids)) + inner[cut:]
    # (whole blocks of the body: the documents that follow, marked as carried too)
    depth = len(levels) - 1
    html += "".join(ser(k, depth, n) for n, k in enumerate(levels[-1][1]))
    return html


# A part that ends where the next part of its group begins on a fresh page (where two
# chains meet: :func:`editio.builders.pdf._chains`) and whose last page is more than this
# blank has its last pages laid out again with their leading changed (:func:`fit_seam`)
# (measured on the boxes, from the last line to the footnotes; a third on the printed
# words, which count the footnotes' rule and its space too)
SEAM_BLANK = 0.28
SEAM_PAGES = 30           # how many of its last pages at most (fewer when fewer will do)
SEAM_MIN_PAGES = 20
SEAM_LEADING = 0.03       # the largest change of the leading (a fraction of it)
SEAM_FULL = 0.85          # how full the last page is aimed to be when the text is spread
SEAM_ROOM = 0.08          # what room is aimed at on the page before when it is drawn in
# Drawn back, the pages give back about a third of the room a tighter leading makes (a
# line goes back only with its footnotes, whole, and only if the page before takes it):
# the leading is changed this many times as much as a simple proportion says
SEAM_PINNED = 3
SEAM_TRIES = 3            # layouts of the last pages at most (the second and third only
                          # when the first did not do)


def fit_seam(document, heads: list, job: dict, css, fc, fetch, tagged: bool):
    """Vertical justification where two chains of a run-on group meet.  The last page of
    a part whose next part was laid out at the same time (from a fresh page) is more than
    :data:`SEAM_BLANK` blank: its last pages (20 to :data:`SEAM_PAGES` of them, from a page
    where the part can be cut, :func:`cut_before`) are laid out again with every
    line height scaled by the same factor, so that either the last page's lines move back
    onto the pages before it (the leading a little tighter) or the text spreads until the
    last page is full enough (a little looser), whichever needs the smaller change, at
    most :data:`SEAM_LEADING` (as a book set with ``\\flushbottom`` stretches its glue; the
    leading is what a page of this text has to give).  A second try corrects the factor
    by what the first one gave.  Returns (the document: the pages kept and the pages laid
    out again, their sides, their heads, what was done) or None when it cannot be done
    well enough (then the page stays as it is; ``seam`` in the result says why)."""
    pages = document.pages
    n = len(pages)
    blank = blank_fraction(pages[-1]) if pages else 0.0
    if n < 2 or blank <= SEAM_BLANK:
        return None, None
    fill = 1 - blank
    # how many pages to lay out again: as few as take up the gap with a leading changed by
    # four fifths of the most it may be (shrinking aims three times as far: see below),
    # the way that needs fewer
    ease = 0.8 * SEAM_LEADING
    want = min(SEAM_PINNED * (fill + SEAM_ROOM) / ease, (SEAM_FULL - fill) / ease) + 1 - fill
    want = max(SEAM_MIN_PAGES, min(SEAM_PAGES, int(want) + 1))
    cut = None
    start = max(1, n - want)
    for i in list(range(start, max(0, start - 6), -1)) + list(range(start + 1, n)):
        cut = cut_before(pages, i)
        if cut is not None:
            break
    info = {"blank": round(blank, 3), "pages": 0, "leading": 1.0}
    if cut is None:
        info["why"] = "no page near its end where it can be cut"
        return None, info
    body = BODY_TAG.search(job["html"])
    html = job["html"][:body.end()] + cut + "</body></html>"
    m = n - i - 1 + fill                   # the tail's text, in pages
    full = n - i - 1                       # its whole pages
    # (drawn back, a line pinned to its page by its footnote gives back less room than the
    # leading saves: the shrinking aims SEAM_PINNED times as far; spread, lines move on
    # whole, so the stretching aims as it is)
    shrink = 1 - SEAM_PINNED * (1 - (full - SEAM_ROOM) / m)
    stretch = (full + SEAM_FULL) / m
    if stretch - 1 > SEAM_LEADING >= (full + 1 - SEAM_BLANK + 0.03) / m - 1:
        stretch = 1 + SEAM_LEADING     # (less full than aimed at, but full enough)
    if 1 - shrink > SEAM_LEADING >= 1 - (full - SEAM_ROOM) / m:
        shrink = 1 - SEAM_LEADING
    tries = sorted((f for f in (shrink, stretch) if abs(f - 1) <= SEAM_LEADING + 1e-9), key=lambda f: abs(f - 1))
    info.update(pages=n - i)
    if not tries:
        info["why"] = f"its leading would have to change by {min(abs(shrink - 1), abs(stretch - 1)):.1%}"
        return None, info
    entry = _entry_head(pages, heads, i)
    seen = []
    short, over = {}, {}                   # scale -> the tail too long / too short by it
    for k in range(SEAM_TRIES):
        if not tries:
            break
        scale = tries.pop(0)
        with _leading(scale):
            tail = weasyprint_html(html, job["base_url"], fetch).render(
                stylesheets=css, font_config=fc, pdf_variant=PDF_VARIANT if tagged else None,
                presentational_hints=False)
        last = blank_fraction(tail.pages[-1])
        got = len(tail.pages) - 1 + (1 - last)
        seen.append((round(scale, 4), len(tail.pages), round(last, 3)))
        if last <= SEAM_BLANK:
            t_sides, t_heads = page_facts(tail, strip=True)
            t_heads = [h if h != "" else entry for h in t_heads]
            kept_sides, kept_heads = _facts_of(document, heads)
            whole = document.copy(pages[:i] + tail.pages)
            info.update(leading=round(scale, 4), blank_after=round(last, 3), tries=seen)
            return (whole, kept_sides[:i] + t_sides, kept_heads[:i] + t_heads), info
        # the other way next, if it is to be tried; then this way again: halfway between
        # a leading that went too far and one that did not go far enough, if there are
        # both, else along the line through this layout and the first, at most as far as
        # the bound
        down = scale < 1
        target = full - SEAM_ROOM if down else full + SEAM_FULL
        went_too_far = len(tail.pages) < n - i if down else len(tail.pages) > n - i
        (over if went_too_far else short)[scale] = got
        near_over = [x for x in over if (x < 1) == down]
        near_short = [x for x in short if (x < 1) == down]
        if near_over and near_short:
            a_ = max(near_over) if down else min(near_over)
            b_ = min(near_short) if down else max(near_short)
            again = (a_ + b_) / 2
        else:
            slope = (got - m) / (scale - 1)
            again = 1 + (target - m) / slope if slope > 1 else (1 - SEAM_LEADING if down else 1 + SEAM_LEADING)
            again = min(1 + SEAM_LEADING, max(1 - SEAM_LEADING, again))
        if abs(again - scale) > 1e-4 and (again < 1) == down and all(abs(again - x) > 1e-4 for x in (*over, *short)):
            tries.append(again)        # (after the other way, if it is to be tried)
    info["why"] = f"no leading within {SEAM_LEADING:.0%} of its own filled the last page enough"
    info["tries"] = seen
    return None, info


def _facts_of(document, heads):
    """(sides, heads) of a laid-out part whose margin boxes were taken out already."""
    sides = [[p._page_box.page_type.side, p._page_box.page_type.name or "", round(p._page_box.content_box_x(), 3)]
             for p in document.pages]
    return sides, list(heads)


def _entry_head(pages, heads: list, i: int) -> str:
    """The running head in force where page ``i`` begins (what a page laid out again from
    there shows before a document begins on it): page ``i``'s own if nothing sets the
    running strings on it, else the last head before it."""
    sets = any(getattr(b, "string_set", "none") not in ("none", None, ())
               for b in pages[i]._page_box.descendants())
    if not sets and heads[i]:
        return heads[i]
    return next((h for h in reversed(heads[:i]) if h), heads[i] or "")


@contextlib.contextmanager
def _leading(scale: float):
    """Every line height computed while laying out scaled by ``scale`` (a number, a length
    or a percentage; ``normal`` stays)."""
    from weasyprint.css.computed_values import COMPUTER_FUNCTIONS
    from weasyprint.css.properties import Dimension
    real = COMPUTER_FUNCTIONS.get("line_height")
    if real is None or scale == 1:
        yield
        return

    def scaled(style, name, value):
        out = real(style, name, value)
        if isinstance(out, (int, float)):
            return out * scale
        if isinstance(out, Dimension) and out.unit == "px":
            return Dimension(out.value * scale, "px")
        return out

    COMPUTER_FUNCTIONS["line_height"] = scaled
    try:
        yield
    finally:
        COMPUTER_FUNCTIONS["line_height"] = real


BODY_TAG = re.compile(r"<body\b[^>]*>")


def _mark(html: str) -> str:
    """A whole block carried over, marked as such (``data-editio-carried`` on its tag)."""
    end = html.index(">")
    if html[end - 1] == "/":
        end -= 1
    return html[:end] + f" {WHOLE}" + html[end:]


def keep_pages(document, first: int):
    """The document without its pages from ``first`` on; its links to anchors that went
    with them become links across parts (``editio-dest:``, resolved when merging)."""
    from editio.builders.pdf_merge import DEST_SCHEME
    kept = document.copy(document.pages[:first])
    here = {name for page in kept.pages for name in page.anchors}
    gone = {name for page in document.pages[first:] for name in page.anchors} - here
    for page in kept.pages:
        page.links = [("external", DEST_SCHEME + target, rect, box)
                      if kind == "internal" and target in gone else (kind, target, rect, box)
                      for kind, target, rect, box in page.links]
    return kept


def carried_heads(document, heads: list, carried: list) -> list:
    """The running heads of a part that begins with blocks carried over: the pages before
    the first that holds anything of the part's own take the heads those blocks had in
    the part before (where the document they belong to was open)."""
    own = len(document.pages)
    for i, page in enumerate(document.pages):
        root = page._page_box.children[0]
        body = next((c for c in getattr(root, "children", ()) if c.element_tag == "body"), None)
        if body is None:
            continue
        if any(c.element is not None and c.element is not body.element and c.element.get(CARRIED) is None
               and c.element.get(WHOLE) is None for c in body.children if c.is_in_normal_flow()):
            own = i
            break
    out = [carried[i] if i < min(own, len(carried)) else h for i, h in enumerate(heads)]
    if out and carried and not out[0]:
        # (a page that begins with what was carried over is no page where a part opens:
        # it gets the head it had in the part before, not none)
        out[0] = carried[0]
    return out


def slots(document) -> list[dict]:
    """Where each page-number slot of a laid-out part is: its page, its text box (x, the
    top of its line, width, height, baseline) relative to the page's content box, in CSS
    px, and the font, line height and colour the number is to be drawn in (laid over it
    when merging: a block at the same top with the same font and line height puts the
    number's baseline where the slot's was)."""
    from weasyprint.formatting_structure.boxes import TextBox
    out = []
    for i, page in enumerate(document.pages, 1):
        pb = page._page_box
        cx, cy = pb.content_box_x(), pb.content_box_y()
        for box in pb.descendants(placeholders=True):
            if not isinstance(box, TextBox) or box.element is None or "::" in (box.element_tag or ""):
                continue
            k = box.element.get("data-slot")
            if k is None:
                continue
            st = box.style
            out.append({"slot": int(k), "ref": box.element.get("data-ref", ""), "page": i,
                        "to": box.element.get("data-to"),       # the end of a page range
                        "align": box.element.get("data-align", "end"),   # any spare room before the number
                        # the punctuation taken into the slot, drawn right after the number
                        "tail": box.element.get("data-tail") or "",
                        "x": round(box.position_x - cx, 3), "y": round(box.position_y - cy, 3),
                        "w": round(box.width, 3), "h": round(box.height, 3),
                        "baseline": round(box.baseline, 3), "font": font_css(st),
                        "by": round(box.position_y + box.baseline, 3),   # from the page's top
                        # the middle of the slot from the page's top left corner, in pt
                        "mid": [round((box.position_x + box.width / 2) * 0.75, 2),
                                round((box.position_y + box.height / 2) * 0.75, 2)]})
    return out


# the attribute of an element whose number is printed in the margin by its ``::before``
# (editio.render.html: a numbered paragraph, ``data-para="4"``)
MARK_ATTR = "data-para"


@contextlib.contextmanager
def _margin_numbers_as_stamps(found: dict):
    """The margin numbers of the paragraphs (print.css: ``[data-para]::before``, absolutely
    positioned beside the paragraph's first line) drawn as stamps, not laid out.

    Each was a box WeasyPrint built, styled, laid out and drew (about 2 ms each: some 5 %
    of a FRUS volume's layout).  Being absolutely positioned, it takes no room in the flow,
    so leaving its box out changes nothing else on the page.  While a part is built, a
    ``::before`` of an element with ``data-para`` whose style this can place (absolute, in
    a relatively positioned block, a text of strings and ``attr()``, left and top in
    lengths, no counters, borders or padding: :func:`_stampable`) gets no box; ``found``
    keeps its element and where and how it goes, and :func:`margin_marks` says, from its
    element's first box, on which page and where its text is drawn (the merge draws it,
    laid out once per distinct number and font with the page numbers, as an artifact).
    Any other ``::before`` is built as before.  If WeasyPrint's box building is not laid
    out as version 70's, nothing is patched."""
    from weasyprint.formatting_structure import build
    original = build.before_after_to_box
    try:
        params = list(inspect.signature(original).parameters)[:4]
    except (TypeError, ValueError):
        params = []
    if params != ["element", "pseudo_type", "state", "style_for"]:
        yield
        return

    def before_after_to_box(element, pseudo_type, state, style_for, *more, **kw):
        if pseudo_type == "before" and element.get(MARK_ATTR) is not None:
            mark = _stampable(element, style_for)
            if mark is not None:
                found[id(element)] = (element, mark)
                return []
        return original(element, pseudo_type, state, style_for, *more, **kw)

    build.before_after_to_box = before_after_to_box
    try:
        yield
    finally:
        build.before_after_to_box = original


def _px(value):
    """A computed length in px, or None (a percentage, auto …)."""
    unit = getattr(value, "unit", "")
    return float(value.value) if unit == "px" else None


def _stampable(element, style_for) -> dict | None:
    """Where and how the ``::before`` of ``element`` is drawn, if it can be drawn as a
    stamp (else None: WeasyPrint lays it out)."""
    st = style_for(element, "before")
    own = style_for(element)
    if st is None or own is None or own["position"] != "relative" or own["float"] != "none" \
            or own["display"][0] != "block" or "table" in own["display"] or own["direction"] != "ltr":
        return None
    content = st["content"]
    if content in ("normal", "inhibit", "none", "contents") or st["position"] != "absolute" \
            or "list-item" in st["display"] or st["display"] == ("none",):
        return None
    text = ""
    for kind, value in content:
        if kind == "string":
            text += value
        elif kind == "attr()" and value[1] == "string":
            text += element.get(value[0], "")
        else:
            return None
    if not text or text != "".join(text.split()):
        return None
    if st["counter_increment"] not in ("auto", ()) or st["counter_reset"] or st["counter_set"] \
            or st["bookmark_level"] != "none" or st["string_set"] not in ("none", ()) \
            or st["anchor"] or st["text_transform"] != "none" \
            or st["visibility"] != "visible" or st["transform"] or st["opacity"] != 1 \
            or st["direction"] != "ltr" or st["text_decoration_line"] not in ("none", ()):
        return None
    left, top = _px(st["left"]), _px(st["top"])
    width = None if st["width"] == "auto" else _px(st["width"])
    if left is None or top is None or st["right"] != "auto" or st["bottom"] != "auto" \
            or (width is None and st["width"] != "auto"):
        return None
    for side in ("top", "right", "bottom", "left"):
        if _px(st[f"margin_{side}"]) != 0 or _px(st[f"padding_{side}"]) != 0 \
                or st[f"border_{side}_width"]:
            return None
    lh = st["line_height"]
    if lh == "normal":
        return None
    lh = float(lh) * st["font_size"] if isinstance(lh, (int, float)) else _px(lh)
    align = st["text_align_all"]
    align = {"start": "left", "end": "right", "justify": "left"}.get(align, align)
    if lh is None or align not in ("left", "right", "center"):
        return None
    # (the font without its line height: the stamp is placed by its line's middle, so one
    # stamp serves lines of any height, those of a seam's scaled leading too)
    font = re.sub(r"line-height: [^;]*; ", "", font_css(st, tabular=False))
    return {"text": text, "font": font, "left": left, "top": top,
            "width": width, "align": align, "lh": lh}


def margin_marks(document, found: dict) -> list[dict]:
    """Where each margin number left out of the layout (:func:`_margin_numbers_as_stamps`)
    is drawn: on the page of its element's first box, placed from that box's padding box
    as WeasyPrint places an absolute box in a relatively positioned block (its containing
    block): x relative to the page's content box (the merge moves it with the page to
    the page's side in the book), the top of its line from the page's top, its line
    height, its width and alignment (CSS px)."""
    if not found:
        return []
    out, seen = [], set()
    for i, page in enumerate(document.pages, 1):
        pb = page._page_box
        cx = pb.content_box_x()
        for box in pb.descendants():
            el = box.element
            if el is None or id(el) not in found or id(el) in seen or "::" in (box.element_tag or "") \
                    or found[id(el)][0] is not el or not hasattr(box, "padding_box_x"):
                continue
            seen.add(id(el))
            m = found[id(el)][1]
            out.append({"page": i, "text": m["text"], "font": m["font"], "align": m["align"],
                        "x": round(box.padding_box_x() + m["left"] - cx, 3), "w": m["width"],
                        "top": round(box.padding_box_y() + m["top"], 3), "lh": m["lh"]})
    return out


# the margin box of the running head: the part lays it out (its ``string()`` values are
# the part's), the merge draws it (folio.css), on the side the page has in the book
HEAD_BOX = "@top-center"


def page_facts(document, strip: bool = True) -> tuple[list, list]:
    """Per page: the side it was laid out on and the x of its content box (CSS px), so the
    merge can move a page that lands on the other side in the book (mirrored margins of
    the same width); and the text of its running head, whose margin box is taken out of
    the part (it is drawn with the page numbers, on the page's real side), or None on a
    page that opens a chapter or section (:func:`opens`): none is drawn there."""
    from weasyprint.formatting_structure.boxes import MarginBox, TextBox
    sides, heads = [], []
    opened: set = set()
    for page in document.pages:
        pb = page._page_box
        sides.append([pb.page_type.side, pb.page_type.name or "", round(pb.content_box_x(), 3)])
        head = ""
        keep = []
        for child in pb.children:
            if isinstance(child, MarginBox) and child.at_keyword == HEAD_BOX:
                head = " ".join(b.text for b in child.descendants() if isinstance(b, TextBox)).strip()
            else:
                keep.append(child)
        if strip:
            pb.children = keep
        heads.append(None if opens(pb, opened) else head)
    return sides, heads


# a box that begins with one of these begins on a page of its own: a chapter or section
# opens there (print.css: .chapter, .group-head, .contents, .back-matter …)
FORCED = {"page", "left", "right", "recto", "verso"}


def opens(pb, opened: set) -> bool:
    """Whether the page (its page box) opens a chapter or section: the first box down from
    its root is an element that is forced onto a new page and that no page before it held
    (``opened``: the ids of such elements seen so far in the part).  As a printed book,
    such a page has no running head; every other page of text has one, also the pages
    where a document begins below the end of the one before (a run-on chapter)."""
    from weasyprint.formatting_structure.boxes import MarginBox
    box = next((c for c in pb.children if not isinstance(c, MarginBox)), None)
    out = False
    while box is not None and box.element is not None:
        if box.style["break_before"] in FORCED and id(box.element) not in opened:
            opened.add(id(box.element))
            out = True
        kids = [c for c in getattr(box, "children", ()) if c.is_in_normal_flow() and c.element is not None]
        box = kids[0] if kids else None
    return out


def font_css(st, tabular: bool = True) -> str:
    """The CSS declarations that draw text as a box of computed style ``st`` is drawn
    (``tabular``: with tabular figures, as in a page-number slot)."""
    fam = ", ".join("'%s'" % f.replace("'", "") for f in st["font_family"])
    numeric = st["font_variant_numeric"]
    if tabular:
        numeric = [] if numeric == "normal" else [v for v in numeric if v not in
                                                  ("proportional-nums", "tabular-nums")]
        numeric = " ".join(numeric + ["tabular-nums"])
    elif numeric != "normal":
        numeric = " ".join(numeric)
    c = st["color"]
    try:
        r, g, b = c.to("srgb").coordinates
        alpha = c.alpha
    except AttributeError:            # (tinycss2 before color4: an RGBA tuple)
        r, g, b, alpha = c
    color = f"rgba({round(r * 255)}, {round(g * 255)}, {round(b * 255)}, {round(alpha, 3)})"
    feats = st["font_feature_settings"]
    feats = "normal" if feats == "normal" else ", ".join(f'"{t}" {v}' for t, v in feats)
    lh = st["line_height"]    # (with the same font, the baseline falls where it fell in the part)
    if lh != "normal":
        unit = getattr(lh, "unit", None)
        lh = f"{getattr(lh, 'value', lh)}{unit or ''}"
    ls = st["letter_spacing"]
    ls = "normal" if ls == "normal" else f"{getattr(ls, 'value', ls)}{getattr(ls, 'unit', None) or 'px'}"
    return (f"font-family: {fam}; font-size: {st['font_size']:.3f}px; font-style: {st['font_style']}; "
            f"font-weight: {st['font_weight']}; font-stretch: {st['font_stretch']}; "
            f"font-variant-numeric: {numeric}; "
            f"font-variant-caps: {st['font_variant_caps']}; font-kerning: {st['font_kerning']}; "
            f"font-feature-settings: {feats}; letter-spacing: {ls}; line-height: {lh}; color: {color}")


def _finish(out: dict, t0: tuple) -> dict:
    out["seconds"] = time.perf_counter() - t0[0]
    out["cpu"] = time.process_time() - t0[1]      # (the process's CPU: wall time under load is noise)
    out["peak_rss"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return out


@contextlib.contextmanager
def _collect_log(warnings: list):
    """WeasyPrint's warnings and errors, collected for the build report."""
    logger = logging.getLogger("weasyprint")

    class H(logging.Handler):
        def emit(self, record):
            try:
                warnings.append(record.getMessage())
            except Exception:  # pragma: no cover
                warnings.append(str(record.msg))

    h = H(logging.WARNING)
    logger.addHandler(h)
    prop, logger.propagate = logger.propagate, False
    try:
        yield
    finally:
        logger.removeHandler(h)
        logger.propagate = prop


@contextlib.contextmanager
def _page_references_once():
    """pydyf's ``PDF.page_references`` (every page's reference) is made afresh each time it
    is read, and WeasyPrint reads it for every element of the structure tree: a tagged
    part spent 3–4 % of its time there.  For one layout in this (worker) process it is
    kept while the page list is unchanged (the same values, made once)."""
    import pydyf
    prop = pydyf.PDF.__dict__.get("page_references")
    if not isinstance(prop, property):      # (another pydyf: nothing to do)
        yield
        return

    def cached(pdf):
        kids = pdf.pages["Kids"]
        memo = pdf.__dict__.get("_editio_page_refs")
        if memo is None or memo[0] != len(kids):
            memo = (len(kids), prop.fget(pdf))
            pdf.__dict__["_editio_page_refs"] = memo
        return memo[1]

    pydyf.PDF.page_references = property(cached)
    try:
        yield
    finally:
        pydyf.PDF.page_references = prop


_DEFER = "report = not context.in_column and can_break_now and not could_break_before"


@contextlib.contextmanager
def footnotes_stay_with_their_calls(warnings: list):
    """Lay out with WeasyPrint's "defer earlier footnotes to fit one more line" turned off.

    When a line at the foot of a page overflows and the paragraph may break after it,
    WeasyPrint (``layout/block.py``, ``_linebox_layout``) moves footnotes whose calls are
    already on the page to the next page to make room, and keeps them deferred even
    when that did not help; a deferred footnote is deferred again on every following
    page that ends the same way (in this edition a note drifted four pages from its
    call).  ``footnote-policy`` does not govern this path.  A scholarly edition needs
    every note on the page of its call, so for the duration of one part's layout the one
    statement that decides it is replaced (the line then simply breaks to the next
    page).  If a WeasyPrint release changes that code, nothing is patched, a
    warning says so, and the tests catch any displaced note.  The swap lasts for one
    layout in this (worker) process; parts are laid out in processes, never threads."""
    from weasyprint.layout import block
    original = block._linebox_layout
    try:
        src = inspect.getsource(original)
    except (OSError, TypeError):
        src = ""
    if _DEFER not in src:
        warnings.append("this WeasyPrint version may move footnotes away from their calls")
        yield
        return
    namespace = dict(block.__dict__)
    exec(compile(src.replace(_DEFER, "report = False"), block.__file__, "exec"), namespace)
    block._linebox_layout = namespace[original.__name__]
    try:
        yield
    finally:
        block._linebox_layout = original



@contextlib.contextmanager
def _footnotes_measured_once():
    """Each footnote of a page laid out once while the page is filled, not once for every
    footnote added after it.

    WeasyPrint (``LayoutContext._update_footnote_area``) lays the whole footnote area out
    again each time a footnote is added to the page (or taken off it), only to learn the
    area's height, and once more when the page is finished: a page with n notes laid its
    first note out n + 1 times (a part of a FRUS volume spent a fifth of its layout in
    these area layouts).  Here the layout of a note in the footnote area is kept (on the
    page's footnote area: a new page, a new memo) and a copy of it is given whenever the
    same note is laid out again at the same place, with the same margins above it, the
    same floats on the page, the same page and break state, and nothing positioned inside
    it; anything else is laid out by WeasyPrint as before.  The heights, hence the page
    breaks, and the boxes drawn are the ones WeasyPrint computes (the parts' PDFs are the
    same bytes).  If a WeasyPrint release changes that code, nothing is patched.  For one
    layout in this (worker) process, like :func:`footnotes_stay_with_their_calls`."""
    from weasyprint.formatting_structure import boxes
    from weasyprint.layout import LayoutContext, block
    original = LayoutContext._update_footnote_area
    real = block.block_level_layout
    try:
        src = inspect.getsource(original)
    except (OSError, TypeError):
        src = ""
    if "footnote_area = block_level_layout(" not in src or "deepcopy()" not in src or \
            list(inspect.signature(real).parameters)[:9] != [
                "context", "box", "bottom_space", "skip_stack", "containing_block",
                "page_is_empty", "absolute_boxes", "fixed_boxes", "adjoining_margins"]:
        yield
        return
    NOTE = "_editio_note"

    def measured(context, box, bottom_space, skip_stack, containing_block, page_is_empty=True,
                 absolute_boxes=None, fixed_boxes=None, adjoining_margins=None, *more, **kw):
        note = box.__dict__.get(NOTE)
        if note is None or not isinstance(containing_block, boxes.FootnoteAreaBox) or \
                any(v is not None and v is not False for v in (*more, *kw.values())):
            return real(context, box, bottom_space, skip_stack, containing_block, page_is_empty,
                        absolute_boxes, fixed_boxes, adjoining_margins, *more, **kw)
        shapes = context.excluded_shapes
        key = (note, box.position_x, box.position_y, bottom_space, repr(skip_stack),
               containing_block.width, page_is_empty, tuple(adjoining_margins or ()), more,
               tuple(sorted(kw.items())),
               context.current_page, context.forced_break, context.in_column,
               tuple((s.position_x, s.position_y, s.margin_width(), s.margin_height()) for s in shapes))
        memo = containing_block.__dict__.get("_editio_memo")
        hit = memo.get(key) if memo is not None else None
        if hit is not None:
            new_child, resume_at, next_page, margins, through, lines = hit
            return (new_child.deepcopy(), resume_at, dict(next_page), list(margins), through, lines)
        absolute_boxes = [] if absolute_boxes is None else absolute_boxes
        fixed_boxes = [] if fixed_boxes is None else fixed_boxes
        counts = len(absolute_boxes), len(fixed_boxes), len(shapes)
        out = real(context, box, bottom_space, skip_stack, containing_block, page_is_empty,
                   absolute_boxes, fixed_boxes, adjoining_margins, *more, **kw)
        new_child, resume_at, next_page, margins, through, lines = out
        if memo is not None and new_child is not None and resume_at is None and \
                counts == (len(absolute_boxes), len(fixed_boxes), len(context.excluded_shapes)):
            memo[key] = (new_child.deepcopy(), None, dict(next_page), list(margins), through, lines)
        return out

    def update(self):
        area = self.current_footnote_area
        if "_editio_memo" not in area.__dict__:      # (shared by the area's copies)
            area._editio_memo = {}
        for note in self.current_page_footnotes:
            if NOTE not in note.__dict__:
                note.__dict__[NOTE] = self.__dict__["_editio_notes"] = \
                    self.__dict__.get("_editio_notes", 0) + 1
        return original(self)

    LayoutContext._update_footnote_area = update
    block.block_level_layout = measured
    try:
        yield
    finally:
        LayoutContext._update_footnote_area = original
        block.block_level_layout = real


@contextlib.contextmanager
def _pdf_objects_written_once():
    """pydyf's ``PDF.write`` serialises every object (and compresses every stream) twice
    when the file gets an identifier: once to write it, once more to hash all objects for
    the identifier's second half (a FRUS index part spent 8 % of its time there).  For the
    duration of one ``write`` here, an object's bytes are made once and kept (with the
    object, so that no other object can take its id) and given again when asked for
    again: the same bytes (nothing changes an object while the file is written).  If
    pydyf changes, nothing is patched.  For one layout in this (worker) process."""
    import pydyf
    classes = [c for c in (pydyf.Dictionary, pydyf.Array, pydyf.Stream, pydyf.String)
               if isinstance(c.__dict__.get("data"), property)]
    real_write = pydyf.PDF.__dict__.get("write")
    if len(classes) != 4 or not callable(real_write):
        yield
        return
    props = {c: c.__dict__["data"] for c in classes}

    def once(prop):
        def data(obj):
            memo = obj_memo[-1] if obj_memo else None
            if memo is None:
                return prop.fget(obj)
            got = memo.get(id(obj))
            if got is None:
                got = memo[id(obj)] = (obj, prop.fget(obj))
            return got[1]
        return property(data)

    obj_memo: list = []

    def write(self, *args, **kwargs):
        obj_memo.append({})
        try:
            return real_write(self, *args, **kwargs)
        finally:
            obj_memo.pop()

    for c in classes:
        setattr(c, "data", once(props[c]))
    pydyf.PDF.write = write
    try:
        yield
    finally:
        pydyf.PDF.write = real_write
        for c, prop in props.items():
            setattr(c, "data", prop)


_FONT_KEYS = ("font_family", "font_style", "font_stretch", "font_weight", "font_size",
              "font_variant_caps", "font_variation_settings")


@contextlib.contextmanager
def _font_descriptions_once():
    """WeasyPrint makes a Pango font description and the OpenType feature list afresh for
    every text layout (``text/line_break.py``: ~20,000 of each for a text part), from the
    same few styles.  For one layout in this (worker) process each distinct one is made
    once and given again (Pango copies a description into the layout it is set on; the
    feature lists are only read): the same text, the same bytes.  If WeasyPrint changes
    those functions, nothing is patched."""
    from weasyprint.text import fonts, line_break
    real_desc, real_feat = line_break.__dict__.get("get_font_description"), line_break.__dict__.get("font_features")
    if real_desc is not fonts.get_font_description or real_feat is not fonts.font_features or \
            list(inspect.signature(real_desc).parameters) != ["style"]:
        yield
        return
    descs: dict = {}
    feats: dict = {}

    def description(style):
        try:
            key = tuple(style[k] for k in _FONT_KEYS)
            hash(key)
        except (KeyError, TypeError):
            return real_desc(style)
        got = descs.get(key)
        if got is None:
            got = descs[key] = real_desc(style)
        return got

    def features(*args, **kwargs):
        try:
            key = (args, tuple(sorted(kwargs.items())))
            hash(key)
        except TypeError:
            return real_feat(*args, **kwargs)
        got = feats.get(key)
        if got is None:
            got = feats[key] = real_feat(*args, **kwargs)
        return dict(got)

    line_break.get_font_description, line_break.font_features = description, features
    try:
        yield
    finally:
        line_break.get_font_description, line_break.font_features = real_desc, real_feat
