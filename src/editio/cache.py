"""The build cache: what the last build read and made, so the next one redoes only what changed.

Everything is keyed by **content hashes** (SHA-256 of bytes), never by modification times:

* :func:`code_hash`: editio itself (every file of the package: its code, templates,
  profiles, and its styles and schema) and the versions of the libraries that shape the
  output (lxml/libxml2, Jinja2, WeasyPrint, Pagefind).  A new editio, or an edited one,
  matches no earlier record: everything is rebuilt;
* :func:`project_files` / :func:`inputs_digest`: every file of the project a build may read
  (the TEI, authority files, witnesses, images, ``editio.toml``, the profile, templates,
  styles, schema), less the output, hidden files and editors' backup files, plus the
  options of the build;
* the record of the last successful build (:class:`BuildRecord`): its inputs' digest, the
  hash of every file it wrote and the diagnostics it reported.  ``editio build`` with the
  same digest and an output still holding exactly those bytes does nothing and says so.

Finer grains live next to the work they save: the check keeps each file's diagnostics
(:class:`editio.check` with a :class:`Store`), the site each page with the documents it
read (:mod:`editio.builders.site`), the book its laid-out parts (:mod:`editio.builders.pdf`).

The cache lives in ``<project>/.editio-cache/`` (never committed: ``.gitignore``).  Every
file in it is written to a temporary name and renamed into place, so a reader (another
build, a server) sees a whole file or none; a file that cannot be read or parsed is a miss,
never an error.  ``editio build --no-cache`` reads nothing from it; ``editio clean`` removes
it.  Nothing is kept at module level except :func:`code_hash`'s own memo of the package's
files (they do not change while editio runs).
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
import stat
import posixpath
from urllib.parse import unquote
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from editio import __version__

CACHE_DIR = ".editio-cache"
FORMAT = "editio-build-cache-1"
"""Changes whenever what a record holds changes (an old record is then a miss)."""
IGNORED_SUFFIXES = ("~", ".swp", ".swo", ".swx", ".tmp", ".bak", ".kate-swp")
"""Editors' backup and swap files: never an input."""


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def settings(project) -> list:
    """What besides the project's files decides its settings: the profile chosen (``--profile``
    names one that no file of the project names) and where its schema and templates are."""
    prof = project.profile
    return [prof.name, [str(c) for c in prof.chain], str(prof.schema or ""),
            [str(d) for d in prof.template_dirs], str(project.output), str(project.input)]


@functools.lru_cache(maxsize=1)
def code_hash() -> str:
    """The hash of editio itself: its package files (code, templates, profiles), the
    repository's styles and schema it falls back on, and the versions of the libraries
    that make the output."""
    from editio import resources
    h = hashlib.sha256(f"{FORMAT}\0editio {__version__}\0".encode())
    names = ("lxml", "jinja2", "weasyprint", "pagefind", "pikepdf", "markupsafe", "pyuca")
    found = _dist_versions(names)
    for name in names:
        try:
            if name not in found:
                from importlib.metadata import version
                found[name] = version(name)
            h.update(f"{name} {found[name]}\0".encode())
        except Exception:  # noqa: BLE001 - not installed: part of the environment too
            h.update(f"{name} -\0".encode())
    try:
        from lxml import etree
        h.update(repr((etree.LXML_VERSION, etree.LIBXML_VERSION, etree.LIBXSLT_VERSION)).encode())
    except ImportError:  # pragma: no cover
        pass
    for base in (resources.PACKAGE, resources.STYLES, resources.SCHEMA.parent):
        if not base.is_dir():
            continue
        for p in sorted(base.rglob("*")):
            if "__pycache__" in p.parts or not p.is_file() or p.suffix in (".pyc", ".pyo"):
                continue
            try:
                h.update(str(p.relative_to(base)).encode() + b"\0" + sha(p.read_bytes()).encode())
            except OSError:
                h.update(str(p).encode() + b"\0<unreadable>")
    return h.hexdigest()


def _dist_versions(names) -> dict[str, str]:
    """name -> version of the installed distributions among ``names``, from the names of
    their ``NAME-VERSION.dist-info`` folders on ``sys.path`` (the first one, as
    importlib.metadata takes it): importing importlib.metadata alone costs ~0.15 s of every
    build.  A name not found so is left to importlib.metadata."""
    import os
    import sys
    want = {n.lower().replace("-", "_"): n for n in names}
    out: dict[str, str] = {}
    for entry in sys.path:
        try:
            listing = os.listdir(entry or ".")
        except OSError:
            continue
        for d in listing:
            if not d.endswith(".dist-info") or "-" not in d:
                continue
            stem, _, version = d[:-len(".dist-info")].partition("-")
            name = want.get(stem.lower().replace("-", "_").replace(".", "_"))
            if name is not None and name not in out:
                out[name] = version
        if len(out) == len(want):
            break
    return out


def project_files(project) -> list[Path]:
    """Every file a build of ``project`` may read: the project's files, less the output,
    hidden files and folders (``.git``, ``.editio-cache``), ``__pycache__`` and editors'
    backup files; sorted."""
    root = Path(project.root)
    out = project.output_dir.resolve()
    files = []
    seen = {root.resolve()}
    # a folder linked into the project (a shared schema/) is read through: followed, once
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        here = Path(dirpath)
        keep = []
        for d in sorted(dirnames):
            real = (here / d).resolve()
            if d.startswith(".") or d == "__pycache__" or real == out or real in seen:
                continue
            seen.add(real)
            keep.append(d)
        dirnames[:] = keep
        for name in sorted(filenames):
            if name.startswith((".", "#")) or name.endswith(IGNORED_SUFFIXES):
                continue
            files.append(here / name)
    return files


def corpus_files(corpus) -> list[tuple[Path, Path]]:
    """(path, resolved path) of each of :func:`project_files` of the corpus's project, found
    once per corpus (the check's context and the site's skeleton both hash them)."""
    memo = corpus.__dict__.get("_project_files")
    if memo is None:
        dirs: dict = {}   # each folder resolved once; a file only when it is a symlink itself

        def real(p: Path) -> Path:
            if p.is_symlink():
                return p.resolve()
            d = dirs.get(p.parent)
            if d is None:
                d = dirs[p.parent] = p.parent.resolve()
            return d / p.name
        memo = corpus.__dict__["_project_files"] = [(p, real(p))
                                                    for p in project_files(corpus.project)]
    return memo


def file_hash(p: Path, memo: dict | None = None) -> str:
    """The hash of a regular file's bytes (a symlink, FIFO or unreadable file hashes as
    what it is, never by reading through it).  ``memo`` (path -> hash, one run's): a file
    is read and hashed once however many parts of the run ask."""
    if memo is not None:
        key = os.path.abspath(p)
        h = memo.get(key)
        if h is None:
            h = memo[key] = file_hash(p)
        return h
    try:
        if p.is_symlink():
            return "symlink:" + os.readlink(p)
        if not p.is_file():
            return "<not a file>"
        return sha(p.read_bytes())
    except OSError:
        return "<unreadable>"


