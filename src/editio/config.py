"""The edition's settings: ``editio.toml`` (optional) -> one frozen :class:`Project`.

Keys (all optional)::

    title = "…"            editors = ["…"]      publisher = "…"
    licence = "…"          language = "en"      date = "2026"
    description = "…"      input = "tei"        output = "build"
    schema = "schema/editio.rng"   # default schema when a file names none
    authority = ["authority.xml"] # files (inside input) holding the authority lists
    mask_pattern = "\\*{2,3}"      # overrides the profile's platform-mask pattern
    profile = "frus"               # a shipped profile, or a profile.toml in the project
    [html]  base_url = "https://…"

Any profile table (``[namespaces]``, ``[[units]]``, ``[labels]``, ``[[behaviours]]`` …, see
:mod:`editio.profile`) written here overlays the profile's.
"""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from editio.diagnostics import Diagnostic, EditioError
from editio.profile import TOP_KEYS as PROFILE_KEYS
from editio.profile import Profile
from editio.profile import load as load_profile

CONFIG_NAME = "editio.toml"

KNOWN_KEYS = frozenset({
    "title", "subtitle", "editors", "publisher", "licence", "language", "date", "description",
    "input", "output", "schema", "authority", "mask_pattern", "introduction", "keywords",
    "principles", "html", "policy",
    # edition profiles: the profile named, and the profile tables editio.toml may overlay
    "profile", *PROFILE_KEYS,
    # output formats the edition adds (editio.builders)
    "formats",
})
"""Every top-level key (or table) of editio.toml; any other is a ``config.unknown`` warning
with its line.  Modules that add keys add them here."""
KNOWN_TABLE_KEYS = {"html": frozenset({"base_url"})}
LANGUAGE = re.compile(r"^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$")
"""A BCP 47 language tag (``en``, ``zh-Hant``); the search index names files after it."""


@dataclass(frozen=True)
class Project:
    root: Path
    title: str = "Untitled edition"
    subtitle: str = ""
    editors: tuple[str, ...] = ()
    publisher: str = ""
    licence: str = ""
    language: str = "en"
    date: str = ""
    description: str = ""
    input: str = "tei"
    output: str = "build"
    schema: str = ""
    base_url: str = ""
    introduction: str = ""
    extra: dict = field(default_factory=dict, hash=False, compare=False)
    diagnostics: tuple = field(default=(), hash=False, compare=False)
    """Warnings about editio.toml and the profile (unknown keys), reported by ``check`` and ``build``."""
    profile: Profile = field(default_factory=Profile, hash=False, compare=False)

    @property
    def mask_pattern(self) -> str:
        return self.profile.mask_pattern

    @property
    def namespaces(self) -> tuple[str, ...]:
        """Every foreign namespace URI the profile names."""
        return tuple(u for uris in self.profile.namespaces.values() for u in uris)

    @property
    def input_dir(self) -> Path:
        return self.root / self.input

    @property
    def output_dir(self) -> Path:
        return self.root / self.output

    def rel(self, path: Path) -> str:
        """``path`` relative to the project root, for diagnostics."""
        try:
            return Path(path).resolve().relative_to(self.root.resolve()).as_posix()
        except ValueError:
            return str(path)


_STR_KEYS = ("title", "subtitle", "publisher", "licence", "language", "date", "description", "input",
             "output", "schema", "mask_pattern", "introduction", "profile")


def _line_of(text: str, key: str, table: str | None = None) -> int:
    """The line of ``key = …`` (or ``[key]``) in the TOML source; 0 if not found."""
    start = 0
    if table:
        m = re.search(r"^\s*\[\s*" + re.escape(table) + r"\s*\]", text, re.M)
        start = m.end() if m else 0
    m = re.compile(r"^\s*(?:\[\s*)?[\"']?" + re.escape(key) + r"[\"']?\s*(?:=|\]|\.)", re.M).search(text, start)
    return text.count("\n", 0, m.start()) + 1 if m else 0


