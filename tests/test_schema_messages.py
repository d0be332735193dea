"""`schema.invalid` said as a mature validator says it (jing's manner): the element, the
attribute or child at fault and what the schema expects there, located at file:line:col;
for the TEI schema editio ships and for the FRUS profile's frus.rng alike.  No libxml2
wording ("failed to validate", "Expecting an element , got nothing", "Did not expect")."""
from __future__ import annotations

import re
import shutil

import pytest

from conftest import FRUS, REPO, run_editio

HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<TEI xmlns="http://www.tei-c.org/ns/1.0" xmlns:frus="http://history.state.gov/frus/ns/1.0">
  <teiHeader>
    <fileDesc>
      <titleStmt><title>T</title></titleStmt>
      <publicationStmt><p>x</p></publicationStmt>
      <sourceDesc><p>x</p></sourceDesc>
    </fileDesc>
  </teiHeader>
  <text>
    <body>
"""
TAIL = """
    </body>
  </text>
</TEI>
"""
LINE = HEAD.count("\n") + 1   # the line of the body's content

# name -> (the body's content, the expected message (a regex), the column at fault)
CASES = {
    "attribute not allowed": (
        '<p>a <graphic foo="x" url="a.png"/> b</p>',
        r'attribute "foo" not allowed on element "graphic"; expected attribute .*"url".*'
        r'"width" or a global attribute \("ana", .*\)', 'foo="x"'),
    "misspelt attribute": (
        '<p>a <hi rendd="italic">b</hi></p>',
        r'attribute "rendd" not allowed on element "hi" \(did you mean "rend"\?\); expected attribute',
        'rendd='),
    "required attribute missing": (
        "<figure><graphic/></figure>",
        r'^element "graphic" missing required attribute "url"$', "<graphic"),
    "value not a number": (
        '<table rows="many"><row><cell>1</cell></row></table>',
        r'^value "many" of attribute "rows" on element "table" is invalid; must be a whole number '
        r'\(0 or more\)$', 'rows='),
    "value not a language tag": (
        '<p>He said <quote xml:lang="Vietnamese language">chao</quote></p>',
        r'^value "Vietnamese language" of attribute "xml:lang" on element "quote" is invalid; '
        r'must be a language tag such as "en" or "zh-Hant" or empty$', "xml:lang="),
    "value not from the list": (
        '<list><item>a</item></list><p><ref target="#a" evaluate="sometimes">x</ref></p>',
        r'^value "sometimes" of attribute "evaluate" on element "ref" is invalid; must be "all", '
        r'"one" or "none"$', "evaluate="),
    "child out of place": (
        "<list><item>a</item><head>late</head></list>",
        r'^element "head" not allowed in element "list" after element "item"; expected element '
        r'"item", .* or the end of "list"$', "<head"),
    "child after the documents": (
        '<div type="chapter"><head>h</head><div type="document"><p>b</p></div><p>after</p></div>',
        r'^element "p" not allowed in element "div" after element "div"; expected element "div", '
        r'.*the end of "div"$', "<p>after"),
    "incomplete": (
        "<table><head>Figures</head></table>",
        # (a TEI table holds rows, or graphics: either ends it)
        r'^element "table" incomplete; expected element "row" or "graphic"$', "<table"),
    "text where only elements go": (
        "<list><item>a</item>loose words<item>b</item></list>",
        r'^text not allowed in element "list" after element "item"; expected element "item"',
        "<list"),
    "label twice": (
        "<list><label>1.</label><label>2.</label><item>b</item></list>",
        r'^element "label" not allowed in element "list" after element "label"; expected element '
        r'"item"', "<label>2"),
}
LIBXML2 = re.compile(r"failed to validate|Expecting|Did not expect|got nothing|Invalid attribute|"
                     r"extra content|Element \w+ ")


def _project(tmp_path, frus: bool):
    proj = tmp_path / ("frus" if frus else "tei")
    (proj / "tei").mkdir(parents=True)
    if frus:
        (proj / "editio.toml").write_text('title = "T"\nprofile = "frus"\n')
    else:
        (proj / "schema").mkdir()
        shutil.copy(REPO / "schema" / "editio.rng", proj / "schema" / "editio.rng")
        (proj / "editio.toml").write_text('title = "T"\nschema = "schema/editio.rng"\n')
    for k, (body, _, _) in enumerate(CASES.values()):
        (proj / "tei" / f"c{k:02d}.xml").write_text(HEAD + "      " + body + TAIL, encoding="utf-8")
    return proj


@pytest.mark.parametrize("schema", ["editio.rng", "frus.rng"])
def test_schema_messages_name_what_is_wrong_and_what_is_expected(tmp_path, schema):
    proj = _project(tmp_path, frus=schema == "frus.rng")
    r = run_editio("check", "--project", proj)
    assert "Traceback" not in r.stderr, r.stderr
    severity = "warning" if schema == "frus.rng" else "error"   # the FRUS profile's choice
    got = {}
    for line in r.stdout.splitlines():
        m = re.match(r"^tei/c(\d\d)\.xml:(\d+):(\d+): (\w+): (.*) \[schema\.invalid\]$", line)
        if m:
            got.setdefault(int(m.group(1)), []).append(
                (int(m.group(2)), int(m.group(3)), m.group(4), m.group(5)))
    for k, (name, (body, expected, at)) in enumerate(CASES.items()):
        said = got.get(k)
        assert said, f"{name}: no schema.invalid diagnostic\n{r.stdout}"
        assert len(said) == 1, f"{name}: {said}"
        line, col, sev, message = said[0]
        assert sev == severity
        assert not LIBXML2.search(message), f"{name}: libxml2's words left: {message}"
        assert re.search(expected, message), f"{name}: {message!r} !~ {expected!r}"
        # located at the element (or the attribute) at fault, not at column 1
        assert line == LINE and col == 7 + body.index(at), f"{name}: {line}:{col} ({message})"


def test_an_element_of_another_vocabulary_is_found_and_named_with_its_prefix():
    """libxml2's path names a prefixed element ("/*/*[2]/*/*/frus:attachment"); the message
    names it as the file writes it, and lists each element the grammar allows once."""
    from lxml import etree

    from editio.rng_explain import Explainer, resolve_path
    tree = etree.ElementTree(etree.fromstring(
        (HEAD + "      <p>x</p><div><p>y</p><frus:attachment><p>z</p></frus:attachment></div>"
         + TAIL).split("\n", 1)[1]))
    rng = etree.RelaxNG(etree.parse(str(REPO / "schema" / "editio.rng")))
    assert not rng.validate(tree)
    paths = [e.path for e in rng.error_log]
    assert any(p.endswith("frus:attachment") for p in paths), paths
    explainer = Explainer(etree.parse(str(REPO / "schema" / "editio.rng")))
    el = resolve_path(tree, next(p for p in paths if p.endswith("frus:attachment")))
    assert el is not None and el.tag == "{http://history.state.gov/frus/ns/1.0}attachment"
    (at, attr, message), = explainer.explain(el, "RELAXNG_ERR_ELEMWRONG")
    assert at is el and attr is None
    assert message.startswith('element "frus:attachment" not allowed in element "div" after '
                              'element "p"; expected element "div", '), message
    names = re.findall(r'"([^"]+)"', message.split("expected", 1)[1])
    assert len(names[:-1]) == len(set(names[:-1])) and names[-1] == "div"   # … or the end of "div"
    assert resolve_path(tree, "/*/*[2]/*/*[9]") is None and resolve_path(tree, "") is None


@pytest.mark.parametrize("schema", ["schema/editio.rng", "src/editio/profiles/frus/frus.rng"])
def test_the_root_and_a_word_value_are_explained(schema):
    """A file whose root forgot the TEI namespace is told so; a value that must be one word
    ("a b" for div/@type, the TEI's teidata.word) says so in words, not as a regex."""
    from lxml import etree

    from editio.rng_explain import Explainer, resolve_path
    grammar = etree.parse(str(REPO / schema))
    rng, explainer = etree.RelaxNG(grammar), Explainer(grammar)

    def explain(xml):
        tree = etree.ElementTree(etree.fromstring(xml))
        assert not rng.validate(tree)
        out = []
        for e in rng.error_log:
            el = resolve_path(tree, e.path)
            out += [m for _, _, m in explainer.explain(el, e.type_name, e.message)]
        return out
    said = explain("<TEI><teiHeader/><text><body><p>x</p></body></text></TEI>")
    assert said and said[0].startswith('element "TEI" not allowed as the root of the file; expected element ')
    assert said[0].endswith('(the schema has "TEI" in namespace "http://www.tei-c.org/ns/1.0"; this one is '
                            'in no namespace)'), said
    said = explain((HEAD + '      <div type="a b"><p>x</p></div>' + TAIL).split("\n", 1)[1])
    assert said == ['value "a b" of attribute "type" on element "div" is invalid; must be a value of '
                    'one word, without spaces'], said


@pytest.mark.skipif(not FRUS.is_dir(), reason="FRUS corpus not available")
@pytest.mark.parametrize("schema", ["schema/editio.rng", "src/editio/profiles/frus/frus.rng"])
def test_every_error_of_mutated_frus_documents_is_explained(schema):
    """Real FRUS documents (v29p2's first thirty), broken at random in the ways editors
    break them (a bogus attribute, an element renamed, a required child dropped, stray
    text, a value with spaces, an element moved up): every libxml2 error is explained from
    the grammar (none falls back to the rewording), none raises, none keeps libxml2's words."""
    import copy
    import random

    from lxml import etree

    from editio.rng_explain import Explainer, reword, resolve_path
    T = "{http://www.tei-c.org/ns/1.0}"
    docs = etree.parse(str(FRUS / "frus1964-68v29p2.xml")).getroot().findall(f".//{T}div[@type='document']")[:30]
    grammar = etree.parse(str(REPO / schema))
    rng, explainer = etree.RelaxNG(grammar), Explainer(grammar)
    rnd = random.Random(7)
    errors = unexplained = 0
    for _ in range(120):
        root = etree.fromstring((HEAD + TAIL).split("\n", 1)[1])
        body = root.find(f".//{T}body")
        body.append(copy.deepcopy(rnd.choice(docs)))
        els = list(body.iter(T + "*"))
        for _ in range(rnd.randint(1, 3)):
            e = rnd.choice(els)
            k = rnd.randint(0, 5)
            if k == 0:
                e.set("bogus", "1")
            elif k == 1 and e.getparent() is not None:
                e.tag = T + rnd.choice(["p", "head", "item", "row", "cell", "list", "foo", "label"])
            elif k == 2 and len(e):
                e.remove(e[0])
            elif k == 3:
                e.text = "stray text " + (e.text or "")
            elif k == 4 and e.attrib:
                e.set(list(e.attrib)[0], "a b c")
            elif k == 5 and e.getparent() is not None and e.getparent().getparent() is not None:
                e.getparent().getparent().append(e)
        tree = etree.ElementTree(root)
        if rng.validate(tree):
            continue
        for err in rng.error_log:
            errors += 1
            el = resolve_path(tree, err.path)
            said = explainer.explain(el, err.type_name, err.message) if el is not None else []
            unexplained += not said
            for _, _, message in said or [(None, None, reword(err.message))]:
                assert not LIBXML2.search(message), (err.message, message)
    assert errors > 100 and unexplained == 0, (errors, unexplained)
