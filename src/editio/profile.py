"""Edition profiles: an edition's conventions as data (TOML), not code.

A profile says what makes a page (the *unit*), how elements behave beyond the
package defaults, where the glossaries are, what pointers to other editions
look like, what a platform mask or a redaction looks like, and the words and
signs a reader sees.  Shipped profiles live in ``editio/profiles/<name>/``
(``profile.toml``, optional ``templates/html|print/``); an edition names one in
``editio.toml`` (``profile = "frus"`` or ``profile = "profile.toml"``, a path in
the project) or with ``--profile NAME`` on the command line, and may overlay any
of the profile's tables in ``editio.toml`` itself (``[unit]``, ``[labels]`` …).
A profile ``extends`` another (``default`` when it says nothing): tables are
merged key by key, arrays of tables (``[[behaviours]]``) are appended.

Keys (``docs/profiles.md`` gives each with an example)::

    name, extends, description
    principles = "…"            # editorial principles, paragraphs separated by a blank line
    mask_pattern = "\\*{2,3}"    # a platform mask in the witnesses; "" = none
    [namespaces]                # prefix -> URI, or a list of URIs treated alike
    [[units]]                   # what makes a page: xpath, id, number, label, kind, title
    [notes]  number = "@n"      # note numbers from the TEI instead of counting
             silent = ["spacing"]  # regularisations made without a call or note ([] = none)
    [[behaviours]]              # element (+ predicate, output) -> behaviour overrides
    [[glossaries]]              # persons/terms lists: entries, page, label, kind
    [pointers]                  # backlinks, [[pointers.external]] pattern -> url
    [labels]                    # kinds, types, document ("Doc. {n}"), …
    [[signs]]                   # the key to the signs (sample HTML, meaning, kinds, view)
    [check]  correction_types = [...]
             severity = { "ref.missing" = "warning" }   # a rule's severity for this edition
    [redactions]                # carried through untouched (editio.redactions reads it)
    [policy]                    # the editorial policy on errors (editio.rules.policy reads it)

The profile is loaded once per run into a frozen :class:`Profile`; nothing is
kept at module level.  Unknown keys are reported (``config.unknown``) with the
file and line where they stand.
"""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from editio import TEI_NS
from editio.diagnostics import Diagnostic, EditioError

PROFILES = Path(__file__).resolve().parent / "profiles"
BASE = "default"

# every key a profile may hold: table -> keys (None: free-form table)
TOP_KEYS = {"name", "extends", "description", "principles", "mask_pattern", "namespaces", "units",
            "notes", "behaviours", "glossaries", "pointers", "labels", "signs", "check",
            "redactions", "page_images", "images", "schema", "policy"}
TABLE_KEYS = {
    "units": {"xpath", "id", "number", "label", "kind", "title", "exclude"},
    "notes": {"number", "silent"},
    "behaviours": {"element", "predicate", "behaviour", "layout", "tag", "output", "params"},
    "glossaries": {"name", "entries", "page", "label", "kind", "description", "heading", "see"},
    "pointers": {"backlinks", "external"},
    "pointers.external": {"pattern", "url", "label", "print_url"},
    "labels": None,
    "signs": {"sample", "meaning", "kinds", "view"},
    "check": {"correction_types", "severity"},
    "redactions": None,
    "namespaces": None,
    "page_images": {"report"},
    "images": {"report"},
    "policy": {"emend", "annotate", "cite", "cite_exempt"},
}
LAYOUTS = ("container", "line", "inline", "space", "omit")


@dataclass(frozen=True)
class Unit:
    """One kind of page unit: every element ``xpath`` selects is a page."""
    xpath: str = ""                # "" : one TEI file is one unit
    id: str = ""                   # XPath (string) for the page name, e.g. "@xml:id"
    number: str = ""               # XPath (string) for the reader's number, e.g. "@n"
    label: str = "Doc. {number}"   # the reader's label: {number} {n} {title} {id}
    kind: str = "document"         # document | section (the contents page groups by it)
    title: str = ""                # XPath of the element holding the title (e.g. "tei:head")
    exclude: str = ""              # XPath predicate: matching elements are not units


