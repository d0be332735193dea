"""Plain-text views of a TEI document.

* ``diplomatic``: the witness exactly as it stands: masks (``orig``), errors
  (``sic``), abbreviations as written.  Together with the layout rules of the
  behaviour table this reproduces the source text character for character.
* ``edited``: restorations (``supplied``) and corrections (``corr``, ``reg``,
  ``expan``) applied; an unrestored mask reads ``[…]``.

Line rules (the only normalisation, stated in docs/encoding.md): every
``line`` element (p, head, item ...) is one line; a ``<space dim="vertical"
quantity="n"/>`` is n empty lines; lines are joined with a single LF.
Inside a line every character of mixed content counts; white space between
the children of element-only content (choice, subst, list) does not.

:class:`TextView` also records the span (start, end) of every element it
passes, so annotations can give their offset in the text.
"""
from __future__ import annotations

from editio.behaviours import CONTAINER, LINE, OMIT, SPACE, behaviour, local

VIEWS = ("diplomatic", "edited")
ORIGINAL = ("orig", "sic", "abbr")
EDITED = ("corr", "reg", "expan", "supplied")
ELEMENT_ONLY = {"choice", "subst", "app"}
UNRESTORED = "[…]"
MAX_BLANK_LINES = 1000  # a <space dim="vertical" quantity="1e9"/> must not exhaust memory


def choice_reading(choice, view: str):
    """The child of a ``choice`` that stands in the text for ``view``."""
    kids = [c for c in choice if isinstance(c.tag, str) and local(c) != "note"]
    for want in (ORIGINAL if view == "diplomatic" else EDITED):
        for c in kids:
            if local(c) == want:
                return c
    return kids[0] if kids else None


def is_unrestored(supplied) -> bool:
    """A ``supplied`` holding only a ``gap``: a mask the editors did not restore."""
    kids = [c for c in supplied if isinstance(c.tag, str)]
    return (not (supplied.text or "").strip() and len(kids) == 1 and local(kids[0]) == "gap"
            and not (kids[0].tail or "").strip())


def contains_lines(el) -> bool:
    return any(isinstance(c.tag, str) and behaviour(c).layout in (CONTAINER, LINE, SPACE)
               for c in el)


