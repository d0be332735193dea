"""The edition's Schematron rules, run by ``editio check`` as the editors' XML editor runs them.

A TEI file names its Schematron with an ``<?xml-model?>`` processing instruction whose
``schematypens`` is ISO Schematron (``schema/editio.sch``, written by ``editio new`` and
``editio import``).  ``editio check`` compiles that file with lxml's ISO Schematron
stylesheets (XSLT 1.0 binding), runs it on the file and reports each failed assert and
successful report as a located diagnostic:

* the **code** is the assert's ``@id`` up to the first ``_`` (``date.invalid_from`` ->
  ``date.invalid``); without an ``@id``, the id of its pattern; without either,
  ``schematron.rule``;
* the **severity** is its ``@role`` (``error``/``fatal``, ``warning``/``warn``,
  ``info``/``information``); without one, ``error``;
* the **location** is the element the rule was about (its ``sourceline``, and the column of
  its start tag);
* the **message** is the assertion's text, less a trailing ``[code]``.

editio's own rules already report most of what ``editio.sch`` says (with pointers into other
files, which Schematron cannot see); a finding with the same file, line and code as one
already reported is not repeated.  What an edition adds to its Schematron is reported with
the codes it chooses.

The Schematron is compiled without access to files or the network
(``XSLTAccessControl.DENY_ALL``: ``document()`` reads nothing) and passes the gate
(inside the project, not hidden, a regular file) like every file a TEI file names;
``sch:include`` is not followed.  Compiled rules are kept per run only.
"""
from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

from lxml import etree

from editio import gate
from editio.diagnostics import EditioError, Report

SCHEMATRON_NS = "http://purl.oclc.org/dsdl/schematron"
SVRL = "{http://purl.oclc.org/dsdl/svrl}"
_ATTR = re.compile(r'([\w:-]+)\s*=\s*"([^"]*)"')
_CODE_TAIL = re.compile(r"\s*\[[a-z][a-z0-9.-]*\]\s*$")
SEVERITY = {"error": "error", "fatal": "error", "warning": "warning", "warn": "warning",
            "info": "info", "information": "info"}


def schematron_href(tree) -> tuple[str, int] | None:
    """(href, line) of the Schematron a TEI file names with ``<?xml-model?>``, or None."""
    for pi in tree.getroot().itersiblings(preceding=True):
        if isinstance(pi, etree._ProcessingInstruction) and pi.target == "xml-model":
            attrs = dict(_ATTR.findall(pi.text or ""))
            href = attrs.get("href", "")
            if attrs.get("schematypens") == SCHEMATRON_NS or (
                    href.endswith(".sch") and "schematypens" not in attrs):
                return href, pi.sourceline or 1
    return None


class Rules:
    """Compiled Schematron validators by path, for one run (no global cache), or kept by
    a server from one rebuild to the next: a Schematron is compiled again when its bytes
    changed (``sch:include`` is not followed: its bytes are all it is)."""

    def __init__(self):
        self._cache: dict[Path, object] = {}
        self._stamps: dict[Path, str | None] = {}

    def renew(self) -> None:
        """Forget a Schematron whose bytes changed since it was compiled, or that could not
        be used (its error is said again)."""
        for path in list(self._cache):
            if self._cache[path] is None or self._stamps.get(path) is None \
                    or _stamp(path) != self._stamps[path]:
                self._cache.pop(path, None)
                self._stamps.pop(path, None)

    def get(self, path: Path, report: Report | None = None, where: str = "", line: int = 0,
            shown: str = ""):
        path = path.resolve()
        if path not in self._cache:
            self._stamps[path] = _stamp(path)
            try:
                self._cache[path] = compile_schematron(path)
            except EditioError as err:
                if report is not None:
                    report.error(where, line, "schematron.unreadable",
                                 f"cannot use Schematron {shown or path}: {err.diagnostic.message}")
                self._cache[path] = None
        return self._cache[path]


def _stamp(path: Path) -> str | None:
    import hashlib
    try:
        return hashlib.sha256(gate.open_regular(path)).hexdigest()
    except (OSError, gate.Refused):
        return None


def compile_schematron(path: Path):
    """The XSLT validator of the Schematron at ``path`` (raises EditioError)."""
    from lxml import isoschematron
    from editio.read import read
    try:
        tree = read(path, display=str(path))
        root = tree.getroot()
        if root.tag != f"{{{SCHEMATRON_NS}}}schema":
            raise EditioError("not an ISO Schematron schema (root sch:schema in "
                              f"{SCHEMATRON_NS})", code="schematron.unreadable")
        binding = (root.get("queryBinding") or "xslt").lower()
        if binding not in ("xslt", "xslt1", "exslt"):
            raise EditioError(f'queryBinding "{binding}" is not supported (XSLT 1.0 only: "xslt")',
                              code="schematron.unreadable")
        expanded = isoschematron.iso_abstract_expand(root)
        if not isoschematron.schematron_schema_valid(expanded):
            errs = isoschematron.schematron_schema_valid.error_log
            first = next(iter(errs), None)
            raise EditioError("not valid ISO Schematron" + (f" (line {first.line}: {first.message})"
                                                            if first is not None else ""),
                              code="schematron.unreadable")
        xslt = isoschematron.iso_svrl_for_xslt1(expanded)
        _locate_attributes(xslt)
        return etree.XSLT(xslt, access_control=etree.XSLTAccessControl.DENY_ALL)
    except EditioError:
        raise
    except (etree.XSLTParseError, etree.XSLTApplyError, etree.XMLSyntaxError) as err:
        raise EditioError(f"cannot compile: {err}", code="schematron.unreadable") from None


_XSL = "{http://www.w3.org/1999/XSL/Transform}"


