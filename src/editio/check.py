"""``editio check``: schema validation and the rules no schema can express.

Diagnostic codes (stable; ``docs/diagnostics.md`` lists them with examples):

read.*                 the file cannot be read safely (syntax, entity, external-dtd, xinclude,
                       too-large, empty, encoding, io)
tei.root               the root is not a TEI element in the TEI namespace
schema.invalid         RELAX NG validation error;  schema.missing / schema.unreadable
id.duplicate           an xml:id used twice in the edition
ref.missing            a pointer (@ref @target @corresp @sameAs @resp @who @source) resolves to nothing
ref.unchecked          pointers into a file that could not be read (one warning for them per file)
ref.unsafe             a pointer with a scheme that is not allowed, or a path leaving the project
annot.cert-missing     a restoration or correction without @cert
annot.resp-missing     a restoration or correction without @resp
annot.note-missing     a restoration, correction, mask or disagreeing cross-reference without a note
annot.cert-value       @cert other than high, medium, low (or unknown)
sic.no-corr            sic outside a choice with corr and without a note (policy.* and note.uncited:
                       editio.rules.policy)
note.orphan            an editorial note that points to nothing
note.target-text       a note whose @target is not in a text
date.invalid           @when/@from/@to/@notBefore/@notAfter not an ISO 8601 date
mask.unencoded         a platform mask (``**``) in the text that is not inside orig
witness.mismatch       the diplomatic text differs from the witness file named in sourceDesc
witness.missing        the witness file named in sourceDesc cannot be read
event.single           an event that only one document refers to (info)
element.unknown        an element with no behaviour (rendered generically)
unit.id-missing        a page unit of the profile (a FRUS document) with no id to name its page
"""
from __future__ import annotations

from dataclasses import dataclass

import datetime as _dt
import re
from pathlib import Path
from urllib.parse import unquote

from lxml import etree

from editio import TEI_NS, XML_ID, gate, publish
from editio.annotations import CLASSIFIED, classify
from editio.behaviours import is_tei, local
from editio.corpus import ISO_DATE, Corpus, Document
from editio.diagnostics import EditioError, Report
from editio.read import read
from editio.rules.policy import check_policy

T = "{%s}" % TEI_NS
CERTS = {"high", "medium", "low", "unknown"}
XML_ID_ATTR = "xml:id"
DATE_ATTRS = ("when", "from", "to", "notBefore", "notAfter", "when-iso")
REF_ATTRS = ("ref", "target", "corresp", "sameAs", "resp", "who", "source", "facs", "url")
XML_MODEL = re.compile(r'href\s*=\s*"([^"]+)"')


class Schemas:
    """Compiled RELAX NG schemas by path, for one run (no global cache), or kept by a
    server from one rebuild to the next (:meth:`renew` at the start of each)."""

    def __init__(self):
        self._cache: dict[Path, object] = {}
        self.elements: dict[Path, set] = {}
        self._stamps: dict[Path, str | None] = {}   # path -> hash of the bytes compiled

    def renew(self) -> None:
        """Forget what may be out of date: a schema whose bytes changed since it was
        compiled, one that pulls in other files (its bytes alone do not say what it allows),
        one that could not be used (its error is reported again)."""
        for path in list(self._cache):
            if self._cache[path] is None or self._stamps.get(path) is None \
                    or _schema_stamp(path) != self._stamps[path]:
                self._cache.pop(path, None)
                self.elements.pop(path, None)
                self._stamps.pop(path, None)

    def get(self, path: Path, report: Report, where: str, root: Path | None = None,
            line: int = 0):
        """The compiled schema at ``path``.  With ``root`` (a schema a TEI file chose with
        ``<?xml-model?>``), every file it pulls in with ``externalRef`` or ``include`` passes
        the gate first, so libxml2 never opens anything outside the project (nor a FIFO)."""
        path = path.resolve()
        if path not in self._cache:
            try:
                self._stamps[path] = _schema_stamp(path)
                tree = read(path, display=str(path))
                if root is not None:
                    _gate_schema(tree, path, Path(root), set())
                self._cache[path] = etree.RelaxNG(tree)
                self.elements[path] = _declared_elements(tree)
            except Exception as err:  # EditioError or RelaxNGParseError
                msg = getattr(getattr(err, "diagnostic", None), "message", None) or str(err)
                shown = path.relative_to(root.resolve()).as_posix() if root is not None and \
                    root.resolve() in path.parents else str(path)
                report.error(where, line, "schema.unreadable", f"cannot use schema {shown}: {msg}")
                self._cache[path] = None
        return self._cache[path]


def _schema_stamp(path: Path) -> str | None:
    """The hash of a schema's bytes, or None if it pulls in other files or cannot be read."""
    import hashlib
    try:
        data = gate.open_regular(path)
    except (OSError, gate.Refused):
        return None
    if b"externalRef" in data or b"<include" in data or b":include" in data:
        return None
    return hashlib.sha256(data).hexdigest()


_RNG = "{http://relaxng.org/ns/structure/1.0}"


def _gate_schema(tree, path: Path, root: Path, seen: set) -> None:
    """Refuse a schema whose ``externalRef``/``include`` (recursively) names a file the gate
    refuses: outside the project, hidden, not a regular file, a URL."""
    seen.add(path)
    for el in tree.iter(_RNG + "externalRef", _RNG + "include"):
        href = el.get("href", "")
        try:
            gate.relative(href)
            target = gate.check(root, unquote(href), base=path)
        except gate.Refused as err:
            raise EditioError(f'<{local(el)} href="{href}"> (line {el.sourceline}) is refused: '
                              f"{err.reason}", code="schema.unreadable") from None
        if target not in seen:
            _gate_schema(read(target, display=str(target)), target, root, seen)


def _declared_elements(rng_tree) -> set | None:
    """Names of the TEI elements a RELAX NG schema can allow (None: cannot tell)."""
    R = "{http://relaxng.org/ns/structure/1.0}"
    names = set()
    for el in rng_tree.iter(R + "element"):
        if el.get("name") is not None and el.get("ns") in (None, TEI_NS):
            names.add(el.get("name"))   # (name classes, anyName, and frus:attachment are not TEI)
    return names


