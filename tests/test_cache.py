"""The build cache (editio.cache): a no-change build rewrites nothing; an incremental build
after one document changed gives, byte for byte, the output of a clean build of the changed
input; the check's per-file cache gives the diagnostics of a clean check; --no-cache and
editio clean force a clean build; a new editio matches no earlier record."""
from __future__ import annotations

import filecmp
import os
import shutil
from pathlib import Path

import pytest

from conftest import ROOTS, copy_edition as edition_copy, run_editio

SEARCH = "pagefind"
"""Pagefind's index is not byte-reproducible even between two clean builds (its file names
are hashes of data it orders as it likes), so the comparisons leave it aside; the pages it
indexes are compared."""


def root_copy(name: str, dest: Path) -> Path:
    shutil.copytree(ROOTS / name, dest)   # symlinked folders (schema/) copied as files
    return dest


def differences(a: Path, b: Path, rel: str = "") -> list[str]:
    """Files that differ between two output trees, byte for byte (the search index aside)."""
    out = []
    c = filecmp.dircmp(a, b, ignore=[SEARCH])
    out += [rel + x for x in c.left_only + c.right_only + c.funny_files]
    for f in c.common_files:
        if Path(a, f).read_bytes() != Path(b, f).read_bytes():
            out.append(rel + f)
    for d in c.common_dirs:
        out += differences(Path(a, d), Path(b, d), rel + d + "/")
    return out


def stamps(folder: Path) -> dict:
    return {p.relative_to(folder).as_posix(): (p.stat().st_mtime_ns, p.stat().st_ino)
            for p in folder.rglob("*") if p.is_file()}


def build(project: Path, *extra):
    r = run_editio("build", "--project", project, "--format", "html", *extra)
    assert r.returncode == 0, r.stdout + r.stderr
    return r


def renumber_notes(doc):
    """A new annotated passage at the start of ``doc``'s first paragraph, with a note:
    every later note of the document is renumbered."""
    import re
    s = doc.read_text(encoding="utf-8")
    i = s.index(">", s.index("<p", s.index("<body"))) + 1
    word = re.match(r"\s*[A-Za-z]+", s[i:]).group(0)
    s = s[:i] + f'<seg xml:id="d002-new" type="problem">{word}</seg>' + s[i + len(word):]
    j = s.index(">", s.index('<div type="editorial-notes"')) + 1
    doc.write_text(s[:j] + '<note type="comment" target="#d002-new" resp="authority.xml#editio-editors">'
                   "Unclear.</note>" + s[j:], encoding="utf-8")


def edit_note(path: Path, words: str = "Revised. ") -> None:
    """Put ``words`` at the start of the first editorial note."""
    s = path.read_text(encoding="utf-8")
    i = s.index("<note", s.index('type="editorial-notes"'))
    i = s.index(">", i) + 1
    path.write_text(s[:i] + words + s[i:], encoding="utf-8")


def clean_build_of(project: Path, dest: Path) -> Path:
    """A clean build of ``project``'s sources in a fresh copy (no build/, no cache)."""
    shutil.copytree(project, dest, ignore=shutil.ignore_patterns("build", ".editio-cache",
                                                                 ".editio-build.lock"))
    build(dest, "--no-cache")
    return dest


def test_no_change_rewrites_nothing(tmp_path):
    project = root_copy("site-basic", tmp_path / "p")
    build(project)
    before = stamps(project / "build")
    r = build(project)
    assert "up to date" in r.stderr and "nothing rewritten" in r.stderr, r.stderr
    assert stamps(project / "build") == before
    # a save that changes no byte is no change
    doc = project / "tei" / "t001.xml"
    doc.write_bytes(doc.read_bytes())
    assert "up to date" in build(project).stderr
    assert stamps(project / "build") == before
    # an output file edited by hand is not trusted: the next build makes the output again
    page = project / "build" / "html" / "t001.html"
    good = page.read_bytes()
    page.write_text("tampered", encoding="utf-8")
    r = build(project)
    assert "up to date" not in r.stderr and page.read_bytes() == good


