"""What a RELAX NG error means, in the words of a mature validator.

libxml2 says *that* an element failed ("Element graphic failed to validate attributes",
"Expecting an element , got nothing", "Did not expect element head there") and, in its error
log, *where* (the element's path).  This module reads the schema itself and works out
*what*: the attribute not allowed and the ones that are, the value refused and the values
allowed, the attribute missing, the child out of place and the children (or the end of the
element) the grammar expects there, in jing's manner::

    attribute "foo" not allowed on element "graphic"; expected attribute "height", "url" …
    element "graphic" missing required attribute "url"
    element "head" not allowed in element "list" after "item"; expected element "item" …
    element "table" incomplete; missing required element "row"

It knows the patterns of RELAX NG's XML syntax as editio's schemas and the TEI's ODD
processor write them (``define``/``ref``, ``element``/``attribute`` with ``name`` or a name
class, ``choice``/``group``/``interleave``/``optional``/``zeroOrMore``/``oneOrMore``/``mixed``,
``text``/``empty``/``notAllowed``, ``data``/``value``/``list``).  A child's place is found by
derivatives (Brzozowski, as James Clark's algorithm for RELAX NG) over the element's
children by name; a value is checked by libxml2 against a small grammar holding only that
attribute's pattern.  Nothing here is specific to one edition or schema; an
:class:`Explainer` is made for one schema and one run (no module state).
"""
from __future__ import annotations

import difflib
import re

from lxml import etree

RNG_NS = "http://relaxng.org/ns/structure/1.0"
R = "{%s}" % RNG_NS
XML_NS = "http://www.w3.org/XML/1998/namespace"
XSD = "http://www.w3.org/2001/XMLSchema-datatypes"
MAX_LISTED = 12

# ---------------------------------------------------------------- name classes

def _name_class(node, attribute: bool, inherited_ns: str):
    """A name class as nested tuples: ('name', ns, local), ('any', except), ('ns', ns,
    except), ('choice', a, b).  ``node`` is the ``element``/``attribute`` pattern."""
    if node.get("name") is not None:
        return _qname(node, node.get("name"), attribute, inherited_ns)
    for child in node:
        if isinstance(child.tag, str) and child.tag in (R + "name", R + "anyName", R + "nsName", R + "choice"):
            return _nc(child, attribute, inherited_ns)
    return ("any", None)


def _qname(node, name: str, attribute: bool, inherited_ns: str):
    name = name.strip()
    if ":" in name:
        prefix, loc = name.split(":", 1)
        ns = XML_NS if prefix == "xml" else node.nsmap.get(prefix, "")
        return ("name", ns, loc)
    if node.get("ns") is not None:
        return ("name", node.get("ns"), name)
    return ("name", "" if attribute else inherited_ns, name)


def _nc(node, attribute: bool, inherited_ns: str):
    tag = node.tag
    ns_here = _ns_of(node, inherited_ns)
    if tag == R + "name":
        text = (node.text or "").strip()
        if ":" in text:
            return _qname(node, text, attribute, ns_here)
        return ("name", ns_here, text)
    if tag == R + "anyName" or tag == R + "nsName":
        exc = None
        for c in node:
            if isinstance(c.tag, str) and c.tag == R + "except":
                parts = [_nc(x, attribute, ns_here) for x in c if isinstance(x.tag, str) and x.tag.startswith(R)]
                exc = parts[0] if len(parts) == 1 else ("choices", tuple(parts))
        if tag == R + "anyName":
            return ("any", exc)
        return ("ns", ns_here, exc)
    if tag == R + "choice":
        parts = [_nc(x, attribute, ns_here) for x in node if isinstance(x.tag, str) and x.tag.startswith(R)]
        return ("choices", tuple(parts))
    return ("any", None)


def _ns_of(node, default: str) -> str:
    """The ``ns`` in force at ``node`` (its own, else the nearest ancestor's)."""
    x = node
    while x is not None:
        if x.get("ns") is not None:
            return x.get("ns")
        x = x.getparent()
    return default


def _matches(nc, ns: str, loc: str) -> bool:
    kind = nc[0]
    if kind == "name":
        return nc[1] == ns and nc[2] == loc
    if kind == "any":
        return nc[1] is None or not _matches(nc[1], ns, loc)
    if kind == "ns":
        return nc[1] == ns and (nc[2] is None or not _matches(nc[2], ns, loc))
    return any(_matches(p, ns, loc) for p in nc[1])


