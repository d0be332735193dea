"""Laying out one part of the book: print HTML -> WeasyPrint -> the part's PDF.

This module is what a worker process (local, or on a Dask cluster) runs.  It holds no
state and needs nothing but its job, a plain dict that pickles::

    job = {"key": "…", "html": "<!DOCTYPE html>…", "base_url": "/…/styles/",
           "stylesheets": ["/…/styles/print.css"], "tagged": True,
           "fetcher": {"project_root", "style_roots", "output"},
           "identifier": "…", "attachments": [{"name", "description", "data", "when"}],
           "write": True,             # False: lay out for the page facts only, no PDF
           "overlay": False}          # True: the page numbers' document (draws its heads)
    result = lay_out(job)
    result = {"key", "pdf": bytes, "pages": 12, "anchors": {"id": page index from 1},
              "folios": ["plain" | "" | None per page], "warnings": [...],
              "error": None | "message", "seconds", "peak_rss"}

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
import resource
import time
import traceback

PDF_VARIANT = "pdf/ua-1"
# what a layout result holds (part of the build cache's key)
RESULT_FORMAT = "slots-sides-heads 2"
# A page-number slot (``<span class="pn" data-slot="k">000</span>``) keeps its room in the
# line but draws nothing: its number is laid over it when the parts are merged.  (A
# leader before it, as in the contents, is drawn.)
SLOT_CSS = ".pn { visibility: hidden; white-space: nowrap; } .pn::before { visibility: visible; }"


def weasyprint_html(string: str, base_url: str, url_fetcher=None):
    """The only constructor of WeasyPrint ``HTML`` objects in editio."""
    from weasyprint import HTML
    return HTML(string=string, base_url=base_url, url_fetcher=url_fetcher)


def fetcher(spec: dict | None):
    """The job's url_fetcher (:class:`editio.builders.fetcher.ProjectFetcher`), made here
    from plain paths: no network, nothing outside the project and the styles."""
    if not spec:
        return None
    from editio.builders.fetcher import ProjectFetcher
    return ProjectFetcher(spec["project_root"], spec.get("style_roots", ()), output=spec.get("output"))


def lay_out(job: dict) -> dict:
    """Lay out one part and write its PDF; never raises (an error is returned)."""
    t0 = time.perf_counter()
    warnings: list[str] = []
    out = {"key": job["key"], "pdf": b"", "pages": 0, "anchors": {}, "folios": [],
           "warnings": warnings, "error": None}
    try:
        from weasyprint import CSS, Attachment
        from weasyprint.text.fonts import FontConfiguration
        with _collect_log(warnings), footnotes_stay_with_their_calls(warnings):
            fc = FontConfiguration()
            fetch = fetcher(job.get("fetcher"))
            css = [CSS(filename=s, font_config=fc, url_fetcher=fetch) for s in job["stylesheets"]]
            css.append(CSS(string=SLOT_CSS, font_config=fc))
            tagged = job.get("tagged", True)
            document = weasyprint_html(job["html"], job["base_url"], fetch).render(
                stylesheets=css, font_config=fc, pdf_variant=PDF_VARIANT if tagged else None,
                presentational_hints=False)
            anchors: dict[str, int] = {}
            folios: list = []
            for i, page in enumerate(document.pages, 1):
                for name in page.anchors:
                    anchors.setdefault(name, i)
                ptype = page._page_box.page_type
                folios.append(None if ptype.blank else (ptype.name or ""))
            out["slots"] = slots(document)
            out["sides"], out["heads"] = page_facts(document, strip=not job.get("overlay"))
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
                        "align": box.element.get("data-align", "end"),   # any spare room before the number
                        "x": round(box.position_x - cx, 3), "y": round(box.position_y - cy, 3),
                        "w": round(box.width, 3), "h": round(box.height, 3),
                        "baseline": round(box.baseline, 3), "font": font_css(st),
                        # the middle of the slot from the page's top left corner, in pt
                        "mid": [round((box.position_x + box.width / 2) * 0.75, 2),
                                round((box.position_y + box.height / 2) * 0.75, 2)]})
    return out


# the margin box of the running head: the part lays it out (its ``string()`` values are
# the part's), the merge draws it (folio.css), on the side the page has in the book
HEAD_BOX = "@top-center"


def page_facts(document, strip: bool = True) -> tuple[list, list]:
    """Per page: the side it was laid out on and the x of its content box (CSS px), so the
    merge can move a page that lands on the other side in the book (mirrored margins of
    the same width); and the text of its running head, whose margin box is taken out of
    the part (it is drawn with the page numbers, on the page's real side)."""
    from weasyprint.formatting_structure.boxes import MarginBox, TextBox
    sides, heads = [], []
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
        heads.append(head)
    return sides, heads


def font_css(st) -> str:
    """The CSS declarations that draw text as a box of computed style ``st`` is drawn."""
    fam = ", ".join("'%s'" % f.replace("'", "") for f in st["font_family"])
    numeric = st["font_variant_numeric"]
    numeric = [] if numeric == "normal" else [v for v in numeric if v not in
                                              ("proportional-nums", "tabular-nums")]
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
            f"font-variant-numeric: {' '.join(numeric + ['tabular-nums'])}; "
            f"font-variant-caps: {st['font_variant_caps']}; font-kerning: {st['font_kerning']}; "
            f"font-feature-settings: {feats}; letter-spacing: {ls}; line-height: {lh}; color: {color}")


def _finish(out: dict, t0: float) -> dict:
    out["seconds"] = time.perf_counter() - t0
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