def inputs_digest(project, options: dict | None = None, files: list[Path] | None = None,
                  memo: dict | None = None) -> str:
    """The hash of everything a build of ``project`` reads, and of its ``options``."""
    h = hashlib.sha256(code_hash().encode())
    h.update(json.dumps(options or {}, sort_keys=True, default=str).encode())
    root = Path(project.root)
    for p in (project_files(project) if files is None else files):
        h.update(str(p.relative_to(root)).encode() + b"\0" + file_hash(p, memo).encode() + b"\n")
    return h.hexdigest()


def tree_manifest(folder: Path, known: dict | None = None) -> dict[str, str]:
    """``{relative path: sha256}`` of every file under ``folder`` (symlinks as themselves).
    ``known``: what :func:`hashed_ahead` found of the same files earlier in the run; a
    file whose size, times and inode are still those it hashed is not read again."""
    out = {}
    folder = Path(folder)
    if not folder.is_dir():
        return out
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames.sort()
        here = Path(dirpath)
        for name in sorted(filenames):
            p = here / name
            rel = p.relative_to(folder).as_posix()
            seen = known.get(rel) if known else None
            if seen is not None and _stat_key(p) == seen[0]:
                out[rel] = seen[1]
            else:
                out[rel] = file_hash(p)
    return out


def _stat_key(p: Path):
    """What changes when a regular file is written (None for anything else)."""
    try:
        st = os.lstat(p)
    except OSError:
        return None
    if not stat.S_ISREG(st.st_mode):
        return None
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)


def hashed_ahead(folder: Path) -> dict:
    """``{relative path: (stat key, sha256)}`` of the regular files under ``folder`` now,
    for a later :func:`tree_manifest` of it (e.g. while a helper process writes more files
    into it: the files written or changed since are hashed then)."""
    out: dict = {}
    folder = Path(folder)
    for dirpath, dirnames, filenames in os.walk(folder):
        here = Path(dirpath)
        for name in filenames:
            p = here / name
            before = _stat_key(p)
            if before is None:
                continue
            h = file_hash(p)
            if _stat_key(p) == before:   # (not written while it was read)
                out[p.relative_to(folder).as_posix()] = (before, h)
    return out


# ------------------------------------------------------------------ storage
class Store:
    """JSON records under one folder of the cache, written atomically (a temporary file in
    the same folder, then a rename), so two builds or a build and a server never see half
    a record.  A record that is missing, unreadable or not JSON is ``None``.  With
    ``enabled=False`` nothing is read (a build with ``--no-cache``) but records are still
    written, so the next build can use them."""

    def __init__(self, root: Path, enabled: bool = True):
        self.root = Path(root)
        self.enabled = enabled

    def path(self, name: str) -> Path:
        return self.root / name

    def get(self, name: str):
        if not self.enabled:
            return None
        try:
            return json.loads(self.path(name).read_text(encoding="utf-8"))
        except (OSError, ValueError, UnicodeDecodeError):
            return None

    def put(self, name: str, data, text: str | None = None) -> None:
        """Write ``data`` as the record ``name`` (or ``text``, its JSON made already)."""
        p = self.path(name)
        try:
            p.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=p.parent, prefix=f".{p.name}.", suffix=".tmp")
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as f:
                    # dumps, not dump: json.dump encodes piece by piece in Python, dumps
                    # in one call of the C encoder (a site record: 10x faster)
                    f.write(text if text is not None else
                            json.dumps(data, ensure_ascii=False, separators=(",", ":")))
                os.replace(tmp, p)
            except BaseException:
                with _quiet():
                    os.unlink(tmp)
                raise
        except OSError:
            pass  # a cache that cannot be written only makes the next build slower

    def prune(self, keep: set[str], prefix: str = "") -> None:
        """Remove the records under ``prefix`` whose names are not in ``keep``."""
        folder = self.root / prefix if prefix else self.root
        if not folder.is_dir():
            return
        for p in folder.iterdir():
            name = (Path(prefix) / p.name).as_posix() if prefix else p.name
            if p.is_file() and name not in keep and not p.name.startswith("."):
                with _quiet():
                    p.unlink()


class _quiet:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return exc[0] is not None and issubclass(exc[0], OSError)


def cache_root(project) -> Path:
    return Path(project.root) / CACHE_DIR


# ------------------------------------------------------------------ the whole build
@dataclass
class BuildRecord:
    """The last successful build: the digest of its inputs and options, the hash of every
    file it wrote (per format) and the diagnostics it reported."""
    digest: str
    outputs: dict          # format -> {relative path: sha256}
    diagnostics: list      # [[file, line, col, severity, code, message]]

    NAME = "build/last.json"

    @classmethod
    def load(cls, store: Store) -> "BuildRecord | None":
        data = store.get(cls.NAME)
        try:
            return cls(str(data["digest"]), dict(data["outputs"]), list(data["diagnostics"]))
        except (TypeError, KeyError):
            return None

    def save(self, store: Store) -> None:
        store.put(self.NAME, {"digest": self.digest, "outputs": self.outputs,
                              "diagnostics": self.diagnostics})

    def output_intact(self, output: Path, formats) -> bool:
        """The output still holds exactly the files this build wrote, byte for byte."""
        if set(formats) - set(self.outputs):
            return False
        return all(tree_manifest(Path(output) / f) == self.outputs[f] for f in formats)


def clean(project) -> list[Path]:
    """Remove the build cache (``.editio-cache/``); returns what was removed."""
    root = cache_root(project)
    if root.is_symlink():
        root.unlink()
        return [root]
    if root.is_dir():
        shutil.rmtree(root)
        return [root]
    return []


# ------------------------------------------------------------------ the check, file by file
class CheckCache:
    """Each file's diagnostics under a hash of everything the file's rules read.

    :func:`editio.check._check_doc` reads the file itself and, across files, only: the
    ids of the other files (``id.duplicate``, ``ref.missing``), the pointers of other files
    into it (a note in another file explains an annotation here), the files of the project
    a pointer may name (witnesses, images), the reserved ids, and the settings.  The
    *context* hashes all of that for the whole corpus (ids and cross-file pointers, never
    line numbers, so an edit inside a file leaves the other files' context as it was);
    a file's key adds its own bytes, and the earlier occurrences of its own ids (an
    ``id.duplicate`` names the first one's place).  When in doubt the key changes and the
    file is checked again."""

    PREFIX = "check"

    def __init__(self, corpus, store: Store):
        self.corpus = corpus
        self.store = store
        self.used: set[str] = set()
        self._context = None

    @property
    def context(self) -> str:
        if self._context is None:
            self._context = corpus_context(self.corpus)
        return self._context

    def doc_key(self, doc, seen_ids: dict, reserved) -> str:
        from editio import gate
        own = self.corpus.hashes.get(os.path.abspath(doc.path))
        if own is None:
            try:
                own = sha(gate.open_regular(doc.path))
            except (OSError, gate.Refused):
                own = "<unreadable>"
        earlier = sorted([i, *seen_ids[i]] for i in doc.ids if i in seen_ids)
        h = hashlib.sha256(self.context.encode())
        h.update(json.dumps([doc.name, doc.rel, doc.id, own, earlier,
                             sha("\0".join(sorted(reserved)).encode())]).encode())
        return h.hexdigest()

    def name(self, key: str) -> str:
        return f"{self.PREFIX}/{key[:2]}/{key}.json"

    def get(self, key: str):
        hit = self.store.get(self.name(key))
        if hit is not None:
            self.used.add(self.name(key))
        return hit

    def put(self, key: str, value) -> None:
        self.used.add(self.name(key))
        self.store.put(self.name(key), value)

    def prune(self, slack: int = 64) -> None:
        """Forget the files' results this run did not use, once they outnumber those it
        did (plus ``slack``): the cache stays the size of the edition."""
        folder = self.store.root / self.PREFIX
        try:
            names = [p for p in folder.glob("*/*.json")]
        except OSError:
            return
        if len(names) <= 2 * len(self.used) + slack:
            return
        for p in names:
            if p.relative_to(self.store.root).as_posix() not in self.used:
                with _quiet():
                    p.unlink()


