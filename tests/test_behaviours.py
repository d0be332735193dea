"""The behaviour table and the shared renderer, each behaviour on a small fragment."""
from __future__ import annotations

import shutil

import pytest
from lxml import etree

from conftest import REPO, ROOTS
from editio.behaviours import TABLE, behaviour
from editio.config import load
from editio.corpus import Corpus
from editio.render.html import HtmlRenderer, Links
from editio.text import text_of
from editio.transforms import resolve

NS = "http://www.tei-c.org/ns/1.0"
DOC = """<TEI xmlns="{ns}" xmlns:x="urn:x" xml:id="f"><teiHeader><fileDesc><titleStmt><title>F</title>
</titleStmt><publicationStmt><p/></publicationStmt><sourceDesc><p/></sourceDesc></fileDesc></teiHeader>
<text><body>{body}</body></text></TEI>"""


def render(tmp_path, body: str, view="both"):
    d = tmp_path / "p"
    (d / "tei").mkdir(parents=True)
    shutil.copy(ROOTS / "valid" / "tei" / "authority.xml", d / "tei" / "authority.xml")
    # the first edition's profile (its platform text, masks …) on top of the defaults
    shutil.copy(REPO / "profile.toml", d / "profile.toml")
    (d / "editio.toml").write_text('profile = "profile.toml"\n', encoding="utf-8")
    (d / "tei" / "f.xml").write_text(DOC.format(ns=NS, body=body), encoding="utf-8")
    corpus = Corpus.load(load(d))
    assert not corpus.report.items
    ed = resolve(corpus)
    r = HtmlRenderer(ed, ed.docs[0], Links(), view=view)
    html = etree.tostring(r.render(), encoding=str)
    return html, r.report, ed.docs[0].doc


CASES = {
    "paragraph": ("<p>one <hi rend='italic'>two</hi></p>", ['<p class="tei-p" id="p1" data-para="1">one '
                                                            '<em class="tei-hi rend-italic">two</em>']),
    "heading": ("<div><head>H</head><p>x</p></div>", ['<h2 class="tei-head" id="p1" data-para="1">H']),
    "list": ("<list type='ordered'><item>a</item><item>b</item></list>",
             ['<ol><li class="tei-item" id="p1" data-para="1">a']),
    "quotation": ("<quote><p>q</p></quote>", ['<blockquote class="tei-quote"><p class="tei-p"']),
    "table": ("<table><row><cell role='label'>h</cell><cell>c</cell></row></table>",
              ['<th class="tei-cell">h</th><td class="tei-cell">c</td>']),
    "entity": ("<p><persName ref='authority.xml#mao-zedong'>Mao</persName></p>",
               ['<span class="tei-persName entity" data-entity="mao-zedong">Mao</span>']),
    "date": ("<p><date when='1958-02-19'>19 Feb</date></p>", ['<time class="tei-date" datetime="1958-02-19">']),
    "gap": ("<p>a <gap reason='illegible'/> b</p>", ['<span class="tei-gap gap" title="gap: illegible">[…]</span>']),
    "pagebreak": ("<p>a<pb n='12'/>b</p>", ['<span class="tei-pb pb" data-n="12">[p. 12]</span>']),
    "external link": ("<p><ref target='https://example.org/'>x</ref></p>",
                      ['<a class="tei-ref" href="https://example.org/" rel="noopener noreferrer">x</a>']),
    "paratext": ("<div type='platform'><ab>Related Pages</ab></div>", ['<aside class="tei-div paratext"']),
    "blank line": ("<p>a</p><space dim='vertical' unit='lines' quantity='1'/><p>b</p>", ['id="p2"']),
}


@pytest.mark.parametrize("case", CASES)
def test_behaviour_renders_without_warnings(tmp_path, case):
    body, expected = CASES[case]
    html, report, _ = render(tmp_path, body)
    for e in expected:
        assert e in html
    assert report.items == []


def test_choice_shows_both_readings_and_a_note_call(tmp_path):
    body = ("<p>the <choice xml:id='f-m1'><orig>**</orig><supplied reason='masked' cert='high' "
            "resp='authority.xml#ed'> forces</supplied></choice> went</p>"
            "<note target='#f-m1' type='redaction'>Because.</note>")
    html, report, doc = render(tmp_path, body)
    # the supplied reading's leading space belongs to the edited reading only, so the
    # diplomatic view shows the source as it stands ("the ** went")
    assert ('<span class="tei-orig reading reading-dip">**</span><span class="ed-space"> </span>'
            '<span class="tei-supplied reading reading-ed" data-cert="high">forces</span>') in html
    assert 'class="note-call" href="#note-1"' in html
    assert text_of(doc.root, "diplomatic") == "the ** went"
    assert text_of(doc.root, "edited") == "the  forces went"


