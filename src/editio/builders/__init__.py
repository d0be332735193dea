"""Output formats: builders registered by name.

A builder turns the resolved edition into one output folder, ``<output>/<name>/``::

    Builder(name="html", build=build_site, description="the static site")
    builder.build(edition, out_dir, report, view="edited", progress=None)

:func:`registry` lists the formats a project can build: editio's own (``html``, ``pdf``),
those of installed packages (entry points in the group ``editio.builders``, each naming a
:class:`Builder`), and the edition's own, declared in ``editio.toml``::

    [formats.json]
    module = "formats/json_export.py"     # a Python file of the project defining BUILDER

The edition's modules are trusted as its templates are (the person building chose them);
they live inside the project.  ``build.py`` and the command line read the registry, so a new
output (EPUB, a JSON export) is one module plus its templates, and nothing here changes.
Nothing is kept at module level: each call builds the registry afresh.
"""
from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from editio.diagnostics import EditioError

DEFAULT_FORMATS = ("html", "pdf")
"""What ``editio build`` makes when no ``--format`` is given."""


@dataclass(frozen=True)
class Builder:
    name: str                      # the format's name: --format NAME, <output>/NAME/
    build: Callable                # (edition, out_dir, report, *, view, progress) -> path | None
    description: str = ""
    output: str = ""               # the behaviour rows' output name (default: ``name``)
    options: tuple = ()            # build options it takes besides view and progress (pdf: workers,
    #                                executor; ``later``: a list to leave a :class:`Later` step in)


@dataclass(frozen=True)
class Later:
    """A builder's last step that needs nothing of the edition (the site's search index,
    written from the pages on disk by a helper process).  A builder that takes the ``later``
    option appends one to the list it is given instead of running it; ``build.py`` runs
    it once the builders have returned and the edition is let go (so that the parsed TEI
    is not in memory beside the helper), or ``cancel``s it if the build fails."""
    run: Callable[[], None]
    cancel: Callable[[], None]


def _site(edition, out_dir, report, view="edited", progress=None, cache=True, later=None):
    from editio.builders.site import build_site
    return build_site(edition, out_dir, report, progress=progress, cache=cache, later=later)


def _pdf(edition, out_dir, report, view="edited", progress=None, workers=None, executor=None,
         cache=True):
    from editio.builders.pdf import build_pdf
    return build_pdf(edition, out_dir, report, view=view, progress=progress, workers=workers,
                     executor=executor, cache=cache)


def builtin() -> dict[str, Builder]:
    return {"html": Builder("html", _site, "the static HTML site", options=("cache", "later")),
            "pdf": Builder("pdf", _pdf, "the PDF book", options=("workers", "executor", "cache"))}


def registry(project=None) -> dict[str, Builder]:
    """Every format this project can build, by name."""
    out = builtin()
    try:
        if not _may_declare(GROUP):
            raise ImportError   # (no installed package names the group: nothing to load)
        from importlib.metadata import entry_points
        for ep in entry_points(group=GROUP):
            try:
                b = ep.load()
            except Exception as err:  # a broken plugin is said, not a traceback
                raise EditioError(f"output format '{ep.name}' ({ep.value}) cannot be loaded: {err}",
                                  code="config.format") from None
            if isinstance(b, Builder):
                out.setdefault(b.name, b)
    except ImportError:  # pragma: no cover
        pass
    if project is not None:
        out.update(_edition_formats(project))
    return out


GROUP = "editio.builders"
"""The entry-point group under which an installed package registers output formats."""


def _may_declare(group: str) -> bool:
    """Whether some installed distribution may declare entry points of ``group``: False
    only when every place importlib.metadata would look is a folder, and no
    ``*.dist-info``/``*.egg-info`` in them has an ``entry_points.txt`` naming the group.
    Importing importlib.metadata (email, zipfile, csv …) costs ~0.1 s of every build,
    before anything else can start; reading the few ``entry_points.txt`` costs ~1 ms."""
    import os
    import sys
    from importlib.machinery import PathFinder
    if any(hasattr(f, "find_distributions") and f is not PathFinder for f in sys.meta_path):
        return True   # another finder (an import hook) may hold distributions: ask it
    head = f"[{group}]".encode()
    for entry in sys.path:
        path = entry or "."
        if not os.path.isdir(path) or path.lower().endswith(".egg"):
            if os.path.exists(path):
                return True   # a zip or an egg on the path: importlib.metadata reads it
            continue
        try:
            names = os.listdir(path)
        except OSError:
            continue
        for d in names:
            if d.lower().endswith((".dist-info", ".egg-info")):   # (as importlib.metadata)
                try:
                    with open(os.path.join(path, d, "entry_points.txt"), "rb") as f:
                        if head in f.read():
                            return True
                except OSError:   # none (most distributions), or an .egg-info file
                    continue
    return False


def _edition_formats(project) -> dict[str, Builder]:
    table = (project.extra or {}).get("formats", {})
    if not isinstance(table, dict):
        raise EditioError("[formats] must be a table of formats", file="editio.toml", code="config.type")
    out = {}
    for name, spec in table.items():
        if not isinstance(spec, dict) or not isinstance(spec.get("module"), str):
            raise EditioError(f"[formats.{name}] needs module = \"path/to/module.py\"",
                              file="editio.toml", code="config.type")
        if name in builtin():
            raise EditioError(f"[formats.{name}]: '{name}' is one of editio's own formats",
                              file="editio.toml", code="config.format")
        path = (project.root / spec["module"]).resolve()
        try:
            path.relative_to(project.root.resolve())
        except ValueError:
            raise EditioError(f"[formats.{name}] module must be a file inside the project",
                              file="editio.toml", code="config.path") from None
        if not path.is_file():
            raise EditioError(f"[formats.{name}]: no file {spec['module']}", file="editio.toml",
                              code="config.format")
        mod_name = f"editio_format_{name}_{abs(hash(str(path)))}"
        spec_ = importlib.util.spec_from_file_location(mod_name, path)
        module = importlib.util.module_from_spec(spec_)
        try:
            spec_.loader.exec_module(module)
        except Exception as err:
            raise EditioError(f"[formats.{name}]: {spec['module']} cannot be loaded: "
                              f"{type(err).__name__}: {err}", file="editio.toml",
                              code="config.format") from None
        b = getattr(module, "BUILDER", None)
        if not isinstance(b, Builder):
            raise EditioError(f"[formats.{name}]: {spec['module']} defines no BUILDER "
                              "(an editio.builders.Builder)", file="editio.toml", code="config.format")
        out[name] = Builder(name, b.build, b.description, b.output or name)
    return out


def check_formats(project, formats) -> tuple[str, ...]:
    """The formats asked for, checked against the registry (a usage error names the choices)."""
    reg = registry(project)
    for f in formats:
        if f not in reg:
            raise EditioError(f"no output format '{f}'; choose from {', '.join(sorted(reg))}",
                              code="usage.format")
    return tuple(formats)
