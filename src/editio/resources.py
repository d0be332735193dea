"""Where editio's own files are: default templates and styles, overridable per edition.

An edition overrides a template by putting a file of the same name in
``<project>/templates/html/`` or ``<project>/templates/print/``, and the styles by
putting ``web.css``/``print.css``/``fonts/`` in ``<project>/styles/``.
"""
from __future__ import annotations

from pathlib import Path

from editio.config import Project

PACKAGE = Path(__file__).resolve().parent
TEMPLATES = PACKAGE / "templates"
STYLES = PACKAGE.parents[1] / "styles"   # the repository's styles/ (source checkout)
SCHEMA = PACKAGE.parents[1] / "schema" / "editio.rng"
SCHEMATRON = PACKAGE.parents[1] / "schema" / "editio.sch"
"""The edition rules a schema cannot express, in ISO Schematron (``editio.rules.schematron``)."""


def template_dirs(project: Project, kind: str) -> list[Path]:
    """Search path for Jinja2 templates of ``kind`` (html | print): the edition's first."""
    dirs = [project.root / "templates" / kind, TEMPLATES / kind]
    return [d for d in dirs if d.is_dir()]


def style_file(project: Project, name: str) -> Path:
    """A file of the styles (``web.css``, ``fonts/x.woff2``): the edition's own if it has it."""
    own = project.root / "styles" / name
    return own if own.exists() else STYLES / name


def styles_dir(project: Project) -> Path:
    """The edition's ``styles/`` if it holds styles (a README alone, as ``editio new``
    writes, does not count), else editio's."""
    own = project.root / "styles"
    if own.is_dir() and any(not p.name.upper().startswith("README") for p in own.iterdir()):
        return own
    return STYLES