class TextView:
    """Walks a tree once and produces the text of one view, with element spans."""

    def __init__(self, view: str = "diplomatic", spans: bool = False):
        if view not in VIEWS:
            raise ValueError(f"unknown view {view!r}")
        self.view = view
        self.parts: list[str] = []
        self.pos = 0
        self.nlines = 0
        self.spans: dict | None = {} if spans else None

    def _emit(self, s: str) -> None:
        if s:
            self.parts.append(s)
            self.pos += len(s)

    def _new_line(self) -> None:
        if self.nlines:
            self._emit("\n")
        self.nlines += 1

    def text(self) -> str:
        return "".join(self.parts)

    # block level
    def lines(self, el) -> None:
        b = behaviour(el)
        if b.layout == OMIT:
            return
        start = self.pos
        if b.layout == SPACE:
            try:
                n = int(float(el.get("quantity", "1")))
            except (ValueError, OverflowError):  # "nan", "inf"
                n = 1
            for _ in range(min(max(n, 0), MAX_BLANK_LINES)):
                self._new_line()
        elif b.layout == CONTAINER:
            for c in el:
                if isinstance(c.tag, str):
                    self.lines(c)
        elif contains_lines(el):
            self._mixed(el)
        else:
            self._new_line()
            start = self.pos
            self.inline(el)
        if self.spans is not None:
            self.spans[el] = (start, self.pos)

    def _mixed(self, el) -> None:
        """A line (or inline) element holding lines, e.g. ``<item>Intro <list>…</list></item>``
        or a ``p`` inside a ``p``: each child line is a line, and the text and inline
        children between them form lines of their own (unless only white space), so that
        no text is lost."""
        mark = None  # (parts, pos, nlines, spans) where the current run of loose content began
        pending = ""  # white space that counts only if more of the run follows

        def open_run():
            nonlocal mark
            if mark is None:
                mark = (len(self.parts), self.pos, self.nlines,
                        len(self.spans) if self.spans is not None else 0)
                self._new_line()

        def flush():
            nonlocal pending
            self._emit(pending)
            pending = ""

        def close_run():
            nonlocal mark, pending
            pending = ""  # white space before a line boundary is layout, not text
            if mark is not None and not "".join(self.parts[mark[0]:]).strip():
                del self.parts[mark[0]:]                 # only white space: no line
                self.pos, self.nlines = mark[1], mark[2]
                if self.spans is not None:
                    for k in list(self.spans)[mark[3]:]:
                        self.spans[k] = (self.pos, self.pos)
            mark = None

        def loose(s):
            nonlocal pending
            if not s:
                return
            if mark is None:
                s = s.lstrip()  # white space after a line boundary is layout too
                if not s:
                    return
                open_run()
            body = s.rstrip()
            if body:
                flush()
                self._emit(body)
            pending += s[len(body):]

        loose(el.text)
        for c in el:
            if isinstance(c.tag, str):
                lay = behaviour(c).layout
                if lay in (CONTAINER, LINE, SPACE) or contains_lines(c):
                    close_run()
                    self.lines(c)
                elif lay != OMIT:
                    open_run()
                    flush()
                    self._node(c)
            loose(c.tail)
        close_run()

    # inline level
    def inline(self, el) -> None:
        name = local(el)
        if name == "choice":
            r = choice_reading(el, self.view)
            if r is not None:
                self._node(r)
            return
        if self.view == "edited" and name == "supplied" and is_unrestored(el):
            self._emit(UNRESTORED)
            return
        skip_ws = name in ELEMENT_ONLY
        if el.text and not (skip_ws and not el.text.strip()):
            self._emit(el.text)
        for c in el:
            if isinstance(c.tag, str):
                self._node(c)
            if c.tail and not (skip_ws and not c.tail.strip()):
                self._emit(c.tail)

    def _node(self, el) -> None:
        b = behaviour(el)
        if b.layout == OMIT:
            return
        start = self.pos
        if self.view == "diplomatic" and local(el) == "supplied" and not _in_choice(el):
            pass  # the editors' addition is not the witness's text (as in the HTML)
        elif b.name == "linebreak":
            self._emit("\n")
        else:
            self.inline(el)
        if self.spans is not None:
            self.spans[el] = (start, self.pos)


def _in_choice(el) -> bool:
    p = el.getparent()
    return p is not None and local(p) == "choice"


def text_root(root):
    """The ``text`` element of a TEI document (or the element itself)."""
    if local(root) == "TEI":
        for c in root:
            if local(c) == "text":
                return c
        return None
    return root


def view_of(root, view: str = "diplomatic", spans: bool = False) -> TextView:
    tv = TextView(view, spans)
    t = text_root(root)
    if t is not None:
        tv.lines(t)
    return tv


def text_of(root, view: str = "diplomatic") -> str:
    """The plain text of a TEI document (or any element) in ``view``."""
    return view_of(root, view).text()


def plain(el, view: str = "edited") -> str:
    """Flattened text of an element (a note, a name) with white space collapsed.

    Unlike the views, notes nested in ``el`` are skipped but ``el`` itself may be a note."""
    tv = TextView(view)
    if local(el) == "note" or behaviour(el).layout != OMIT:
        _flat(tv, el)
    return " ".join(tv.text().split())


def _flat(tv: TextView, el) -> None:
    if local(el) == "choice":
        r = choice_reading(el, tv.view)
        if r is not None:
            _flat(tv, r)
        return
    if tv.view == "edited" and local(el) == "supplied" and is_unrestored(el):
        tv._emit(UNRESTORED)
        return
    if el.text:
        tv._emit(el.text)
    for c in el:
        if isinstance(c.tag, str) and local(c) != "note":
            _flat(tv, c)
            tv._emit(" ") if behaviour(c).layout in (LINE, CONTAINER) or (
                behaviour(c).name == "linebreak" and c.get("break") != "no") else None
        if c.tail:
            tv._emit(c.tail)
