"""Quick self-check for encoders (superseded by `editio check`; kept for the helpers).

usage: .venv/bin/python tools/verify_tei.py tei/d000.xml
Checks: diplomatic text == witness; valid against tei_all.rng; every @ref/@target/@corresp/@resp
pointing into authority.xml or another tei/ file resolves; every restoration/correction has
@cert, @resp, an xml:id on its choice and a note whose @target points to it.
"""
import sys, re
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from lxml import etree
from editio.read import read
from editio.text import text_of
T = "{http://www.tei-c.org/ns/1.0}"
XID = "{http://www.w3.org/XML/1998/namespace}id"
root = Path(__file__).resolve().parents[1]
ok = True
def bad(msg):
    global ok; ok = False; print("  ERROR", msg)
rng = etree.RelaxNG(etree.parse(str(root.parent / "shared/corpora/schema/tei_all.rng")))
ids = {}
for f in (root / "tei").glob("*.xml"):
    try:
        t = read(f)
    except Exception as e:
        print("cannot parse", f, e); continue
    ids[f.name] = {e.get(XID) for e in t.iter() if e.get(XID)}
for arg in sys.argv[1:]:
    f = Path(arg).resolve(); print(f.name)
    t = read(f); r = t.getroot()
    if not rng.validate(t):
        for e in rng.error_log: bad(f"tei_all: line {e.line}: {e.message}")
    ptr = r.find(f".//{T}sourceDesc//{T}ptr")
    if ptr is not None:
        w = (f.parent / ptr.get("target")).resolve()
        got = text_of(r, "diplomatic"); exp = w.read_text()
        if got != exp:
            i = next((k for k in range(min(len(got), len(exp))) if got[k] != exp[k]), min(len(got), len(exp)))
            bad(f"diplomatic text differs at char {i}: got {got[i-40:i+40]!r} expected {exp[i-40:i+40]!r}")
    for el in r.iter():
        if not isinstance(el.tag, str): continue
        for a in ("ref", "target", "corresp", "resp", "who", "sameAs", "source"):
            for v in (el.get(a) or "").split():
                if v.startswith(("http:", "https:")): continue
                fn, _, frag = v.partition("#")
                fn = fn or f.name
                if fn.endswith(".txt") and not frag: continue
                if fn not in ids: bad(f"line {el.sourceline}: @{a}={v}: no file {fn}")
                elif frag and frag not in ids[fn]: bad(f"line {el.sourceline}: @{a}={v}: no id {frag} in {fn}")
    notes = {}
    for n in r.iter(T + "note"):
        for v in (n.get("target") or "").split(): notes.setdefault(v.lstrip("#"), n)
    for ch in r.iter(T + "choice"):
        cid = ch.get(XID)
        if not cid: bad(f"line {ch.sourceline}: choice without xml:id"); continue
        if cid not in notes: bad(f"line {ch.sourceline}: no note with target=#{cid}")
        for c in ch:
            if c.tag in (T + "corr", T + "supplied"):
                restored = not (len(c) == 1 and c[0].tag == T + "gap" and not (c.text or "").strip())
                if restored and (not c.get("cert") or not c.get("resp")):
                    bad(f"line {c.sourceline}: {c.tag[len(T):]} lacks @cert or @resp")
print("OK" if ok else "FAILED"); sys.exit(0 if ok else 1)
