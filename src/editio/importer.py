"""``editio import``: a witness (plain text, Markdown or Word .docx) -> a TEI skeleton to encode.

A ``.docx`` witness is read with python-docx: its paragraphs, in order (tables, headers and
footnotes are not read), become a plain-text witness written beside the others
(``witnesses/<name>.txt``), which the skeleton then reproduces; paragraphs in a Heading or
Title style become ``head``.  In a Markdown witness (``.md``) the ``#`` heading lines
become ``head``, with their ``#`` kept (the diplomatic view is the file as it stands).
Platform masks (the edition's ``mask_pattern``) are counted and left as they stand:
``editio check`` lists each as a ``mask.unencoded`` warning until an editor encodes it.

Each non-empty line of the witness becomes a ``<p>``; each run of empty lines
becomes ``<space dim="vertical" unit="lines" quantity="n"/>``, so that the
diplomatic view of the skeleton is the witness, character for character.
The editor then refines the structure (head, byline, list, quote, platform
paratext) and adds the editorial markup.
"""
from __future__ import annotations

import datetime as _dt
import os
import re
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from editio.diagnostics import EditioError

TEMPLATE = """<?xml version="1.0" encoding="UTF-8"?>
{models}
<TEI xmlns="http://www.tei-c.org/ns/1.0" xml:id={doc_id} xml:lang="en">
  <teiHeader>
    <fileDesc>
      <titleStmt>
        <title>{title}</title>
        <respStmt>
          <resp>Transcription and encoding</resp>
          <name ref="authority.xml#editio-editors">editio editorial team</name>
        </respStmt>
      </titleStmt>
      <publicationStmt>
        <p>Unpublished draft.</p>
      </publicationStmt>
      <sourceDesc>
        <bibl><ptr target={witness}/>{source_note}</bibl>
      </sourceDesc>
    </fileDesc>
    <revisionDesc>
      <change when="{today}" who="authority.xml#editio-editors">Skeleton imported from the witness by editio import.</change>
    </revisionDesc>
  </teiHeader>
  <text>
    <body>
      <div type={div_type}>
{body}
      </div>
    </body>
  </text>
</TEI>
"""


def skeleton(witness_text: str, doc_id: str, witness_href: str,
             schema_href: str = "../schema/editio.rng", title: str = "", name: str = "",
             rules_href: str | None = None, heads: frozenset = frozenset(),
             div_type: str = "article", source_note: str = "") -> str:
    """The TEI skeleton of ``witness_text``; it names its schema and (``rules_href``) the
    edition's Schematron rules with ``<?xml-model?>``."""
    if "\r" in witness_text:
        k = witness_text.index("\r")
        raise EditioError("witness has CR line ends; convert to LF first", file=name,
                          line=witness_text.count("\n", 0, k) + 1, code="import.crlf")
    out = []
    blank = 0
    started = False   # a head may only open the division (TEI model.divTop)
    for i, line in enumerate(witness_text.split("\n")):
        if line == "":
            blank += 1
            continue
        if blank:
            out.append(f'        <space dim="vertical" unit="lines" quantity="{blank}"/>')
            blank = 0
        if i in heads and not started:
            out.append(f"        <head>{escape(line)}</head>")
        elif i in heads:
            out.append(f'        <p rend="heading">{escape(line)}</p>')
            started = True
        else:
            out.append(f"        <p>{escape(line)}</p>")
            started = True
    if blank:
        out.append(f'        <space dim="vertical" unit="lines" quantity="{blank}"/>')
    first = next((ln for ln in witness_text.split("\n") if ln.strip()), doc_id)
    from editio.scaffold import xml_models
    return TEMPLATE.format(models=xml_models(schema_href, rules_href), doc_id=quoteattr(doc_id),
                           title=escape(title or first[:120]), witness=quoteattr(witness_href),
                           today=_dt.date.today().isoformat(), body="\n".join(out),
                           div_type=quoteattr(div_type),
                           source_note=f"\n          <note>{escape(source_note)}</note>"
                           if source_note else "")




NCNAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


MAX_DOCX_UNPACKED = 64 << 20
"""A .docx whose parts unpack to more than this is refused (a zip bomb)."""
MARKDOWN_HEAD = re.compile(r"^#{1,6}\s")


def _docx_text(raw: bytes, name: str) -> tuple[str, frozenset]:
    """The paragraphs of a Word document as lines, and which lines are headings."""
    import io
    import zipfile
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as z:
            infos = z.infolist()
            if len(infos) > 10000 or sum(i.file_size for i in infos) > MAX_DOCX_UNPACKED:
                raise EditioError("the .docx unpacks to too much (over 64 MiB or 10,000 parts); "
                                  "refused", file=name, code="import.read")
    except zipfile.BadZipFile:
        raise EditioError("not a .docx (not a ZIP package)", file=name, code="import.read") from None
    try:
        import docx
    except ImportError:
        raise EditioError("reading .docx needs python-docx (pip install python-docx)", file=name,
                          code="import.read") from None
    try:
        document = docx.Document(io.BytesIO(raw))
    except Exception as err:  # python-docx raises its own and lxml's errors
        raise EditioError(f"not a readable .docx: {err}", file=name, code="import.read") from None
    lines, heads = [], set()
    for para in document.paragraphs:
        style = (para.style.name if para.style is not None else "") or ""
        if style.startswith(("Heading", "Title")) and para.text.strip():
            heads.add(len(lines))
        lines.append(para.text.replace("\r", "").replace("\x0b", " "))
    while lines and not lines[-1].strip():
        lines.pop()
    return "\n".join(line.rstrip() for line in lines), frozenset(heads)