def schema_for(doc: Document, corpus: Corpus, override: Path | None,
               report: Report | None = None) -> tuple[Path | None, bool, int]:
    """(the schema for ``doc``, whether the TEI itself chose it, the line of the choice).

    A schema named by ``<?xml-model?>`` passes the gate (inside the project, not hidden, a
    regular file); one it refuses is a ``schema.unreadable`` error at the processing
    instruction.  A document naming none gets the edition's ``schema`` (editio.toml), or,
    if the edition names none either, a ``schema.none`` warning."""
    if override:
        return override, False, 0
    root = corpus.project.root
    for pi in doc.tree.getroot().itersiblings(preceding=True):
        if isinstance(pi, etree._ProcessingInstruction) and pi.target == "xml-model":
            m = XML_MODEL.search(pi.text or "")
            if not m or not m.group(1).endswith(".rng"):
                continue
            href = m.group(1)
            try:
                gate.relative(href)
                return gate.check(root, unquote(href), base=doc.path), True, pi.sourceline or 1
            except gate.Refused as err:
                if report is not None:
                    if err.diagnostic.code == "path.missing":
                        report.error(doc.rel, pi.sourceline or 1, "schema.missing",
                                     f'schema "{href}" named by <?xml-model?> does not exist')
                    else:
                        report.error(doc.rel, pi.sourceline or 1, "schema.unreadable",
                                     f'schema "{href}" named by <?xml-model?> is refused: {err.reason}')
                return None, True, pi.sourceline or 1
    if corpus.project.schema:
        return root / corpus.project.schema, False, 0
    profile_schema = getattr(getattr(corpus.project, "profile", None), "schema", None)
    if profile_schema is not None:  # the profile's own (the frus profile ships frus.rng)
        return profile_schema, False, 0
    return None, False, 0


def check(corpus: Corpus, schema: Path | None = None, report: Report | None = None,
          schemas: Schemas | None = None, defer: bool = False, cache=None,
          rules=None, threaded: bool = False):
    """Check every document of ``corpus``; ``schemas`` (RELAX NG) and ``rules``
    (Schematron) may carry compiled schemas from an earlier call (a server keeps them
    between rebuilds; they are compiled once per run otherwise).

    The schema validation (compiling a schema, validating the files) runs in a second
    process (:class:`editio.parallel.Background`) while this one applies the edition's
    rules; with ``threaded`` (a server, whose schemas are compiled already) in a thread
    of this process instead (libxml2 validates without Python's lock), on trees of its
    own: each file to validate is read again there (a tree is never shared between
    threads), and a file whose tree differs from the checked one's (it changed on disk
    meanwhile) is validated here when ``finish()`` is called.  With ``defer`` the result is ``(report, finish)``: the report of the rules, and
    ``finish()`` that waits for the validation and adds its diagnostics to the report, so a
    build can render meanwhile (and throw its output away if the schema finds errors).

    ``cache`` (an :class:`editio.cache.Store`) keeps each file's diagnostics and Schematron
    findings between runs (:class:`editio.cache.CheckCache`): a file whose bytes and
    context did not change is not checked again; the rules that span files run always."""
    from editio.cache import CheckCache
    ccache = CheckCache(corpus, cache) if cache is not None else None
    report = report if report is not None else Report()
    # the profile's severities ([check] severity: FRUS's dangling pointers are warnings)
    report.severities = {**report.severities, **corpus.project.profile.severity}
    for d in getattr(corpus.project, "diagnostics", ()):  # editio.toml: unknown keys
        report.add(d.file, d.line, d.col, d.severity, d.code, d.message)
    report.extend(corpus.report)
    schemas = schemas if schemas is not None else Schemas()
    schemas.renew()
    seen_ids: dict[str, tuple[str, int]] = {}
    unvalidated = []
    reserved = reserved_ids(corpus)
    _check_names(corpus, report)
    tei_docs = []
    jobs = []                                   # (index of the document, schema, chosen, line)
    for i, doc in enumerate(corpus.documents):
        root = doc.root
        if not (is_tei(root) and local(root) in ("TEI", "teiCorpus")):
            report.error(doc.rel, root.sourceline, "tei.root",
                         f"root element is {root.tag!r}, not TEI in namespace {TEI_NS}")
            continue
        tei_docs.append(doc)
        sp, chosen, pline = schema_for(doc, corpus, schema, report)
        if sp is None and not chosen:
            unvalidated.append(doc)
        if sp is not None:
            if not sp.exists():
                report.error(doc.rel, 1, "schema.missing",
                             f"schema {corpus.project.rel(sp)} does not exist")
            else:
                jobs.append((i, sp, chosen, pline))

    seen_schemas: dict = {}
    keys = {i: _validation_key(sp, corpus.documents[i], corpus.hashes, seen_schemas)
            for i, sp, _, _ in jobs}
    from editio.rules.schematron import check_schematron, run_one
    sch_jobs, sch_finish = [], None
    if threaded:   # the Schematron runs in the thread too, on its trees
        sch_jobs, sch_finish = check_schematron(corpus, report, rules=rules, cache=ccache,
                                                later=True)
        # worked out here: the thread never touches the checked trees
        tree_hashes = {id(d): d.tree_hash for d in
                       [corpus.documents[i] for i, _, _, _ in jobs] + [d for d, _ in sch_jobs]}
    own: dict = {}

    def own_tree(doc):
        """The tree to validate: in a thread, the file read again (None if it differs
        from the checked one's: validated by ``finish()`` instead)."""
        if not threaded:
            return doc.tree
        if id(doc) not in own:
            import hashlib
            try:
                tree = read(doc.path, root_dir=corpus.project.root, display=doc.rel, missing=[])
            except EditioError:
                tree = None
            if tree is not None and \
                    hashlib.sha256(etree.tostring(tree)).hexdigest() != tree_hashes[id(doc)]:
                tree = None
            own[id(doc)] = tree
        return own[id(doc)]

    def validate_all(only=None, here=False):
        """[(index, schema, report items of compiling it, declared elements, errors)];
        errors is ``_STALE`` for a file to validate again in this thread."""
        out = []
        for i, sp, chosen, pline in jobs:
            if only is not None and i not in only:
                continue
            doc = corpus.documents[i]
            known = _cache_read(keys[i]) if cache is None or cache.enabled else None
            if known is not None:
                out.append((i, sp, [], known[1], known[0]))
                continue
            rep = Report()
            rng = schemas.get(sp, rep, doc.rel, corpus.project.root if chosen else None, pline)
            errors = None
            if rng is not None:
                tree = doc.tree if here else own_tree(doc)
                if tree is None:
                    out.append((i, sp, rep.items, None, _STALE))
                    continue
                if not rng.validate(tree):
                    errors = [(e.line, e.message, e.path or "", e.type_name or "")
                              for e in rng.error_log]
            declared = schemas.elements.get(sp.resolve())
            if rng is not None and not rep.items:
                _cache_write(keys[i], errors, declared if errors else None)
            out.append((i, sp, rep.items, declared, errors))
        return out

    def in_thread():
        """The validation, then the Schematron (a file that changed meanwhile: ``_STALE``)."""
        found = validate_all()
        sch = {}
        for doc, validator in sch_jobs:
            tree = own_tree(doc)
            sch[id(doc)] = run_one(validator, tree) if tree is not None else _STALE
        own.clear()
        return found, sch

    from editio.parallel import Background, InThread
    validation = None
    if threaded and (jobs or sch_jobs):
        validation = InThread(in_thread)
    elif jobs and not all(
            sp.resolve() in schemas._cache or (
                _cache_read(keys[i]) is not None and (cache is None or cache.enabled))
            for i, sp, _, _ in jobs):
        validation = Background(validate_all)
    explained_by: dict[int, list] = {}
    for i, doc in enumerate(corpus.documents):
        if doc in tei_docs:
            explained_by[i] = _check_doc_cached(corpus, doc, report, seen_ids, reserved, ccache)
    if unvalidated:  # said once, at the first such file: not silently unvalidated
        more = f" (and {len(unvalidated) - 1} more)" if len(unvalidated) > 1 else ""
        report.warning(unvalidated[0].rel, 1, "schema.none",
                       f"no schema: this file{more} names none (<?xml-model href=\"….rng\"?>) "
                       "and editio.toml sets no `schema`; only editio's own rules are checked")
    _check_events(corpus, report)
    _check_units(corpus, report)
    check_policy(corpus, report)  # editio.rules.policy: the edition's editorial policy
    if sch_finish is not None:   # what the Schematron finds is reported by finish()
        already = {(d.file, d.line, d.code) for d in report.items}
    else:   # editio.rules.schematron: the rules editors see too
        check_schematron(corpus, report, rules=rules, cache=ccache)
    if ccache is not None:
        ccache.prune()

    explainers: dict = {}   # schema -> its grammar read for explaining errors (this run)

    def finish() -> Report:
        if threaded:
            results, sch = validation.result() if validation is not None else ([], {})
        else:
            results = validation.result() if validation is not None else validate_all()
        stale = {r[0] for r in results if r[4] is _STALE}
        if stale:   # a file that changed on disk meanwhile: its checked tree, validated here
            again = {r[0]: r for r in validate_all(stale, here=True)}
            results = [again.get(r[0], r) for r in results]
        for i, sp, items, declared, errors in results:
            for d in items:
                report.add(d.file, d.line, d.col, d.severity, d.code, d.message)
            if errors is not None:
                _schema_report(corpus.documents[i], [_Err(*e) for e in errors], declared, sp,
                               report, explained_by.get(i, ()), explainers)
        if sch_finish is not None:
            sch_finish({id(doc): run_one(validator, doc.tree) if sch.get(id(doc)) is _STALE
                        else sch.get(id(doc)) for doc, validator in sch_jobs}, already)
        return report

    if defer:
        finish.cancel = validation.cancel if validation is not None else (lambda: None)
        return report, finish
    return finish()


