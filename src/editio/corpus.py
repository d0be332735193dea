"""The corpus: every document of an edition and the registries that span them.

Built once per run from the parsed trees (no global state: two corpora can
live side by side, e.g. in tests or in parallel builds).  It knows

* documents (text documents, and authority files holding ``standOff`` lists);
* ``xml:id``s per file, and how to resolve a pointer (``#id``, ``file.xml#id``,
  a file inside the project, an allowed external URL);
* entities (persons, places, organisations) and events of the authority lists;
* the editorial annotations of each document (:mod:`editio.annotations`).
"""
from __future__ import annotations

import os
import posixpath
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from urllib.parse import unquote, urlsplit

from editio import TEI_NS, XML_ID, XML_LANG
from editio.behaviours import local
from editio.config import Project
from editio.diagnostics import EditioError, Report
from editio.read import read
from editio.text import plain, view_of
from editio.typography import curl

T = "{%s}" % TEI_NS
POINTER_ATTRS = ("ref", "target", "corresp", "sameAs", "resp", "who", "source", "facs", "url")
SINGLE_POINTER_ATTRS = ("url",)
SAFE_SCHEMES = {"http", "https", "mailto", "doi", "urn"}
ENTITY_KINDS = {"person": "person", "place": "place", "org": "org", "event": "event"}
NAME_ELEMENTS = {"persName": "person", "placeName": "place", "orgName": "org", "geogName": "place",
                 "name": None, "rs": None}


