"""Plain-text views of a TEI document.

* ``diplomatic``: the witness exactly as it stands: masks (``orig``), errors
  (``sic``), abbreviations as written.  Together with the layout rules of the
  behaviour table this reproduces the source text character for character.
* ``edited``: restorations (``supplied``) and corrections (``corr``, ``reg``,
  ``expan``) applied; an unrestored mask reads ``[…]``.

Line rules (the only normalisation, stated in docs/encoding.md): every
``line`` element (p, head, item ...) is one line; a ``<space dim="vertical"
quantity="n"/>`` is n empty lines; lines are joined with a single LF and the
text has no final LF unless the witness had one (``<space>`` at the end).
Inside a line every character of mixed content counts; white space between
the children of element-only content (choice, subst, list) does not.
"""
from __future__ import annotations

from editio.behaviours import CONTAINER, INLINE, LINE, OMIT, SPACE, behaviour, local

VIEWS = ("diplomatic", "edited")
ORIGINAL = {"orig", "sic", "abbr"}
EDITED = {"corr", "reg", "expan", "supplied"}
# TEI elements whose content model is element-only: their whitespace is layout
ELEMENT_ONLY = {"choice", "subst", "app", "list", "listBibl", "lg", "div", "body", "front",
                "back", "text", "TEI", "cit", "table", "row", "figure", "sp", "floatingText",
                "listPerson", "listPlace", "listOrg", "listEvent", "opener", "closer",
                "docTitle", "titlePage"}
UNRESTORED = "[…]"


def choice_reading(choice, view: str):
    """The child of a ``choice`` that stands in the text for ``view``."""
    kids = [c for c in choice if isinstance(c.tag, str) and local(c) != "note"]
    want = ORIGINAL if view == "diplomatic" else EDITED
    for c in kids:
        if local(c) in want:
            return c
    return kids[0] if kids else None


def is_unrestored(supplied) -> bool:
    """A ``supplied`` holding only a ``gap``: a mask the editors did not restore."""
    kids = [c for c in supplied if isinstance(c.tag, str)]
    return (not (supplied.text or "").strip() and len(kids) == 1 and local(kids[0]) == "gap"
            and not (kids[0].tail or "").strip())


def inline_text(el, view: str, out: list[str]) -> None:
    """Append the text of the inline content of ``el`` (children and their tails)."""
    name = local(el)
    element_only = name in ELEMENT_ONLY
    if name == "choice":
        r = choice_reading(el, view)
        if r is not None:
            _inline_node(r, view, out)
        return
    if view == "edited" and name == "supplied" and is_unrestored(el):
        out.append(UNRESTORED)
        return
    if el.text and not (element_only and not el.text.strip()):
        out.append(el.text)
    for c in el:
        if isinstance(c.tag, str):
            _inline_node(c, view, out)
        if c.tail and not (element_only and not c.tail.strip()):
            out.append(c.tail)


def _inline_node(el, view: str, out: list[str]) -> None:
    b = behaviour(el)
    if b.layout == OMIT:
        return
    if b.name == "linebreak":
        out.append("\n")
        return
    inline_text(el, view, out)


def lines(el, view: str, out: list[str]) -> None:
    """Append the lines of a container or line element to ``out``."""
    b = behaviour(el)
    if b.layout == OMIT:
        return
    if b.layout == SPACE:
        try:
            n = int(float(el.get("quantity", "1")))
        except ValueError:
            n = 1
        out.extend([""] * max(n, 0))
        return
    if b.layout in (LINE, INLINE) and not _contains_lines(el):
        buf: list[str] = []
        inline_text(el, view, buf)
        out.append("".join(buf))
        return
    for c in el:
        if isinstance(c.tag, str):
            lines(c, view, out)


def _contains_lines(el) -> bool:
    return any(isinstance(c.tag, str) and behaviour(c).layout in (CONTAINER, LINE, SPACE)
               for c in el)


def text_of(root, view: str = "diplomatic") -> str:
    """The plain text of a TEI document (or any element) in ``view``."""
    if view not in VIEWS:
        raise ValueError(f"unknown view {view!r}")
    tei = _find_text(root)
    out: list[str] = []
    if tei is not None:
        lines(tei, view, out)
    return "\n".join(out)


def _find_text(root):
    if local(root) == "TEI":
        for c in root:
            if local(c) == "text":
                return c
        return None
    return root


def plain(el, view: str = "edited") -> str:
    """Flattened text of an element (e.g. a note) with whitespace collapsed."""
    buf: list[str] = []
    name = local(el)
    if name == "note":  # a note's own content is what we want
        _note_text(el, view, buf)
    else:
        inline_text(el, view, buf)
    return " ".join("".join(buf).split())


def _note_text(el, view, buf):
    if el.text:
        buf.append(el.text)
    for c in el:
        if isinstance(c.tag, str):
            if local(c) == "choice":
                r = choice_reading(c, view)
                if r is not None:
                    _note_text(r, view, buf)
            elif local(c) not in ("note",):
                _note_text(c, view, buf)
        if c.tail:
            buf.append(c.tail)