def warm_up(corpus: Corpus, schemas: Schemas, schema: Path | None = None) -> None:
    """Compile the RELAX NG schema of the first document that names one and validate the
    document once (its result unused): libxml2 works out much of a schema's automata on its
    first validation, so a server that does this once, out of the way, validates the first
    edit as fast as the others.  For a thread: the document is read again (its own tree)."""
    for doc in corpus.documents:
        sp, chosen, line = schema_for(doc, corpus, schema)
        if sp is None or not sp.exists():
            continue
        rng = schemas.get(sp, Report(), doc.rel, corpus.project.root if chosen else None, line)
        if rng is not None:
            try:
                rng.validate(read(doc.path, root_dir=corpus.project.root, display=doc.rel,
                                  missing=[]))
            except EditioError:
                pass
        return


_STALE = ("stale",)
"""What a validating thread says of a file whose tree, read again, differs from the one
checked."""


def _cache_dir() -> Path | None:
    """Where validation results are kept between runs: ``$EDITIO_CACHE`` or
    ``$XDG_CACHE_HOME/editio`` (``~/.cache/editio``); ``EDITIO_CACHE=0`` keeps none."""
    import os
    env = os.environ.get("EDITIO_CACHE")
    if env == "0":
        return None
    base = Path(env) if env else Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "editio"
    return base / "validation"


def _validation_key(schema: Path, doc, hashes: dict | None = None,
                    memo: dict | None = None) -> str | None:
    """A validation's result depends on the schema's bytes, the document's bytes and tree
    (XIncludes resolved) and libxml2: their hash names it.  None for a schema that pulls in
    other files (its bytes alone do not say what it allows).  ``memo``: schema -> the hash
    of its bytes (None: it pulls in other files), for one run: read once for all files."""
    import hashlib
    import os
    try:  # through the gate's reader: a FIFO or /dev/zero named as a schema is never read
        if memo is not None and schema in memo:
            sdigest = memo[schema]
        else:
            sbytes = gate.open_regular(schema)
            sdigest = None if (b"externalRef" in sbytes or b"<include" in sbytes
                               or b":include" in sbytes) else hashlib.sha256(sbytes).digest()
            if memo is not None:
                memo[schema] = sdigest
        if sdigest is None:
            return None
        h = hashlib.sha256()
        own = (hashes or {}).get(os.path.abspath(doc.path))
        h.update(sdigest)
        h.update(bytes.fromhex(own) if own and len(own) == 64 else
                 hashlib.sha256(gate.open_regular(doc.path)).digest())
        h.update(bytes.fromhex(doc.tree_hash))   # the tree parsed (XIncludes resolved)
        for part in (repr(etree.LIBXML_VERSION).encode(), b"editio-validation-3"):
            h.update(hashlib.sha256(part).digest())
        return h.hexdigest()
    except (OSError, gate.Refused):
        return None


