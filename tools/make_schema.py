"""Generate schema/editio.rng: the edition's schema, a strict subset of TEI P5 (tei_all).

usage: python tools/make_schema.py [path/to/tei_all.rng]   (default ../shared/corpora/schema)
       python tools/make_schema.py --odd ODD --out OUT.rng [--foreign NS ...] [--also 'EL ...'] [tei_all.rng]

frus.rng (its first comment repeats the command):
       python tools/make_schema.py --odd ../shared/corpora/schema/frus-2015-frus.odd \
           --out src/editio/profiles/frus/frus.rng --foreign http://history.state.gov/ns/1.0 \
           --also 'classDecl taxonomy category catDesc cit bibl figDesc surface'
       (--also: the TEI elements the Office of the Historian's ODD of today, HistoryAtState/frus
       schema/frus.odd, includes beyond the 2015 one: the header's date taxonomy, cit and bibl
       in core, figDesc in figures, surface in transcr; `foreign` it still leaves out)

How: take tei_all.rng; every element not in ELEMENTS becomes <notAllowed/>; the edition's
conventions narrow a few definitions (OVERRIDES); definitions no longer reachable are dropped.
Because it only removes and narrows, every file valid against editio.rng is valid against
tei_all.rng (tests/test_tei.py checks both).  Rerun after changing ELEMENTS or OVERRIDES.

The second form makes a profile's schema from a project's ODD (e.g. FRUS's
frus-2015-frus.odd -> src/editio/profiles/frus/frus.rng): the TEI elements its ``moduleRef``s
include (and those ``--also`` names: elements the project's files use that its ODD predates),
the rest of tei_all unchanged (the ODD's narrower content models and attribute
lists are not applied: the schema is a subset of tei_all, a superset of the ODD's TEI part);
the ODD's own elements (``elementSpec mode="add"`` in another namespace: ``frus:attachment``,
``frus:classification``), in their namespace and in each ``--foreign`` namespace (a project
may use another one for the same elements), are allowed wherever TEI allows a global element,
with TEI content and any attribute inside.  They are named, not "any element of the
namespace" (``nsName``): libxml2 compiles a content model into an automaton only when every
element in it has a name, and one unnamed element in ``model.global`` sends every content
model to its slow interpreter.  (An ODD that adds no element of its own gets ``nsName``.)

Both forms end with :func:`simplify` (``notAllowed`` taken out as RELAX NG's simplification
does, which libxml2 does not do through a ``ref``): it keeps the language exactly and makes
libxml2 validate 10-15x faster (frus1955-57v23p2: 2.8 s -> 0.19 s; the first edition's five
documents 0.75 s -> 0.07 s).  libxml2 compiles such a schema in a fraction of a second, where
tei_all takes it ten seconds.

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


def odd_added(odd: Path) -> list[tuple[str, str]]:
    """(namespace, name) of the elements an ODD adds outside TEI (``elementSpec mode="add"``
    with its own ``@ns``)."""
    t = etree.parse(str(odd), etree.XMLParser(recover=True, no_network=True))
    T = "{http://www.tei-c.org/ns/1.0}"
    return [(e.get("ns"), e.get("ident")) for e in t.iter(T + "elementSpec")
            if e.get("mode") == "add" and e.get("ns") and e.get("ns") != T[1:-1]]


def make_profile_schema(src: Path, odd: Path, out: Path, foreign: list[str],
                        also: list[str] = (), command: str = "") -> None:
    tree = etree.parse(str(src))
    root = tree.getroot()
    elements = odd_elements(odd) | {"TEI"} | set(also)
    defines = {d.get("name"): d for d in root.iterfind("r:define", NS)}
    for name, d in defines.items():
        el = d.find("r:element", NS)
        if el is not None and el.get("name") and el.get("name") not in elements \
                and name.startswith("tei_") and not el.get("ns"):
            for c in list(d):
                d.remove(c)
            etree.SubElement(d, f"{{{R}}}notAllowed")
    added = odd_added(odd)
    if foreign or added:
        content = "".join(f'<ref name="{n}"/>' for n in (
            "tei_model.divTop", "tei_model.common", "tei_model.global", "tei_model.divBottom",
            "tei_model.phrase", "tei_div") if n in defines)
        body = (f'<zeroOrMore><choice><attribute><anyName/></attribute><text/>{content}'
                f'<ref name="editio_foreign"/></choice></zeroOrMore>')
        if added:  # named: see the module's docstring
            pairs = dict.fromkeys((ns, name) for ans, name in added for ns in [ans, *foreign])
            alts = "".join(f'<element name="{name}" ns="{ns}">{body}</element>' for ns, name in pairs)
        else:
            names = "".join(f'<nsName ns="{ns}"/>' for ns in foreign)
            alts = f"<element><choice>{names}</choice>{body}</element>"
        defines_xml = f'<define xmlns="{R}" name="editio_foreign"><choice>{alts}</choice></define>'
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
        # the project's own attributes, in its namespaces, on every TEI element (the Office of
        # the Historian's frus:doc-dateTime-min/-max on a document's div, added to the series
        # after the 2015 ODD): any attribute of those namespaces, with any value
        spaces = dict.fromkeys([*(ns for ns, _ in added), *foreign])
        glob = defines.get("tei_att.global.attributes")
        if spaces and glob is not None:
            names = "".join(f'<nsName ns="{ns}"/>' for ns in spaces)
            glob.append(etree.fromstring(
                f'<zeroOrMore xmlns="{R}"><attribute><choice>{names}</choice></attribute></zeroOrMore>'))
    _prune(root, defines)
    root.insert(0, etree.Comment(
        f" {out.name}: a subset of TEI P5 (tei_all) with the TEI elements of {odd.name}"
        + (f" and {' '.join(sorted(also))}" if also else "") + ", generated "
        "by editio's tools/make_schema.py (odd mode); do not edit by hand"
        + (f" (options: {command})" if command else "") + ". TEI P5 is licensed "
        "CC-BY 3.0 / BSD-2. "))
    etree.cleanup_namespaces(tree)
    out.parent.mkdir(parents=True, exist_ok=True)
    tree.write(str(out), encoding="UTF-8", xml_declaration=True, pretty_print=True)
    etree.RelaxNG(etree.parse(str(out)))  # must compile
    print(f"wrote {out} ({out.stat().st_size:,} bytes, {len(elements)} elements"
          + (f", {len(pairs)} of the ODD's own: " + " ".join(f"{{{ns}}}{n}" for ns, n in pairs)
             if added else "") + ")")


def _prune(root, defines) -> None:
    """Simplify (notAllowed away, see :func:`simplify`), drop the definitions no longer
    reachable from start, and the documentation."""
    simplify(root)
    for doc in root.iter("{http://relaxng.org/ns/compatibility/annotations/1.0}documentation"):
        doc.getparent().remove(doc)


def _patterns(p) -> list:
    """The pattern children of ``p`` (not its name class, not annotations)."""
    kids = [k for k in p if isinstance(k.tag, str) and k.tag.startswith(f"{{{R}}}")]
    if _local(p) in ("element", "attribute") and p.get("name") is None and kids:
        kids = kids[1:]  # the name class (anyName, nsName, choice of names)
    return kids


def _local(p) -> str:
    return p.tag[len(R) + 2:] if isinstance(p.tag, str) and p.tag.startswith(f"{{{R}}}") else ""


def simplify(root) -> int:
    """Take out the ``notAllowed`` that removing elements leaves behind, as RELAX NG's own
    simplification does (spec section 4.19), and drop the definitions no longer reachable.
    Returns how many definitions turned out to be ``notAllowed``.

    Why: libxml2 simplifies only a ``notAllowed`` written in place, not one behind a
    ``ref``.  Narrowing tei_all leaves hundreds of ``<ref name="tei_said"/>`` pointing at
    ``<notAllowed/>`` inside every model class; libxml2 then cannot compile any content
    model that reaches one into an automaton (``xmlRelaxNGIsCompileable``), nor sort a
    choice's branches by element name, and validates by trying every branch of every
    choice for every child: ~120 us an element (frus1955-57v23p2, 23,414 elements: 2.8 s;
    0.40 s after this, 0.19 s when the ODD's own elements are named as well).  The rewrite keeps the language exactly: a ``ref`` to a definition
    that can match nothing is ``notAllowed``; a choice loses its ``notAllowed`` branches
    (and is ``notAllowed`` when none is left); a group, oneOrMore, interleave, list or
    attribute holding one is ``notAllowed``; an optional or zeroOrMore holding one is
    ``empty``; an ``empty`` beside other patterns in a group or definition goes."""
    for el in root.iter(f"{{{R}}}include", f"{{{R}}}externalRef", f"{{{R}}}parentRef",
                        f"{{{R}}}grammar", f"{{{R}}}div"):
        if el is not root:
            sys.exit(f"simplify: <{_local(el)}> is not supported (a flat grammar only)")
    defines = {}
    for d in root.iterfind("r:define", NS):
        if d.get("combine") or d.get("name") in defines:
            sys.exit(f"simplify: define {d.get('name')!r} is combined; not supported")
        defines[d.get("name")] = d
    dead: set = set()

    def is_dead(p) -> bool:
        t = _local(p)
        if t == "notAllowed":
            return True
        if t == "ref":
            return p.get("name") in dead
        if t in ("group", "oneOrMore", "interleave", "list", "mixed", "define", "attribute"):
            return any(is_dead(k) for k in _patterns(p))
        if t == "choice":
            kids = _patterns(p)
            return bool(kids) and all(is_dead(k) for k in kids)
        return False  # element, empty, text, data, value, optional, zeroOrMore

    grew = True
    while grew:
        grew = False
        for name, d in defines.items():
            if name not in dead and is_dead(d):
                dead.add(name)
                grew = True

    def node(tag):
        return etree.Element(f"{{{R}}}{tag}")

    def rewrite(p):
        """``p`` simplified, bottom-up: ``p`` itself or what replaces it."""
        for k in _patterns(p):
            new = rewrite(k)
            if new is not k:
                p.replace(k, new)
        t, kids = _local(p), _patterns(p)
        if t == "ref" and p.get("name") in dead:
            return node("notAllowed")
        if t == "choice":
            for k in kids:
                if _local(k) == "notAllowed":
                    p.remove(k)
            kids = _patterns(p)
            return node("notAllowed") if not kids else kids[0] if len(kids) == 1 else p
        if t in ("group", "oneOrMore", "interleave", "list", "mixed", "attribute") and \
                any(_local(k) == "notAllowed" for k in kids):
            return node("notAllowed")
        if t in ("zeroOrMore", "optional") and any(_local(k) == "notAllowed" for k in kids):
            return node("empty")
        if t in ("group", "define"):
            for k in kids:
                if _local(k) == "empty" and len(_patterns(p)) > 1:
                    p.remove(k)
            if t == "group" and len(_patterns(p)) == 1:
                return _patterns(p)[0]
        return p

    for name, d in defines.items():
        if name in dead:
            for c in list(d):
                d.remove(c)
            d.append(node("notAllowed"))
        else:
            rewrite(d)
    rewrite(root.find("r:start", NS))
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
    return len(dead)


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
    simplify(root)  # and drop what is no longer reachable
    reach = list(root.iterfind("r:define", NS))
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
    ap.add_argument("--also", action="append", default=[], metavar="ELEMENTS",
                    help="TEI elements the project's files use beyond the ODD's (with --odd; "
                         "space-separated, repeatable), e.g. the FRUS volumes since the 2015 ODD: "
                         "the date taxonomy in the header, 'classDecl taxonomy category catDesc', and cit, bibl, "
                         "figDesc, surface")
    a = ap.parse_args()
    if a.odd:
        if not a.out:
            ap.error("--odd needs --out")
        also = [e for x in a.also for e in x.split()]
        # (an XML comment may not hold "--": the options by name)
        command = "; ".join([f"odd {Path(a.odd).name}", *(f"foreign {f}" for f in a.foreign),
                             *([f"also '{' '.join(also)}'"] if also else [])])
        make_profile_schema(Path(a.tei_all), Path(a.odd), Path(a.out), a.foreign, also, command)
    else:
        main(Path(a.tei_all))
