"""``editio build``: read -> check -> corpus -> transforms -> render -> build.

    corpus  = Corpus.load(project)            # read
    report  = check(corpus)                   # check (errors stop the build)
    edition = transforms.resolve(corpus)      # corpus -> resolved tree
    builders write into a staging directory, swapped in at the end

Nothing is lost:

* output is written to ``.<output>.tmp-XXXX`` beside the output directory and
  swapped in only when every builder has finished (an atomic exchange where
  the kernel offers ``renameat2(RENAME_EXCHANGE)``), so a failed or
  interrupted build (Ctrl-C = SIGINT, SIGTERM, SIGHUP) leaves the previous
  output exactly as it was, and removes its staging directory;
* a build that only makes some formats (``--format html``) keeps the previous
  output of the others (hard-linked into the new output);
* a lock file (``.editio-build.lock``, an ``flock``) stops a second build of
  the same project while one runs, with a message naming the running one;
* a build killed outright (SIGKILL, power loss) leaves at most a staging
  directory, removed (or, if the kill fell between the two renames of the
  fallback swap, restored as the output) by the next build;
* editio only ever replaces an output directory it made itself: the output
  may not be the project, hold the input, or hold files editio did not write.
"""
from __future__ import annotations

import contextlib
import ctypes
import fcntl
import os
import shutil
import signal
import stat
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from editio import gate
from editio.check import check
from editio.config import Project
from editio.corpus import Corpus
from editio.diagnostics import EditioError, Report
from editio.transforms import Edition, resolve

FORMATS = ("html", "pdf")
"""editio's own formats (the default of ``editio build``); an edition may add more
(:mod:`editio.builders`), whose output folders are treated the same way."""
LOCK_NAME = ".editio-build.lock"
MARKER = ".editio-output"
"""A file editio writes into every output directory: its sign that it may replace it."""
SIGNALS = tuple(getattr(signal, n) for n in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, n))