def _names(nc) -> list[tuple[str, str]]:
    """The plain names a name class lists (none for "any name")."""
    if nc[0] == "name":
        return [(nc[1], nc[2])]
    if nc[0] == "choices":
        return [n for p in nc[1] for n in _names(p)]
    return []


# ---------------------------------------------------------------- patterns

class _P:
    __slots__ = ("kind", "a", "b", "nc", "node", "null")

    def __init__(self, kind, a=None, b=None, nc=None, node=None):
        self.kind, self.a, self.b, self.nc, self.node = kind, a, b, nc, node
        self.null = None


TEXT_TOKEN = ("#text",)


class Explainer:
    """One schema's grammar, read for explaining errors (one run; nothing global)."""

    def __init__(self, rng_tree):
        root = rng_tree.getroot() if hasattr(rng_tree, "getroot") else rng_tree
        if root.tag != R + "grammar":
            raise ValueError("not a RELAX NG grammar in XML syntax")
        if any(True for _ in root.iter(R + "include", R + "externalRef", R + "parentRef")):
            raise ValueError("a grammar that pulls in others")
        self.root = root
        self._alive = list(root.iter())   # the node proxies stay alive: their ids are keys
        self.datatype_library = root.get("datatypeLibrary", "")
        self.defines: dict[str, list] = {}
        for d in root.iter(R + "define"):
            self.defines.setdefault(d.get("name"), []).append(d)
        self._intern: dict = {}
        self._compiled: dict = {}
        self._deriv: dict = {}
        self._first: dict = {}
        self._content: dict = {}
        self._attrs: dict = {}
        self._value_check: dict = {}
        self.EMPTY = self._mk("empty")
        self.NA = self._mk("notAllowed")
        self.TEXT = self._mk("text")
        self.DATA = self._mk("data")
        self.elements: dict[tuple, list] = {}      # (ns, local) -> element patterns (nodes)
        self.wild_elements: list = []
        for el in root.iter(R + "element"):
            nc = _name_class(el, False, _ns_of(el, ""))
            names = _names(nc)
            for n in names:
                self.elements.setdefault(n, []).append(el)
            if not names:
                self.wild_elements.append((nc, el))
        self._global_attrs = None
        self._ubiquity = None

    # -- construction (hash-consed: equal patterns are the same object) --
    def _mk(self, kind, a=None, b=None, nc=None, node=None):
        key = (kind, id(a), id(b), id(node))
        p = self._intern.get(key)
        if p is None:
            p = self._intern[key] = _P(kind, a, b, nc, node)
        return p

    def choice(self, a, b):
        if a is self.NA:
            return b
        if b is self.NA or a is b:
            return a
        return self._mk("choice", a, b)

    def group(self, a, b):
        return self._both("group", a, b)

    def interleave(self, a, b):
        return self._both("interleave", a, b)

    def _both(self, kind, a, b):
        """A group or interleave of two patterns: notAllowed if either is, the other if
        one is empty."""
        if a is self.NA or b is self.NA:
            return self.NA
        if a is self.EMPTY:
            return b
        if b is self.EMPTY:
            return a
        return self._mk(kind, a, b)

    def one_or_more(self, p):
        if p is self.NA or p is self.EMPTY:
            return p
        return self._mk("oneOrMore", p)

    def _children(self, node):
        return [c for c in node if isinstance(c.tag, str) and c.tag.startswith(R)]

    def _seq(self, nodes, how="group"):
        out = self.EMPTY if how != "choice" else self.NA
        for n in nodes:
            p = self.compile(n)
            out = self.choice(out, p) if how == "choice" else \
                self.interleave(out, p) if how == "interleave" else self.group(out, p)
        return out

    def compile(self, node):
        """The content pattern ``node`` stands for (attributes count as matched: they are
        checked on their own); an ``element`` is a leaf, its content compiled when asked."""
        key = id(node)
        p = self._compiled.get(key)
        if p is not None:
            return p
        tag = node.tag
        kids = self._children(node)
        if tag == R + "element":
            p = self._mk("element", nc=_name_class(node, False, _ns_of(node, "")), node=node)
        elif tag in (R + "group", R + "define", R + "start"):
            p = self._seq(kids)
        elif tag == R + "choice":
            p = self._seq(kids, "choice")
        elif tag == R + "interleave":
            p = self._seq(kids, "interleave")
        elif tag == R + "optional":
            p = self.choice(self._seq(kids), self.EMPTY)
        elif tag == R + "zeroOrMore":
            p = self.choice(self.one_or_more(self._seq(kids)), self.EMPTY)
        elif tag == R + "oneOrMore":
            p = self.one_or_more(self._seq(kids))
        elif tag == R + "mixed":
            p = self.interleave(self.TEXT, self._seq(kids))
        elif tag == R + "ref":
            ds = self.defines.get(node.get("name"), [])
            p = self.NA
            for d in ds:
                p = self.choice(p, self.compile(d)) if d.get("combine") != "interleave" else \
                    self.interleave(p if p is not self.NA else self.EMPTY, self.compile(d))
        elif tag == R + "text":
            p = self.TEXT
        elif tag in (R + "data", R + "value", R + "list"):
            p = self.DATA
        elif tag in (R + "attribute", R + "empty"):
            p = self.EMPTY
        elif tag == R + "notAllowed":
            p = self.NA
        else:   # annotations, name classes: no content
            p = self.EMPTY
        self._compiled[key] = p
        return p

    def nullable(self, p) -> bool:
        if p.null is None:
            k = p.kind
            if k in ("empty", "text", "data"):
                p.null = True
            elif k in ("notAllowed", "element"):
                p.null = False
            elif k == "choice":
                p.null = self.nullable(p.a) or self.nullable(p.b)
            elif k in ("group", "interleave"):
                p.null = self.nullable(p.a) and self.nullable(p.b)
            else:   # oneOrMore
                p.null = self.nullable(p.a)
        return p.null

    def deriv(self, p, tok):
        key = (id(p), tok)
        d = self._deriv.get(key)
        if d is not None:
            return d
        k = p.kind
        if k == "choice":
            d = self.choice(self.deriv(p.a, tok), self.deriv(p.b, tok))
        elif k == "group":
            d = self.group(self.deriv(p.a, tok), p.b)
            if self.nullable(p.a):
                d = self.choice(d, self.deriv(p.b, tok))
        elif k == "interleave":
            d = self.choice(self.interleave(self.deriv(p.a, tok), p.b),
                            self.interleave(p.a, self.deriv(p.b, tok)))
        elif k == "oneOrMore":
            d = self.group(self.deriv(p.a, tok), self.choice(p, self.EMPTY))
        elif k == "element":
            d = self.EMPTY if tok is not TEXT_TOKEN and _matches(p.nc, tok[0], tok[1]) else self.NA
        elif k == "text":
            d = self.TEXT if tok is TEXT_TOKEN else self.NA
        elif k == "data":
            d = self.EMPTY if tok is TEXT_TOKEN else self.NA
        else:
            d = self.NA
        self._deriv[key] = d
        return d

    def first(self, p) -> tuple[frozenset, bool]:
        """(element patterns that may come next, whether text may)."""
        got = self._first.get(id(p))
        if got is not None:
            return got
        k = p.kind
        if k == "element":
            got = (frozenset([p]), False)
        elif k in ("text", "data"):
            got = (frozenset(), True)
        elif k in ("choice", "interleave"):
            a, b = self.first(p.a), self.first(p.b)
            got = (a[0] | b[0], a[1] or b[1])
        elif k == "group":
            a = self.first(p.a)
            if self.nullable(p.a):
                b = self.first(p.b)
                a = (a[0] | b[0], a[1] or b[1])
            got = a
        elif k == "oneOrMore":
            got = self.first(p.a)
        else:
            got = (frozenset(), False)
        self._first[id(p)] = got
        return got

    # -- elements of the grammar --
    def patterns_for(self, el) -> list:
        ns, loc = _split(el.tag)
        found = list(self.elements.get((ns, loc), []))
        found += [node for nc, node in self.wild_elements if _matches(nc, ns, loc)]
        return found

    def content_of(self, node):
        p = self._content.get(id(node))
        if p is None:
            kids = self._children(node)
            if node.get("name") is None:
                kids = kids[1:]          # the first child is the name class
            p = self._content[id(node)] = self._seq(kids)
        return p

    def attributes_of(self, node) -> list[tuple]:
        """[(name class, value pattern node or None, required)] of an element pattern."""
        got = self._attrs.get(id(node))
        if got is not None:
            return got
        out: list = []

        def walk(n, required, seen):
            for c in self._children(n):
                t = c.tag
                if t == R + "attribute":
                    vals = self._children(c)
                    if c.get("name") is None:
                        vals = vals[1:]  # the first child is the name class
                    out.append((_name_class(c, True, ""), vals[0] if vals else None, required))
                elif t == R + "element" or t in (R + "name", R + "anyName", R + "nsName"):
                    continue
                elif t == R + "ref":
                    name = c.get("name")
                    if name in seen:
                        continue
                    for d in self.defines.get(name, []):
                        walk(d, required, seen | {name})
                elif t in (R + "optional", R + "zeroOrMore", R + "choice"):
                    walk(c, False, seen)
                elif t in (R + "group", R + "interleave", R + "oneOrMore", R + "mixed"):
                    walk(c, required, seen)
        walk(node, True, frozenset())
        self._attrs[id(node)] = out
        return out

    def global_attributes(self) -> set:
        """Attribute names allowed on nearly every element (the TEI's global ones)."""
        if self._global_attrs is None:
            count: dict = {}
            nodes = [n for ns in self.elements.values() for n in ns]
            for node in nodes:
                for name in {n for nc, _, _ in self.attributes_of(node) for n in _names(nc)}:
                    count[name] = count.get(name, 0) + 1
            self._global_attrs = {n for n, c in count.items() if c >= 0.8 * max(len(nodes), 1)}
        return self._global_attrs

    # -- values --
    def value_ok(self, vnode, value: str) -> bool:
        """Whether ``value`` matches the attribute value pattern ``vnode`` (libxml2 checks
        it against a grammar of that pattern alone)."""
        if vnode is None:
            return True
        v = self._value_check.get(id(vnode))
        if v is None:
            g = etree.Element(R + "grammar", nsmap={None: RNG_NS},
                              datatypeLibrary=self.datatype_library)
            start = etree.SubElement(g, R + "start")
            el = etree.SubElement(start, R + "element", name="x")
            at = etree.SubElement(el, R + "attribute", name="v")
            at.append(self._inline(vnode, set()))
            try:
                v = etree.RelaxNG(g)
            except etree.RelaxNGParseError:
                v = False
            self._value_check[id(vnode)] = v
        if v is False:
            return True
        x = etree.Element("x", v=value)
        return bool(v.validate(x))

    def _inline(self, node, seen):
        """A copy of a value pattern with its ``ref``s replaced by what they name, and the
        datatype library made explicit."""
        if node.tag == R + "ref":
            ds = self.defines.get(node.get("name"), [])
            name = node.get("name")
            if name in seen or not ds:
                return etree.Element(R + "notAllowed")
            parts = [self._inline(k, seen | {name}) for d in ds for k in self._children(d)]
            if len(parts) == 1:
                return parts[0]
            grp = etree.Element(R + "group")
            grp.extend(parts)
            return grp
        copy = etree.Element(node.tag, dict(node.attrib))
        copy.text = node.text
        if node.tag in (R + "data", R + "value") and copy.get("datatypeLibrary") is None:
            lib = next((a.get("datatypeLibrary") for a in node.iterancestors()
                        if a.get("datatypeLibrary") is not None), self.datatype_library)
            copy.set("datatypeLibrary", lib)
        for k in node:
            if isinstance(k.tag, str) and k.tag.startswith(R):
                copy.append(self._inline(k, seen))
        return copy

    def describe_value(self, vnode) -> str:
        """What a value pattern allows, in words."""
        words = self._describe(vnode, set()) if vnode is not None else []
        words = list(dict.fromkeys(w for w in words if w))
        if not words:
            return ""
        quoted = [w for w in words if w.startswith('"')]
        other = [w for w in words if not w.startswith('"')]
        if len(quoted) > MAX_LISTED:
            quoted = quoted[:MAX_LISTED] + [_others(len(quoted) - MAX_LISTED)]
        return _or(quoted + other)

    def _describe(self, node, seen) -> list[str]:
        t = node.tag
        if t == R + "ref":
            name = node.get("name")
            if name in seen:
                return []
            return [w for d in self.defines.get(name, []) for k in self._children(d)
                    for w in self._describe(k, seen | {name})]
        if t == R + "value":
            return [f'"{node.text}"' if node.text else "empty"]
        if t == R + "data":
            pat = node.find(R + "param[@name='pattern']")
            typ = node.get("type", "")
            if pat is not None:
                kind = "a value" if typ in ("token", "string", "normalizedString", "") else \
                    DATATYPES.get(typ, "a value")
                if (pat.text or "").strip() == r"\S+":
                    return [f"{kind} without spaces"]
                if (pat.text or "").strip() == r"[^\p{C}\p{Z}]+":     # the TEI's teidata.word
                    return [f"{kind} of one word, without spaces"]
                return [f'{kind} matching "{pat.text}"']
            return [DATATYPES.get(typ, f'a value of type "{typ}"')]
        if t == R + "list":
            inner = [w for k in self._children(node) for w in self._describe(k, seen)]
            return [_or(inner) + ", or several separated by spaces"] if inner else []
        if t == R + "text":
            return ["any text"]
        if t == R + "empty":
            return ["empty"]
        return [w for k in self._children(node) for w in self._describe(k, seen)]

    # ------------------------------------------------------------ explaining
    def explain(self, el, kind: str = "", message: str = "") -> list[tuple]:
        """[(element, attribute name or None, message)] for libxml2's error at ``el``."""
        if el.getparent() is None:
            found = self.check_root(el)
            if found:
                return found
        if kind in ("RELAXNG_ERR_ELEMWRONG", "RELAXNG_ERR_EXTRACONTENT", "RELAXNG_ERR_ELEMNAME",
                    "RELAXNG_ERR_INTEREXTRA", "RELAXNG_ERR_ELEMEXTRANS", "RELAXNG_ERR_NOTELEM",
                    "RELAXNG_ERR_ELEMNONS", "RELAXNG_ERR_ELEMWRONGNS") and el.getparent() is not None:
            found = self.check_content(el.getparent(), at=el)
            if found:
                return found
        found = self.check_element(el)
        if found:
            return found
        if el.getparent() is not None:
            found = self.check_content(el.getparent(), at=el)
            if found:
                return found
        return []

    def check_root(self, el) -> list[tuple]:
        """The file's root against the grammar's ``start``."""
        start = self.root.find(R + "start")
        if start is None:
            return []
        p = self._seq(self._children(start))
        if self.deriv(p, _split(el.tag)) is not self.NA:
            return []
        expected = self._expected(p, el)
        return [(el, None, f'element "{_shown(el)}" not allowed as the root of the file; expected '
                 + _expectation(expected, el, end=False) + self._ns_hint(el, p))]

    def _ns_hint(self, el, p) -> str:
        """" (the schema has it in namespace …)" for an element whose name the grammar
        expects there in another namespace (a TEI file without its xmlns)."""
        ns, loc = _split(el.tag)
        other = sorted({n for q in self.first(p)[0] for n, l in _names(q.nc) if l == loc and n != ns})
        if not other:
            return ""
        return f' (the schema has "{loc}" in namespace "{other[0]}"; this one is in ' + \
            (f'namespace "{ns}")' if ns else "no namespace)")

    def check_element(self, el, depth: int = 0) -> list[tuple]:
        """The first thing wrong with ``el``: an attribute, then its content."""
        pats = self.patterns_for(el)
        if not pats:
            return [(el, None, f'element "{_shown(el)}" is not declared by the schema')]
        found = self.check_attributes(el, pats)
        if found:
            return found
        return self.check_content(el, depth=depth)

    def check_attributes(self, el, pats=None) -> list[tuple]:
        pats = pats if pats is not None else self.patterns_for(el)
        if not pats:
            return []
        best = None
        for node in pats:
            problems = self._attribute_problems(el, node)
            if not problems:
                return []
            if best is None or len(problems) < len(best):
                best = problems
        return best or []

    def _attribute_problems(self, el, node) -> list[tuple]:
        decl = self.attributes_of(node)
        out = []
        present = set()
        for qn, value in el.attrib.items():
            ns, loc = _split(qn)
            present.add((ns, loc))
            matching = [(nc, v) for nc, v, _ in decl if _matches(nc, ns, loc)]
            name = _attr_shown(ns, loc, el)
            if not matching:
                out.append((el, name, self._not_allowed(el, name, decl)))
                continue
            if not any(self.value_ok(v, value) for _, v in matching):
                allowed = _or([w for _, v in matching if v is not None
                               for w in [self.describe_value(v)] if w])
                out.append((el, name, f'value "{_clip(value)}" of attribute "{name}" on element '
                                      f'"{_shown(el)}" is invalid' + (f"; must be {allowed}" if allowed else "")))
        for nc, _, required in decl:
            if required and nc[0] == "name" and (nc[1], nc[2]) not in present:
                out.append((el, None, f'element "{_shown(el)}" missing required attribute '
                                      f'"{_attr_shown(nc[1], nc[2], el)}"'))
        return out

    def _not_allowed(self, el, name, decl) -> str:
        names = sorted({_attr_shown(ns, loc, el) for nc, _, _ in decl for ns, loc in _names(nc)})
        if not names:
            return f'attribute "{name}" not allowed on element "{_shown(el)}"; it takes no attributes'
        glob = {_attr_shown(ns, loc, el) for ns, loc in self.global_attributes()}
        own = [n for n in names if n not in glob]
        close = difflib.get_close_matches(name, names, n=1, cutoff=0.6)
        msg = f'attribute "{name}" not allowed on element "{_shown(el)}"'
        if close:
            msg += f' (did you mean "{close[0]}"?)'
        listed = own[:MAX_LISTED]
        if listed:
            words = [f'"{n}"' for n in listed]
            if len(own) > len(listed):
                words.append(_others(len(own) - len(listed)))
            if glob:
                words.append("a global attribute (" + ", ".join(f'"{n}"' for n in sorted(glob)[:4]) + " …)")
            msg += "; expected attribute " + _or(words)
        else:
            msg += "; expected a global attribute (" + ", ".join(f'"{n}"' for n in names[:6]) + \
                   (" …)" if len(names) > 6 else ")")
        return msg

    def check_content(self, el, at=None, depth: int = 0) -> list[tuple]:
        """Run ``el``'s children through its content model; the first child (or text) it
        refuses, or the end it does not reach.  With ``at``, a child that fits is looked at
        on its own (its attributes, its content)."""
        pats = self.patterns_for(el)
        if not pats:
            return []
        results = [self._run(el, node) for node in pats]
        if any(r is None for r in results):   # one of its patterns takes these children
            if at is not None and depth < 8:
                return self.check_element(at, depth + 1) if at is not el else []
            return []
        # the pattern that went furthest
        stop, p, prev, bad = max(results, key=lambda r: r[0])
        expected = self._expected(p, el)
        where = f'element "{_shown(el)}"'
        if bad is None:
            closing = [n for n in expected[0] if n in self._closing]
            if len(closing) == 1 or (not closing and len(expected[0]) == 1 and not expected[1]):
                return [(el, None, f"{where} incomplete; missing required element {(closing or expected[0])[0]}")]
            if closing:
                expected = (closing, False)
            return [(el, None, f"{where} incomplete; expected " + _expectation(expected, el, end=False))]
        after = " after text" if isinstance(prev, str) else \
            f' after element "{_shown(prev)}"' if prev is not None else " at its start"
        if isinstance(bad, str):
            return [(el, None, f"text not allowed in {where}{after}; expected "
                     + _expectation(expected, el, end=self.nullable(p)))]
        return [(bad, None, f'element "{_shown(bad)}" not allowed in {where}{after}; expected '
                 + _expectation(expected, el, end=self.nullable(p)) + self._ns_hint(bad, p))]

    def _run(self, el, node):
        """None if ``el``'s children fit the element pattern ``node``, else (how many fit,
        the pattern there, the child before, the child refused: an element, "text", or None
        for the end)."""
        p = self.content_of(node)
        prev = None
        n = 0
        for tok, child in _tokens(el):
            d = self.deriv(p, tok)
            if d is self.NA:
                return (n, p, prev, child)
            p = d
            n += 1
            prev = child
        if self.nullable(p):
            return None
        return (n + 0.5, p, prev, None)

    def _expected(self, p, el):
        """(the element names that may come next, whether text may): first those that
        would let the element end there, then the rarer before those allowed almost
        everywhere (milestones, notes: the TEI's model.global)."""
        pats, text = self.first(p)
        ranked = {}
        self._closing = set()
        for q in pats:
            ns_names = _names(q.nc)
            for ns, loc in ns_names:
                closes = self.nullable(self.deriv(p, (ns, loc)))
                key = (not closes, self.ubiquity().get((ns, loc), 0), loc)
                name = _name_shown(ns, loc, el)
                if name == loc and ns != _split(el.tag)[0] and any(
                        (n2, l2) != (ns, loc) and l2 == loc and _name_shown(n2, l2, el) != loc
                        for q2 in pats for n2, l2 in _names(q2.nc)):
                    continue   # the same name in a namespace the file uses is listed
                shown = f'"{name}"'
                ranked[shown] = min(key, ranked.get(shown, key))
                if closes:
                    self._closing.add(shown)
            if not ns_names:
                ranked["an element of another vocabulary"] = (True, 10 ** 6, "~")
        return sorted(ranked, key=ranked.get), text

    def ubiquity(self) -> dict:
        """(ns, local) -> in how many elements' content it may stand."""
        if self._ubiquity is None:
            count: dict = {}
            memo: dict = {}

            def leaves(p):
                got = memo.get(id(p))
                if got is None:
                    if p.kind == "element":
                        got = frozenset(_names(p.nc))
                    elif p.kind in ("choice", "group", "interleave"):
                        got = leaves(p.a) | leaves(p.b)
                    elif p.kind == "oneOrMore":
                        got = leaves(p.a)
                    else:
                        got = frozenset()
                    memo[id(p)] = got
                return got
            for nodes in self.elements.values():
                for node in nodes:
                    for n in leaves(self.content_of(node)):
                        count[n] = count.get(n, 0) + 1
            self._ubiquity = count
        return self._ubiquity