def _cache_read(key):
    """(errors, declared) cached under ``key``, or None."""
    import json
    d = _cache_dir()
    if key is None or d is None:
        return None
    try:
        data = json.loads((d / f"{key}.json").read_text(encoding="utf-8"))
        errors = [tuple(e) for e in data["errors"]] if data["errors"] is not None else None
        return errors, set(data["declared"]) if data.get("declared") is not None else None
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _cache_write(key, errors, declared) -> None:
    import json
    import os
    import tempfile
    d = _cache_dir()
    if key is None or d is None:
        return
    try:
        d.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=d, suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(json.dumps({"errors": errors,
                                "declared": sorted(declared) if declared else None}))
        os.replace(tmp, d / f"{key}.json")
    except OSError:
        pass  # a cache that cannot be written is only slower


@dataclass(frozen=True)
class _Err:
    """One libxml2 validation error, as it comes back from the validating process: its
    line, message, the path of the element it is about, and libxml2's error type."""
    line: int
    message: str
    path: str = ""
    kind: str = ""


def _schema_report(doc, errors, declared, path, report, explained=(), explainers=None) -> None:
    """Elements the schema does not declare, said plainly; then libxml2's errors less
    the cascade that those elements (and the ``explained`` ones, whose attributes a rule
    already reported precisely) cause on their ancestors, each said as a mature validator
    would (:mod:`editio.rng_explain`: the attribute or child at fault, what the schema
    expects there), located at the element (or attribute) it is about."""
    skip_lines = set()
    for el in explained:
        skip_lines.update(a.sourceline for a in el.iterancestors())
        skip_lines.add(el.sourceline)
    if declared is not None:
        for el in doc.root.iter():
            if isinstance(el.tag, str) and is_tei(el) and local(el) not in declared:
                report.error(doc.rel, el.sourceline, "schema.invalid", col=doc.column(el), message=
                             f"<{local(el)}> is not allowed by the schema {path.name}")
                skip_lines.update(a.sourceline for a in el.iterancestors())
                skip_lines.add(el.sourceline)
    causes = [(el.sourceline or 0, {local(a) for a in el.iterancestors()}) for el in explained]
    # libxml2 names the element whose attributes fail ("Element corr failed to validate
    # attributes"): the rule's diagnostic already says which one and why
    own = {(el.sourceline, local(el)) for el in explained}
    emptied = _emptied_by_missing_includes(doc, report)
    said = set()
    for line, msg, err in schema_errors(doc.tree, errors):
        if line in emptied:
            continue   # an include left out (xinclude.missing said so) left this element empty
        if line in skip_lines and not msg.startswith("Element") or (
                line in skip_lines and ("extra content" in msg or "failed to validate content" in msg)):
            continue
        m = re.match(r"Element (\S+) failed to validate attributes|Invalid attribute \S+ for "
                     r"element (\S+)", msg)
        if m and (line, m.group(1) or m.group(2)) in own:
            continue
        named = set(re.findall(r"element (\w+)|Element (\w+)|content: (\w+)", msg))
        names = {n for group in named for n in group if n}
        if any(line <= ln and names & anc for ln, anc in causes):
            continue  # the cascade of an attribute a rule has already explained
        for el, attr, text in _explain(doc, err, path, explainers):
            where = (el.sourceline or line) if el is not None else line
            col = doc.column(el, attr) if el is not None else 0
            if (where, col, text) not in said:
                said.add((where, col, text))
                report.error(doc.rel, where, "schema.invalid", text, col=col)


def _explain(doc, err, path, explainers) -> list[tuple]:
    """[(element or None, attribute or None, message)] for one libxml2 error: what
    :mod:`editio.rng_explain` makes of it at the element its path names, else libxml2's
    message reworded."""
    from editio import rng_explain
    el = rng_explain.resolve_path(doc.tree, err.path) if err.path else None
    if el is not None:
        explainers = explainers if explainers is not None else {}
        key = Path(path).resolve()
        if key not in explainers:
            try:
                explainers[key] = rng_explain.Explainer(read(key, display=str(key)))
            except (EditioError, ValueError, etree.LxmlError):
                explainers[key] = None
        if explainers[key] is not None:
            try:
                found = explainers[key].explain(el, err.kind, err.message)
            except (RecursionError, ValueError, TypeError, KeyError, IndexError, etree.LxmlError):
                found = None   # a grammar the explainer cannot follow: libxml2's error, reworded
            if found:
                return found
    return [(el, None, rng_explain.reword(err.message.replace("{%s}" % TEI_NS, "")))]


def _emptied_by_missing_includes(doc, report) -> set:
    """The lines of the elements an ``xi:include`` of a missing file was left out of and
    that hold no element since (a FRUS volume's ``<classDecl>`` whose taxonomy is in the
    series' ``../shared/frus-dates.xml``): the schema's "Expecting an element, got
    nothing" there is the missing file, which ``xinclude.missing`` reports already."""
    holes = [d.line for d in report.items if d.code == "xinclude.missing" and d.file == doc.rel]
    if not holes:
        return set()
    out = set()
    els = [el for el in doc.root.iter() if isinstance(el.tag, str) and el.sourceline]
    for k, el in enumerate(els):
        if len(el):
            continue
        end = els[k + 1].sourceline if k + 1 < len(els) else float("inf")
        if any(el.sourceline <= h < end for h in holes):
            out.add(el.sourceline)
    return out


def schema_errors(tree, log) -> list[tuple[int, str, object]]:
    """libxml2's RELAX NG errors less the cascade.

    libxml2 reports an invalid element again on each ancestor ("Did not expect
    element body there" on the line of ``text``) and adds "Expecting element X,
    got Y" alternatives.  An error is dropped when the element starting on its
    line contains a later line with an error of its own, and "Expecting …"
    lines are dropped when another message stands on the same line.  Each comes back as
    (line, message, the error itself)."""
    errs, seen, of = [], set(), {}
    for e in log:
        item = (e.line, e.message.replace("{%s}" % TEI_NS, ""))
        if item not in seen:
            seen.add(item)
            errs.append(item)
            of[item] = e
    first_on_line: dict[int, object] = {}
    for el in tree.getroot().iter():
        if isinstance(el.tag, str) and el.sourceline and el.sourceline not in first_on_line:
            first_on_line[el.sourceline] = el
    lines = sorted({ln for ln, _ in errs})
    if any("failed to validate content" not in m for _, m in errs):
        errs = [(ln, m) for ln, m in errs if "failed to validate content" not in m]
    out = []
    for ln, msg in errs:
        el = first_on_line.get(ln)
        if el is not None:
            last = _last_line(el)
            if any(ln < other <= last for other in lines):
                continue
        if msg.startswith("Expecting element") and any(o == ln and not m.startswith("Expecting")
                                                       for o, m in errs):
            continue
        out.append((ln, msg))
    return [(ln, msg, of[(ln, msg)]) for ln, msg in (out or errs[:1])]