@dataclass(eq=False)
class Document:
    name: str            # path inside the input dir, posix ("d000.xml"): the name in pointers
    path: Path
    rel: str             # path relative to the project, for diagnostics
    tree: object
    order: int = 0
    project_root: Path | None = None   # files this document may make editio read lie inside

    @property
    def root(self):
        return self.tree.getroot()

    # ---- locations: lxml keeps an element's line; its column is found in the source
    @cached_property
    def _source_lines(self) -> list[str]:
        from editio import gate
        try:  # read again only as a regular file (it may have been swapped for a FIFO meanwhile)
            data = gate.open_regular(self.path)
            enc = self.tree.docinfo.encoding or "utf-8"
            return data.decode(enc, errors="replace").lstrip("\ufeff").split("\n")
        except (OSError, LookupError, gate.Refused):
            return []

    @cached_property
    def _by_line(self) -> dict:
        """tag -> {line: the elements of that tag starting on it, in document order}, made
        for a tag when a column of one of its elements is first asked (lxml finds them)."""
        return {}

    def _on_line(self, tag, line: int) -> list:
        if tag.__class__ is not str:   # a comment or processing instruction: no element
            return []
        lines = self._by_line.get(tag)
        if lines is None:
            lines = self._by_line[tag] = {}
            for e in self.root.iter(tag):
                if e.sourceline:
                    lines.setdefault(e.sourceline, []).append(e)
        return lines.get(line, [])

    @cached_property
    def _starts(self) -> dict:
        """(line, tag) -> {element: offset of its start tag}: each line is searched once per
        tag, so a line holding thousands of elements costs linear time, not quadratic."""
        return {}

    def drop_caches(self) -> None:
        """Forget what :meth:`column` keeps (the source's lines, the elements by line) and the
        text views; each is worked out again if asked for."""
        for name in ("_source_lines", "_by_line", "_starts", "diplomatic", "edited"):
            self.__dict__.pop(name, None)

    def column(self, el, attr: str | None = None) -> int:
        """1-based column of ``el``'s start tag (or of its attribute ``attr``) in the
        source; 1 when it cannot be found (e.g. content from an XInclude)."""
        line = el.sourceline or 0
        lines = self._source_lines
        if not 0 < line <= len(lines):
            return 1
        text = lines[line - 1]
        key = (line, el.tag)
        starts = self._starts.get(key)
        if starts is None:
            qname = f"{el.prefix}:{local(el)}" if el.prefix else local(el)
            same = self._on_line(el.tag, line)
            found = [m.start() for m in re.finditer(r"<" + re.escape(qname) + r"(?=[\s/>]|$)", text)]
            starts = self._starts[key] = dict(zip(same, found))
        pos = starts.get(el)
        if pos is None:
            return 1
        if attr:
            end = text.find(">", pos)
            m = re.compile(r"\s(" + re.escape(attr) + r")\s*=").search(text, pos, end if end > 0 else len(text))
            if m:
                pos = m.start(1)
        return pos + 1

    @cached_property
    def id(self) -> str:
        return self.root.get(XML_ID) or Path(self.name).stem

    @cached_property
    def quotes(self) -> dict:
        """The typographic quotes of the edited reading (:func:`editio.typography.curl_tree`):
        a function of this tree alone, worked out once per parsed file."""
        from editio.typography import curl_tree
        return curl_tree(self.root)

    @cached_property
    def name_elements(self) -> list:
        """The names of the text (``persName``, ``placeName`` … outside the header), in
        document order."""
        return [el for el in self.root.iter() if isinstance(el.tag, str)
                and local(el) in NAME_ELEMENTS and not _in_header(el)]

    @cached_property
    def tree_hash(self) -> str:
        """The hash of the tree as parsed (XIncludes resolved)."""
        import hashlib
        from lxml import etree
        return hashlib.sha256(etree.tostring(self.tree)).hexdigest()

    @cached_property
    def ids(self) -> dict:
        out: dict = {}
        for el in self.root.iter():
            if isinstance(el.tag, str):
                i = el.get(XML_ID)
                if i and i not in out:
                    out[i] = el
        return out

    @cached_property
    def has_text(self) -> bool:
        return self.root.find(T + "text") is not None or local(self.root) != "TEI"

    @cached_property
    def title(self) -> str:
        t = self.root.find(f"{T}teiHeader/{T}fileDesc/{T}titleStmt/{T}title")
        return plain(t) if t is not None else self.id

    @cached_property
    def diplomatic(self):
        """TextView of the diplomatic text, with the span of every element."""
        return view_of(self.root, "diplomatic", spans=True)

    @cached_property
    def edited(self):
        return view_of(self.root, "edited", spans=True)

    def line_of(self, el) -> int:
        return getattr(el, "sourceline", 0) or 0

    @cached_property
    def witness(self) -> Path | None:
        """The witness file named by ``sourceDesc//ptr/@target`` (a .txt file), if any."""
        for ptr in self.root.iterfind(f"{T}teiHeader/{T}fileDesc/{T}sourceDesc//{T}ptr"):
            tgt = ptr.get("target", "")
            if tgt.endswith(".txt") and "#" not in tgt and ":" not in tgt and "\0" not in tgt:
                w = (self.path.parent / unquote(tgt)).resolve()
                if self.project_root is not None and self.project_root not in w.parents:
                    return None  # outside the project: never read (check warns: ref.unsafe)
                return w
        return None

    @cached_property
    def date(self) -> str:
        for el in self.root.iterfind(f"{T}teiHeader//{T}sourceDesc//{T}date"):
            if el.get("when"):
                return el.get("when")
        return ""


