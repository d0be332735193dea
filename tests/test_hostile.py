"""Hostile and broken input: clear errors, nothing lost, nothing executed.

Every hostile file is generated here, in a temporary directory (no billion-laughs
file sits in the repository).  The tests run the command line as users do and
assert exact diagnostic codes, locations and exit statuses; the HTML tests read
every built page; the staging tests interrupt real ``editio build`` processes.
"""
from __future__ import annotations

import codecs
import hashlib
import http.server
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from lxml import etree, html as lhtml

from editio import read as reader
from editio.diagnostics import EditioError

from conftest import REPO, run_editio

NS = 'xmlns="http://www.tei-c.org/ns/1.0"'
XI = 'xmlns:xi="http://www.w3.org/2001/XInclude"'
HEADER = ("<teiHeader><fileDesc><titleStmt><title>{title}</title></titleStmt>"
          "<publicationStmt><p>test</p></publicationStmt><sourceDesc><p>test</p></sourceDesc>"
          "</fileDesc></teiHeader>")
SECRET = "SECRET-7f3a9c-DO-NOT-LEAK"


def tei(body: str, title: str = "A test", extra_ns: str = "") -> str:
    """A minimal TEI document with ``body`` inside <body>."""
    return (f'<TEI {NS} {extra_ns}>{HEADER.format(title=title)}'
            f"<text><body>{body}</body></text></TEI>")


def project(root: Path, files: dict, toml: str = 'title = "Test edition"\n') -> Path:
    """Write a project: ``files`` maps paths (under the project) to str or bytes."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "editio.toml").write_text(toml, encoding="utf-8")
    (root / "tei").mkdir(exist_ok=True)
    for rel, content in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            p.write_text(content, encoding="utf-8")
        else:
            p.write_bytes(content)
    return root


def tree_digest(path: Path) -> dict:
    """{relative path: sha256} of every file below ``path``."""
    return {p.relative_to(path).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(path.rglob("*")) if p.is_file()}


def temp_dirs(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir() if ".tmp-" in p.name)


def no_traceback(r):
    assert "Traceback" not in r.stderr and "Traceback" not in r.stdout, r.stderr


def diag_re(file: str, line: int, col: int, code: str) -> str:
    return rf"^{re.escape(file)}:{line}:{col}: error: .+ \[{re.escape(code)}\]$"


# --------------------------------------------------------------------------------
# a listener that records any connection: proves that nothing reached the network
class _Recorder(http.server.BaseHTTPRequestHandler):
    hits: list = []

    def do_GET(self):  # noqa: N802
        _Recorder.hits.append(self.path)
        body = f'<!ENTITY x "{SECRET}">'.encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *a):
        pass


@pytest.fixture(scope="module")
def listener():
    _Recorder.hits = []
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}", _Recorder.hits
    srv.shutdown()


# ================================================================================
# 1. XML attacks: refused with a located error and a non-zero exit
def _laughs(levels=10, width=10) -> str:
    lines = ['<!ENTITY lol0 "lol">']
    for i in range(1, levels):
        lines.append(f'<!ENTITY lol{i} "' + f"&lol{i - 1};" * width + '">')
    return "\n  ".join(lines)


def attack_files(outside: Path, url: str) -> dict:
    """name -> (bytes, expected code, line, col)."""
    body = "<p>&lol9;</p>"
    laughs = ('<?xml version="1.0"?>\n<!DOCTYPE TEI [\n  ' + _laughs() + "\n]>\n" + tei(body))
    laughs16 = laughs.replace('<?xml version="1.0"?>', '<?xml version="1.0" encoding="UTF-16"?>')
    quad = ('<?xml version="1.0"?>\n<!DOCTYPE TEI [\n  <!ENTITY a "' + "x" * 50_000 + '">\n]>\n'
            + tei("<p>" + "&a;" * 50_000 + "</p>"))
    secret = outside / "secret.txt"
    return {
        "billion-laughs.xml": (laughs.encode(), "read.entity", 3, 3),
        "billion-laughs-utf16.xml": (codecs.BOM_UTF16_LE + laughs16.encode("utf-16-le"),
                                     "read.entity", 3, 3),
        "quadratic.xml": (quad.encode(), "read.entity", 3, 3),
        "xxe-file.xml": (('<?xml version="1.0"?>\n<!DOCTYPE TEI [\n'
                          f'<!ENTITY s SYSTEM "file://{secret}">\n]>\n'
                          + tei("<p>&s;</p>")).encode(), "read.entity", 3, 1),
        "xxe-network.xml": (('<!DOCTYPE TEI [\n'
                             f'  <!ENTITY s SYSTEM "{url}/xxe">\n]>\n'
                             + tei("<p>&s;</p>")).encode(), "read.entity", 2, 3),
        "parameter-entity.xml": ((f'<!DOCTYPE TEI [ <!ENTITY % p SYSTEM "{url}/p.dtd"> %p; ]>\n'
                                  + tei("<p>&x;</p>")).encode(), "read.entity", 1, 17),
        "external-dtd.xml": (('<?xml version="1.0"?>\n'
                              f'<!DOCTYPE TEI SYSTEM "{url}/tei.dtd">\n' + tei("<p>x</p>")).encode(),
                             "read.external-dtd", 2, 1),
        "external-dtd-file.xml": ((f'<!DOCTYPE TEI PUBLIC "-//X//Y" "file://{secret}">'
                                   + tei("<p>x</p>")).encode(), "read.external-dtd", 1, 1),
        "xinclude-outside.xml": ((tei("\n<p><xi:include href=\"../../outside/secret.txt\" "
                                      'parse="text"/></p>', extra_ns=XI)).encode(),
                                 "read.xinclude", 2, 1),
        "xinclude-absolute.xml": (tei(f'\n\n<p><xi:include href="{secret}" parse="text"/></p>',
                                      extra_ns=XI).encode(), "read.xinclude", 3, 1),
        "xinclude-network.xml": (tei(f'\n<p><xi:include href="{url}/inc.xml"/></p>',
                                     extra_ns=XI).encode(), "read.xinclude", 2, 1),
        "xinclude-file-url.xml": (tei(f'\n<p><xi:include href="file://{secret}" parse="text"/></p>',
                                      extra_ns=XI).encode(), "read.xinclude", 2, 1),
        "xinclude-symlink.xml": (tei('\n<p><xi:include href="parts/link.txt" parse="text"/></p>',
                                     extra_ns=XI).encode(), "read.xinclude", 2, 1),
        "xinclude-cycle.xml": (tei('\n<div><xi:include href="xinclude-cycle.xml"/></div>',
                                   extra_ns=XI).encode(), "read.xinclude", 2, 1),
        "undefined-entity.xml": (tei("\n<p>a&nbsp;b</p>").encode(), "read.entity", 2, 5),
    }


@pytest.fixture(scope="module")
def attacked(tmp_path_factory, listener):
    """A project holding every attack, checked once with ``editio check --format json``."""
    url, hits = listener
    base = tmp_path_factory.mktemp("attacks")
    outside = base / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text(SECRET, encoding="utf-8")
    files = attack_files(outside, url)
    proj = project(base / "proj", {f"tei/{k}": v[0] for k, v in files.items()})
    (proj / "tei" / "parts").mkdir()
    os.symlink(outside / "secret.txt", proj / "tei" / "parts" / "link.txt")
    # too large: a sparse file, refused before a byte of it is read
    with open(proj / "tei" / "too-large.xml", "wb") as f:
        f.truncate(reader.MAX_BYTES + 1)
    files["too-large.xml"] = (b"", "read.too-large", 1, 1)
    r = run_editio("check", "--project", proj, "--format", "json", timeout=120)
    return files, r, hits, proj


def test_attacks_exit_nonzero_without_traceback(attacked):
    files, r, hits, proj = attacked
    no_traceback(r)
    assert r.returncode == 1
    assert SECRET not in r.stdout + r.stderr


@pytest.mark.parametrize("name", sorted(attack_files(Path("/x"), "http://h")) + ["too-large.xml"])
def test_attack_refused_with_located_error(attacked, name):
    files, r, hits, proj = attacked
    data = json.loads(r.stdout)
    mine = [d for d in data["diagnostics"] if d["file"] == f"tei/{name}"]
    _, code, line, col = files[name]
    assert [(d["severity"], d["code"], d["line"], d["col"]) for d in mine] == \
        [("error", code, line, col)], mine


def test_nothing_reached_the_network(attacked):
    files, r, hits, proj = attacked
    assert hits == []


def test_attacks_refused_by_text_and_build(attacked, listener):
    files, r, hits, proj = attacked
    t = run_editio("text", proj / "tei" / "xxe-file.xml", "--project", proj)
    assert t.returncode == 1 and SECRET not in t.stdout + t.stderr
    assert re.search(r"xxe-file\.xml:3:1: error: .*\[read\.entity\]", t.stderr), t.stderr
    b = run_editio("build", "--project", proj, "--format", "html")
    no_traceback(b)
    assert b.returncode == 1
    assert "[read.entity]" in b.stderr and "build failed" in b.stderr
    assert not (proj / "build").exists() and temp_dirs(proj) == []
    assert listener[1] == []


def test_libxml2_amplification_limit_is_a_second_defence():
    """Even past the DOCTYPE scan (simulated here), lxml refuses the expansion."""
    doc = ('<!DOCTYPE TEI [\n  ' + _laughs() + '\n]>' + tei("<p>&lol9;</p>")).encode()
    with pytest.raises(etree.XMLSyntaxError, match="amplification"):
        etree.fromstring(doc, reader._parser())


def test_entity_declaration_in_cdata_is_text_not_an_attack():
    doc = tei("<p><![CDATA[<!DOCTYPE x [<!ENTITY a 'b'>]> &a;]]></p>").encode()
    t = reader.parse_bytes(doc, "cdata.xml")
    assert "<!ENTITY a 'b'>" in "".join(t.getroot().itertext())


def test_plain_doctype_is_accepted():
    t = reader.parse_bytes(("<!DOCTYPE TEI>\n" + tei("<p>x</p>")).encode(), "d.xml")
    assert "".join(t.getroot().itertext()).endswith("x")


def test_xinclude_inside_the_project_works(tmp_path):
    proj = project(tmp_path / "p", {
        "tei/d.xml": tei('<xi:include href="../parts/a.xml"/><p>before <xi:include '
                         'href="../parts/t.txt" parse="text"/> after</p>'
                         '<xi:include href="../parts/missing.xml"><xi:fallback><p>fallback</p>'
                         "</xi:fallback></xi:include>", extra_ns=XI),
        "parts/a.xml": f'<p {NS}>included</p>',
        "parts/t.txt": "TEXT",
    })
    r = run_editio("text", proj / "tei" / "d.xml", "--project", proj)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "included\nbefore TEXT after\nfallback"


def test_an_include_of_a_file_that_is_not_there_is_left_out_and_located(tmp_path):
    """No such file (and no xi:fallback): a located xinclude.missing error, the rest of the
    file read and checked; a path leaving the project still stops the reading."""
    proj = project(tmp_path / "p", {
        "tei/d.xml": tei('\n<p>kept</p>\n<xi:include href="../shared/dates.xml" xpointer="dates"/>\n'
                         '<p><ref target="#nowhere">x</ref></p>', extra_ns=XI)})
    r = run_editio("check", "--project", proj)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert re.search(r'^tei/d\.xml:3:1: error: xi:include href "\.\./shared/dates\.xml": no such file; '
                     r"left out \[xinclude\.missing\]$", r.stdout, re.M), r.stdout
    assert "[ref.missing]" in r.stdout, "the rest of the file is checked"
    b = run_editio("build", "--project", proj, "--format", "html", "--keep-going")
    assert b.returncode == 0 and "kept" in (proj / "build" / "html" / "d.html").read_text(encoding="utf-8")


def test_xinclude_fan_out_is_bounded(tmp_path):
    """XInclude's own billion laughs: 10 includes of 10 includes of ... ."""
    files = {"tei/d.xml": tei('<xi:include href="../parts/l6.xml"/>', extra_ns=XI),
             "parts/l0.xml": f"<p {NS}>lol</p>"}
    for i in range(1, 7):
        files[f"parts/l{i}.xml"] = (f"<div {NS} {XI}>"
                                    + f'<xi:include href="l{i - 1}.xml"/>' * 10 + "</div>")
    proj = project(tmp_path / "p", files)
    r = run_editio("check", "--project", proj, timeout=300)  # refused, not expanded: no hang
    assert r.returncode == 1
    assert f"more than {reader.MAX_INCLUDES} xi:include elements" in r.stdout
    assert "[read.xinclude]" in r.stdout


