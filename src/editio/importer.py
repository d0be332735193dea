"""``editio import``: a plain-text witness -> a TEI skeleton to encode.

Each non-empty line of the witness becomes a ``<p>``; each run of empty lines
becomes ``<space dim="vertical" unit="lines" quantity="n"/>``, so that the
diplomatic view of the skeleton is the witness, character for character.
The editor then refines the structure (head, byline, list, quote, platform
paratext) and adds the editorial markup.
"""
from __future__ import annotations

import datetime as _dt
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from editio.diagnostics import EditioError

TEMPLATE = """<?xml version="1.0" encoding="UTF-8"?>
<?xml-model href="{schema}" type="application/xml" schematypens="http://relaxng.org/ns/structure/1.0"?>
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
        <bibl><ptr target={witness}/></bibl>
      </sourceDesc>
    </fileDesc>
    <revisionDesc>
      <change when="{today}" who="authority.xml#editio-editors">Skeleton imported from the witness by editio import.</change>
    </revisionDesc>
  </teiHeader>
  <text>
    <body>
      <div type="article">
{body}
      </div>
    </body>
  </text>
</TEI>
"""


def skeleton(witness_text: str, doc_id: str, witness_href: str,
             schema_href: str = "../schema/editio.rng", title: str = "") -> str:
    if "\r" in witness_text:
        raise EditioError("witness has CR line ends; convert to LF first", code="import.crlf")
    out = []
    blank = 0
    for line in witness_text.split("\n"):
        if line == "":
            blank += 1
            continue
        if blank:
            out.append(f'        <space dim="vertical" unit="lines" quantity="{blank}"/>')
            blank = 0
        out.append(f"        <p>{escape(line)}</p>")
    if blank:
        out.append(f'        <space dim="vertical" unit="lines" quantity="{blank}"/>')
    first = next((ln for ln in witness_text.split("\n") if ln.strip()), doc_id)
    return TEMPLATE.format(schema=schema_href, doc_id=quoteattr(doc_id),
                           title=escape(title or first[:120]), witness=quoteattr(witness_href),
                           today=_dt.date.today().isoformat(), body="\n".join(out))


AUTHORITY = """<?xml version="1.0" encoding="UTF-8"?>
<?xml-model href="{schema}" type="application/xml" schematypens="http://relaxng.org/ns/structure/1.0"?>
<TEI xmlns="http://www.tei-c.org/ns/1.0" xml:id="authority" xml:lang="en">
  <teiHeader>
    <fileDesc>
      <titleStmt><title>Authority lists of the edition</title></titleStmt>
      <publicationStmt><p>Unpublished draft.</p></publicationStmt>
      <sourceDesc><p>Born digital.</p></sourceDesc>
    </fileDesc>
  </teiHeader>
  <standOff>
    <listPerson type="editors">
      <person xml:id="editio-editors"><persName>editio editorial team</persName></person>
    </listPerson>
  </standOff>
</TEI>
"""


def import_witness(src: Path, dest: Path, doc_id: str, project_root: Path | None = None) -> list[Path]:
    """Write the skeleton of ``src`` to ``dest``; in a new edition also the schema and an
    authority file with the editors, so the skeleton checks cleanly. Returns what was written."""
    try:
        data = src.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise EditioError(f"cannot read witness: {err}", file=str(src), code="import.read") from None
    if dest.exists():
        raise EditioError("destination exists; not overwriting", file=str(dest), code="import.exists")
    href = Path(_relative(src, dest.parent)).as_posix()
    written = []
    dest.parent.mkdir(parents=True, exist_ok=True)
    root = Path(project_root or dest.parent.parent)
    schema = root / "schema" / "editio.rng"
    schema_href = Path(_relative(schema, dest.parent)).as_posix()
    if not schema.exists():
        from editio.resources import SCHEMA
        schema.parent.mkdir(parents=True, exist_ok=True)
        schema.write_bytes(SCHEMA.read_bytes())
        written.append(schema)
    authority = dest.parent / "authority.xml"
    if not authority.exists():
        authority.write_text(AUTHORITY.format(schema=schema_href), encoding="utf-8")
        written.append(authority)
    dest.write_text(skeleton(data, doc_id, href, schema_href=schema_href), encoding="utf-8")
    written.append(dest)
    return written


def _relative(path: Path, start: Path) -> str:
    import os
    return os.path.relpath(Path(path).resolve(), Path(start).resolve())