def test_incremental_equals_clean_basic(tmp_path):
    project = root_copy("site-basic", tmp_path / "p")
    build(project)
    edit_note(project / "tei" / "t002.xml")
    r = build(project)
    assert "up to date" not in r.stderr
    clean = clean_build_of(project, tmp_path / "clean")
    assert differences(project / "build", clean / "build") == []
    assert "Revised." in (project / "build" / "html" / "t002.html").read_text(encoding="utf-8")


def test_incremental_equals_clean_edition(tmp_path):
    """The first edition: a note edited in one document, then a new cross-reference from
    another document (its target's page gains a back-link): after each, the incremental
    build is the clean build byte for byte."""
    project = edition_copy(tmp_path / "edition")
    build(project)
    edit_note(project / "tei" / "d002.xml")
    build(project)
    assert differences(project / "build", clean_build_of(project, tmp_path / "c1") / "build") == []
    edit_note(project / "tei" / "d004.xml", 'See <ref target="d000.xml#d000-x01">Doc. 1</ref>. ')
    build(project)
    assert differences(project / "build", clean_build_of(project, tmp_path / "c2") / "build") == []
    page = (project / "build" / "html" / "d000.html").read_text(encoding="utf-8")
    assert "d004.html#" in page   # the back-link to the new reference


LONE = """<?xml version="1.0" encoding="UTF-8"?>
<TEI xmlns="http://www.tei-c.org/ns/1.0" xml:id="t003" xml:lang="en">
  <teiHeader>
    <fileDesc>
      <titleStmt><title>A document on its own</title></titleStmt>
      <publicationStmt><p>Test.</p></publicationStmt>
      <sourceDesc><p>Written for the cache test.</p></sourceDesc>
    </fileDesc>
  </teiHeader>
  <text><body><div type="article"><head>On its own</head><p>Nothing points here.</p></div></body></text>
</TEI>
"""


@pytest.mark.slow
def test_incremental_equals_clean_renumbered(tmp_path):
    """A new annotated passage at the start of a document renumbers its notes: the
    back-links of the documents pointing into it ("Doc. 3, note 12") change with them."""
    project = edition_copy(tmp_path / "edition")
    build(project)
    renumber_notes(project / "tei" / "d002.xml")
    build(project)
    assert differences(project / "build", clean_build_of(project, tmp_path / "c") / "build") == []


def test_unchanged_pages_are_not_rewritten(tmp_path):
    """A document nothing points to and that points to nothing: changing another document
    leaves its page as it was (the same file, not rewritten); the index pages are made
    again; the whole is still the clean build."""
    project = root_copy("site-basic", tmp_path / "p")
    (project / "tei" / "t003.xml").write_text(LONE, encoding="utf-8")
    build(project)
    before = stamps(project / "build" / "html")
    edit_note(project / "tei" / "t002.xml")
    build(project)
    after = stamps(project / "build" / "html")
    assert after["t003.html"] == before["t003.html"]
    assert after["t002.html"] != before["t002.html"]
    assert after["annotations.html"] != before["annotations.html"]
    clean = clean_build_of(project, tmp_path / "clean")
    assert differences(project / "build", clean / "build") == []


def check_output(project: Path) -> str:
    r = run_editio("check", "--project", project, "--verbose")
    return f"{r.returncode}\n{r.stdout}{r.stderr}"


def test_check_cache_gives_a_clean_checks_diagnostics(tmp_path):
    """Edits that change what other files' rules see: a duplicate of another file's id, a
    pointer to an id that goes away; each time the cached check says what a check without
    the cache says."""
    project = edition_copy(tmp_path / "edition")
    check_output(project)                        # fills the cache
    assert (project / ".editio-cache").is_dir()

    def same():
        cached = check_output(project)
        shutil.rmtree(project / ".editio-cache")
        assert cached == check_output(project)
        return cached

    edit_note(project / "tei" / "d002.xml")
    same()
    d3 = project / "tei" / "d003.xml"            # d003 takes an id d001 has
    s = d3.read_text(encoding="utf-8")
    i = s.index(">", s.index('<note', s.index('type="editorial-notes"'))) + 1
    d3.write_text(s[:i] + '<seg xml:id="d001-g01">x</seg>' + s[i:], encoding="utf-8")
    out = same()
    assert "id.duplicate" in out
    d0 = project / "tei" / "d000.xml"            # an id others point to goes away
    d0.write_text(d0.read_text(encoding="utf-8").replace('xml:id="d000-x28"', 'xml:id="d000-x28b"'),
                  encoding="utf-8")
    out = same()
    assert any(ln.startswith(("tei/d001", "tei/d002", "tei/d003", "tei/d004"))
               and "d000.xml#d000-x28" in ln and "[ref.missing]" in ln for ln in out.splitlines()), out


