"""Edition profiles at the CLI: the shipped FRUS profile on a tiny FRUS-like volume
(tests/roots/frus-mini), profile keys and overlays, and whole FRUS volumes (slow)."""
from __future__ import annotations

import re
import shutil

import pytest
from lxml import html as lhtml

from conftest import FRUS, ROOTS, TEI_ALL, run_editio


@pytest.fixture(scope="module")
def mini(tmp_path_factory):
    from conftest import ROOTS
    dest = tmp_path_factory.mktemp("frus-mini") / "frus-mini"
    shutil.copytree(ROOTS / "frus-mini", dest)
    # no --keep-going: the mini volume names its index div "index", as every FRUS volume
    # does, and that is no clash (the book prefixes the ids it takes from the TEI)
    r = run_editio("build", "--project", dest, "--format", "html")
    assert r.returncode == 0, r.stderr
    return dest, r


def page(mini, name):
    return lhtml.parse(str(mini[0] / "build" / "html" / name)).getroot()


def text(el) -> str:
    return " ".join(el.text_content().split())


def test_one_page_per_document_named_by_its_xml_id(mini):
    site = mini[0] / "build" / "html"
    for name in ("d1.html", "d2.html", "d3.html", "preface.html", "contents.html",
                 "persons.html", "abbreviations.html"):
        assert (site / name).is_file(), name
    # the lists of persons and terms are glossaries, the table of contents is the site's own
    assert not (site / "toc.html").exists() and not (site / "terms.html").exists()


def test_document_page_reads_like_history_state_gov(mini):
    d1 = page(mini, "d1.html")
    h1 = d1.xpath("//main//h1")
    assert len(h1) == 1 and text(h1[0]).startswith("1. Telegram From the Embassy in Testland")
    # the source note is footnote 1, called from the heading; numbers are the TEI's own
    assert h1[0].xpath(".//a[@class='note-call']/text()") == ["1"]
    notes = d1.xpath("//ol[@class='annotations']/li")
    assert [li.get("value") for li in notes] == ["1", "2", "3", "4"]
    assert text(notes[0]).startswith("Source: Department of State")
    assert not d1.xpath("//span[@class='note-label']"), "a footnote is just its number and text"
    # dateline, signature, table, attachment, rend values
    assert d1.xpath("//p[contains(@class,'tei-dateline')]//time[@datetime='1955-01-07T14:00:00']")
    assert d1.xpath("//div[@class='tei-closer']/p[contains(@class,'tei-signed')]")
    assert d1.xpath("//table//th") and d1.xpath("//td[contains(@class,'rend-right')]")
    assert d1.xpath("//section[contains(@class,'attachment')]/h2[contains(.,'Attachment')]")
    assert d1.xpath("//strong[contains(@class,'rend-strong')]")
    assert d1.xpath("//span[contains(@class,'rend-smallcaps')]")
    assert d1.xpath("//p[contains(@class,'rend-center')]")
    # chapter context; previous and next
    assert "Relations With Testland, 1955" in text(d1.xpath("//p[@class='doc-context']")[0])
    assert d1.xpath("//a[@rel='next']/@href") == ["d2.html"]
    assert d1.xpath("//a[@rel='prev']/@href") == ["preface.html"]
    d3 = page(mini, "d3.html")
    assert d3.xpath("//div[contains(@class,'plain-list')]/ul/li[contains(.,'Testland and the')]")
    # no "Referenced by" badges in the text
    assert not d1.xpath("//*[contains(@class,'backlinks')]")
    assert "Untitled edition" not in lhtml.tostring(d1, encoding=str)