# ================================================================================
# 5. Broken and odd TEI: a located diagnostic or a correct rendering, never a traceback
BROKEN = {
    # name: (bytes, code, line, col)
    "empty.xml": (b"", "read.empty", 1, 1),
    "blank.xml": (b"\xef\xbb\xbf \n\r\n", "read.empty", 1, 1),
    "not-xml.xml": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "read.syntax", 1, 1),
    "syntax.xml": (tei("\n<p>x</q>").encode(), "read.syntax", 2, 5),
    "latin1-undeclared.xml": (tei("\n<p>caf\xe9</p>").encode("latin-1"), "read.encoding", 2, 7),
    "utf8-declared-latin1.xml": (('<?xml version="1.0" encoding="ISO-8859-1"?>\n'
                                  + tei("<p>café</p>")).encode("utf-8"), "read.encoding", 1, 31),
    "unknown-encoding.xml": (('<?xml version="1.0" encoding="x-klingon"?>\n'
                              + tei("<p>x</p>")).encode(), "read.encoding", 1, 31),
    "utf16-no-bom.xml": (tei("<p>x</p>").encode("utf-16-le"), "read.encoding", 1, 1),
    "utf32.xml": (tei("<p>x</p>").encode("utf-32"), "read.encoding", 1, 1),
    "deep-5000.xml": (tei("<p>" + "<hi>" * 5000 + "x" + "</hi>" * 5000 + "</p>").encode(),
                      "read.depth", 1, None),
    "deep-150.xml": (tei("\n<p>" + "<hi>\n" * 150 + "x" + "</hi>" * 150 + "</p>").encode(),
                     "read.depth", 2 + reader.MAX_DEPTH - 4, 1),
    "huge-text-node.xml": (tei("<p>" + "x" * 10_000_001 + "</p>").encode(), "read.too-large",
                           1, None),
    "wrong-root.xml": (b"<html><body><p>x</p></body></html>", "tei.root", 1, 1),
    "wrong-namespace.xml": (b'<TEI xmlns="http://www.tei-c.org/ns/2.0"><text/></TEI>',
                            "tei.root", 1, 1),
    "no-namespace.xml": (b"<TEI><text><body><p>x</p></body></text></TEI>", "tei.root", 1, 1),
}


@pytest.fixture(scope="module")
def broken(tmp_path_factory):
    proj = project(tmp_path_factory.mktemp("broken") / "proj",
                   {f"tei/{k}": v[0] for k, v in BROKEN.items()})
    r = run_editio("check", "--project", proj, "--format", "json", timeout=120)
    return proj, r


def test_broken_check_exit_status(broken):
    proj, r = broken
    no_traceback(r)
    assert r.returncode == 1


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_broken_file_check(broken, name):
    proj, r = broken
    _, code, line, col = BROKEN[name]
    mine = [d for d in json.loads(r.stdout)["diagnostics"]
            if d["file"] == f"tei/{name}" and d["severity"] == "error"]
    assert [d["code"] for d in mine] == [code], mine
    assert mine[0]["line"] == line
    if col is not None:
        assert max(mine[0]["col"], 1) == col


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_broken_file_text(broken, name):
    proj, _ = broken
    _, code, line, col = BROKEN[name]
    r = run_editio("text", proj / "tei" / name, "--project", proj)
    no_traceback(r)
    assert r.returncode == 1
    assert r.stdout == ""
    col_re = str(col) if col else r"\d+"
    where = rf"{re.escape(str(proj / 'tei' / name))}:{line}:{col_re}"
    assert re.search(rf"^{where}: error: .+ \[{re.escape(code)}\]$", r.stderr, re.M), r.stderr


def test_broken_file_build_keeps_nothing(broken):
    proj, _ = broken
    r = run_editio("build", "--project", proj, "--format", "html")
    no_traceback(r)
    assert r.returncode == 1
    assert "build failed" in r.stderr
    assert not (proj / "build").exists() and temp_dirs(proj) == []


ODD_TEXT = "café — naïve “quotes” <&> 中文"


@pytest.mark.parametrize("name,data", [
    ("bom-utf8.xml", codecs.BOM_UTF8 + tei(f"<p>{ODD_TEXT.replace('<&>', '&lt;&amp;&gt;')}</p>")
     .encode()),
    ("bom-utf16le.xml", codecs.BOM_UTF16_LE
     + tei(f"<p>{ODD_TEXT.replace('<&>', '&lt;&amp;&gt;')}</p>").encode("utf-16-le")),
    ("bom-utf16be.xml", codecs.BOM_UTF16_BE
     + ('<?xml version="1.0" encoding="UTF-16"?>\r\n'
        + tei(f"<p>{ODD_TEXT.replace('<&>', '&lt;&amp;&gt;')}</p>")).encode("utf-16-be")),
    ("latin1-declared.xml", ('<?xml version="1.0" encoding="ISO-8859-1"?>\n'
                             + tei("<p>café — naïve “quotes” &lt;&amp;&gt; &#x4e2d;&#x6587;</p>")
                             .replace("—", "&#x2014;").replace("“", "&#x201c;")
                             .replace("”", "&#x201d;")).encode("latin-1")),
    ("crlf.xml", tei(f"\r\n<p>{ODD_TEXT.replace('<&>', '&lt;&amp;&gt;')}</p>\r\n")
     .replace("><", ">\r\n<").encode()),
])
def test_odd_but_valid_encodings_render_exactly(tmp_path, name, data):
    proj = project(tmp_path / "p", {f"tei/{name}": data})
    r = run_editio("text", proj / "tei" / name, "--project", proj)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split("\n")[-1] == ODD_TEXT
    assert "\r" not in r.stdout
    c = run_editio("check", "--project", proj, "--format", "json")
    assert not [d for d in json.loads(c.stdout)["diagnostics"] if d["severity"] == "error"], c.stdout


def test_depth_limit_is_rendered(tmp_path):
    """At exactly MAX_DEPTH the text view and the HTML render (no RecursionError)."""
    depth = reader.MAX_DEPTH - 5     # TEI/text/body/div/p + the <hi> chain = MAX_DEPTH
    body = "<div><p>" + "<hi>" * depth + "deep" + "</hi>" * depth + "</p></div>"
    proj = project(tmp_path / "p", {"tei/d.xml": tei(body)})
    t = etree.fromstring(tei(body).encode())
    assert max(len(list(e.iterancestors())) + 1 for e in t.iter()) == reader.MAX_DEPTH
    r = run_editio("text", proj / "tei" / "d.xml", "--project", proj)
    assert (r.returncode, r.stdout) == (0, "deep"), r.stderr
    one_more = tei("<div><p>" + "<hi>" * (depth + 1) + "x" + "</hi>" * (depth + 1) + "</p></div>")
    with pytest.raises(EditioError) as e:
        reader.parse_bytes(one_more.encode(), "d.xml")
    assert e.value.diagnostic.code == "read.depth"


