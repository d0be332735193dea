"""The edition rules in Schematron (schema/editio.sch) agree with editio check's own rules, and
``editio check`` reports what the Schematron finds in its own located format and codes."""
from __future__ import annotations

import re
import shutil

import pytest
from lxml import etree

from conftest import REPO, ROOTS, run_editio
from editio.check import _valid_date
from editio.read import read
from editio.resources import SCHEMATRON
from editio.rules.schematron import compile_schematron, findings

RNG_PI = ('<?xml-model href="../schema/editio.rng" type="application/xml" '
          'schematypens="http://relaxng.org/ns/structure/1.0"?>')
SCH_PI = ('<?xml-model href="../schema/editio.sch" type="application/xml" '
          'schematypens="http://purl.oclc.org/dsdl/schematron"?>')

# one violation of each rule per line (the comment names the code editio check gives)
SEEDED = """<?xml version="1.0" encoding="UTF-8"?>
{pis}
<TEI xmlns="http://www.tei-c.org/ns/1.0" xml:id="s">
  <teiHeader>
    <fileDesc>
      <titleStmt><title>Seeded</title></titleStmt>
      <publicationStmt><p>Test.</p></publicationStmt>
      <sourceDesc><p>Born digital.</p></sourceDesc>
    </fileDesc>
  </teiHeader>
  <text>
    <body>
      <div type="article">
        <p xml:id="s-p1">Fine: <date when="1950-02-28">x</date> <date when="2000-02-29">x</date> <date when="--06">x</date> <date when="1950-06-25T10:00:00Z">x</date> <date when="-0044-03-15">x</date> <date when="12:30">x</date> <ref target="https://example.org/">x</ref> <ref target="#s-p1">x</ref></p>
        <p xml:id="s-p1">duplicate id</p>
        <p><persName ref="#nobody">ref to nothing</persName></p>
        <p><ref target="javascript:alert(1)">unsafe</ref></p>
        <p><date when="1950-02-30">no such day</date></p>
        <p><date from="0000" to="1950-13">year zero, month 13</date></p>
        <p><date notBefore="1950-1-1">short month</date></p>
        <p><date when="1950-06-25T25">bad time</date></p>
        <p><supplied xml:id="s-r1" reason="lost">no cert, no resp</supplied></p>
        <p><choice xml:id="s-e1"><sic>teh</sic><corr type="typographic" resp="#ed">the</corr></choice> no cert</p>
        <p><choice xml:id="s-e2"><sic>sure</sic><corr type="spelling" cert="sure" resp="#ed">cert value and type value</corr></choice></p>
        <p><choice xml:id="s-e3"><sic>noted</sic><corr type="typographic" cert="high" resp="#ed">not noted</corr></choice></p>
        <p><choice xml:id="s-m1"><orig>**</orig><supplied reason="masked">mask without cert, resp, note</supplied></choice></p>
        <p><choice><orig>**</orig><supplied reason="masked"><gap reason="masked"/></supplied></choice> unrestored mask without note</p>
        <p><sic xml:id="s-s1">lone sic without a note</sic></p>
        <p><sic xml:id="s-s2">lone sic with a note</sic></p>
        <p><seg type="problem">a problem without a note</seg></p>
        <p><seg type="crossref" subtype="disagrees" corresp="#s-p1">a disagreement without a note</seg></p>
        <p><seg type="crossref" subtype="agrees" corresp="#s-p1">agrees: no note needed</seg></p>
        <p><supplied reason="lost" cert="low" resp="#ed">inline note</supplied> <note>an inline note</note></p>
      </div>
    </body>
    <back>
      <div type="editorial-notes">
        <note target="#s-r1">a restoration.</note>
        <note target="#s-e1 #s-e2">two corrections.</note>
        <note type="error" target="#s-s2">the error.</note>
        <note>orphan</note>
        <note xml:id="s-n2">orphan with an id nobody points to</note>
        <note xml:id="s-n3">a note pointed to</note>
        <p><ref target="#s-n3">see</ref> <persName xml:id="ed">Ed</persName></p>
      </div>
    </back>
  </text>
</TEI>
"""