DATATYPES = {
    "string": "any text", "token": "a word or phrase", "normalizedString": "any text",
    "NCName": "a name without spaces or colons", "Name": "a name without spaces",
    "NMTOKEN": "a name without spaces", "NMTOKENS": "names separated by spaces",
    "ID": "an identifier (a name without spaces or colons, unique in the file)",
    "IDREF": "an identifier", "IDREFS": "identifiers separated by spaces",
    "anyURI": "a URI (a link)", "language": 'a language tag such as "en" or "zh-Hant"',
    "boolean": '"true" or "false"', "integer": "a whole number", "int": "a whole number",
    "nonNegativeInteger": "a whole number (0 or more)", "positiveInteger": "a whole number (1 or more)",
    "decimal": "a number", "double": "a number", "float": "a number",
    "date": "a date as 1957-11-23", "gYear": "a year as 1957", "gYearMonth": "a month as 1957-11",
    "gMonth": "a month as --11", "gMonthDay": "a day as --11-23", "gDay": "a day as ---23",
    "dateTime": "a date and time as 1957-11-23T14:30:00", "time": "a time as 14:30:00",
    "duration": "a duration as P2D or PT3H",
}


def resolve_path(tree, path: str):
    """The element libxml2's error ``path`` names ("/*/*[2]/frus:attachment[3]"), or None."""
    if not path or not path.startswith("/"):
        return None
    root = tree.getroot() if hasattr(tree, "getroot") else tree
    steps = path.strip("/").split("/")
    m = re.fullmatch(r"([^\[]+)(?:\[(\d+)\])?", steps[0])
    if not m or not _step_matches(root, m.group(1)):
        return None
    el = root
    for step in steps[1:]:
        m = re.fullmatch(r"([^\[]+)(?:\[(\d+)\])?", step)
        if not m:
            return None
        kids = [c for c in el if isinstance(c.tag, str) and _step_matches(c, m.group(1))]
        i = int(m.group(2) or 1)
        if not 0 < i <= len(kids):
            return None
        el = kids[i - 1]
    return el


