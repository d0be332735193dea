"""``editio serve --watch``: rebuild the site on every save and tell the open pages.

The loop: :mod:`watchfiles` reports a change in the project (the output folder, hidden files
and editors' backup files are ignored); :class:`Rebuilder` rebuilds the **site only** (no
PDF: that is ``editio build``'s) and :class:`LiveState` tells every open page through the
server's reload channel (:mod:`editio.serve`, Server-Sent Events).

What a rebuild does, cheapest first:

* **nothing changed** (the bytes of every input file are those of the last build: a save
  without an edit, a ``touch``): nothing is read, checked or written;
* otherwise the edition is read, checked and resolved; if the check finds **errors**, the
  last good site stays as it is, the located diagnostics (``file:line:col``, code, message)
  are printed in the terminal and shown over the open page, and the next good build
  clears them;
* the check and the site use the build cache (:mod:`editio.cache`): only the files that
  changed are checked again, only the pages that depend on the change are made (the others
  are linked from the live site);
* what a rebuild may take from the last is kept in memory: each file's hash (every file is
  read once per rebuild), the parsed files whose bytes did not change with what was worked
  out from each alone (ids, text views, quotes, annotated elements, pointers, entities,
  note texts, paragraph numbers: :meth:`editio.corpus.Corpus.load`), the pointers resolved
  into those files (:attr:`editio.corpus.Corpus.before`), the settings while no file but
  the TEI changed, the site's cache record it saved, the collation table and sort keys;
* the schema validation and the Schematron run in a thread of the server (libxml2 works
  without Python's lock) while the check's own rules run and the pages are made, on trees
  of their own (the changed files read again), with the RELAX NG schema and the Schematron
  compiled once (again when their bytes change) and the schema warmed up once beside the
  first search index; a page is put in place only once they found nothing wrong;
* the pages are rendered into a scratch folder and **only the files whose bytes changed**
  are moved into the live site (each with an atomic rename, so the server never serves a
  half-written page); files the edition no longer makes are removed.  The changed
  documents' own pages go first: they are in place, and the open pages told, while the
  pages that point to them or list them are made;
* an open page reloads when its own page changed (or every page did: a style); the
  **search index** is rebuilt after the pages, and only when a page changed.

Nothing here is global: a :class:`Rebuilder` and a :class:`LiveState` belong to one server.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from editio.diagnostics import Diagnostic, EditioError, Report

IGNORED_SUFFIXES = ("~", ".swp", ".swo", ".swx", ".tmp", ".bak", ".kate-swp")
SEARCH_DIR = "pagefind"


@dataclass
class LiveState:
    """What the open pages are told: the build generation, and whether the last build
    worked (if not, its diagnostics).  Thread-safe; waiting is on a condition."""
    generation: int = 0
    ok: bool = True
    diagnostics: list = field(default_factory=list)
    pages: dict = field(default_factory=dict)
    """page (``d002.html``) -> the generation it last changed in; ``*``: every page (a
    style, an image).  An open page reloads only when its own page changed."""
    _cond: threading.Condition = field(default_factory=threading.Condition, repr=False)

    def publish(self, ok: bool, diagnostics: list[Diagnostic], new_pages: bool,
                pages=None) -> None:
        with self._cond:
            if ok and new_pages:
                self.generation += 1
                for p in (pages or ("*",)):
                    self.pages[p] = self.generation
            self.ok = ok
            self.diagnostics = [dict(file=d.file, line=d.line, col=d.col, severity=d.severity,
                                     code=d.code, message=d.message, text=d.format())
                                for d in diagnostics]
            self._cond.notify_all()

    def snapshot(self) -> dict:
        with self._cond:
            return {"generation": self.generation, "ok": self.ok,
                    "diagnostics": list(self.diagnostics), "pages": dict(self.pages)}

    def wait(self, seen: dict | None, timeout: float) -> dict:
        """The state once it differs from ``seen`` (or after ``timeout`` seconds)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                now = {"generation": self.generation, "ok": self.ok,
                       "diagnostics": list(self.diagnostics), "pages": dict(self.pages)}
                left = deadline - time.monotonic()
                if now != seen or left <= 0:
                    return now
                self._cond.wait(left)