def test_no_cache_and_clean(tmp_path):
    project = root_copy("site-basic", tmp_path / "p")
    build(project)
    before = stamps(project / "build")
    r = build(project, "--no-cache")
    assert "up to date" not in r.stderr
    assert stamps(project / "build") != before
    r = run_editio("clean", "--project", project)
    assert r.returncode == 0 and not (project / ".editio-cache").exists(), r.stderr
    assert (project / "build").is_dir()
    assert "up to date" not in build(project).stderr
    r = run_editio("clean", "--project", project, "--output")
    assert r.returncode == 0, r.stderr
    assert not (project / "build").exists() and not (project / ".editio-cache").exists()


def test_failed_build_keeps_output_and_cache(tmp_path):
    project = root_copy("site-basic", tmp_path / "p")
    build(project)
    before = stamps(project / "build")
    doc = project / "tei" / "t001.xml"
    good = doc.read_bytes()
    doc.write_bytes(good.replace(b"</TEI>", b"</TEIx>"))
    r = run_editio("build", "--project", project, "--format", "html")
    assert r.returncode == 1 and "read.syntax" in r.stderr
    assert stamps(project / "build") == before
    doc.write_bytes(good)
    assert "up to date" in build(project).stderr   # back to the sources of the output


def test_new_editio_matches_no_record(tmp_path, monkeypatch):
    """The record's digest holds editio's version and code: another editio rebuilds."""
    import editio.cache as cache
    from editio.config import load
    project = load(root_copy("site-basic", tmp_path / "p"))
    cache.code_hash.cache_clear()
    first = cache.inputs_digest(project)
    monkeypatch.setattr(cache, "__version__", "0.0.0-other")
    cache.code_hash.cache_clear()
    try:
        assert cache.inputs_digest(project) != first
    finally:
        monkeypatch.undo()
        cache.code_hash.cache_clear()
    assert cache.inputs_digest(project) == first


def test_records_are_written_atomically(tmp_path):
    from editio.cache import Store
    store = Store(tmp_path / "c")
    store.put("a/b.json", {"x": 1})
    assert store.get("a/b.json") == {"x": 1}
    assert [p.name for p in (tmp_path / "c" / "a").iterdir()] == ["b.json"]   # no temporaries
    (tmp_path / "c" / "a" / "b.json").write_text("{half", encoding="utf-8")
    assert store.get("a/b.json") is None          # unreadable: a miss, never an error
    assert Store(tmp_path / "c", enabled=False).get("a/b.json") is None


def test_another_profile_is_another_build(tmp_path):
    """--profile names a profile no file of the project names: the cache tells them apart."""
    project = root_copy("site-basic", tmp_path / "p")
    build(project)
    r = run_editio("build", "--project", project, "--format", "html", "--profile", "default")
    assert r.returncode == 0 and "up to date" not in r.stderr, r.stderr
    clean = tmp_path / "clean"
    shutil.copytree(project, clean, ignore=shutil.ignore_patterns("build", ".editio-cache"))
    r = run_editio("build", "--project", clean, "--format", "html", "--profile", "default",
                   "--no-cache")
    assert r.returncode == 0, r.stderr
    assert differences(project / "build", clean / "build") == []


def test_watch_keeps_the_last_good_page_when_the_schema_finds_errors(tmp_path):
    """In serve --watch the schema validation runs while the pages are made: when it finds
    an error nothing is put in place (the page stays the last good one), and the
    diagnostics say where."""
    import io

    from editio.config import load
    from editio.watch import LiveState, Rebuilder, run_once
    project = root_copy("site-basic", tmp_path / "p")
    out = io.StringIO()
    rb, state = Rebuilder(load(project), out=out, search=False), LiveState()
    assert run_once(rb, state, out, force=True).ok
    page = project / "build" / "html" / "t002.html"
    good = page.read_bytes()
    edit_note(project / "tei" / "t002.xml", "<hi><p>no paragraph in a highlight</p></hi> ")
    bad = run_once(rb, state, out)
    assert not bad.ok and any(d.code == "schema.invalid" for d in bad.report.items), out.getvalue()
    assert page.read_bytes() == good and not state.snapshot()["ok"]
    assert not list((project / "build").glob(".html.live-*"))   # no scratch folder left