RULE_CODES = {"id.duplicate", "ref.missing", "ref.unsafe", "date.invalid", "annot.cert-missing",
              "annot.resp-missing", "annot.cert-value", "annot.type-value", "annot.note-missing",
              "sic.no-corr", "note.orphan"}


def _project(tmp_path, pis: str):
    dest = tmp_path / "p"
    shutil.copytree(ROOTS / "valid", dest)
    for f in (dest / "tei").glob("*.xml"):
        f.unlink()
    shutil.copy(SCHEMATRON, dest / "schema" / "editio.sch")
    (dest / "tei" / "s.xml").write_text(SEEDED.format(pis=pis), encoding="utf-8")
    return dest


def _native(tmp_path):
    """editio check's own rules (the file names no Schematron)."""
    from editio.check import check
    from editio.config import load
    from editio.corpus import Corpus
    rep = check(Corpus.load(load(_project(tmp_path / "native", RNG_PI))))
    return {(d.line, d.code) for d in rep.items if d.code in RULE_CODES}


def test_schematron_and_check_agree_on_every_seeded_violation(tmp_path):
    native = _native(tmp_path)
    assert {c for _, c in native} == RULE_CODES  # every rule is seeded
    tree = read(_project(tmp_path / "sch", RNG_PI) / "tei" / "s.xml")
    sch = {(el.sourceline, code) for el, sev, code, msg in findings(
        compile_schematron(SCHEMATRON), tree)}
    assert sch == native, (f"only Schematron: {sorted(sch - native)}; "
                           f"only editio: {sorted(native - sch)}")


def test_check_runs_the_schematron_a_file_names(tmp_path):
    dest = _project(tmp_path, RNG_PI + "\n" + SCH_PI)
    # the edition's own rule, in its own Schematron: reported with its code and role
    sch = dest / "schema" / "editio.sch"
    sch.write_text(sch.read_text().replace("</sch:schema>", """
  <sch:pattern id="house-style">
    <sch:rule context="tei:persName">
      <sch:assert id="house.persname-ref" role="warning" test="@ref or @xml:id">a person's name without @ref [house.persname-ref]</sch:assert>
    </sch:rule>
  </sch:pattern>
</sch:schema>"""))
    (dest / "tei" / "s.xml").write_text(
        SEEDED.format(pis=RNG_PI + "\n" + SCH_PI).replace(
            "</div>\n    </body>", "<p><persName>Nobody</persName></p></div>\n    </body>"),
        encoding="utf-8")
    r = run_editio("check", "--project", dest)
    assert r.returncode == 1
    lines = r.stdout.splitlines()
    house = [ln for ln in lines if ln.endswith("[house.persname-ref]")]
    assert len(house) == 1 and re.match(
        r"tei/s\.xml:\d+:\d+: warning: a person's name without @ref \[house\.persname-ref\]$",
        house[0]), house
    # the rules editio has itself are reported once per location, not twice
    located = [re.match(r"(tei/s\.xml:\d+:\d+): \w+: .* \[(.+)\]$", ln) for ln in lines]
    keys = [(m.group(1), m.group(2)) for m in located if m]
    assert len(keys) == len(set(keys)), sorted(k for k in keys if keys.count(k) > 1)
    assert any(k[1] == "annot.note-missing" for k in keys)


def test_a_broken_or_missing_schematron_is_a_located_error(tmp_path):
    dest = _project(tmp_path, RNG_PI + "\n" + SCH_PI)
    (dest / "schema" / "editio.sch").write_text("<schema/>")
    r = run_editio("check", "--project", dest)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert re.search(r"tei/s\.xml:3:1: error: cannot use Schematron schema/editio\.sch: .*"
                     r"\[schematron\.unreadable\]", r.stdout), r.stdout
    (dest / "schema" / "editio.sch").unlink()
    r = run_editio("check", "--project", dest)
    assert "[schematron.missing]" in r.stdout and "Traceback" not in r.stderr