@dataclass(eq=False)
class Entity:
    id: str
    kind: str            # person | place | org | event
    element: object
    doc: Document

    @cached_property
    def name(self) -> str:
        if self.kind == "event":
            lab = self.element.find(T + "label")
            return curl(plain(lab)) if lab is not None else self.id
        names = self.names
        for text, lang, typ in names:
            if typ == "standard":
                return text
        for text, lang, typ in names:
            if not lang or lang.startswith("en"):
                return text
        return names[0][0] if names else self.id

    @cached_property
    def names(self) -> list[tuple[str, str, str]]:
        """(text, xml:lang, type) of every name child."""
        tags = {"person": ("persName",), "place": ("placeName", "geogName"),
                "org": ("orgName",), "event": ("label",)}[self.kind]
        out = []
        for c in self.element:
            if isinstance(c.tag, str) and local(c) in tags:
                out.append((curl(plain(c)), c.get(XML_LANG, ""), c.get("type", "")))
        return out

    @cached_property
    def index_name(self) -> str:
        """The name as an index prints it: "Mikoyan, Anastas" where the standard name is
        marked up forename-first with ``forename``/``surname``; otherwise as it stands
        (Chinese and Korean names already stand surname first)."""
        std = next((c for c in self.element if isinstance(c.tag, str) and local(c) == "persName"
                    and c.get("type") == "standard"), None)
        if std is not None:
            parts = [c for c in std if isinstance(c.tag, str)]
            names = [local(c) for c in parts]
            if "surname" in names and "forename" in names and names.index("forename") < names.index("surname"):
                sur = " ".join(plain(c) for c in parts if local(c) == "surname")
                fore = " ".join(plain(c) for c in parts if local(c) == "forename")
                return curl(f"{sur}, {fore}")
        return self.name

    @cached_property
    def sort_key(self) -> str:
        """``@sortKey`` if the entry has one, else the index name folded for sorting."""
        import unicodedata
        s = self.element.get("sortKey") or self.index_name
        s = "".join(c for c in unicodedata.normalize("NFKD", s) if not unicodedata.combining(c))
        s = re.sub(r"^(the|a|an)\s+", "", s.lower())
        return re.sub(r"[^\w\s]", "", s)

    @property
    def original_names(self) -> list[tuple[str, str]]:
        return [(t, lang) for t, lang, _ in self.names if lang and not lang.startswith("en")]

    @property
    def variants(self) -> list[str]:
        return [t for t, lang, typ in self.names if typ == "variant"]

    @cached_property
    def when(self) -> str:
        el = self.element
        return el.get("when") or el.get("from") or el.get("notBefore") or ""

    @cached_property
    def dates(self) -> str:
        el = self.element
        if el.get("when"):
            return el.get("when")
        if el.get("from") or el.get("to"):
            return f"{el.get('from', '')}/{el.get('to', '')}"
        b = el.find(T + "birth")
        d = el.find(T + "death")
        bw = b.get("when", "") if b is not None else ""
        dw = d.get("when", "") if d is not None else ""
        return f"{bw[:4]}–{dw[:4]}" if (bw or dw) else ""

    @cached_property
    def description(self) -> str:
        parts = []
        for tag in ("desc", "occupation", "note"):
            for c in self.element.iterfind(T + tag):
                parts.append(plain(c))
        return curl(" ".join(p for p in parts if p))     # the editors' words: typographic quotes


@dataclass
class Resolved:
    status: str                  # element | file | external | missing | unsafe
    doc: Document | None = None
    element: object = None
    path: Path | None = None
    url: str = ""
    print_url: bool = True       # external: the book prints the address (a profile's [[pointers.external]] may not)


