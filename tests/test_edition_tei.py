"""The edition's own TEI (tei/): diplomatic fidelity, validity, every mask accounted for."""
from __future__ import annotations

import json
import re

import pytest
from lxml import etree

from conftest import REPO, TEI_ALL, run_editio

TEI = sorted((REPO / "tei").glob("*.xml"))
TEXTS = [p for p in TEI if p.name != "authority.xml"]
WITNESSES = sorted((REPO / "witnesses").glob("*.txt"))


def test_five_documents_and_five_witnesses():
    assert len(TEXTS) == 5 and len(WITNESSES) == 5


@pytest.mark.parametrize("path", TEXTS, ids=lambda p: p.name)
def test_diplomatic_view_reproduces_the_witness(path):
    n = path.stem[1:]
    witness = next(w for w in WITNESSES if w.name.startswith(n + "_"))
    r = run_editio("text", path, "--view", "diplomatic")
    assert r.returncode == 0, r.stderr
    expected = witness.read_text(encoding="utf-8")
    if r.stdout != expected:
        i = next((k for k, (a, b) in enumerate(zip(r.stdout, expected)) if a != b),
                 min(len(r.stdout), len(expected)))
        pytest.fail(f"{path.name} differs from {witness.name} at {i}: "
                    f"{r.stdout[i-30:i+30]!r} vs {expected[i-30:i+30]!r}")


@pytest.fixture(scope="module")
def tei_all():
    return etree.RelaxNG(etree.parse(str(TEI_ALL)))


@pytest.mark.parametrize("path", TEI, ids=lambda p: p.name)
def test_valid_against_tei_all(path, tei_all):
    ok = tei_all.validate(etree.parse(str(path)))
    assert ok, [f"{e.line}: {e.message}" for e in tei_all.error_log][:10]


@pytest.mark.parametrize("path", TEI, ids=lambda p: p.name)
def test_names_the_edition_schema(path):
    head = path.read_text(encoding="utf-8")[:400]
    assert '<?xml-model href="../schema/editio.rng"' in head


def test_check_strict_passes():
    r = run_editio("check", "--strict")
    assert (r.returncode, r.stdout) == (0, ""), r.stdout
    assert r.stderr.strip() == f"{len(TEI)} files checked: 0 errors, 0 warnings"


@pytest.fixture(scope="module")
def annotations():
    r = run_editio("annotations")
    assert r.returncode == 0
    return json.loads(r.stdout)


def test_every_mask_is_encoded_restored_or_reasoned(annotations):
    masks_in_witnesses = sum(len(re.findall(r"\*{2,3}", w.read_text())) for w in WITNESSES)
    reds = [a for a in annotations if a["kind"] == "redaction"]
    assert len(reds) == masks_in_witnesses == 90
    for a in reds:
        assert re.fullmatch(r"\*{2,3}", a["diplomatic"]), a
        assert len(a["note"]) > 40, f"{a['id']}: the note must give the evidence"
        if a["type"] == "restored":
            assert a["cert"] in ("high", "medium", "low") and a["resp"], a
        else:
            assert a["edited"] == "[…]"


def test_every_correction_has_class_certainty_resp_and_reason(annotations):
    cors = [a for a in annotations if a["kind"] == "correction"]
    assert len(cors) > 30
    for a in cors:
        assert a["type"] in ("factual", "translation", "name", "typographic", "contradiction"), a
        assert a["cert"] in ("high", "medium", "low") and a["resp"] and a["note"], a
        assert a["diplomatic"] != a["edited"], a


def test_cross_references_point_to_shared_events(annotations):
    xs = [a for a in annotations if a["kind"] == "crossref"]
    docs_by_event = {}
    for a in xs:
        assert a["targets"], a
        for t in a["targets"]:
            docs_by_event.setdefault(t, set()).add(a["document"])
    shared = [e for e, d in docs_by_event.items() if len(d) > 1]
    assert len(shared) >= 10
    for a in xs:
        if a["type"] == "disagrees":
            assert a["note"], f"{a['id']}: a disagreement needs a note"


def test_offsets_locate_every_annotation(annotations):
    texts = {w.name[:3]: w.read_text() for w in WITNESSES}
    for a in annotations:
        if a["kind"] == "note":
            continue
        t = texts[a["document"][1:]]
        assert t[a["offset"]:a["offset"] + len(a["diplomatic"])] == a["diplomatic"], a["id"]
