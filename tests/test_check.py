"""`editio check` on small TEI projects, valid and broken: exact diagnostics and exit codes."""
from __future__ import annotations

import json
import re
import shutil

import pytest

from conftest import REPO, ROOTS, TEI_ALL, run_editio


@pytest.fixture
def project(tmp_path):
    """A copy of tests/roots/valid with the edition schema beside it."""
    dest = tmp_path / "p"
    shutil.copytree(ROOTS / "valid", dest)
    shutil.copy(REPO / "schema" / "editio.rng", dest / "schema" / "editio.rng")
    return dest


def mutate(project, file, old, new):
    p = project / "tei" / file
    s = p.read_text(encoding="utf-8")
    assert old in s, f"{old!r} not in {file}"
    p.write_text(s.replace(old, new, 1), encoding="utf-8")


def check(project, *args):
    r = run_editio("check", "--project", project, *args)
    return r.returncode, r.stdout.splitlines(), r.stderr.strip()


def test_valid_project_passes():
    code, out, err = check(ROOTS / "valid", "--strict")
    assert (code, out, err) == (0, [], "3 files checked: 0 errors, 0 warnings")


CASES = {
    "malformed": ("a.xml", "<p>The joint", "<p>The <hi>joint",
                  ["tei/a.xml:16:216: error: not well-formed: Opening and ending tag mismatch: "
                   "hi line 16 and p [read.syntax]"]),
    "unknown reference": ("b.xml", "authority.xml#moscow", "authority.xml#mosc0w",
                          ['tei/b.xml:13:248: error: @ref "authority.xml#mosc0w" resolves to nothing '
                           "[ref.missing]"]),
    "duplicate id": ("b.xml", 'xml:id="b-x01"', 'xml:id="a-m01"',
                     ['tei/a.xml:24:81: error: @target "b.xml#b-x01" resolves to nothing [ref.missing]',
                      'tei/b.xml:13:15: error: xml:id "a-m01" is already used at tei/a.xml:16 '
                      "[id.duplicate]"]),
    "schema violation": ("b.xml", '<p><seg xml:id="b-x01"', '<p><index indexName="x"/><seg xml:id="b-x01"',
                         ["tei/b.xml:13:10: warning: <index> has no behaviour; rendered as a generic "
                          "inline [element.unknown]",
                          "tei/b.xml:13:10: error: <index> is not allowed by the schema editio.rng "
                          "[schema.invalid]"]),
    "error class": ("a.xml", 'corr type="factual"', 'corr type="stylistic"',
                    ['tei/a.xml:17:153: error: <corr type="stylistic">: the error classes are factual, '
                     "translation, name, typographic, contradiction [annot.type-value]"]),
    "missing certainty": ("a.xml", 'reason="masked" cert="high" resp', 'reason="masked" resp',
                          ["tei/a.xml:16:60: error: mask <supplied> has no @cert [annot.cert-missing]"]),
    "missing resp": ("a.xml", 'cert="high" resp="authority.xml#ed">forces', 'cert="high">forces',
                     ["tei/a.xml:16:60: error: mask <supplied> has no @resp [annot.resp-missing]"]),
    "missing note": ("a.xml", '<note type="redaction" target="#a-m01">', '<note type="redaction">',
                     ['tei/a.xml:16:22: error: mask has no explanatory note (a <note> with '
                      '@target="#a-m01") [annot.note-missing]',
                      "tei/a.xml:22:9: warning: editorial note points to nothing (no @target) "
                      "[note.orphan]"]),
    "invalid date": ("b.xml", 'when="1957-11"', 'when="1957-02-30"',
                     ['tei/b.xml:13:303: error: @when "1957-02-30" is not an ISO 8601 date [date.invalid]']),
    "witness mismatch": ("b.xml", "Kim Il Sung</persName> met", "Kim Il-sung</persName> met",
                         ["tei/b.xml:13:102: error: diplomatic text differs from witness b.txt at "
                          "character 6: text has '-sung met Mao Zedong in Moscow', witness has "
                          "' Sung met Mao Zedong in Moscow' [witness.mismatch]"]),
}


