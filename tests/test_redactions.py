"""Redactions as data (editio.redactions): the rules of tests/roots/redactions/editio.toml on a
small volume with every form of statement and masks restored and not, through the CLI
(stats, annotations), the site's Redactions page and the book's appendix."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
from fractions import Fraction
from pathlib import Path

import pytest

from conftest import FRUS, ROOTS, run_editio
from editio.redactions import parse_extent

ROOT = ROOTS / "redactions"


@pytest.mark.parametrize("statement, unit, quantity, qualifier, inner, words", [
    ("less than 1 line of source text", "line", 1, "less than", None, "less than 1 line"),
    ("less than I line of source text", "line", 1, "less than", None, "less than 1 line"),
    ("1-1/2 lines of source text", "line", Fraction(3, 2), "", None, "1½ lines"),
    ("7–½ lines of source text", "line", Fraction(15, 2), "", None, "7½ lines"),
    ("2½ lines of text", "line", Fraction(5, 2), "", None, "2½ lines"),
    ("1 paragraph (18-1/2 lines of source text)", "paragraph", 1, "", Fraction(37, 2),
     "1 paragraph (18½ lines)"),
    ("3 paragraphs (19 lines)", "paragraph", 3, "", 19, "3 paragraphs (19 lines)"),
    ("5 pages of source text, including attachment,", "page", 5, "", None, "5 pages"),
    ("Excerpt—6 pages of source text", "page", 6, "", None, "6 pages"),
    ("name", "name", 1, "", None, "1 name"),
    ("text", "text", None, "", None, "text"),
    ("two words", "word", 2, "", None, "2 words"),
    ("Document title, number, and date", "text", None, "", None, "document title, number, and date"),
])
def test_extent_statements(statement, unit, quantity, qualifier, inner, words):
    e = parse_extent(statement)
    assert e.unit == unit
    assert e.quantity == (Fraction(quantity) if quantity is not None else None)
    assert e.qualifier == qualifier
    assert (e.inner.quantity if e.inner else None) == (Fraction(inner) if inner else None)
    assert e.describe() == words


def test_stats_json_counts_and_extents():
    r = run_editio("stats", "--project", ROOT, "--format", "json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    t = data["total"]
    assert (t["count"], t["restored"], t["not_restored"]) == (13, 2, 11)
    assert t["by_cert"] == {"high": 1, "medium": 1}
    assert (t["documents"], t["documents_in_edition"]) == (3, 3)
    assert (t["withheld_whole"], t["withheld_part"]) == (1, 0)
    ext = t["extent"]
    assert ext["page"]["quantity"] == 2
    assert ext["paragraph"]["quantity"] == 1 and ext["paragraph"]["inner_lines"] == 3
    assert ext["line"]["quantity"] == 6 and ext["line"]["less_than"] == 1  # 1½ + 2½ + 2
    assert ext["word"]["quantity"] == 3
    assert ext["name"]["count"] == 1
    assert ext["text"]["unquantified"] == 5   # handling designator, text, three masks
    assert t["extent_text"] == ("2 pages, 1 paragraph (3 lines), 6 lines and 1 passage of less "
                                "than 1 line, 3 words, 1 name, 5 passages of unstated extent")
    docs = {d["label"]: d for d in data["documents"]}
    assert [d["count"] for d in data["documents"]] == [8, 2, 3]
    assert docs["Doc. 2"]["withheld"] == "whole"
    assert docs["Doc. 2"]["extent_text"] == "2 pages, handling designator"
    assert data["withheld"] == [{"document": "d2", "label": "Doc. 2", "withheld": "whole",
                                 "title": "2. Telegram From the Embassy to the Department of State"}]


def test_stats_text():
    r = run_editio("stats", "--project", ROOT)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "Redactions: 13 in 3 of 3 document(s); 2 restored, 11 not restored"
    assert "Restored, by certainty: high 1, medium 1" in lines
    assert "Documents withheld: 1 in whole, 0 in part" in lines
    assert any(re.fullmatch(r"Doc\. 2\s+2\s+2 pages, handling designator; withheld in whole", ln)
               for ln in lines)


def test_annotations_lists_each_redaction_with_place_and_extent():
    r = run_editio("annotations", "--project", ROOT, "--kind", "redaction")
    assert r.returncode == 0, r.stderr
    recs = json.loads(r.stdout)
    got = [(x["label"], x["location"], x["statement"], x["extent"]["text"] if x["extent"] else None,
            x["restored"], x["cert"], x["withheld"]) for x in recs]
    assert got == [
        ("Doc. 1, ¶ 1", "tei/vol.xml:14:29", "[name not declassified]", "1 name", False, "", ""),
        ("Doc. 1, ¶ 1", "tei/vol.xml:14:87", "[less than 1 line of source text not declassified]",
         "less than 1 line", False, "", ""),
        ("Doc. 1, ¶ 2", "tei/vol.xml:15:12", "[1 paragraph (3 lines of source text) not declassified]",
         "1 paragraph (3 lines)", False, "", ""),
        ("Doc. 1, ¶ 3", "tei/vol.xml:16:33", "[1½ lines of source text not declassified]", "1½ lines",
         False, "", ""),
        ("Doc. 1, ¶ 3", "tei/vol.xml:17:17", "[2-1/2 lines of source text not declassified]",
         "2½ lines", False, "", ""),
        ("Doc. 1, note 2", "tei/vol.xml:17:141", "[2 lines of source text] not declassified",
         "2 lines", False, "", ""),
        ("Doc. 1, ¶ 4", "tei/vol.xml:18:24", "**", None, True, "high", ""),
        ("Doc. 1, ¶ 4", "tei/vol.xml:18:153", "***", None, False, "", ""),
        ("Doc. 2, source note", "tei/vol.xml:23:55", "handling designator not declassified",
         "handling designator", False, "", ""),
        ("Doc. 2, source note", "tei/vol.xml:23:93", "2 pages of source text not declassified",
         "2 pages", False, "", "whole"),
        ("Doc. 3, ¶ 1", "tei/vol.xml:27:21", "[text not declassified]", "text", False, "", ""),
        ("Doc. 3, ¶ 1", "tei/vol.xml:27:93", "**", None, True, "medium", ""),
        ("Doc. 3, ¶ 2", "tei/vol.xml:28:30", "", "3 words", False, "", ""),
    ]
    mask = recs[6]
    assert mask["restoration"] == "Mao Zedong" and mask["id"] == "d1-m01"
    assert mask["note"].startswith("The leader who agreed was Mao Zedong")
    # every location points at the statement (or the element) in the source
    src = (ROOT / "tei" / "vol.xml").read_text(encoding="utf-8").split("\n")
    for x in recs:
        at = src[x["line"] - 1][x["col"] - 1:]
        expect = "<" if x["source"] == "element" else x["statement"][:1]
        assert at.startswith(expect), (x["location"], at[:40])
    # everything else is still listed, and redactions only once
    every = json.loads(run_editio("annotations", "--project", ROOT).stdout)
    assert sum(1 for x in every if x["kind"] == "redaction") == 13


def test_bad_rule_is_a_located_error(tmp_path):
    proj = tmp_path / "p"
    shutil.copytree(ROOT, proj)
    toml = proj / "editio.toml"
    toml.write_text(toml.read_text().replace("regex = '(?i)\\[(?P<extent>", "regex = '(?i)\\[(?P<extent"),
                    encoding="utf-8")
    for cmd in (("stats",), ("annotations",), ("build", "--format", "html")):
        r = run_editio(*cmd, "--project", proj)
        assert r.returncode == 1
        assert "Traceback" not in r.stderr
        assert re.search(r"editio\.toml.*error: \[redactions\] patterns\[1\]: invalid regex", r.stderr), r.stderr
    assert not (proj / "build").exists()


def test_site_redactions_page(tmp_path):
    proj = tmp_path / "p"
    shutil.copytree(ROOT, proj)
    r = run_editio("build", "--project", proj, "--format", "html")
    assert r.returncode == 0, r.stderr
    site = proj / "build" / "html"
    page = (site / "redactions.html").read_text(encoding="utf-8")
    assert '<a href="redactions.html" aria-current="page">Redactions</a>' in page
    assert 'href="redactions.html"' in (site / "index.html").read_text(encoding="utf-8")
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))
    assert "13 redactions in 3 of 3 documents, 2 restored" in text
    assert "Extent 2 pages, 1 paragraph (3 lines), 6 lines and 1 passage of less than 1 line" in text
    assert "Restored by the editors 2 (high certainty 1, medium certainty 1)" in text
    assert "Documents withheld 1 in whole, 0 in part" in text
    assert "“Mao Zedong” (high certainty)" in text
    assert "[1 paragraph (3 lines of source text) not declassified] 1 paragraph (3 lines)" in text
    # reader language only: no xml:ids, no element names in the visible text
    for word in ("d1-m01", "supplied", "choice", "gap", "xml:id"):
        assert word not in text
    # every link of the table reaches an id on its page
    rows = re.findall(r'<tr class="redaction[^"]*"><td>\d+</td><td><a href="([^"]+)"', page)
    assert len(rows) == 13
    for href in rows:
        name, _, frag = href.partition("#")
        target = (site / name).read_text(encoding="utf-8")
        assert f'id="{frag}"' in target, href


def test_book_appendix(tmp_path):
    if not shutil.which("pdftotext"):
        pytest.skip("pdftotext not installed")
    proj = tmp_path / "p"
    shutil.copytree(ROOT, proj)
    r = run_editio("build", "--project", proj, "--format", "pdf")
    assert r.returncode == 0, r.stderr
    assert "pdf.ref" not in r.stderr
    pdf = proj / "build" / "pdf" / "edition.pdf"
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True,
                          text=True).stdout
    flat = " ".join(text.split())
    assert "Appendix: Redactions" in flat
    assert "13 redactions in 3 documents" in flat
    assert "Documents withheld: 1 in whole, 0 in part" in flat
    assert re.search(r"Doc\. 2: 2\. Telegram From the Embassy to the Department of State \(2: 2 pages, "
                     r"handling designator; withheld in whole\)", flat)
    appendix = text[text.index("Appendix: Redactions\n"):]
    # one row per redaction, each with the page it stands on (the chapters come first)
    pages = [int(p) for p in re.findall(r"(?:not restored|\(high\)|\(medium\)) +(\d+)$", appendix, re.M)]
    assert len(pages) == 13
    assert all(0 < p < int(re.search(r"Pages:\s+(\d+)", subprocess.run(
        ["pdfinfo", str(pdf)], capture_output=True, text=True).stdout).group(1)) for p in pages)
    assert "source note" in appendix and "“Mao Zedong” (high)" in appendix
    for word in ("d1-m01", "supplied", "choice", "xml:id"):
        assert word not in appendix


FRUS_FIGURES = {
    # volume: (redactions, documents with one, withheld in whole, extent)
    "frus1917-72PubDip.xml": (0, 0, 0, None),
    "frus1955-57v23p2.xml": (171, 54, 0, None),
    "frus1964-68v29p2.xml": (34, 27, 17, "62 pages, 36½ lines and 3 passages of less than 1 line, "
                             "5 passages of unstated extent"),
}


@pytest.mark.slow
@pytest.mark.parametrize("volume", sorted(FRUS_FIGURES))
def test_frus_volumes(tmp_path, volume):
    src = FRUS / volume
    if not src.exists():
        pytest.skip("FRUS corpus not available")
    proj = tmp_path / "v"
    (proj / "tei").mkdir(parents=True)
    shutil.copy(src, proj / "tei" / volume)
    shutil.copy(ROOT / "editio.toml", proj / "editio.toml")
    r = run_editio("stats", "--project", proj, "--format", "json")
    assert r.returncode == 0, r.stderr
    t = json.loads(r.stdout)["total"]
    count, docs, whole, extent = FRUS_FIGURES[volume]
    assert (t["count"], t["documents"], t["withheld_whole"]) == (count, docs, whole)
    if extent:
        assert t["extent_text"] == extent
    # every "not declassified" of the texts is counted (the preface's are prose about them)
    raw = src.read_text(encoding="utf-8")
    body = raw[raw.index("<body"):]
    assert t["count"] == len(re.findall(r"not\s+declassified", body)) - len(
        re.findall(r"(?:material|pages) not declassified (?:has|in their)", body))


def test_anchored_pattern_is_tried_on_each_paragraph(tmp_path):
    """A pattern is tried on a paragraph only if it is found in its unit's whole text (a unit
    with no statement is not read further); a regex that reads around what it matches (``^``,
    ``\\b``, a negative lookaround) may be found in a paragraph and not in the unit's text
    joined, and is tried on every paragraph."""
    proj = tmp_path / "p"
    shutil.copytree(ROOT, proj)
    toml = proj / "editio.toml"
    text = toml.read_text(encoding="utf-8")
    toml.write_text(text[:text.index("[[redactions.patterns]]")]
                    + "[[redactions.patterns]]\nregex = '^\\s*\\[Withheld\\]'\n", encoding="utf-8")
    vol = proj / "tei" / "vol.xml"
    vol.write_text(vol.read_text(encoding="utf-8").replace(
        "<p>The list follows:", "<p>[Withheld]</p>\n        <p>The list follows:"), encoding="utf-8")
    from editio.redactions import PatternRule
    assert PatternRule("^x").local is False and PatternRule(r"a\b").local is False
    assert PatternRule(r"(?<!x)a").local is False and PatternRule(r"(?>a+)b").local is False
    assert PatternRule(r"(?i)\[(?P<e>[^\]]+)\]\s*(?=[.;])").local is True
    r = run_editio("annotations", "--project", proj, "--kind", "redaction")
    assert r.returncode == 0, r.stderr
    got = [(x["label"], x["statement"]) for x in json.loads(r.stdout) if x["source"] == "statement"]
    assert got == [("Doc. 3, ¶ 2", "[Withheld]")]