def corpus_context(corpus) -> str:
    """What every file's rules may read from outside the file (see :class:`CheckCache`)."""
    project = corpus.project
    h = hashlib.sha256(code_hash().encode())
    h.update(json.dumps(settings(project)).encode())
    docs = {d.path for d in corpus.documents}
    root = Path(project.root)
    for p, real in corpus_files(corpus):   # settings, witnesses, images, templates, schema
        if real not in docs:
            h.update(str(p.relative_to(root)).encode() + b"\0"
                     + file_hash(p, corpus.hashes).encode() + b"\n")
    for d in corpus.documents:
        part = d.__dict__.get("_check_context")   # a function of the tree: kept with it
        if part is None or part[0] != (d.name, d.rel):
            cross = [f"{a}={v}" for _, a, v in outward_pointers(d)]
            part = d.__dict__["_check_context"] = (
                (d.name, d.rel),
                json.dumps([d.name, d.rel, d.id, d.has_text, list(d.ids), cross]).encode())
        h.update(part[1])
    return h.hexdigest()


def schematron_key(sch: Path, doc, hashes: dict | None = None) -> str | None:
    """A Schematron run's findings depend on the schema's bytes and the file's."""
    from editio import gate
    try:
        own = (hashes or {}).get(os.path.abspath(doc.path)) or sha(gate.open_regular(doc.path))
        return sha((code_hash() + sha(gate.open_regular(sch)) + own).encode())
    except (OSError, gate.Refused):
        return None


# ------------------------------------------------------------------ the site, page by page
ALL = "*"
"""A page that lists the whole edition (home, indexes, annotations …): it depends on every
document."""


