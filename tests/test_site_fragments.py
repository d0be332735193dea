"""A note as other pages quote it (the annotations page) is taken from its document's page
as that page rendered it: the same HTML as rendering the note again for the other page."""
from __future__ import annotations

import functools
import shutil

import pytest

from conftest import ROOTS
from editio.build import prepare
from editio.builders.site import Site
from editio.config import load
from editio.diagnostics import Report


@pytest.mark.parametrize("root", ["site-basic", "frus-mini", "redactions", "pdf-basic"])
def test_note_fragments_from_the_document_page(tmp_path, root):
    proj = tmp_path / root
    shutil.copytree(ROOTS / root, proj)
    edition, _ = prepare(load(proj), keep_going=True)
    site = Site(edition, tmp_path / "out", Report(), None, cache=None)
    site.out.mkdir()
    site.copy_assets()
    checked = 0
    for rd in edition.docs:
        page = site.doc_pages[rd.id]
        frags = site._page_job(functools.partial(site.document, rd))[4]
        for ann in rd.annotations:
            kept = frags[page][site._note_key(ann)]
            assert kept == ["m", str(site._note_html(rd, ann))], (rd.id, ann.n)
            checked += 1
    assert checked > 0
