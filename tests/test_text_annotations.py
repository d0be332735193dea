"""`editio text` and `editio annotations` on a small project: views, offsets, records."""
from __future__ import annotations

import csv
import io
import json

from conftest import ROOTS, run_editio

VALID = ROOTS / "valid"


def test_diplomatic_text_is_the_witness():
    r = run_editio("text", VALID / "tei" / "a.xml", "--view", "diplomatic", "--project", VALID)
    assert r.returncode == 0
    assert r.stdout == (VALID / "witnesses" / "a.txt").read_text()


def test_edited_text_applies_restorations_and_corrections():
    r = run_editio("text", VALID / "tei" / "a.xml", "--view", "edited", "--project", VALID)
    assert r.stdout == ("A Title Line\n\nThe joint forces crossed the river on 19 October.\n"
                        "Khrushchev met Kim in 1957.")


def test_annotations_json_records():
    r = run_editio("annotations", "--project", VALID)
    assert r.returncode == 0
    recs = json.loads(r.stdout)
    assert [(a["document"], a["id"], a["kind"], a["type"]) for a in recs] == [
        ("a", "a-m01", "redaction", "restored"),
        ("a", "a-e01", "correction", "factual"),
        ("a", "a-x01", "crossref", "disagrees"),
        ("b", "b-x01", "crossref", "agrees"),
    ]
    m = recs[0]
    assert m == {"n": 1, "id": "a-m01", "document": "a", "file": "tei/a.xml", "line": 16,
                 "kind": "redaction", "type": "restored", "diplomatic": "**", "edited": "forces",
                 "cert": "high", "resp": "ed",
                 "note": 'The subject of "crossed" is the UN forces.', "offset": 24, "targets": [],
                 "agreement": ""}
    assert recs[2]["targets"] == ["ev-moscow-1957"]
    assert recs[3]["agreement"] == "agrees"  # its date, November 1957, against the event's 2-21 November
    assert recs[2]["note"] == "Doc. B has Mao meet Kim; see there."
    assert recs[2]["diplomatic"] == "Stalin met Kim in 1957"
    assert recs[2]["edited"] == "Khrushchev met Kim in 1957"


def test_offsets_point_into_the_diplomatic_text():
    recs = json.loads(run_editio("annotations", "--project", VALID).stdout)
    for a in recs:
        text = (VALID / "witnesses" / f"{a['document']}.txt").read_text()
        assert text[a["offset"]:a["offset"] + len(a["diplomatic"])] == a["diplomatic"], a


def test_annotations_csv_and_kind_filter():
    r = run_editio("annotations", "--project", VALID, "--format", "csv", "--kind", "crossref")
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    assert [row["id"] for row in rows] == ["a-x01", "b-x01"]
    assert rows[0]["targets"] == "ev-moscow-1957"
    assert list(rows[0]) == ["n", "id", "document", "file", "line", "kind", "type", "diplomatic",
                             "edited", "cert", "resp", "note", "offset", "targets", "agreement"]


def test_import_makes_a_skeleton_whose_diplomatic_text_is_the_witness(tmp_path):
    w = tmp_path / "w.txt"
    w.write_text("Title\n\n\nFirst ** line & <more>\nSecond\n", encoding="utf-8")
    (tmp_path / "tei").mkdir()
    # masks are a convention of the edition (its profile), not of every TEI edition
    (tmp_path / "editio.toml").write_text('mask_pattern = "\\\\*{2,3}"\n', encoding="utf-8")
    r = run_editio("import", w, "--id", "d9", "--project", tmp_path)
    assert r.returncode == 0, r.stderr
    t = run_editio("text", tmp_path / "tei" / "d9.xml", "--project", tmp_path)
    assert t.stdout == w.read_text()
    c = run_editio("check", "--project", tmp_path)
    assert c.stdout.splitlines() == [
        'tei/d9.xml:30:9: warning: mask "**" at character 14 is not encoded '
        '(<choice><orig>**</orig><supplied reason="masked">…) [mask.unencoded]']
    assert c.returncode == 0


def test_serve_answers_on_loopback(tmp_path):
    import re
    import subprocess
    import sys
    import urllib.request
    site = tmp_path / "build" / "html"
    site.mkdir(parents=True)
    (site / "index.html").write_text("<!doctype html><title>t</title>home", encoding="utf-8")
    p = subprocess.Popen([sys.executable, "-m", "editio", "serve", "--project", tmp_path, "--port", "0"],
                         stderr=subprocess.PIPE, text=True)
    try:
        line = p.stderr.readline()
        url = re.search(r"http://127\.0\.0\.1:\d+/", line).group(0)
        with urllib.request.urlopen(url + "index.html", timeout=10) as r:
            assert r.read().endswith(b"home")
    finally:
        p.terminate()
        p.wait(timeout=10)


def test_serve_without_a_site_is_a_clear_error(tmp_path):
    r = run_editio("serve", "--project", tmp_path)
    assert r.returncode == 1 and "run `editio build` first [serve.nosite]" in r.stderr