def test_names_and_terms_are_glossary_links_with_their_entry(mini):
    d1 = page(mini, "d1.html")
    rhee = d1.xpath("//a[contains(@class,'gloss-person')][.='Rhee']")[0]
    assert rhee.get("href") == "persons.html#p_RS1"
    assert rhee.get("data-gloss") == "Rhee, Syngman: President of the Republic of Korea"
    nsc = d1.xpath("//a[contains(@class,'gloss-term')][.='NSC']")[0]
    assert nsc.get("href") == "abbreviations.html#t_NSC1"
    persons = page(mini, "persons.html")
    assert [t.strip() for t in persons.xpath("//dt/text()")] == \
        ["Dulles, John Foster", "Étienne, Walter", "Rhee, Syngman", "Syngman Rhee"], \
        "collation: É with E"
    assert persons.xpath("//dt[@id='p_RS1']")
    assert "Secretary of State" in text(persons.xpath("//dd")[0])
    abbr = page(mini, "abbreviations.html")
    assert [t.strip() for t in abbr.xpath("//dt/text()")] == ["NSC", "ROK"]


def test_a_see_entry_sends_the_reader_to_the_entry_it_names(mini):
    """"Syngman Rhee, see Rhee, Syngman": a name pointing to the cross-reference entry links
    to the entry it names, with that entry's description; the list links the "see"."""
    d1 = page(mini, "d1.html")
    name = d1.xpath("//a[contains(@class,'gloss-person')][.='Syngman Rhee']")[0]
    assert name.get("href") == "persons.html#p_RS1"
    assert name.get("data-gloss") == "Rhee, Syngman: President of the Republic of Korea"
    persons = page(mini, "persons.html")
    see = persons.xpath("//dt[@id='p_SR1']/following-sibling::dd[1]//a[@class='see']")[0]
    assert text(see) == "see Rhee, Syngman" and see.get("href") == "persons.html#p_RS1"
    # the document's list of names gives the entry meant, once
    names = [text(a) for a in d1.xpath("//a[starts-with(@href, 'persons.html#')]")
             if a.getparent().tag == "li"]
    assert names.count("Rhee, Syngman") == 1 and "Syngman Rhee" not in names


def test_pointers_pages_notes_and_other_volumes(mini):
    d1 = page(mini, "d1.html")
    hrefs = d1.xpath("//a/@href")
    assert "https://history.state.gov/historicaldocuments/frus1952-54v15p2/d12" in hrefs
    assert "https://history.state.gov/historicaldocuments/frus1952-54v15" in hrefs
    assert "d3.html#note-2" in hrefs          # "#d3fn2": footnote 2 of Document 3
    assert d1.xpath("//span[@id='pg_2' and contains(@class,'pb')]")
    assert d1.xpath("//span[@id='pg_1']"), "a page break just before a document is on its page"
    index = page(mini, "doc-index.html")
    assert index.xpath("//a[@href='d1.html#pg_1']") and index.xpath("//a[@href='d3.html#pg_3']")


def test_page_breaks_of_front_matter_that_is_no_page_stay_there(mini):
    """The page breaks of the lists of terms and persons (glossaries, not pages) and of a
    blank page do not open the next unit ("[p. IV] [p. V] [p. VI] [p. 1]" on Doc. 1); the
    index's links to them still reach something: the entry the page begins with, or the
    next page marker shown."""
    d1 = page(mini, "d1.html")
    assert [text(s) for s in d1.xpath("//span[contains(@class,'pb')]")][:1] == ["[p. 1]"]
    assert not d1.xpath("//span[@id='pg_IV' or @id='pg_V' or @id='pg_VI']")
    site = mini[0] / "build" / "html"
    shown = {p.name for p in site.glob("*.html") if lhtml.parse(str(p)).xpath(
        "//span[starts-with(@id,'pg_') and (@id='pg_IV' or @id='pg_V' or @id='pg_VI')]")}
    assert not shown, shown
    index = page(mini, "doc-index.html")
    assert index.xpath("//a[.='V']/@href") == ["persons.html#p_SR1"]   # page V begins there
    assert index.xpath("//a[.='VI']/@href") == ["d1.html#pg_1"]        # a blank page: the next
    from sitecheck import broken_links
    assert broken_links(site) == []