@pytest.mark.parametrize("case", CASES)
def test_broken_project(project, case):
    file, old, new, expected = CASES[case]
    mutate(project, file, old, new)
    code, out, err = check(project)
    assert out == expected
    assert code == 1
    n = sum(1 for line in expected if ": error: " in line)
    w = sum(1 for line in expected if ": warning: " in line)
    assert err == f"3 files checked: {n} error{'s' if n != 1 else ''}, {w} warning{'s' if w != 1 else ''}"


def test_sic_without_corr_is_a_warning_and_strict_makes_it_an_error(project):
    mutate(project, "b.xml", "Moscow</placeName>", "Moscow</placeName><sic></sic>")
    code, out, _ = check(project)
    assert code == 0
    assert out == ["tei/b.xml:13:293: warning: <sic> without a <corr> in a <choice> [sic.no-corr]"]
    code, out, err = check(project, "--strict")
    assert code == 1
    assert out == ["tei/b.xml:13:293: error: <sic> without a <corr> in a <choice> [sic.no-corr]"]


def test_unencoded_mask_is_reported(project):
    for f in ("tei/a.xml", "witnesses/a.txt"):
        p = project / f
        p.write_text(p.read_text().replace("crossed the river", "crossed the ** river"))
    code, out, _ = check(project)
    assert out == ['tei/a.xml:16:9: warning: mask "**" at character 39 is not encoded '
                   '(<choice><orig>**</orig><supplied reason="masked">…) [mask.unencoded]']
    assert code == 0


def test_json_format(project):
    mutate(project, "b.xml", "authority.xml#moscow", "authority.xml#nowhere")
    r = run_editio("check", "--project", project, "--format", "json")
    assert r.returncode == 1
    data = json.loads(r.stdout)
    assert data["files"] == 3 and data["errors"] == 1 and data["warnings"] == 0
    assert data["diagnostics"] == [{"file": "tei/b.xml", "line": 13, "col": 248, "severity": "error",
                                    "code": "ref.missing",
                                    "message": '@ref "authority.xml#nowhere" resolves to nothing'}]


def test_paths_are_checked_against_the_whole_edition():
    r = run_editio("check", ROOTS / "valid" / "tei" / "a.xml", cwd=REPO)
    assert (r.returncode, r.stdout, r.stderr.strip()) == (0, "", "1 file checked: 0 errors, 0 warnings")


def test_other_schema(project):
    """<index> is TEI (tei_all allows it) but not part of the edition's schema."""
    mutate(project, "b.xml", "<p><seg", '<p><index indexName="x"/><seg')
    code, out, _ = check(project, "--schema", TEI_ALL)
    assert code == 0
    assert out == ["tei/b.xml:13:10: warning: <index> has no behaviour; rendered as a generic inline "
                   "[element.unknown]"]


@pytest.mark.parametrize("args", [["check", "--format", "xml"], ["frobnicate"], ["check", "--nope"]])
def test_usage_errors_exit_2(args):
    r = run_editio(*args)
    assert r.returncode == 2
    assert "usage:" in r.stderr and "Traceback" not in r.stderr


def test_missing_path_is_a_clear_error():
    r = run_editio("check", "no/such/file.xml")
    assert r.returncode == 1
    assert "error: no such file or directory" in r.stderr and "Traceback" not in r.stderr


def test_test_roots_are_self_contained():
    """A copy of a test root anywhere (cp -r, an editor's export) is a whole edition: no
    symbolic link out of it, and the edition schema its editio.toml names is a file in it,
    the same as the repository's (after tools/make_schema.py, copy schema/editio.rng over
    tests/roots/*/schema/editio.rng)."""
    links = [str(p.relative_to(ROOTS)) for p in ROOTS.rglob("*") if p.is_symlink()]
    assert links == [], f"symbolic links in the test roots: {links}"
    copies = sorted(ROOTS.glob("*/schema/editio.rng"))
    assert len(copies) >= 3
    for p in copies:
        assert p.read_bytes() == (REPO / "schema" / "editio.rng").read_bytes(), \
            f"{p.relative_to(ROOTS)} is not schema/editio.rng: cp schema/editio.rng {p.relative_to(REPO)}"


