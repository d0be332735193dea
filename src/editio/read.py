"""Read TEI safely with lxml, keeping line numbers for diagnostics.

Input is untrusted: the parser never touches the network, never expands
entities, never loads an external DTD, and refuses a DOCTYPE that declares
entities (billion laughs, quadratic blow-up, external entities).  XInclude is
resolved by editio itself and only for files inside the project.  Files over
``MAX_BYTES`` are refused before parsing.
"""
from __future__ import annotations

import re
from pathlib import Path

from lxml import etree

from editio import TEI_NS
from editio.diagnostics import EditioError

MAX_BYTES = 64 * 1024 * 1024  # 64 MiB: larger than any FRUS volume (the largest is ~4 MiB)
XI_NS = "http://www.w3.org/2001/XInclude"
_ENTITY_DECL = re.compile(rb"<!ENTITY", re.I)
_DOCTYPE = re.compile(rb"<!DOCTYPE", re.I)


def _parser() -> etree.XMLParser:
    # A new parser per call: lxml parsers are not thread-safe, and no global state.
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                           dtd_validation=False, huge_tree=False, remove_blank_text=False,
                           collect_ids=False)


def _line_col(data: bytes, pos: int) -> tuple[int, int]:
    line = data.count(b"\n", 0, pos) + 1
    col = pos - (data.rfind(b"\n", 0, pos) + 1) + 1
    return line, col


def parse_bytes(data: bytes, name: str, *, base: Path | None = None,
                root_dir: Path | None = None) -> etree._ElementTree:
    """Parse ``data`` (the bytes of file ``name``) or raise a located EditioError."""
    if len(data) > MAX_BYTES:
        raise EditioError(f"file is {len(data):,} bytes, over the limit of {MAX_BYTES:,}",
                          file=name, line=1, col=1, code="read.too-large")
    if not data.strip(b"\xef\xbb\xbf \t\r\n"):
        raise EditioError("file is empty", file=name, line=1, col=1, code="read.empty")
    m = _DOCTYPE.search(data)
    if m:
        ent = _ENTITY_DECL.search(data, m.start())
        if ent:
            line, col = _line_col(data, ent.start())
            raise EditioError("DOCTYPE declares entities; entity declarations are refused "
                              "(they can expand without bound or read other files)",
                              file=name, line=line, col=col, code="read.entity")
        tail = data[m.start():m.start() + 512]
        if re.match(rb"<!DOCTYPE\s+\S+\s+(SYSTEM|PUBLIC)\b", tail, re.I):
            line, col = _line_col(data, m.start())
            raise EditioError("DOCTYPE names an external DTD; external DTDs are refused",
                              file=name, line=line, col=col, code="read.external-dtd")
    try:
        tree = etree.ElementTree(etree.fromstring(data, _parser(), base_url=str(base or name)))
    except etree.XMLSyntaxError as err:
        line, col = err.position if err.position else (0, 0)
        msg = err.msg or str(err)
        msg = re.sub(r",? line \d+, column \d+$", "", msg)
        raise EditioError(f"not well-formed: {msg}", file=name, line=line or 1,
                          col=(col or 0) + (1 if col is not None else 0) if col else 1,
                          code="read.syntax") from None
    except ValueError as err:  # e.g. unsupported encoding declarations
        raise EditioError(f"cannot decode: {err}", file=name, line=1, col=1,
                          code="read.encoding") from None
    for el in tree.iter():
        if isinstance(el, etree._Entity):
            raise EditioError(f"undeclared entity reference &{el.name};", file=name,
                              line=el.sourceline or 1, col=1, code="read.entity")
    if root_dir is not None:
        _xinclude(tree, Path(base or name), Path(root_dir), name, depth=0)
    return tree


def read(path: Path, *, root_dir: Path | None = None, display: str | None = None
         ) -> etree._ElementTree:
    """Read one file; ``display`` is the name used in diagnostics."""
    path = Path(path)
    name = display or str(path)
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise EditioError(f"file is {size:,} bytes, over the limit of {MAX_BYTES:,}",
                              file=name, line=1, col=1, code="read.too-large")
        data = path.read_bytes()
    except OSError as err:
        raise EditioError(f"cannot read: {err.strerror}", file=name, code="read.io") from None
    return parse_bytes(data, name, base=path, root_dir=root_dir)


def _xinclude(tree, base: Path, root_dir: Path, name: str, depth: int) -> None:
    """Resolve xi:include elements whose href stays inside ``root_dir``."""
    incs = list(tree.iter("{%s}include" % XI_NS))
    if not incs:
        return
    if depth > 8:
        raise EditioError("XInclude nested too deeply", file=name, code="read.xinclude")
    root_real = root_dir.resolve()
    for inc in incs:
        href = inc.get("href", "")
        line = inc.sourceline or 0
        if not href or re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", href):
            raise EditioError(f"XInclude href {href!r} is not a relative path inside the project",
                              file=name, line=line, code="read.xinclude")
        target = (base.parent / href).resolve()
        if root_real not in target.parents and target != root_real:
            raise EditioError(f"XInclude href {href!r} points outside the project",
                              file=name, line=line, code="read.xinclude")
        if inc.get("parse", "xml") == "text":
            try:
                text = target.read_text(encoding=inc.get("encoding", "utf-8"))
            except OSError as err:
                raise EditioError(f"XInclude cannot read {href!r}: {err.strerror}",
                                  file=name, line=line, code="read.xinclude") from None
            parent = inc.getparent()
            prev = inc.getprevious()
            if prev is not None:
                prev.tail = (prev.tail or "") + text + (inc.tail or "")
            else:
                parent.text = (parent.text or "") + text + (inc.tail or "")
            parent.remove(inc)
            continue
        sub = read(target, root_dir=root_dir, display=href)
        _xinclude(sub, target, root_dir, href, depth + 1)
        new = sub.getroot()
        new.tail = inc.tail
        inc.getparent().replace(inc, new)


def is_tei(tree) -> bool:
    root = tree.getroot()
    return root.tag in (f"{{{TEI_NS}}}TEI", f"{{{TEI_NS}}}teiCorpus")
