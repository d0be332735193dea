"""``editio new DIR``: a working edition in one command.

Writes ``editio.toml``, ``tei/`` with one sample document and the authority file, the
witness of the sample, the schema (RELAX NG) and the edition rules (Schematron), empty
``styles/`` and ``templates/html|print/`` override folders with a README each, VS Code
settings and an oXygen project file.  The result builds and passes ``editio check
--strict`` at once.

It never overwrites: every file is planned first, and if any of them exists (or cannot be
written: a symlink, a folder of that name), nothing is written and the first one is reported
as a located ``new.exists`` / ``new.path`` error.  With ``--profile NAME`` the settings name
that profile and the sample document follows its conventions (a FRUS volume: one file,
``div[@type='document']`` per document, footnotes in place).
"""
from __future__ import annotations

import datetime as _dt
import json
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

from editio.diagnostics import EditioError

RNG_PI = ('<?xml-model href="{rng}" type="application/xml" '
          'schematypens="http://relaxng.org/ns/structure/1.0"?>')
SCH_PI = ('<?xml-model href="{sch}" type="application/xml" '
          'schematypens="http://purl.oclc.org/dsdl/schematron"?>')


def xml_models(rng: str, sch: str | None) -> str:
    """The ``<?xml-model?>`` lines a TEI file of an edition carries (schema, then rules)."""
    out = RNG_PI.format(rng=rng)
    if sch:
        out += "\n" + SCH_PI.format(sch=sch)
    return out


# ---------------------------------------------------------------- the default sample
WITNESS = """Minutes of the meeting of 3 May 1921

The committee met in the town hall at seven o'clock. The secretary, ** Smith, read the minutes of the last meeting, held on 12 Apirl, which were approved."""
# (no line end after the last line: the diplomatic view of the sample is the witness exactly)

SAMPLE = """<?xml version="1.0" encoding="UTF-8"?>
{models}
<TEI xmlns="http://www.tei-c.org/ns/1.0" xml:id="d001" xml:lang="{lang}">
  <teiHeader>
    <fileDesc>
      <titleStmt>
        <title>Minutes of the meeting of 3 May 1921 (sample document)</title>
        <respStmt>
          <resp>Transcription and encoding</resp>
          <name ref="authority.xml#editio-editors">{editors}</name>
        </respStmt>
      </titleStmt>
      <publicationStmt>
        <p>Unpublished draft.</p>
      </publicationStmt>
      <sourceDesc>
        <bibl><title type="desc">Sample witness: replace it with your own source</title>
          <ptr target="../witnesses/d001.txt"/></bibl>
      </sourceDesc>
    </fileDesc>
    <revisionDesc>
      <change when="{today}" who="authority.xml#editio-editors">Sample document written by editio new.</change>
    </revisionDesc>
  </teiHeader>
  <text>
    <body>
      <div type="article">
        <head>Minutes of the meeting of <date when="1921-05-03">3 May 1921</date></head>
        <space dim="vertical" unit="lines" quantity="1"/>
        <p>The committee met in the <placeName ref="authority.xml#town-hall">town hall</placeName> at seven o'clock. The secretary, <persName ref="authority.xml#jane-smith"><choice xml:id="d001-m01"><orig>**</orig><supplied reason="masked" cert="medium" resp="authority.xml#editio-editors">Jane</supplied></choice> Smith</persName>, read the minutes of the last meeting, held on <date when="1921-04-12">12 <choice xml:id="d001-e01"><sic>Apirl</sic><corr type="typographic" cert="high" resp="authority.xml#editio-editors">April</corr></choice></date>, which were approved.</p>
      </div>
    </body>
    <back>
      <div type="editorial-notes">
        <note type="redaction" target="#d001-m01">The first name is masked in the witness; the committee had one secretary named Smith in 1921, Jane Smith (an example of a note giving the evidence for a restoration).</note>
        <note type="error" subtype="typographic" target="#d001-e01">A typing slip for "April".</note>
      </div>
    </back>
  </text>
</TEI>
"""