def test_index_entries_are_not_numbered_paragraphs(mini):
    """The volume's back-of-book index is a list whose profile row says ``numbered = false``:
    its entries carry no margin number and no permalink, and its links still work."""
    index = page(mini, "doc-index.html")
    entries = index.xpath("//li[contains(@class,'tei-item')]")
    assert [text(e)[:9] for e in entries] == ["Dulles, J", "Testland,", "Persons, "]
    assert not index.xpath("//main//*[@data-para]"), "index entries numbered"
    assert not index.xpath("//main//a[@class='permalink']")
    assert index.xpath("//a[.='3']/@href") == ["d3.html#pg_3"]


def test_paragraph_numbers_count_what_a_reader_sees_as_paragraphs(mini):
    """Doc. 3 opens with a page break before its heading, and holds a paragraph with only
    a page break and an empty one: the heading is the page's title, not ¶ 1; the page
    break stands alone, with no number; the numbers run on over the two."""
    d3 = page(mini, "d3.html")
    h1 = d3.xpath("//main//h1")[0]
    assert h1.get("data-para") is None and not h1.xpath(".//a[@class='permalink']")
    pb = d3.xpath("//span[@id='pg_3']")[0]
    assert pb.getparent().get("data-para") is None
    paras = [(el.get("data-para"), text(el)[:20]) for el in d3.xpath("//*[@data-para]")]
    assert paras == [("1", "SUBJECT"), ("2", "Testland and the NSC"), ("3", "On February 2 the NS"),
                     ("4", "A second paragraph.2")], paras
    assert d3.xpath("//span[@id='pg_4']/ancestor::p[not(@data-para)]")
    # the margin number is drawn beside its own line (each numbered line is positioned)
    css = (mini[0] / "build" / "html" / "assets" / "web.css").read_text()
    assert re.search(r"\.tei-text \[data-para\][^{]*\{\s*position:\s*relative", css)
    # "Doc. 3, ¶ 2" wherever a label is given (here: the annotations page) is the margin's 2
    ann = page(mini, "annotations.html")
    labels = {text(a): a.get("href") for a in ann.xpath("//a[starts-with(text(),'Doc. 3, ¶')]")}
    for label, href in labels.items():
        frag = href.split("#")[1]
        target = d3.get_element_by_id(frag)
        para = target.get("data-para") or next(
            a.get("data-para") for a in target.iterancestors() if a.get("data-para"))
        assert label.endswith(f"¶ {para}"), (label, href, para)


def test_contents_title_principles(mini):
    contents = page(mini, "contents.html")
    assert [text(h) for h in contents.xpath("//h2[@class='contents-head'] | //h3[@class='contents-head']")] \
        == ["Testland", "Relations With Testland, 1955"]
    assert contents.xpath("//a[@href='d2.html']")
    home = page(mini, "index.html")
    assert text(home.xpath("//h1")[0]) == "Foreign Relations of the United States, 1955–1957, Testland, Volume XC"
    principles = page(mini, "principles.html")
    assert "declassification review" in text(principles)
    assert "platform" not in text(principles).lower()


def test_warnings_no_mask_false_positive_one_page_image_summary(mini):
    err = mini[1].stderr
    assert "mask.unencoded" not in err
    facs = [ln for ln in err.splitlines() if "[ref.facs-missing]" in ln]
    assert len(facs) == 1 and "8 page images" in facs[0]
    assert re.match(r"tei/frus-mini\.xml:\d+:\d+: warning:", facs[0])


