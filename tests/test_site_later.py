"""The search index is written after the edition is let go (:class:`editio.builders.Later`).

Pagefind's write is a FRUS build's peak of memory (~120 MB in its own process); while it
runs, the build's own process must no longer hold the parsed TEI, the resolved edition, the
check's results or the site's cache record as Python objects."""
from __future__ import annotations

import gc
import json
import shutil

from conftest import ROOTS
from editio import build as build_mod
from editio.builders import site as site_mod
from editio.cache import BuildRecord, SiteCache, Store, cache_root
from editio.config import load
from editio.corpus import Corpus, Document
from editio.transforms import Edition, ResolvedDoc


def _alive(*types) -> dict:
    gc.collect()
    counts = {t.__name__: 0 for t in types}
    for o in gc.get_objects():
        for t in types:
            if isinstance(o, t):
                counts[t.__name__] += 1
    return counts


def test_the_index_is_written_once_the_edition_is_let_go(tmp_path, monkeypatch):
    proj = tmp_path / "p"
    shutil.copytree(ROOTS / "site-basic", proj)
    seen = {}
    real = site_mod._pagefind_write

    async def spy(index):
        seen.update(_alive(Edition, Corpus, Document, ResolvedDoc, site_mod.Site, SiteCache))
        from lxml import etree
        seen["tei elements"] = sum(1 for o in gc.get_objects() if isinstance(o, etree._Element)
                                   and isinstance(o.tag, str) and o.tag.startswith("{http://www.tei-c.org"))
        return await real(index)

    monkeypatch.setattr(site_mod, "_pagefind_write", spy)
    result = build_mod.build(load(proj), formats=("html",))
    assert not result.report.errors, result.report.items
    assert seen, "the index was written"
    assert seen == {"Edition": 0, "Corpus": 0, "Document": 0, "ResolvedDoc": 0, "Site": 0,
                    "SiteCache": 0, "tei elements": 0}
    out = proj / "build" / "html"
    entry = json.loads((out / "pagefind" / "pagefind-entry.json").read_text())
    assert entry["languages"]["en"]["page_count"] > 2
    # the cache record, written from its JSON text made before the write, has the index's
    # part: the next build takes the whole site, index included, as it was
    record = Store(cache_root(load(proj))).get(SiteCache.NAME)
    assert record["search"]["key"] and "pagefind-entry.json" in record["search"]["files"]
    assert record["pages"] and record["docs"]
    again = build_mod.build(load(proj), formats=("html",))
    assert again.up_to_date
    assert BuildRecord.load(Store(cache_root(load(proj)))).outputs["html"]


def test_the_frozen_record_is_the_record(tmp_path):
    """SiteCache.frozen() + FrozenRecord.save(search) writes what save() writes."""
    store = Store(tmp_path / "cache")
    cache = SiteCache(store, tmp_path / "out")
    cache.docs = {"a.xml": "1"}
    cache.pages = {"a.html": {"sha": "x", "records": [{"url": "/a.html#note-1", "content": "é"}]}}
    cache.search = {"key": "k", "files": {"pagefind-entry.json": "h"}}
    cache.save()
    whole = store.get(SiteCache.NAME)
    cache.frozen().save({"key": "k", "files": {"pagefind-entry.json": "h"}})
    assert store.get(SiteCache.NAME) == whole
    cache.frozen()   # written at once, with no index: the next build would make it again
    assert store.get(SiteCache.NAME) == {**whole, "search": None}
    cache.frozen().save(None)
    assert store.get(SiteCache.NAME) == {**whole, "search": None}


def test_a_schema_error_cancels_the_index_write(tmp_path, monkeypatch):
    """The validation, finished after the builders, finds an error: the write left for
    later is not run, Pagefind is stopped and the previous output stays."""
    proj = tmp_path / "p"
    shutil.copytree(ROOTS / "site-basic", proj)
    calls = []
    monkeypatch.setattr(site_mod._SearchWrite, "run", lambda self: calls.append("run"))
    real_cancel = site_mod._SearchWrite.cancel

    def cancel(self):
        calls.append("cancel")
        real_cancel(self)
    monkeypatch.setattr(site_mod._SearchWrite, "cancel", cancel)

    def failing(held_finish):
        def finish():
            report = held_finish()
            report.error("tei/t001.xml", 1, "schema.invalid", "a test's schema error")
            return report
        finish.cancel = held_finish.cancel
        return finish
    real_prepare = build_mod.prepare

    def prepare(*a, **k):
        edition, report, finish = real_prepare(*a, **k)
        return edition, report, failing(finish)
    monkeypatch.setattr(build_mod, "prepare", prepare)
    result = build_mod.build(load(proj), formats=("html",))
    assert result.report.errors
    assert calls == ["cancel"]
    assert not (proj / "build" / "html").exists()
    assert not list(proj.glob(".build.tmp-*")) and not list((proj).glob("build/.html*"))


def test_an_index_write_that_fails_leaves_no_half_written_index(tmp_path, monkeypatch):
    """Pagefind stopping in the middle of its write (killed, out of memory, too slow): the
    build warns, the site is whole, and no partial index is left for the search page to load."""
    proj = tmp_path / "p"
    shutil.copytree(ROOTS / "site-basic", proj)
    real = site_mod._pagefind_write

    async def broken(index):
        await real(index)
        # cut the entry file short, wherever the staging folder is
        for entry in (tmp_path / "p").rglob("pagefind-entry.json"):
            entry.write_text('{"version": ')
        raise RuntimeError("Pagefind stopped with status -9")

    monkeypatch.setattr(site_mod, "_pagefind_write", broken)
    result = build_mod.build(load(proj), formats=("html",))
    assert not result.report.errors, result.report.items
    warned = [d for d in result.report.items if d.code == "html.search"]
    assert warned and "status -9" in warned[0].message
    out = proj / "build" / "html"
    assert (out / "t001.html").is_file()
    assert not (out / "pagefind").exists()