def test_unknown_elements_warn_and_render(tmp_path):
    body = ('<p>a <frobnicate type="x">b <blink>c</blink></frobnicate> d '
            '<h:script xmlns:h="http://www.w3.org/1999/xhtml">alert(1)</h:script></p>')
    proj = project(tmp_path / "p", {"tei/d.xml": tei(body)})
    r = run_editio("text", proj / "tei" / "d.xml", "--project", proj)
    # unknown TEI elements keep their text; foreign active content (XHTML script) does not
    assert (r.returncode, r.stdout) == (0, "a b c d ")
    c = run_editio("check", "--project", proj, "--format", "json")
    diags = json.loads(c.stdout)["diagnostics"]
    # unknown TEI elements are warnings; foreign (XHTML) elements are errors (issue 11, case 8)
    assert c.returncode == 1
    unknown = sorted(d["message"] for d in diags if d["code"] == "element.unknown")
    assert [m.split(">")[0] for m in unknown] == ["<blink", "<frobnicate"]
    foreign = [d for d in diags if d["code"] == "tei.foreign"]
    assert len(foreign) == 1 and foreign[0]["message"].startswith(
        "<script> in namespace http://www.w3.org/1999/xhtml is not TEI")


# ================================================================================
# the pointer resolver: nothing outside the project, no crash on malformed URLs
@pytest.mark.parametrize("token,status", [
    ("javascript:alert(1)", "unsafe"), ("JaVaScRiPt:alert(1)", "unsafe"),
    ("vbscript:msgbox(1)", "unsafe"), ("data:text/html,<script>alert(1)</script>", "unsafe"),
    ("file:///etc/passwd", "unsafe"), ("//evil.example/x.png", "unsafe"),
    ("C:\\Windows\\win.ini", "unsafe"), ("../../../../../etc/passwd", "unsafe"),
    ("/etc/passwd", "unsafe"), ("%2e%2e/%2e%2e/%2e%2e/etc/passwd", "unsafe"),
    ("a%00b.png", "unsafe"), ("http://[::1", "unsafe"), ("../.git/config", "unsafe"),
    ("../.env", "unsafe"), ("x" * 5000 + ".png", "missing"),
    ("https://example.org/a?b=c#d", "external"), ("mailto:a@example.org", "external"),
    ("../img/ok.png", "file"), ("../img/link-out.png", "unsafe"),
])
def test_resolve(tmp_path, token, status):
    from editio.config import Project
    from editio.corpus import Corpus
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "x.png").write_bytes(b"png")
    proj = project(tmp_path / "p", {"tei/d.xml": tei("<p>x</p>"), "img/ok.png": b"png"})
    os.symlink(outside / "x.png", proj / "img" / "link-out.png")
    corpus = Corpus.load(Project(proj))
    assert corpus.resolve(corpus.documents[0], token).status == status


def test_witness_outside_the_project_is_not_read(tmp_path):
    (tmp_path / "secret.txt").write_text(SECRET)
    header = HEADER.replace("<sourceDesc><p>test</p></sourceDesc>",
                            '<sourceDesc><p><ptr target="../../secret.txt"/></p></sourceDesc>')
    doc = f'<TEI {NS}>{header.format(title="t")}<text><body><p>x</p></body></text></TEI>'
    proj = project(tmp_path / "p", {"tei/d.xml": doc})
    r = run_editio("check", "--project", proj)
    assert SECRET not in r.stdout + r.stderr
    assert "[ref.unsafe]" in r.stdout and "witness" not in r.stdout


# ================================================================================
# 2 and 3. Safe HTML output; nothing outside the project read or copied
HOSTILE_BODY = """
<div>
<head>Heading &lt;img src=x onerror=alert(1)&gt;</head>
<p xml:id="p-script">Text that looks like markup: &lt;script&gt;alert('xss')&lt;/script&gt; and &lt;b onmouseover="alert(1)"&gt;bold&lt;/b&gt; &amp; **stars**.</p>
<p><ref target="javascript:alert(1)">js link</ref>, <ref target="JaVaScRiPt:alert(2)">mixed case</ref>,
<ref target="vbscript:msgbox(1)">vb link</ref>, <ref target="data:text/html,&lt;script&gt;alert(3)&lt;/script&gt;">data link</ref>,
<ref target="https://example.org/&quot;onmouseover=&quot;alert(4)">quoted url</ref>,
<ptr target="javascript:alert(5)"/>, <persName ref="javascript:alert(6)">Evil Person</persName>,
<placeName ref="data:text/html,x">Evil Place</placeName>, <ref target="https://example.org/ok">good link</ref>.</p>
<p rend="x&quot; onmouseover=&quot;alert(7)" xml:lang="en&quot; onload=&quot;alert(8)">Attributes that try to break out.</p>
<figure><graphic url="javascript:alert(9)"/></figure>
<figure><graphic url="data:image/svg+xml,&lt;svg%20onload=alert(10)&gt;"/></figure>
<figure><graphic url="../../../../../../etc/passwd"/></figure>
<figure><graphic url="/etc/passwd"/></figure>
<figure><graphic url="file:///etc/passwd"/></figure>
<figure><graphic url="../../outside/secret.png"/></figure>
<figure><graphic url="../img/link-out.png"/></figure>
<figure><graphic url="../.git/config"/></figure>
<figure><graphic url="../img/ok.png"><desc>a legitimate image</desc></graphic></figure>
<p facs="data:text/html,x">facsimile pointer</p>
<p facs="../../outside/secret.png">facsimile outside</p>
</div>"""


@pytest.fixture(scope="module")
def hostile_site(tmp_path_factory):
    base = tmp_path_factory.mktemp("hostile-site")
    outside = base / "outside"
    outside.mkdir()
    (outside / "secret.png").write_text(SECRET)
    proj = project(base / "proj", {
        "tei/d001.xml": tei(HOSTILE_BODY, title="Title &lt;/title&gt;&lt;script&gt;alert(11)"
                                               "&lt;/script&gt;"),
        "img/ok.png": b"\x89PNG\r\n\x1a\nOK-IMAGE",
        ".git/config": f"[remote]\n url = https://user:{SECRET}@example.org/\n",
    }, toml='title = "Hostile <script>alert(12)</script> edition"\n')
    os.symlink(outside / "secret.png", proj / "img" / "link-out.png")
    r = run_editio("build", "--project", proj, "--format", "html", timeout=600)
    return proj, r


def _pages(proj: Path) -> list[Path]:
    pages = sorted((proj / "build" / "html").glob("*.html"))
    assert pages
    return pages


def test_hostile_site_builds_with_warnings(hostile_site):
    proj, r = hostile_site
    no_traceback(r)
    assert r.returncode == 0, r.stderr
    unsafe = [ln for ln in r.stderr.splitlines() if ln.endswith("[ref.unsafe]")]
    for needle in ("javascript:alert(1)", "JaVaScRiPt:alert(2)", "vbscript:msgbox(1)",
                   "data:text/html,<script>", "javascript:alert(5)", "javascript:alert(6)",
                   "data:text/html,x", "javascript:alert(9)", "data:image/svg+xml",
                   "../../../../../../etc/passwd", "/etc/passwd", "file:///etc/passwd",
                   "../../outside/secret.png", "../img/link-out.png", "../.git/config"):
        assert any(needle in ln for ln in unsafe), (needle, unsafe)
    assert all(re.match(r"^tei/d001\.xml:\d+:\d+: warning: ", ln) for ln in unsafe), unsafe


def test_every_page_has_a_strict_csp(hostile_site):
    proj, _ = hostile_site
    for page in _pages(proj):
        doc = lhtml.parse(str(page)).getroot()
        metas = doc.xpath('//meta[translate(@http-equiv, "CSP", "csp")="content-security-policy"]')
        assert len(metas) == 1, page.name
        csp = metas[0].get("content")
        directives = {d.split()[0]: d.split()[1:] for d in csp.split(";") if d.strip()}
        scripts = directives.get("script-src", directives.get("default-src"))
        assert scripts is not None, csp
        assert "'unsafe-inline'" not in scripts and "'unsafe-eval'" not in scripts, csp
        assert "*" not in scripts and not any(s.startswith(("http:", "https:")) for s in scripts)
        assert directives.get("object-src") == ["'none'"], csp
        assert "base-uri" in directives, csp


URL_ATTRS = ("href", "src", "action", "formaction", "srcset", "poster", "data", "background",
             "xlink:href", "cite", "longdesc")


def test_no_script_can_run_on_any_page(hostile_site):
    proj, _ = hostile_site
    for page in _pages(proj):
        doc = lhtml.parse(str(page)).getroot()
        for s in doc.iter("script"):
            if s.get("src"):
                assert not (s.text or "").strip(), page.name
                assert not re.match(r"^[a-z][a-z0-9+.-]*:", s.get("src"), re.I), s.get("src")
            else:  # only data blocks, never code
                assert s.get("type") == "application/ld+json", (page.name, s.get("type"))
                json.loads(s.text)
                assert "<" not in s.text
        for el in doc.iter():
            if not isinstance(el.tag, str):
                continue
            assert el.tag not in ("iframe", "object", "embed", "base", "frame", "applet",
                                  "foreignobject"), (page.name, el.tag)
            for k, v in el.attrib.items():
                assert not k.lower().startswith("on"), (page.name, el.tag, k, v)
                if k.lower() in URL_ATTRS and not (el.tag == "link" and v == "data:,"):
                    # (the one data: URL allowed is the empty favicon, "data:,")
                    scheme = re.match(r"^\s*([a-z][a-z0-9+.-]*):", v, re.I)
                    assert scheme is None or scheme.group(1).lower() in (
                        "http", "https", "mailto"), (page.name, el.tag, k, v)
        raw = page.read_text(encoding="utf-8")
        assert "javascript:" not in raw.lower() or "javascript:" in _visible(doc).lower()
        assert "vbscript:" not in raw.lower() or "vbscript:" in _visible(doc).lower()


def _visible(doc) -> str:
    """The page's text as the source has it: where the two views differ only by a quote
    (``q-dip`` straight, ``q-ed`` typographic; the CSS shows one), the source's is kept."""
    def shown(t):
        if t.is_tail:
            return t.getparent().getparent().tag not in ("script", "style")
        el = t.getparent()
        return el.tag not in ("script", "style") and "q-ed" not in (el.get("class") or "").split()
    return "".join(t for t in doc.xpath("//body//text()") if shown(t))