class _Watched:
    """serve --watch's Rebuilder on a copy of the first edition; :meth:`same_as_clean` runs
    one rebuild and compares the live site with a clean build of the sources then (or,
    when the sources have errors, with the last good site, which must stay as it was)."""

    def __init__(self, tmp_path: Path, root: str | None = None):
        """``root``: a project of tests/roots instead of the first edition."""
        import io

        from editio.config import load
        from editio.watch import LiveState, Rebuilder, run_once
        self.tmp, self.n = tmp_path, 0
        self.project = edition_copy(tmp_path / "edition") if root is None \
            else root_copy(root, tmp_path / "edition")
        self.tei = self.project / "tei"
        self.out = io.StringIO()
        self.rb, self.state = Rebuilder(load(self.project), out=self.out, search=False), LiveState()
        assert run_once(self.rb, self.state, self.out, force=True).ok, self.out.getvalue()
        self.live = self.project / "build" / "html"

    def same_as_clean(self, what: str, errors: bool | None = None) -> None:
        """``errors``: whether the sources are expected to have errors now (None: either)."""
        from editio.build import build as build_now
        from editio.config import load
        from editio.watch import run_once
        self.n += 1
        before = {p: p.read_bytes() for p in self.live.rglob("*") if p.is_file()}
        outcome = run_once(self.rb, self.state, self.out)
        dest = self.tmp / f"clean{self.n}"
        shutil.copytree(self.project, dest, ignore=shutil.ignore_patterns(
            "build", ".editio-cache", ".editio-build.lock"))
        clean = build_now(load(dest), formats=("html",), cache=False)
        assert errors is None or bool(clean.report.errors) == errors, \
            (what, [d.format() for d in clean.report.items if d.severity == "error"])
        if clean.report.errors:
            assert not outcome.ok and not self.state.snapshot()["ok"], what
            assert {p: p.read_bytes() for p in self.live.rglob("*") if p.is_file()} == before, what
            return
        assert outcome.ok and outcome.changed, (what, self.out.getvalue())
        assert self.state.snapshot()["ok"], what
        assert differences(self.live, dest / "build" / "html") == [], what


def test_watch_keeps_parsed_files_edits(tmp_path):
    """serve --watch keeps the parsed files of unchanged bytes (and what was worked out from
    them alone) between rebuilds; after each edit its live site is a clean build byte for
    byte: a note edited; a new cross-reference; notes renumbered; an id others point to
    renamed (errors: the last good site stays), then the pointers to it too."""
    w = _Watched(tmp_path)
    d002 = w.tei / "d002.xml"
    edit_note(d002)
    w.same_as_clean("a note edited", errors=False)
    edit_note(w.tei / "d004.xml", 'See <ref target="d000.xml#d000-x01">Doc. 1</ref>. ')
    w.same_as_clean("a new cross-reference", errors=False)
    renumber_notes(d002)
    w.same_as_clean("notes renumbered", errors=False)
    d002.write_text(d002.read_text(encoding="utf-8").replace('"d002-x04"', '"d002-x04b"'),
                    encoding="utf-8")
    w.same_as_clean("an id others point to renamed", errors=True)
    for name in ("d000.xml", "d003.xml"):
        p = w.tei / name
        p.write_text(p.read_text(encoding="utf-8").replace('d002.xml#d002-x04"',
                                                           'd002.xml#d002-x04b"'),
                     encoding="utf-8")
    w.same_as_clean("the pointers to it renamed too", errors=False)


