"""The one gate every path named by input passes before editio reads or writes it.

TEI, a schema, a witness, ``editio.toml`` or a URL can name a file.  Whatever
names it (``xi:include``, ``sourceDesc//ptr``, ``graphic/@url``, ``<?xml-model?>``,
a RELAX NG ``externalRef``/``include``, the build lock, an import target, the
search index's language, the output directory), editio uses it only if

* it lies inside the project, after following every symlink;
* no component of its path inside the project is hidden (``.git/config``,
  ``.env``, ``.editio-build.lock`` …);
* it is not inside the output directory (when the caller names one);
* it is a regular file (FIFOs, devices, sockets and directories are refused:
  a FIFO would block, ``/dev/zero`` never ends);
* it is within a size budget (:data:`MAX_BYTES` unless the caller says
  otherwise), and it is read with ``O_NONBLOCK`` after ``fstat`` confirms a
  regular file, reading at most budget + 1 bytes.

:func:`check` answers with the resolved path or raises :class:`Refused`,
whose ``reason`` a caller puts into its own located diagnostic.  :func:`read_bytes`
reads a file through the gate.  :func:`open_regular` opens a file the user
named (command line) with the same non-blocking, regular-file and size rules.
:func:`show` escapes a name or message for a terminal (control characters,
ESC, NUL and bidirectional controls become visible escapes).
"""
from __future__ import annotations

import os
import re
import stat
from pathlib import Path

from editio.diagnostics import EditioError

MAX_BYTES = 32 * 1024 * 1024
"""Default budget of one file named by input: 32 MiB (the largest FRUS volume is ~4 MiB)."""
MAX_NAME = 255
PRIVATE = frozenset({("editio.toml",), (".editio-build.lock",)})
"""Files at the project root that belong to editio, not to the edition: never read for TEI."""
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


class Refused(EditioError):
    """A path the gate refuses; ``reason`` says why in words (no location)."""

    def __init__(self, reason: str, path: str = "", code: str = "path.refused"):
        super().__init__(reason, file=path, code=code)
        self.reason = reason


def _inside(root: Path, p: Path) -> bool:
    return p == root or root in p.parents


def relative(href: str) -> str:
    """``href`` as a relative path, or :class:`Refused` for a URL, an absolute path, a
    fragment, a NUL or a drive letter (what TEI may name is a relative path only)."""
    if not href:
        raise Refused("an empty path")
    if "\0" in href:
        raise Refused("a path with a NUL character")
    if _SCHEME.match(href) or href.startswith(("/", "\\")) or "#" in href or "\\" in href:
        raise Refused("not a relative path inside the project (URLs, absolute paths and "
                      "fragments are refused)")
    return href


def check(root: Path, path: Path | str, *, base: Path | None = None, output: Path | None = None,
          kind: str = "file", max_bytes: int | None = MAX_BYTES, hidden_ok: bool = False) -> Path:
    """The resolved ``path`` (relative to ``base``'s folder if given), or :class:`Refused`.

    ``kind``: ``"file"`` (must exist and be a regular file within ``max_bytes``),
    ``"new"`` (may not exist yet; if it exists it must be a regular file and not a
    symlink), ``"dir"`` (a directory, or not yet existing)."""
    root = Path(root).resolve()
    p = Path(path)
    if "\0" in str(p):
        raise Refused("a path with a NUL character")
    if any(len(part.encode("utf-8", "surrogateescape")) > MAX_NAME for part in p.parts):
        raise Refused(f"a path component longer than {MAX_NAME} bytes")
    if not p.is_absolute():
        p = (Path(base).parent if base is not None else root) / p
    try:
        real = p.resolve()  # follows symlinks: a link leaving the project is caught below
    except (OSError, RuntimeError, ValueError) as err:  # symlink loop, name too long
        raise Refused(f"cannot be resolved ({getattr(err, 'strerror', None) or err})") from None
    if not _inside(root, real):
        raise Refused("outside the project (after following symlinks)")
    inner = real.relative_to(root).parts
    if not hidden_ok and any(part.startswith(".") for part in inner):
        raise Refused("a hidden file or folder (a name starting with '.')")
    if not hidden_ok and inner in PRIVATE:
        raise Refused("editio's own file (the settings or the build lock), not part of the edition")
    if output is not None:
        out = Path(output).resolve()
        if _inside(out, real):
            raise Refused("inside the output directory")
    try:
        st = os.stat(real)
    except FileNotFoundError:
        if kind in ("new", "dir"):
            if os.path.lexists(p) or os.path.lexists(real):  # a dangling symlink
                raise Refused("a symlink to nothing") from None
            return real
        raise Refused("no such file", code="path.missing") from None
    except OSError as err:
        raise Refused(f"cannot be read ({err.strerror})") from None
    if kind == "dir":
        if not stat.S_ISDIR(st.st_mode):
            raise Refused("not a directory")
        return real
    if not stat.S_ISREG(st.st_mode):
        what = ("a directory" if stat.S_ISDIR(st.st_mode) else "a FIFO" if stat.S_ISFIFO(st.st_mode)
                else "a device" if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode)
                else "a socket" if stat.S_ISSOCK(st.st_mode) else "not a regular file")
        raise Refused(f"{what}, not a regular file")
    if kind == "new" and os.path.islink(p):
        raise Refused("a symlink (editio does not write through symlinks)")
    if max_bytes is not None and st.st_size > max_bytes:
        raise Refused(f"{st.st_size:,} bytes, over the limit of {max_bytes:,}", code="path.too-large")
    return real