def test_markup_in_text_is_shown_as_text(hostile_site):
    proj, _ = hostile_site
    texts = {p.name: _visible(lhtml.parse(str(p)).getroot()) for p in _pages(proj)}
    page = next(n for n, t in texts.items() if "Text that looks like markup" in t)
    t = " ".join(texts[page].split())
    assert "<script>alert('xss')</script>" in t
    assert '<b onmouseover="alert(1)">bold</b> & **stars**' in t
    assert "Heading <img src=x onerror=alert(1)>" in t
    for label in ("js link", "mixed case", "vb link", "data link", "Evil Person", "Evil Place"):
        assert label in t  # rendered inert, as text
    doc = lhtml.parse(str(proj / "build" / "html" / page)).getroot()
    assert doc.xpath('//a[@href="https://example.org/ok"][contains(., "good link")]')
    assert not doc.xpath('//a[contains(., "js link") or contains(., "vb link")]')
    title = doc.find(".//title").text
    assert "</title><script>alert(11)</script>" in title  # escaped, still only text


def test_nothing_outside_the_project_is_copied(hostile_site):
    proj, _ = hostile_site
    out = proj / "build"
    passwd = Path("/etc/passwd").read_bytes()
    for f in out.rglob("*"):
        if f.is_file():
            data = f.read_bytes()
            assert SECRET.encode() not in data, f
            assert data != passwd and b"root:x:0:0" not in data, f
        assert not f.is_symlink(), f
    imgs = [f for f in out.rglob("*") if f.is_file() and f.read_bytes().endswith(b"OK-IMAGE")]
    assert len(imgs) == 1  # the legitimate image is copied once
    page = next(p for p in _pages(proj) if "legitimate image" in p.read_text(encoding="utf-8"))
    doc = lhtml.parse(str(page)).getroot()
    srcs = [i.get("src") for i in doc.iter("img")]
    assert len(srcs) == 1 and (page.parent / srcs[0]).resolve() == imgs[0].resolve()


# ================================================================================
# 4. Nothing lost: staging, signals, the lock
def _big_docs(n=100, paras=150) -> dict:
    out = {}
    for i in range(n):
        ps = "".join(f'<p>Paragraph {k} of document {i}: the <hi rend="italic">volunteers</hi> '
                     f'withdrew in <date when="1958-10-26">October 1958</date>. '
                     + "Lorem ipsum dolor sit amet. " * 8 + "</p>" for k in range(paras))
        out[f"tei/big{i:03}.xml"] = tei(f"<div>{ps}</div>", title=f"Big {i}")
    return out


@pytest.fixture(scope="module")
def big_docs():
    return _big_docs()


def _first_build(tmp_path) -> tuple[Path, dict]:
    """A built one-document project: the 'previous build' every test must keep."""
    proj = project(tmp_path / "p", {"tei/d000.xml": tei("<p>The previous build.</p>",
                                                        title="Previous")})
    r = run_editio("build", "--project", proj, "--format", "html")
    assert r.returncode == 0, r.stderr
    before = tree_digest(proj / "build")
    assert any(k.startswith("html/") and k.endswith(".html") for k in before)
    return proj, before


def _add(proj: Path, files: dict) -> None:
    for rel, text in files.items():
        (proj / rel).write_text(text, encoding="utf-8")


def _start_build(proj: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "editio", "build", "--project", str(proj),
                             "--format", "html"], cwd=REPO, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _wait_for(cond, proc: subprocess.Popen, timeout=120.0) -> None:
    t0 = time.monotonic()
    while not cond():
        assert proc.poll() is None, f"build ended before the signal: {proc.communicate()}"
        assert time.monotonic() - t0 < timeout, "timed out"
        time.sleep(0.01)


def _lock_held(proj: Path) -> bool:
    lock = proj / ".editio-build.lock"
    return lock.exists() and lock.read_text().strip() != ""


def _staged(proj: Path, inner: str) -> bool:
    return any((d / inner).exists() for d in proj.glob(".build.tmp-*"))


PHASES = {
    "reading": lambda proj: _lock_held(proj) and not list(proj.glob(".build.tmp-*")),
    "rendering": lambda proj: _staged(proj, "html"),
    "indexing": lambda proj: _staged(proj, "html/pagefind"),
}


@pytest.mark.parametrize("sig,phase", [
    (signal.SIGINT, "reading"), (signal.SIGINT, "rendering"), (signal.SIGINT, "indexing"),
    (signal.SIGTERM, "reading"), (signal.SIGTERM, "rendering"), (signal.SIGTERM, "indexing"),
    (signal.SIGHUP, "rendering"),
], ids=lambda v: getattr(v, "name", v))
def test_interrupted_build_keeps_the_previous_one(tmp_path, big_docs, sig, phase):
    proj, before = _first_build(tmp_path)
    _add(proj, big_docs)
    p = _start_build(proj)
    _wait_for(lambda: PHASES[phase](proj), p)
    p.send_signal(sig)
    out, err = p.communicate(timeout=120)
    assert p.returncode == 128 + sig, err
    assert err.strip().endswith("editio: interrupted; output left as it was"), err
    assert "Traceback" not in err and "Exception ignored" not in err, err
    assert tree_digest(proj / "build") == before
    assert temp_dirs(proj) == []
    assert _descendants_of_nobody() == []


def _descendants_of_nobody() -> list[str]:
    """Helper processes (the search indexer) left running by a build that was stopped."""
    r = subprocess.run(["ps", "-eo", "pid,ppid,args"], capture_output=True, text=True)
    return [ln for ln in r.stdout.splitlines()
            if "pagefind" in ln and "--service" in ln and re.match(r"\s*\d+\s+1\s", ln)]


def test_killed_build_is_cleaned_up_by_the_next(tmp_path, big_docs):
    proj, before = _first_build(tmp_path)
    _add(proj, big_docs)
    p = _start_build(proj)
    _wait_for(lambda: _staged(proj, "html"), p)
    p.kill()
    p.communicate(timeout=60)
    assert tree_digest(proj / "build") == before  # SIGKILL: no clean-up, but nothing lost
    for f in big_docs:
        (proj / f).unlink()
    (proj / "tei" / "d000.xml").write_text(tei("<p>The next build.</p>", title="Next"))
    r = run_editio("build", "--project", proj, "--format", "html")
    assert r.returncode == 0, r.stderr
    assert temp_dirs(proj) == []
    assert any("The next build." in (proj / "build" / k).read_text(encoding="utf-8")
               for k in tree_digest(proj / "build") if k.endswith(".html"))


def test_failed_build_keeps_the_previous_one(tmp_path):
    proj, before = _first_build(tmp_path)
    (proj / "tei" / "d000.xml").write_text(tei("<p>broken</q>"))
    r = run_editio("build", "--project", proj, "--format", "html")
    no_traceback(r)
    assert r.returncode == 1 and "[read.syntax]" in r.stderr
    assert "build/ left as it was" in r.stderr
    assert tree_digest(proj / "build") == before and temp_dirs(proj) == []


def test_crashing_builder_keeps_the_previous_one(tmp_path):
    """A builder that raises (here: web.css is a folder) leaves no half-written output."""
    proj, before = _first_build(tmp_path)
    (proj / "tei" / "d000.xml").write_text(tei("<p>Changed.</p>"))
    (proj / "styles" / "web.css").mkdir(parents=True)
    r = run_editio("build", "--project", proj, "--format", "html")
    assert r.returncode != 0
    assert tree_digest(proj / "build") == before and temp_dirs(proj) == []


def test_second_build_stops_with_a_clear_message(tmp_path, big_docs):
    proj, before = _first_build(tmp_path)
    _add(proj, big_docs)
    first = _start_build(proj)
    _wait_for(lambda: _lock_held(proj), first)
    second = run_editio("build", "--project", proj, "--format", "html")
    assert second.returncode == 1
    assert re.search(rf"another build of this project is running \(pid {first.pid}\).*"
                     r"\[build\.locked\]", second.stderr), second.stderr
    out, err = first.communicate(timeout=300)
    assert first.returncode == 0, err
    assert temp_dirs(proj) == []
    assert len([k for k in tree_digest(proj / "build") if re.match(r"html/.*big\d+", k)]) >= 100


def test_two_builds_started_together(tmp_path, big_docs):
    proj, before = _first_build(tmp_path)
    _add(proj, dict(list(big_docs.items())[:30]))
    procs = [_start_build(proj), _start_build(proj)]
    results = [(p.wait(timeout=300), p.communicate()[1]) for p in procs]
    codes = sorted(rc for rc, _ in results)
    assert codes in ([0, 0], [0, 1]), results
    for rc, err in results:
        if rc == 1:
            assert "[build.locked]" in err, err
    assert temp_dirs(proj) == []
    assert tree_digest(proj / "build") != before


def test_staging_swap_without_renameat2(tmp_path, monkeypatch):
    from editio import build
    out = tmp_path / "build"
    with build.staging(out) as tmp:
        (tmp / "html").mkdir()
        (tmp / "html" / "index.html").write_text("one")
    monkeypatch.setattr(build, "_exchange", lambda a, b: False)
    with build.staging(out) as tmp:
        (tmp / "html").mkdir()
        (tmp / "html" / "index.html").write_text("two")
    assert (out / "html" / "index.html").read_text() == "two"
    assert temp_dirs(tmp_path) == []


def test_staging_restores_output_killed_between_renames(tmp_path):
    from editio import build
    out = tmp_path / "build"
    old = tmp_path / ".build.tmp-old-4242"
    (old / "html").mkdir(parents=True)
    (old / "html" / "index.html").write_text("previous")
    (tmp_path / ".build.tmp-abcd").mkdir()  # a half-written staging directory
    build._recover(out)
    assert (out / "html" / "index.html").read_text() == "previous"
    assert temp_dirs(tmp_path) == []