def test_watch_schemas_compiled_once_and_again_when_they_change(tmp_path, monkeypatch):
    """serve --watch compiles the RELAX NG schema and the Schematron once and validates in a
    thread on trees of its own: an edit only the schema finds, a rule added to the
    Schematron, and the schema itself edited (a compiled schema kept past its change would
    let the next rebuild through) each fail as a clean build does, and the last good site
    stays; fixed (and a note edited), the site is a clean build again."""
    monkeypatch.setenv("EDITIO_CACHE", str(tmp_path / "validation"))   # validated, not recalled

    def printed_since():
        w.out.seek(0)
        w.out.truncate(0)

    def errors_only(code):
        """The rebuild's errors (as the terminal shows them) are all ``code``'s."""
        found = [ln for ln in w.out.getvalue().splitlines() if ": error: " in ln]
        assert found and all(ln.endswith(f"[{code}]") for ln in found), found

    w = _Watched(tmp_path)
    d002 = w.tei / "d002.xml"
    good = d002.read_text(encoding="utf-8")
    # an attribute the schema does not allow: no edition rule says so, the schema does
    i = good.index("<persName", good.index("<body")) + len("<persName")
    d002.write_text(good[:i] + ' foo="bar"' + good[i:], encoding="utf-8")
    printed_since()
    w.same_as_clean("only the schema finds it", errors=True)
    errors_only("schema.invalid")
    d002.write_text(good, encoding="utf-8")
    edit_note(d002)
    w.same_as_clean("fixed", errors=False)
    sch = w.project / "schema" / "editio.sch"
    rules = sch.read_text(encoding="utf-8")
    sch.write_text(rules.replace("</sch:schema>", """
  <sch:pattern id="test-rule">
    <sch:rule context="tei:TEI[@xml:id = 'd003']">
      <sch:assert id="test.flagged" role="error" test="false()">flagged [test.flagged]</sch:assert>
    </sch:rule>
  </sch:pattern>
</sch:schema>"""), encoding="utf-8")
    printed_since()
    w.same_as_clean("a rule added to the Schematron", errors=True)
    errors_only("test.flagged")
    sch.write_text(rules, encoding="utf-8")
    edit_note(d002, "Again. ")
    w.same_as_clean("the rule taken out again", errors=False)
    rng = w.project / "schema" / "editio.rng"
    schema = rng.read_text(encoding="utf-8")
    assert schema.count('<element name="persName">') == 1
    rng.write_text(schema.replace('<element name="persName">', '<element name="persNameX">'),
                   encoding="utf-8")
    w.same_as_clean("the schema no longer allows a name the texts use", errors=True)
    rng.write_text(schema, encoding="utf-8")
    edit_note(d002, "Once more. ")
    w.same_as_clean("the schema as it was", errors=False)


def test_watch_index_pages_kept_only_when_their_view_is(tmp_path):
    """The index pages are taken from the last build when what they show of the changed
    document is as it was (editio.cache.index_views); after each of these edits the live
    site is still a clean build byte for byte: an edited reading outside any passage or name
    (only the document's page and the annotations change), one inside an event passage, the
    note on an event passage (the concordance), a name in a note (the persons' index), the
    source's date (home page, timeline), the certainty of a restored mask (redactions)."""
    w = _Watched(tmp_path)

    def replace(name: str, old: str, new: str) -> None:
        p = w.tei / name
        s = p.read_text(encoding="utf-8")
        assert old in s
        p.write_text(s.replace(old, new, 1), encoding="utf-8")

    replace("d003.xml", 'resp="authority.xml#editio-editors">: </corr></choice><q>',
            'resp="authority.xml#editio-editors">; </corr></choice><q>')
    w.same_as_clean("an edited reading outside any passage or name", errors=False)
    replace("d003.xml", "sent two telegrams to China</corr>", "sent two telegrams to Beijing</corr>")
    w.same_as_clean("an edited reading inside an event passage", errors=False)
    replace("d003.xml", "The title dates Kim Il Sung's two communications",
            "The title dates the two communications of Kim Il Sung")
    w.same_as_clean("the note on an event passage", errors=False)
    edit_note(w.tei / "d004.xml", '<persName ref="authority.xml#wang-ping">Wang Ping</persName>. ')
    w.same_as_clean("a name in a note", errors=False)
    replace("d004.xml", '<date when="2024-01-28">Updated on 2024-01-28</date>',
            '<date when="2024-01-29">Updated on 2024-01-29</date>')
    w.same_as_clean("the source's date", errors=False)
    replace("d001.xml", '<supplied reason="masked" cert="medium"', '<supplied reason="masked" cert="low"')
    w.same_as_clean("the certainty of a restored mask", errors=False)