def _last_line(el) -> int:
    last = el.sourceline or 0
    for d in el.iterdescendants():
        if isinstance(d.tag, str) and d.sourceline:
            last = max(last, d.sourceline)
    return last


def _check_doc_cached(corpus: Corpus, doc: Document, report: Report, seen_ids, reserved,
                      ccache) -> list:
    """:func:`_check_doc`, or what it found the last time the file and its context were
    as they are (:class:`editio.cache.CheckCache`): the same diagnostics, the same ids
    registered, the same elements explained."""
    if ccache is None:
        return _check_doc(corpus, doc, report, seen_ids, reserved)
    key = ccache.doc_key(doc, seen_ids, reserved)
    hit = ccache.get(key)
    if hit is not None:
        try:
            explained = [doc.tree.xpath(p)[0] for p in hit["explained"]]
            diagnostics = [tuple(d) for d in hit["diagnostics"]]
            ids = [(i, f, int(ln)) for i, f, ln in hit["ids"]]
        except (KeyError, TypeError, ValueError, IndexError, etree.XPathError):
            hit = None
    if hit is not None:
        for d in diagnostics:
            report.add(*d)
        for i, f, ln in ids:
            seen_ids.setdefault(i, (f, ln))
        return explained
    mine = Report()
    before = set(seen_ids)
    explained = _check_doc(corpus, doc, mine, seen_ids, reserved)
    for d in mine.items:
        report.add(d.file, d.line, d.col, d.severity, d.code, d.message)
    ccache.put(key, {
        "diagnostics": [[d.file, d.line, d.col, d.severity, d.code, d.message] for d in mine.items],
        "ids": [[i, *seen_ids[i]] for i in seen_ids if i not in before],
        "explained": [doc.tree.getpath(el) for el in explained]})
    return explained


