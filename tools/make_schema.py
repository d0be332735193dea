"""Generate schema/editio.rng: the edition's schema, a strict subset of TEI P5 (tei_all).

usage: python tools/make_schema.py [path/to/tei_all.rng]   (default ../shared/corpora/schema)
       python tools/make_schema.py --odd ODD --out OUT.rng [--foreign NS ...] [tei_all.rng]

How: take tei_all.rng; every element not in ELEMENTS becomes <notAllowed/>; the edition's
conventions narrow a few definitions (OVERRIDES); definitions no longer reachable are dropped.
Because it only removes and narrows, every file valid against editio.rng is valid against
tei_all.rng (tests/test_tei.py checks both).  Rerun after changing ELEMENTS or OVERRIDES.

The second form makes a profile's schema from a project's ODD (e.g. FRUS's
frus-2015-frus.odd -> src/editio/profiles/frus/frus.rng): the TEI elements its ``moduleRef``s
include, the rest of tei_all unchanged (the ODD's narrower content models and attribute
lists are not applied: the schema is a subset of tei_all, a superset of the ODD's TEI part);
elements of the ``--foreign`` namespaces (the ODD's own elements, ``frus:attachment``) are
allowed wherever TEI allows a global element, with TEI content inside.  libxml2 compiles such
a schema in a fraction of a second, where tei_all takes it ten seconds.

"""
import sys
from pathlib import Path

from lxml import etree

R = "http://relaxng.org/ns/structure/1.0"
NS = {"r": R}
HERE = Path(__file__).resolve().parents[1]

ELEMENTS = set("""
TEI teiCorpus teiHeader fileDesc titleStmt title respStmt resp name persName orgName placeName
geogName editionStmt edition extent publicationStmt publisher authority distributor availability
licence p date idno pubPlace address addrLine sourceDesc bibl listBibl author editor ptr ref note
noteGrp encodingDesc projectDesc editorialDecl correction normalization segmentation
interpretation quotation hyphenation punctuation tagsDecl rendition namespace tagUsage classDecl
taxonomy category catDesc listPrefixDef prefixDef profileDesc langUsage language textClass
keywords term creation abstract revisionDesc change listChange
text front body back div head p ab byline docAuthor docDate dateline opener closer salute signed
trailer argument epigraph list item label listBibl quote q cit floatingText space lb pb cb
milestone anchor seg choice orig reg sic corr supplied gap unclear abbr expan add del subst
hi emph foreign mentioned soCalled num measure time rs desc code gi tag att val ident
figure graphic figDesc table row cell
standOff listPerson person persName forename surname roleName addName nameLink genName
birth death occupation affiliation faith nationality residence sex state trait event
listPlace place location geo country region settlement bloc district
listOrg org listEvent label listRelation relation
citedRange biblScope
""".split())

OVERRIDES = {
    # certainty: the edition uses the three words only
    "tei_att.global.responsibility.attribute.cert": """
      <optional xmlns="%s"><attribute name="cert"><choice>
        <value>high</value><value>medium</value><value>low</value></choice></attribute></optional>""" % R,
}
# corr must say which class of error it corrects
CORR_TYPES = ("factual", "translation", "name", "typographic", "contradiction")


A = "{http://relaxng.org/ns/compatibility/annotations/1.0}documentation"
HANDBOOK = "docs/encoding.md"