@dataclass
class Outcome:
    ok: bool
    report: Report
    changed: int = 0          # files of the site written or removed
    skipped: bool = False     # nothing changed in the inputs
    seconds: float = 0.0
    search: bool = False      # the search index was rebuilt
    pages: list = field(default_factory=list)   # the pages changed ("*": every page)


class Rebuilder:
    """Rebuilds one project's site in place, doing as little as the change allows."""

    def __init__(self, project, search: bool = True, out=sys.stderr, profile: str | None = None):
        self.project = project
        self.profile = profile    # --profile given on the command line (else editio.toml's)
        self.search = search
        self.out = out
        self.site = project.output_dir / "html"
        self._good: str | None = None     # the inputs of the site now served
        self._tried: str | None = None    # the inputs of the last rebuild, good or not
        self._lock = threading.Lock()
        self._warm: dict = {}   # what a rebuild may take from the last: the collation table
        self._synced: list[str] = []   # the files of the site the last sync changed
        self._hashes: dict = {}   # path -> hash of its bytes, of this rebuild (each read once)
        self._record = None       # (stamp, record) of the site's cache record it last saved
        self._parsed: dict = {}   # the files parsed by the last rebuild (a file whose bytes
        #                           hash as then is not parsed again: Corpus.load)
        self._settings: str | None = None   # _settings_key() when the project was loaded
        self._compiled: dict = {}   # the RELAX NG schemas and Schematron compiled (again
        #                             when their bytes change: prepare's ``kept``)

    # ------------------------------------------------------------ inputs
    def inputs(self) -> list[Path]:
        """Every file a build may read: the project's files, less the output, hidden
        files and folders, and editors' backup files."""
        root = self.project.root
        out = self.project.output_dir.resolve()
        files = []
        for dirpath, dirnames, filenames in os.walk(root):
            here = Path(dirpath)
            dirnames[:] = sorted(d for d in dirnames if not d.startswith(".")
                                 and (here / d).resolve() != out and d != "__pycache__")
            for name in sorted(filenames):
                if name.startswith(".") or name.endswith(IGNORED_SUFFIXES):
                    continue
                files.append(here / name)
        return files

    def digest(self) -> str:
        """The hash of every input's bytes; each file's hash is kept for this rebuild
        (:attr:`_hashes`: the check, the site and the reading of the files ask again)."""
        h = hashlib.sha256()
        hashes = self._hashes = {}
        for p in self.inputs():
            regular = False
            try:
                regular = p.is_file() and not p.is_symlink()
                data = p.read_bytes() if regular else b"<not a file>"
            except OSError:
                data, regular = b"<unreadable>", False
            own = hashlib.sha256(data)
            if regular:
                hashes[os.path.abspath(p)] = own.hexdigest()
            h.update(str(p.relative_to(self.project.root)).encode() + b"\0")
            h.update(own.digest())
        return h.hexdigest()

    def _settings_key(self) -> str | None:
        """The hash of every input of this rebuild but the TEI files of the input folder
        (:func:`editio.config.load` reads editio.toml and the profile files among them;
        a file added or removed changes it too); None before :meth:`digest`."""
        if not self._hashes:
            return None
        inp = os.path.abspath(self.project.input_dir) + os.sep
        h = hashlib.sha256(repr(self.profile).encode())
        for path in sorted(self._hashes):
            if not (path.startswith(inp) and path.endswith(".xml")):
                h.update(f"{path}\0{self._hashes[path]}\n".encode())
        return h.hexdigest()

    def relevant(self, path: str) -> bool:
        """A changed path that can change the site."""
        p = Path(path)
        name = p.name
        if name.startswith(".") or name.endswith(IGNORED_SUFFIXES) or name.startswith("#"):
            return False
        try:
            rel = p.resolve().relative_to(self.project.root.resolve())
        except (ValueError, OSError):
            return False
        out = self.project.output_dir.resolve()
        if p.resolve() == out or out in p.resolve().parents:
            return False
        return not any(part.startswith(".") or part == "__pycache__" for part in rel.parts)

    # ------------------------------------------------------------ rebuild
    def rebuild(self, force: bool = False) -> Outcome:
        with self._lock:
            return self._rebuild(force)

    def _rebuild(self, force: bool) -> Outcome:
        from editio.build import check_output, prepare, project_lock
        t0 = time.perf_counter()
        digest = self.digest()
        if not force and digest == self._tried:
            return Outcome(True, Report(), skipped=True, seconds=time.perf_counter() - t0)
        self._tried = digest
        if not force and digest == self._good:  # back to the sources of the site served
            return Outcome(True, Report(), seconds=time.perf_counter() - t0)
        report = Report()
        try:
            from editio.config import load
            # editio.toml (or the profile) may have changed: read again unless no file but
            # the edition's TEI changed since it was read
            settings = self._settings_key()
            if settings is None or settings != self._settings:
                self.project = load(self.project.root, profile=self.profile)
                self._settings = self._settings_key()
            project = self.project
            check_output(project)
            with project_lock(project):
                # the schema validation goes on in its own process while the pages are made;
                # nothing is put in place before it has said the sources are valid
                edition, report, finish = prepare(project, defer=True, reuse=self._parsed,
                                                  hashes=self._hashes, kept=self._compiled)
                if edition is None:
                    return Outcome(False, report, seconds=time.perf_counter() - t0)
                valid = _Validation(finish, report)
                # the collation table (1 s to load) and the sort keys made with it depend on
                # no input: loaded once for the server's life, kept from one rebuild to the next
                if "_collator" not in self._warm:
                    self._warm["_collator"] = edition._collator
                edition.__dict__.update(self._warm)
                try:
                    changed, scratch, site, early = self._render(edition, report, valid)
                except _Invalid:
                    return Outcome(False, report, seconds=time.perf_counter() - t0)
                except BaseException:
                    finish.cancel()
                    raise
                if "_sort_keys" in edition.__dict__:
                    self._warm["_sort_keys"] = edition.__dict__["_sort_keys"]
                try:
                    self._good = digest
                    outcome = Outcome(True, report, changed=changed + early,
                                      seconds=time.perf_counter() - t0,
                                      pages=_pages(self._synced))
                    if changed:
                        self._on_pages(outcome)   # pages first: the open pages reload now
                    site.copy_tei()   # then the published TEI (no page shows it)
                    outcome.changed += self._sync(scratch / "tei", self.site / "tei")
                    self._warm_up(edition.corpus)   # (beside the search indexer)
                    if (changed or early) and self.search:
                        site.index_search()      # (saves the site's cache record too)
                        self._sync(scratch / SEARCH_DIR, self.site / SEARCH_DIR)
                        outcome.search = True
                    elif site.cache is not None:
                        site.cache.save()   # once the pages are in place: not in their way
                    if site.cache is not None and site.cache.saved is not None:
                        self._record = (site.cache.stamp(), site.cache.saved)
                    return outcome
                finally:
                    shutil.rmtree(scratch, ignore_errors=True)
        except EditioError as err:
            report.extend(_one(err.diagnostic))
            return Outcome(False, report, seconds=time.perf_counter() - t0)
        except OSError as err:
            report.error(project_rel(self.project, err), 0, "serve.rebuild",
                         f"cannot write the site: {err.strerror or err}")
            return Outcome(False, report, seconds=time.perf_counter() - t0)

    def _warm_up(self, corpus) -> None:
        """Once, after the first good rebuild: the schema compiled and used on one file in a
        thread (:func:`editio.check.warm_up`), so that the first edit is validated as fast
        as the next ones (the next rebuild waits for it if it comes first)."""
        if self._compiled.get("warm") or "schemas" not in self._compiled:
            return
        from editio.check import warm_up
        from editio.parallel import InThread
        self._compiled["warm"] = True
        schemas = self._compiled["schemas"]
        self._compiled["warming"] = InThread(lambda: warm_up(corpus, schemas))

    def settle(self) -> None:
        """Wait for the work a rebuild left running in the background (the schema's
        warm-up), e.g. before timing the next rebuild."""
        warming = self._compiled.pop("warming", None)
        if warming is not None:
            warming.result()

    _on_pages = staticmethod(lambda outcome: None)
    """Called once pages are in place, before the search index (the server tells the
    open pages to reload here): first when the changed documents' own pages are, then
    when the pages that point to them or list them are."""

    def _render(self, edition, report, valid=None) -> tuple[int, Path, object, int]:
        """Render the site into a scratch folder beside the output; move the files whose
        bytes changed into the live site.  Returns (files changed, scratch, the Site)."""
        from editio.builders.site import Site, site_cache
        from editio.build import MARKER
        parent = self.project.output_dir
        parent.mkdir(parents=True, exist_ok=True)
        if not (parent / MARKER).exists():
            (parent / MARKER).write_text("made by editio; the whole directory is replaced by "
                                         "each build\n", encoding="utf-8")
        for stale in parent.glob(".html.live-*"):  # left by a server that was killed
            shutil.rmtree(stale, ignore_errors=True)
        scratch = Path(tempfile.mkdtemp(prefix=".html.live-", dir=parent))
        # pages nothing of which changed are linked from the live site, not made again
        site = Site(edition, scratch, report, cache=site_cache(self.project, kept=self._record))
        self._record = None
        site.keep_memory = True   # the parsed files and their text views serve the next rebuild
        site.tei_later = True     # copied once the pages are in place (_rebuild)
        index = site.index_search
        site.index_search = lambda: None     # later, and only if a page changed
        early = []

        def first_pages(names):
            """The changed documents' own pages, made first: in place at once, and the
            open pages told, while the pages that list them are made."""
            if valid is not None and not valid():
                raise _Invalid()
            self._synced = []
            n = sum(self._sync_file(scratch / name, self.site / name, Path(name))
                    for name in names if (scratch / name).is_file())
            early.append(n)
            if n:
                self._on_pages(Outcome(True, report, changed=n, pages=_pages(self._synced)))
        site.on_first = first_pages

        def before_fork():
            """A process forked while the validating thread runs inside libxml2 could
            inherit a lock it holds: the thread is done first (and found nothing wrong)."""
            if valid is not None and not valid():
                raise _Invalid()
        site.before_fork = before_fork
        try:
            site.build()
            if valid is not None and not valid():
                raise _Invalid()
        except BaseException:
            shutil.rmtree(scratch, ignore_errors=True)
            raise
        site.index_search = index
        self._synced = []
        changed = self._sync(scratch, self.site, keep={SEARCH_DIR, "tei"})
        if not (self.site / SEARCH_DIR).exists() and self.search:
            changed = changed or 1
        return changed, scratch, site, sum(early)

    def _sync_file(self, s: Path, d: Path, rel: Path) -> int:
        """Replace ``d`` with ``s`` (atomically) if their bytes differ: 1 if it did."""
        try:   # a page taken from the live site is a hard link to it: the same file
            a, b = s.stat(), d.lstat()
            if (a.st_ino, a.st_dev) == (b.st_ino, b.st_dev):
                return 0
        except OSError:
            pass
        data = s.read_bytes()
        try:
            same = d.is_file() and not d.is_symlink() and d.stat().st_size == len(data) \
                and d.read_bytes() == data
        except OSError:
            same = False
        if same:
            return 0
        tmp = d.with_name(f".{d.name}.editio-tmp")
        tmp.write_bytes(data)
        os.replace(tmp, d)
        self._synced.append(rel.as_posix())
        return 1

    def _sync(self, src: Path, dest: Path, keep: set = frozenset()) -> int:
        """Make ``dest`` hold the files of ``src``: only files whose bytes differ are
        replaced (atomically); files not in ``src`` are removed (except the top-level
        names in ``keep``).  Returns how many files were written or removed."""
        n = 0
        dest.mkdir(parents=True, exist_ok=True)
        wanted = set()
        for dirpath, dirnames, filenames in os.walk(src):
            here = Path(dirpath)
            rel = here.relative_to(src)
            if rel.parts and rel.parts[0] in keep:
                dirnames[:] = []
                continue
            if not rel.parts:
                dirnames[:] = [d for d in dirnames if d not in keep]
            (dest / rel).mkdir(parents=True, exist_ok=True)
            for name in filenames:
                wanted.add(rel / name)
                n += self._sync_file(here / name, dest / rel / name, rel / name)
        for dirpath, dirnames, filenames in os.walk(dest, topdown=False):
            here = Path(dirpath)
            rel = here.relative_to(dest)
            if rel.parts and rel.parts[0] in keep:
                continue
            for name in filenames:
                if (rel / name) not in wanted and not (not rel.parts and name in keep):
                    (here / name).unlink(missing_ok=True)
                    self._synced.append((rel / name).as_posix())
                    n += 1
            if rel.parts and not any(here.iterdir()):
                here.rmdir()
        return n


