"""Dates in words for readers: ISO 8601 ("1957-12-16", "1958-02", "1950") and the TEI's
date attributes (``@when``, ``@from``/``@to``, ``@notBefore``/``@notAfter``) as "16
December 1957", "February 1958", "16–25 December 1957". Nothing here is English-only but
the month names, which a profile may replace (``months``)."""
from __future__ import annotations

import re

MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")
_ISO = re.compile(r"(-?\d{4})(?:-(\d{2}))?(?:-(\d{2}))?")


def _parts(iso: str):
    m = _ISO.fullmatch((iso or "").strip())
    if not m:
        return None
    y, mo, d = m.groups()
    if mo and not 1 <= int(mo) <= 12:
        return None
    return y, int(mo) if mo else None, int(d) if d else None


def in_words(iso: str, months=MONTHS) -> str:
    """"1950-10-25" -> "25 October 1950"; anything not ISO is returned as it is."""
    p = _parts(iso)
    if p is None:
        return iso or ""
    y, mo, d = p
    if mo is None:
        return y
    return f"{d} {months[mo - 1]} {y}" if d else f"{months[mo - 1]} {y}"


def range_in_words(a: str, b: str, months=MONTHS) -> str:
    """Two ISO dates as one range, sharing what they share: "16–25 December 1957",
    "30 January – 7 February 1949", "16 September 1954 – 26 October 1955"."""
    pa, pb = _parts(a), _parts(b)
    if pa is None or pb is None:
        return " – ".join(x for x in (in_words(a, months), in_words(b, months)) if x)
    if pa == pb:
        return in_words(a, months)
    (ya, ma, da), (yb, mb, db) = pa, pb
    if ya == yb and ma and ma == mb and da and db:
        return f"{da}–{db} {months[ma - 1]} {ya}"
    if ya == yb and ma and mb and (da is None) == (db is None):
        left = f"{da} {months[ma - 1]}" if da else months[ma - 1]
        return f"{left} – {in_words(b, months)}"
    if ya == yb and not ma and not mb:
        return ya
    sep = "–" if ma is None and mb is None else " – "
    return f"{in_words(a, months)}{sep}{in_words(b, months)}"


def dates_in_words(el, months=MONTHS) -> str:
    """The date of a TEI element that carries one (an event, a date), in words."""
    if el is None:
        return ""
    if el.get("when"):
        return in_words(el.get("when"), months)
    a = el.get("from") or el.get("notBefore") or ""
    b = el.get("to") or el.get("notAfter") or ""
    if a and b:
        return range_in_words(a, b, months)
    if a:
        return f"from {in_words(a, months)}"
    if b:
        return f"until {in_words(b, months)}"
    return ""


_ISO_IN_TEXT = re.compile(r"(?<![\w/.-])(\d{4}-(?:0[1-9]|1[0-2])(?:-\d{2})?)"
                          r"(?:/(\d{4}-(?:0[1-9]|1[0-2])(?:-\d{2})?))?(?![\w/-])")


def iso_in_words(text: str, months=MONTHS) -> str:
    """ISO dates and ranges ("1949-01-30/1949-02-07") written in generated text, in words."""
    def sub(m):
        return range_in_words(m.group(1), m.group(2), months) if m.group(2) else in_words(m.group(1), months)
    return _ISO_IN_TEXT.sub(sub, text or "")
