"""``editio new``: a working edition in one command, never overwriting anything."""
from __future__ import annotations

import json
import os
import tomllib
from pathlib import Path

import pytest
from lxml import etree

from conftest import run_editio

TEI = "{http://www.tei-c.org/ns/1.0}"


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_new_edition_checks_strict_and_builds(tmp_path):
    dest = tmp_path / "my_edition"
    r = run_editio("new", dest, "--title", "Letters of A. B.", "--editors", "A. Editor")
    assert r.returncode == 0, r.stderr
    for rel in ("editio.toml", "tei/d001.xml", "tei/authority.xml", "witnesses/d001.txt",
                "schema/editio.rng", "styles/README.md", "templates/html/README.md",
                "templates/print/README.md", ".vscode/settings.json", "edition.xpr"):
        assert (dest / rel).is_file(), rel
    conf = tomllib.loads((dest / "editio.toml").read_text())
    assert conf["title"] == "Letters of A. B." and conf["editors"] == ["A. Editor"]
    assert "profile" not in conf
    r = run_editio("check", "--strict", "--project", dest)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "0 errors, 0 warnings" in r.stderr
    # check runs the Schematron the sample names: a rule added there is reported
    sch = dest / "schema/editio.sch"
    sch.write_text(sch.read_text().replace("</sch:schema>", """<sch:pattern id="house">
      <sch:rule context="tei:title"><sch:report id="house.title" role="warning" test="true()"
      >title seen</sch:report></sch:rule></sch:pattern></sch:schema>"""))
    r = run_editio("check", "--project", dest)
    assert "tei/d001.xml:8:9: warning: title seen [house.title]" in r.stdout, r.stdout
    sch.write_bytes(__import__("editio.resources").resources.SCHEMATRON.read_bytes())
    # the sample shows the encoding: a restored mask, a correction, names and dates
    doc = etree.parse(str(dest / "tei/d001.xml"))
    for tag in ("supplied", "corr", "sic", "orig", "persName", "placeName", "date", "note"):
        assert doc.find(f".//{TEI}{tag}") is not None, tag
    r = run_editio("text", dest / "tei/d001.xml", "--project", dest)
    assert r.returncode == 0 and r.stdout == (dest / "witnesses/d001.txt").read_text()
    r = run_editio("build", "--format", "html", "--project", dest)
    assert r.returncode == 0, r.stderr
    page = (dest / "build/html/d001.html").read_text()
    assert "Jane" in page and "April" in page
    # the README in styles/ does not replace editio's styles
    assert (dest / "build/html/assets/web.css").stat().st_size > 1000


def test_new_editor_settings_point_at_the_schema(tmp_path):
    dest = tmp_path / "ed"
    assert run_editio("new", dest).returncode == 0
    settings = json.loads((dest / ".vscode/settings.json").read_text())
    assoc = settings["xml.fileAssociations"][0]
    assert assoc["pattern"] == "tei/**/*.xml"
    rng = assoc["systemId"].replace("${workspaceFolder}/", "")
    assert (dest / rng).is_file() and settings["xml.validation.enabled"] is True
    xpr = etree.parse(str(dest / "edition.xpr")).getroot()
    assert xpr.tag == "project"
    folders = {f.get("path") for f in xpr.iter("folder")}
    assert "tei/" in folders and all((dest / f).is_dir() for f in folders)
    # the TEI files name the schema and the Schematron rules the editors use
    assert (dest / "schema/editio.sch").is_file()
    for name in ("d001.xml", "authority.xml"):
        head = (dest / "tei" / name).read_bytes()[:400]
        assert b'href="../schema/editio.rng"' in head
        assert (b'href="../schema/editio.sch" type="application/xml" '
                b'schematypens="http://purl.oclc.org/dsdl/schematron"') in head
    assert settings["sxml.schematronSupport"] is True
    assert "raffazizzi.sxml" in json.loads(
        (dest / ".vscode/extensions.json").read_text())["recommendations"]
    # the override folders are empty but for their README
    assert [p.name for p in (dest / "styles").iterdir()] == ["README.md"]


def test_new_never_overwrites(tmp_path):
    dest = tmp_path / "ed"
    (dest / "tei").mkdir(parents=True)
    mine = dest / "tei" / "authority.xml"
    mine.write_text("my own authority file")
    (dest / "notes.txt").write_text("unrelated")
    before = _files(dest)
    r = run_editio("new", dest)
    assert r.returncode == 1
    assert f"{mine}: error: exists" in r.stderr and "[new.exists]" in r.stderr
    assert "Traceback" not in r.stderr
    assert _files(dest) == before          # nothing written, nothing changed
    # an existing edition: the first file is reported, nothing written
    ed2 = tmp_path / "ed2"
    assert run_editio("new", ed2).returncode == 0
    before = _files(ed2)
    r = run_editio("new", ed2)
    assert r.returncode == 1 and "[new.exists]" in r.stderr
    assert _files(ed2) == before


def test_new_refuses_symlinks_and_files(tmp_path):
    f = tmp_path / "afile"
    f.write_text("x")
    r = run_editio("new", f)
    assert r.returncode == 1 and "[new.path]" in r.stderr and "not a folder" in r.stderr
    outside = tmp_path / "outside"
    outside.mkdir()
    dest = tmp_path / "ed"
    dest.mkdir()
    os.symlink(outside, dest / "tei")
    r = run_editio("new", dest)
    assert r.returncode == 1 and "[new.path]" in r.stderr
    assert list(outside.iterdir()) == [] and list(dest.iterdir()) == [dest / "tei"]
    r = run_editio("new", tmp_path / "ed3", "--profile", "no such/profile")
    assert r.returncode == 1 and "[new.profile]" in r.stderr
    assert not (tmp_path / "ed3").exists()


def test_new_with_a_volume_profile(tmp_path):
    pytest.importorskip("editio.profile")
    dest = tmp_path / "vol"
    r = run_editio("new", dest, "--profile", "frus")
    assert r.returncode == 0, r.stderr
    conf = tomllib.loads((dest / "editio.toml").read_text())
    assert conf["profile"] == "frus"
    vol = etree.parse(str(next((dest / "tei").glob("volume.xml"))))
    docs = vol.findall(f".//{TEI}div[@type='document']")
    assert docs and docs[0].get("n") == "1"
    r = run_editio("check", "--strict", "--project", dest)
    assert r.returncode == 0, r.stdout + r.stderr
    r = run_editio("build", "--format", "html", "--project", dest)
    assert r.returncode == 0, r.stderr