def test_a_schematron_cannot_read_files(tmp_path):
    """document() in an untrusted rule reads nothing (the XSLT runs with DENY_ALL)."""
    dest = _project(tmp_path, RNG_PI + "\n" + SCH_PI)
    secret = tmp_path / "secret.xml"
    secret.write_text("<s>TOPSECRET</s>")
    (dest / "schema" / "editio.sch").write_text(f"""<sch:schema xmlns:sch="http://purl.oclc.org/dsdl/schematron" queryBinding="xslt">
  <sch:pattern id="leak"><sch:rule context="/*">
    <sch:report id="leak" test="true()"><sch:value-of select="document('{secret}')"/></sch:report>
  </sch:rule></sch:pattern></sch:schema>""")
    r = run_editio("check", "--project", dest)
    assert "TOPSECRET" not in r.stdout + r.stderr and "Traceback" not in r.stderr


DATES = ["1950", "1950-06", "1950-06-25", "1950-02-29", "2000-02-29", "1900-02-29", "2024-02-29",
         "1950-04-31", "1950-04-30", "1950-00", "1950-13", "1950-12-32", "0000", "-0000", "-0044",
         "-0044-02-29", "195", "19500", "1950-6", "1950-06-25T10:00", "1950-06-25T10:00:00",
         "1950-06-25T10:00:00.5", "1950-06-25T10:00:00.", "1950-06-25T10:00:00Z",
         "1950-06-25T10:00:00+08:00", "1950-06-25T10:00+0800", "1950-06T10:00", "1950-06-25T1",
         "--06", "--06-25", "---25", "--6", "12:30", "12:30:15", "12:30Z", "12:30:15-05:00",
         "12", "June 1950", "", " 1950", "1950-06-25 ", "1950/06/25"]


def test_schematron_dates_are_editio_dates(tmp_path):
    body = "".join(f'<date when="{d}">x</date>\n' for d in DATES)
    doc = etree.fromstring(f'<TEI xmlns="http://www.tei-c.org/ns/1.0">\n{body}</TEI>'.encode())
    bad_lines = {el.sourceline for el, sev, code, msg in findings(
        compile_schematron(SCHEMATRON), etree.ElementTree(doc)) if code == "date.invalid"}
    for i, d in enumerate(DATES):
        assert (i + 2 in bad_lines) == (not _valid_date(d)), d


@pytest.mark.parametrize("path", sorted((REPO / "tei").glob("*.xml")), ids=lambda p: p.name)
def test_the_edition_passes_its_schematron(path):
    found = findings(compile_schematron(SCHEMATRON), etree.parse(str(path)))
    assert found == [], [(el.sourceline if el is not None else 0, code, msg)
                         for el, sev, code, msg in found]


def test_the_schema_documents_what_the_handbook_explains():
    """Editors show the RELAX NG documentation on hover: the handbook's rules come first."""
    rng = etree.parse(str(REPO / "schema" / "editio.rng"))
    etree.RelaxNG(rng)  # still a valid schema
    ns = {"r": "http://relaxng.org/ns/structure/1.0",
          "a": "http://relaxng.org/ns/compatibility/annotations/1.0"}
    for kind, name in [("element", "supplied"), ("element", "choice"), ("element", "sic"),
                       ("element", "corr"), ("element", "note"), ("element", "seg"),
                       ("element", "persName"), ("attribute", "cert"), ("attribute", "when"),
                       ("attribute", "resp"), ("attribute", "target")]:
        docs = rng.xpath(f"//r:{kind}[@name='{name}']/a:documentation/text()", namespaces=ns)
        assert docs and docs[0].startswith("editio (docs/encoding.md): "), (kind, name)
    assert (ROOTS / "valid" / "schema" / "editio.rng").read_bytes() == \
        (REPO / "schema" / "editio.rng").read_bytes()