@dataclass(eq=False)
class Corpus:
    project: Project
    documents: list[Document] = field(default_factory=list)   # all, in file order
    report: Report = field(default_factory=Report)
    hashes: dict = field(default_factory=dict)
    """Path (absolute, as named) -> the hash of its bytes, worked out at most once per run
    (:func:`editio.cache.file_hash` with this dict); given by whoever read the files first."""
    parsed: dict = field(default_factory=dict)
    """Resolved path -> (hash of its bytes, :class:`Document`) of the files read: what a
    later run (``serve --watch``) may take as it is when a file's bytes did not change."""
    unread: set = field(default_factory=set)
    """The files (resolved paths) that could not be read (their ``read.*`` error is in
    :attr:`report`): a pointer into one is not checked (:mod:`editio.check`)."""
    before: dict = field(default_factory=dict, repr=False)
    """An earlier corpus's resolved pointers (``serve --watch``: :meth:`resolve`'s memo of
    the last rebuild), taken again where they lead into a document of this corpus that is
    the same (unchanged, not parsed again) one."""

    # ---- loading
    @classmethod
    def load(cls, project: Project, paths: list[Path] | None = None, reuse: dict | None = None,
             hashes: dict | None = None) -> "Corpus":
        """Read every ``*.xml`` of the input directory (or ``paths``); read errors go to
        ``corpus.report`` and the file is left out.

        ``reuse`` (an earlier corpus's :attr:`parsed`): a file whose bytes hash as then, and
        that includes no other file (``xi:include``), is not parsed again; its
        :class:`Document` (the tree, and what was worked out from it alone: ids, text views,
        quotes) is taken as it was.  ``hashes``: the files' hashes known already."""
        corpus = cls(project, hashes=hashes if hashes is not None else {})
        files = sorted(paths) if paths else discover(project.input_dir, corpus.report, project)
        root = project.root.resolve()
        for i, path in enumerate(files):
            rel = project.rel(path)
            name = _name_in(project.input_dir, path)
            real = Path(path).resolve()
            old = (reuse or {}).get(real)
            if old is not None:
                from editio.cache import file_hash
                doc = old[1]
                if file_hash(Path(path), corpus.hashes) == old[0] and doc.name == name \
                        and doc.rel == rel and doc.project_root == root:
                    corpus.hashes.setdefault(str(real), old[0])
                    doc.order = i
                    corpus.documents.append(doc)
                    corpus.parsed[real] = old
                    continue
            raw: list = []
            missing: list = []
            try:
                tree = read(path, root_dir=project.root, display=rel, raw=raw, missing=missing)
            except EditioError as err:
                d = err.diagnostic
                corpus.report.add(d.file, d.line, d.col, d.severity, d.code, d.message)
                corpus.unread.add(real)
                continue
            for d in missing:         # includes of files that are not there, left out
                corpus.report.add(d.file, d.line, d.col, d.severity, d.code, d.message)
            doc = Document(name, real, rel, tree, i, root)
            corpus.documents.append(doc)
            if raw:
                from editio.cache import sha
                own = sha(raw[0])   # the bytes parsed: what the check and the site key on
                corpus.hashes[os.path.abspath(path)] = corpus.hashes[str(real)] = own
                if b"http://www.w3.org/2001/XInclude" not in raw[0]:
                    corpus.parsed[real] = (own, doc)
        return corpus

    @cached_property
    def by_name(self) -> dict[str, Document]:
        return {d.name: d for d in self.documents}

    @cached_property
    def by_id(self) -> dict[str, Document]:
        return {d.id: d for d in self.documents}

    @property
    def texts(self) -> list[Document]:
        """Documents with a text to read (not the authority files)."""
        return [d for d in self.documents if d.has_text]

    @cached_property
    def behaviour_table(self):
        """The behaviour table of this edition: the defaults plus its profile's rows."""
        from editio.behaviours import BehaviourTable
        prof = self.project.profile
        return BehaviourTable(prof.behaviours, prof)

    # ---- registries
    @cached_property
    def entities(self) -> dict[str, Entity]:
        out: dict[str, Entity] = {}
        for doc in self.documents:
            # a function of the file's tree alone: each Entity, with what it works out of
            # its element (names, sort key …), kept with the file (a server parses an
            # unchanged file once)
            mine = doc.__dict__.get("_entities")
            if mine is None:
                mine = doc.__dict__["_entities"] = [
                    Entity(el.get(XML_ID), kind, el, doc)
                    for kind in ("person", "place", "org", "event")
                    for el in doc.root.iter(T + kind) if el.get(XML_ID)]
            for e in mine:
                if e.id not in out:
                    out[e.id] = e
        return out

    def entities_of(self, kind: str) -> list[Entity]:
        ents = [e for e in self.entities.values() if e.kind == kind and not self.is_editor(e)]
        if kind == "event":
            return sorted(ents, key=lambda e: (e.when or "9999", e.name))
        return sorted(ents, key=lambda e: e.sort_key)

    def is_editor(self, ent: Entity) -> bool:
        p = ent.element.getparent()
        return p is not None and p.get("type") == "editors"

    # ---- pointers
    def resolve(self, doc: Document, token: str) -> Resolved:
        """Resolve one pointer written in ``doc`` (worked out once per document and token:
        a FRUS volume points at the same persons and terms thousands of times)."""
        memo = self.__dict__.setdefault("_resolved", {})
        key = (doc.name, token)
        try:
            return memo[key]
        except KeyError:
            pass
        old = self.before.get(key)
        # a pointer that led into a document (an element of it, or an id it lacks) leads
        # there again while that document is the same one, under the same name (the
        # pointer's own file has that name too: the key); anything else is worked out again
        if old is not None and old.doc is not None and old.status in ("element", "missing") \
                and self.by_name.get(old.doc.name) is old.doc:
            r = memo[key] = old
        else:
            r = memo[key] = self._resolve(doc, token)
        return r

    def _resolve(self, doc: Document, token: str) -> Resolved:
        token = token.strip()
        try:
            parts = urlsplit(token)
        except ValueError:  # e.g. "http://[::1": not a URL anyone can follow
            return Resolved("unsafe", url=token)
        if parts.scheme:
            if parts.scheme.lower() in SAFE_SCHEMES and len(parts.scheme) > 1:
                return Resolved("external", url=token)
            return Resolved("unsafe", url=token)
        if token.startswith("//"):
            return Resolved("unsafe", url=token)
        path, frag = unquote(parts.path), unquote(parts.fragment)
        if not path:
            target = doc
        else:
            name = posixpath.normpath(posixpath.join(posixpath.dirname(doc.name), path))
            target = self.by_name.get(name)
            if target is None:
                ext = self._external(token)
                if ext is not None:
                    return ext
                return self._resolve_file(doc, path, frag, token)
        if not frag:
            return Resolved("element", target, target.root)
        el = target.ids.get(frag)
        if el is None:
            return Resolved("missing", target)
        return Resolved("element", target, el)

    def _external(self, token: str) -> Resolved | None:
        """A pointer in one of the profile's forms for other editions (FRUS
        ``frus1952-54v15p2#d12``) -> its URL (the profile's template)."""
        for ext in self.project.profile.external:
            m = re.fullmatch(ext.pattern, token)
            if m:
                groups = {k: (v or "") for k, v in m.groupdict().items()}
                url = re.sub(r"\{(\w+)\}", lambda g: groups.get(g.group(1), ""), ext.url)
                url = re.sub(r"(?<!:)//+", "/", url).rstrip("/")
                if urlsplit(url).scheme.lower() in SAFE_SCHEMES:
                    return Resolved("external", url=url, print_url=ext.print_url)
        return None

    def _resolve_file(self, doc: Document, path: str, frag: str, token: str) -> Resolved:
        """A pointer to a file that is not a document: only inside the project (symlinks are
        followed before the test), never a hidden file or folder (``.git/config``, ``.env``),
        never the output."""
        if "\0" in path:
            return Resolved("unsafe", url=token)
        try:
            fs = (doc.path.parent / path).resolve()
            root, out = self._bounds()
            if not fs.is_relative_to(root):
                return Resolved("unsafe", path=fs, url=token)
            inner = fs.relative_to(root).parts
            if any(p.startswith(".") for p in inner) or fs.is_relative_to(out):
                return Resolved("unsafe", path=fs, url=token)
            if fs.is_file() and not frag:
                return Resolved("file", path=fs)
            return Resolved("missing", path=fs)
        except (OSError, ValueError):  # a name too long, a loop of symlinks
            return Resolved("missing", url=token)

    def _bounds(self) -> tuple[Path, Path]:
        """The project's folder and its output, symlinks followed (once per corpus: a FRUS
        volume names hundreds of page images it does not have)."""
        b = self.__dict__.get("_bounds_memo")
        if b is None:
            b = self.__dict__["_bounds_memo"] = (self.project.root.resolve(),
                                                 self.project.output_dir.resolve())
        return b

    def targets(self, doc: Document, el, attr: str) -> list[tuple[str, Resolved]]:
        """The pointers of ``attr``: a list for most pointer attributes, one URI for ``@url``
        (``data.pointer``: "Document A.1" is one name, not two)."""
        val = el.get(attr) or ""
        toks = [val.strip()] if attr in SINGLE_POINTER_ATTRS and val.strip() else val.split()
        return [(t, self.resolve(doc, t)) for t in toks]

    # ---- cross-document structures (built once)
    @cached_property
    def notes_by_target(self) -> dict:
        """element -> [note elements pointing to it with @target]."""
        out: dict = {}
        owner = self._note_owner
        for doc in self.documents:
            mine = doc.__dict__.get("_targeting_notes")   # a function of the tree alone
            if mine is None:
                mine = doc.__dict__["_targeting_notes"] = [
                    (n, (n.get("target") or "").split()) for n in doc.root.iter(T + "note")
                    if n.get("target")]
            for n, toks in mine:
                owner[n] = doc
                for tok in toks:
                    r = self.resolve(doc, tok)
                    if r.status == "element":
                        out.setdefault(r.element, []).append(n)
        return out

    @cached_property
    def _note_owner(self) -> dict:
        """note element -> its document, of the notes :attr:`notes_by_target` lists."""
        return {}

    def note_text(self, note, doc: "Document | None" = None) -> str:
        """``plain(note)`` (a function of the note alone), kept with the file that holds
        the note: ``doc``, or the one :attr:`notes_by_target` found it in."""
        owner = doc if doc is not None else self._note_owner.get(note)
        if owner is None:
            return plain(note)
        memo = owner.__dict__.setdefault("_note_texts", {})
        text = memo.get(note)
        if text is None:
            text = memo[note] = plain(note)
        return text

    @cached_property
    def mentions(self) -> dict[str, list[tuple[Document, object]]]:
        """entity id -> [(document, name element)] for every tagged mention in the texts."""
        out: dict = {}
        for doc in self.texts:
            for el in doc.name_elements:
                for tok in (el.get("ref") or el.get("key") or "").split():
                    r = self.resolve(doc, tok)
                    if r.status == "element":
                        i = r.element.get(XML_ID)
                        if i in self.entities:
                            out.setdefault(i, []).append((doc, el))
        return out

    @cached_property
    def event_passages(self) -> dict[str, list[tuple[Document, object]]]:
        """event id -> [(document, seg)] of every passage pointing to it with @corresp."""
        out: dict = {}
        for doc in self.texts:
            for el in doc.root.iter(T + "seg"):
                for tok in (el.get("corresp") or "").split():
                    r = self.resolve(doc, tok)
                    if r.status == "element" and local(r.element) == "event":
                        out.setdefault(r.element.get(XML_ID), []).append((doc, el))
        return out

    @cached_property
    def annotations(self):
        from editio.annotations import collect
        return {doc.name: collect(self, doc) for doc in self.texts}

    def all_annotations(self):
        return [a for doc in self.texts for a in self.annotations[doc.name]]


