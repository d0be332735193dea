"""Read TEI safely with lxml, keeping line numbers for diagnostics.

Input is untrusted (editions travel by mail and are published on the open
web), so reading refuses, with a located ``read.*`` error, rather than
guesses:

* entity declarations of any kind (``<!ENTITY``): billion laughs, quadratic
  blow-up, external entities (``SYSTEM "file:///etc/passwd"``, network URLs)
  and parameter entities are all refused before lxml sees the file; lxml
  itself runs with no network, no entity substitution and no DTD loading, and
  libxml2's amplification limit stays on as a second line of defence;
* a DOCTYPE naming an external DTD (``SYSTEM``/``PUBLIC``); a bare
  ``<!DOCTYPE TEI>`` is harmless and accepted;
* files over :data:`MAX_BYTES`, text nodes over libxml2's 10,000,000
  characters, elements nested deeper than :data:`MAX_DEPTH`;
* encodings that cannot be right: bytes that are not valid in the declared
  (or default UTF-8) encoding, UTF-16 without a byte-order mark, a legacy
  single-byte declaration over UTF-8 bytes (which would silently turn
  ``é`` into ``Ã©``);
* ``xi:include`` whose ``href`` is a URL, an absolute path, or leaves the
  project (also through symlinks), include cycles, and more than
  :data:`MAX_INCLUDES` inclusions or :data:`MAX_BYTES` bytes in all.
  XInclude is resolved by editio itself, never by libxml2.

Byte-order marks (UTF-8, UTF-16 LE/BE) and CRLF line ends are accepted
(the XML parser turns CRLF into LF, as the XML spec requires).
"""
from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote

from lxml import etree

from editio import TEI_NS, XML_ID, gate
from editio.diagnostics import Diagnostic, EditioError

MAX_BYTES = 32 * 1024 * 1024
"""Largest file (and largest total of a file and its XIncludes) editio reads: 32 MiB.
The largest FRUS volume is about 4 MiB; a 10 MB document builds in seconds."""
MAX_DEPTH = 100
"""Deepest element nesting accepted (the root is depth 1).  Real editions nest
about 10-15 levels (FRUS: 12); rendering and WeasyPrint's layout are
recursive, and this bound keeps them well inside Python's recursion limit.
libxml2 itself stops at 256."""
MAX_INCLUDES = 1000
"""Most ``xi:include`` elements resolved while reading one file, nested ones included."""
MAX_INCLUDE_DEPTH = 8
XI_NS = "http://www.w3.org/2001/XInclude"
_XI_INCLUDE = "{%s}include" % XI_NS
_XI_FALLBACK = "{%s}fallback" % XI_NS
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_NCNAME = re.compile(r"^[A-Za-z_][\w.-]*$")
_SINGLE_BYTE = re.compile(r"^(iso[-_]?8859[-_]?\d+|latin[-_]?\d|l\d|windows[-_]?125\d|cp125\d|"
                          r"cp850|cp437|us-ascii|ascii|macintosh|mac-?roman|koi8-[ru])$", re.I)


def _parser() -> etree.XMLParser:
    # A new parser per call: lxml parsers are not thread-safe, and no global state.
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                           dtd_validation=False, attribute_defaults=False, huge_tree=False,
                           remove_blank_text=False, collect_ids=False)


def _line_col(text, pos: int) -> tuple[int, int]:
    nl = "\n" if isinstance(text, str) else b"\n"
    line = text.count(nl, 0, pos) + 1
    col = pos - (text.rfind(nl, 0, pos) + 1) + 1
    return line, col


def _err(msg: str, name: str, code: str, line: int = 1, col: int = 1) -> EditioError:
    return EditioError(msg, file=name, line=line, col=col, code=code)


# ------------------------------------------------------------------ encodings
def _sniff(data: bytes, name: str) -> tuple[str | None, int]:
    """(Python codec to decode the prolog with, or None for ASCII-compatible bytes; BOM length)."""
    if data.startswith(codecs.BOM_UTF8):
        return None, 3
    if data[:4] in (codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE):
        raise _err("file is UTF-32; save it as UTF-8", name, "read.encoding")
    if data.startswith(codecs.BOM_UTF16_LE):
        return "utf-16-le", 2
    if data.startswith(codecs.BOM_UTF16_BE):
        return "utf-16-be", 2
    head = data[:4]
    if len(head) == 4 and ((head[0] == 0 and head[1] != 0 and head[2] == 0)
                           or (head[0] != 0 and head[1] == 0 and head[3] == 0)):
        raise _err("file looks like UTF-16 without a byte-order mark; save it as UTF-8 "
                   "(or UTF-16 with a byte-order mark)", name, "read.encoding")
    return None, 0


