"""The edition's editorial policy, declared in its settings and enforced by ``editio check``.

A critical edition emends *transmission* errors (what went wrong between the author and the
witness: a platform's masks, a machine translation's garbles, typographic slips) and leaves
*authorial* errors (facts, dates, numbers, names the author got wrong) in the reading text,
recording the facts in a note, as the *Foreign Relations of the United States* series does.
The policy is declared in the edition's profile (``profile.toml``, table ``[policy]``; an
``editio.toml`` table of the same name overlays it)::

    [policy]
    emend = ["translation", "name", "typographic"]     # corr/@type emended in the reading
    annotate = ["factual", "contradiction"]            # error types kept, with a note
    cite = ["redaction", "correction", "error"]        # annotation kinds whose note must cite
    cite_exempt = ["typographic", "translation"]       # types whose evidence is the text itself

Rules (codes are stable):

policy.authorial-emended     a ``corr`` whose @type the policy annotates changes the reading
                             (keep the author's words: ``sic`` alone with a note
                             ``type="error"``)
policy.transmission-kept     an error annotated without emendation whose type the policy emends
policy.error-type            an annotated error whose note has no @subtype the policy knows
note.uncited                 the note of a restoration, correction or annotated error cites
                             nothing: no ``bibl``, ``ptr`` or ``ref`` to a bibliography entry,
                             a document, a passage or an event

An edition without a ``[policy]`` table is not checked by these rules.
"""
from __future__ import annotations

from dataclasses import dataclass

from editio.annotations import _candidates
from editio.behaviours import is_tei, local

CITING = ("bibl", "ptr", "ref", "biblStruct")


@dataclass(frozen=True)
class Policy:
    emend: tuple[str, ...] = ()
    annotate: tuple[str, ...] = ()
    cite: tuple[str, ...] = ()
    cite_exempt: tuple[str, ...] = ()

    @classmethod
    def of(cls, project) -> "Policy | None":
        prof = getattr(project, "profile", None)
        data = getattr(prof, "policy", None) or (getattr(project, "extra", None) or {}).get("policy")
        if not isinstance(data, dict) or not data:
            return None

        def words(key):
            v = data.get(key, [])
            return tuple(str(x) for x in (v if isinstance(v, list) else [v]))
        return cls(words("emend"), words("annotate"), words("cite"), words("cite_exempt"))


def error_type(notes) -> str:
    """The type of an annotated (unemended) error: the @subtype of its error note."""
    for n in notes:
        if n.get("type") == "error" and n.get("subtype"):
            return n.get("subtype")
    return ""


def cites(note) -> bool:
    for el in note.iter():
        if isinstance(el.tag, str) and local(el) in CITING and el is not note:
            if local(el) == "bibl" or el.get("target"):
                return True
    return False


def check_policy(corpus, report) -> None:
    from editio.rules.claims import check_claims
    check_claims(corpus, report)  # agreement derived from claims (any edition)
    policy = Policy.of(corpus.project)
    if policy is None:
        return
    by_target = corpus.notes_by_target
    for doc in corpus.documents:
        text = doc.root.find("{http://www.tei-c.org/ns/1.0}text")
        if text is None:
            continue
        for el, cls, _ in _candidates(doc, text):   # classified once per parsed file
            if cls is None or not is_tei(el):
                continue
            kind, typ, carrier = cls
            notes = by_target.get(el, []) + (by_target.get(carrier, []) if carrier is not el else [])
            line = el.sourceline or 0
            if kind == "correction" and typ in policy.annotate:
                report.warning(doc.rel, carrier.sourceline or line, "policy.authorial-emended",
                               f'{typ} error emended in the reading text: the edition\'s policy keeps '
                               f'the author\'s words for {", ".join(policy.annotate)} errors and gives '
                               f'the record in a note (<sic> alone with <note type="error">)',
                               col=doc.column(carrier))
            if kind == "error":
                typ = error_type(notes)
                if typ in policy.emend:
                    report.warning(doc.rel, line, "policy.transmission-kept",
                                   f'{typ} error only annotated: the policy emends '
                                   f'{", ".join(policy.emend)} errors (<choice> with <sic> and <corr>)',
                                   col=doc.column(el))
                elif typ not in policy.annotate:
                    report.warning(doc.rel, line, "policy.error-type",
                                   f'annotated error without a known type: give its note '
                                   f'type="error" and a subtype of {", ".join(policy.annotate)}',
                                   col=doc.column(el))
            if kind in policy.cite and notes and typ not in policy.cite_exempt \
                    and not (kind == "redaction" and typ == "unrestored") \
                    and not any(cites(n) for n in notes):
                what = {"redaction": "restoration", "correction": "correction",
                        "error": "error note"}.get(kind, kind)
                report.warning(doc.rel, notes[0].sourceline or line, "note.uncited",
                               f'the note on {what} {el.get("{http://www.w3.org/XML/1998/namespace}id") or ""} '
                               f'cites nothing: point to the evidence (<ref target="authority.xml#bib-…">, '
                               f'a document, a passage or an event)'.replace("  ", " "),
                               col=doc.column(notes[0]))