AUTHORITY = """<?xml version="1.0" encoding="UTF-8"?>
{models}
<TEI xmlns="http://www.tei-c.org/ns/1.0" xml:id="authority" xml:lang="{lang}">
  <teiHeader>
    <fileDesc>
      <titleStmt><title>Authority lists of the edition</title></titleStmt>
      <publicationStmt><p>Unpublished draft.</p></publicationStmt>
      <sourceDesc><p>Born digital.</p></sourceDesc>
    </fileDesc>
  </teiHeader>
  <standOff>
    <listPerson type="editors">
      <person xml:id="editio-editors"><persName>{editors}</persName></person>
    </listPerson>{lists}
  </standOff>
</TEI>
"""

SAMPLE_LISTS = """
    <listPerson>
      <person xml:id="jane-smith"><persName type="standard">Jane Smith</persName></person>
    </listPerson>
    <listPlace>
      <place xml:id="town-hall"><placeName type="standard">Town hall</placeName></place>
    </listPlace>"""
"""The sample document's person and place (the FRUS sample and an import name none)."""


def authority_xml(models: str, lang: str = "en", editors: str = "editio editorial team",
                  lists: str = "") -> bytes:
    """A new edition's authority file: the editors (whom ``@resp`` names) and ``lists``."""
    return AUTHORITY.format(models=models, lang=lang, editors=editors, lists=lists).encode()

# ---------------------------------------------------------------- the FRUS-style sample
FRUS_SAMPLE = """<?xml version="1.0" encoding="UTF-8"?>
{models}
<TEI xmlns="http://www.tei-c.org/ns/1.0" xml:id="volume" xml:lang="{lang}">
  <teiHeader>
    <fileDesc>
      <titleStmt>
        <title type="complete">{title}</title>
        <editor role="primary"><persName ref="authority.xml#editio-editors">{editors}</persName></editor>
      </titleStmt>
      <publicationStmt>
        <p>Unpublished draft.</p>
      </publicationStmt>
      <sourceDesc><p>Born digital (sample volume written by editio new).</p></sourceDesc>
    </fileDesc>
  </teiHeader>
  <text>
    <body>
      <div type="compilation" xml:id="comp1">
        <head>Sample chapter</head>
        <div type="document" xml:id="d1" n="1">
          <head>1. Memorandum From the Secretary of State to the President<note n="1" type="source">Source: sample archive, file 1. Secret. Replace this sample document with the first document of your volume.</note></head>
          <dateline><placeName>Washington</placeName>, <date when="1961-01-20">January 20, 1961</date>.</dateline>
          <p>This is the text of the first document. A document is one <code>div type="document"</code> with its number in <code>@n</code>, its heading, its dateline and its source note.<note n="2">A footnote keeps the number it has in the printed volume.</note></p>
          <closer><signed><persName ref="authority.xml#editio-editors">The Secretary</persName></signed></closer>
        </div>
      </div>
    </body>
  </text>
</TEI>
"""

TOML = """# The edition's settings: every key is explained in README.md ("The command line") and
# src/editio/config.py.  `editio check` checks the TEI, `editio build` writes build/,
# `editio serve --watch` shows the site and rebuilds it on every save.
{profile}title = {title}
editors = [{editors}]
publisher = ""
licence = "CC BY 4.0"
language = "{lang}"
date = "{year}"
description = "A new edition made with editio."
input = "tei"
output = "build"
schema = "schema/editio.rng"
{masks}"""

MASKS = """# What a platform mask (a redaction placeholder) looks like in the witnesses: `editio check`
# warns about every one not yet encoded (mask.unencoded), `editio import` counts them.
# "" if the witnesses have none.
mask_pattern = "\\\\*{2,3}"
"""

STYLES_README = """# Style overrides

Files placed here replace editio's own styles of the same name, one by one:

* `web.css`: the stylesheet of the site (copy editio's `styles/web.css` and change it);
* `print.css`: the stylesheet of the PDF book;
* `fonts/` with `fonts.css`: the fonts of the site and the book.

A file that is not here is taken from editio.  This README is ignored.
"""

TEMPLATES_README = """# {kind} template overrides

A Jinja2 template placed here replaces editio's template of the same name in
`src/editio/templates/{kind}/` (copy it from there, then change it): {what}.
Templates not here are editio's own.  Templates escape TEI text automatically;
do not mark it `|safe`.  This README is ignored.
"""