def _check_doc(corpus: Corpus, doc: Document, report: Report, seen_ids,
               reserved=frozenset()) -> list:
    """The edition's rules for one document; returns the elements whose attribute
    values a rule reported (so the schema's cascade about them can be left out)."""
    explained = []
    unknown: dict[str, list[int]] = {}
    notes_by_target = corpus.notes_by_target
    profile = corpus.project.profile
    table = corpus.behaviour_table
    mask = re.compile(profile.mask_pattern) if profile.mask_pattern else None
    corr_types = profile.correction_types
    facs_missing: list = []
    images_missing: list = []   # graphic/@url naming no file of the project: one diagnostic
    foreign: dict = {}          # namespace -> the outermost elements of it: one diagnostic
    pages: dict = {}            # a page break's @n -> its xml:id (made when first asked)
    unchecked: dict = {}     # a file that could not be read -> the pointers into it here
    allowed = publish.allowed_namespaces(corpus.project)
    foreign_tags: dict[str, bool] = {}   # tag -> in a namespace the edition does not publish
    for el in doc.root.iter():
        tag = el.tag
        if tag.__class__ is not str:
            continue
        line = el.sourceline or 0
        is_foreign = foreign_tags.get(tag)
        if is_foreign is None:
            is_foreign = foreign_tags[tag] = publish.foreign(el, allowed)
        if is_foreign:
            if not any(publish.foreign(a, allowed) for a in el.iterancestors()):
                explained.append(el)
                foreign.setdefault(publish.namespace(el) or "no namespace", []).append(el)
            continue
        keys = el.keys()   # (most elements have none or one or two: the tests below ask first)
        for a in keys:
            if publish.is_event_attribute(a):
                explained.append(el)
                report.error(doc.rel, line, "tei.event-attribute",
                             f"@{etree.QName(a).localname} is an event handler, not TEI; it is "
                             "never published", col=doc.column(el, etree.QName(a).localname))
        i = el.get(XML_ID) if keys else None
        if i and i in reserved:
            report.error(doc.rel, line, "id.reserved",
                         f'xml:id "{i}" is an id the site or the book makes itself (a note, a '
                         "paragraph, a page part); choose another", col=doc.column(el, XML_ID_ATTR))
        if i:
            if i in seen_ids:
                f, ln = seen_ids[i]
                report.error(doc.rel, line, "id.duplicate",
                             f'xml:id "{i}" is already used at {f}:{ln}', col=doc.column(el, XML_ID_ATTR))
            else:
                seen_ids[i] = (doc.rel, line)
        name = tag.rpartition("}")[2]     # (local(el))
        tei = tag.startswith(_TEI_PREFIX)  # (is_tei(el))
        if tei and not table.knows(el) and not _in_metadata(el):
            unknown.setdefault(name, []).append(el)
        for attr in REF_ATTRS if keys else ():
            if attr not in keys:
                continue
            val = el.get(attr)
            if not val:
                continue
            for tok, r in corpus.targets(doc, el, attr):
                if r.status == "missing" and attr == "facs" and r.doc is None:
                    if profile.page_images == "each":
                        report.warning(doc.rel, line, "ref.facs-missing",
                                       f'@facs "{tok}": no such image in the project',
                                       col=doc.column(el, attr))
                    else:
                        facs_missing.append((tok, line, el))   # the column of the first only
                elif r.status == "missing" and attr == "url" and r.doc is None \
                        and not (r.path is not None and r.path in corpus.unread):
                    # an image the project does not hold ("Document A.1", "figure_0001.tif"):
                    # one diagnostic per file (the profile's [images] report), which also says
                    # what the schema would say of a name with spaces (no second warning)
                    if any(c.isspace() for c in tok):
                        explained.append(el)
                    if profile.images == "each":
                        _image_missing(report, doc, [(tok, line, el)], profile)
                    else:
                        images_missing.append((tok, line, el))
                elif r.status == "missing" and r.path is not None and r.path in corpus.unread:
                    unchecked.setdefault(r.path, []).append((tok, line, el, attr))
                elif r.status == "missing":
                    hint = ""
                    if tok[:1] not in "#." and "/" not in tok and "#" not in tok \
                            and corpus.resolve(doc, "#" + tok).status == "element":
                        hint = f' (a local pointer takes a "#": "#{tok}")'   # target="pg_4"
                    elif tok[:1] == "#":
                        page = _page_named(doc, tok[1:], pages)
                        if page:   # "#dIII" for the page numbered III (the volume's contents)
                            hint = f' (did you mean page {page[0]}, "#{page[1]}"?)'
                    report.error(doc.rel, line, "ref.missing",
                                 f'@{attr} "{tok}" resolves to nothing{hint}', col=doc.column(el, attr))
                elif r.status == "unsafe":
                    report.warning(doc.rel, line, "ref.unsafe",
                                   f'@{attr} "{tok}" is not allowed (only {", ".join(sorted(_schemes()))} URLs '
                                   f"and files inside the project); it will not be linked",
                                   col=doc.column(el, attr))
        for attr in DATE_ATTRS if keys else ():
            v = el.get(attr) if attr in keys else None
            if v is not None and not _valid_date(v):
                explained.append(el)
                report.error(doc.rel, line, "date.invalid", f'@{attr} "{v}" is not an ISO 8601 date',
                             col=doc.column(el, attr))
        c = el.get("cert") if keys else None
        if c is not None and name in ("supplied", "corr", "reg", "expan", "unclear") and c not in CERTS:
            explained.append(el)
            report.warning(doc.rel, line, "annot.cert-value",
                           f'@cert "{c}" is not one of high, medium, low', col=doc.column(el, "cert"))
        if name == "corr" and tei and el.get("type") and corr_types \
                and el.get("type") not in corr_types:
            explained.append(el)
            report.error(doc.rel, line, "annot.type-value",
                           f'<corr type="{el.get("type")}">: the error classes are {", ".join(corr_types)}',
                           col=doc.column(el, "type"))
        cls = classify(el) if tei and name in CLASSIFIED else None
        if cls:
            kind, typ, carrier = cls
            notes = notes_by_target.get(el, []) + (notes_by_target.get(carrier, []) if carrier is not el else [])
            label = {"redaction": "mask", "correction": "correction", "restoration": "restoration",
                     "crossref": "cross-reference", "error": "sic", "problem": "problem",
                     "normalisation": "normalisation", "gap": "gap"}[kind]
            if kind in ("correction", "restoration") or (kind == "redaction" and typ == "restored"):
                where = carrier.sourceline or line
                if not carrier.get("cert"):
                    report.error(doc.rel, where, "annot.cert-missing",
                                 f"{label} <{local(carrier)}> has no @cert", col=doc.column(carrier))
                if not carrier.get("resp"):
                    report.error(doc.rel, where, "annot.resp-missing",
                                 f"{label} <{local(carrier)}> has no @resp", col=doc.column(carrier))
            needs_note = kind in ("correction", "restoration", "redaction", "problem") or (
                kind == "crossref" and typ == "disagrees")
            if needs_note and not notes and not _has_inline_note(el):
                report.error(doc.rel, line, "annot.note-missing",
                             f"{label} has no explanatory note (a <note> with @target=\"#{i or '…'}\")"
                             + ("" if i else "; give it an xml:id"), col=doc.column(el))
            if kind == "error" and not notes:  # an annotated error (sic + error note) is deliberate
                report.warning(doc.rel, line, "sic.no-corr", "<sic> without a <corr> in a <choice>",
                               col=doc.column(el))
        if name == "note" and tei and _in_notes_div(el) and not el.get("target") \
                and not el.get(XML_ID):
            report.warning(doc.rel, line, "note.orphan", "editorial note points to nothing (no @target)",
                           col=doc.column(el))
        elif name == "note" and tei and el.get(XML_ID) and _in_notes_div(el) \
                and not el.get("target") and not _referenced(corpus, doc, el):
            report.warning(doc.rel, line, "note.orphan",
                           f'editorial note "{el.get(XML_ID)}" has no @target and nothing points to it',
                           col=doc.column(el))
    if len(facs_missing) == 1:
        tok, ln, first = facs_missing[0]
        report.warning(doc.rel, ln, "ref.facs-missing", f'@facs "{tok}": no such image in the project',
                       col=doc.column(first, "facs"))
    elif facs_missing:
        tok, ln, first = facs_missing[0]
        report.warning(doc.rel, ln, "ref.facs-missing",
                       f"{len(facs_missing)} page images named by @facs are not in the project "
                       f'("{tok}" … "{facs_missing[-1][0]}"); page breaks show their page numbers '
                       "only", col=doc.column(first, "facs"))
    if images_missing:
        _image_missing(report, doc, images_missing, profile)
    for ns, els in foreign.items():   # (a volume's 12 embedded video players: one, not 40)
        _foreign(report, doc, ns, els)
    for path, ptrs in unchecked.items():   # its read error says why; not one error a pointer
        tok, ln, first, attr = ptrs[0]
        n = len(ptrs)
        report.warning(doc.rel, ln, "ref.unchecked",
                       (f'@{attr} "{tok}" is not checked' if n == 1 else
                        f'{n} pointers into {corpus.project.rel(path)} are not checked (the first: '
                        f'@{attr} "{tok}")') + f": {corpus.project.rel(path)} could not be read",
                       col=doc.column(first, attr))
    for name, els in unknown.items():
        more = f" ({len(els)} occurrences)" if len(els) > 1 else ""
        beh = table.behaviour(els[0])
        how = ("not rendered (active content)" if beh.params.get("active")
               else f"rendered as a generic {beh.name}")
        report.warning(doc.rel, els[0].sourceline or 0, "element.unknown",
                       f"<{name}> has no behaviour; {how}{more}", col=doc.column(els[0]))
    if doc.has_text:
        if mask is not None:
            _check_masks(doc, mask, report)
        _check_witness(doc, report, corpus.project.output_dir)
    return explained