class SiteCache:
    """The site's pages from the last build, with what each one read.

    While a page is rendered the site records its **dependencies**: the files of the
    documents it links to or quotes (every link to a unit goes through
    :class:`editio.builders.site.SiteLinks`), the documents that share an event with it,
    its own file.  Pages that list the whole edition (:data:`ALL`) depend on everything.
    Everything else a page may read (settings, templates, styles, witnesses, images, the
    authority files, the list of units with their titles and labels, editio itself) is
    the **skeleton**: when it changes, every page is made again.

    The next build takes a page from the previous output (hard-linked: not rewritten) when
    the skeleton is the same, none of its dependencies changed, it is not related to a
    changed document in the new edition either (a document that now points to it, or
    shares an event with it: :meth:`related`), and the previous output still holds the
    page's recorded bytes.  Its search records, diagnostics and images come from the
    record.  Parts of a document's page that the index pages quote (note bodies, passages)
    are kept too, valid while that page is taken as it was.
    """

    NAME = "site/pages.json"

    def __init__(self, store: Store, previous: Path, kept: tuple | None = None):
        """``kept``: ``(stamp, record)`` a server kept from its last rebuild (the record it
        saved, and :meth:`stamp` of the file then): taken instead of reading the file again
        while the file is as it was saved."""
        self.store = store
        self.previous = Path(previous)
        if kept is not None and store.enabled and kept[0] is not None \
                and kept[0] == self.stamp():
            self.old = kept[1]
        else:
            self.old = store.get(self.NAME) or {}
        if not isinstance(self.old, dict) or self.old.get("format") != FORMAT:
            self.old = {}
        self.skeleton = ""
        self.docs: dict[str, str] = {}     # document name -> hash of its bytes
        self.changed: set[str] = set()     # documents whose bytes differ from the record's
        self.units: dict[str, dict] = {}   # file split into units -> unit_parts()
        self.dirty: set[str] = set()       # units of changed files whose parts changed (or
        #                                    every unit of them: see :meth:`unit_changed`)
        self.split: set[str] = set()       # changed files whose unchanged units may be kept
        self.full = True                   # no usable record, or the skeleton changed
        self.reused: set[str] = set()      # pages taken from the previous output
        self.fragments: dict = {}          # page -> {key: html}, of pages taken as they were
        self.pages: dict = {}              # page -> what the new record keeps of it
        self.new_fragments: dict = {}
        self.interfaces: dict[str, str] = {}   # document -> what other pages see of it
        self.similar: dict = self.old.get("similar") if isinstance(self.old.get("similar"),
                                                                   dict) else {}
        """what pages worked out from their inputs alone, by the hash of those inputs:
        ``s:`` a pair of note texts -> whether they are the same note, near enough (the
        concordance's ``similar``); ``g:`` a document's part of the annotations page -> its
        HTML"""
        self.similar_used: dict = {}           # … the pairs this build compared
        self.tei: dict[str, str] = {}          # document -> hash of its published copy
        self.copies: dict[str, str] = {}       # file of the site copied from the project ->
        #                                        the hash of its bytes
        self.seen_changed: set[str] = set()    # changed documents whose interface changed
        self.views: dict[str, dict] = {}       # document -> {index page: its view of it}
        self.index_kept: set[str] = set()      # index pages whose views of the changes are as
        #                                        they were (:func:`index_views`)

    # ---- what changed
    _site = None

    def templates(self):
        """Jinja's compiled templates, kept between builds (``.editio-cache/templates``;
        Jinja checks each against its template's source and its Python version)."""
        if not self.store.enabled:
            return None
        from jinja2 import FileSystemBytecodeCache
        folder = self.store.root / "templates"
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError:
            return None
        return FileSystemBytecodeCache(str(folder))

    SORT_KEYS = "site/sort-keys.json"

    def warm(self, edition) -> None:
        """The sort keys the last build made (text -> collation key: a function of the text
        and of pyuca, whose version is in :func:`code_hash`), so that the collation table
        (~1 s to load) is read only for a name not seen before."""
        data = self.store.get(self.SORT_KEYS)
        if not (isinstance(data, dict) and data.get("code") == code_hash()
                and isinstance(data.get("keys"), dict)):
            return
        memo = edition.__dict__.setdefault("_sort_keys", {})
        self._sort_known = len(data["keys"])
        for k, v in data["keys"].items():
            if isinstance(v, list):
                memo.setdefault(k, tuple(v))

    _sort_known = -1

    def keep_sort_keys(self, edition) -> None:
        memo = edition.__dict__.get("_sort_keys") or {}
        keys = {k: list(v) for k, v in memo.items() if isinstance(k, str)}
        if len(keys) != self._sort_known:
            self.store.put(self.SORT_KEYS, {"code": code_hash(), "keys": keys})

    def start(self, site) -> None:
        """Hash the skeleton and the documents; compare with the record."""
        from editio import gate
        self._site = site
        corpus, edition = site.corpus, site.edition
        project = corpus.project
        texts = {d.path for d in corpus.texts}
        for d in corpus.texts:
            known = corpus.hashes.get(os.path.abspath(d.path))
            if known is not None:
                self.docs[d.name] = known
                continue
            try:
                self.docs[d.name] = sha(gate.open_regular(d.path))
            except (OSError, gate.Refused):
                self.docs[d.name] = "<unreadable>"
        h = hashlib.sha256(code_hash().encode())
        h.update(json.dumps(settings(project)).encode())
        root = Path(project.root)
        for p, real in corpus_files(corpus):  # all but the text documents: settings,
            if real not in texts:   # templates, styles, authority files, witnesses, images …
                h.update(str(p.relative_to(root)).encode() + b"\0"
                         + file_hash(p, corpus.hashes).encode() + b"\n")
        h.update(json.dumps([[rd.id, rd.doc.name, rd.number, rd.n, rd.label, rd.title, rd.kind,
                              site.doc_pages[rd.id]] for rd in edition.docs]).encode())
        h.update(json.dumps(site.nav()).encode())
        self.skeleton = h.hexdigest()
        old_docs = self.old.get("docs") or {}
        self.full = self.old.get("skeleton") != self.skeleton or set(old_docs) != set(self.docs)
        self.changed = {n for n, v in self.docs.items() if old_docs.get(n) != v}
        if self.full:   # nothing is compared: the units' parts are worked out for the record
            self._units_later = True   # by ahead(), out of the way of the pages (a FRUS
        else:                          # volume: ~0.15 s before the page writers fork)
            self._units(site)

    _units_later = False

    def _units(self, site) -> None:
        """The parts of each file whose text is split into units (a FRUS volume:
        :func:`unit_parts`), taken from the record for a file whose bytes are as they were;
        which units of the changed files changed."""
        old_units = self.old.get("units") if isinstance(self.old.get("units"), dict) else {}
        by_doc: dict = {}
        for rd in site.edition.docs:
            if not rd.is_file:
                by_doc.setdefault(rd.doc.name, []).append(rd)
        for name, rds in by_doc.items():
            old = old_units.get(name)
            if name not in self.changed and isinstance(old, dict) \
                    and set(old.get("units") or ()) == {rd.id for rd in rds}:
                self.units[name] = old   # (a function of the file's bytes and the skeleton)
            else:
                self.units[name] = unit_parts(rds)
                links = unit_links(site, name)
                self.units[name].update({k: {u: sorted(v) for u, v in links[k].items()}
                                         for k in ("to", "ties")})
        for name in set(by_doc):
            old, new = old_units.get(name), self.units[name]
            if new is old:
                continue
            if self.full or name not in self.changed or not isinstance(old, dict) \
                    or old.get("rest") != new["rest"] \
                    or set(old.get("units") or ()) != set(new["units"]) \
                    or not isinstance(old.get("shown"), dict):
                # what lies outside the units changed (or nothing to compare): every unit did
                new["shown"] = unit_shown(site, name, {rd.id for rd in by_doc[name]})
                continue
            self.split.add(name)
            dirty = {u for u, v in new["units"].items()
                     if not isinstance(old["units"].get(u), list) or old["units"][u][0] != v[0]}
            self.dirty |= dirty
            new["shown"] = {**old["shown"], **unit_shown(site, name, dirty)}

    def unit_changed(self, rd) -> bool:
        """``rd``'s page is one of a changed document's, to be made again: its file
        changed, and either the file is not split into units whose parts were compared, or
        this unit's part changed."""
        name = rd.doc.name
        return name in self.changed and (name not in self.split or rd.id in self.dirty)

    def first(self, jobs: list) -> list:
        """The jobs of the changed documents' own pages (none when everything is made):
        made first, before :meth:`plan` works out what the other pages see of the change."""
        if self.full:
            return []
        return [job for job in jobs if job[2] is not None and self.unit_changed(job[2])]

    _faced = False

    def _faces(self, site) -> None:
        """The changed documents' interfaces and index views, compared with the record's."""
        if self._faced:
            return
        self._faced = True
        old_faces = self.old.get("interfaces") or {}
        if not self.full:   # the others' are as the record has them (their bytes are)
            self.interfaces = {**{n: v for n, v in old_faces.items() if n in self.docs},
                               **doc_interfaces(site, self.changed)}
        self.seen_changed = {n for n in self.changed
                             if n not in old_faces or old_faces[n] != self.interfaces.get(n)}
        old_views = self.old.get("views") if isinstance(self.old.get("views"), dict) else {}
        # otherwise every index page is made again, and every document's view is worked out
        # for the record by ahead(), out of the pages' way
        if not self.full and not self.seen_changed:
            # an unchanged document's view is as the record has it while no changed
            # document's interface changed (its view reads the others only through theirs)
            self.views = {n: v for n, v in old_views.items() if n in self.docs
                          and n not in self.changed}
            self.views.update(index_views(site, self.changed))
            self.index_kept = {
                page for page in INDEX_VIEWS
                if all(isinstance(old_views.get(n), dict) and old_views[n].get(page) is not None
                       and old_views[n].get(page) == self.views[n].get(page)
                       for n in self.changed)}

    def related(self, site, name: str) -> set[str]:
        """The documents whose pages a change of ``name`` may change, in the new edition:
        those it points to and those pointing to it, those sharing an event with it."""
        memo = self.__dict__.setdefault("_related", {})
        if name not in memo:   # (asked of a few documents: the changed ones, mostly)
            memo[name] = related_of(site.corpus, name)
        return memo[name]

    def plan(self, site, jobs: list[tuple[str, object, object]]):
        """Split ``jobs`` ((page, make, unit or None)) into (reuse, first, then): the pages
        to take as they were, the pages of the changed documents (made first: what they
        link to now is known after them, :meth:`also`), and the others to make again."""
        old_pages = self.old.get("pages") or {}
        if self.full:
            return [], [], list(jobs)
        self._faces(site)
        touched: set[str] = set()
        for x in self.seen_changed:   # related in the new edition, or in the old one
            touched |= self.related(site, x)
            for rd in site.edition.docs:
                if rd.doc.name == x:
                    touched |= set((old_pages.get(site.doc_pages[rd.id]) or {}).get("deps", ()))
        near: set[str] = set()   # units of a changed file related to a changed unit
        old_units = self.old.get("units") if isinstance(self.old.get("units"), dict) else {}
        for x in self.split:   # (related now, or at the last build: a pointer removed)
            now, was = unit_links(site, x), old_units.get(x) or {}
            shown_old, shown_new = was.get("shown") or {}, self.units[x].get("shown") or {}
            for u in self.dirty:   # what it points to (back-links, notes on their passages),
                for k in ("to", "ties"):   # what shares an event with it
                    near |= now[k].get(u, set()) | set((was.get(k) or {}).get(u) or ())
            moved = {u for u in self.dirty if shown_old.get(u) != shown_new.get(u)}
            if moved:   # units pointing into a changed unit whose targets show otherwise
                for links in (now["to"], was.get("to") or {}):
                    near |= {a for a, to in links.items() if moved & set(to)}
        reuse, first, rest = [], [], []
        for job in jobs:
            name, _, rd = job
            rec = old_pages.get(name)
            if rd is not None and self.unit_changed(rd):
                first.append(job)
            elif rec is None or not self._intact(name, rec):
                rest.append(job)
            elif not self.changed:
                reuse.append(job)
            elif rd is None and name in self.index_kept:   # its view of each change as it was
                reuse.append(job)
            elif rd is None or ALL in rec.get("deps", ()) \
                    or set(rec.get("deps", ())) & self.seen_changed or rd.doc.name in touched:
                rest.append(job)
            elif rd.doc.name in self.changed and (
                    rd.id in near or (rec.get("diagnostics") and self._moved(rd, old_units))):
                rest.append(job)   # an unchanged unit of a changed file: it points to a changed
                #                    unit, or one points to it; or its warnings' lines moved
            else:
                reuse.append(job)
        return reuse, first, rest

    def _moved(self, rd, old_units) -> bool:
        """The unit starts on another line than at the last build."""
        old = (old_units.get(rd.doc.name) or {}).get("units") or {}
        new = (self.units.get(rd.doc.name) or {}).get("units") or {}
        return not (isinstance(old.get(rd.id), list) and new.get(rd.id)
                    and old[rd.id][1] == new[rd.id][1])

    def also(self, made: dict, first: list, reuse: list) -> list:
        """The pages of ``reuse`` that the pages just ``made`` (those of the changed
        documents whose interface changed) depend on now: a new pointer gives its target a
        back-link."""
        linked = set()
        for name, _, rd in first:
            if rd is not None and rd.doc.name in self.seen_changed and name in made:
                linked |= set(made[name]["deps"])
        return [job for job in reuse if job[2] is not None and job[2].doc.name in linked]

    def _intact(self, name: str, rec: dict) -> bool:
        p = self.previous / name
        return isinstance(rec, dict) and file_hash(p) == rec.get("sha") and all(
            file_hash(self.previous / a) == s for a, s in (rec.get("files") or {}).items())

    # ---- taking pages as they were
    def reuse(self, out: Path, name: str) -> dict:
        """Link the page (and its images) into ``out``; its record."""
        rec = self.old["pages"][name]
        for rel in [name, *(rec.get("files") or {})]:
            dest = out / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            if dest.exists():
                dest.unlink()
            link_or_copy(self.previous / rel, dest)
        self.reused.add(name)
        self.pages[name] = rec
        frags = (self.old.get("fragments") or {}).get(name)
        if frags:
            self.fragments[name] = frags
        return rec

    def fragment(self, page: str, key: str):
        """A part of ``page`` kept from the last build (None if the page was made again)."""
        return self.fragments.get(page, {}).get(key)

    # ---- the published TEI
    def reuse_tei(self, out: Path, name: str) -> bool:
        """Link the last build's published copy of document ``name`` into ``out/tei`` if
        nothing it is made of changed (its file, the skeleton: the settings) and the copy
        is still as written."""
        old = (self.old.get("tei") or {}).get(name)
        if self.full or name in self.changed or not old or name not in self.old.get("tei", {}):
            return False
        if not self._site or name not in {d.name for d in self._site.corpus.documents}:
            return False
        src, dest = self.previous / "tei" / name, Path(out) / "tei" / name
        if file_hash(src) != old:
            return False
        dest.unlink(missing_ok=True)
        link_or_copy(src, dest)
        self.tei[name] = old
        return True

    def reuse_copy(self, out: Path, rel: str, source: str) -> bool:
        """Link the last build's copy of a file of the project (a style, a font) into
        ``out`` if it was copied from bytes that hash as ``source`` does now and is still as
        written."""
        old = (self.old.get("copies") or {}).get(rel)
        src = self.previous / rel
        if old != source or source.startswith("<") or file_hash(src) != old:
            return False
        dest = Path(out) / rel
        dest.unlink(missing_ok=True)
        link_or_copy(src, dest)
        self.copies[rel] = old
        return True

    def tei_made(self, name: str, data: bytes) -> None:
        self.tei[name] = sha(data)

    # ---- the new record
    def made(self, out: Path, name: str, deps, records, diagnostics, assets, pages,
             fragments) -> dict:
        rec = {"sha": file_hash(out / name), "deps": sorted(deps), "pages": sorted(pages),
               "records": records, "diagnostics": diagnostics,
               "assets": assets, "files": {a: file_hash(out / a) for a in assets.values() if a}}
        self.pages[name] = rec
        for page, frags in fragments.items():
            if page not in self.reused:
                self.new_fragments.setdefault(page, {}).update(frags)
        return rec

    def ahead(self) -> None:
        """Work out what :meth:`save` needs that does not depend on the search index (the
        documents' interfaces), e.g. while the indexer runs in its own process."""
        if self._units_later and self._site is not None:
            self._units_later = False
            self._units(self._site)
        if not self.interfaces and self._site is not None:
            self.interfaces = doc_interfaces(self._site)
        if self._site is not None:
            missing = {d.name for d in self._site.corpus.texts} - set(self.views)
            if missing:
                self.views.update(index_views(self._site, missing))

    def let_go(self) -> None:
        """Keep no reference to the site (and so the edition) any more: :meth:`ahead` is
        done, and :meth:`save` needs only what it worked out."""
        self._site = None

    def stamp(self):
        """The record file's size, change time and inode (None if there is none): another
        build that wrote it since changes it."""
        try:
            st = os.stat(self.store.path(self.NAME))
        except OSError:
            return None
        return (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)

    saved: dict | None = None
    """The record :meth:`save` wrote (a server keeps it for its next rebuild)."""

    def save(self) -> None:
        self.saved = self._record()
        self.store.put(self.NAME, self.saved)

    def frozen(self) -> "FrozenRecord":
        """Write the record :meth:`save` would write, but with no search index (``search``
        null, its last key), now: neither the record's many small objects nor its JSON
        text are in memory while the search index is written (the build's peak of
        memory); :meth:`FrozenRecord.save` then adds the index's part."""
        record = self._record()
        record["search"] = None    # (the last key: _record ends with it)
        self.store.put(self.NAME, record)
        return FrozenRecord(self.store, self.NAME)

    def _record(self) -> dict:
        fragments = {**self.new_fragments, **self.fragments}
        self.ahead()
        used = {k[:2] for k in self.similar_used}
        return {"format": FORMAT, "skeleton": self.skeleton, "docs": self.docs,
                      "units": self.units,
                      "interfaces": self.interfaces, "views": self.views,
                      "pages": self.pages, "fragments": fragments,
                      # of each kind (note pairs compared; "g:" annotation groups), those
                      # used now, or all known if none was
                      "similar": {**{k: v for k, v in self.similar.items()
                                     if k[:2] in ("s:", "g:") and k[:2] not in used},
                                  **self.similar_used},
                      "tei": self.tei, "copies": self.copies, "search": self.search}

    search: dict | None = None

    def searched(self, key: str, out: Path) -> None:
        """The search index just built for ``key`` (kept by the next :meth:`save`)."""
        self.search = search_entry(key, out)

    def search_reusable(self, key: str, out: Path) -> bool:
        """The search index of the last build, if its pages and records were these: linked
        into ``out``."""
        old = self.old.get("search")
        src = self.previous / "pagefind"
        if not old or old.get("key") != key or not src.is_dir() \
                or tree_manifest(src) != old.get("files"):
            return False
        self.search = old
        dest = out / "pagefind"
        if dest.exists():
            shutil.rmtree(dest)
        shutil.copytree(src, dest, copy_function=link_or_copy)
        return True


