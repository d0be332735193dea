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
        "tei/d.xml": tei('<xi:include href="parts/a.xml"/><p>before <xi:include '
                         'href="parts/t.txt" parse="text"/> after</p>'
                         '<xi:include href="parts/missing.xml"><xi:fallback><p>fallback</p>'
                         "</xi:fallback></xi:include>", extra_ns=XI),
        "parts/a.xml": f'<p {NS}>included</p>',
        "parts/t.txt": "TEXT",
    })
    r = run_editio("text", proj / "tei" / "d.xml", "--project", proj)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "included\nbefore TEXT after\nfallback"


def test_xinclude_fan_out_is_bounded(tmp_path):
    """XInclude's own billion laughs: 10 includes of 10 includes of ... ."""
    files = {"tei/d.xml": tei('<xi:include href="../parts/l6.xml"/>', extra_ns=XI),
             "parts/l0.xml": f"<p {NS}>lol</p>"}
    for i in range(1, 7):
        files[f"parts/l{i}.xml"] = (f"<div {NS} {XI}>"
                                    + f'<xi:include href="l{i - 1}.xml"/>' * 10 + "</div>")
    proj = project(tmp_path / "p", files)
    t0 = time.perf_counter()
    r = run_editio("check", "--project", proj)
    assert time.perf_counter() - t0 < 30
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
    "latin1-undeclared.xml": (tei("\n<p>caf\xe9</p>").encode("latin-1"), "read.encoding", 2, 8),
    "utf8-declared-latin1.xml": (('<?xml version="1.0" encoding="ISO-8859-1"?>\n'
                                  + tei("<p>café</p>")).encode("utf-8"), "read.encoding", 1, 31),
    "unknown-encoding.xml": (('<?xml version="1.0" encoding="x-klingon"?>\n'
                              + tei("<p>x</p>")).encode(), "read.encoding", 1, 31),
    "utf16-no-bom.xml": (tei("<p>x</p>").encode("utf-16-le"), "read.encoding", 1, 1),
    "utf32.xml": (tei("<p>x</p>").encode("utf-32"), "read.encoding", 1, 1),
    "deep-5000.xml": (tei("<p>" + "<hi>" * 5000 + "x" + "</hi>" * 5000 + "</p>").encode(),
                      "read.depth", 1, None),
    "deep-150.xml": (tei("\n<p>" + "<hi>\n" * 150 + "x" + "</hi>" * 150 + "</p>").encode(),
                     "read.depth", 2 + reader.MAX_DEPTH - 5, 1),
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
    assert (r.returncode, r.stdout) == (0, "a b c d alert(1)")
    c = run_editio("check", "--project", proj, "--format", "json")
    diags = json.loads(c.stdout)["diagnostics"]
    assert c.returncode == 0
    unknown = sorted(d["message"].split(">")[0] for d in diags if d["code"] == "element.unknown")
    assert unknown == ["<blink", "<frobnicate", "<{http://www.w3.org/1999/xhtml}script"]


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
