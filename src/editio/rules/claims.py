"""Agreement computed from claims, not declared.

A passage about an event (``seg[@type="crossref"]/@corresp`` -> ``event``) records what it
asserts in markup; the event records the established facts the same way:

=====================================  ============================================
claim                                  key
=====================================  ============================================
``date/@when`` (``@from``/``@to``)     ``date`` or ``date:<@type>``
``num/@value`` (``@atLeast``/``@atMost``) ``number:<@type>`` (untyped numbers are not compared)
``persName/@ref`` with ``@role``       ``<@role>`` (e.g. ``proposer``)
``placeName/@ref`` with ``@role``      ``<@role>``
=====================================  ============================================

The event itself gives its date (``@when`` or ``@from``/``@to``), and its ``desc`` may carry
typed ``num`` and ``persName``/``placeName`` with ``@role``.  A passage's claims are read in the
edited view (a transmission error emended, a mask restored), but an author's error kept as
``sic`` counts as the author's claim.  An untyped date of a passage is compared with the event's
date: it agrees if the two overlap at the precision the passage gives ("November 1957" agrees
with 2-21 November 1957).  Typed claims are compared with the record's claim of the same key; where
the record states nothing for that key, with the same key in the other passages of the event
(then the passages that differ all disagree: the record cannot decide between them).

The derived relation is ``agrees`` (every compared claim agrees), ``partly agrees`` (some agree,
some differ), ``disagrees`` (every compared claim differs) or ``unverified`` (no claim to
compare); the differences name what differs ("number (last-members): 6 vs 7 (d001-x26)").

``editio check`` reports ``crossref.claims`` (error) where a passage is declared ``agrees`` but its
claims differ from the record or from another passage of the event.  A passage declared
``disagrees`` whose marked-up claims all agree is not reported: it may disagree on what the
markup does not record (a wrong person named without a role, a garbled account).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from editio import TEI_NS, XML_ID
from editio.behaviours import local

T = "{%s}" % TEI_NS
SKIP = ("orig", "note")  # the mask itself and notes are not claims


@dataclass
class Claim:
    key: str
    value: str          # what is compared (ISO date, number, entity id)
    label: str          # how a reader sees it
    lo: str = ""        # ranges: dates (ISO) or numbers
    hi: str = ""


@dataclass
class Derived:
    relation: str = "unverified"
    agreements: list = field(default_factory=list)
    differences: list = field(default_factory=list)
    items: list = field(default_factory=list)  # (Claim mine, Claim theirs, other seg or None)

    def summary(self) -> str:
        if not self.differences:
            return self.relation
        return f"{self.relation}: " + "; ".join(self.differences)

    def readable(self, name_of, place_of) -> str:
        """The summary for readers: entity names for ids, "Doc. 2, ¶ 4" for passages."""
        if not self.items:
            return self.relation
        def val(c):
            return name_of(c.value) if c.key not in ("date",) and not c.key.startswith(("date", "number")) \
                else c.label
        parts = []
        for mine, theirs, seg in self.items:
            where = place_of(seg) if seg is not None else "the record"
            what = mine.key.replace("number (", "number of ").replace(")", "") \
                if mine.key.startswith("number") else mine.key
            parts.append(f"{what}: {val(mine)} against {val(theirs)} ({where})")
        return f"{self.relation}: " + "; ".join(dict.fromkeys(parts))


def _edited_elements(seg):
    """Descendants of ``seg`` that the edited view reads (not orig, not a sic beside a corr)."""
    def walk(el):
        for c in el:
            if not isinstance(c.tag, str):
                continue
            name = local(c)
            if name in SKIP:
                continue
            if name == "sic" and c.getparent() is not None and local(c.getparent()) == "choice" \
                    and any(local(x) == "corr" for x in c.getparent() if isinstance(x.tag, str)):
                continue
            yield c
            yield from walk(c)
    yield from walk(seg)


def _id(ref: str) -> str:
    return ref.rsplit("#", 1)[-1]


def _valid(*vals) -> bool:
    """Only well-formed ISO dates are compared (a malformed one is ``date.invalid`` already)."""
    import datetime
    for v in vals:
        if v is None:
            continue
        m = re.fullmatch(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?", v)
        if not m:
            return False
        try:
            datetime.date(int(m.group(1)) or 1, int(m.group(2) or 1), int(m.group(3) or 1))
        except ValueError:
            return False
    return True


def _date_range(v: str) -> tuple[str, str]:
    """Earliest and latest ISO day of a date of any precision."""
    if re.fullmatch(r"-?\d{4}", v):
        return f"{v}-01-01", f"{v}-12-31"
    if re.fullmatch(r"-?\d{4}-\d{2}", v):
        return f"{v}-01", f"{v}-31"
    return v, v


def claims_of(el, *, record: bool = False) -> list[Claim]:
    out: list[Claim] = []
    if record:  # the event's own date
        when, f, t = el.get("when"), el.get("from"), el.get("to")
        if (when or f or t) and _valid(when, f, t):
            lo, hi = _date_range(when or f or t)[0], _date_range(when or t or f)[1]
            out.append(Claim("date", when or f"{f}/{t}", when or f"{f}/{t}", lo, hi))
        scope = [d for d in el.iter(T + "desc")]
        els = [x for d in scope for x in d.iter() if isinstance(x.tag, str)]
    else:
        els = list(_edited_elements(el))
    for x in els:
        name = local(x)
        if name == "date" and (x.get("when") or x.get("from") or x.get("to")):
            if record or not _valid(x.get("when"), x.get("from"), x.get("to")):
                continue  # dates in a record's description are context, not its date
            when, f, t = x.get("when"), x.get("from"), x.get("to")
            lo, hi = _date_range(when or f or t)[0], _date_range(when or t or f)[1]
            key = f"date:{x.get('type')}" if x.get("type") else "date"
            out.append(Claim(key, when or f"{f}/{t}", when or f"{f}/{t}", lo, hi))
        elif name == "num" and x.get("type") and (x.get("value") or x.get("atMost") or x.get("atLeast")):
            v, lo, hi = x.get("value"), x.get("atLeast"), x.get("atMost")
            label = v or (f"fewer than {int(hi) + 1}" if hi and not lo else f"{lo or '?'}–{hi or '?'}")
            out.append(Claim(f"number ({x.get('type')})", v or label, label,
                             lo or v or "", hi or v or ""))
        elif name in ("persName", "placeName", "orgName") and x.get("role") and x.get("ref"):
            for role in x.get("role").split():
                out.append(Claim(role, _id(x.get("ref")), _id(x.get("ref"))))
    return out


def _num(s):
    try:
        return float(s)
    except (TypeError, ValueError):
        return None


def _agree(a: Claim, b: Claim) -> bool:
    if a.key.startswith("date"):  # ISO days compare as strings; ranges overlap
        return a.lo <= b.hi and b.lo <= a.hi
    if a.key.startswith("number"):
        alo, ahi, blo, bhi = (_num(a.lo), _num(a.hi), _num(b.lo), _num(b.hi))
        if None in (alo, ahi, blo, bhi):
            return a.value == b.value
        return alo <= bhi and blo <= ahi
    return a.value == b.value


def derive(corpus) -> dict:
    """seg element -> :class:`Derived`, for every cross-reference passage of the edition
    (worked out once per corpus: its trees never change)."""
    memo = corpus.__dict__.get("_derived_claims")
    if memo is not None:
        return memo
    out: dict = {}
    for ev_id, passages in corpus.event_passages.items():
        ent = corpus.entities.get(ev_id)
        record = claims_of(ent.element, record=True) if ent is not None else []
        per = [(doc, seg, claims_of(seg)) for doc, seg in passages]
        for doc, seg, mine in per:
            d = out.setdefault(seg, Derived())
            for c in mine:
                for r in record:
                    if r.key == c.key:
                        if _agree(c, r):
                            d.agreements.append(f"{c.key}: {c.label} (record)")
                        else:
                            d.differences.append(f"{c.key}: {c.label} vs {r.label} (record)")
                            d.items.append((c, r, None))
                if c.key == "date" or any(r.key == c.key for r in record):
                    continue  # where the record states the claim, the record decides
                for odoc, oseg, theirs in per:
                    if oseg is seg:
                        continue
                    for o in theirs:
                        if o.key == c.key and not _agree(c, o):
                            d.differences.append(
                                f"{c.key}: {c.label} vs {o.label} ({oseg.get(XML_ID) or odoc.id})")
                            d.items.append((c, o, oseg))
                        elif o.key == c.key and odoc is not doc:  # a text repeating itself is no support
                            d.agreements.append(f"{c.key}: {c.label} ({oseg.get(XML_ID) or odoc.id})")
    for d in out.values():
        d.differences = list(dict.fromkeys(d.differences))
        if d.differences and d.agreements:
            d.relation = "partly agrees"
        elif d.differences:
            d.relation = "disagrees"
        elif d.agreements:
            d.relation = "agrees"
    corpus.__dict__["_derived_claims"] = out
    return out


def check_claims(corpus, report) -> None:
    for seg, d in derive(corpus).items():
        if seg.get("subtype") == "agrees" and d.differences:
            doc = next((x for x in corpus.documents if x.root is seg.getroottree().getroot()), None)
            if doc is None:
                continue
            report.error(doc.rel, seg.sourceline or 0, "crossref.claims",
                         f'passage {seg.get(XML_ID) or ""} is declared "agrees" but its claims differ: '
                         + "; ".join(d.differences), col=doc.column(seg))
