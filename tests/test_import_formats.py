"""``editio import`` of Word (.docx) and Markdown witnesses, masks left to decide, --profile."""
from __future__ import annotations

import re

import pytest
from lxml import etree

from conftest import run_editio

TEI = "{http://www.tei-c.org/ns/1.0}"


def _edition(tmp_path):
    dest = tmp_path / "ed"
    assert run_editio("new", dest).returncode == 0
    return dest


def test_import_docx(tmp_path):
    docx = pytest.importorskip("docx")
    ed = _edition(tmp_path)
    d = docx.Document()
    d.add_heading("A letter of 1950", level=1)
    d.add_paragraph("Dear ** Smith,")
    d.add_paragraph("")
    d.add_paragraph("We met on 3 May. ")        # trailing space: dropped, as in the witness text
    d.add_heading("Postscript", level=2)
    d.add_paragraph("Regards & thanks <sic>.")
    src = tmp_path / "letter.docx"
    d.save(src)
    r = run_editio("import", src, "--id", "d002", "--project", ed)
    assert r.returncode == 0, r.stderr
    witness = ed / "witnesses" / "letter.txt"
    assert witness.read_text() == ("A letter of 1950\nDear ** Smith,\n\nWe met on 3 May.\n"
                                   "Postscript\nRegards & thanks <sic>.")
    assert "1 platform mask(s) left to decide (witness line(s) 2)" in r.stderr
    tei = etree.parse(str(ed / "tei" / "d002.xml"))
    assert tei.find(f".//{TEI}div/{TEI}head").text == "A letter of 1950"
    assert tei.find(f".//{TEI}p[@rend='heading']").text == "Postscript"
    assert "letter.docx" in tei.find(f".//{TEI}sourceDesc//{TEI}note").text
    t = run_editio("text", ed / "tei" / "d002.xml", "--project", ed)
    assert t.stdout == witness.read_text()
    c = run_editio("check", "--project", ed)
    assert c.returncode == 0, c.stdout
    assert re.findall(r"\[([\w.-]+)\]", c.stdout) == ["mask.unencoded"], c.stdout
    # a second import of the same file does not overwrite its witness text or the document
    r = run_editio("import", src, "--id", "d002", "--project", ed)
    assert r.returncode == 1 and "[import.exists]" in r.stderr


def test_import_refuses_a_file_that_is_not_a_docx(tmp_path):
    ed = _edition(tmp_path)
    bad = tmp_path / "x.docx"
    bad.write_bytes(b"not a zip")
    r = run_editio("import", bad, "--id", "d003", "--project", ed)
    assert r.returncode == 1 and "[import.read]" in r.stderr and "Traceback" not in r.stderr
    assert not (ed / "tei" / "d003.xml").exists()


def test_import_markdown_and_profile(tmp_path):
    ed = _edition(tmp_path)
    md = ed / "witnesses" / "note.md"
    md.write_text("# Memorandum\n\nThe ** was delayed.\n## Annex\nNothing further.")
    r = run_editio("import", md, "--id", "d004", "--project", ed, "--profile", "frus")
    assert r.returncode == 0, r.stderr
    tei = etree.parse(str(ed / "tei" / "d004.xml"))
    div = tei.find(f".//{TEI}body/{TEI}div")
    assert div.get("type") == "document"      # the FRUS convention: div[@type='document']
    assert div.find(f"{TEI}head").text == "# Memorandum"
    assert div.find(f"{TEI}p[@rend='heading']").text == "## Annex"
    t = run_editio("text", ed / "tei" / "d004.xml", "--project", ed)
    assert t.stdout == md.read_text()
    r = run_editio("import", md, "--id", "d005", "--project", ed, "--profile", "nope")
    assert r.returncode == 1 and "nope" in r.stderr and "Traceback" not in r.stderr