@dataclass(frozen=True)
class Glossary:
    name: str                      # persons | terms | …
    entries: str                   # XPath (from the document root) of the entries (with xml:id)
    page: str                      # the site page that lists them
    label: str                     # "Persons", "Abbreviations"
    kind: str = "term"             # person | term
    description: str = ""          # XPath (from the entry) of the element that explains it
    heading: str = ""              # the page's lead sentence
    see: str = "see"               # regex of the word(s) opening a cross-reference entry


@dataclass(frozen=True)
class ExternalPointer:
    pattern: str                   # a regex with named groups, matched on the whole pointer
    url: str                       # a template with the group names: "…/{volume}/{id}"
    label: str = ""
    print_url: bool = True         # false: the book prints the pointer's text only (it names the volume)


@dataclass(frozen=True)
class Profile:
    name: str = BASE
    description: str = ""
    chain: tuple[str, ...] = ()                     # names/paths from the base to this one
    principles: str = ""
    mask_pattern: str = ""
    namespaces: dict = field(default_factory=dict, hash=False, compare=False)   # prefix -> [uri]
    units: tuple[Unit, ...] = ()
    note_number: str = ""
    silent: tuple[str, ...] = ("spacing",)          # kinds of silent regularisation (SILENT)
    behaviours: tuple[dict, ...] = ()
    glossaries: tuple[Glossary, ...] = ()
    backlinks: bool = True
    external: tuple[ExternalPointer, ...] = ()
    labels: dict = field(default_factory=dict, hash=False, compare=False)
    signs: tuple[dict, ...] = ()
    correction_types: tuple[str, ...] = ()
    severity: dict = field(default_factory=dict, hash=False, compare=False)  # code -> severity
    redactions: dict = field(default_factory=dict, hash=False, compare=False)
    policy: dict = field(default_factory=dict, hash=False, compare=False)
    page_images: str = "summary"                    # summary | each
    images: str = "summary"                         # summary | each (graphic/@url)
    schema: Path | None = None                      # RELAX NG for files that name none
    template_dirs: tuple[Path, ...] = ()            # profile templates, most specific first
    diagnostics: tuple[Diagnostic, ...] = ()        # warnings found while loading

    # ---- helpers the pipeline uses
    @property
    def unit(self) -> str:
        """The XPath of the profile's documents (its first unit of kind "document"), "" when
        a TEI file is the unit: what editio.redactions counts per document."""
        for u in self.units:
            if u.xpath and u.kind == "document":
                return u.xpath
        return ""

    def xpath_namespaces(self) -> dict:
        """Prefixes for the profile's XPath expressions: ``tei`` and the first URI of each
        prefix of ``[namespaces]``."""
        ns = {"tei": TEI_NS}
        for p, uris in self.namespaces.items():
            if uris:
                ns[p] = uris[0]
        return ns

    def prefix_of(self, uri: str) -> str | None:
        """The profile's prefix for a namespace URI (any of the URIs treated alike)."""
        for p, uris in self.namespaces.items():
            if uri in uris:
                return p
        return None

    def label(self, group: str, key: str, default: str) -> str:
        table = self.labels.get(group)
        if isinstance(table, dict) and isinstance(table.get(key), str):
            return table[key]
        return default

    def text(self, key: str, default: str = "") -> str:
        v = self.labels.get(key)
        return v if isinstance(v, str) else default


# ---------------------------------------------------------------- loading
def find(ref: str, root: Path) -> Path:
    """The profile.toml of a shipped profile name or of a path inside the project."""
    if re.fullmatch(r"[A-Za-z0-9_-]+", ref) and (PROFILES / ref / "profile.toml").is_file():
        return PROFILES / ref / "profile.toml"
    p = (root / ref)
    if p.is_dir():
        p = p / "profile.toml"
    try:
        p = p.resolve()
        p.relative_to(root.resolve())
    except (OSError, ValueError):
        raise EditioError(f'profile "{ref}" must be a shipped profile ({", ".join(shipped())}) or a '
                          "file inside the project", file="editio.toml", code="config.profile") from None
    if not p.is_file():
        raise EditioError(f'no profile "{ref}": not a shipped profile ({", ".join(shipped())}) and no '
                          f"file {ref} in the project", file="editio.toml", code="config.profile")
    return p


def shipped() -> list[str]:
    return sorted(p.parent.name for p in PROFILES.glob("*/profile.toml"))


