"""Typographic quotes and apostrophes for the edited reading.

The diplomatic reading keeps the source's characters; the edited reading (the site's
edited view, the printed book, the editors' notes) sets straight quotes as typographic
ones, as a printed edition does: ``People's`` -> ``People’s``, ``"Yes"`` -> ``“Yes”``,
``'the 50s'`` -> ``‘the 50s’``, ``'50s`` -> ``’50s``.

:func:`curl` turns one string; :func:`curl_tree` walks a TEI text in its edited reading
(the readings a ``choice`` shows in the edited view, never the source's side) so that a
quote is opened or closed by what precedes it across element boundaries, and returns the
changed text slots, ``{(element, "text" | "tail"): curled}``.  The transforms run it once
per document (:func:`editio.transforms.resolve`); every renderer reads the result.

Code, identifiers and URLs are left alone: the text of the elements in :data:`LITERAL`
and any run of characters that holds ``://`` or is inside ``<…>``.
"""
from __future__ import annotations

import re

from editio.behaviours import local
from editio.text import choice_reading

# TEI elements whose text is literal (code, names of elements and attributes, ids, URLs)
LITERAL = frozenset({"code", "ident", "gi", "att", "val", "tag", "eg", "egXML", "idno", "url",
                     "formula", "email"})
# the source's side of a choice: never in the edited reading
_SOURCE_SIDE = frozenset({"orig", "sic", "abbr"})

_OPENERS = set(" \t\r\n\u00a0([{<\u2018\u201c\u2014\u2013-/")
_URL = re.compile(r"\S*://\S*")


def curl(s: str, prev: str = "") -> str:
    """``s`` with straight quotes made typographic; ``prev`` is the character before it."""
    if "'" not in s and '"' not in s:
        return s
    keep = [False] * len(s)
    for m in _URL.finditer(s):
        for i in range(m.start(), m.end()):
            keep[i] = True
    out = []
    p = prev
    for i, c in enumerate(s):
        if c in "'\"" and not keep[i]:
            opening = p == "" or p in _OPENERS
            nxt = s[i + 1] if i + 1 < len(s) else ""
            if c == "'":
                if opening and nxt.isdigit() and re.match(r"\d\ds\b", s[i + 1:]):
                    c = "\u2019"                                   # ’50s
                else:
                    c = "\u2018" if opening else "\u2019"
            else:
                c = "\u201c" if opening else "\u201d"
        out.append(c)
        p = c
    return "".join(out)


def curl_tree(root, literal=LITERAL) -> dict:
    """The curled text slots of ``root``'s edited reading: ``{(el, "text"|"tail"): str}``,
    only those that change.  Notes start afresh (they are read apart from the text)."""
    out: dict = {}
    last = [""]

    def slot(el, name, s):
        if not s:
            return
        c = curl(s, last[0])
        if c != s:
            out[(el, name)] = c
        last[0] = c[-1]

    def walk(el):
        name = local(el)
        if name in literal:
            if el.text or len(el):
                last[0] = "x"
            return
        if name == "choice":
            shown = choice_reading(el, "edited")
            for c in el:
                if isinstance(c.tag, str) and c is shown:
                    walk(c)
            return
        parent = el.getparent()
        if name in _SOURCE_SIDE and parent is not None and local(parent) == "choice":
            return
        saved = None
        if name == "note":
            saved, last[0] = last[0], ""
        slot(el, "text", el.text)
        for c in el:
            if isinstance(c.tag, str):
                walk(c)
            slot(c, "tail", c.tail)
        if saved is not None:
            last[0] = saved

    walk(root)
    return out