class Interrupted(KeyboardInterrupt):
    """The build was stopped by a signal (``signum``); the output was left as it was."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


@dataclass
class BuildResult:
    report: Report
    output: Path
    timings: dict = field(default_factory=dict)
    up_to_date: bool = False
    """Nothing changed since the last build (:mod:`editio.cache`): nothing was rewritten."""


@contextlib.contextmanager
def project_lock(project: Project):
    """Hold an exclusive lock on the project for the whole build (released by the kernel
    when the process ends, however it ends)."""
    path = project.root / LOCK_NAME
    flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    try:  # never through a symlink (it would truncate its target), never a FIFO or device
        fd = os.open(path, flags, 0o644)
    except OSError as err:
        why = ("it is a symlink; remove it" if os.path.islink(path) else err.strerror)
        raise EditioError(f"cannot open the build lock: {why}", file=LOCK_NAME,
                          code="build.lock") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode) or os.fstat(fd).st_nlink != 1:
        os.close(fd)
        raise EditioError("the build lock is not a plain file (a FIFO, a device or a hard "
                          "link); remove it", file=LOCK_NAME, code="build.lock")
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "another process"
            raise EditioError(f"another build of this project is running (pid {holder}); "
                              "wait for it to finish and run the build again",
                              file=LOCK_NAME, code="build.locked") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
    finally:
        os.close(fd)


class _Signals:
    """While a build runs, SIGINT, SIGTERM and SIGHUP stop it the way Ctrl-C does: a
    ``KeyboardInterrupt`` that runs every ``finally`` (the staging directory goes),
    reported as :class:`Interrupted` with the signal's number.

    SIGINT keeps Python's own handler, so code running an asyncio loop (the search
    indexer) gets asyncio's graceful Ctrl-C: its task is cancelled and its helper
    process shut down before the loop closes.  SIGTERM and SIGHUP are passed on as
    SIGINT.  Inside :meth:`deferred` all three wait until the block is over."""

    def __init__(self):
        self.received: int | None = None
        self.saved: dict = {}
        self.active = False

    def _forward(self, signum, frame):
        self.received = signum
        _signal_children(signal.SIGTERM)
        os.kill(os.getpid(), signal.SIGINT)

    def _defer(self, signum, frame):
        self.received = signum

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            self.active = True
            for s in SIGNALS:
                self.saved[s] = signal.getsignal(s)
            self._install()
        return self

    def _install(self):
        for s in SIGNALS:
            signal.signal(s, signal.default_int_handler if s == signal.SIGINT else self._forward)

    def __exit__(self, exc_type, exc, tb):
        for s, h in self.saved.items():
            signal.signal(s, h)
        if exc_type is not None and issubclass(exc_type, KeyboardInterrupt) \
                and not isinstance(exc, Interrupted):
            raise Interrupted(self.received or signal.SIGINT) from None
        return False

    @contextlib.contextmanager
    def deferred(self):
        """A block no signal cuts in half (a signal that comes meanwhile is ignored: the
        blocks deferred are the last steps of a build or of its clean-up)."""
        if not self.active:
            yield
            return
        for s in SIGNALS:
            signal.signal(s, self._defer)
        try:
            yield
        finally:
            self._install()


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two directories (Linux ``renameat2(RENAME_EXCHANGE)``); False if the
    system cannot."""
    try:
        fn = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    return fn(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0


def check_output(project: Project) -> None:
    """Refuse an output directory editio must not replace."""
    where = "editio.toml"
    root = project.root.resolve()
    try:  # the gate: inside the project after symlinks, not hidden, a directory or nothing yet
        out = gate.check(root, project.output, kind="dir")
        inp = project.input_dir.resolve()
    except gate.Refused as err:
        raise EditioError(f"output directory {gate.show(project.output)!r} is refused: {err.reason}",
                          file=where, code="build.output") from None
    p = root
    for part in Path(project.output).parts:  # no symlink on the way: output stays where it is named
        p = p / part
        if p.is_symlink():
            raise EditioError(f"output {project.rel(p) if p != root else p} is a symlink; editio "
                              "writes only into real folders of the project (remove the link)",
                              file=where, code="build.output")
    if out == root or out in root.parents:
        raise EditioError(f"output directory {out} is the project itself; set output = \"build\"",
                          file=where, code="build.output")
    if out == inp or out in inp.parents or inp in out.parents:
        raise EditioError(f"output directory {out} overlaps the input directory {inp}",
                          file=where, code="build.output")
    for keep in ("styles", "templates", "schema", "witnesses", ".git"):
        if out == (root / keep).resolve():
            raise EditioError(f"output directory {out} is the edition's {keep}/", file=where,
                              code="build.output")
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        raise EditioError(f"output {out} is not a directory editio made; move it away",
                          file=where, code="build.output")
    if out.is_dir() and not (out / MARKER).exists():
        from editio.builders import registry
        names = set(registry(project))
        foreign = sorted(p.name for p in out.iterdir() if p.name not in names)
        if foreign:
            raise EditioError(f"output directory {out} holds files editio did not make "
                              f"({', '.join(foreign[:5])}); move them away or choose another "
                              "output", file=where, code="build.output")


def _recover(output: Path) -> None:
    """Clean up after a build that was killed outright (under the lock: no build runs)."""
    olds = sorted(output.parent.glob(f".{output.name}.tmp-old-*"))
    if not output.exists() and olds:
        os.replace(olds[-1], output)  # killed between the two renames: the previous output
    for stale in output.parent.glob(f".{output.name}.tmp-*"):
        shutil.rmtree(stale, ignore_errors=True)


def _descendants(pid: int) -> list[int]:
    """The processes below ``pid`` (Linux /proc; empty elsewhere)."""
    children: dict[int, list[int]] = {}
    try:
        entries = os.listdir("/proc")
    except OSError:
        return []
    for e in entries:
        if not e.isdigit():
            continue
        try:
            with open(f"/proc/{e}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat[stat.rfind(b")") + 2:].split()[1])
        children.setdefault(ppid, []).append(int(e))
    out, todo = [], [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            out.append(c)
            todo.append(c)
    return out


def _signal_children(sig: int) -> None:
    for pid in _descendants(os.getpid()):
        with contextlib.suppress(OSError):
            os.kill(pid, sig)


def _stop_children(timeout: float = 3.0) -> None:
    """Terminate every process this build started (then kill what is left), so none of
    them writes into a staging directory after it is removed."""
    procs = _descendants(os.getpid())
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in procs:
            with contextlib.suppress(OSError):
                os.kill(pid, sig)
        deadline = time.monotonic() + timeout
        while procs and time.monotonic() < deadline:
            for pid in list(procs):
                with contextlib.suppress(ChildProcessError, OSError):
                    os.waitpid(pid, os.WNOHANG)  # reap our own children
                if not _alive(pid):
                    procs.remove(pid)
            if procs:
                time.sleep(0.02)
        if not procs:
            return


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
        return stat[stat.rfind(b")") + 2:stat.rfind(b")") + 3] != b"Z"
    except OSError:
        return False


def _keep_previous(output: Path, tmp: Path, names=FORMATS) -> None:
    """Hard-link the previous output of formats this build did not make into ``tmp``."""
    from editio.cache import link_or_copy
    if not output.is_dir():
        return
    for entry in output.iterdir():
        if entry.name in names and entry.is_dir() and not (tmp / entry.name).exists():
            shutil.copytree(entry, tmp / entry.name, symlinks=True, copy_function=link_or_copy)


@contextlib.contextmanager
def staging(output: Path, signals: "_Signals | None" = None, names=FORMATS):
    """A fresh directory that replaces ``output`` only if the block succeeds.

    Call under :func:`project_lock`: it removes the staging directories of earlier,
    killed builds."""
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    _recover(output)
    own = signals is None
    signals = signals or _Signals()
    with contextlib.ExitStack() as stack:
        if own:
            stack.enter_context(signals)
        tmp = Path(tempfile.mkdtemp(prefix=f".{output.name}.tmp-", dir=output.parent))
        try:
            yield tmp
            (tmp / MARKER).write_text("made by editio; the whole directory is replaced by "
                                      "each build\n", encoding="utf-8")
            _keep_previous(output, tmp, names)
            old = None
            with signals.deferred():  # the swap is never cut in half
                if not output.exists():
                    os.replace(tmp, output)
                elif _exchange(tmp, output):
                    old = tmp                 # tmp now holds the previous output
                else:
                    old = output.parent / f".{output.name}.tmp-old-{os.getpid()}"
                    os.replace(output, old)
                    os.replace(tmp, output)
                if old is not None:
                    shutil.rmtree(old, ignore_errors=True)
            # a signal that came during the swap is ignored: the build is complete
        finally:
            if tmp.exists():
                with signals.deferred():
                    # a builder's helper (e.g. the search indexer) may still be writing into tmp
                    _stop_children()
                    for _ in range(3):
                        shutil.rmtree(tmp, ignore_errors=True)
                        if not tmp.exists():
                            break
                        time.sleep(0.2)


RESOLVED = "resolved pointers"
"""The key of ``prepare``'s ``reuse`` under which the pointers one run resolved are kept for
the next (:attr:`editio.corpus.Corpus.before`)."""


def prepare(project: Project, strict: bool = False, schema: Path | None = None,
            keep_going: bool = False, defer: bool = False, cache: bool = True,
            reuse: dict | None = None, hashes: dict | None = None, kept: dict | None = None):
    """Read, check and resolve.  Check errors stop here, unless ``keep_going``: then the
    readable documents are built anyway (errors reported as warnings; a file that cannot
    be read at all is left out), which is what TEI from elsewhere (a FRUS volume with
    pointers into other volumes) needs.

    Returns ``(edition, report)``; with ``defer``, ``(edition, report, finish)``: the schema
    validation still runs in its own process, and ``finish()`` waits for it and adds what it
    found to ``report`` (see :func:`build`).

    ``hashes`` (path -> hash of its bytes) are the files' hashes this run has worked out
    already; ``reuse`` an earlier corpus's parsed files (:meth:`Corpus.load`: a server
    keeps them between rebuilds), replaced by this run's.  ``kept``: what else a server
    keeps between rebuilds (the compiled RELAX NG schemas and Schematron, under
    ``schemas`` and ``rules``: made here the first time); with it the schema validation
    runs in a thread of this process (:func:`editio.check.check`'s ``threaded``)."""
    from editio.redactions import rules_of
    rules_of(project)  # a bad [redactions] rule stops the build before anything is read
    corpus = Corpus.load(project, reuse=reuse, hashes=hashes)
    if reuse is not None:   # what the next run may take: the files parsed now, the pointers
        corpus.before = reuse.get(RESOLVED) or {}     # resolved (filled while this run goes)
        reuse.clear()
        reuse.update(corpus.parsed)
        reuse[RESOLVED] = corpus.__dict__.setdefault("_resolved", {})
    from editio.cache import Store, cache_root
    if kept is not None:
        from editio.check import Schemas
        from editio.rules.schematron import Rules
        kept.setdefault("schemas", Schemas())
        kept.setdefault("rules", Rules())
        warming = kept.pop("warming", None)   # a thread using the schemas: done first
        if warming is not None:
            warming.result()
    ahead = None          # the edition, resolved while a child process checks
    checked = _check_beside(corpus, schema, cache) if defer and kept is None \
        and reuse is None else None
    if checked is not None:
        ahead, raw, seen = checked
        finish_check = _nothing
    else:
        raw, finish_check = check(corpus, schema=schema, defer=True,
                                  cache=Store(cache_root(project), enabled=cache),
                                  schemas=(kept or {}).get("schemas"),
                                  rules=(kept or {}).get("rules"), threaded=kept is not None)
        if not defer:
            finish_check()
        seen = len(raw.items)
    severities = project.profile.severity
    report = _settle(raw.items[:seen], strict, keep_going, severities)

    def finish() -> Report:
        """Wait for the validation; its diagnostics (as --strict/--keep-going say) go into
        ``report``, which the builders may have added to meanwhile."""
        finish_check()
        for d in _settle(raw.items[seen:], strict, keep_going).items:
            report.add(d.file, d.line, d.col, d.severity, d.code, d.message)
        return report
    finish.cancel = finish_check.cancel

    def done(edition):
        return (edition, report, finish) if defer else (edition, report)

    if report.errors:
        if defer:
            finish()
        return done(None)
    if not corpus.texts:
        report.error(project.rel(project.input_dir), 0, "build.empty", "no TEI text to build")
        return done(None)
    if ahead is not None:
        edition, failure = ahead
        if failure is not None:
            raise failure
        return done(edition)
    return done(resolve(corpus))


def _nothing() -> None:
    """A ``finish`` with nothing left to wait for."""
_nothing.cancel = _nothing


def _check_beside(corpus: Corpus, schema, cache: bool):
    """The check (its rules and the schema validation) in a child process while this one
    resolves the edition: ``((edition, exception), report, n)``, the edition resolved (or
    what resolving it raised: a corpus the check finds errors in may not resolve), the
    check's report and how many of its diagnostics came before the schema validation's.

    The edition is used only if the check finds no error (:func:`prepare`), so a build
    gives what it gave when the two ran one after the other; the check's rules take about
    as long as the resolving (a FRUS volume: ~0.8 and ~0.6 s), so half of that time comes
    off the part of the build that uses one core.  None (nothing done) where no child
    process can be forked or one core is all there is: the check then runs here first, as
    it does when the child fails (a bug, or an error the check raises, raised here again)."""
    from editio.parallel import Background, jobs
    if not hasattr(os, "fork") or jobs() < 2:
        return None

    def in_child():
        from editio.cache import Store, cache_root
        raw, finish_check = check(corpus, schema=schema, defer=True,
                                  cache=Store(cache_root(corpus.project), enabled=cache))
        n = len(raw.items)
        finish_check()
        return [(d.file, d.line, d.col, d.severity, d.code, d.message) for d in raw.items], n

    child = Background(in_child)
    try:
        try:
            ahead = (resolve(corpus) if corpus.texts else None), None
            if ahead[0] is not None:
                # while the check goes on (its own process did these for itself before):
                # what the builders read first, and the pointers the cache records read
                from editio.cache import outward_pointers
                for step in (ahead[0].sort_keys_ahead, lambda: ahead[0].glossary_mentions,
                             lambda: [outward_pointers(d) for d in corpus.texts]):
                    if child.done():
                        break
                    step()
        except Exception as err:  # noqa: BLE001 - raised if the check finds no error
            ahead = None, err
        try:
            items, n = child.result()
        except EditioError:
            return None
    except BaseException:
        child.cancel()
        raise
    raw = Report()
    for d in items:
        raw.add(*d)
    return ahead, raw, n


def _settle(items, strict: bool, keep_going: bool, severities=None) -> Report:
    """A report of ``items`` with --strict (warnings are errors) and --keep-going (errors
    are warnings) applied; what the builders add later takes the profile's ``severities``
    too (``[check] severity``)."""
    report = Report()
    for d in items:
        report.add(d.file, d.line, d.col, d.severity, d.code, d.message)
    if strict:
        report = report.strict()
    if report.errors and keep_going:
        report = report.demoted()
    report.severities = dict(severities or {})
    return report


class _CheckFailed(Exception):
    """The schema validation, finished after the builders ran, found errors."""


def build(project: Project, formats=FORMATS, view: str = "edited", strict: bool = False,
          schema: Path | None = None, progress=None, keep_going: bool = False,
          workers: int | None = None, executor: str | None = None,
          cache: bool = True) -> BuildResult:
    """Build ``formats`` into ``project.output_dir``; raises nothing for bad TEI: the
    report says what is wrong and nothing is written.

    The schema validation runs in a second process while the builders write into the
    staging directory; if it finds errors, the staging directory is thrown away and the
    previous output stays, as with any other check error.

    With the build cache (:mod:`editio.cache`; ``cache=False`` reads nothing from it): if
    every input and option hashes as at the last successful build and its output is still
    there byte for byte, nothing is read, checked or written (``up_to_date``), and the
    last build's diagnostics are reported again."""
    timings = {}
    t0 = time.perf_counter()
    from editio.builders import check_formats
    from editio import cache as build_cache
    formats = check_formats(project, formats)
    check_output(project)
    with _Signals() as signals, project_lock(project):
        store = build_cache.Store(build_cache.cache_root(project), enabled=cache)
        hashes: dict = {}   # every file read and hashed once in this build
        digest = build_cache.inputs_digest(project, _options(project, formats, view, strict,
                                                             schema, keep_going), memo=hashes)
        last = build_cache.BuildRecord.load(store)
        if last is not None and last.digest == digest \
                and last.output_intact(project.output_dir, formats):
            report = Report()
            for d in last.diagnostics:   # its warnings (not its info: what it did, e.g.
                if d[3] != "info":       # how many parts it laid out, was not done now)
                    report.add(*d)
            timings["total"] = time.perf_counter() - t0
            return BuildResult(report, project.output_dir, timings, up_to_date=True)
        edition, report, finish = prepare(project, strict=strict, schema=schema,
                                          keep_going=keep_going, defer=True, cache=cache,
                                          hashes=hashes)
        timings["read+check"] = time.perf_counter() - t0
        if edition is None:
            return BuildResult(report, project.output_dir, timings)
        # the edition and the check's closure (which holds the corpus) are held here only,
        # so that _build_into can let them go before the builders' last steps
        held = {"edition": edition, "finish": finish}
        del edition, finish
        known: dict = {}   # format -> the hashes of its files made while a helper wrote
        try:
            _build_into(project, formats, view, strict, progress, held, report, timings, signals,
                        options={"workers": workers, "executor": executor, "cache": cache},
                        known=known)
        except _CheckFailed:
            return BuildResult(report, project.output_dir, timings)
        except OSError as err:  # disk full, read-only, a file gone mid-build: said, not a traceback
            raise _io_error(project, err) from None
        build_cache.BuildRecord(
            digest, {f: build_cache.tree_manifest(project.output_dir / f, known.get(f))
                     for f in formats},
            [[d.file, d.line, d.col, d.severity, d.code, d.message] for d in report.items],
        ).save(store)
    timings["total"] = time.perf_counter() - t0
    return BuildResult(report, project.output_dir, timings)


def _options(project: Project, formats, view, strict, schema, keep_going) -> dict:
    """What besides the project's files makes a build's output: the options, the profile
    chain, a schema named from outside the project (its bytes), SOURCE_DATE_EPOCH."""
    from editio.cache import file_hash
    prof = project.profile
    return {"formats": list(formats), "view": view, "strict": strict, "keep_going": keep_going,
            "schema": [str(schema), file_hash(Path(schema))] if schema else None,
            "profile": [prof.name, *map(str, prof.chain)],
            "profile_schema": file_hash(prof.schema) if prof.schema else None,
            "profile_templates": [str(d) for d in prof.template_dirs],
            "source_date_epoch": os.environ.get("SOURCE_DATE_EPOCH", "")}


def _io_error(project: Project, err: OSError) -> EditioError:
    name = err.filename if isinstance(err.filename, str) else ""
    shown = ""
    if name:
        out = project.output_dir.resolve()
        p = Path(name).resolve() if "\0" not in name else Path(name.replace("\0", "?"))
        try:  # a file of the staging directory is named as it would be in the output
            rest = p.relative_to(out.parent).parts
            if rest and rest[0].startswith(f".{out.name}.tmp-"):
                p = out.joinpath(*rest[1:])
        except ValueError:
            pass
        shown = project.rel(p)
    hint = {28: "; free some space and build again", 30: "; the output folder is read-only",
            36: "; a name is too long"}.get(err.errno, "")
    why = err.strerror or str(err)
    return EditioError(f"cannot write the build: {why}{hint}; the previous output is kept",
                       file=shown or project.rel(project.output_dir), code="build.io")


def _hash_ahead(tmp: Path, formats, known: dict) -> threading.Thread:
    """Hash the files of ``formats`` under ``tmp`` into ``known`` in a thread (reading and
    hashing release Python's lock; a file that cannot be read is hashed again later)."""
    def run():
        from editio.cache import hashed_ahead
        for f in formats:
            try:
                known[f] = hashed_ahead(tmp / f)
            except OSError:
                known.pop(f, None)
    thread = threading.Thread(target=run, name="editio-hash", daemon=True)
    thread.start()
    return thread


def _build_into(project, formats, view, strict, progress, held, report, timings, signals,
                options=None, known: dict | None = None):
    """The builders, writing into a staging directory swapped in at the end; meanwhile the
    schema validation finishes in its own process (``held["finish"]`` waits for it): its
    errors throw the staging directory away (:class:`_CheckFailed`).

    ``held`` holds the edition and the check's ``finish``, and nothing else in the build
    does: once the builders have returned and the validation is over, they are let go and
    the memory given back, and only then do the steps the builders left for later run
    (:class:`editio.builders.Later`: the site's search index is written by a helper process
    that needs ~120 MB for a FRUS volume; the parsed TEI and all that was derived from it
    are no longer in memory beside it).

    While the later steps run (a helper process writing the search index, this process
    waiting for it), the files the builders wrote are hashed for the build record into
    ``known`` (format -> :func:`editio.cache.hashed_ahead`), so that after the swap only
    what the later steps wrote is read again (a FRUS volume: ~1,000 files, ~0.1 s)."""
    from editio.builders import registry
    from editio.parallel import give_back_memory
    reg = registry(project)
    later: list = []
    with staging(project.output_dir, signals, names=tuple(reg)) as tmp:
        try:
            try:
                for name in formats:          # the registered builders, in the order asked
                    t = time.perf_counter()
                    opts = {k: v for k, v in {**(options or {}), "later": later}.items()
                            if k in reg[name].options}
                    reg[name].build(held["edition"], tmp / name, report, view=view,
                                    progress=progress, **opts)
                    timings[name] = time.perf_counter() - t
                t = time.perf_counter()
                held["finish"]()
                timings["schema wait"] = time.perf_counter() - t
            except BaseException:
                held["finish"].cancel()
                raise
            if report.errors:
                raise _CheckFailed()
            held.clear()          # the edition, its trees and the check's results go
            if later:
                give_back_memory()
                t = time.perf_counter()
                hashing = _hash_ahead(tmp, formats, known) if known is not None else None
                try:
                    while later:
                        later.pop(0).run()
                finally:
                    if hashing is not None:
                        hashing.join()
                timings["later"] = time.perf_counter() - t
        except BaseException:
            for step in later:    # e.g. the search indexer, stopped
                step.cancel()
            raise
        if strict and report.strict().errors:
            raise EditioError(f"{report.warnings} warning(s) during the build with --strict; "
                              "output not written", code="build.strict")