def search_entry(key: str, out: Path) -> dict:
    """What a site's cache record keeps of the search index just built for ``key``."""
    return {"key": key, "files": tree_manifest(Path(out) / "pagefind")}


@dataclass
class FrozenRecord:
    """A site's cache record written without its ``search`` part (:meth:`SiteCache.frozen`),
    which :meth:`save` adds once the index is written."""
    store: Store
    name: str

    NO_SEARCH = ',"search":null}'

    def save(self, search: dict | None) -> None:
        """Write the record again, with ``search`` (:meth:`SiteCache.searched`'s) as its
        last key (a record that cannot be read back stays as it is: without an index,
        which the next build then makes again)."""
        if search is None:
            return
        try:
            text = self.store.path(self.name).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return
        if text.endswith(self.NO_SEARCH):
            tail = json.dumps(search, ensure_ascii=False, separators=(",", ":"))
            self.store.put(self.name, None,
                           text=f'{text[:-len(self.NO_SEARCH)]},"search":{tail}}}')


def outward_pointers(doc):
    """``(element, attribute, value)`` of each pointer attribute of ``doc`` that may lead
    out of it (a token not of the ``#id`` form, which stays in the same file), in document
    order: an XPath over the attributes instead of a look at each attribute of each element."""
    memo = doc.__dict__.get("_outward_pointers")   # a function of the tree alone
    if memo is None:
        from editio.corpus import POINTER_ATTRS
        test = " or ".join(f"name()='{a}'" for a in POINTER_ATTRS)
        memo = doc.__dict__["_outward_pointers"] = [
            (v.getparent(), v.attrname, str(v)) for v in doc.root.xpath(
                f"descendant-or-self::*/@*[{test}][not(starts-with(normalize-space(.), '#'))"
                " or contains(normalize-space(.), ' ')]")
            if not all(t.startswith("#") for t in v.split())]
    return memo