def passes(root: Path, path: Path | str, **kw) -> Path | None:
    """:func:`check` as a yes/no: the resolved path, or None if the gate refuses it."""
    try:
        return check(root, path, **kw)
    except Refused:
        return None


def open_regular(path: Path | str, max_bytes: int | None = MAX_BYTES) -> bytes:
    """The bytes of ``path``: opened with ``O_NONBLOCK`` (a FIFO cannot block), refused unless
    ``fstat`` says it is a regular file, and never more than ``max_bytes`` read (a file that
    grows, or lies about its size, is refused too)."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise Refused("no such file", code="path.missing") from None
    except IsADirectoryError:
        raise Refused("a directory, not a regular file") from None
    except OSError as err:
        raise Refused(f"cannot be read ({err.strerror})") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            kind = ("a directory" if stat.S_ISDIR(st.st_mode) else "a FIFO" if stat.S_ISFIFO(st.st_mode)
                    else "a device" if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode)
                    else "not a regular file")
            raise Refused(f"{kind}, not a regular file")
        if max_bytes is not None and st.st_size > max_bytes:
            raise Refused(f"{st.st_size:,} bytes, over the limit of {max_bytes:,}",
                          code="path.too-large")
        limit = (max_bytes if max_bytes is not None else st.st_size) + 1
        chunks, got = [], 0
        while got < limit:
            try:
                b = os.read(fd, min(1 << 20, limit - got))
            except BlockingIOError:
                raise Refused("not ready for reading (a special file)") from None
            if not b:
                break
            chunks.append(b)
            got += len(b)
        if max_bytes is not None and got > max_bytes:
            raise Refused(f"over the limit of {max_bytes:,} bytes", code="path.too-large")
        return b"".join(chunks)
    except OSError as err:
        if isinstance(err, Refused):
            raise
        raise Refused(f"cannot be read ({err.strerror})") from None
    finally:
        os.close(fd)


def read_bytes(root: Path, path: Path | str, *, base: Path | None = None,
               output: Path | None = None, max_bytes: int | None = MAX_BYTES) -> bytes:
    """Gate ``path`` and read it (see :func:`check` and :func:`open_regular`)."""
    real = check(root, path, base=base, output=output, max_bytes=max_bytes)
    return open_regular(real, max_bytes)


def write_target(root: Path, path: Path | str, output: Path | None = None) -> Path:
    """A file editio may create (import): inside the project, not hidden, not through a symlink,
    not existing as anything but a regular file; its folders are not symlinks leaving the project."""
    return check(root, path, output=output, kind="new", max_bytes=None)


# ------------------------------------------------------------------ folders
TEI_SUFFIXES = (".xml", ".tei")


def scan(folder: Path, suffixes=TEI_SUFFIXES) -> tuple[list[Path], list[tuple[Path, str]]]:
    """The TEI files below ``folder`` (``*.xml``, ``*.tei``) that are regular files, and the
    entries with those suffixes that are skipped, with the reason (a symlink, a FIFO, a
    device, a directory named like a file).  Hidden files and folders are passed over."""
    files, skipped = [], []
    root = Path(folder)
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames + [d for d in dirnames if d.endswith(suffixes)]):
            if name.startswith(".") or not name.endswith(suffixes):
                continue
            p = Path(dirpath) / name
            try:
                st = os.lstat(p)
            except OSError as err:
                skipped.append((p, f"cannot be read ({err.strerror})"))
                continue
            if stat.S_ISLNK(st.st_mode):
                skipped.append((p, "a symlink (editio reads only the files themselves)"))
            elif stat.S_ISREG(st.st_mode):
                files.append(p)
            elif stat.S_ISDIR(st.st_mode):
                continue
            elif stat.S_ISFIFO(st.st_mode):
                skipped.append((p, "a FIFO, not a regular file"))
            else:
                skipped.append((p, "a device or socket, not a regular file"))
    return sorted(files), skipped


# ------------------------------------------------------------------ display
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029"
                     "\u202a-\u202e\u2066-\u2069\ufeff]")


def _escape(m: re.Match) -> str:
    c = ord(m.group())
    return f"\\x{c:02x}" if c < 0x100 else f"\\u{c:04x}"


def show(text: str) -> str:
    """``text`` safe for a terminal and for one diagnostic line: control characters (NUL,
    ESC, CR, LF …), DEL, C1 controls and bidirectional controls become escapes such as
    ``\\x1b`` and ``\\u202e``; surrogates from undecodable file names become ``\\udcXX``."""
    if not text:
        return text
    text = _UNSAFE.sub(_escape, text)
    if "\n" in text:
        text = text.replace("\n", "\\n")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = "".join(c if not 0xD800 <= ord(c) <= 0xDFFF else f"\\u{ord(c):04x}" for c in text)
    return text