def test_profile_flag_and_unknown_keys(tmp_path):
    from conftest import ROOTS
    proj = tmp_path / "p"
    shutil.copytree(ROOTS / "frus-mini", proj)
    (proj / "editio.toml").write_text('title = "X"\n\n[pointers]\nbaclinks = false\n',
                                      encoding="utf-8")
    r = run_editio("check", "--project", proj, "--profile", "frus")
    assert "editio.toml:4:1: warning: unknown profile key 'baclinks' in [pointers]; ignored " \
           "[config.unknown]" in r.stdout, r.stdout + r.stderr
    (proj / "editio.toml").write_text('title = "X"\n\n[units]\nxpath = "//x"\n', encoding="utf-8")
    r = run_editio("check", "--project", proj, "--profile", "frus")
    assert r.returncode == 1 and r.stderr.startswith("editio.toml:3:1: error: profile key 'units' "
                                                     "has the wrong type"), r.stderr
    r = run_editio("check", "--project", proj, "--profile", "nosuch")
    assert r.returncode == 1 and "[config.profile]" in r.stderr and "Traceback" not in r.stderr


def test_a_volume_with_its_own_errors_builds_with_located_warnings(tmp_path):
    """A FRUS volume as published holds dangling pointers and an XHTML video player: a plain
    build with the profile makes the site, with each problem a located warning (the
    profile's [check] severity); --strict and an edition putting the code back fail."""
    from conftest import ROOTS
    proj = tmp_path / "v"
    shutil.copytree(ROOTS / "frus-mini", proj)
    xml = proj / "tei" / "frus-mini.xml"
    src = xml.read_text(encoding="utf-8")
    src = src.replace('<p>A second paragraph.', '<p>A second paragraph (see <ref target="#d3fn9">note 9</ref>).', 1)
    src = src.replace('<head>3. Editorial Note</head>', '<head>3. Editorial Note</head>\n'
                      '<figure><head>Reel 1</head><div xmlns="http://www.w3.org/1999/xhtml" '
                      'style="display:none"> 600x338 </div></figure>', 1)
    xml.write_text(src, encoding="utf-8")
    line = next(i for i, ln in enumerate(src.splitlines(), 1) if "#d3fn9" in ln)
    r = run_editio("build", "--project", proj, "--format", "html")
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
    assert re.search(rf"^tei/frus-mini\.xml:{line}:\d+: warning: @target \"#d3fn9\" resolves to "
                     r"nothing \[ref\.missing\]$", r.stderr, re.M), r.stderr
    assert re.search(r"^tei/frus-mini\.xml:\d+:\d+: warning: <div> in namespace "
                     r"http://www\.w3\.org/1999/xhtml is not TEI.*\[tei\.foreign\]$", r.stderr, re.M)
    assert "element.unknown" not in r.stderr
    d3 = (proj / "build" / "html" / "d3.html").read_text(encoding="utf-8")
    assert "600x338" not in d3 and "Reel 1" in d3, "the foreign player is neither shown nor kept"
    r = run_editio("check", "--project", proj)
    assert r.returncode == 0 and "0 errors, 3 warnings" in r.stderr, r.stdout + r.stderr  # + page images
    r = run_editio("check", "--project", proj, "--strict")
    assert r.returncode == 1 and re.search(rf"^tei/frus-mini\.xml:{line}:\d+: error: .*\[ref\.missing\]$",
                                           r.stdout, re.M), r.stdout
    r = run_editio("build", "--project", proj, "--format", "html", "--strict")
    assert r.returncode == 1 and "left as it was" in r.stderr
    # an edition that wants its pointers checked as errors says so
    (proj / "editio.toml").write_text('profile = "frus"\n[check.severity]\n"ref.missing" = "error"\n',
                                      encoding="utf-8")
    r = run_editio("build", "--project", proj, "--format", "html")
    assert r.returncode == 1 and "error: @target \"#d3fn9\"" in r.stderr
    # a value that is no severity, or a code that may not be made lighter: located errors
    (proj / "editio.toml").write_text('profile = "frus"\n[check.severity]\n"ref.missing" = "quiet"\n',
                                      encoding="utf-8")
    r = run_editio("check", "--project", proj)
    assert r.returncode == 1 and r.stderr.startswith("editio.toml:2:1: error: [check] severity of "
                                                     "'ref.missing' must be one of error, warning, info")
    (proj / "editio.toml").write_text('profile = "frus"\n[check.severity]\n"read.entity" = "warning"\n',
                                      encoding="utf-8")
    r = run_editio("check", "--project", proj)
    assert r.returncode == 1 and "cannot be changed" in r.stderr and "[config.type]" in r.stderr
    assert "Traceback" not in r.stderr