def test_pointers_into_a_file_that_cannot_be_read_are_one_warning(tmp_path):
    """A syntax error in the authority file: its own located error, and for each file that
    points into it one warning naming how many pointers were not checked (not 20 ref.missing
    errors that would go away once the file is mended)."""
    dest = tmp_path / "p"
    shutil.copytree(ROOTS / "site-basic", dest)
    auth = dest / "tei" / "authority.xml"
    auth.write_text(auth.read_text().replace("<listPerson", "<listPerson <", 1))
    r = run_editio("check", "--project", dest)
    assert r.returncode == 1
    out = r.stdout + r.stderr
    assert "tei/authority.xml:" in out and "[read.syntax]" in out
    assert "[ref.missing]" not in out
    unchecked = [ln for ln in out.splitlines() if "[ref.unchecked]" in ln]
    assert sorted(ln.split(":")[0] for ln in unchecked) == ["tei/t001.xml", "tei/t002.xml"]
    assert all(": warning: " in ln and "pointers into tei/authority.xml are not checked" in ln
               and "could not be read" in ln for ln in unchecked), unchecked


def test_what_a_file_repeats_is_one_diagnostic_each(project):
    """A file repeating one problem (a FRUS volume's 12 embedded video players, 40 XHTML
    elements; its 12 photographs not in the project) gets one located diagnostic per
    problem, saying how many and where they run to, not one per element: an editor gets
    few, actionable lines.  One alone reads as before; ``[images] report = "each"`` in
    editio.toml gives one per image."""
    player = ('<figure><head>Reel {k}</head><h:div xmlns:h="http://www.w3.org/1999/xhtml">x</h:div>'
              '<h:object xmlns:h="http://www.w3.org/1999/xhtml"/></figure>'
              '<figure><graphic url="Photo {k}"/></figure>\n')
    mutate(project, "a.xml", "<p>The joint", "".join(player.format(k=k) for k in (1, 2, 3)) + "<p>The joint")
    code, out, _ = check(project)
    assert code == 1
    foreign = [ln for ln in out if ln.endswith("[tei.foreign]")]
    assert len(foreign) == 1 and re.match(
        r"tei/a\.xml:(\d+):\d+: error: 6 elements in namespace http://www\.w3\.org/1999/xhtml "
        r"\(<div>, <object>, from here to line (\d+)\) are not TEI; they are neither rendered nor "
        r"published \[tei\.foreign\]$", foreign[0]), foreign
    images = [ln for ln in out if ln.endswith("[ref.missing]")]
    assert len(images) == 1 and '3 images named by @url are not in the project ("Photo 1", "Photo 2", ' \
        '"Photo 3"); a URL holds no spaces' in images[0], images
    assert not [ln for ln in out if "[schema.invalid]" in ln and "url" in ln], out
    (project / "editio.toml").write_text((project / "editio.toml").read_text(encoding="utf-8")
                                         + '\n[images]\nreport = "each"\n', encoding="utf-8")
    code, out, _ = check(project)
    each = [ln for ln in out if ln.endswith("[ref.missing]")]
    assert [re.search(r'"(Photo \d)"', ln).group(1) for ln in each] == ["Photo 1", "Photo 2", "Photo 3"]
    assert len({ln.split(":")[1] for ln in each}) == 3   # each at its own line


def test_a_pointer_naming_a_page_by_its_number_is_offered_the_page(project):
    """A pointer that resolves to nothing but names a numbered page break after a short
    prefix (a FRUS volume's own contents: ``#dIII`` for the Preface on page III, ``#d539``
    for the Index; the Office of the Historian has since corrected them to ``#pg_III`` and
    ``#pg_539``) is reported with that page as the hint; one naming no page gets none."""
    mutate(project, "a.xml", "<p>The joint",
           '<pb n="III" xml:id="pg_III"/><p>See <ref target="#dIII">the preface</ref>, '
           '<ref target="#d539">the index</ref>.</p>\n        <p>The joint')
    code, out, _ = check(project)
    missing = [ln for ln in out if ln.endswith("[ref.missing]")]
    assert any('@target "#dIII" resolves to nothing (did you mean page III, "#pg_III"?)' in ln
               for ln in missing), missing
    assert any(ln.endswith('@target "#d539" resolves to nothing [ref.missing]') for ln in missing), missing