def test_building_one_format_keeps_the_other(tmp_path):
    from editio import build
    out = tmp_path / "build"
    with build.staging(out) as tmp:
        for fmt in ("html", "pdf"):
            (tmp / fmt).mkdir()
            (tmp / fmt / "x").write_text(f"old {fmt}")
    with build.staging(out) as tmp:
        (tmp / "html").mkdir()
        (tmp / "html" / "x").write_text("new html")
    assert (out / "html" / "x").read_text() == "new html"
    assert (out / "pdf" / "x").read_text() == "old pdf"


def test_failure_inside_staging_keeps_output(tmp_path):
    from editio import build
    out = tmp_path / "build"
    with build.staging(out) as tmp:
        (tmp / "html").mkdir()
        (tmp / "html" / "x").write_text("kept")
    with pytest.raises(RuntimeError):
        with build.staging(out) as tmp:
            (tmp / "html").mkdir()
            (tmp / "html" / "x").write_text("lost")
            raise RuntimeError("builder failed")
    assert (out / "html" / "x").read_text() == "kept"
    assert temp_dirs(tmp_path) == []


@pytest.mark.parametrize("output,why", [(".", "is the project itself"),
                                        ("tei", "overlaps the input directory"),
                                        ("styles", "is the edition's styles/")])
def test_output_that_must_not_be_replaced(tmp_path, output, why):
    proj = project(tmp_path / "p", {"tei/d.xml": tei("<p>x</p>"), "styles/web.css": "x{}"},
                   toml=f'title = "t"\noutput = "{output}"\n')
    before = tree_digest(proj)
    r = run_editio("build", "--project", proj, "--format", "html")
    no_traceback(r)
    assert r.returncode == 1 and why in r.stderr and "[build.output]" in r.stderr
    after = tree_digest(proj)
    after.pop(".editio-build.lock", None)
    assert after == before


def test_output_with_foreign_files_is_not_replaced(tmp_path):
    proj = project(tmp_path / "p", {"tei/d.xml": tei("<p>x</p>"),
                                    "build/thesis.docx": b"my only copy"})
    r = run_editio("build", "--project", proj, "--format", "html")
    assert r.returncode == 1 and "thesis.docx" in r.stderr and "[build.output]" in r.stderr
    assert (proj / "build" / "thesis.docx").read_bytes() == b"my only copy"


# ================================================================================
# 5 (continued). A 10 MB document: checked, read and built, in reasonable time
@pytest.mark.slow
def test_ten_megabyte_document(tmp_path):
    para = ("<p>In October 1958 the last <persName>volunteers</persName> left Korea; "
            "the <hi rend=\"italic\">withdrawal</hi> was complete &amp; documented. "
            + "Lorem ipsum dolor sit amet, consectetur adipiscing elit. " * 3 + "</p>\n")
    n = 10_000_000 // len(para) + 1
    doc = tei("<div>\n" + para * n + "</div>")
    assert len(doc.encode()) > 10_000_000
    proj = project(tmp_path / "p", {"tei/big.xml": doc})
    c = run_editio("check", "--project", proj, "--format", "json")
    assert c.returncode == 0, c.stdout[-2000:]
    t = run_editio("text", proj / "tei" / "big.xml", "--project", proj)
    assert t.returncode == 0
    lines = t.stdout.split("\n")
    assert len(lines) == n and lines[0].startswith("In October 1958 the last volunteers left")
    # the site is built (the book of a text this size is laid out in parts of bounded
    # memory, tests/test_pdf.py; thousands of pages are too slow for this test)
    b = run_editio("build", "--project", proj, "--format", "html", timeout=900)
    assert b.returncode == 0, b.stderr[-2000:]
    page = max((proj / "build" / "html").glob("*.html"), key=lambda p: p.stat().st_size)
    assert page.read_text(encoding="utf-8").count("withdrawal</") == n


# ================================================================================
# Second pass (issue 11): the twenty reproduced cases, one test (or more) each.
# The cases are numbered as in docs/security.md.
XI_DOC = f'<TEI {NS} {XI}>' + HEADER.format(title="t") + "<text><body>{body}</body></text></TEI>"


def witness_doc(target: str, body: str = "<p>x</p>") -> str:
    header = HEADER.replace("<sourceDesc><p>test</p></sourceDesc>",
                            f'<sourceDesc><bibl><ptr target="{target}"/></bibl></sourceDesc>')
    return f'<TEI {NS}>{header.format(title="t")}<text><body>{body}</body></text></TEI>'


def check_cli(proj: Path, *args, timeout=60):
    r = run_editio("check", "--project", proj, *args, timeout=timeout)
    no_traceback(r)
    return r


@pytest.mark.parametrize("href", ["../.git/config", "../.env", "../editio.toml",
                                  "../.editio-build.lock", "../sub/.hidden/x.txt"])
def test_case01_xinclude_text_of_a_secret_is_refused(tmp_path, href):
    proj = project(tmp_path / "p", {
        "tei/d.xml": XI_DOC.format(body=f'<p><xi:include href="{href}" parse="text"/></p>'),
        ".git/config": SECRET, ".env": SECRET, ".editio-build.lock": SECRET,
        "sub/.hidden/x.txt": SECRET}, toml=f'title = "t"\n# {SECRET}\n')
    r = check_cli(proj)
    assert r.returncode == 1
    assert re.search(diag_re("tei/d.xml", 1, 1, "read.xinclude"), r.stdout, re.M), r.stdout
    assert SECRET not in r.stdout + r.stderr
    b = run_editio("build", "--project", proj, "--format", "html", "--keep-going")
    no_traceback(b)
    out = proj / "build"
    assert not out.exists() or all(SECRET not in p.read_text(errors="replace")
                                   for p in out.rglob("*") if p.is_file())


def test_case02_witness_hidden_is_not_read_nor_attached(tmp_path):
    proj = project(tmp_path / "p", {"tei/d.xml": witness_doc("../.secret/w.txt"),
                                    ".secret/w.txt": SECRET + " and more"})
    r = check_cli(proj)
    assert r.returncode == 1
    assert re.search(r"^tei/d\.xml:1:\d+: error: witness w\.txt is not read: a hidden .+"
                     r"\[witness\.refused\]$", r.stdout, re.M), r.stdout
    assert SECRET[:10] not in r.stdout
    # the PDF attaches only the witnesses the gate lets through
    from editio import gate
    assert gate.passes(proj, proj / ".secret/w.txt") is None


def test_case04_schema_externalref_outside_is_refused(tmp_path):
    rng = ('<grammar xmlns="http://relaxng.org/ns/structure/1.0"><start>'
           '<externalRef href="{href}"/></start></grammar>')
    outside = tmp_path / "outside.rng"
    outside.write_text(rng.format(href="x.rng"))
    os.mkfifo(tmp_path / "p-fifo.rng") if False else None
    proj = project(tmp_path / "p", {
        "schema/a.rng": rng.format(href="/etc/passwd"),
        "schema/b.rng": rng.format(href="../../outside.rng"),
        "schema/c.rng": rng.format(href="fifo.rng"),
        "schema/d.rng": rng.replace("externalRef", "include").format(href="http://127.0.0.1:9/x"),
        "tei/a.xml": '<?xml-model href="../schema/a.rng"?>\n' + tei("<p>x</p>"),
        "tei/b.xml": '<?xml-model href="../schema/b.rng"?>\n' + tei("<p>x</p>"),
        "tei/c.xml": '<?xml-model href="../schema/c.rng"?>\n' + tei("<p>x</p>"),
        "tei/d.xml": '<?xml-model href="../schema/d.rng"?>\n' + tei("<p>x</p>"),
        "tei/e.xml": '<?xml-model href="../../outside.rng"?>\n' + tei("<p>x</p>"),
    })
    os.mkfifo(proj / "schema" / "fifo.rng")
    r = check_cli(proj, timeout=30)  # a FIFO read would hang: the timeout would fail the test
    assert r.returncode == 1
    for name in "abcde":
        assert re.search(rf"^tei/{name}\.xml:1:1: error: .*refused.* \[schema\.unreadable\]$",
                         r.stdout, re.M), (name, r.stdout)


def test_case05_lock_symlink_is_not_followed(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text(SECRET)
    proj = project(tmp_path / "p", {"tei/d.xml": tei("<p>x</p>")})
    os.symlink(victim, proj / ".editio-build.lock")
    r = run_editio("build", "--project", proj, "--format", "html")
    no_traceback(r)
    assert r.returncode == 1
    assert re.search(r"^\.editio-build\.lock: error: .*symlink.* \[build\.lock\]$", r.stderr, re.M)
    assert victim.read_text() == SECRET


def test_case11_csv_cells_cannot_be_formulas():
    from editio.cli import csv_cell
    for bad in ("=HYPERLINK(\"http://x\")", "+1", "-1+2", "@SUM(A1)", "\t=1", "\r=1", "＝1"):
        assert csv_cell(bad).startswith("'"), bad
    assert csv_cell("plain") == "plain" and csv_cell(3) == 3


def test_case11_csv_export_end_to_end(tmp_path):
    body = ('<p>A <choice><sic xml:id="s1">=cmd|\' /C calc\'!A0</sic><corr resp="#ed" '
            'cert="high" type="typographic">+x</corr></choice>.</p>'
            '<div type="editorial-notes"><note target="#s1">@SUM(1)</note></div>')
    proj = project(tmp_path / "p", {"tei/d.xml": tei(body)})
    r = run_editio("annotations", "--project", proj, "--format", "csv")
    no_traceback(r)
    import csv as _csv
    import io as _io
    rows = list(_csv.reader(_io.StringIO(r.stdout)))
    assert len(rows) > 1
    for row in rows:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), row