def _locate_attributes(xslt) -> None:
    """The XSLT 1.0 skeleton locates an attribute as ``/@when``, without its element; prefix
    the element's path (``/…/*[…date…][2]/@when``) so a rule about an attribute is located."""
    for t in xslt.getroot().iter(_XSL + "template"):
        if t.get("match") == "@*" and t.get("mode") == "schematron-get-full-path":
            first = etree.Element(_XSL + "apply-templates", select="parent::*",
                                  mode="schematron-get-full-path")
            t.insert(0, first)


def findings(validator, tree) -> list[tuple[object, str, str, str]]:
    """(element, severity, code, message) for every failed assert and successful report of
    ``validator`` on ``tree``, in the order the Schematron gives them."""
    return [(locate(tree, loc), severity, code, msg)
            for loc, severity, code, msg in raw_findings(validator, tree)]


def raw_findings(validator, tree) -> list[tuple[str, str, str, str]]:
    """(location: an XPath, severity, code, message) for every failed assert and successful
    report of ``validator`` on ``tree`` (:func:`locate` finds the element in any tree parsed
    from the same bytes)."""
    try:
        svrl = validator(tree)
    except etree.XSLTApplyError as err:
        raise EditioError(f"the Schematron failed while running: {err}",
                          code="schematron.unreadable") from None
    out = []
    pattern = ""
    for el in svrl.getroot():
        if el.tag == SVRL + "active-pattern":
            pattern = el.get("id") or ""
            continue
        if el.tag not in (SVRL + "failed-assert", SVRL + "successful-report"):
            continue
        code = (el.get("id") or pattern or "schematron.rule").split("_", 1)[0]
        severity = SEVERITY.get((el.get("role") or "error").lower(), "error")
        text = el.find(SVRL + "text")
        msg = " ".join(("".join(text.itertext()) if text is not None else "").split())
        msg = _CODE_TAIL.sub("", msg) or f"Schematron rule {code}"
        out.append((el.get("location") or "", severity, code, msg))
    return out


def locate(tree, loc: str):
    """The element a finding's location names in ``tree`` (an attribute's or a text's: its
    element), or None."""
    try:
        found = tree.xpath(loc) if loc else []
    except etree.XPathError:
        found = []
    if not found:
        return None
    target = found[0]
    if not isinstance(getattr(target, "tag", None), str):  # attribute, text: its element
        getp = getattr(target, "getparent", None)
        target = getp() if getp else None
    return target


def check_schematron(corpus, report: Report, rules: Rules | None = None, cache=None,
                     later: bool = False):
    """Run each document's Schematron; add what editio's own rules did not already report.
    ``cache`` (:class:`editio.cache.CheckCache`) keeps each file's findings under the hash of
    the Schematron's bytes and the file's.

    With ``later``, the Schematron is not run here: the result is ``(jobs, finish)``, where
    ``jobs`` are ``(document, validator)`` of the files whose findings the cache does not
    hold, to run with :func:`run_one` elsewhere (a thread, on a tree of its own parsed
    from the same bytes), and ``finish(results, seen)`` (``results``: id of a document -> what
    :func:`run_one` gave) reports them, with the cached ones, as this function would have,
    less those ``seen`` reported already."""
    rules = rules if rules is not None else Rules()
    rules.renew()
    already = {(d.file, d.line, d.code) for d in report.items}
    root = corpus.project.root
    plan = []          # (doc, line, key, hit or None, validator)
    for doc in corpus.documents:
        named = schematron_href(doc.tree)
        if named is None:
            continue
        href, line = named
        try:
            gate.relative(href)
            path = gate.check(root, unquote(href), base=doc.path)
        except gate.Refused as err:
            if err.diagnostic.code == "path.missing":
                report.error(doc.rel, line, "schematron.missing",
                             f'Schematron "{href}" named by <?xml-model?> does not exist')
            else:
                report.error(doc.rel, line, "schematron.unreadable",
                             f'Schematron "{href}" named by <?xml-model?> is refused: {err.reason}')
            continue
        from editio.cache import schematron_key
        key = schematron_key(path, doc, corpus.hashes) if cache is not None else None
        hit = cache.get(key) if key is not None else None
        if isinstance(hit, list) and all(isinstance(f, list) and len(f) == 5 for f in hit):
            plan.append((doc, line, key, hit, None))
            continue
        validator = rules.get(path, report, doc.rel, line, corpus.project.rel(path))
        if validator is not None:
            plan.append((doc, line, key, None, validator))

    def finish(results: dict, seen: set | None = None) -> None:
        """``seen``: (file, line, code) of the diagnostics not to repeat (default: those
        reported before the Schematron was planned)."""
        for doc, line, key, hit, validator in plan:
            if hit is None:
                found = results.get(id(doc))
                if found is None:
                    continue
                if isinstance(found, EditioError):
                    report.error(doc.rel, line, "schematron.unreadable",
                                 found.diagnostic.message)
                    continue
                hit = []
                for loc, severity, code, msg in found:
                    el = locate(doc.tree, loc)
                    hit.append([(el.sourceline if el is not None else 0) or 0,
                                doc.column(el) if el is not None else 0, severity, code, msg])
                if key is not None:
                    cache.put(key, hit)
            for ln, col, severity, code, msg in hit:
                if (doc.rel, ln, code) in (already if seen is None else seen):
                    continue
                report.add(doc.rel, ln, col, severity, code, msg)

    jobs = [(doc, validator) for doc, _, _, hit, validator in plan if hit is None]
    if later:
        return jobs, finish
    finish({id(doc): run_one(validator, doc.tree) for doc, validator in jobs})


def run_one(validator, tree):
    """:func:`raw_findings`, or the :class:`EditioError` it raised."""
    try:
        return raw_findings(validator, tree)
    except EditioError as err:
        return err