def import_witness(src: Path, dest: Path, doc_id: str, project_root: Path | None = None,
                   output: Path | None = None, div_type: str = "article",
                   mask_pattern: str = "", notes: list | None = None) -> list[Path]:
    """Write the skeleton of ``src`` to ``dest``; in a new edition also the schema and an
    authority file with the editors, so the skeleton checks cleanly. Returns what was written.

    Every file written passes the gate (inside the project, not hidden, not through a
    symlink, not in the output), and a skeleton ``editio check`` would refuse (too large,
    a character XML does not allow, a diplomatic text that is not the witness) is refused
    before anything is written."""
    from editio import gate
    from editio.read import MAX_BYTES, parse_bytes
    from editio.text import text_of
    name = str(src)
    if not NCNAME.match(doc_id or ""):
        raise EditioError(f"--id {doc_id!r} is not an xml:id (a letter or _, then letters, digits, "
                          "'.', '-', '_'; no '/')", code="import.id")
    kind = src.suffix.lower()
    heads: frozenset = frozenset()
    try:
        raw = gate.open_regular(src, MAX_BYTES)
        if kind == ".docx":
            data, heads = _docx_text(raw, name)
        else:
            data = raw.decode("utf-8")
    except gate.Refused as err:
        raise EditioError(f"cannot read witness: {err.reason}", file=name, code="import.read") from None
    except UnicodeDecodeError as err:
        k = err.start
        raise EditioError(f"witness is not UTF-8 (byte {k})", file=name,
                          line=raw.count(b"\n", 0, k) + 1, code="import.read") from None
    data = data.removeprefix("\ufeff")
    bad = _NOT_XML.search(data)
    if bad:
        k = bad.start()
        line = data.count("\n", 0, k) + 1
        raise EditioError(f"the witness holds U+{ord(bad.group()):04X}, a character XML does not "
                          "allow; remove it first", file=name, line=line,
                          col=k - (data.rfind("\n", 0, k) + 1) + 1, code="import.invalid")
    if kind in (".md", ".markdown"):
        heads = frozenset(i for i, ln in enumerate(data.split("\n")) if MARKDOWN_HEAD.match(ln))
    root = Path(project_root or dest.parent.parent).resolve()

    def target(p: Path) -> Path:
        try:
            return gate.write_target(root, p, output=output)
        except gate.Refused as err:
            raise EditioError(f"will not write here: {err.reason}", file=str(p),
                              code="import.path") from None

    dest = target(dest)
    if dest.exists():
        raise EditioError("destination exists; not overwriting", file=str(dest), code="import.exists")
    schema, authority = root / "schema" / "editio.rng", dest.parent / "authority.xml"
    rules = root / "schema" / "editio.sch"
    schema = schema if schema.exists() else target(schema)    # written only when missing
    rules = rules if rules.exists() else target(rules)
    authority = authority if authority.exists() else target(authority)
    extracted, source_note = None, ""
    if kind == ".docx":  # the text of the Word file becomes the witness the skeleton follows
        extracted = target(root / "witnesses" / f"{src.stem}.txt")
        if extracted.exists():
            if extracted.read_bytes() != data.encode("utf-8"):
                raise EditioError("a witness text of this name exists and differs from the "
                                  "text of the .docx; not overwriting", file=str(extracted),
                                  code="import.exists")
        source_note = (f"The witness text was extracted from {src.name} by editio import "
                       "(its paragraphs, in order).")
    href = Path(_relative(extracted or src, dest.parent)).as_posix()
    schema_href = Path(_relative(schema, dest.parent)).as_posix()
    rules_href = Path(_relative(rules, dest.parent)).as_posix()
    text = skeleton(data, doc_id, href, schema_href=schema_href, name=name, rules_href=rules_href,
                    heads=heads, div_type=div_type, source_note=source_note)
    encoded = text.encode("utf-8")
    try:  # what check would refuse is refused now, before anything is written
        tree = parse_bytes(encoded, str(dest))
    except EditioError as err:
        raise EditioError(f"the skeleton would not be readable TEI: {err.diagnostic.message}",
                          file=name, code="import.invalid") from None
    if text_of(tree.getroot(), "diplomatic") != data:
        raise EditioError("the skeleton's diplomatic text would differ from the witness (white "
                          "space at line ends?); nothing written", file=name, code="import.invalid")
    written = []
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        if not schema.exists():
            from editio.resources import SCHEMA
            schema.parent.mkdir(parents=True, exist_ok=True)
            _create(schema, SCHEMA.read_bytes())
            written.append(schema)
        if not rules.exists():
            from editio.resources import SCHEMATRON
            _create(rules, SCHEMATRON.read_bytes())
            written.append(rules)
        if not authority.exists():
            from editio.scaffold import authority_xml, xml_models
            _create(authority, authority_xml(xml_models(schema_href, rules_href)))
            written.append(authority)
        if extracted is not None and not extracted.exists():
            extracted.parent.mkdir(parents=True, exist_ok=True)
            _create(extracted, data.encode("utf-8"))
            written.append(extracted)
        _create(dest, encoded)
    except OSError as err:
        raise EditioError(f"cannot write: {err.strerror}", file=str(err.filename or dest),
                          code="import.write") from None
    written.append(dest)
    if mask_pattern and notes is not None:
        found = [data.count("\n", 0, m.start()) + 1 for m in re.finditer(mask_pattern, data)]
        if found:
            lines = ", ".join(map(str, sorted(set(found))[:10])) + (" …" if len(set(found)) > 10
                                                                   else "")
            notes.append(f"{len(found)} platform mask(s) left to decide (witness line(s) {lines}): "
                         "`editio check` lists each as a mask.unencoded warning until it is "
                         "encoded (docs/encoding.md, Redactions)")
    return written


def _create(path: Path, data: bytes) -> None:
    """Write a new file: never through a symlink, never over an existing file."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def _relative(path: Path, start: Path) -> str:
    import os
    return os.path.relpath(Path(path).resolve(), Path(start).resolve())