def pointers_naming(doc) -> dict[str, list]:
    """The file names (the last part of the path, unquoted) the pointers of
    :func:`outward_pointers` name -> those pointers (``(element, attribute, value)``, in
    document order): a function of the tree alone, kept with it."""
    memo = doc.__dict__.get("_pointers_naming")
    if memo is None:
        memo = {}
        for p in outward_pointers(doc):
            for stem in {posixpath.basename(unquote(t.split("#", 1)[0])) for t in p[2].split()}:
                memo.setdefault(stem, []).append(p)
        doc.__dict__["_pointers_naming"] = memo
    return memo


def _naming(doc, stems) -> list:
    """The pointers of ``doc`` that name a file called one of ``stems``, in document order."""
    table = pointers_naming(doc)
    found = [p for s in stems for p in table.get(s, ())]
    if len(stems) > 1:   # (a pointer naming two of them is listed once)
        seen, order = set(), {id(p): i for i, p in enumerate(outward_pointers(doc))}
        found = sorted((p for p in found if not (id(p) in seen or seen.add(id(p)))),
                       key=lambda p: order[id(p)])
    return found


def unit_parts(rds: list) -> dict:
    """The parts of one file split into units (``rds``, its units, in order): ``units``:
    unit id -> [the hash of its element (without its tail) and of the elements shown with
    it (:attr:`editio.transforms.ResolvedDoc.leading`, ``trailing``), the line it starts
    on]; ``rest``: the hash of everything else of the file (the header, the front and back
    matter, the divisions' headings around the units, every unit's tail), each unit stood
    for by its id.  A unit whose part is as it was, in a file whose rest is too, reads of
    its file only its own part, what :func:`doc_interfaces` says of the others (numbers,
    labels, anchors) and the units it points to or that point to it (:func:`unit_links`)."""
    from lxml import etree
    units, tops = {}, {}
    for rd in rds:
        h = hashlib.sha256(etree.tostring(rd.element, with_tail=False))
        for e in (*rd.leading, *rd.trailing):
            h.update(b"\0" + etree.tostring(e, with_tail=True))
        units[rd.id] = [h.hexdigest(), rd.element.sourceline]
        tops[rd.element] = rd.id
    root = rds[0].doc.root
    rest = hashlib.sha256()
    for sib in reversed(list(root.itersiblings(preceding=True))):   # the prolog's PIs, comments
        rest.update(etree.tostring(sib, with_tail=False) + b"\0")

    def walk(el) -> None:
        rest.update(repr((el.tag if isinstance(el.tag, str) else str(el),
                          sorted(el.attrib.items()) if isinstance(el.tag, str) else (),
                          el.text)).encode() + b"\0")
        for c in el:
            unit = tops.get(c)
            if unit is not None:
                rest.update(f"<unit {unit}>".encode() + b"\0")
            else:
                walk(c)
            rest.update(repr(c.tail).encode() + b"\1")
    walk(root)
    return {"rest": rest.hexdigest(), "units": units}


def unit_links(site, name: str) -> dict[str, dict[str, set[str]]]:
    """The units of file ``name`` related to each other: ``to``: unit id -> the units its
    elements point to (a ``#id`` pointer, or one naming the file itself); ``ties``: unit
    id -> the units sharing an event with it; ``targeted``: unit id -> its ids other units
    point to (kept with the edition: worked out once per build).  Read from the pointers'
    text and the units' ids alone (no pointer is resolved): a FRUS volume holds tens of
    thousands of pointers, most of them to its lists of persons and terms."""
    memo = site.edition.__dict__.setdefault("_unit_links", {})
    if name in memo:
        return memo[name]
    from editio.corpus import POINTER_ATTRS, SINGLE_POINTER_ATTRS
    edition, corpus = site.edition, site.corpus
    doc = corpus.by_name.get(name)
    out: dict[str, dict[str, set[str]]] = {"to": {}, "ties": {}, "targeted": {}}
    memo[name] = out
    if doc is None:
        return out
    rds = [rd for rd in edition.docs if rd.doc is doc and not rd.is_file]
    stem = posixpath.basename(name)
    owner: dict[str, str] = {}   # xml:id -> the unit holding it
    # (the attributes' values as plain strings: no element is looked at in Python)
    from lxml import etree
    ids = etree.XPath("descendant-or-self::*/@xml:id", smart_strings=False)

    def values_of(attrs):
        test = " or ".join(f"name()='{a}'" for a in attrs)
        return etree.XPath(f"descendant-or-self::*/@*[{test}]", smart_strings=False)
    listing = values_of([a for a in POINTER_ATTRS if a not in SINGLE_POINTER_ATTRS])
    single = values_of([a for a in POINTER_ATTRS if a in SINGLE_POINTER_ATTRS])
    for rd in rds:
        for top in (rd.element, *rd.leading, *rd.trailing):
            for i in ids(top):
                owner.setdefault(i, rd.id)
    for rd in rds:
        for top in (rd.element, *rd.leading, *rd.trailing):
            # (a unit's tokens, those of its one-URI attributes last: the sets made do not
            # depend on the order)
            for toks in ([t for v in listing(top) for t in v.split()],
                         [v.strip() for v in single(top)]):
                for t in toks:
                    path, _, frag = t.partition("#")
                    if frag and (not path or posixpath.basename(unquote(path)) == stem):
                        frag = unquote(frag)
                        there = owner.get(frag)
                        if there is not None and there != rd.id:
                            out["to"].setdefault(rd.id, set()).add(there)
                            out["targeted"].setdefault(there, set()).add(frag)
    for passages in corpus.event_passages.values():
        here = {r.id for r in (edition.locate(seg) for d, seg in passages if d is doc)
                if r is not None}
        for a in here:
            if len(here) > 1:
                out["ties"].setdefault(a, set()).update(here - {a})
    return out


