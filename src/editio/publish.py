"""Only TEI is published.

The "TEI source" of every page (``build/html/tei/*.xml``) and the sources attached
to the PDF are written from the tree ``check`` read and checked (XIncludes
resolved), never copied from disk, and hold nothing a browser would run:

* elements outside the TEI namespace are left out, unless the edition allows their
  namespace (a ``[namespaces]`` table in editio.toml or its profile); XHTML, SVG,
  XSLT and XLink-driven content are never allowed (``check`` refuses them:
  ``tei.foreign``);
* attributes named ``on…`` (``onerror``, ``onload``: event handlers) in any
  namespace are left out (``check`` refuses them: ``tei.event-attribute``);
* processing instructions outside the root (``<?xml-stylesheet?>`` would make a
  browser run an XSLT from anywhere) and ``xml-stylesheet`` inside it are left out.

Media: only raster images whose bytes say they are PNG, JPEG, GIF or WebP are
copied, or SVG that :func:`svg_problem` finds inert and small.
"""
from __future__ import annotations

import copy
import re

from lxml import etree

from editio import TEI_NS

XHTML_NS = "http://www.w3.org/1999/xhtml"
SVG_NS = "http://www.w3.org/2000/svg"
XLINK_NS = "http://www.w3.org/1999/xlink"
ACTIVE_NAMESPACES = frozenset({XHTML_NS, SVG_NS, "http://www.w3.org/1999/XSL/Transform",
                               "http://www.w3.org/2001/XInclude", "http://www.w3.org/1998/Math/MathML"})
"""Namespaces whose elements a browser may render or run: never allowed in published TEI."""
EVENT_ATTR = re.compile(r"^on[a-z]", re.I)


def allowed_namespaces(project) -> frozenset:
    """TEI, and the foreign namespaces the edition declares (``namespaces`` in editio.toml or its
    profile), less the active ones."""
    extra = set(getattr(project, "namespaces", ()) or ())
    return frozenset({TEI_NS} | (extra - ACTIVE_NAMESPACES))


def namespace(el) -> str:
    tag = el.tag if isinstance(el.tag, str) else ""
    return tag[1:].split("}", 1)[0] if tag.startswith("{") else ""


def is_event_attribute(name: str) -> bool:
    local = name.rsplit("}", 1)[-1]
    return bool(EVENT_ATTR.match(local))


def foreign(el, allowed) -> bool:
    """Whether ``el`` is an element of a namespace the edition does not publish."""
    return isinstance(el.tag, str) and namespace(el) not in allowed


def published_root(root, allowed):
    """A copy of ``root`` with foreign elements, event attributes and stylesheet PIs left out
    (text around a removed element is kept; its own text goes with it)."""
    out = copy.deepcopy(root)
    doomed = []
    for el in out.iter():
        if isinstance(el, etree._ProcessingInstruction):
            if el.target.lower() == "xml-stylesheet":
                doomed.append(el)
            continue
        if not isinstance(el.tag, str):
            continue
        if el is not out and foreign(el, allowed):
            doomed.append(el)
            continue
        for name in [a for a in el.attrib if is_event_attribute(a)]:
            del el.attrib[name]
    for el in doomed:
        if any(a in doomed for a in el.iterancestors()):
            continue
        _remove_keeping_tail(el)
    return out


def _remove_keeping_tail(el) -> None:
    parent = el.getparent()
    if parent is None:
        return
    tail = el.tail or ""
    prev = el.getprevious()
    if tail:
        if prev is not None:
            prev.tail = (prev.tail or "") + tail
        else:
            parent.text = (parent.text or "") + tail
    parent.remove(el)


def _clean(root, allowed) -> bool:
    """Whether :func:`published_root` would leave ``root`` as it is: no element of a
    namespace not published, no event attribute, no ``xml-stylesheet`` inside (found with
    XPath, without a look at each element and attribute from Python)."""
    if any(foreign(el, allowed) for el in root.xpath(".//*[namespace-uri() != $tei]", tei=TEI_NS)):
        return False
    if any(is_event_attribute(a.attrname) for a in
           root.xpath(".//@*[starts-with(translate(local-name(), 'ON', 'on'), 'on')]")):
        return False
    return not any(pi.target.lower() == "xml-stylesheet"
                   for pi in root.xpath(".//processing-instruction()"))


def tei_bytes(doc, project) -> bytes:
    """The published TEI of ``doc``: its checked tree, cleaned, as UTF-8 XML, with the
    comments and ``<?xml-model?>`` lines that stood before the root (nothing else: an
    ``<?xml-stylesheet?>`` would make a browser run an XSLT)."""
    tree = doc.root.getroottree()
    before = list(doc.root.itersiblings(preceding=True))
    after = list(doc.root.itersiblings())
    if (all(isinstance(s, etree._Comment) or (isinstance(s, etree._ProcessingInstruction)
                                              and s.target == "xml-model") for s in before)
            and all(isinstance(s, etree._Comment) for s in after)
            and not tree.docinfo.doctype and _clean(doc.root, allowed_namespaces(project))):
        # nothing to leave out: the tree as it is (the same bytes as a cleaned copy's)
        return etree.tostring(tree, xml_declaration=True, encoding="UTF-8") + b"\n"
    root = published_root(doc.root, allowed_namespaces(project))
    # addprevious/addnext insert right beside the root: before it in document order,
    # after it nearest last, so the copies keep the file's order
    before = list(doc.root.itersiblings(preceding=True))[::-1]
    for sib in before:
        if isinstance(sib, etree._Comment) or (isinstance(sib, etree._ProcessingInstruction)
                                               and sib.target == "xml-model"):
            root.addprevious(copy.copy(sib))
    for sib in reversed(list(doc.root.itersiblings())):
        if isinstance(sib, etree._Comment):
            root.addnext(copy.copy(sib))
    return etree.tostring(root.getroottree(), xml_declaration=True, encoding="UTF-8") + b"\n"


