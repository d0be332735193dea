"""Shared fixtures: run the CLI as users do; build the edition once per session."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
ROOTS = Path(__file__).resolve().parent / "roots"
SHARED = REPO.parent / "shared"
TEI_ALL = SHARED / "corpora" / "schema" / "tei_all.rng"
FRUS = SHARED / "corpora" / "frus"
# what makes the repository's edition: its TEI, witnesses, schema, styles, its own
# templates, its settings and its profile
EDITION_DIRS = ("tei", "witnesses", "schema", "styles", "templates")
EDITION_FILES = ("editio.toml", "profile.toml")


def copy_edition(dest: Path) -> Path:
    """Copy the real edition's project files (EDITION_DIRS, EDITION_FILES) into ``dest``."""
    dest.mkdir()
    for name in EDITION_DIRS:
        if (REPO / name).exists():
            shutil.copytree(REPO / name, dest / name)
    for name in EDITION_FILES:
        if (REPO / name).exists():
            shutil.copy(REPO / name, dest / name)
    return dest


def run_editio(*args, cwd=None, timeout=900, env=None):
    """Run ``python -m editio ARGS`` and return the CompletedProcess (text mode)."""
    e = dict(os.environ)
    e.update(env or {})
    return subprocess.run([sys.executable, "-m", "editio", *map(str, args)], cwd=cwd or REPO,
                          capture_output=True, text=True, timeout=timeout, env=e)


@pytest.fixture
def editio():
    return run_editio


@pytest.fixture
def root_copy(tmp_path):
    """Copy tests/roots/<name> into a temporary directory and return its path."""
    def make(name: str) -> Path:
        dest = tmp_path / name
        shutil.copytree(ROOTS / name, dest)
        return dest
    return make


@pytest.fixture(scope="session")
def edition_build(tmp_path_factory):
    """The real edition (tei/, witnesses/, schema/, editio.toml) built once into a temp copy.

    Returns the project directory; output is in <dir>/build/{html,pdf}."""
    dest = tmp_path_factory.mktemp("edition") / "edition"
    copy_edition(dest)
    r = run_editio("build", "--project", dest, timeout=1800)
    assert r.returncode == 0, r.stderr
    return dest


@pytest.fixture(scope="session")
def edition_site(tmp_path_factory):
    """The real edition's HTML site only (no PDF), built once per session.

    Returns the site directory (<project>/build/html)."""
    dest = tmp_path_factory.mktemp("edition-site") / "edition"
    copy_edition(dest)
    r = run_editio("build", "--project", dest, "--format", "html", timeout=900)
    assert r.returncode == 0, r.stdout + r.stderr
    return dest / "build" / "html"


@pytest.fixture
def frus_edition(tmp_path):
    """The smallest FRUS volume as a resolved edition (for driving a builder directly:
    the volume points into other volumes, which ``editio check`` reports as errors)."""
    from editio.config import load
    from editio.corpus import Corpus
    from editio.transforms import resolve
    src = FRUS / "frus1917-72PubDip.xml"
    if not src.exists():
        pytest.skip("FRUS corpus not available")
    (tmp_path / "tei").mkdir()
    shutil.copy(src, tmp_path / "tei" / src.name)
    return resolve(Corpus.load(load(tmp_path)))
