"""TEI editio did not write: the FRUS volumes of ../shared/corpora/frus, at the CLI."""
from __future__ import annotations

import shutil

import pytest

from conftest import FRUS, TEI_ALL, run_editio

VOLUMES = sorted(FRUS.glob("*.xml"), key=lambda p: p.stat().st_size)
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not VOLUMES, reason="FRUS corpus not available")]


def test_check_reports_on_every_volume_without_a_traceback():
    r = run_editio("check", "--schema", TEI_ALL, *VOLUMES, timeout=1200)
    assert r.returncode == 1  # the volumes point into volumes not here
    assert "Traceback" not in r.stderr + r.stdout
    assert r.stderr.strip().startswith(f"{len(VOLUMES)} files checked:")
    lines = r.stdout.splitlines()
    assert lines and all(":" in ln and ln.endswith("]") for ln in lines)
    # the XHTML video player embedded in frus1917-72PubDip is refused, not rendered or published
    assert any("[tei.foreign]" in ln for ln in lines)


def test_build_keep_going_makes_site_and_book(tmp_path):
    vol = VOLUMES[0]
    (tmp_path / "tei").mkdir()
    shutil.copy(vol, tmp_path / "tei" / vol.name)
    stopped = run_editio("build", "--project", tmp_path, "--schema", TEI_ALL)
    assert stopped.returncode == 1 and "left as it was" in stopped.stderr
    assert not (tmp_path / "build").exists()
    r = run_editio("build", "--project", tmp_path, "--schema", TEI_ALL, "--keep-going", timeout=1200)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "Traceback" not in r.stderr
    assert (tmp_path / "build" / "html" / f"{vol.stem}.html").is_file()
    assert (tmp_path / "build" / "pdf" / "edition.pdf").stat().st_size > 100_000
    assert "[tei.foreign]" in r.stderr  # demoted to a warning by --keep-going
    from lxml import etree
    published = etree.parse(str(tmp_path / "build" / "html" / "tei" / vol.name))
    assert not [e for e in published.iter() if isinstance(e.tag, str)
                and not e.tag.startswith("{http://www.tei-c.org/ns/1.0}")]
