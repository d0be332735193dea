"""``editio build``: read -> check -> corpus -> transforms -> render -> build.

    corpus  = Corpus.load(project)            # read
    report  = check(corpus)                   # check (errors stop the build)
    edition = transforms.resolve(corpus)      # corpus -> resolved tree
    builders write into a staging directory, swapped in at the end

Output is written to ``<output>.tmp-XXXX`` beside the output directory and
swapped in only when every builder has finished, so a failed, interrupted or
concurrent build leaves the previous output intact.  A lock file stops a
second build of the same project while one runs.
"""
from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import signal
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from editio.check import check
from editio.config import Project
from editio.corpus import Corpus
from editio.diagnostics import EditioError, Report
from editio.transforms import Edition, resolve

FORMATS = ("html", "pdf")


@dataclass
class BuildResult:
    report: Report
    output: Path
    timings: dict = field(default_factory=dict)


@contextlib.contextmanager
def project_lock(project: Project):
    """Hold an exclusive lock on the project for the whole build."""
    path = project.root / ".editio-build.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "another process"
            raise EditioError(f"another build of this project is running (pid {holder}); "
                              "wait for it to finish", code="build.locked") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        os.close(fd)


@contextlib.contextmanager
def staging(output: Path):
    """A fresh directory that replaces ``output`` only if the block succeeds."""
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    for stale in output.parent.glob(f".{output.name}.tmp-*"):
        shutil.rmtree(stale, ignore_errors=True)  # left by a killed build
    tmp = Path(tempfile.mkdtemp(prefix=f".{output.name}.tmp-", dir=output.parent))
    old_term = signal.getsignal(signal.SIGTERM)

    def _term(signum, frame):
        raise KeyboardInterrupt

    in_main = True
    try:
        signal.signal(signal.SIGTERM, _term)
    except ValueError:  # not the main thread
        in_main = False
    try:
        yield tmp
        if output.exists():
            old = output.parent / f".{output.name}.tmp-old-{os.getpid()}"
            os.replace(output, old)
            os.replace(tmp, output)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, output)
    finally:
        if in_main:
            signal.signal(signal.SIGTERM, old_term)
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def prepare(project: Project, strict: bool = False, schema: Path | None = None) -> tuple[Edition, Report]:
    corpus = Corpus.load(project)
    report = check(corpus, schema=schema)
    if strict:
        report = report.strict()
    if report.errors:
        return None, report
    if not corpus.texts:
        report.error(project.rel(project.input_dir), 0, "build.empty", "no TEI text to build")
        return None, report
    return resolve(corpus), report


def build(project: Project, formats=FORMATS, view: str = "edited", strict: bool = False,
          schema: Path | None = None, progress=None) -> BuildResult:
    """Build ``formats`` into ``project.output_dir``; raises nothing for bad TEI: the
    report says what is wrong and nothing is written."""
    timings = {}
    t0 = time.perf_counter()
    with project_lock(project):
        edition, report = prepare(project, strict=strict, schema=schema)
        timings["read+check"] = time.perf_counter() - t0
        if edition is None:
            return BuildResult(report, project.output_dir, timings)
        with staging(project.output_dir) as tmp:
            if "html" in formats:
                from editio.builders.site import build_site
                t = time.perf_counter()
                build_site(edition, tmp / "html", report, progress=progress)
                timings["html"] = time.perf_counter() - t
            if "pdf" in formats:
                from editio.builders.pdf import build_pdf
                t = time.perf_counter()
                build_pdf(edition, tmp / "pdf", report, view=view, progress=progress)
                timings["pdf"] = time.perf_counter() - t
            if strict and report.strict().errors:
                raise EditioError(f"{report.warnings} warning(s) during the build with --strict; "
                                  "output not written", code="build.strict")
    timings["total"] = time.perf_counter() - t0
    return BuildResult(report, project.output_dir, timings)