def test_edited_view_renders_only_the_edited_reading(tmp_path):
    body = "<p><choice xml:id='f-e1'><sic>Stalin</sic><corr type='factual' cert='high' resp='authority.xml#ed'>Mao</corr></choice></p>"
    html, _, _ = render(tmp_path, body, view="edited")
    assert "Stalin" not in html and ">Mao<" in html


def test_unknown_element_falls_back_with_a_located_warning(tmp_path):
    html, report, _ = render(tmp_path, "<p>a <thing>inside</thing> b</p>\n<block><p>c</p></block>")
    assert '<span class="tei-thing">inside</span>' in html
    assert '<div class="tei-block">' in html
    assert [(d.line, d.code) for d in report.items] == [(3, "element.unknown"), (4, "element.unknown")]
    assert "<thing> has no behaviour; rendered as a generic inline" in report.items[0].message


def test_foreign_elements_are_not_rendered(tmp_path):
    """An element of a namespace the edition does not declare is neither rendered nor
    published, as `check` says of it (tei.foreign, located): no text of it shows (FRUS's
    XHTML video players said "600x338"), and the renderer does not report it again."""
    html, report, _ = render(tmp_path, "<p>a <x:thing>inside</x:thing> b</p>\n"
                                       "<x:block><p>c</p></x:block>\n"
                                       "<p>d<h:div xmlns:h='http://www.w3.org/1999/xhtml'> 600x338 </h:div></p>\n"
                                       "<figure><head>Reel 7</head><h:object xmlns:h='http://www.w3.org/1999/xhtml'>"
                                       "<h:param name='v' value='1'/></h:object></figure>")
    assert "inside" not in html and ">c<" not in html and "600x338" not in html
    # a figure of nothing but such content says so, under its caption
    assert "Reel 7" in html and '<span class="graphic-missing" role="img" aria-label="Media not included">' \
        '[Media not included]</span></figure>' in html
    assert "a " in html and " b" in html
    assert report.items == []


def test_active_foreign_content_is_never_rendered(tmp_path):
    html, report, _ = render(
        tmp_path, "<p>a<h:script xmlns:h='http://www.w3.org/1999/xhtml'>alert(1)</h:script></p>")
    assert "alert" not in html and "script" not in html


def test_every_table_row_has_a_renderer():
    from editio.render.html import HtmlRenderer as R
    for name, rows in TABLE.items():
        for _, beh in rows:
            method = "b_" + beh.name.replace("-", "_")
            assert hasattr(R, method) or beh.layout in ("container", "inline"), (name, beh.name)


def test_behaviour_lookup_uses_predicates():
    q = etree.fromstring(f"<quote xmlns='{NS}'><p>x</p></quote>")
    assert behaviour(q).name == "quotation"
    q2 = etree.fromstring(f"<quote xmlns='{NS}'>x</quote>")
    assert behaviour(q2).name == "inline-quote"


def test_layout_space_of_a_pretty_printed_source_is_not_shown(tmp_path):
    """A line break and indentation before a footnote call, or before the closing tag of
    an element that punctuation follows, is the source's layout, not a space (FRUS:
    "cabled Sisson ³ to take", "Papers of Woodrow Wilson , vol. 43"); a space typed on the
    line is kept."""
    html, report, _ = render(tmp_path, (
        "<p>cabled <persName>Sisson</persName>\n            <note n='3'>Not found.</note> to take;"
        " see <hi rend='italic'>Papers of Woodrow\n   Wilson\n            </hi>, vol. 43;"
        " a <hi rend='italic'>typed </hi>, and a word <note n='4'>Kept.</note> apart.</p>"))
    assert '<span class="tei-persName">Sisson</span><a class="note-call"' in html
    assert 'Woodrow\n   Wilson</em>, vol. 43' in html
    assert '<em class="tei-hi rend-italic">typed </em>, and' in html
    assert 'a word <a class="note-call"' in html
    assert report.items == []
