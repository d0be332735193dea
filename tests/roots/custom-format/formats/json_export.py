"""A JSON export of the edition: one record per page unit, with its reader label, title,
paragraphs and notes.  An output format written outside editio, registered in editio.toml."""
import json

from editio.builders import Builder
from editio.text import plain


def build(edition, out_dir, report, view="edited", progress=None):
    out_dir.mkdir(parents=True, exist_ok=True)
    units = []
    for rd in edition.docs:
        units.append({
            "id": rd.id, "label": rd.label, "title": rd.title,
            "paragraphs": [{"n": n, "text": " ".join(plain(el, view).split())}
                           for el, (_, n) in rd.paragraphs.items()],
            "notes": [{"n": a.label or a.n, "kind": a.kind, "text": a.note} for a in rd.annotations],
        })
    target = out_dir / "edition.json"
    target.write_text(json.dumps({"title": edition.project.title, "units": units},
                                 ensure_ascii=False, indent=1), encoding="utf-8")
    return target


BUILDER = Builder("json", build, "the edition as JSON")