def _step_matches(el, name: str) -> bool:
    if name == "*":
        return True
    prefix, _, loc = name.rpartition(":")
    return _split(el.tag)[1] == loc and (not prefix or el.prefix == prefix)


def _split(qn: str) -> tuple[str, str]:
    if qn.startswith("{"):
        ns, loc = qn[1:].split("}", 1)
        return ns, loc
    return "", qn


def _shown(el) -> str:
    ns, loc = _split(el.tag)
    return _name_shown(ns, loc, el)


def _name_shown(ns: str, loc: str, el) -> str:
    """``loc``, or ``prefix:loc`` for an element outside the document's default namespace."""
    root = el.getroottree().getroot()
    if ns == (root.nsmap.get(None) or "") or ns == _split(root.tag)[0]:
        return loc
    for prefix, uri in list(el.nsmap.items()) + list(root.nsmap.items()):
        if uri == ns and prefix:
            return f"{prefix}:{loc}"
    return loc   # a namespace the file does not use: its name alone


def _attr_shown(ns: str, loc: str, el) -> str:
    if not ns:
        return loc
    if ns == XML_NS:
        return f"xml:{loc}"
    for prefix, uri in el.nsmap.items():
        if uri == ns and prefix:
            return f"{prefix}:{loc}"
    return f"{{{ns}}}{loc}"