class _Invalid(Exception):
    """The schema validation, finished while the pages were made, found errors."""


class _Validation:
    """``finish`` (:func:`editio.build.prepare`'s: waits for the schema validation and adds
    what it found to ``report``) called once; true if the sources have no errors."""

    def __init__(self, finish, report):
        self.finish, self.report, self.done = finish, report, False

    def __call__(self) -> bool:
        if not self.done:
            self.finish()
            self.done = True
        return not self.report.errors


def _pages(paths: list[str]) -> list[str]:
    """The pages a list of changed files of the site changes: its HTML files by name; a
    change anywhere else but the published TEI (a style, a script, an image) changes every
    page (``*``)."""
    out = {p for p in paths if "/" not in p and p.endswith(".html")}
    if any(not (("/" not in p and p.endswith(".html")) or p.startswith("tei/")) for p in paths):
        out.add("*")
    return sorted(out)


def _one(d: Diagnostic) -> Report:
    r = Report()
    r.add(d.file, d.line, d.col, d.severity, d.code, d.message)
    return r


def project_rel(project, err: OSError) -> str:
    name = err.filename if isinstance(err.filename, str) else ""
    return project.rel(Path(name)) if name else project.rel(project.output_dir)


def describe(outcome: Outcome) -> str:
    if outcome.skipped:
        return "no change in the sources; nothing rebuilt"
    if not outcome.ok:
        return (f"not rebuilt: {outcome.report.errors} error(s); the last good site is still "
                "served")
    what = f"{outcome.changed} file(s) of the site changed" if outcome.changed else \
        "no page changed"
    return (f"rebuilt in {outcome.seconds:.1f}s: {what}"
            + ("; search index rebuilt" if outcome.search else ""))