def test_project_profile_extends_and_overlays(tmp_path):
    """A project's own profile extends a shipped one; editio.toml overlays it."""
    from conftest import ROOTS
    proj = tmp_path / "p"
    shutil.copytree(ROOTS / "frus-mini", proj)
    (proj / "my.toml").write_text('extends = "frus"\n[labels]\ndocument = "No. {number}"\n'
                                  '[[units]]\nxpath = "//tei:div[@type=\'document\']"\nid = "@xml:id"\n'
                                  'number = "@n"\ntitle = "tei:head"\nlabel = "No. {n}"\n',
                                  encoding="utf-8")
    (proj / "editio.toml").write_text('profile = "my.toml"\n[pointers]\nbacklinks = true\n',
                                      encoding="utf-8")
    r = run_editio("build", "--project", proj, "--format", "html", "--keep-going")
    assert r.returncode == 0, r.stderr
    site = proj / "build" / "html"
    assert not (site / "preface.html").exists(), "the project's [[units]] replace the profile's"
    d3 = lhtml.parse(str(site / "d3.html")).getroot()
    assert "No. 3" in d3.xpath("//span[@data-pagefind-filter]/@data-pagefind-filter")[0]
    d1 = lhtml.parse(str(site / "d1.html")).getroot()
    assert d1.xpath("//*[contains(@class,'backlinks')]"), "the overlay turned back-links on"


@pytest.mark.slow
@pytest.mark.skipif(not FRUS.is_dir(), reason="FRUS corpus not available")
@pytest.mark.parametrize("volume", sorted(p.name for p in FRUS.glob("*.xml")))
def test_frus_volume_site(tmp_path, volume):
    from lxml import etree
    (tmp_path / "tei").mkdir()
    shutil.copy(FRUS / volume, tmp_path / "tei" / volume)
    # a plain build: the volume's own errors are the profile's warnings ([check] severity)
    r = run_editio("build", "--project", tmp_path, "--profile", "frus", "--format", "html",
                   timeout=1800)
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr[-2000:]
    assert " error: " not in r.stderr
    assert all(re.match(r"tei/\S+\.xml:\d+:\d+: warning: .*\[[a-z.-]+\]$", ln)
               for ln in r.stderr.splitlines() if ": warning: " in ln)
    tree = etree.parse(str(FRUS / volume))
    ns = {"t": "http://www.tei-c.org/ns/1.0"}
    ids = tree.xpath("//t:div[@type='document']/@xml:id", namespaces=ns)
    site = tmp_path / "build" / "html"
    assert all((site / f"{i}.html").is_file() for i in ids)
    # every footnote of every document is rendered on its page: its notes, but for a note
    # attached by @target to a passage (read with it); one whose @target leads nowhere
    # (v23p2 Doc. 193's target="d193fn2" on a signature's note) is a footnote where it
    # stands; one that names a note with its number and words (v23p2 Doc. 28's
    # <note n="5" target="d28fn5">, no "#") is that footnote called again: its number, once
    # in the list
    xids = set(tree.xpath("//@xml:id"))
    byid = {e.get("{http://www.w3.org/XML/1998/namespace}id"): e for e in tree.xpath("//t:note[@xml:id]", namespaces=ns)}

    def words(n):
        return " ".join("".join(n.itertext()).split())

    def again(n):
        first = byid.get(n.get("target", "").lstrip("#"))
        return first is not None and first is not n and first.get("n") == n.get("n") and words(first) == words(n)
    for d in tree.xpath("//t:div[@type='document']", namespaces=ns)[:40]:
        notes = [n for n in d.xpath(".//t:note[not(ancestor::t:note)]", namespaces=ns)
                 if not (n.get("target", "").startswith("#") and n.get("target")[1:] in xids)]
        got = lhtml.parse(str(site / f"{d.get('{http://www.w3.org/XML/1998/namespace}id')}.html"))
        assert len(got.xpath("//ol[@class='annotations']/li")) == len([n for n in notes if not again(n)])
        assert len(got.xpath("//main//a[contains(@class,'call-again')]")) == len([n for n in notes if again(n)])
    assert len([ln for ln in r.stderr.splitlines() if "[ref.facs-missing]" in ln]) <= 1
    assert "mask.unencoded" not in r.stderr
    persons = lhtml.parse(str(site / "persons.html"))
    assert len(persons.xpath("//dt")) > 20
    # each person's entry leads to every document that names the person (the list was cut
    # at thirty, "…", and the rest were nowhere)
    named: dict = {}
    for d in tree.xpath("//t:div[@type='document']", namespaces=ns):
        for ptr in d.xpath(".//t:persName/@corresp", namespaces=ns):
            named.setdefault(ptr.lstrip("#"), set()).add(d.get("{http://www.w3.org/XML/1998/namespace}id"))
    busiest = max(named, key=lambda k: len(named[k]))
    [dt] = persons.xpath(f"//dt[@id='{busiest}']")
    hrefs = {a.get("href").split("#")[0].removesuffix(".html")
             for a in dt.xpath("following-sibling::dd[1]//a[@href]")}
    assert named[busiest] <= hrefs, sorted(named[busiest] - hrefs)[:5]


