"""``editio build`` checks in a child process while it resolves the edition
(:func:`editio.build._check_beside`): the same report, the same stop on errors, and a
resolving that fails on a corpus the check rejects is never seen."""
from __future__ import annotations

import os
import shutil

import pytest

from conftest import ROOTS
from editio import build as build_mod
from editio.config import load
from editio.diagnostics import EditioError

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork: the check runs first")


@pytest.fixture(autouse=True)
def two_jobs(monkeypatch):
    monkeypatch.setenv("EDITIO_JOBS", "2")


def _project(tmp_path, broken=False):
    proj = tmp_path / "p"
    shutil.copytree(ROOTS / "site-basic", proj)
    if broken:   # a second element with the text's own id: an error of the check's rules
        t = proj / "tei" / "t001.xml"
        t.write_text(t.read_text(encoding="utf-8").replace("<p>", '<p xml:id="t001">', 1),
                     encoding="utf-8")
    return load(proj)


def _diagnostics(result):
    return [(d.file, d.line, d.code, d.severity) for d in result.report.items]


def test_the_check_runs_beside_the_resolving(tmp_path, monkeypatch):
    """The check ran in another process (it saw another pid) and its report is the
    build's; the edition resolved meanwhile is the one built."""
    pids = []
    real = build_mod.check

    def check(*a, **k):
        pids.append(os.getpid())
        return real(*a, **k)
    monkeypatch.setattr(build_mod, "check", check)
    project = _project(tmp_path)
    result = build_mod.build(project, formats=("html",))
    assert not result.report.errors
    assert (tmp_path / "p" / "build" / "html" / "t001.html").is_file()
    assert pids == [], "the check was not called in this process"
    monkeypatch.setenv("EDITIO_JOBS", "1")   # one core: the check runs here, first
    again = build_mod.build(project, formats=("html",), cache=False)
    assert pids == [os.getpid()]
    assert _diagnostics(again) == _diagnostics(result)


def test_errors_of_the_check_stop_the_build_and_hide_a_failed_resolving(tmp_path, monkeypatch):
    def resolve(corpus):
        raise RuntimeError("a corpus the check rejects does not resolve")
    monkeypatch.setattr(build_mod, "resolve", resolve)
    result = build_mod.build(_project(tmp_path, broken=True), formats=("html",))
    assert result.report.errors and "id.duplicate" in {d.code for d in result.report.items}
    assert not (tmp_path / "p" / "build" / "html").exists()
    # with no error, what resolving raised is raised (a bug, not to be hidden)
    with pytest.raises(RuntimeError, match="does not resolve"):
        build_mod.build(_project(tmp_path / "ok"), formats=("html",))


def test_a_check_that_fails_in_the_child_runs_here(tmp_path, monkeypatch):
    """The child fails (here: the check raises there only): the check runs in this
    process, as it did before, and says the same."""
    me = os.getpid()
    real = build_mod.check

    def check(*a, **k):
        if os.getpid() != me:
            raise EditioError("only in the child")
        return real(*a, **k)
    monkeypatch.setattr(build_mod, "check", check)
    result = build_mod.build(_project(tmp_path, broken=True), formats=("html",))
    assert "id.duplicate" in {d.code for d in result.report.items}
    assert result.report.errors