def test_watch_keeps_parsed_files_added_deleted_broken(tmp_path):
    """As above: a file added before the others (every kept file's place in the edition
    changes), then deleted; broken XML (the last good site stays), then fixed with an
    edit."""
    w = _Watched(tmp_path)
    (w.tei / "a000.xml").write_text(LONE, encoding="utf-8")
    w.same_as_clean("a file added before the others", errors=False)
    (w.tei / "a000.xml").unlink()
    w.same_as_clean("the file deleted", errors=False)
    d001 = w.tei / "d001.xml"
    good = d001.read_bytes()
    d001.write_bytes(good.replace(b"</body>", b"</bdy>", 1))
    w.same_as_clean("broken XML", errors=True)
    d001.write_bytes(good)
    edit_note(d001, "Fixed. ")
    w.same_as_clean("the XML fixed, a note edited", errors=False)


def _fixed_pages(project: Path):
    """The pages over the whole edition of ``project`` a site makes, by name (nothing
    written)."""
    from editio.builders.site import Site
    from editio.config import load
    from editio.corpus import Corpus
    from editio.diagnostics import Report
    from editio.transforms import resolve
    edition = resolve(Corpus.load(load(project)))
    site = Site(edition, project / "unused", Report())
    return [name for name, _ in site.fixed_pages()], site


def test_every_page_over_the_edition_has_a_view_or_is_always_made(tmp_path):
    """A page over the whole edition is either taken from the last build by its views of the
    changed documents (editio.cache.INDEX_VIEWS) or made again whenever a document changes
    (ALWAYS_MADE, the profile's glossaries): a new page must say which (the first edition,
    a FRUS volume with glossaries, an edition with redactions)."""
    from editio.cache import ALWAYS_MADE, INDEX_VIEWS
    seen = set()
    for project in (edition_copy(tmp_path / "e"), ROOTS / "frus-mini", ROOTS / "redactions"):
        names, site = _fixed_pages(project)
        glossaries = {f"{g.page}.html" for g in site.profile.glossaries}
        undecided = set(names) - set(INDEX_VIEWS) - set(ALWAYS_MADE) - glossaries
        assert not undecided, (
            f"{sorted(undecided)}: give each a view in editio.cache.index_views "
            "(INDEX_VIEWS) or list it in ALWAYS_MADE")
        seen |= set(names)
    assert set(INDEX_VIEWS) <= seen, set(INDEX_VIEWS) - seen   # no view of a page never made


@pytest.mark.parametrize("names, per_kind", [
    (("d003.xml",), 1),
    pytest.param(("d001.xml", "d003.xml", "d004.xml"), 3, marks=pytest.mark.slow)])
