"""The editorial policy ([policy] in editio.toml) and its rules: authorial errors annotated, not
emended; transmission errors emended; notes on masks, corrections and errors cite evidence."""
from __future__ import annotations

import json
import shutil

import pytest

from conftest import REPO, ROOTS, run_editio

POLICY = """
[policy]
emend = ["translation", "name", "typographic"]
annotate = ["factual", "contradiction"]
cite = ["redaction", "correction", "error"]
cite_exempt = ["typographic", "translation"]
"""


@pytest.fixture
def project(tmp_path):
    dest = tmp_path / "p"
    shutil.copytree(ROOTS / "valid", dest)
    shutil.copy(REPO / "schema" / "editio.rng", dest / "schema" / "editio.rng")
    return dest


def with_policy(project):
    toml = project / "editio.toml"
    toml.write_text(toml.read_text(encoding="utf-8") + POLICY, encoding="utf-8")


def mutate(project, old, new, file="a.xml"):
    p = project / "tei" / file
    s = p.read_text(encoding="utf-8")
    assert old in s, old
    p.write_text(s.replace(old, new, 1), encoding="utf-8")


def check(project, *args):
    r = run_editio("check", "--project", project, *args)
    return r.returncode, r.stdout.splitlines(), r.stderr.strip()


def keep_author(project):
    """Turn the factual emendation a-e01 into an annotation that keeps the author's word."""
    mutate(project, '<choice xml:id="a-e01"><sic>Stalin</sic><corr type="factual" cert="high" '
                    'resp="authority.xml#ed"><persName ref="authority.xml#khrushchev">Khrushchev</persName>'
                    '</corr></choice>', '<sic xml:id="a-e01">Stalin</sic>')


def test_without_a_policy_nothing_changes(project):
    assert check(project, "--strict")[0] == 0


def test_authorial_error_emended_is_a_located_warning(project):
    with_policy(project)
    mutate(project, "is the UN forces.</note>", 'is the UN forces (<ref target="b.xml">B</ref>).</note>')
    mutate(project, "died in March 1953.</note>", 'died in March 1953 (<ref target="b.xml">B</ref>).</note>')
    code, out, _ = check(project)
    assert code == 0
    assert len(out) == 1 and out[0].startswith("tei/a.xml:17:")
    assert out[0].endswith("[policy.authorial-emended]")
    assert "factual error emended in the reading text" in out[0]
    code, out, _ = check(project, "--strict")
    assert code == 1 and ": error: " in out[0]


def test_annotated_authorial_error_passes_and_is_reported_as_kind_error(project):
    with_policy(project)
    keep_author(project)
    mutate(project, "is the UN forces.</note>", 'is the UN forces (<ref target="b.xml">B</ref>).</note>')
    mutate(project, "died in March 1953.</note>",
           'died in March 1953 (<bibl><ptr target="authority.xml#ed"/><citedRange>p. 1</citedRange></bibl>).</note>')
    code, out, err = check(project, "--strict")
    assert (code, out) == (0, []), out
    r = run_editio("annotations", "--project", project)
    recs = {a["id"]: a for a in json.loads(r.stdout)}
    assert (recs["a-e01"]["kind"], recs["a-e01"]["type"]) == ("error", "factual")
    assert recs["a-e01"]["edited"] == recs["a-e01"]["diplomatic"] == "Stalin"
    assert (recs["a-m01"]["kind"], recs["a-m01"]["type"]) == ("redaction", "restored")
    text = run_editio("text", "--project", project, "--view", "edited", project / "tei" / "a.xml").stdout
    assert "Stalin met Kim" in text


def test_uncited_notes_are_reported_where_they_stand(project):
    with_policy(project)
    keep_author(project)
    code, out, _ = check(project)
    assert [line.split(": ", 2)[0] for line in out] == ["tei/a.xml:22:9", "tei/a.xml:23:9"]
    assert all(line.endswith("[note.uncited]") for line in out)
    assert "a-m01" in out[0] and "a-e01" in out[1]


def test_transmission_error_only_annotated_is_reported(project):
    with_policy(project)
    keep_author(project)
    mutate(project, 'subtype="factual" target="#a-e01">Stalin died in March 1953.',
           'subtype="translation" target="#a-e01">A garble (<ref target="b.xml">B</ref>).')
    mutate(project, "is the UN forces.</note>", 'is the UN forces (<ref target="b.xml">B</ref>).</note>')
    code, out, _ = check(project)
    assert len(out) == 1 and out[0].endswith("[policy.transmission-kept]"), out


def test_works_cited_are_listed_and_linked_on_the_site(project):
    a = project / "tei" / "authority.xml"
    s = a.read_text(encoding="utf-8")
    a.write_text(s.replace("</standOff>", '<listBibl><bibl xml:id="bib-x"><author>A. Author</author>, '
                           '<title>A Book</title>, <pubPlace>Oxford</pubPlace>, <date>2001</date>, '
                           '<ptr target="https://example.org/book"/>.</bibl></listBibl></standOff>'),
                 encoding="utf-8")
    mutate(project, "died in March 1953.</note>",
           'died in March 1953 (<bibl><ref target="authority.xml#bib-x">Author 2001</ref>, '
           '<citedRange>p. 5</citedRange></bibl>).</note>')
    r = run_editio("build", "--project", project, "--format", "html")
    assert r.returncode == 0, r.stderr
    principles = (project / "build" / "html" / "principles.html").read_text(encoding="utf-8")
    assert '<li id="bib-x">A. Author, A Book, Oxford, 2001.' in principles
    assert 'href="https://example.org/book"' in principles
    page = (project / "build" / "html" / "a.html").read_text(encoding="utf-8")
    assert 'href="principles.html#bib-x">Author 2001</a>' in page


def test_agreement_is_derived_from_claims_and_a_contradicting_declaration_is_an_error(project):
    mutate(project, '<persName ref="authority.xml#mao-zedong">Mao Zedong</persName>',
           '<persName ref="authority.xml#mao-zedong" role="interlocutor">Mao Zedong</persName>', file="b.xml")
    mutate(project, '<persName ref="authority.xml#khrushchev">Khrushchev</persName>',
           '<persName ref="authority.xml#khrushchev" role="interlocutor">Khrushchev</persName>')
    code, out, _ = check(project)
    assert code == 1
    assert out == ['tei/b.xml:13:10: error: passage b-x01 is declared "agrees" but its claims differ: '
                   'interlocutor: mao-zedong vs khrushchev (a-x01) [crossref.claims]']
    r = run_editio("annotations", "--project", project, "--kind", "crossref")
    recs = {a["id"]: a for a in json.loads(r.stdout)}
    assert recs["a-x01"]["agreement"] == "disagrees: interlocutor: khrushchev vs mao-zedong (b-x01)"
    # without the contradicting claim: b-x01's date (November 1957) agrees with the event (2-21 November)
    mutate(project, '<persName ref="authority.xml#khrushchev" role="interlocutor">',
           '<persName ref="authority.xml#khrushchev">')
    code, out, _ = check(project, "--strict")
    assert (code, out) == (0, []), out
    r = run_editio("annotations", "--project", project, "--kind", "crossref")
    recs = {a["id"]: a for a in json.loads(r.stdout)}
    assert recs["b-x01"]["agreement"] == "agrees"