# What the encoding handbook (docs/encoding.md) says about an element or attribute, shown by
# XML editors on hover (oXygen, VS Code) before TEI's own gloss.
ELEMENT_DOCS = {
    "TEI": "One document of the edition. Its xml:id (dNNN) starts every id inside it (dNNN-m01 …).",
    "p": "One line of the witness. Every character counts: no line breaks or added spaces inside "
         "(the diplomatic view must equal the witness).",
    "head": "A heading line of the witness; every character counts, as in p.",
    "space": "A blank line of the witness: <space dim=\"vertical\" unit=\"lines\" quantity=\"n\"/> "
             "between line elements (n blank lines).",
    "div": "type=\"article\" holds the text; <div type=\"editorial-notes\"> in back holds the "
           "editorial notes.",
    "choice": "A mask (orig with the mask + supplied with the restoration) or an error of "
              "transmission (sic + corr). Give it an xml:id (dNNN-mNN for a mask, dNNN-eNN for an "
              "error) and a note whose @target points to it.",
    "orig": "The platform's mask exactly as the witness has it (** or ***), in a choice with supplied.",
    "supplied": "What the editors restore: in a choice for a mask (@reason=\"masked\"), or lost "
                "text. Needs @cert (high, medium, low), @resp (the editors) and a note giving the "
                "evidence. A mask not restored: <supplied reason=\"masked\"><gap reason=\"masked\"/>"
                "</supplied>, without @cert.",
    "sic": "The witness's words where they are wrong. In a choice with corr: an error of "
           "transmission, emended in the reading text. Alone: an error of the author, kept in both "
           "views, with an error note (type=\"error\", subtype factual or contradiction) pointing "
           "to it.",
    "corr": "The emended reading of an error of transmission. @type: translation, name, "
            "typographic (factual, contradiction only if the edition's policy emends them); needs "
            "@cert, @resp and a note.",
    "gap": "Text missing from the witness itself (@reason, e.g. truncated), or a mask not restored "
           "(inside supplied). Adds nothing to either view; a comment note says what is missing.",
    "seg": "type=\"crossref\": a passage reporting an event of authority.xml (@corresp), "
           "@subtype agrees or disagrees (a disagreement needs a note); type=\"problem\": a "
           "garbled passage whose right reading is unknown (needs a note); type=\"heading\": a "
           "run-in heading.",
    "note": "An editorial note, in <div type=\"editorial-notes\">, pointing with @target to what "
            "it explains (#id; several separated by spaces). @type: redaction, error (with "
            "@subtype), crossref, comment. It cites its evidence.",
    "persName": "A person's name in the text; @ref points to the person in authority.xml "
                "(authority.xml#id), where standard form and variants are recorded.",
    "placeName": "A place name in the text; @ref points to the place in authority.xml.",
    "orgName": "An organisation's name in the text; @ref points to it in authority.xml.",
    "date": "A date in the text, @when in ISO 8601 as precise as the text is (1958-10-26, 1957-11, "
            "1953).",
    "ref": "A link: @target is #id (this file), file.xml#id (another file) or an http(s), mailto, "
           "doi or urn URL.",
    "ptr": "A pointer: @target is #id, file.xml#id or a URL; in sourceDesc, the witness file "
           "(../witnesses/x.txt).",
}
ATTRIBUTE_DOCS = {
    "cert": "high: the sentence, the context or a source leaves a single reading; medium: one "
            "reading is clearly preferable; low: a best guess still worth offering.",
    "resp": "Who made the intervention: a pointer to the editors in authority.xml "
            "(authority.xml#editors).",
    "when": "ISO 8601: YYYY, YYYY-MM or YYYY-MM-DD (a real day), optionally a time after T.",
    "from": "ISO 8601 start: YYYY, YYYY-MM or YYYY-MM-DD.",
    "to": "ISO 8601 end: YYYY, YYYY-MM or YYYY-MM-DD.",
    "notBefore": "ISO 8601 earliest date: YYYY, YYYY-MM or YYYY-MM-DD.",
    "notAfter": "ISO 8601 latest date: YYYY, YYYY-MM or YYYY-MM-DD.",
    "ref": "Pointer(s) to entities of the authority file: authority.xml#id.",
    "target": "Pointer(s), separated by spaces: #id in this file, file.xml#id in another, or a URL.",
    "corresp": "On a cross-reference seg: the event(s) of authority.xml the passage reports.",
    "reason": "On supplied: masked (a platform mask) or why text is supplied; on gap: why text is "
              "missing (truncated, masked …).",
    "xml:id": "Unique across the edition; inside dNNN it starts with dNNN-: mNN mask, eNN error, "
              "xNN cross-reference, pNN problem, gNN gap, hNN heading.",
}