# ------------------------------------------------------------------ media
RASTER = ((b"\x89PNG\r\n\x1a\n", "png"), (b"\xff\xd8\xff", "jpeg"), (b"GIF87a", "gif"),
          (b"GIF89a", "gif"))
MAX_MEDIA_BYTES = 20 * 1024 * 1024
MAX_SVG_BYTES = 1024 * 1024
MAX_SVG_ELEMENTS = 10_000
MAX_SVG_EXPANSION = 50_000
"""Most elements an SVG may stand for once every ``<use>`` is expanded (a 1.3 KB file of
nested ``<use>`` stands for billions; a real figure for a few thousand)."""


def media_kind(data: bytes) -> str | None:
    """``png``/``jpeg``/``gif``/``webp`` from the file's first bytes (not its name), ``svg`` for
    XML whose root is ``svg``, else None."""
    for magic, kind in RASTER:
        if data.startswith(magic):
            return kind
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"<") and re.search(rb"<svg[\s>]", data[:65536]):
        return "svg"
    return None


def svg_problem(data: bytes, name: str = "image.svg") -> str | None:
    """Why this SVG may not be published or laid out (None: it is inert and small): scripts,
    event attributes, foreign objects, references to anything but its own ids, CSS that
    loads, entity declarations, or more than :data:`MAX_SVG_EXPANSION` elements once
    ``<use>`` is expanded."""
    from editio.diagnostics import EditioError
    from editio.read import parse_bytes
    if len(data) > MAX_SVG_BYTES:
        return f"{len(data):,} bytes, over the limit of {MAX_SVG_BYTES:,} for an SVG"
    try:
        root = parse_bytes(data, name).getroot()
    except EditioError as err:
        return f"not readable XML: {err.diagnostic.message}"
    if root.tag != f"{{{SVG_NS}}}svg":
        return "the root is not an SVG <svg> element"
    ids, count = {}, 0
    for el in root.iter():
        if not isinstance(el.tag, str):
            if isinstance(el, etree._ProcessingInstruction):
                return "holds a processing instruction"
            continue
        count += 1
        if count > MAX_SVG_ELEMENTS:
            return f"more than {MAX_SVG_ELEMENTS:,} elements"
        if namespace(el) != SVG_NS:
            return f"holds <{etree.QName(el).localname}>, not an SVG element"
        local = etree.QName(el).localname
        if local in ("script", "foreignObject", "iframe", "embed", "object", "handler", "listener"):
            return f"holds <{local}> (active content)"
        for a, v in el.attrib.items():
            if is_event_attribute(a):
                return f"holds an event attribute ({etree.QName(a).localname})"
            an = etree.QName(a).localname
            if an == "href" and not v.strip().startswith("#"):
                return f'refers to "{v[:80]}" (an SVG may refer only to its own parts)'
            if "url(" in v.replace(" ", "") and not re.fullmatch(r"\s*url\(\s*['\"]?#[^)]*\)\s*", v):
                return "loads something with url() (only url(#id) is allowed)"
        if local == "style" and re.search(r"@import|url\(\s*['\"]?(?!#)", "".join(el.itertext())):
            return "a <style> that loads something"
        if el.get("id"):
            ids[el.get("id")] = el
    weight: dict = {}

    def w(el, stack) -> int:
        if el in weight:
            return weight[el]
        if el in stack:
            raise ValueError("a <use> that refers to itself")
        stack.add(el)
        total = 1
        for c in el:
            if isinstance(c.tag, str):
                total += w(c, stack)
        if isinstance(el.tag, str) and etree.QName(el).localname == "use":
            ref = (el.get("href") or el.get(f"{{{XLINK_NS}}}href") or "").lstrip("#")
            if ref in ids:
                total += w(ids[ref], stack)
        stack.discard(el)
        weight[el] = total
        if total > MAX_SVG_EXPANSION:
            raise OverflowError
        return total
    try:
        w(root, set())
    except OverflowError:
        return f"stands for more than {MAX_SVG_EXPANSION:,} elements once <use> is expanded"
    except (ValueError, RecursionError) as err:
        return str(err) if isinstance(err, ValueError) else "nested too deeply"
    return None


def media_name(rel: str, kind: str | None = None) -> str:
    """The name of a project file in ``media/``, one to one: letters, digits, ``.``, ``-`` and
    ``/`` stay; every other character (and ``_``) becomes ``_xx`` (its code point in hex),
    so ``map a.png``, ``map-a.png`` and ``map+a.png`` stay three files; leading dots go.
    The extension follows the bytes (``kind``), not the name."""
    out = []
    for ch in rel:
        if ch.isascii() and (ch.isalnum() or ch in ".-/"):
            out.append(ch)
        else:
            out.append("".join(f"_{b:02x}" for b in ch.encode("utf-8")))
    name = "/".join(p.lstrip(".") or "_" for p in "".join(out).split("/"))
    if kind:
        ext = {"jpeg": ".jpg"}.get(kind, "." + kind)
        if not name.lower().endswith((ext, ".jpeg") if kind == "jpeg" else ext):
            name += ext
    return "media/" + name