# ---- serve (case 12, and its tracebacks in case 16)
@pytest.fixture
def served(tmp_path):
    site = tmp_path / "p" / "build" / "html"
    (site / "sub").mkdir(parents=True)
    (site / "index.html").write_text("<p>home</p>")
    (site / "sub" / "a.txt").write_text("a")
    (tmp_path / "outside.txt").write_text(SECRET)
    os.symlink(tmp_path / "outside.txt", site / "leak.txt")
    os.symlink(tmp_path, site / "up")
    os.mkfifo(site / "fifo.txt")
    (tmp_path / "p" / "editio.toml").write_text('title = "t"\n')
    proc = subprocess.Popen([sys.executable, "-m", "editio", "serve", "--project", tmp_path / "p",
                             "--port", "0"], stderr=subprocess.PIPE, text=True)
    line = proc.stderr.readline()
    port = int(re.search(r"127\.0\.0\.1:(\d+)", line).group(1))
    yield port, proc
    proc.terminate()
    proc.wait(timeout=10)


def _get(port, path):
    import http.client
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    c.putrequest("GET", path, skip_accept_encoding=True)
    c.endheaders()
    resp = c.getresponse()
    body = resp.read()
    c.close()
    return resp.status, body


def test_case12_serve_no_listing_no_symlinks_out(served):
    port, _ = served
    assert _get(port, "/")[0] == 200
    assert _get(port, "/sub/a.txt") == (200, b"a")
    for path in ("/sub/", "/leak.txt", "/up/outside.txt", "/fifo.txt", "/../outside.txt",
                 "/%2e%2e/outside.txt"):
        status, body = _get(port, path)
        assert status in (400, 404), path
        assert SECRET.encode() not in body and b"Directory listing" not in body


def test_case12_serve_bad_paths_are_clean_errors(served):
    port, proc = served
    for path in ("/%00", "/a%00b", "/%ff%fe", "/\\..\\x"):
        assert _get(port, path)[0] == 400, path
    assert _get(port, "/")[0] == 200  # still serving
    assert proc.poll() is None


def test_case12_serve_idle_connections_time_out_and_are_capped(served, monkeypatch):
    import socket
    from editio import serve
    port, _ = served
    assert serve.IDLE_TIMEOUT <= 60 and serve.MAX_CONNECTIONS <= 256
    held = []
    try:
        for _ in range(serve.MAX_CONNECTIONS + 20):
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            held.append(s)
        # the ones over the cap are closed by the server at once
        closed = 0
        for s in held[-10:]:
            s.settimeout(5)
            try:
                if s.recv(1) == b"":
                    closed += 1
            except (ConnectionResetError, TimeoutError):
                closed += isinstance(s, socket.socket) and 0
        assert closed >= 1
    finally:
        for s in held:
            s.close()
    assert _get(port, "/")[0] == 200


def test_case12_serve_idle_timeout_unit(tmp_path):
    from editio.serve import Handler
    assert 0 < Handler.timeout <= 60


@pytest.mark.parametrize("port,msg", [("70000", "not a port number"), ("-1", "not a port number")])
def test_case16_serve_bad_port(tmp_path, port, msg):
    proj = project(tmp_path / "p", {"build/html/index.html": "x"})
    r = run_editio("serve", "--project", proj, "--port", port, timeout=30)
    no_traceback(r)
    assert r.returncode == 1 and msg in r.stderr and "[serve.port]" in r.stderr


def test_case16_serve_port_in_use(tmp_path):
    import socket
    proj = project(tmp_path / "p", {"build/html/index.html": "x"})
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(1)
    try:
        r = run_editio("serve", "--project", proj, "--port", s.getsockname()[1], timeout=30)
    finally:
        s.close()
    no_traceback(r)
    assert r.returncode == 1 and "is in use" in r.stderr and "[serve.port]" in r.stderr


def test_case20_serve_without_site_names_the_folder(tmp_path):
    proj = project(tmp_path / "p", {})
    r = run_editio("serve", "--project", proj, timeout=30)
    no_traceback(r)
    assert re.search(r"^build/html/: error: no site here.+\[serve\.nosite\]$", r.stderr, re.M)


# ---- lost, hung or crashed (cases 15-17)
def test_case15_fifo_witness_does_not_hang(tmp_path):
    proj = project(tmp_path / "p", {"tei/d.xml": witness_doc("../w/w.txt")})
    (proj / "w").mkdir()
    os.mkfifo(proj / "w" / "w.txt")
    r = check_cli(proj, timeout=30)
    assert r.returncode == 1
    assert re.search(r"^tei/d\.xml:1:\d+: error: witness w\.txt is not read: a FIFO.+"
                     r"\[witness\.refused\]$", r.stdout, re.M), r.stdout


def test_case15_huge_witness_is_refused_unread(tmp_path):
    proj = project(tmp_path / "p", {"tei/d.xml": witness_doc("../w/w.txt")})
    (proj / "w").mkdir()
    with open(proj / "w" / "w.txt", "wb") as f:  # sparse: 1.5 GB on paper, nothing on disk
        f.truncate(1_500_000_000)
    r = check_cli(proj, timeout=60)
    assert r.returncode == 1
    assert "1,500,000,000 bytes, over the limit" in r.stdout and "[witness.refused]" in r.stdout


def test_case16_form_feed_in_xinclude_text(tmp_path):
    proj = project(tmp_path / "p", {
        "tei/d.xml": XI_DOC.format(body='<p><xi:include href="ff.txt" parse="text"/></p>'),
        "tei/ff.txt": b"page one\n\x0cpage two"})
    r = check_cli(proj)
    assert re.search(diag_re("tei/d.xml", 1, 1, "read.xinclude"), r.stdout, re.M), r.stdout
    assert "U+000C" in r.stdout
    t = run_editio("text", "--project", proj, proj / "tei" / "d.xml")
    no_traceback(t)
    assert t.returncode == 1 and "[read.xinclude]" in t.stderr


def test_case16_year_zero_is_a_check_error(tmp_path):
    header = HEADER.replace("</fileDesc>", '</fileDesc><revisionDesc><change when="0000-01-01">'
                            "x</change></revisionDesc>")
    proj = project(tmp_path / "p", {
        "tei/d.xml": f'<TEI {NS}>{header.format(title="t")}<text><body><p>x</p></body></text></TEI>'})
    r = check_cli(proj)
    assert r.returncode == 1 and "[date.invalid]" in r.stdout


def test_case16_pdf_date_skips_impossible_dates(tmp_path, monkeypatch):
    from types import SimpleNamespace
    from editio.builders.pdf import Book
    from editio.config import Project
    from editio.corpus import Corpus
    header = HEADER.replace("</fileDesc>", '</fileDesc><revisionDesc><change when="0000-01-01">'
                            'x</change><change when="2024-13-40">y</change>'
                            '<change when="2020-05-06">z</change></revisionDesc>')
    proj = project(tmp_path / "p", {
        "tei/d.xml": f'<TEI {NS}>{header.format(title="t")}<text><body><p>x</p></body></text></TEI>'})
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    corpus = Corpus.load(Project(proj))
    book = SimpleNamespace(edition=SimpleNamespace(corpus=corpus), project=corpus.project)
    assert Book.date(book).isoformat().startswith("2020-05-06")


def test_case16_mask_pattern_not_a_regex(tmp_path):
    proj = project(tmp_path / "p", {"tei/d.xml": tei("<p>x</p>")},
                   toml='title = "t"\nmask_pattern = "["\n')
    r = check_cli(proj)
    assert r.returncode == 1
    assert re.search(r"^editio\.toml:2:1: error: 'mask_pattern' is not a regular expression.+"
                     r"\[config\.value\]$", r.stderr, re.M), r.stderr


@pytest.mark.parametrize("target", ["/dev/zero", "/dev/null"])
def test_case16_check_a_device(tmp_path, target):
    r = run_editio("check", target, cwd=tmp_path, timeout=30)
    no_traceback(r)
    assert r.returncode == 1 and "a device, not a regular file [read.io]" in r.stdout


def test_case17_malformed_tei_named_on_the_command_line(tmp_path):
    proj = project(tmp_path / "p", {"tei/x.tei": "<TEI", "tei/ok.xml": tei("<p>x</p>")})
    r = run_editio("check", "tei/x.tei", cwd=proj)
    no_traceback(r)
    assert r.returncode == 1 and "tei/x.tei:" in r.stdout and "[read.syntax]" in r.stdout
    assert "1 file checked: 1 error" in r.stderr


def test_case17_fifos_and_symlinks_in_tei_are_counted(tmp_path):
    proj = project(tmp_path / "p", {"tei/ok.xml": tei("<p>x</p>"), "tei/bad.tei": "<TEI"})
    os.mkfifo(proj / "tei" / "fifo.xml")
    os.symlink("/etc/passwd", proj / "tei" / "link.xml")
    r = check_cli(proj, timeout=30)
    assert r.returncode == 1
    assert "tei/fifo.xml: warning: not read: a FIFO" in r.stdout
    assert "tei/link.xml: warning: not read: a symlink" in r.stdout
    assert "tei/bad.tei:" in r.stdout
    assert "4 files checked: 1 error, 3 warnings" in r.stderr  # and schema.none
    r = check_cli(proj, proj / "tei" / "fifo.xml", timeout=30)
    assert "a FIFO, not a regular file [read.io]" in r.stdout and r.returncode == 1


# ---- names in diagnostics (case 19) and messages that help nobody (case 20)
@pytest.mark.parametrize("name,shown", [("esc\x1b[2J\x1b]0;pwned\x07.xml", "esc\\x1b[2J\\x1b]0;pwned\\x07.xml"),
                                        ("rtl\u202egpj.xml", "rtl\\u202egpj.xml"),
                                        ("new\nline.xml", "new\\nline.xml")])
def test_case19_file_names_are_escaped(tmp_path, name, shown):
    proj = project(tmp_path / "p", {"tei/" + name: "<TEI"})
    r = check_cli(proj)
    assert f"tei/{shown}:" in r.stdout, r.stdout
    assert "\x1b" not in r.stdout and "\u202e" not in r.stdout
    assert all(line.endswith("]") for line in r.stdout.splitlines()), r.stdout


