"""Laying out one part of the book: print HTML -> WeasyPrint -> the part's PDF.

This module is what a worker process (local, or on a Dask cluster) runs.  It holds no
state and needs nothing but its job, a plain dict that pickles::

    job = {"key": "…", "html": "<!DOCTYPE html>…", "base_url": "/…/styles/",
           "stylesheets": ["/…/styles/print.css"], "tagged": True,
           "fetcher": {"project_root", "style_roots", "output"},
           "identifier": "…", "attachments": [{"name", "description", "data", "when"}],
           "write": True}             # False: lay out for the page facts only, no PDF
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
            if not job.get("write", True):   # only the page facts (a first pass)
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