def watch(rebuilder: Rebuilder, state: LiveState, stop: threading.Event, out=sys.stderr,
          debounce_ms: int = 200) -> None:
    """Rebuild on every change until ``stop`` is set; never raises (a rebuild that fails is
    reported, the loop goes on)."""
    import watchfiles

    def wanted(change, path: str) -> bool:
        return rebuilder.relevant(path)

    for changes in watchfiles.watch(rebuilder.project.root, watch_filter=wanted,
                                    debounce=debounce_ms, step=50, stop_event=stop,
                                    raise_interrupt=False):
        names = sorted({rebuilder.project.rel(Path(p)) for _, p in changes})
        print(f"changed: {', '.join(names[:5])}{' …' if len(names) > 5 else ''}", file=out,
              flush=True)
        run_once(rebuilder, state, out)


def run_once(rebuilder: Rebuilder, state: LiveState, out=sys.stderr, force: bool = False):
    """One rebuild, reported in the terminal and to the open pages; never raises."""
    told = []

    def pages_ready(outcome):
        state.publish(True, _shown(outcome.report), new_pages=True, pages=outcome.pages)
        told.append(True)

    rebuilder._on_pages = pages_ready
    try:
        outcome = rebuilder.rebuild(force=force)
    except Exception as err:  # a bug must not stop the server: said, and the loop goes on
        report = Report()
        report.error("editio", 0, "serve.rebuild", f"the rebuild failed: {type(err).__name__}: {err}")
        outcome = Outcome(False, report)
    shown = _shown(outcome.report)
    for d in shown:
        print(d.format(), file=out)
    print(describe(outcome), file=out, flush=True)
    if not outcome.skipped:
        state.publish(outcome.ok, shown,
                      new_pages=outcome.ok and bool(outcome.changed) and not told)
    return outcome


def _shown(report: Report) -> list[Diagnostic]:
    return [d for d in report.sorted() if d.severity != "info"]