def test_case19_nul_in_a_message_cannot_split_a_line():
    from editio.diagnostics import Diagnostic
    d = Diagnostic("a\x00b.xml", 1, 1, "error", "x.y", "bad\x00 value\r\nforged: error")
    assert d.format() == "a\\x00b.xml:1:1: error: bad\\x00 value\\x0d\\nforged: error [x.y]"


def test_case20_no_empty_locations():
    from editio.diagnostics import Diagnostic
    assert Diagnostic("", 0, 0, "error", "config.input", "m").format() == "editio: error: m [config.input]"
    assert Diagnostic("f", 1, 0, "error", "c", "").format() == "f:1:1: error: c [c]"


def test_case20_bom_and_unknown_keys_in_config(tmp_path):
    proj = project(tmp_path / "p", {"tei/d.xml": tei("<p>x</p>")})
    (proj / "editio.toml").write_bytes(b"\xef\xbb\xbftitle = \"t\"\ntitel = \"typo\"\n[html]\nbase = 1\n")
    r = check_cli(proj)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "editio.toml:2:1: warning: unknown key 'titel' (ignored) [config.unknown]" in r.stdout
    assert "editio.toml:4:1: warning: unknown key 'html.base' (ignored) [config.unknown]" in r.stdout


def test_case20_known_keys_live_in_one_place():
    from editio.config import KNOWN_KEYS
    assert {"profile", "units", "behaviours", "redactions", "glossaries", "pointers", "labels",
            "signs", "principles", "namespaces"} <= KNOWN_KEYS


def test_case07_language_cannot_name_a_path(tmp_path):
    proj = project(tmp_path / "p", {"tei/d.xml": tei("<p>x</p>")},
                   toml='title = "t"\nlanguage = "../../../../x"\n')
    r = check_cli(proj)
    assert r.returncode == 1
    assert re.search(r"^editio\.toml:2:1: error: 'language' must be a language tag.+\[config\.value\]$",
                     r.stderr, re.M), r.stderr


# ---- import (case 6) and output paths (case 7)
def test_case06_import_refuses_paths_out(tmp_path):
    proj = project(tmp_path / "p", {"w.txt": "a line\n"})
    outside = tmp_path / "outside"
    outside.mkdir()
    os.symlink(outside / "x.xml", proj / "tei" / "d1.xml")       # dangling, pointing out
    r = run_editio("import", proj / "w.txt", "--id", "d1", "--project", proj)
    no_traceback(r)
    assert r.returncode == 1 and "[import.path]" in r.stderr
    r = run_editio("import", proj / "w.txt", "--id", "../../x", "--project", proj)
    assert r.returncode == 1 and "[import.id]" in r.stderr
    os.symlink(outside, proj / "schema")                         # the schema folder leaves
    r = run_editio("import", proj / "w.txt", "--id", "d2", "--project", proj)
    assert r.returncode == 1 and "[import.path]" in r.stderr
    assert list(outside.iterdir()) == []
    assert not (proj / "tei" / "d2.xml").exists()


@pytest.mark.parametrize("content,code,where", [
    (b"a\r\nb\n", "import.crlf", "w.txt:1:1:"),
    (b"ok\n\x0cpage\n", "import.invalid", "w.txt:2:1:"),
    (b"\xff\xfe", "import.read", "w.txt:1:1:"),
    (b"x" * 11_000_000, "import.invalid", "w.txt:"),
])
def test_case20_import_refuses_what_check_would(tmp_path, content, code, where):
    proj = project(tmp_path / "p", {"w.txt": content})
    r = run_editio("import", "w.txt", "--id", "d1", "--project", proj, cwd=proj)
    no_traceback(r)
    assert r.returncode == 1 and f"[{code}]" in r.stderr and r.stderr.startswith(where), r.stderr
    assert not (proj / "tei" / "d1.xml").exists()


def test_case20_import_of_a_huge_witness_is_refused_unread(tmp_path):
    proj = project(tmp_path / "p", {})
    with open(proj / "w.txt", "wb") as f:
        f.truncate(50_000_000)
    r = run_editio("import", "w.txt", "--id", "d1", "--project", proj, cwd=proj)
    assert r.returncode == 1 and "over the limit" in r.stderr and "[import.read]" in r.stderr


@pytest.mark.parametrize("layout", ["build-symlink", "parent-symlink", "hidden"])
def test_case07_output_through_a_symlink_is_refused(tmp_path, layout):
    outside = tmp_path / "outside"
    outside.mkdir()
    toml = 'title = "t"\n'
    proj = project(tmp_path / "p", {"tei/d.xml": tei("<p>x</p>")})
    if layout == "build-symlink":
        os.symlink(outside, proj / "build")
    elif layout == "parent-symlink":
        os.symlink(outside, proj / "out")
        toml += 'output = "out/site"\n'
    else:
        toml += 'output = ".hidden/site"\n'
    (proj / "editio.toml").write_text(toml)
    r = run_editio("build", "--project", proj, "--format", "html")
    no_traceback(r)
    assert r.returncode == 1 and "[build.output]" in r.stderr, r.stderr
    assert list(outside.iterdir()) == []
    assert not [p for p in proj.rglob("*") if ".tmp-" in p.name]


@pytest.mark.parametrize("value,why", [("a\\u0000b", "NUL"), ("x" * 300, "longer than 255"),
                                       ("", "empty")])
def test_case16_output_name_nul_or_too_long(tmp_path, value, why):
    proj = project(tmp_path / "p", {"tei/d.xml": tei("<p>x</p>")},
                   toml=f'title = "t"\noutput = "{value}"\n')
    r = run_editio("build", "--project", proj, "--format", "html")
    no_traceback(r)
    assert r.returncode == 1 and why in r.stderr and re.search(
        r"^editio\.toml:2:1: error: .+\[config\.path\]$", r.stderr, re.M), r.stderr


@pytest.mark.parametrize("errno_,words", [(28, "No space left"), (30, "Read-only")])
def test_case16_disk_full_or_read_only_keeps_previous_output(tmp_path, monkeypatch, errno_, words):
    import errno as _errno
    import shutil as _shutil
    from editio.build import build
    from editio.config import load
    proj = project(tmp_path / "p", {"tei/d.xml": tei("<p>x</p>")})
    assert build(load(proj), formats=("html",)).report.errors == 0
    before = tree_digest(proj / "build")
    real = _shutil.copyfile

    def full(src, dst, *a, **kw):
        if str(dst).endswith(".css"):
            raise OSError(errno_, os.strerror(errno_), str(dst))
        return real(src, dst, *a, **kw)
    monkeypatch.setattr(_shutil, "copyfile", full)
    with pytest.raises(EditioError) as e:   # a clean build (the cache would keep the output)
        build(load(proj), formats=("html",), cache=False)
    d = e.value.diagnostic
    assert d.code == "build.io" and words in d.message and d.file.startswith("build/")
    assert tree_digest(proj / "build") == before
    assert temp_dirs(proj) == [] and _errno.errorcode[errno_]


def test_case16_tei_deleted_mid_build(tmp_path, monkeypatch):
    from editio import build as b
    from editio.config import load
    proj = project(tmp_path / "p", {"tei/d.xml": tei("<p>x</p>"), "tei/e.xml": tei("<p>y</p>")})
    real = b.resolve

    def resolve_then_delete(corpus):
        ed = real(corpus)
        (proj / "tei" / "e.xml").unlink()  # gone after it was read and checked
        return ed
    monkeypatch.setattr(b, "resolve", resolve_then_delete)
    try:
        res = b.build(load(proj), formats=("html",))
        assert res.report.errors == 0  # built from the checked trees, not re-read
        assert (proj / "build" / "html" / "tei" / "e.xml").exists()
    except EditioError as err:
        assert err.diagnostic.code == "build.io"


# ---- performance shapes (case 18): no timed assertions; the work is counted instead
def test_case18_columns_on_one_long_line_are_found_once(tmp_path, monkeypatch):
    from editio import corpus as corpus_mod
    from editio.config import Project
    n = 3000
    body = "<p>" + "".join(f'<ref target="#n{i}">x</ref>' for i in range(n)) + "</p>"
    proj = project(tmp_path / "p", {"tei/d.xml": tei(body)})
    c = corpus_mod.Corpus.load(Project(proj))
    doc = c.documents[0]
    calls = []
    real = corpus_mod.re.finditer
    monkeypatch.setattr(corpus_mod.re, "finditer", lambda *a, **k: calls.append(1) or real(*a, **k))
    refs = list(doc.root.iter("{http://www.tei-c.org/ns/1.0}ref"))
    cols = [doc.column(r, "target") for r in refs]
    line = doc._source_lines[refs[0].sourceline - 1]
    assert all(line[c - 1:c + 5] == 'target' for c in cols)
    assert len(set(cols)) == n
    assert len(calls) == 1  # the line is scanned once for <ref>, not once per element


# ---- only TEI is published (cases 8, 9) ; ids and names (cases 10, 13, 14)
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def test_case08_xhtml_in_tei_is_an_error_and_never_published(tmp_path):
    body = ('<p>before <h:img xmlns:h="http://www.w3.org/1999/xhtml" src="x" onerror="alert(1)"/> '
            'after</p><p onclick="alert(2)">clicked</p>')
    doc = '<?xml-stylesheet type="text/xsl" href="http://evil.example/x.xsl"?>\n' + tei(body)
    proj = project(tmp_path / "p", {"tei/d.xml": doc})
    r = check_cli(proj)
    assert r.returncode == 1
    assert re.search(r"^tei/d\.xml:2:\d+: error: <img> in namespace http://www\.w3\.org/1999/xhtml "
                     r"is not TEI.+\[tei\.foreign\]$", r.stdout, re.M), r.stdout
    assert re.search(r"^tei/d\.xml:2:\d+: error: @onclick is an event handler.+"
                     r"\[tei\.event-attribute\]$", r.stdout, re.M), r.stdout
    b = run_editio("build", "--project", proj, "--format", "html", "--keep-going")
    no_traceback(b)
    assert b.returncode == 0, b.stderr
    published = (proj / "build" / "html" / "tei" / "d.xml").read_bytes()
    assert b"xhtml" not in published and b"onerror" not in published and b"onclick" not in published
    assert b"xml-stylesheet" not in published and b"evil.example" not in published
    assert b"before" in published and b"after" in published and b"clicked" in published
    etree.fromstring(published)  # well-formed TEI