def unit_shown(site, name: str, only: set[str]) -> dict[str, str]:
    """unit id (of ``only``) -> the hash of what pages pointing into the unit show of it:
    each of its elements another unit points to, its fragment and "Doc. 3, p. 5" label."""
    edition = site.edition
    doc = site.corpus.by_name.get(name)
    targeted = unit_links(site, name)["targeted"]
    by_id = {rd.id: rd for rd in edition.docs if rd.doc is doc and not rd.is_file}
    out = {}
    for u in only:
        rd = by_id.get(u)
        if rd is None:
            continue
        items = []
        for i in sorted(targeted.get(u, ())):
            el = doc.ids.get(i)
            items.append([i, None] if el is None else
                         [i, site.fragment_for(rd, el), edition.place_label(rd, el)])
        out[u] = sha(json.dumps(items, default=str, ensure_ascii=False).encode())
    return out


def related_docs(corpus) -> dict[str, set[str]]:
    """document name -> the documents it points to, that point to it, or that share an
    event with it (each includes itself)."""
    out: dict[str, set[str]] = {d.name: {d.name} for d in corpus.texts}
    for doc in corpus.texts:
        for el, a, _ in outward_pointers(doc):
            for _, r in corpus.targets(doc, el, a):
                if r.doc is not None and r.doc is not doc and r.doc.name in out:
                    out[doc.name].add(r.doc.name)
                    out[r.doc.name].add(doc.name)
    for ps in corpus.event_passages.values():
        names = {d.name for d, _ in ps}
        for n in names:
            out.setdefault(n, {n}).update(names)
    return out


def related_of(corpus, name: str) -> set[str]:
    """:func:`related_docs` of one document (``related_docs(corpus).get(name, set())``),
    without resolving every pointer of the edition: a pointer of another document is
    resolved only when its path names a file of ``name``'s (a pointer into another file
    names it: :func:`doc_interfaces` makes the same test)."""
    doc = corpus.by_name.get(name)
    texts = {d.name for d in corpus.texts}
    if doc is None or name not in texts:
        return set()
    out = {name}
    stem = posixpath.basename(name)
    for d in corpus.texts:
        for el, a, v in (outward_pointers(d) if d is doc else _naming(d, (stem,))):
            for _, r in corpus.targets(d, el, a):
                if r.doc is None or r.doc is d:
                    continue
                if d is doc and r.doc.name in texts:
                    out.add(r.doc.name)
                elif r.doc is doc:
                    out.add(d.name)
    for ps in corpus.event_passages.values():
        names = {x.name for x, _ in ps}
        if name in names:
            out.update(names)
    return out


def doc_interfaces(site, only: set[str] | None = None) -> dict[str, str]:
    """document name -> the hash of what other pages can see of it: its units' labels,
    paragraph anchors and numbers, annotation numbers; every element of it that points
    into another document, and every element of it another document points to (where it
    is shown: its fragment and "Doc. 3, ¶ 5" label); its event passages (markup and claims);
    the entities and glossary entries it defines.  A change inside a document that leaves
    this as it was (a word of a note, of a paragraph) changes its own page and the pages
    that list everything, not the pages of the documents it is related to.

    All of it but the elements other documents point to is a function of the document's
    own bytes (and of the skeleton); ``only`` limits the work to those documents."""
    from dataclasses import asdict

    from lxml import etree

    from editio.corpus import POINTER_ATTRS
    from editio.rules.claims import claims_of
    edition, corpus = site.edition, site.corpus
    items: dict[str, list] = {d.name: [] for d in corpus.texts
                              if only is None or d.name in only}
    texts = {d.name for d in corpus.texts}
    stems = {posixpath.basename(n) for n in items}

    def path(el):
        return el.getroottree().getpath(el)

    def shown(el, doc):
        rd = edition.locate(el)
        if rd is None:
            return [doc.name, path(el), None]
        return [doc.name, path(el), rd.id, site.fragment_for(rd, el), edition.place_label(rd, el)]

    for rd in edition.docs:
        if rd.doc.name in items:
            items[rd.doc.name].append(
                ["unit", rd.id, rd.label, rd.n, rd.number,
                 [[path(el), *v] for el, v in rd.paragraphs.items()],
                 [[path(a.element), a.n, a.label, a.id] for a in rd.annotations]])
    for doc in corpus.texts:
        mine = doc.name in items
        # (a pointer into another file names it)
        for el, a, v in (outward_pointers(doc) if mine else _naming(doc, sorted(stems))):
            for tok, r in corpus.targets(doc, el, a):
                if r.doc is None or r.doc is doc or r.doc.name not in texts:
                    continue
                if mine:
                    items[doc.name].append(["out", a, tok, *shown(el, doc)])
                if r.doc.name in items and r.element is not None:
                    items[r.doc.name].append(["in", *shown(r.element, r.doc)])
    for ev, passages in corpus.event_passages.items():
        for d, seg in passages:
            if d.name in items:
                items[d.name].append(["event", ev, etree.tostring(seg, encoding="unicode"),
                                      *shown(seg, d), [asdict(c) for c in claims_of(seg)]])
    for ent in corpus.entities.values():
        if ent.doc.name in items:
            items[ent.doc.name].append(["entity", etree.tostring(ent.element, encoding="unicode")])
    for e in edition.glossary.values():
        if e.doc is not None and e.doc.name in items:
            items[e.doc.name].append(["glossary", e.id, e.term, e.description, e.page])
    return {n: sha(json.dumps(v, default=str, ensure_ascii=False).encode()) for n, v in items.items()}


INDEX_VIEWS = ("index.html", "contents.html", "principles.html", "persons.html", "places.html",
               "organisations.html", "timeline.html", "concordance.html", "redactions.html",
               "search.html")
