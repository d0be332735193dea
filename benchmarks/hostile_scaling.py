"""Benchmark: how `editio check` scales on hostile shapes (issue 11, case 18).

usage: .venv/bin/python benchmarks/hostile_scaling.py [N ...]
For each N (default 1000 2000 4000 8000) it writes a temporary project whose one TEI
file holds N broken pointers, once all on one line and once one per line, and prints
the seconds `check` takes for each and their ratio.  Linear scaling: doubling N about
doubles the time, and one line costs about what N lines cost.
"""
from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from editio.check import check
from editio.config import load
from editio.corpus import Corpus

HEAD = ('<TEI xmlns="http://www.tei-c.org/ns/1.0"><teiHeader><fileDesc><titleStmt><title>t</title>'
        '</titleStmt><publicationStmt><p>x</p></publicationStmt><sourceDesc><p>x</p></sourceDesc>'
        '</fileDesc></teiHeader><text><body><p>')
TAIL = "</p></body></text></TEI>"


def timed(root: Path, n: int, sep: str) -> tuple[float, int]:
    (root / "tei").mkdir(parents=True, exist_ok=True)
    (root / "editio.toml").write_text('title = "bench"\n')
    body = sep.join(f'<ref target="#n{i}">x</ref>' for i in range(n))
    (root / "tei" / "d.xml").write_text(HEAD + body + TAIL)
    t = time.perf_counter()
    report = check(Corpus.load(load(root)))
    return time.perf_counter() - t, report.errors


def main(sizes):
    print(f"{'N':>6} {'one line (s)':>13} {'N lines (s)':>12} {'ratio':>6}")
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            one, e1 = timed(Path(tmp) / f"one-{n}", n, "")
            many, e2 = timed(Path(tmp) / f"many-{n}", n, "\n")
            assert e1 == e2 == n
            print(f"{n:>6} {one:>13.2f} {many:>12.2f} {one / many:>6.2f}")


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [1000, 2000, 4000, 8000])
