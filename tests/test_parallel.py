"""Work over two processes (editio.parallel): site pages rendered by forked workers, the
schema validated beside the rules and the builders; the output and the diagnostics are those
of one process."""
from __future__ import annotations

import shutil

from conftest import ROOTS, run_editio
from editio.parallel import Background, split_map

VALID = ROOTS / "valid"


def test_split_map_keeps_order_and_runs_in_children():
    import os
    out = split_map(list(range(7)), lambda x: (x * x, os.getpid()), n=2)
    assert [v for v, _ in out] == [x * x for x in range(7)]
    assert len({pid for _, pid in out}) == 2


def test_split_map_starts_with_the_costliest_items(tmp_path):
    """With a cost guess, the costliest items are handed out first (one to each process);
    the results still come back in the order of the items."""
    import os
    log = tmp_path / "log"

    def work(x):
        with open(log, "a") as f:
            f.write(f"{os.getpid()} {x}\n")
        return x * 10
    out = split_map(list(range(9)), work, n=2, cost=lambda x: x)
    assert out == [x * 10 for x in range(9)]
    first: dict = {}
    for line in log.read_text().splitlines():
        pid, x = line.split()
        first.setdefault(pid, int(x))
    assert sorted(first.values()) == [7, 8]
    assert sorted(int(ln.split()[1]) for ln in log.read_text().splitlines()) == list(range(9))


def test_background_returns_and_reports_failure():
    assert Background(lambda: {"a": [1, 2]}).result() == {"a": [1, 2]}

    def boom():
        raise ValueError("bad")
    import pytest
    from editio.diagnostics import EditioError
    with pytest.raises(EditioError, match="ValueError: bad"):
        Background(boom).result()


def test_background_says_when_its_result_is_ready(tmp_path, monkeypatch):
    """done(): False while the child works (it waits for a file here), True once its result
    is there; without a child (one core) True at once, fn running when the result is asked."""
    import time
    monkeypatch.setenv("EDITIO_JOBS", "2")
    go = tmp_path / "go"

    def work():
        while not go.exists():
            time.sleep(0.01)
        return 42
    bg = Background(work)
    assert not bg.done()
    go.touch()
    for _ in range(500):
        if bg.done():
            break
        time.sleep(0.01)
    assert bg.done() and bg.result() == 42 and bg.done()
    monkeypatch.setenv("EDITIO_JOBS", "1")
    ran = []
    here = Background(lambda: ran.append(1) or 7)
    assert here.done() and ran == []
    assert here.result() == 7 and ran == [1]


def test_site_is_the_same_with_one_or_two_processes(tmp_path):
    outs = []
    for jobs in ("1", "2"):
        proj = tmp_path / f"p{jobs}"
        shutil.copytree(VALID, proj)
        r = run_editio("build", "--project", proj, "--format", "html", env={"EDITIO_JOBS": jobs})
        assert r.returncode == 0, r.stderr
        site = proj / "build" / "html"
        outs.append({p.relative_to(site).as_posix(): p.read_bytes()
                     for p in site.glob("*.html")})
    assert outs[0] == outs[1]


def test_schema_error_found_while_rendering_leaves_no_output(tmp_path):
    """The schema's verdict comes after the builders ran: its errors still stop the build
    and the previous output stays as it was."""
    proj = tmp_path / "p"
    shutil.copytree(VALID, proj)
    assert run_editio("build", "--project", proj, "--format", "html").returncode == 0
    before = (proj / "build" / "html" / "index.html").read_bytes()
    b = proj / "tei" / "b.xml"
    b.write_text(b.read_text(encoding="utf-8").replace(
        "<publicationStmt><p>Test.</p>", "<publicationStmt><p>Test.</p><p>Misplaced.</p><foo/>", 1),
        encoding="utf-8")
    check = run_editio("check", "--project", proj)
    r = run_editio("build", "--project", proj, "--format", "html")
    assert r.returncode == 1
    assert "schema.invalid" in r.stderr and "tei/b.xml:7:" in r.stderr
    # the same schema diagnostics as editio check gives
    errs = sorted(ln for ln in r.stderr.splitlines() if "schema.invalid" in ln)
    assert errs == sorted(ln for ln in check.stdout.splitlines() if "schema.invalid" in ln)
    assert (proj / "build" / "html" / "index.html").read_bytes() == before
    assert not list(proj.glob(".build.tmp-*"))


def test_validation_results_are_kept_between_runs(tmp_path):
    """A file validated once against a schema is not validated again until either changes;
    the diagnostics are the same."""
    proj = tmp_path / "p"
    shutil.copytree(VALID, proj)
    b = proj / "tei" / "b.xml"
    b.write_text(b.read_text(encoding="utf-8").replace(
        "<publicationStmt><p>Test.</p>", "<publicationStmt><p>Test.</p><foo/>", 1), encoding="utf-8")
    cache = tmp_path / "cache"
    env = {"EDITIO_CACHE": str(cache)}
    first = run_editio("check", "--project", proj, env=env)
    kept = sorted(cache.rglob("*.json"))
    assert len(kept) == 3            # a.xml, b.xml, authority.xml, each against editio.rng
    second = run_editio("check", "--project", proj, env=env)
    assert (second.returncode, second.stdout) == (first.returncode, first.stdout)
    assert "schema.invalid" in first.stdout
    b.write_text(b.read_text(encoding="utf-8").replace("<foo/>", ""), encoding="utf-8")
    third = run_editio("check", "--project", proj, env=env)
    assert "schema.invalid" not in third.stdout
    assert len(sorted(cache.rglob("*.json"))) == 4