"""The pages over the whole edition whose part of each document :func:`index_views` can
say; the others (:data:`ALWAYS_MADE`, the profile's glossaries) are made again whenever a
document changes.  A page added to :meth:`editio.builders.site.Site.fixed_pages` goes in
one or the other (tests/test_cache.py fails otherwise), and a view must hash everything of
a document its page shows (the same test changes each part of a document in turn and
fails when a page changes while its view of the document does not)."""

ALWAYS_MADE = ("annotations.html",)
"""Pages over the whole edition made again whenever a document changes (its part of the
annotations page is kept by the hash of what it shows: ``annotations-group.html``)."""


def index_views(site, only: set[str] | None = None) -> dict[str, dict[str, str]]:
    """document name -> {index page: the hash of what that page reads of the document}.

    Valid with :func:`doc_interfaces`: when a changed document's interface is as it was (the
    other documents' pages see it as before), an index page whose view of it is as it was
    too is the same page, and is taken from the last build.  Each view is written
    conservatively, from the TEI of the parts the page shows (with their typographic quotes),
    their places (unit, paragraph, note number, fragment):

    * the home page, the Note on the text: the header, the annotations' kinds and types, the
      silent regularisations, page breaks;
    * the contents: the headings of the divisions around each unit;
    * persons, places, organisations: every name element of the text, where it stands;
    * the timeline: every passage that points to an event (``@corresp``), where it stands;
    * the concordance: each such passage's TEI, its annotation and notes, the annotations
      inside it (all but their notes: the passage shows their calls);
    * the redactions page: each redaction of its units (all but its line and column), the
      annotation on it, where it stands;
    * the search page: nothing of any document."""
    from lxml import etree

    from editio.behaviours import local
    from editio.corpus import NAME_ELEMENTS, T
    edition, corpus = site.edition, site.corpus
    quotes = edition.quotes
    units: dict[str, list] = {}
    for rd in edition.docs:
        units.setdefault(rd.doc.name, []).append(rd)

    def xml(el) -> str:
        return etree.tostring(el, encoding="unicode", with_tail=False)

    def curled(el, with_tail=False) -> list:
        out = []
        for e in el.iter():
            for k in ("text", "tail"):
                if (e, k) in quotes and (with_tail or e is not el or k == "text"):
                    out.append([el.getroottree().getpath(e), k, quotes[(e, k)]])
        return out

    def where(el) -> list:
        rd = edition.locate(el)
        if rd is None:
            return [None]
        note = next(el.iterancestors("{*}note"), None)   # (a note of any namespace)
        return [rd.id, rd.paragraph_of(el),
                site._note_of[note][1].n if note is not None and note in site._note_of else None,
                site.fragment_for(rd, el), edition.place_label(rd, el)]

    def fields(a) -> list | None:
        """All an annotation carries but its notes (kind, type, number, readings …)."""
        if a is None:
            return None
        return [a.n, a.label, a.kind, a.type, a.cert, a.resp, a.id, a.diplomatic, a.edited,
                a.targets, a.agreement]

    from editio.redactions import _collect_unit, all_units, rules_of
    rules = rules_of(corpus.project)
    all_red_units = all_units(corpus, rules) if not rules.empty else []
    red_of: dict = {}   # unit element -> its redactions (the edition's, collected once)
    if only is not None and "redactions" not in edition.__dict__ and not rules.empty:
        # the views of a few documents (serve --watch, one changed) while the edition's
        # redactions are not collected (its redactions page is taken as it was): those
        # documents' units only
        anns_of: dict = {}   # (once per document: a FRUS volume has hundreds of units)
        for unit in all_red_units:
            if unit.doc.name in only:
                anns = anns_of.get(unit.doc.name)
                if anns is None:
                    anns = anns_of[unit.doc.name] = {
                        a.element: a for a in corpus.annotations.get(unit.doc.name, [])}
                red_of[unit.element] = list(_collect_unit(unit.doc, unit, rules, anns,
                                                          corpus.behaviour_table))
    else:
        for r in (edition.redactions if not rules.empty else ()):
            red_of.setdefault(r.unit.element, []).append(r)
    out: dict[str, dict[str, str]] = {}
    for doc in corpus.texts:
        if only is not None and doc.name not in only:
            continue
        rds = units.get(doc.name, [])
        header = doc.root.find(T + "teiHeader")
        head = [xml(header) if header is not None else "", doc.date,
                [[rd.id, [[a.kind, a.type, a.n, a.label] for a in rd.annotations],
                  [[a.kind, a.type] for a in rd.silent]] for rd in rds],
                doc.root.find(f".//{T}pb") is not None]
        names, events, times = [], [], []
        # (the names of the header and of standOff are not the text's: skipped as a whole)
        aside = {e for top in doc.root.iter(T + "teiHeader", T + "standOff") for e in top.iter()}
        for el in doc.root.iter():
            if not isinstance(el.tag, str):
                continue
            name = local(el)
            if name in NAME_ELEMENTS and el not in aside:
                names.append([el.getroottree().getpath(el), xml(el), curled(el), *where(el)])
            elif name == "seg" and el.get("corresp"):
                rd = edition.locate(el)
                by = rd.by_element if rd is not None else {}
                ann = by.get(el)
                place = [el.getroottree().getpath(el), el.get("corresp"), el.get("subtype"),
                         *where(el)]
                times.append(place)
                events.append([*place, xml(el), curled(el), fields(ann),
                               # the passage's own notes, shown in full
                               [[xml(n), curled(n)] for n in (ann.notes if ann else ())],
                               # what the passage shows of the annotations inside it (their
                               # calls), not their notes
                               [[e.getroottree().getpath(e), fields(by[e])] for e in el.iter()
                                if e is not el and e in by]])
        reds = []
        if not rules.empty:   # the redactions page: each redaction of the document's units
            mine = [u for u in all_red_units if u.doc is doc]
            for unit in mine:
                reds.append([unit.number, unit.title, unit.position, unit.id, unit.label,
                             *where(unit.element)])
                for r in red_of.get(unit.element, ()):
                    rec = r.record()
                    for k in ("file", "line", "col"):   # not shown (a line added above)
                        rec.pop(k, None)
                    rd = edition.locate(r.unit.element) or edition.resolved(r.unit.doc)
                    a = rd.by_element.get(r.annotation.element) \
                        if rd is not None and r.annotation is not None else None
                    reds.append([rec, r.describe(), fields(a),
                                 *[[e.getroottree().getpath(e), *where(e)] if e is not None
                                   else None for e in (r.element, r.anchor)]])
        views = {"index.html": head, "principles.html": head, "redactions.html": reds,
                 "contents.html": [rd.context for rd in rds],
                 "persons.html": names, "places.html": names, "organisations.html": names,
                 "timeline.html": [doc.date, times], "concordance.html": events,
                 "search.html": []}
        out[doc.name] = {k: sha(json.dumps(v, default=str, ensure_ascii=False).encode())
                         for k, v in views.items()}
    return out


def link_or_copy(src, dst) -> None:
    """``dst`` as a hard link to ``src`` (a file of the last build taken as it was), or a
    copy where the file system cannot link."""
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)