def test_index_views_change_when_what_an_index_page_shows_of_a_document_does(
        tmp_path, names, per_kind):
    """Each part of a document is changed in turn (the text and the tail of names, event
    passages, notes, corrections, masks, headings, dates …, and their attributes); after each
    change, every index page whose bytes changed while the document's interface did not
    (editio.cache.doc_interfaces: else every index page is made again) must have a changed
    view of the document (editio.cache.index_views): else serve --watch and editio build
    would take the page, stale, from the last build."""
    from lxml import etree

    from editio.builders.site import Site
    from editio.cache import INDEX_VIEWS, doc_interfaces, index_views
    from editio.config import load
    from editio.corpus import Corpus
    from editio.diagnostics import Report
    from editio.transforms import resolve
    project = edition_copy(tmp_path / "e")
    parsed: dict = {}
    n = [0]

    def pages(name):
        corpus = Corpus.load(load(project), reuse=dict(parsed))
        parsed.clear()
        parsed.update(corpus.parsed)
        site = Site(resolve(corpus), tmp_path / f"site{n[0]}", Report())
        n[0] += 1
        site.out.mkdir()
        site.copy_assets()
        out = {}
        for page, make in site.fixed_pages():
            if page in INDEX_VIEWS:
                make()
                out[page] = (site.out / page).read_bytes()
        # what every page reads of every unit (its label, title, page …) and the navigation:
        # the site's skeleton, whose change makes every page again
        skeleton = [[rd.id, rd.doc.name, rd.number, rd.n, rd.label, rd.title, rd.kind,
                     site.doc_pages[rd.id]] for rd in site.edition.docs], site.nav()
        return out, index_views(site, {name})[name], (doc_interfaces(site, {name})[name],
                                                      repr(skeleton))

    T = "{http://www.tei-c.org/ns/1.0}"
    kinds = ("persName", "placeName", "orgName", "seg", "note", "corr", "sic", "supplied",
             "orig", "reg", "head", "date", "title", "q", "p", "gap", "unclear")
    tried = shown = 0
    for name in names:
        path = project / "tei" / name
        source = path.read_bytes()
        base, base_view, base_face = pages(name)
        tree = etree.fromstring(source)
        changes = []   # (description, change the tree)
        for kind in kinds:
            for el in list(tree.iter(T + kind))[:per_kind]:
                where = f"<{kind}> line {el.sourceline}"
                if (el.text or "").strip():
                    changes.append((f"{where}: its text", el, "text"))
                if (el.tail or "").strip():
                    changes.append((f"{where}: its tail", el, "tail"))
                for a in el.attrib:
                    if a.endswith("}id"):
                        continue
                    changes.append((f"{where}: @{a}", el, a))
        # the notes on event passages (the concordance shows them; no interface has them)
        ids = {el.get("{http://www.w3.org/XML/1998/namespace}id") for el in tree.iter(T + "seg")
               if el.get("corresp")}
        for el in [n for n in tree.iter(T + "note")
                   if (n.get("target") or "").lstrip("#") in ids][:2 * per_kind]:
            changes.append((f"<note> on a passage, line {el.sourceline}: its text", el, "text"))
        assert len(changes) > 25
        for what, el, part in changes:
            before = getattr(el, part) if part in ("text", "tail") else el.get(part)
            if part in ("text", "tail"):
                setattr(el, part, "Zq " + before)
            elif part in ("when", "from", "to", "notBefore", "notAfter"):
                el.set(part, before[:3] + str((int(before[3]) + 1) % 10) + before[4:]
                       if before[3:4].isdigit() else before)
            else:
                el.set(part, before + "x")
            path.write_bytes(etree.tostring(tree, xml_declaration=True, encoding="UTF-8"))
            try:
                now, view, face = pages(name)
            except Exception:   # noqa: BLE001 - a change the edition cannot build: not a case
                now = None
            if part in ("text", "tail"):
                setattr(el, part, before)
            else:
                el.set(part, before)
            if now is None:
                continue
            tried += 1
            if face != base_face:
                continue   # every index page is made again (interface or skeleton changed)
            for page in INDEX_VIEWS:
                if now.get(page) != base.get(page):
                    shown += 1
                    assert view[page] != base_view[page], (
                        f"{name}, {what}: {page} changed but its view of the document did "
                        "not (editio.cache.index_views)")
        path.write_bytes(source)
    # (most changes of a name or a passage change the interface: every index page is made)
    assert tried > 25 and shown >= 3 * per_kind, (tried, shown)


def _units_build(project: Path):
    """An in-process ``editio build --format html`` (the frus profile of frus-mini's
    editio.toml): its report's diagnostics, as they read."""
    from editio.build import build as build_now
    from editio.config import load
    r = build_now(load(project), formats=("html",))
    assert not r.report.errors, [d.format() for d in r.report.items]
    return sorted(d.format() for d in r.report.items)