def test_case08_allowed_namespaces_from_the_config(tmp_path):
    frus = "http://history.state.gov/frus/ns/1.0"
    body = f'<p>x <frus:note xmlns:frus="{frus}">kept</frus:note></p>'
    proj = project(tmp_path / "p", {"tei/d.xml": tei(body)},
                   toml=f'title = "t"\n[namespaces]\nfrus = "{frus}"\nh = "http://www.w3.org/1999/xhtml"\n')
    r = check_cli(proj)
    assert "[tei.foreign]" not in r.stdout and r.returncode == 0
    from editio.config import load
    from editio.corpus import Corpus
    from editio.publish import allowed_namespaces, tei_bytes
    p = load(proj)
    assert "http://www.w3.org/1999/xhtml" not in allowed_namespaces(p)  # never allowed
    assert b"kept" in tei_bytes(Corpus.load(p).documents[0], p)


def test_case08_no_schema_named_is_a_warning(tmp_path):
    proj = project(tmp_path / "p", {"tei/a.xml": tei("<p>x</p>"), "tei/b.xml": tei("<p>y</p>")})
    r = check_cli(proj)
    assert re.search(r"^tei/a\.xml:1:1: warning: no schema: this file \(and 1 more\) names none.+"
                     r"\[schema\.none\]$", r.stdout, re.M), r.stdout


@pytest.mark.parametrize("name,data,why", [
    ("x.svg", b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "<script>"),
    ("y.svg", b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', "event attribute"),
    ("z.svg", b'<svg xmlns="http://www.w3.org/2000/svg"><image href="http://127.0.0.1:9/x"/></svg>',
     "refers to"),
    ("page.html", b"<html><script>alert(1)</script></html>", "not a PNG"),
    ("fake.png", b"<html><script>alert(1)</script></html>", "not a PNG"),
])
def test_case09_only_images_are_published(tmp_path, name, data, why):
    body = f'<figure><graphic url="../img/{name}"/></figure><figure><graphic url="../img/ok.png"/></figure>'
    proj = project(tmp_path / "p", {"tei/d.xml": tei(body), f"img/{name}": data, "img/ok.png": PNG})
    r = check_cli(proj)
    assert r.returncode == 1 and why in r.stdout and "[media.refused]" in r.stdout, r.stdout
    b = run_editio("build", "--project", proj, "--format", "html", "--keep-going")
    no_traceback(b)
    media = sorted(p.name for p in (proj / "build" / "html" / "media").rglob("*") if p.is_file())
    assert media == ["ok.png"]


def test_case09_clean_svg_is_published():
    from editio.publish import media_kind, svg_problem
    ok = (b'<svg xmlns="http://www.w3.org/2000/svg" xmlns:x="http://www.w3.org/1999/xlink">'
          b'<defs><circle id="c" r="2" fill="url(#g)"/></defs><use x:href="#c"/></svg>')
    assert media_kind(ok) == "svg" and svg_problem(ok) is None


def svg_use_bomb(levels=10, width=10) -> bytes:
    parts = ['<svg xmlns="http://www.w3.org/2000/svg" xmlns:x="http://www.w3.org/1999/xlink">',
             '<defs><rect id="l0" width="1" height="1"/>']
    for i in range(1, levels):
        parts.append(f'<g id="l{i}">' + f'<use x:href="#l{i - 1}"/>' * width + "</g>")
    parts.append(f'</defs><use x:href="#l{levels - 1}"/></svg>')
    return "".join(parts).encode()


def test_case18_nested_use_svg_is_refused():
    from editio.publish import svg_problem
    bomb = svg_use_bomb()
    assert len(bomb) < 2000
    assert "once <use> is expanded" in svg_problem(bomb)
    loop = (b'<svg xmlns="http://www.w3.org/2000/svg"><g id="a"><use href="#b"/></g>'
            b'<g id="b"><use href="#a"/></g></svg>')
    assert "refers to itself" in svg_problem(loop)


@pytest.mark.parametrize("xid", ["note-1", "main", "top", "p4", "call-2", "y1958"])
def test_case10_xml_id_taking_a_generated_id_is_an_error(tmp_path, xid):
    body = (f'<p xml:id="{xid}">attacker</p><p>a <choice><sic>teh</sic><corr cert="high" '
            'resp="#ed" type="typographic">the</corr></choice></p>')
    proj = project(tmp_path / "p", {"tei/d.xml": tei(body)})
    r = check_cli(proj)
    assert r.returncode == 1
    assert re.search(rf'^tei/d\.xml:1:\d+: error: xml:id "{xid}" is an id the site or the book '
                     r"makes itself.+\[id\.reserved\]$", r.stdout, re.M), r.stdout


def test_case13_same_file_name_in_two_folders_is_an_error(tmp_path):
    proj = project(tmp_path / "p", {"tei/a/doc.xml": tei("<p>first</p>"),
                                    "tei/b/doc.xml": tei("<p>second</p>")})
    r = check_cli(proj)
    assert r.returncode == 1
    assert re.search(r'^tei/b/doc\.xml:1:1: error: this document and tei/a/doc\.xml are both "doc" '
                     r"\(by file name \(no root xml:id\)\).+\[doc\.duplicate\]$", r.stdout, re.M), r.stdout


def test_case14_media_names_are_one_to_one(tmp_path):
    from editio.publish import media_name
    names = ["img/map a.png", "img/map-a.png", "img/map+a.png", "img/map_a.png", "img/map_20a.png"]
    assert len({media_name(n) for n in names}) == len(names)
    body = "".join(f'<figure><graphic url="../{n.replace(" ", "%20")}"/></figure>' for n in names[:3])
    proj = project(tmp_path / "p", {"tei/d.xml": tei(body), **{n: PNG + n.encode() for n in names[:3]}})
    b = run_editio("build", "--project", proj, "--format", "html")
    no_traceback(b)
    assert b.returncode == 0, b.stderr
    media = {p.name: p.read_bytes() for p in (proj / "build" / "html" / "media" / "img").iterdir()}
    assert len(media) == 3 and len(set(media.values())) == 3


def test_case14_names_differing_only_in_case_are_an_error(tmp_path):
    body = '<figure><graphic url="../img/Map.png"/></figure><figure><graphic url="../img/map.png"/></figure>'
    proj = project(tmp_path / "p", {"tei/d.xml": tei(body), "img/Map.png": PNG, "img/map.png": PNG})
    r = check_cli(proj)
    assert r.returncode == 1 and "[media.collision]" in r.stdout, r.stdout


# ---- the PDF engine fetches nothing from the network or outside the project (cases 3, 18)
def test_case03_pdf_fetcher_refuses_network_and_outside(tmp_path, listener):
    from editio.builders.fetcher import ProjectFetcher
    url, hits = listener
    outside = tmp_path / "outside.png"
    outside.write_bytes(PNG)
    proj = project(tmp_path / "p", {"img/ok.png": PNG, "img/page.html": "<script>x</script>",
                                    "img/bomb.svg": svg_use_bomb(), ".env": SECRET,
                                    "styles/print.css": "p{}"})
    os.symlink(outside, proj / "img" / "link.png")
    f = ProjectFetcher(proj, [proj / "styles"], output=proj / "build")
    before = len(hits)
    for bad in (url + "/x.png", "https://example.org/x.png", "ftp://x/y", outside.as_uri(),
                (proj / "img" / "link.png").as_uri(), (proj / ".env").as_uri(),
                (proj / "img" / "page.html").as_uri(), (proj / "img" / "bomb.svg").as_uri(),
                "file:///dev/zero", "file:///etc/passwd"):
        with pytest.raises(ValueError):
            f.fetch(bad)
    assert len(hits) == before
    assert f.fetch((proj / "img" / "ok.png").as_uri()).read() == PNG
    assert f.fetch((proj / "styles" / "print.css").as_uri()).read() == b"p{}"


def test_case03_svg_with_outside_image_in_the_pdf(tmp_path, listener):
    url, hits = listener
    (tmp_path / "outside.png").write_bytes(PNG + SECRET.encode())
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
           f'<image href="{url}/leak.png" width="5" height="5"/>'
           f'<image href="{(tmp_path / "outside.png").as_uri()}" width="5" height="5"/></svg>')
    body = '<p>x</p><figure><graphic url="../img/evil.svg"/></figure>'
    proj = project(tmp_path / "p", {"tei/d.xml": tei(body), "img/evil.svg": svg})
    r = check_cli(proj)
    assert "[media.refused]" in r.stdout
    before = len(hits)
    b = run_editio("build", "--project", proj, "--format", "pdf", "--keep-going", timeout=600)
    no_traceback(b)
    assert b.returncode == 0, b.stderr
    assert len(hits) == before  # WeasyPrint asked the network for nothing
    assert "not fetched: evil.svg: refers to" in b.stderr  # the fetcher refused the whole SVG
    assert SECRET.encode() not in (proj / "build" / "pdf" / "edition.pdf").read_bytes()


@pytest.mark.parametrize("schema", ["/dev/zero", "fifo"])
def test_case16_schema_on_the_command_line_that_is_a_device_or_fifo(tmp_path, schema):
    proj = project(tmp_path / "p", {"tei/d.xml": tei("<p>x</p>")})
    if schema == "fifo":
        schema = tmp_path / "s.rng"
        os.mkfifo(schema)
    r = run_editio("check", "--project", proj, "--schema", schema, timeout=30)
    no_traceback(r)
    assert r.returncode == 1 and "not a regular file [schema.unreadable]" in r.stdout, r.stdout