def _tokens(el):
    """The children as the grammar sees them: elements by name, text that is not only
    white space (adjacent pieces as one)."""
    pending = bool(el.text and el.text.strip())
    for c in el:
        if pending:
            yield TEXT_TOKEN, "text"
            pending = False
        if isinstance(c.tag, str):
            yield _split(c.tag), c
        if c.tail and c.tail.strip():
            pending = True
    if pending:
        yield TEXT_TOKEN, "text"


def _or(words: list[str]) -> str:
    words = [w for w in words if w]
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " or " + words[-1]


def _expectation(expected, el, end: bool) -> str:
    names, text = expected
    parts = []
    if names:
        listed = names[:MAX_LISTED]
        more = f" (and {len(names) - len(listed)} more)" if len(names) > len(listed) else ""
        parts.append("element " + (", ".join(listed) if len(parts) or text or end or more
                                   else _or(listed)) + more)
    if text:
        parts.append("text")
    if end:
        parts.append(f'the end of "{_shown(el)}"')
    return _or(parts) if parts else "nothing more"


def _others(n: int) -> str:
    return "1 other" if n == 1 else f"{n} others"


def _clip(value: str, n: int = 40) -> str:
    value = " ".join(value.split())
    return value if len(value) <= n else value[: n - 1] + "…"


