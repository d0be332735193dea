"""Benchmark: `editio check` on each FRUS volume of ../shared/corpora/frus against tei_all.rng.

usage: .venv/bin/python benchmarks/check_frus.py [VOLUME.xml ...]
Prints, per volume: size, documents, seconds to read + check (the schema is compiled once,
its compile time printed separately), peak RSS so far, and the diagnostics by code.
"""
from __future__ import annotations

import collections
import dataclasses
import resource
import sys
import time
from pathlib import Path

from editio.check import Schemas, check
from editio.config import load
from editio.corpus import Corpus
from editio.diagnostics import Report

HERE = Path(__file__).resolve().parents[1]
FRUS = HERE.parent / "shared" / "corpora" / "frus"
TEI_ALL = HERE.parent / "shared" / "corpora" / "schema" / "tei_all.rng"


def main(paths):
    t = time.perf_counter()
    schemas = Schemas()
    schemas.get(TEI_ALL, Report(), "")
    print(f"compile tei_all.rng: {time.perf_counter() - t:.1f}s")
    total = 0.0
    for p in paths:
        project = dataclasses.replace(load(p.parent), input=".")
        t = time.perf_counter()
        corpus = Corpus.load(project, [p])
        report = check(corpus, schema=TEI_ALL, schemas=schemas)
        dt = time.perf_counter() - t
        total += dt
        docs = sum(1 for d in corpus.documents for _ in d.root.iter("{http://www.tei-c.org/ns/1.0}div")
                   if _.get("type") == "document")
        codes = collections.Counter(d.code for d in report.items)
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"{p.name:32} {p.stat().st_size / 1e6:5.1f} MB {docs:4} docs {dt:6.2f}s "
              f"peak {rss:5.0f} MB  {report.errors} errors {report.warnings} warnings  "
              + " ".join(f"{k}={v}" for k, v in sorted(codes.items())))
    print(f"total {total:.1f}s for {len(paths)} volumes")


if __name__ == "__main__":
    args = [Path(a) for a in sys.argv[1:]] or sorted(FRUS.glob("*.xml"), key=lambda p: p.stat().st_size)
    main(args)