def _read(path: Path, display: str) -> dict:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as err:
        raise EditioError(f"invalid TOML: {getattr(err, 'msg', err)}", file=display,
                          line=getattr(err, "lineno", 0) or 0, col=getattr(err, "colno", 0) or 0,
                          code="config.syntax") from None
    except (OSError, UnicodeDecodeError) as err:
        raise EditioError(f"cannot read the profile: {err}", file=display, code="config.profile") from None


def _display(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        try:
            return "editio/profiles/" + path.resolve().relative_to(PROFILES).as_posix()
        except ValueError:
            return str(path)


def _line_of(path: Path, key: str) -> int:
    try:
        for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if re.match(r"\s*(\[\[?\s*)?" + re.escape(key) + r"\b", line) or \
                    re.match(r"\s*\[\[?\s*[\w.]*\." + re.escape(key) + r"\s*\]", line):
                return i
    except OSError:
        pass
    return 0


def _unknown(data: dict, path: Path, display: str, out: list, overlay: bool = False) -> None:
    """Report keys the profile format does not know (``config.unknown``)."""
    def warn(key, where):
        out.append(Diagnostic(display, _line_of(path, key), 1, "warning", "config.unknown",
                              f"unknown profile key '{key}'{where}; ignored"))
    for k, v in data.items():
        if k not in TOP_KEYS:
            if not overlay:
                warn(k, "")
            continue
        allowed = TABLE_KEYS.get(k)
        if allowed is None:
            continue
        rows = v if isinstance(v, list) else [v]
        for row in rows:
            if not isinstance(row, dict):
                continue
            for kk, vv in row.items():
                if kk not in allowed:
                    warn(kk, f" in [{k}]")
                elif k == "pointers" and kk == "external" and isinstance(vv, list):
                    for ext in vv:
                        for k3 in (ext if isinstance(ext, dict) else {}):
                            if k3 not in TABLE_KEYS["pointers.external"]:
                                warn(k3, " in [[pointers.external]]")


def merge(base: dict, over: dict) -> dict:
    """Tables merge key by key; ``[[behaviours]]`` rows append (later rows win); anything
    else (``[[signs]]``, ``[[glossaries]]``, ``[[units]]``, strings) replaces."""
    out = dict(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict) and "replace" not in v:
            out[k] = merge(out[k], v)
        elif isinstance(v, dict) and set(v) == {"replace"}:
            out[k] = v["replace"]
        elif isinstance(v, list) and isinstance(out.get(k), list) and v and isinstance(v[0], dict) \
                and k == "behaviours":
            out[k] = out[k] + v
        else:
            out[k] = v
    return out


def load(ref: str | None, root: Path, overlay: dict | None = None) -> Profile:
    """The profile ``ref`` (a shipped name or a path in the project; None: ``default``), with
    its ``extends`` chain and the edition's ``overlay`` (the profile tables of editio.toml)."""
    root = Path(root)
    diags: list[Diagnostic] = []
    chain: list[tuple[Path, dict]] = []
    seen: set[Path] = set()
    cur = find(ref or BASE, root)
    while True:
        if cur in seen:
            raise EditioError(f"profile {_display(cur, root)} extends itself (a loop of 'extends')",
                              file=_display(cur, root), code="config.profile")
        seen.add(cur)
        disp = _display(cur, root)
        data = _read(cur, disp)
        _unknown(data, cur, disp, diags)
        chain.append((cur, data))
        parent = data.get("extends")
        if parent is None and cur != find(BASE, root):
            parent = BASE
        if parent is None:
            break
        if not isinstance(parent, str):
            raise EditioError("'extends' must be a profile name or path", file=disp, code="config.type")
        base_dir = cur.parent
        if (base_dir / parent).is_file() and PROFILES not in cur.parents:
            cur = (base_dir / parent).resolve()
        else:
            cur = find(parent, root)
    merged: dict = {}
    dirs: list[Path] = []
    origins: dict = {}          # top-level key -> (file shown, path) that last set it
    for path, data in reversed(chain):
        merged = merge(merged, {k: v for k, v in data.items() if k != "extends"})
        for k in data:
            origins[k] = (_display(path, root), path)
    for path, _ in chain:
        if (path.parent / "templates").is_dir() and path.parent.resolve() != root.resolve():
            dirs.append(path.parent / "templates")
    if overlay:
        _unknown(overlay, root / "editio.toml", "editio.toml", diags, overlay=True)
        merged = merge(merged, {k: v for k, v in overlay.items() if k in TOP_KEYS - {"name", "extends"}})
        for k in overlay:
            if k in TOP_KEYS:
                origins[k] = ("editio.toml", root / "editio.toml")
    return _build(merged, chain, root, dirs, diags, origins)


def _build(d: dict, chain, root: Path, dirs, diags, origins=None) -> Profile:
    where = _display(chain[0][0], root)
    origins = origins or {}

    def typed(v, t, key):
        if not isinstance(v, t):
            disp, path = origins.get(key.split(".")[0], (where, chain[0][0]))
            raise EditioError(f"profile key '{key}' has the wrong type (expected "
                              f"{'a table' if t is dict else 'an array of tables' if t is list else 'true or false' if t is bool else 'a string'})",
                              file=disp, line=_line_of(path, key.split(".")[-1]), code="config.type")
        return v

    ns = {}
    for p, uris in typed(d.get("namespaces", {}), dict, "namespaces").items():
        ns[p] = [uris] if isinstance(uris, str) else list(typed(uris, list, f"namespaces.{p}"))
    units = []
    for u in typed(d.get("units", []), list, "units"):
        u = typed(u, dict, "units")
        units.append(Unit(**{k: str(v) for k, v in u.items() if k in TABLE_KEYS["units"]}))
    pxns = {"tei": TEI_NS, **{p: v[0] for p, v in ns.items() if v}}
    for u in units:
        for key in ("xpath", "id", "number", "title"):
            _xpath_ok(getattr(u, key), pxns, where, chain, key)
        if u.exclude:
            _xpath_ok(f"self::*[{u.exclude}]", pxns, where, chain, "exclude")
    behaviours = []
    for b in typed(d.get("behaviours", []), list, "behaviours"):
        b = typed(b, dict, "behaviours")
        if not isinstance(b.get("element"), str) or not isinstance(b.get("behaviour"), str):
            raise EditioError("each [[behaviours]] row needs 'element' and 'behaviour'", file=where,
                              line=_line_of(chain[0][0], "behaviours"), code="config.type")
        if b.get("layout") and b["layout"] not in LAYOUTS:
            raise EditioError(f"behaviour layout '{b['layout']}' is not one of {', '.join(LAYOUTS)}",
                              file=where, line=_line_of(chain[0][0], "layout"), code="config.type")
        if b.get("predicate"):
            _xpath_ok(f"self::*[{b['predicate']}]", pxns, where, chain, "predicate")
        out = b.get("output")
        if isinstance(out, str):
            b = {**b, "output": [out]}
        behaviours.append(b)
    glossaries = []
    for g in typed(d.get("glossaries", []), list, "glossaries"):
        g = typed(g, dict, "glossaries")
        try:
            glossaries.append(Glossary(**{k: str(v) for k, v in g.items() if k in TABLE_KEYS["glossaries"]}))
        except TypeError:
            raise EditioError("each [[glossaries]] row needs 'name', 'entries', 'page' and 'label'",
                              file=where, line=_line_of(chain[0][0], "glossaries"), code="config.type") from None
        _xpath_ok(glossaries[-1].entries, pxns, where, chain, "entries")
        try:
            re.compile(glossaries[-1].see)
        except re.error as err:
            raise EditioError(f"glossary 'see' is not a regular expression: {err}", file=where,
                              line=_line_of(chain[0][0], "see"), code="config.type") from None
    pointers = typed(d.get("pointers", {}), dict, "pointers")
    external = []
    for e in typed(pointers.get("external", []), list, "pointers.external"):
        e = typed(e, dict, "pointers.external")
        try:
            re.compile(e.get("pattern", ""))
        except re.error as err:
            raise EditioError(f"pointer pattern is not a regular expression: {err}", file=where,
                              line=_line_of(chain[0][0], "pattern"), code="config.type") from None
        external.append(ExternalPointer(str(e.get("pattern", "")), str(e.get("url", "")), str(e.get("label", "")),
                                        bool(typed(e.get("print_url", True), bool, "pointers.external.print_url"))))
    mask = d.get("mask_pattern", "")
    if mask:
        try:
            re.compile(typed(mask, str, "mask_pattern"))
        except re.error as err:
            raise EditioError(f"mask_pattern is not a regular expression: {err}", file=where,
                              code="config.type") from None
    principles = d.get("principles", "")
    if isinstance(principles, list):
        principles = "\n\n".join(str(p) for p in principles)
    check = typed(d.get("check", {}), dict, "check")
    return Profile(
        name=str(d.get("name", chain[0][0].parent.name)), description=str(d.get("description", "")),
        chain=tuple(_display(p, root) for p, _ in chain), principles=typed(principles, str, "principles"),
        mask_pattern=mask or "", namespaces=ns, units=tuple(units),
        note_number=str(typed(d.get("notes", {}), dict, "notes").get("number", "")),
        silent=tuple(str(x) for x in typed(typed(d.get("notes", {}), dict, "notes").get("silent", ["spacing"]),
                                           list, "notes.silent")),
        behaviours=tuple(behaviours), glossaries=tuple(glossaries),
        backlinks=bool(pointers.get("backlinks", True)), external=tuple(external),
        labels=typed(d.get("labels", {}), dict, "labels"),
        signs=tuple(s for s in typed(d.get("signs", []), list, "signs") if isinstance(s, dict)),
        correction_types=tuple(typed(check.get("correction_types", []), list, "check.correction_types")),
        severity=_severities(typed(check.get("severity", {}), dict, "check.severity"), origins, where, chain),
        redactions=typed(d.get("redactions", {}), dict, "redactions"),
        policy=typed(d.get("policy", {}), dict, "policy"),
        page_images=str(typed(d.get("page_images", {}), dict, "page_images").get("report", "summary")),
        images=str(typed(d.get("images", {}), dict, "images").get("report", "summary")),
        schema=_schema_path(d, origins, root),
        template_dirs=tuple(dirs), diagnostics=tuple(diags))


# what a profile may not make lighter: a file that cannot be read safely, settings that do not
# hold, a build that cannot be made
FIXED_SEVERITY = ("read.", "config.", "build.")


def _severities(table: dict, origins: dict, where: str, chain) -> dict:
    """``[check] severity``: diagnostic code -> "error" | "warning" | "info" for this edition
    (as Sphinx's ``nitpicky`` off: TEI from elsewhere with its own dangling pointers builds,
    they are reported as located warnings, and ``--strict`` still fails on them)."""
    from editio.diagnostics import SEVERITIES
    disp, path = origins.get("check", (where, chain[0][0]))
    out = {}
    for code, sev in table.items():
        if sev not in SEVERITIES:
            raise EditioError(f"[check] severity of '{code}' must be one of {', '.join(SEVERITIES)}, "
                              f"not {sev!r}", file=disp, line=_line_of(path, "severity"), code="config.type")
        if code.startswith(FIXED_SEVERITY):
            raise EditioError(f"[check] severity: '{code}' cannot be changed (a file that cannot be read "
                              "safely, or settings and builds that do not hold, always stop)",
                              file=disp, line=_line_of(path, "severity"), code="config.type")
        out[str(code)] = sev
    return out


def _schema_path(d: dict, origins: dict, root: Path) -> Path | None:
    """``schema = "frus.rng"``: the schema beside the profile file that names it (a shipped
    profile ships its schema; a project's profile names one in the project)."""
    name = d.get("schema")
    if not name:
        return None
    if not isinstance(name, str):
        raise EditioError("'schema' must be the file name of a RELAX NG schema",
                          file=origins.get("schema", ("editio.toml",))[0], code="config.type")
    disp, path = origins.get("schema", ("editio.toml", root / "editio.toml"))
    p = (Path(path).parent / name).resolve()
    if not p.is_file():
        raise EditioError(f"schema {name} named by the profile does not exist", file=disp,
                          code="config.schema")
    return p


def _xpath_ok(expr: str, ns: dict, where: str, chain, key: str) -> None:
    if not expr:
        return
    from lxml import etree
    try:
        etree.XPath(expr, namespaces=ns)
    except etree.XPathSyntaxError as err:
        raise EditioError(f"profile key '{key}': invalid XPath {expr!r} ({err})", file=where,
                          line=_line_of(chain[0][0], key), code="config.xpath") from None