_REWORDINGS = [   # libxml2's wording -> the same said as jing says it
    (r"Did not expect element (\S+) there", lambda m: f'element "{m[1]}" not allowed here'),
    (r"Element (\S+) has extra content: (\S+)",
     lambda m: f'element "{m[2]}" not allowed in element "{m[1]}"'),
    (r"Invalid attribute (\S+) for element (\S+)",
     lambda m: f'attribute "{m[1]}" not allowed on element "{m[2]}", or its value is invalid'),
    (r"Element (\S+) failed to validate attributes",
     lambda m: f'element "{m[1]}" has an attribute not allowed or a required one missing'),
    (r"Element (\S+) failed to validate content", lambda m: f'the content of element "{m[1]}" is invalid'),
    (r"Did not expect text in element (\S+) content", lambda m: f'text not allowed in element "{m[1]}"'),
    (r"Expecting element (\S+), got (\S+)",
     lambda m: f'element "{m[2]}" not allowed here; expected element "{m[1]}"'),
    (r"Expecting an element ?(\S*), got nothing",
     lambda m: "element incomplete; expected element " + (f'"{m[1]}"' if m[1] else "content")),
    (r"Error validating datatype (\S+)",
     lambda m: f'value invalid: must be {DATATYPES.get(m[1], "of type " + m[1])}'),
    (r"Element (\S+) has wrong namespace: expecting (\S+)",
     lambda m: f'element "{m[1]}" in the wrong namespace; expected {m[2]}'),
]


def reword(message: str) -> str:
    """libxml2's message said in the same manner, for an error that cannot be located
    at an element (no path) or that the grammar does not explain."""
    for pattern, said in _REWORDINGS:
        m = re.match(pattern, message)
        if m:
            return said(m)
    return message[:1].lower() + message[1:]