def test_an_edition_adds_an_output_format_and_a_behaviour(tmp_path):
    """tests/roots/custom-format registers a JSON export (formats/json_export.py) and a
    behaviour for seg[@type='marginal'] on the site only, in its editio.toml alone."""
    import json

    from conftest import ROOTS
    proj = tmp_path / "c"
    shutil.copytree(ROOTS / "custom-format", proj)
    r = run_editio("build", "--project", proj, "--format", "json", "--format", "html")
    assert r.returncode == 0, r.stderr
    data = json.loads((proj / "build" / "json" / "edition.json").read_text(encoding="utf-8"))
    assert data["title"] == "Custom format test"
    unit = data["units"][0]
    assert (unit["id"], unit["label"], unit["title"]) == ("m1", "Doc. 1", "A letter with a marginal note")
    assert unit["notes"] == [{"n": "1", "kind": "note", "text": "An authorial footnote."}]
    page = (proj / "build" / "html" / "m1.html").read_text(encoding="utf-8")
    assert '<small class="tei-seg marginal">[in another hand]</small>' in page
    assert "element.unknown" not in r.stderr
    # the new format is a choice of --format; an unknown one lists the choices
    bad = run_editio("build", "--project", proj, "--format", "epub")
    assert bad.returncode == 2
    assert "no output format 'epub'; choose from html, json, pdf" in bad.stderr
    # a build of one format keeps the others' previous output
    again = run_editio("build", "--project", proj, "--format", "html")
    assert again.returncode == 0 and (proj / "build" / "json" / "edition.json").is_file()


