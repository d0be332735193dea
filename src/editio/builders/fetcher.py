"""WeasyPrint's URL fetcher for editio: no network, nothing outside the project.

WeasyPrint fetches every URL the book's HTML and CSS name, and every URL inside the
images it lays out (an SVG's ``<image href="http://…">`` or ``file:///…``).  This
fetcher answers only

* ``file:`` URLs that :mod:`editio.gate` lets through inside one of its roots (the
  project, the styles folders): inside after symlinks, not hidden, not the output,
  a regular file, within the budget, read without blocking;
* of those inside the project (not the styles), only images by their bytes: PNG,
  JPEG, GIF, WebP, or SVG that :func:`editio.publish.svg_problem` finds inert and
  bounded (a nested-``<use>`` SVG would take WeasyPrint minutes);
* ``data:`` URLs (inline, no I/O; editio's own stylesheets use them).

Everything else (``http:``, ``https:``, ``ftp:``, files elsewhere) raises, which
WeasyPrint reports as a warning (``pdf.weasyprint``) and lays out without it.  The
class is defined at module level and built from plain paths, so a worker process can
make its own (no global state).
"""
from __future__ import annotations

import mimetypes
from pathlib import Path
from urllib.parse import unquote, urlsplit

from weasyprint.urls import URLFetcher, URLFetcherResponse

from editio import gate, publish

TYPES = {"png": "image/png", "jpeg": "image/jpeg", "gif": "image/gif", "webp": "image/webp",
         "svg": "image/svg+xml"}


class ProjectFetcher(URLFetcher):
    def __init__(self, project_root, style_roots=(), output=None,
                 max_bytes: int = publish.MAX_MEDIA_BYTES, **kw):
        super().__init__(allowed_protocols=("file", "data"), allow_redirects=False, timeout=5, **kw)
        self.project_root = Path(project_root).resolve()
        self.style_roots = [Path(r).resolve() for r in style_roots]
        self.output = Path(output).resolve() if output else None
        self.max_bytes = max_bytes

    def fetch(self, url, headers=None):
        scheme = url.split(":", 1)[0].lower() if ":" in url else ""
        if scheme == "data":
            return super().fetch(url, headers)
        if scheme != "file":
            raise ValueError(f"editio fetches nothing from the network: {gate.show(url[:120])}")
        path = Path(unquote(urlsplit(url).path))
        for root in self.style_roots:
            real = gate.passes(root, path, max_bytes=self.max_bytes)
            if real is not None:
                data = gate.open_regular(real, self.max_bytes)
                kind = mimetypes.guess_type(real.name)[0] or "application/octet-stream"
                return URLFetcherResponse(real.as_uri(), data, {"Content-Type": kind})
        try:
            real = gate.check(self.project_root, path, output=self.output, max_bytes=self.max_bytes)
            data = gate.open_regular(real, self.max_bytes)
        except gate.Refused as err:
            raise ValueError(f"not fetched: {gate.show(str(path))}: {err.reason}") from None
        kind = publish.media_kind(data)
        if kind is None:
            raise ValueError(f"not fetched: {real.name} is not an image (by its bytes)")
        if kind == "svg":
            why = publish.svg_problem(data, real.name)
            if why:
                raise ValueError(f"not fetched: {real.name}: {why}")
        return URLFetcherResponse(real.as_uri(), data, {"Content-Type": TYPES[kind]})


def for_project(project) -> ProjectFetcher:
    """The fetcher for ``project``'s book: the project, its styles and editio's own styles."""
    from editio.resources import STYLES, styles_dir
    roots = [styles_dir(project), STYLES]
    return ProjectFetcher(project.root, [r for r in roots if Path(r).is_dir()],
                          output=project.output_dir)