def load(root: Path | str = ".", profile: str | None = None) -> Project:
    """The project at ``root``; ``profile`` (``--profile``) overrides editio.toml's."""
    try:
        root = Path(root).resolve()
        isdir = root.is_dir()
    except (OSError, ValueError) as err:
        raise EditioError(f"project directory {root}: {err}", code="config.missing") from None
    if not isdir:
        raise EditioError(f"project directory {root} does not exist", code="config.missing")
    path = root / CONFIG_NAME
    data: dict = {}
    text = ""
    if path.exists():
        from editio import gate
        try:
            raw = gate.open_regular(path, 1 << 20)
            text = raw.decode("utf-8-sig")  # a byte-order mark (Windows editors) is accepted
            data = tomllib.loads(text)
        except gate.Refused as err:
            raise EditioError(f"cannot read: {err.reason}", file=CONFIG_NAME,
                              code="config.syntax") from None
        except tomllib.TOMLDecodeError as err:
            line = getattr(err, "lineno", 0) or 0
            col = getattr(err, "colno", 0) or 0
            raise EditioError(f"invalid TOML: {err.msg if hasattr(err, 'msg') else err}",
                              file=CONFIG_NAME, line=line, col=col, code="config.syntax") from None
        except UnicodeDecodeError as err:
            raise EditioError(f"not UTF-8 (byte {err.start})", file=CONFIG_NAME, line=1,
                              code="config.syntax") from None

    def fail(key: str, msg: str, code: str = "config.type", table: str | None = None):
        return EditioError(msg, file=CONFIG_NAME, line=_line_of(text, key, table) or 1,
                           code=code)

    kw: dict = {}
    for k in _STR_KEYS:
        if k in data:
            if not isinstance(data[k], str):
                raise fail(k, f"'{k}' must be a string")
            kw[k] = data[k]
    if "editors" in data:
        eds = data["editors"]
        if isinstance(eds, str):
            eds = [eds]
        if not isinstance(eds, list) or not all(isinstance(e, str) for e in eds):
            raise fail("editors", "'editors' must be a list of strings")
        kw["editors"] = tuple(eds)
    html = data.get("html", {})
    if isinstance(html, dict) and isinstance(html.get("base_url"), str):
        kw["base_url"] = html["base_url"]
    for k in ("input", "output"):
        if k in kw:
            v = kw[k]
            if "\0" in v or not v.strip():
                raise fail(k, f"'{k}' must name a directory (it is empty or holds a NUL)",
                           "config.path")
            if Path(v).is_absolute() or ".." in Path(v).parts:
                raise fail(k, f"'{k}' must be a directory inside the project", "config.path")
            if any(len(part.encode()) > 255 for part in Path(v).parts):
                raise fail(k, f"'{k}' has a name longer than 255 bytes", "config.path")
    if "language" in kw and not LANGUAGE.match(kw["language"]):
        raise fail("language", f"'language' must be a language tag such as \"en\" or "
                   f"\"zh-Hant\", not {kw['language']!r}", "config.value")
    if "mask_pattern" in kw:
        try:
            re.compile(kw["mask_pattern"])
        except re.error as err:
            raise fail("mask_pattern", f"'mask_pattern' is not a regular expression: {err}",
                       "config.value") from None
    notes = []
    for k, v in data.items():
        if k not in KNOWN_KEYS:
            notes.append(Diagnostic(CONFIG_NAME, _line_of(text, k) or 1, 1, "warning",
                                    "config.unknown", f"unknown key '{k}' (ignored)"))
        elif k in KNOWN_TABLE_KEYS and isinstance(v, dict):
            for sub in v:
                if sub not in KNOWN_TABLE_KEYS[k]:
                    notes.append(Diagnostic(CONFIG_NAME, _line_of(text, sub, k) or 1, 1, "warning",
                                            "config.unknown", f"unknown key '{k}.{sub}' (ignored)"))
    overlay = {k: v for k, v in data.items() if k in PROFILE_KEYS}
    if "mask_pattern" in kw:
        overlay["mask_pattern"] = kw.pop("mask_pattern")
    prof = load_profile(profile or kw.pop("profile", None), root, overlay)
    kw.pop("profile", None)
    return Project(root=root, extra=data, diagnostics=tuple(notes) + prof.diagnostics,
                   profile=prof, **kw)