def _page_named(doc, ident: str, pages: dict) -> tuple[str, str] | None:
    """(n, xml:id) of the page break an id that resolves to nothing names by its number
    after a prefix of small letters ("dIII", "d539": page III, page 539), when that page
    break has an id of its own: the pointer a hint offers."""
    m = re.fullmatch(r"[a-z]{1,3}_?([0-9]+|[IVXLCDM]+)", ident)
    if not m:
        return None
    if not pages:
        pages.update({pb.get("n"): pb.get(XML_ID) for pb in doc.root.iter(f"{{{TEI_NS}}}pb")
                      if pb.get("n") and pb.get(XML_ID)})
        pages.setdefault(None, None)   # asked once: a file without numbered page breaks
    i = pages.get(m.group(1))
    return (m.group(1), i) if i and i != ident else None


def _foreign(report, doc, ns: str, els: list) -> None:
    """One ``tei.foreign`` per namespace of a file, located at its first element: which
    elements, how many, from which line to which."""
    first = els[0]
    hint = ("" if ns in publish.ACTIVE_NAMESPACES else
            " (an edition that means it lists the namespace in `[namespaces]` in editio.toml "
            "or its profile)")
    if len(els) == 1:
        what = f"<{etree.QName(first).localname}> in namespace {ns} is not TEI; it is"
    else:
        names = ", ".join(f"<{n}>" for n in sorted({etree.QName(e).localname for e in els}))
        what = (f"{len(els)} elements in namespace {ns} ({names}, from here to line "
                f"{els[-1].sourceline or 0}) are not TEI; they are")
    report.error(doc.rel, first.sourceline or 0, "tei.foreign",
                 f"{what} neither rendered nor published{hint}", col=doc.column(first))


def _image_missing(report, doc, missing: list, profile) -> None:
    """One ``ref.missing`` for the images (``@url``) of a file that the project does not hold,
    located at the first: how many, which, and what a reader sees instead.  A name holding a
    space is no URL (the schema's ``data.pointer``): said here, so that the schema does not
    report the same attribute a second time."""
    tok, ln, first = missing[0]
    spaced = sum(1 for t, _, _ in missing if any(c.isspace() for c in t))
    if len(missing) == 1:
        what = f'@url "{tok}": no such image in the project'
        why = "; a URL holds no spaces" if spaced else ""
    else:
        names = ", ".join(f'"{t}"' for t, _, _ in missing) if len(missing) <= 3 else \
            f'"{tok}" … "{missing[-1][0]}"'
        what = f"{len(missing)} images named by @url are not in the project ({names})"
        why = ("" if not spaced else "; a URL holds no spaces" if spaced == len(missing)
               else "; one of the names holds a space, which a URL may not" if spaced == 1
               else f"; {spaced} of the names hold spaces, which a URL may not")
    report.error(doc.rel, ln, "ref.missing",
                 f'{what}{why}; the text says "{profile.text("image_missing", "Image not included")}" in place',
                 col=doc.column(first, "url"))

_TEI_PREFIX = "{%s}" % TEI_NS

GENERATED_IDS = re.compile(r"^(?:note|call)-\d+$|^p\d+$|^y-?\d+$")
"""HTML ids the site and the book make themselves, by pattern: note and call numbers,
paragraph anchors, timeline years."""
_TEMPLATE_ID = re.compile(r"""\bid\s*=\s*["']([A-Za-z_][\w.-]*)["']""")


def reserved_ids(corpus: Corpus) -> frozenset:
    """The HTML ids an ``xml:id`` may not take: those the site's templates (editio's and the
    edition's own) write literally (the book's are not reserved: print prefixes every id
    it takes from the TEI with its unit's, ``d12--fn3``), and those made from other names (``event-``, ``index-``,
    ``ev-`` + an entity id, ``ad-``/``pub-`` + a document id); :data:`GENERATED_IDS` by pattern."""
    from editio.resources import template_dirs
    out = set()
    for d in template_dirs(corpus.project, "html"):
        for f in d.glob("*.html"):
            try:
                out.update(_TEMPLATE_ID.findall(f.read_text(encoding="utf-8")))
            except (OSError, UnicodeDecodeError):
                continue
    for e in corpus.entities.values():
        out.update({f"event-{e.id}", f"index-{e.id}", f"ev-{e.id}"})
    for d in corpus.documents:
        out.update({f"ad-{d.id}", f"pub-{d.id}"})
    return _Reserved(out)


class _Reserved(frozenset):
    def __contains__(self, i) -> bool:
        return frozenset.__contains__(self, i) or bool(GENERATED_IDS.match(i))


def _check_units(corpus: Corpus, report: Report) -> None:
    """A page unit the profile selects (FRUS: ``div[@type='document']``) whose id
    expression gives nothing has no name for its page: it is built as "document-N.html"
    (N its number), a name that changes when documents are added before it; said, located."""
    profile = corpus.project.profile
    units = [u for u in profile.units if u.xpath and u.id]
    if not units:
        return
    ns = profile.xpath_namespaces()
    compiled = [(u, etree.XPath(u.xpath, namespaces=ns), etree.XPath(f"string({u.id})", namespaces=ns),
                 etree.XPath(f"boolean(self::*[{u.exclude}])", namespaces=ns) if u.exclude else None)
                for u in units]
    for doc in corpus.texts:
        found = []
        for u, sel, ident, excluded in compiled:
            found += [(el, u, ident) for el in sel(doc.root) if isinstance(el, etree._Element)
                      and not (excluded is not None and excluded(el))]
        pages = {el for el, _, _ in found}
        for el, u, ident in found:
            if any(a in pages for a in el.iterancestors()):
                continue                # inside another unit: no page of its own
            if not str(ident(el)).strip():
                report.warning(doc.rel, el.sourceline or 0, "unit.id-missing",
                               f"this {u.kind} ({local(el)}) has no {u.id} to name its page; it is "
                               f"built as {u.kind}-N.html, N its number, which changes when "
                               "units are added before it")


