"""The edition's settings: ``editio.toml`` (optional) -> one frozen :class:`Project`.

Keys (all optional)::

    title = "…"            editors = ["…"]      publisher = "…"
    licence = "…"          language = "en"      date = "2026"
    description = "…"      input = "tei"        output = "build"
    schema = "schema/editio.rng"   # default schema when a file names none
    authority = ["authority.xml"] # files (inside input) holding the authority lists
    mask_pattern = "\\*{2,3}"      # what a platform mask looks like in the witnesses
    [html]  base_url = "https://…"
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from editio.diagnostics import EditioError

CONFIG_NAME = "editio.toml"


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
    mask_pattern: str = r"\*{2,3}"
    base_url: str = ""
    introduction: str = ""
    extra: dict = field(default_factory=dict, hash=False, compare=False)

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
             "output", "schema", "mask_pattern", "introduction")


def load(root: Path | str = ".") -> Project:
    root = Path(root).resolve()
    if not root.is_dir():
        raise EditioError(f"project directory {root} does not exist", code="config.missing")
    path = root / CONFIG_NAME
    data: dict = {}
    if path.exists():
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as err:
            line = getattr(err, "lineno", 0) or 0
            col = getattr(err, "colno", 0) or 0
            raise EditioError(f"invalid TOML: {err.msg if hasattr(err, 'msg') else err}",
                              file=CONFIG_NAME, line=line, col=col, code="config.syntax") from None
        except UnicodeDecodeError:
            raise EditioError("not UTF-8", file=CONFIG_NAME, line=1, code="config.syntax") from None
    kw: dict = {}
    for k in _STR_KEYS:
        if k in data:
            if not isinstance(data[k], str):
                raise EditioError(f"'{k}' must be a string", file=CONFIG_NAME, code="config.type")
            kw[k] = data[k]
    if "editors" in data:
        eds = data["editors"]
        if isinstance(eds, str):
            eds = [eds]
        if not isinstance(eds, list) or not all(isinstance(e, str) for e in eds):
            raise EditioError("'editors' must be a list of strings", file=CONFIG_NAME,
                              code="config.type")
        kw["editors"] = tuple(eds)
    html = data.get("html", {})
    if isinstance(html, dict) and isinstance(html.get("base_url"), str):
        kw["base_url"] = html["base_url"]
    for k in ("input", "output"):
        if k in kw and (Path(kw[k]).is_absolute() or ".." in Path(kw[k]).parts):
            raise EditioError(f"'{k}' must be a directory inside the project", file=CONFIG_NAME,
                              code="config.path")
    return Project(root=root, extra=data, **kw)