VSCODE_EXTENSIONS = {
    "recommendations": ["redhat.vscode-xml", "raffazizzi.sxml"],
}

XPR = """<?xml version="1.0" encoding="UTF-8"?>
<!-- oXygen XML Editor project of the edition: open it with Project > Open Project.
     The TEI files name their schema (RELAX NG) and their rules (Schematron) with
     xml-model processing instructions, so oXygen validates with both while you type. -->
<project version="25.1">
    <meta>
        <filters directoryPatterns="build" filePatterns="" positiveFilePatterns="" showHiddenFiles="false"/>
        <options/>
    </meta>
    <projectTree name="{name}">
        <folder path="tei/"/>
        <folder path="schema/"/>
        <folder path="witnesses/"/>
        <folder path="styles/"/>
        <folder path="templates/"/>
        <file path="editio.toml"/>
    </projectTree>
</project>
"""


@dataclass(frozen=True)
class Plan:
    path: Path     # absolute
    rel: str       # relative to the edition, for messages
    data: bytes


def _vscode_settings(rng: str, sch: str | None) -> str:
    settings = {
        "xml.fileAssociations": [
            {"pattern": "tei/**/*.xml", "systemId": "${workspaceFolder}/" + rng},
        ],
        "xml.validation.enabled": True,
        "xml.validation.schema.enabled": "always",
        "xml.validation.noGrammar": "hint",
        "xml.validation.resolveExternalEntities": False,
        "xml.symbols.showReferencedGrammars": True,
        "files.associations": {"*.rng": "xml", "*.sch": "xml", "*.xpr": "xml"},
        "files.watcherExclude": {"**/build/**": True},
    }
    if sch:
        # the Red Hat XML extension validates RELAX NG only; the Schematron rules are run by
        # the Scholarly XML extension (raffazizzi.sxml) from the files' xml-model PI
        settings["sxml.schematronSupport"] = True
    return json.dumps(settings, indent=2) + "\n"


def plan(dest: Path, profile: str | None = None, title: str = "",
         editors: str = "", language: str = "en") -> list[Plan]:
    """Every file ``editio new`` writes, with its content."""
    from editio.resources import SCHEMA, SCHEMATRON
    dest = Path(dest)
    title = title or _title_of(dest)
    editors = editors or "The editors"
    today = _dt.date.today()
    rng, sch = "schema/editio.rng", "schema/editio.sch" if SCHEMATRON.is_file() else None
    models = xml_models("../" + rng, "../" + sch if sch else None)
    fmt = dict(models=models, lang=language, editors=escape(editors), title=escape(title),
               today=today.isoformat())
    files: list[tuple[str, bytes]] = [
        ("editio.toml", TOML.format(
            profile=f"profile = {_toml_str(profile)}\n" if profile else "",
            title=_toml_str(title), editors=_toml_str(editors), lang=language,
            year=today.year, masks="" if _is_volume_profile(profile) else MASKS).encode()),
    ]
    if _is_volume_profile(profile):
        files += [("tei/volume.xml", FRUS_SAMPLE.format(**fmt).encode()),
                  ("tei/authority.xml", authority_xml(models, language, escape(editors)))]
    else:
        files += [("tei/d001.xml", SAMPLE.format(**fmt).encode()),
                  ("tei/authority.xml", authority_xml(models, language, escape(editors),
                                                   SAMPLE_LISTS)),
                  ("witnesses/d001.txt", WITNESS.encode())]
    files += [(rng, SCHEMA.read_bytes())]
    if sch:
        files += [(sch, SCHEMATRON.read_bytes())]
    files += [
        ("styles/README.md", STYLES_README.encode()),
        ("templates/html/README.md", TEMPLATES_README.format(
            kind="html", what="`base.html` (every page), `document.html`, `index.html`, "
                               "`register.html` …").encode()),
        ("templates/print/README.md", TEMPLATES_README.format(
            kind="print", what="`part.html` (around every part of the book), "
                                "`front.html`, `chapters.html`, `concordance.html`, `index.html`, "
                                "`redactions.html`, `folio.html`").encode()),
        (".vscode/settings.json", _vscode_settings(rng, sch).encode()),
        (".vscode/extensions.json", (json.dumps(VSCODE_EXTENSIONS, indent=2) + "\n").encode()),
        ("edition.xpr", XPR.format(name="edition.xpr").encode()),
        (".gitignore", b"build/\n.editio-cache/\n"),
    ]
    return [Plan(dest / rel, rel, data) for rel, data in files]