def test_the_frus_book_prints_the_lists_of_persons_and_abbreviations(tmp_path):
    """The book of a FRUS volume carries the volume's glossaries as appendices (the
    printed volume's lists; the site's Persons and Abbreviations pages), listed in the
    contents; the index's page of the list of persons and a blank page's number are
    pages of the book; the text prints the document's dateline and signature."""
    import subprocess
    from conftest import ROOTS
    if not shutil.which("pdftotext"):
        pytest.skip("pdftotext not installed")
    proj = tmp_path / "m"
    shutil.copytree(ROOTS / "frus-mini", proj)
    r = run_editio("build", "--project", proj, "--format", "pdf", timeout=600)
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
    assert "[pdf.ref]" not in r.stderr
    pdf = proj / "build" / "pdf" / "edition.pdf"
    pages = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True,
                           check=True).stdout.split("\f")
    where = {name: next(i for i, p in enumerate(pages, 1) if re.search(rf"^\s*{name}\s*$", p, re.M)
                        and "The " in p) for name in ("Persons", "Abbreviations")}
    toc = "\n".join(pages[:6])
    for name, n in where.items():
        assert re.search(rf"^{name} [ .]+ {n}$", toc, re.M), (name, n)
    persons = " ".join(pages[where["Persons"] - 1].split())
    assert "Dulles, John Foster, Secretary of State" in persons
    assert "Syngman Rhee, see Rhee, Syngman" in persons
    assert "NSC, National Security Council" in " ".join(pages[where["Abbreviations"] - 1].split())
    index = next(p for p in pages if "Persons, list of" in p)
    m = re.search(r"Persons, list of, (\d+); blank page, (\d+)", " ".join(index.split()))
    assert m and int(m[1]) == where["Persons"], m
    d1 = next(i for i, p in enumerate(pages, 1) if "1. Telegram From the Embassy" in p and "Seoul" in p)
    assert int(m[2]) == d1, "the blank page VI is the page where [p. 1] begins"
    # dateline and signature set to the right (as on the site and in the printed volume)
    lines = pages[d1 - 1].splitlines()
    body = next(ln.index("757. President") for ln in lines if "757. President" in ln)
    for words in ("Seoul, January 7, 1955", "Dulles"):
        ln = next(ln for ln in lines if ln.rstrip().endswith(words) or words + "—" in ln)
        assert ln.index(words) > body + 30, ln


def _note_on_the_text(root: str, profile: str | None, tmp_path) -> str:
    """The book's "Note on the text" of a test root, as the front matter part prints it."""
    from editio.build import prepare
    from editio.builders.pdf import Book
    from editio.config import load
    dest = tmp_path / root
    shutil.copytree(ROOTS / root, dest)
    edition, report = prepare(load(dest, profile=profile))
    book = Book(edition, report)
    book.render_chapters()
    ctx = book.context()
    for part in book.parts():
        tree = lhtml.fromstring(book.part_html(part, ctx))
        found = tree.xpath('//section[@id="principles"]')
        if found:
            return " ".join(found[0].text_content().split())
    raise AssertionError("no Note on the text")


def test_the_books_note_on_the_text_of_a_volume_with_withheld_text(tmp_path):
    """A FRUS volume's redactions ("[1 paragraph … not declassified]") are counted, but
    nothing was restored: its Note on the text says nothing of masks restored or of a
    diplomatic text (it said "the platform's masks are restored where the evidence
    allows"); an edition whose masks were restored says so."""
    frus = _note_on_the_text("frus-mini", "frus", tmp_path)
    assert "declassification review" in frus        # the profile's principles
    for words in ("masks", "restored", "diplomatic", "platform"):
        assert words not in frus, (words, frus)
    ours = _note_on_the_text("pdf-basic", None, tmp_path)
    assert "the words masked in the source are restored where the evidence allows" in ours, ours


def test_a_pointer_forms_print_url_must_be_true_or_false(tmp_path):
    """``print_url`` of a ``[[pointers.external]]`` form (FRUS: false, the book prints no
    address for another volume of the series) is checked like every profile key: a located
    error in the file that says it, never a traceback."""
    proj = tmp_path / "p"
    shutil.copytree(ROOTS / "frus-mini", proj)
    (proj / "editio.toml").write_text('profile = "frus"\n[[pointers.external]]\npattern = "abc"\n'
                                      'url = "https://example.org/{x}"\nprint_url = "no"\n', encoding="utf-8")
    r = run_editio("check", "--project", proj)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert r.stderr.startswith("editio.toml:5:1: error: profile key 'pointers.external.print_url' has the wrong "
                               "type (expected true or false) [config.type]"), r.stderr