def document(root) -> None:
    """Keep TEI's gloss of each element and attribute (dropping the rest of its documentation)
    and put before it what the edition's handbook says (ELEMENT_DOCS, ATTRIBUTE_DOCS)."""
    for doc in list(root.iter(A)):
        if doc.getparent().tag not in (f"{{{R}}}element", f"{{{R}}}attribute"):
            doc.getparent().remove(doc)
    for el in root.iter(f"{{{R}}}element", f"{{{R}}}attribute"):
        table = ELEMENT_DOCS if el.tag == f"{{{R}}}element" else ATTRIBUTE_DOCS
        ours = table.get(el.get("name") or "")
        if not ours:
            continue
        old = el.find(A)
        text = f"editio ({HANDBOOK}): {ours}" + (f" TEI: {old.text.strip()}" if old is not None
                                                  and (old.text or "").strip() else "")
        if old is None:
            old = etree.Element(A)
            el.insert(0, old)
        old.text = text


def odd_elements(odd: Path) -> set:
    """The TEI elements an ODD's schemaSpec includes (moduleRef/@include, elementRef/@key)."""
    t = etree.parse(str(odd), etree.XMLParser(recover=True, no_network=True))
    T = "{http://www.tei-c.org/ns/1.0}"
    out = set()
    for m in t.iter(T + "moduleRef"):
        if m.get("include"):
            out |= set(m.get("include").split())
        elif m.get("key") not in ("tei",):   # a whole module: its elements are not listed here
            sys.exit(f"{odd}: moduleRef key={m.get('key')!r} includes a whole module; list its "
                     "elements with @include")
    for e in t.iter(T + "elementRef"):
        out.add(e.get("key"))
    for e in t.iter(T + "elementSpec"):
        if e.get("mode") == "delete":
            out.discard(e.get("ident"))
    return out


def make_profile_schema(src: Path, odd: Path, out: Path, foreign: list[str]) -> None:
    tree = etree.parse(str(src))
    root = tree.getroot()
    elements = odd_elements(odd) | {"TEI"}
    defines = {d.get("name"): d for d in root.iterfind("r:define", NS)}
    for name, d in defines.items():
        el = d.find("r:element", NS)
        if el is not None and el.get("name") and el.get("name") not in elements \
                and name.startswith("tei_") and not el.get("ns"):
            for c in list(d):
                d.remove(c)
            etree.SubElement(d, f"{{{R}}}notAllowed")
    if foreign:
        names = "".join(f'<nsName ns="{ns}"/>' for ns in foreign)
        content = "".join(f'<ref name="{n}"/>' for n in (
            "tei_model.divTop", "tei_model.common", "tei_model.global", "tei_model.divBottom",
            "tei_model.phrase", "tei_div") if n in defines)
        defines_xml = (f'<define xmlns="{R}" name="editio_foreign"><element><choice>{names}</choice>'
                       f'<zeroOrMore><choice><attribute><anyName/></attribute><text/>{content}'
                       f'<ref name="editio_foreign"/></choice></zeroOrMore></element></define>')
        root.append(etree.fromstring(defines_xml))
        g = defines["tei_model.global"]
        inner = g.find("r:choice", NS)
        if inner is None:
            kids = list(g)
            inner = etree.SubElement(g, f"{{{R}}}choice")
            for k in kids:
                inner.append(k)
        etree.SubElement(inner, f"{{{R}}}ref", name="editio_foreign")
        defines["editio_foreign"] = root[-1]
    _prune(root, defines)
    root.insert(0, etree.Comment(
        f" {out.name}: a subset of TEI P5 (tei_all) with the TEI elements of {odd.name}, generated "
        "by editio's tools/make_schema.py (odd mode); do not edit by hand. TEI P5 is licensed "
        "CC-BY 3.0 / BSD-2. "))
    etree.cleanup_namespaces(tree)
    out.parent.mkdir(parents=True, exist_ok=True)
    tree.write(str(out), encoding="UTF-8", xml_declaration=True, pretty_print=True)
    etree.RelaxNG(etree.parse(str(out)))  # must compile
    print(f"wrote {out} ({out.stat().st_size:,} bytes, {len(elements)} elements)")