def _prolog_text(data: bytes, codec: str | None, bom: int) -> str:
    """The start of the file as text: enough for the XML declaration and the DOCTYPE."""
    if codec:
        return data[bom:].decode(codec, errors="replace")
    # ASCII-compatible: decode as Latin-1 so that character positions are byte positions
    return data[bom:].decode("latin-1")


def _check_declared_encoding(prolog: str, data: bytes, bom: int, name: str) -> None:
    m = re.match(r"\s*<\?xml\s[^>]*?encoding\s*=\s*([\"'])([^\"']*)\1", prolog)
    if not m:
        return
    declared = m.group(2).strip()
    line, col = _line_col(prolog, m.start(2))
    try:
        codecs.lookup(declared)
    except LookupError:
        raise _err(f'unknown encoding "{declared}" in the XML declaration', name,
                   "read.encoding", line, col) from None
    if _SINGLE_BYTE.match(declared) and bom == 0 and re.search(rb"[\x80-\xff]", data):
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            return  # genuinely not UTF-8: the declaration is plausible
        raise _err(f'the XML declaration says encoding="{declared}", but the bytes are UTF-8 '
                   f'(é would read as Ã©); declare encoding="UTF-8" or remove the declaration',
                   name, "read.encoding", line, col)


# ---------------------------------------------------------- DOCTYPE and entities
def _check_prolog(prolog: str, name: str) -> None:
    """Refuse entity declarations and external DTDs in the prolog (before the root element)."""
    i, n = 0, len(prolog)
    while i < n:
        while i < n and prolog[i] in " \t\r\n":
            i += 1
        if prolog.startswith("<?", i):
            j = prolog.find("?>", i)
            if j < 0:
                return
            i = j + 2
        elif prolog.startswith("<!--", i):
            j = prolog.find("-->", i)
            if j < 0:
                return
            i = j + 3
        elif prolog[i:i + 9].upper() == "<!DOCTYPE":
            _check_doctype(prolog, i, name)
            return
        else:
            return  # the root element (or something the parser will reject)


def _check_doctype(text: str, start: int, name: str) -> None:
    m = re.compile(r"<!DOCTYPE\s+[^\s\[>]+\s*(SYSTEM|PUBLIC)?", re.I).match(text, start)
    if m and m.group(1):
        line, col = _line_col(text, start)
        raise _err(f"DOCTYPE names an external DTD ({m.group(1)}); external DTDs are refused "
                   "(they can read other files or the network); remove the DOCTYPE",
                   name, "read.external-dtd", line, col)
    j = text.find("[", start)
    gt = text.find(">", start)
    if j < 0 or (0 <= gt < j):
        return  # no internal subset
    # walk the internal subset, skipping quoted strings and comments
    k, quote = j + 1, None
    while k < len(text):
        ch = text[k]
        if quote:
            if ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
        elif text.startswith("<!--", k):
            e = text.find("-->", k)
            k = len(text) if e < 0 else e + 3
            continue
        elif text[k:k + 8].upper() == "<!ENTITY":
            line, col = _line_col(text, k)
            raise _err("DOCTYPE declares an entity; entity declarations are refused (they can "
                       "expand without bound or read other files and URLs); write the "
                       "characters themselves or numeric references like &#233;",
                       name, "read.entity", line, col)
        elif ch == "%":
            line, col = _line_col(text, k)
            raise _err("DOCTYPE uses a parameter entity; refused", name, "read.entity", line, col)
        elif ch == "]":
            return
        k += 1


def _check_docinfo(tree, name: str) -> None:
    """Second line of defence, after parsing: whatever lxml saw of a DTD."""
    info = tree.docinfo
    if info.system_url or info.public_id:
        raise _err("DOCTYPE names an external DTD; external DTDs are refused", name,
                   "read.external-dtd")
    dtd = info.internalDTD
    if dtd is not None:
        for ent in dtd.iterentities():
            raise _err(f"DOCTYPE declares entity {ent.name!r}; entity declarations are refused",
                       name, "read.entity")