def discover(input_dir: Path, report: Report | None = None, project: Project | None = None
             ) -> list[Path]:
    """The TEI files of the input folder (``gate.scan``); symlinks, FIFOs and devices named
    like TEI files are not read, and reported as ``input.skipped`` warnings."""
    from editio import gate
    if not input_dir.is_dir():
        raise EditioError(f"input directory {input_dir} does not exist", file="editio.toml",
                          code="config.input")
    files, skipped = gate.scan(input_dir)
    for p, why in skipped if report is not None else ():
        report.warning(_shown_path(p, project.root if project else input_dir), 0, "input.skipped",
                       f"not read: {why}")
    return files


def _shown_path(p: Path, root: Path) -> str:
    try:  # not resolved: a symlink is named as itself, not as what it points to
        return Path(p).relative_to(root).as_posix()
    except ValueError:
        return str(p)


def _name_in(base: Path, path: Path) -> str:
    try:
        return Path(path).resolve().relative_to(base.resolve()).as_posix()
    except ValueError:
        return Path(path).name


def _in_header(el) -> bool:
    for a in el.iterancestors():
        if local(a) in ("teiHeader", "standOff"):
            return True
    return False


ISO_DATE = re.compile(r"^-?\d{4}(-\d{2}(-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$"
                      r"|^--\d{2}(-\d{2})?$|^---\d{2}$|^\d{2}:\d{2}(:\d{2})?(Z|[+-]\d{2}:\d{2})?$")
