"""Located diagnostics and their printers.

Every problem editio reports is a :class:`Diagnostic` with a file, line,
column, severity and a stable code (``ref.missing``), so users can grep for
a class of problems or silence it.  Log levels: ``error`` stops a build and
makes ``editio check`` exit 1; ``warning`` is reported (and becomes an error
with ``--strict``); ``info`` is only shown with ``--verbose``.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

SEVERITIES = ("error", "warning", "info")


@dataclass(frozen=True, order=True)
class Diagnostic:
    file: str
    line: int
    col: int
    severity: str
    code: str
    message: str

    def format(self) -> str:
        """``file:line:col: severity: message [code]`` on one line: names and messages are
        escaped (:func:`editio.gate.show`), so a file name holding ESC, NUL, a newline or a
        bidi control can neither take over the terminal nor split or disguise the line; a
        diagnostic about no file in particular is located at ``editio``."""
        from editio.gate import show
        loc = show(self.file) or "editio"
        if self.line and self.file:
            loc += f":{self.line}:{self.col or 1}"
        return f"{loc}: {self.severity}: {show(self.message) or self.code} [{self.code}]"


class EditioError(Exception):
    """A user-facing error: printed as ``location: error: message``, never a traceback."""

    def __init__(self, message: str, *, file: str = "", line: int = 0, col: int = 0,
                 code: str = "error"):
        super().__init__(message)
        self.diagnostic = Diagnostic(file, line, col, "error", code, message)


@dataclass
class Report:
    """Collects diagnostics; one per (location, code, message)."""

    items: list[Diagnostic] = field(default_factory=list)
    _seen: set = field(default_factory=set, repr=False)
    severities: dict = field(default_factory=dict, repr=False)   # code -> severity (the profile's)

    def add(self, file, line, col, severity, code, message) -> None:
        line = int(line or 0)
        severity = self.severities.get(code, severity)
        d = Diagnostic(str(file), line, int(col or 0) or (1 if line else 0), severity, code, message)
        if d not in self._seen:
            self._seen.add(d)
            self.items.append(d)

    def error(self, file, line, code, message, col=0):
        self.add(file, line, col, "error", code, message)

    def warning(self, file, line, code, message, col=0):
        self.add(file, line, col, "warning", code, message)

    def extend(self, other: "Report") -> None:
        for d in other.items:
            if self.severities:
                self.add(d.file, d.line, d.col, d.severity, d.code, d.message)
            elif d not in self._seen:
                self._seen.add(d)
                self.items.append(d)

    def count(self, severity: str) -> int:
        return sum(1 for d in self.items if d.severity == severity)

    @property
    def errors(self) -> int:
        return self.count("error")

    @property
    def warnings(self) -> int:
        return self.count("warning")

    def _remap(self, severity=lambda sev: sev, keep=lambda d: True) -> "Report":
        r = Report()
        for d in self.items:
            if keep(d):
                r.add(d.file, d.line, d.col, severity(d.severity), d.code, d.message)
        return r

    def strict(self) -> "Report":
        """Warnings become errors (``--strict``)."""
        return self._remap(lambda sev: "error" if sev == "warning" else sev)

    def demoted(self) -> "Report":
        """Errors become warnings (``editio build --keep-going``)."""
        return self._remap(lambda sev: "warning" if sev == "error" else sev)

    def only(self, files: set[str]) -> "Report":
        """The diagnostics about ``files`` (and those with no file)."""
        return self._remap(keep=lambda d: d.file in files or not d.file)

    def sorted(self) -> list[Diagnostic]:
        return sorted(self.items, key=lambda d: (d.file, d.line, d.col, d.code, d.message))

    def summary(self, files: int) -> str:
        e, w = self.errors, self.warnings
        return (f"{files} file{'s' if files != 1 else ''} checked: "
                f"{e} error{'s' if e != 1 else ''}, {w} warning{'s' if w != 1 else ''}")

    def to_json(self, files: int) -> str:
        return json.dumps({"files": files, "errors": self.errors, "warnings": self.warnings,
                           "diagnostics": [_shown(asdict(d)) for d in self.sorted()]},
                          indent=2, ensure_ascii=False)


def _shown(d: dict) -> dict:
    from editio.gate import show
    return {k: show(v) if isinstance(v, str) else v for k, v in d.items()}


def relpath(path: Path, base: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(Path(base).resolve()))
    except ValueError:
        return str(path)