def _check_names(corpus: Corpus, report: Report) -> None:
    """Pages and media files are named after documents and files: two documents with one id
    (the root xml:id, else the file name) would share one page and lose the other; two
    media files that differ only in case would overwrite each other on many disks."""
    pages: dict[str, Document] = {}
    for doc in corpus.documents:
        if not doc.has_text:
            continue
        key = doc.id.casefold()
        other = pages.get(key)
        if other is not None:
            how = "root xml:id" if doc.root.get(XML_ID) else "file name (no root xml:id)"
            report.error(doc.rel, doc.root.sourceline or 1, "doc.duplicate",
                         f'this document and {other.rel} are both "{doc.id}" (by {how}); one '
                         "page cannot hold both: give each a distinct root xml:id",
                         col=doc.column(doc.root))
        else:
            pages[key] = doc
    media: dict[str, tuple] = {}
    root = corpus.project.root
    for doc in corpus.documents:
        for el in doc.root.iter(f"{T}graphic"):
            url = el.get("url") or ""
            r = corpus.resolve(doc, url) if url else None
            if r is None or r.status != "file":
                continue
            line, col = el.sourceline or 0, doc.column(el, "url")
            try:
                data = gate.read_bytes(root, r.path, output=corpus.project.output_dir,
                                       max_bytes=publish.MAX_MEDIA_BYTES)
            except gate.Refused as err:
                report.error(doc.rel, line, "media.refused", f'<graphic url="{url}"> is not '
                             f"published: {err.reason}", col=col)
                continue
            kind = publish.media_kind(data)
            why = None if kind else ("not a PNG, JPEG, GIF, WebP or SVG image (by its bytes); "
                                     "only images are published")
            if kind == "svg":
                why = publish.svg_problem(data, corpus.project.rel(r.path))
            if why:
                report.error(doc.rel, line, "media.refused",
                             f'<graphic url="{url}"> is not published: {why}', col=col)
                continue
            name = publish.media_name(corpus.project.rel(r.path), kind)
            seen = media.setdefault(name.casefold(), (r.path, name, doc.rel, line))
            if seen[0] != r.path:
                report.error(doc.rel, line, "media.collision",
                             f'<graphic url="{url}"> would be published as {name}, which only '
                             f"case tells apart from {seen[1]} ({seen[2]}:{seen[3]}); rename one",
                             col=col)


def _schemes():
    from editio.corpus import SAFE_SCHEMES
    return SAFE_SCHEMES


def _in_metadata(el) -> bool:
    return any(local(a) in ("teiHeader", "standOff") for a in el.iterancestors()) \
        or local(el) in ("teiHeader", "standOff")


def _in_notes_div(el) -> bool:
    return any(local(a) == "div" and a.get("type") == "editorial-notes" for a in el.iterancestors())


def _has_inline_note(el) -> bool:
    nxt = el.getnext()
    return (any(isinstance(c.tag, str) and local(c) == "note" for c in el)
            or (nxt is not None and isinstance(nxt.tag, str) and local(nxt) == "note"
                and not (el.tail or "").strip()))


def _referenced(corpus, doc, note) -> bool:
    nid = note.get(XML_ID)
    for el in doc.root.iter():
        if isinstance(el.tag, str):
            for a in ("target", "corresp", "ana"):
                if f"#{nid}" in (el.get(a) or "").split():
                    return True
    return False


def _valid_date(v: str) -> bool:
    """ISO 8601 as XML Schema 1.0 reads it (TEI's ``data.temporal.w3c``): no year 0000."""
    if not ISO_DATE.match(v) or re.match(r"^-?0000(?!\d)", v):
        return False
    m = re.match(r"^(-?\d{4})-(\d{2})(?:-(\d{2}))?", v)
    if m:
        y, mo, d = int(m.group(1)), int(m.group(2)), m.group(3)
        if not 1 <= mo <= 12:
            return False
        if d is not None:
            try:
                _dt.date(max(y, 1), mo, int(d))
            except ValueError:
                return False
    return True


def _check_masks(doc, mask, report) -> None:
    """Every platform mask in the diplomatic text must lie inside an ``orig``."""
    tv = doc.diplomatic
    text = tv.text()
    covered = []
    for el, (s, e) in tv.spans.items():
        if isinstance(el.tag, str) and local(el) == "orig":
            covered.append((s, e))
    covered.sort()
    for m in mask.finditer(text):
        if not any(s <= m.start() and m.end() <= e for s, e in covered):
            el = _element_at(tv, m.start())
            report.warning(doc.rel, el.sourceline if el is not None else 0, "mask.unencoded",
                           f'mask "{m.group()}" at character {m.start()} is not encoded '
                           f"(<choice><orig>{m.group()}</orig><supplied reason=\"masked\">…)",
                           col=doc.column(el) if el is not None else 0)


def _element_at(tv, pos):
    best = None
    for el, (s, e) in tv.spans.items():
        if s <= pos <= e and (best is None or (e - s) <= (best[1] - best[0])):
            best = (s, e, el)
    return best[2] if best else None


def _check_witness(doc, report, output: Path | None = None) -> None:
    w = doc.witness
    if w is None:
        return
    ptr = next((p for p in doc.root.iterfind(f"{T}teiHeader/{T}fileDesc/{T}sourceDesc//{T}ptr")
                if (p.get("target") or "").endswith(".txt")), None)
    line = ptr.sourceline if ptr is not None else 1
    col = doc.column(ptr, "target") if ptr is not None else 1
    try:  # the gate: inside the project, not hidden, a regular file, within the budget
        data = gate.read_bytes(doc.project_root or doc.path.parent, w, output=output)
        expected = data.decode("utf-8")
    except gate.Refused as err:
        code = "witness.missing" if err.diagnostic.code == "path.missing" else "witness.refused"
        report.error(doc.rel, line, code, f"witness {w.name} is not read: {err.reason}", col=col)
        return
    except UnicodeDecodeError as err:
        report.error(doc.rel, line, "witness.missing",
                     f"witness {w.name} is not UTF-8 (byte {err.start})", col=col)
        return
    got = doc.diplomatic.text()
    if got == expected:
        return
    i = next((k for k in range(min(len(got), len(expected))) if got[k] != expected[k]),
             min(len(got), len(expected)))
    el = _element_at(doc.diplomatic, i)
    report.error(doc.rel, el.sourceline if el is not None else 0, "witness.mismatch",
                 f"diplomatic text differs from witness {w.name} at character {i}: "
                 f"text has {got[i:i + 30]!r}, witness has {expected[i:i + 30]!r}", col=doc.column(el) if el is not None else 0)


def _check_events(corpus: Corpus, report: Report) -> None:
    passages = corpus.event_passages
    for ent in corpus.entities_of("event"):
        docs = {d.id for d, _ in passages.get(ent.id, [])}
        if len(docs) < 2 and corpus.texts:
            report.add(ent.doc.rel, ent.element.sourceline, 0, "info", "event.single",
                       f'event "{ent.id}" is referred to by {len(docs)} document(s)')
