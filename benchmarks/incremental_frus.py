"""Benchmark: incremental builds of one FRUS volume (one TEI file holding hundreds of
``div[@type=document]`` units) beside a clean build.

usage: .venv/bin/python benchmarks/incremental_frus.py [VOLUME.xml] [--profile NAME]
(default: frus1955-57v23p2 from /work/shared/corpora/frus, the ``frus`` profile)

One run, in one process, on a temporary project holding only the volume (``tei/``):

`editio build --format html` (the function the command runs):
1. clean build (``cache=False``);
2. no change;
3. one document's text changed (a word put at the start of the first paragraph of the
   middle document, different in every step): its page and the pages that depend on it are
   made, the other documents' pages taken from the last build.

`editio serve --watch` (its Rebuilder): the first build, then the same kind of edit twice:
until that document's page is in place, until every page is, and with the search index.

As benchmarks/incremental.py: ratios against the clean build of the same run, CPU seconds
(this process and the children it waited for) beside the wall clock, the load average;
a validation cache of the run's own (edits are never found in ~/.cache/editio).
"""
from __future__ import annotations

import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(HERE / "src"))
sys.path.insert(0, str(HERE / "benchmarks"))

from incremental import Pages, measure, show  # noqa: E402
from editio.config import load  # noqa: E402

DEFAULT = Path("/work/shared/corpora/frus/frus1955-57v23p2.xml")


def edit(path: Path, words: str) -> str:
    """Put ``words`` at the start of the first paragraph of the middle document; its id."""
    text = path.read_text(encoding="utf-8")
    ids = re.findall(r'<div\b[^>]*type="document"[^>]*xml:id="([^"]+)"', text) or \
        re.findall(r'<div\b[^>]*xml:id="([^"]+)"[^>]*type="document"', text)
    if not ids:
        sys.exit(f"{path}: no div[@type='document'] with an xml:id")
    unit = ids[len(ids) // 2]
    at = text.index(f'xml:id="{unit}"')
    at = re.compile(r"<p[\s>]").search(text, at).start()
    at = text.index(">", at) + 1
    path.write_text(text[:at] + words + text[at:], encoding="utf-8")
    return unit


def main(volume: Path, profile: str) -> None:
    pages = Pages()
    rows = []
    with tempfile.TemporaryDirectory(prefix="editio-incremental-frus-") as tmp:
        os.environ["EDITIO_CACHE"] = str(Path(tmp) / "cache")
        project_dir = Path(tmp) / "volume"
        (project_dir / "tei").mkdir(parents=True)
        target = project_dir / "tei" / volume.name
        shutil.copyfile(volume, target)
        project = load(project_dir, profile=profile)

        clean = measure(project, ("html",), rows, pages, lambda words: edit(target, words),
                        profile=profile)

    show(f"volume: {volume.name} ({profile}); html", rows, clean)


if __name__ == "__main__":
    args = sys.argv[1:]
    prof = "frus"
    if "--profile" in args:
        i = args.index("--profile")
        prof = args[i + 1]
        del args[i:i + 2]
    vol = Path(args[0]).resolve() if args else DEFAULT
    if not vol.is_file():
        sys.exit(f"no such volume: {vol}")
    main(vol, prof)