# ------------------------------------------------------------- lxml's errors
_LIBXML_CODES = (
    (re.compile(r"Excessive depth|Maximum depth", re.I), "read.depth",
     lambda m: f"elements nested deeper than {MAX_DEPTH} levels; refused"),
    (re.compile(r"amplification|entity loop|Detected an entity reference loop", re.I), "read.entity",
     lambda m: "entity expansion refused"),
    (re.compile(r"Text node too long|Resource limit exceeded|huge", re.I), "read.too-large",
     lambda m: "a text node or name is longer than 10,000,000 characters; refused"),
    (re.compile(r"Entity '([^']*)' not defined", re.I), "read.entity",
     lambda m: f"undefined entity &{m.group(1)}; (TEI has no named character entities: "
               f"write the character itself, or a numeric reference like &#160;)"),
    (re.compile(r"Invalid bytes in character encoding|Unsupported encoding|"
                r"Document labelled|encoding|Input is not proper", re.I), "read.encoding",
     lambda m: None),
    (re.compile(r"Document is empty|Start tag expected", re.I), "read.syntax",
     lambda m: "no root element (is this an XML file?)"),
)


def _syntax_error(err: etree.XMLSyntaxError, name: str, data: bytes = b"") -> EditioError:
    line, col = err.position if err.position else (1, 1)
    msg = re.sub(r",? line \d+, column \d+$", "", (err.msg or str(err)).strip())
    # libxml2 points just past the faulty construct; point at its start where we can
    m = re.search(r"Entity '([^']*)' not defined|and ([\w:.-]+)$", msg)
    if m and line and col and data:
        needle = f"&{m.group(1)};" if m.group(1) else f"</{m.group(2)}"
        col = _back_to(data, line, col, needle.encode()) or col
    for rx, code, make in _LIBXML_CODES:
        m = rx.search(msg)
        if m:
            better = make(m)
            if code == "read.encoding" and better is None:
                better = (f"{msg} (the file is not in the encoding it declares, or not UTF-8 "
                          "when it declares none)")
            return _err(better, name, code, line or 1, col or 1)
    return _err(f"not well-formed: {msg}", name, "read.syntax", line or 1, col or 1)


def _back_to(data: bytes, line: int, col: int, needle: bytes) -> int | None:
    """The column of the last ``needle`` that starts before ``col`` on ``line`` (bytes of an
    ASCII-compatible encoding; None if not found)."""
    start = 0
    for _ in range(line - 1):
        start = data.find(b"\n", start) + 1
        if start == 0:
            return None
    end = data.find(b"\n", start)
    text = data[start:end if end >= 0 else len(data)]
    k = text.rfind(needle, 0, max(col - 1, 0))
    return k + 1 if k >= 0 else None


def _check_depth(tree, name: str) -> None:
    depth = 0
    for event, el in etree.iterwalk(tree, events=("start", "end")):
        if event == "start":
            depth += 1
            if depth > MAX_DEPTH:
                raise _err(f"elements nested deeper than {MAX_DEPTH} levels (<{_local(el)}> "
                           f"is at depth {depth}); refused", name, "read.depth",
                           el.sourceline or 1, 1)
        else:
            depth -= 1


def _local(el) -> str:
    return el.tag.rsplit("}", 1)[-1] if isinstance(el.tag, str) else "?"


# ------------------------------------------------------------------- parsing
def parse_bytes(data: bytes, name: str, *, base: Path | None = None,
                root_dir: Path | None = None) -> etree._ElementTree:
    """Parse ``data`` (the bytes of file ``name``) or raise a located EditioError.

    With ``root_dir``, ``xi:include`` elements are resolved (inside ``root_dir`` only)."""
    tree = _parse(data, name, base)
    if root_dir is not None:
        inc = _Includes(Path(root_dir).resolve())
        if base is not None:
            inc.stack.append(Path(base).resolve())
        _xinclude(tree, Path(base or name), inc, name, 0)
        _check_depth(tree, name)
    return tree