def test_units_of_a_changed_file_kept_when_theirs_did_not_change(tmp_path):
    """A FRUS volume is one file holding many units (div[@type=document]): after an edit,
    the pages of the units whose part of the file is as it was, and that neither point to a
    changed unit nor are pointed to by one, are taken from the last build (the same file:
    hard-linked); every other page is made again.  After each edit the output and the
    warnings are a clean build's, byte for byte: a paragraph's text; a heading (every
    unit's neighbours show it); a new pointer from one unit into another (its target's page
    shows a back-link), then removed; an id renamed; a line added above the later units
    (their warnings' line numbers move)."""
    project = root_copy("frus-mini", tmp_path / "p")
    # "Referenced by" links (the frus profile has none): a unit's page shows what points to it
    with (project / "editio.toml").open("a", encoding="utf-8") as f:
        f.write("\n[pointers]\nbacklinks = true\n")
    doc = project / "tei" / "frus-mini.xml"
    html = project / "build" / "html"
    _units_build(project)
    n = 0

    def step(what: str, old: str, new: str) -> tuple[dict, dict]:
        nonlocal n
        n += 1
        text = doc.read_text(encoding="utf-8")
        assert old in text, what
        doc.write_text(text.replace(old, new, 1), encoding="utf-8")
        before = stamps(html)
        warnings = _units_build(project)
        dest = tmp_path / f"clean{n}"
        shutil.copytree(project, dest, ignore=shutil.ignore_patterns(
            "build", ".editio-cache", ".editio-build.lock"))
        from editio.build import build as build_now
        from editio.config import load
        clean = build_now(load(dest), formats=("html",), cache=False)
        assert differences(html, dest / "build" / "html") == [], what
        assert warnings == sorted(d.format() for d in clean.report.items), what
        return before, stamps(html)

    # d3 points to d1 (a note, a footnote of it); the back-of-book index to d1's and d3's
    # pages; the preface to d2
    before, after = step("a paragraph's text", "A second paragraph.", "A second, revised paragraph.")
    assert after["d3.html"] != before["d3.html"]
    # not related to d3, or pointing into it at what did not change (the index: its pages)
    for page in ("d2.html", "preface.html", "doc-index.html"):
        assert after[page] == before[page], page
    before, after = step("the same unit again", "A second, revised", "A second, twice revised")
    assert after["d2.html"] == before["d2.html"] and after["d3.html"] != before["d3.html"]
    step("a heading", "<head>3. Editorial Note</head>", "<head>3. Editorial Note on Testland</head>")
    # (the pages of units the change does not touch are kept, however the units point to
    # each other: the back-links to a unit are made again when a pointer to it comes or goes)
    # (put where no annotation's place in the tree moves: a moved annotation makes every
    # page of the file again)
    # d2, which points to nothing yet, gets a pointer into d1 (in its source note)
    item = "2 pages of source text not declassified."
    link = ' See <ref target="#d1fn3">footnote 3 of Document 1</ref>.'
    before, after = step("a new pointer into another unit", item, item + link)
    assert after["d3.html"] == before["d3.html"]
    assert 'href="d2.html#note-1" class="backlink"' in (html / "d1.html").read_text(encoding="utf-8")
    before, after = step("the pointer removed", link, "")
    assert after["d3.html"] == before["d3.html"]
    assert 'href="d2.html#note-1" class="backlink"' not in (html / "d1.html").read_text(
        encoding="utf-8")
    step("an id renamed", 'xml:id="d3fn1"', 'xml:id="d3fn1b"')
    # the index points to d3's page breaks: it is made again when what it shows of them does
    before, after = step("a page break the index points to renamed", 'xml:id="pg_4"',
                         'xml:id="pg_4b"')
    assert after["doc-index.html"] != before["doc-index.html"]
    before, after = step("a line added in the first unit", "<p>757. President", "<p>\n757. President")
    assert after["d1.html"] != before["d1.html"]


def test_watch_units_of_a_changed_file(tmp_path):
    """serve --watch on a FRUS-like volume (one file, several units): after each edit the
    live site is a clean build byte for byte, and the pages of the units the edit does not
    touch are the live files as they were (the same file: not rewritten)."""
    w = _Watched(tmp_path, root="frus-mini")
    doc = w.tei / "frus-mini.xml"

    def edit(old, new):
        text = doc.read_text(encoding="utf-8")
        assert old in text
        doc.write_text(text.replace(old, new, 1), encoding="utf-8")

    before = stamps(w.live)
    edit("A second paragraph.", "A second, revised paragraph.")
    w.same_as_clean("a paragraph's text", errors=False)
    after = stamps(w.live)
    assert after["d3.html"] != before["d3.html"]
    assert after["d2.html"] == before["d2.html"] and after["preface.html"] == before["preface.html"]
    edit("<head>3. Editorial Note</head>", "<head>3. Editorial Note on Testland</head>")
    w.same_as_clean("a heading", errors=False)
    edit('xml:id="d3fn1"', 'xml:id="d3fn1b"')
    w.same_as_clean("an id renamed", errors=False)
    edit("<p>757. President", "<p>\n757. President")
    w.same_as_clean("a line added in the first unit", errors=False)