def _prune(root, defines) -> None:
    """Drop the definitions no longer reachable from start, and the documentation."""
    reach, todo = set(), [r.get("name") for r in root.find("r:start", NS).iter(f"{{{R}}}ref")]
    while todo:
        n = todo.pop()
        if n in reach or n not in defines:
            continue
        reach.add(n)
        todo.extend(r.get("name") for r in defines[n].iter(f"{{{R}}}ref"))
    for name, d in defines.items():
        if name not in reach and d.getparent() is root:
            root.remove(d)
    for doc in root.iter("{http://relaxng.org/ns/compatibility/annotations/1.0}documentation"):
        doc.getparent().remove(doc)


def main(src: Path) -> None:
    tree = etree.parse(str(src))
    root = tree.getroot()
    defines = {d.get("name"): d for d in root.iterfind("r:define", NS)}
    for name, d in defines.items():
        el = d.find("r:element", NS)
        if el is not None and el.get("name") and el.get("name") not in ELEMENTS \
                and name.startswith("tei_") and not el.get("ns"):
            for c in list(d):
                d.remove(c)
            etree.SubElement(d, f"{{{R}}}notAllowed")
    for name, xml in OVERRIDES.items():
        d = defines[name]
        for c in list(d):
            d.remove(c)
        d.append(etree.fromstring(xml))
    corr = defines["tei_corr"].find("r:element", NS)
    for ref in corr.iterfind("r:ref", NS):
        if ref.get("name") == "tei_att.typed.attributes":
            new = etree.fromstring(
                f'<group xmlns="{R}"><attribute name="type"><choice>'
                + "".join(f"<value>{t}</value>" for t in CORR_TYPES)
                + '</choice></attribute><optional><attribute name="subtype"><data type="token"/>'
                  '</attribute></optional></group>')
            corr.replace(ref, new)
    # drop unreachable definitions
    reach, todo = set(), [r.get("name") for r in root.find("r:start", NS).iter(f"{{{R}}}ref")]
    while todo:
        n = todo.pop()
        if n in reach or n not in defines:
            continue
        reach.add(n)
        todo.extend(r.get("name") for r in defines[n].iter(f"{{{R}}}ref"))
    for name, d in defines.items():
        if name not in reach:
            root.remove(d)
    document(root)
    root.insert(0, etree.Comment(
        " editio.rng: the editio edition's schema, a subset of TEI P5 (tei_all 4.9.0) generated by "
        "tools/make_schema.py; do not edit by hand. TEI P5 is licensed CC-BY 3.0 / BSD-2. "))
    etree.cleanup_namespaces(tree, top_nsmap={"a": A[1:A.index("}")]})
    out = HERE / "schema" / "editio.rng"
    out.parent.mkdir(exist_ok=True)
    tree.write(str(out), encoding="UTF-8", xml_declaration=True, pretty_print=True)
    etree.RelaxNG(etree.parse(str(out)))  # must compile
    print(f"wrote {out} ({out.stat().st_size:,} bytes, {len(reach)} definitions, "
          f"{len(ELEMENTS)} elements)")


if __name__ == "__main__":
    import argparse
    ap = argparse.ArgumentParser()
    ap.add_argument("tei_all", nargs="?", default=str(HERE.parent / "shared/corpora/schema/tei_all.rng"))
    ap.add_argument("--odd", help="make a profile's schema from this ODD's element list")
    ap.add_argument("--out", help="where to write it (with --odd)")
    ap.add_argument("--foreign", action="append", default=[],
                    help="a namespace whose elements are allowed as global elements (with --odd)")
    a = ap.parse_args()
    if a.odd:
        if not a.out:
            ap.error("--odd needs --out")
        make_profile_schema(Path(a.tei_all), Path(a.odd), Path(a.out), a.foreign)
    else:
        main(Path(a.tei_all))