def _parse(data: bytes, name: str, base: Path | None) -> etree._ElementTree:
    if len(data) > MAX_BYTES:
        raise _err(f"file is {len(data):,} bytes, over the limit of {MAX_BYTES:,}", name,
                   "read.too-large")
    codec, bom = _sniff(data, name)
    prolog = _prolog_text(data[:1 << 20] if not codec else data, codec, bom)
    if not (prolog.strip(" \t\r\n\ufeff") if codec else data[bom:].strip(b" \t\r\n")):
        raise _err("file is empty", name, "read.empty")
    _check_declared_encoding(prolog, data, bom, name)
    _check_prolog(prolog, name)
    try:
        root = etree.fromstring(data, _parser(), base_url=str(base or name))
    except etree.XMLSyntaxError as err:
        raise _syntax_error(err, name, b"" if codec else data) from None
    except (ValueError, LookupError) as err:  # e.g. an encoding lxml cannot use
        raise _err(f"cannot decode: {err}", name, "read.encoding") from None
    tree = etree.ElementTree(root)
    _check_docinfo(tree, name)
    for el in tree.iter(etree.Entity):
        raise _err(f"entity reference &{el.name}; refused", name, "read.entity",
                   el.sourceline or 1)
    _check_depth(tree, name)
    return tree


def read(path: Path, *, root_dir: Path | None = None, display: str | None = None,
         raw: list | None = None, missing: list | None = None) -> etree._ElementTree:
    """Read one file; ``display`` is the name used in diagnostics.  With ``root_dir``,
    ``xi:include`` elements are resolved, inside ``root_dir`` only.  ``raw``: a list the
    file's own bytes (as parsed) are appended to.  ``missing``: a list that takes an
    ``xinclude.missing`` diagnostic for each include of a file that does not exist (and has
    no ``xi:fallback``), which is then left out; without it such an include stops the read."""
    path = Path(path)
    name = display or str(path)
    inc = _Includes(Path(root_dir).resolve(), missing=missing) if root_dir is not None else None
    return _read(path, name, inc, raw)


def _read(path: Path, name: str, inc: "_Includes | None", raw: list | None = None
          ) -> etree._ElementTree:
    data = _read_bytes(path, name, inc)
    if raw is not None:
        raw.append(data)
    tree = _parse(data, name, path)
    if inc is not None:
        inc.stack.append(path.resolve())
        try:
            _xinclude(tree, path, inc, name, 0)
        finally:
            inc.stack.pop()
        _check_depth(tree, name)  # included trees nest inside this one
    return tree


def _read_bytes(path: Path, name: str, inc: "_Includes | None", line: int = 1) -> bytes:
    """The bytes of ``path`` through :func:`editio.gate.open_regular`: a regular file only
    (a FIFO, ``/dev/zero`` or a directory is refused, never read), at most :data:`MAX_BYTES`."""
    budget = MAX_BYTES if inc is None else max(MAX_BYTES - inc.bytes, 0)
    try:
        data = gate.open_regular(path, budget)
    except gate.Refused as err:
        code = "read.too-large" if err.diagnostic.code == "path.too-large" else "read.io"
        if code == "read.too-large" and inc is not None and inc.bytes:
            raise _err(f"file and its XIncludes come to over {MAX_BYTES:,} bytes; refused", name,
                       code) from None
        raise _err(f"cannot read: {err.reason}", name, code) from None
    if inc is not None:
        inc.charge(len(data), name)
    return data


# ------------------------------------------------------------------ XInclude
@dataclass
class _Includes:
    """The budget shared by one file and everything it includes."""
    root: Path
    stack: list = field(default_factory=list)
    count: int = 0
    bytes: int = 0
    missing: list | None = None   # diagnostics of includes of files that do not exist (left out)

    def charge(self, size: int, name: str) -> None:
        self.bytes += size
        if self.bytes > MAX_BYTES:
            raise _err(f"file and its XIncludes come to over {MAX_BYTES:,} bytes; refused", name,
                       "read.too-large")


def _xinclude(tree, base: Path, inc: _Includes, name: str, depth: int) -> None:
    """Resolve xi:include elements whose href stays inside the project."""
    for el in list(tree.iter(_XI_INCLUDE)):
        if el.getparent() is None:
            raise _err("the root element is an xi:include", name, "read.xinclude",
                       el.sourceline or 1)
        if any(a.tag == _XI_FALLBACK for a in el.iterancestors()):
            continue  # inside a fallback: only used if its own include fails
        inc.count += 1
        if inc.count > MAX_INCLUDES:
            raise _err(f"more than {MAX_INCLUDES} xi:include elements; refused", name,
                       "read.xinclude", el.sourceline or 1)
        try:
            nodes = _include(el, base, inc, name, depth)
        except _Missing as err:
            fb = el.find(_XI_FALLBACK)
            if fb is None:
                if inc.missing is None:
                    raise
                # a file that is not there (a FRUS volume's "../shared/frus-dates.xml" of the
                # series' repository): the include is left out and reported, located; the
                # rest of the file is read (a refused path still stops the reading)
                d = err.diagnostic
                inc.missing.append(Diagnostic(d.file, d.line, d.col, "error", "xinclude.missing",
                                              d.message + "; left out"))
                nodes = [""]
            else:
                nodes = [fb.text or ""] + list(fb)  # lxml moves each element with its tail
        _replace(el, nodes)