def _is_volume_profile(profile: str | None) -> bool:
    """A profile whose editions are volumes with ``div[@type='document']`` units."""
    if not profile:
        return False
    try:
        from editio.profile import PROFILES
    except ImportError:
        return profile == "frus"
    toml = PROFILES / profile / "profile.toml"
    try:
        return "div[@type='document']" in toml.read_text("utf-8")
    except OSError:
        return False


def _toml_str(s: str) -> str:
    return json.dumps(s, ensure_ascii=False)  # a JSON string is a TOML basic string


def _title_of(dest: Path) -> str:
    name = re.sub(r"[-_]+", " ", Path(dest).resolve().name).strip()
    return name[:1].upper() + name[1:] if name else "Untitled edition"


def _known_profiles() -> list[str] | None:
    try:
        from editio.profile import shipped
    except ImportError:
        return None
    return shipped()


def new_edition(dest: Path, profile: str | None = None, title: str = "", editors: str = "",
                language: str = "en") -> list[Plan]:
    """Write a new edition into ``dest`` (created if missing; it may hold other files, but
    none that editio new writes).  All or nothing: returns what was written."""
    dest = Path(dest)
    shown = str(dest)
    if profile is not None:
        known = _known_profiles()
        if known is not None and profile not in known:
            raise EditioError(f"--profile {profile!r} is not a shipped profile "
                              f"(known: {', '.join(known)})", code="new.profile")
        if not re.fullmatch(r"[A-Za-z0-9_-]+", profile):
            raise EditioError(f"--profile {profile!r} is not a profile name", code="new.profile")
    from editio.config import LANGUAGE
    if not LANGUAGE.match(language):
        raise EditioError(f"--language {language!r} is not a language tag such as \"en\"",
                          code="new.language")
    try:
        st = os.lstat(dest)
    except FileNotFoundError:
        st = None
    except OSError as err:
        raise EditioError(f"cannot use: {err.strerror}", file=shown, code="new.path") from None
    if st is not None and stat.S_ISLNK(st.st_mode):
        raise EditioError("is a symlink; give the folder itself", file=shown, code="new.path")
    if st is not None and not stat.S_ISDIR(st.st_mode):
        raise EditioError("exists and is not a folder", file=shown, code="new.path")
    files = plan(dest, profile, title, editors, language)
    for f in files:  # everything is checked before anything is written
        _check_target(dest, f)
    written = []
    try:
        for f in files:
            _mkdirs(dest, f.path.parent)
            _create(f.path, f.data)
            written.append(f)
    except OSError as err:
        raise EditioError(f"cannot write: {err.strerror}"
                          + (f" ({len(written)} file(s) already written)" if written else ""),
                          file=str(err.filename or dest), code="new.write") from None
    return written


def _check_target(dest: Path, f: Plan) -> None:
    """``f`` may be created: it does not exist (not even as a dangling symlink), and no folder
    on the way is a symlink or something other than a folder."""
    here = dest
    for part in Path(f.rel).parts[:-1]:
        here = here / part
        try:
            st = os.lstat(here)
        except FileNotFoundError:
            break
        if stat.S_ISLNK(st.st_mode) or not stat.S_ISDIR(st.st_mode):
            raise EditioError("exists and is not a folder (or is a symlink); nothing written",
                              file=str(here), code="new.path")
    if os.path.lexists(f.path):
        raise EditioError("exists; editio new never overwrites a file, nothing written",
                          file=str(f.path), code="new.exists")


def _mkdirs(dest: Path, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    if folder.is_symlink():  # raced in between check and write
        raise OSError(40, "a symlink appeared", str(folder))


def _create(path: Path, data: bytes) -> None:
    """A new file: never through a symlink, never over an existing file."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