class _Missing(EditioError):
    """The included file does not exist: the one error an ``xi:fallback`` stands in for."""


def _include(el, base: Path, inc: _Includes, name: str, depth: int) -> list:
    line = el.sourceline or 1
    raw = el.get("href", "")
    href = unquote(raw)
    try:
        gate.relative(raw)
        gate.relative(href)
        # the one gate: inside the project after symlinks, not hidden, a regular file
        target = gate.check(inc.root, href, base=base, max_bytes=None)
    except gate.Refused as err:
        if err.diagnostic.code == "path.missing":
            raise _Missing(f'xi:include href "{raw}": no such file', file=name, line=line, col=1,
                           code="read.xinclude") from None
        raise _err(f'xi:include href "{raw}" is refused: {err.reason}', name,
                   "read.xinclude", line) from None
    shown = target.relative_to(inc.root).as_posix()
    if target in inc.stack:
        raise _err(f'xi:include of "{raw}" makes a cycle (that file is already being read); refused', name,
                   "read.xinclude", line)
    if depth >= MAX_INCLUDE_DEPTH:
        raise _err(f"xi:include nested more than {MAX_INCLUDE_DEPTH} levels deep; refused", name,
                   "read.xinclude", line)
    parse = el.get("parse", "xml")
    if parse == "text":
        enc = el.get("encoding") or "utf-8"
        data = _read_bytes(target, shown, inc)
        try:
            text = data.decode(enc)
        except (LookupError, UnicodeDecodeError) as err:
            raise _err(f'xi:include of "{raw}" as text in {enc}: {err}', name, "read.xinclude",
                       line) from None
        bad = _NOT_XML.search(text)
        if bad:
            ln = text.count("\n", 0, bad.start()) + 1
            raise _err(f'xi:include of "{raw}" as text: line {ln} of that file holds '
                       f"U+{ord(bad.group()):04X}, a character XML does not allow; refused",
                       name, "read.xinclude", line)
        return [text]
    if parse != "xml":
        raise _err(f'xi:include parse="{parse}" is not xml or text', name, "read.xinclude", line)
    inc.stack.append(target)
    try:
        data = _read_bytes(target, shown, inc)
        sub = _parse(data, shown, target)
        _xinclude(sub, target, inc, shown, depth + 1)
    finally:
        inc.stack.pop()
    node = sub.getroot()
    xp = el.get("xpointer")
    if xp:
        m = re.match(r"^(?:element\()?([A-Za-z_][\w.-]*)\)?$", xp.strip())
        if not m:
            raise _err(f'xi:include xpointer="{xp}" is not supported (only an xml:id)', name,
                       "read.xinclude", line)
        found = [e for e in node.iter() if isinstance(e.tag, str) and e.get(XML_ID) == m.group(1)]
        if not found:
            raise _err(f'xi:include xpointer="{xp}": no element with that xml:id in "{raw}"', name,
                       "read.xinclude", line)
        node = found[0]
    node.tail = None
    return [node]


def _replace(el, nodes: list) -> None:
    """Put ``nodes`` (a leading string, then elements) where ``el`` was, keeping its tail."""
    parent = el.getparent()
    text = nodes[0] if nodes and isinstance(nodes[0], str) else ""
    elems = [n for n in nodes if not isinstance(n, str)]
    prev = el.getprevious()
    idx = parent.index(el)
    tail = el.tail or ""
    parent.remove(el)
    if text:
        if prev is not None:
            prev.tail = (prev.tail or "") + text
        else:
            parent.text = (parent.text or "") + text
    for k, n in enumerate(elems):
        parent.insert(idx + k, n)
    if tail:
        if elems:
            elems[-1].tail = (elems[-1].tail or "") + tail
        elif prev is not None:
            prev.tail = (prev.tail or "") + tail
        else:
            parent.text = (parent.text or "") + tail


def is_tei(tree) -> bool:
    root = tree.getroot()
    return root.tag in (f"{{{TEI_NS}}}TEI", f"{{{TEI_NS}}}teiCorpus")
