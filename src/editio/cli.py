"""The ``editio`` command line: check | text | annotations | stats | build | serve | new | import."""
from __future__ import annotations

import argparse
import csv
import io
import json
import os
import sys
from pathlib import Path

from editio import __version__
from editio.diagnostics import EditioError, Report


def _project(args):
    from editio.config import load
    return load(args.project, profile=getattr(args, "profile", None))


def _print_report(report: Report, files: int, fmt: str = "text", verbose: bool = False) -> None:
    if fmt == "json":
        print(report.to_json(files))
        return
    for d in report.sorted():
        if d.severity == "info" and not verbose:
            continue
        print(d.format())
    print(report.summary(files), file=sys.stderr if fmt == "text" else sys.stdout)


def cmd_check(args) -> int:
    from editio.check import check
    from editio.corpus import Corpus, discover
    project = _project(args)
    paths, only = None, None
    skipped = Report()
    if args.paths:
        paths = _expand(args.paths, skipped)
        if not args.project_set and paths:
            project = _enclosing_project(paths, project, args.profile)
        inp = project.input_dir.resolve()
        if paths and all(inp in p.resolve().parents for p in paths):
            # files of this edition: check them against the whole edition (pointers
            # into other files resolve), report only on them
            only = {project.rel(p) for p in paths}
            known = {p.resolve() for p in discover(project.input_dir)}
            paths = sorted(known | {p.resolve() for p in paths})
        elif paths:
            project = _folder_project(project, paths)
    if paths == []:
        corpus = None
        report = Report()
    else:
        corpus = Corpus.load(project, paths)
        from editio.cache import Store, cache_root
        # an edition's own files are checked with its build cache (.editio-cache/): only the
        # files that changed are checked again; files from elsewhere leave nothing behind
        store = Store(cache_root(project)) if (project.root / "editio.toml").is_file() \
            and (paths is None or only is not None) else None
        report = check(corpus, schema=Path(args.schema).resolve() if args.schema else None,
                       cache=store)
    if only is not None:
        report = report.only(only)
    report.extend(skipped)
    if args.strict:
        report = report.strict()
    if only is not None:
        nfiles = len(only)
    elif corpus is not None:
        nfiles = len(corpus.documents) + len({d.file for d in corpus.report.items})
    else:
        nfiles = 0
    nfiles += len({d.file for d in skipped.items})
    _print_report(report, nfiles, args.format, args.verbose)
    return 1 if report.errors else 0


def _expand(raw, skipped: Report) -> list[Path]:
    """The files named on the command line (folders: their TEI files).  What cannot be
    checked (a symlink or FIFO in a folder) goes to ``skipped``; a missing path is an error."""
    from editio import gate
    out = []
    for p in raw:
        p = Path(p)
        if not p.is_absolute():
            p = Path.cwd() / p
        try:
            isdir, exists = p.is_dir(), os.path.lexists(p)
        except (OSError, ValueError) as err:
            raise EditioError(f"cannot use {p}: {err}", code="usage.path") from None
        if isdir:
            files, skip = gate.scan(p)
            out.extend(files)
            for s, why in skip:
                skipped.warning(str(s), 0, "input.skipped", f"not read: {why}")
        elif exists:
            out.append(p)  # a FIFO or device is refused when read (read.io), never opened blocking
        else:
            raise EditioError("no such file or directory", file=str(p), code="usage.path")
    if not out and not skipped.items:
        raise EditioError("no TEI files (*.xml, *.tei) in the given paths", code="usage.path")
    return out


def _enclosing_project(paths, default, profile=None):
    """The edition holding ``paths``: the nearest folder above them with an editio.toml
    (with ``profile``, the one given on the command line, instead of its own)."""
    from editio.config import CONFIG_NAME, load
    first = paths[0].resolve()
    for folder in first.parents:
        if (folder / CONFIG_NAME).exists():
            project = load(folder, profile=profile)
            inp = project.input_dir.resolve()
            if all(inp in p.resolve().parents for p in paths):
                return project
            break
    return default


def _folder_project(project, paths):
    """TEI outside the edition (e.g. a FRUS volume): a project rooted at their common folder."""
    import dataclasses
    import os
    common = Path(os.path.commonpath([str(p.resolve().parent) for p in paths]))
    return dataclasses.replace(project, root=common, input=".")


def cmd_text(args) -> int:
    from editio.read import read
    from editio.text import text_of
    from editio import TEI_NS
    from editio.read import is_tei
    path = Path(args.file)
    project = _project(args)
    if not args.project_set:
        project = _enclosing_project([path], project, args.profile)
    # an include of a file that is not there is left out and reported (located, the file
    # named as given) with the profile's severity, as `editio build` does (FRUS: a warning,
    # and the text is written; an error stops here, as it stops the build)
    missing: list = []
    tree = read(path, root_dir=project.root.resolve(), display=args.file, missing=missing)
    report = Report(severities=dict(project.profile.severity))
    for d in missing:
        report.add(d.file, d.line, d.col, d.severity, d.code, d.message)
    for d in report.sorted():
        print(d.format(), file=sys.stderr)
    if report.errors:
        return 1
    if not is_tei(tree):
        root = tree.getroot()
        raise EditioError(f"root element is {root.tag!r}, not TEI in namespace {TEI_NS}",
                          file=args.file, line=root.sourceline or 1, col=1, code="tei.root")
    sys.stdout.write(text_of(tree.getroot(), args.view))
    return 0


def cmd_annotations(args) -> int:
    from editio.annotations import FIELDS
    from editio.corpus import Corpus
    from editio.redactions import collect, rules_of
    project = _project(args)
    rules = rules_of(project)
    corpus = Corpus.load(project)
    if corpus.report.errors:
        _print_report(corpus.report, len(corpus.documents))
        return 1
    records = _annotation_records(corpus, collect(corpus, rules), rules)
    if args.kind:
        records = [r for r in records if r["kind"] in args.kind]
    if args.format == "json":
        print(json.dumps(records, indent=2, ensure_ascii=False))
    else:
        fields = list(FIELDS)
        if not rules.empty:
            fields += [k for k in REDACTION_FIELDS if k not in FIELDS]
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=fields, extrasaction="ignore")
        w.writeheader()
        for r in records:
            ext = r.get("extent")
            row = {**r, "targets": " ".join(r.get("targets", [])),
                   "extent": ext["text"] if isinstance(ext, dict) else (ext or "")}
            w.writerow({k: csv_cell(v) for k, v in row.items()})
        sys.stdout.write(buf.getvalue())
    return 0


_FORMULA = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def csv_cell(value):
    """A CSV cell a spreadsheet will not run: a cell starting with ``= + - @``, a tab or a CR
    (and their full-width forms) gets a leading ``'`` (OWASP's advice on CSV injection)."""
    if isinstance(value, str) and value.startswith(_FORMULA):
        return "'" + value
    return value


REDACTION_FIELDS = ("label", "col", "location", "source", "statement", "extent", "restored",
                    "restoration", "withheld")


def _annotation_records(corpus, redactions, rules) -> list[dict]:
    """Annotation records, document by document; where the edition says what a redaction
    is, its redactions (elements and text statements) are the ``redaction`` records, with
    the annotation on the same element (its note) merged in."""
    if rules.empty:
        return [a.record() for a in corpus.all_annotations()]
    by_el = {r.element: r for r in redactions if r.source == "element"}
    by_file: dict = {}
    for r in redactions:
        by_file.setdefault(r.file, []).append(r)
    out = []
    for doc in corpus.texts:
        anns = {}
        for a in corpus.annotations[doc.name]:
            if a.element in by_el:
                anns[a.element] = a
            elif a.kind != "redaction":
                out.append(a.record())
        for r in by_file.get(doc.rel, []):
            rec = {k: "" for k in ("id", "type", "diplomatic", "edited", "resp", "note")}
            rec.update(offset=0, targets=[])
            a = anns.get(r.element)
            if a is not None:
                rec.update(a.record())
                rec["annotation"] = a.n
            rec.update(r.record())
            rec["type"] = "restored" if r.restored else "unrestored"
            out.append(rec)
    return out


def cmd_stats(args) -> int:
    from editio.corpus import Corpus
    from editio.redactions import all_units, collect, describe_tally, documents, rules_of, summary
    project = _project(args)
    rules = rules_of(project)
    corpus = Corpus.load(project)
    if corpus.report.errors:
        _print_report(corpus.report, len(corpus.documents))
        return 1
    items = collect(corpus, rules)
    units = documents(all_units(corpus, rules))
    data = summary(items)
    data["total"]["documents_in_edition"] = len(units)
    data["rules"] = not rules.empty
    if args.format == "json":
        print(json.dumps(data, indent=2, ensure_ascii=False))
        return 0
    t = data["total"]
    out = sys.stdout
    if rules.empty:
        print("Redactions: this edition does not say what a redaction is "
              "(a [redactions] table in its profile or editio.toml)", file=out)
        return 0
    texts = f" and the text of {t['division_texts']} chapter(s)" if t["division_texts"] else ""
    print(f"Redactions: {t['count']} in {t['documents']} of {len(units)} document(s){texts}; "
          f"{t['restored']} restored, {t['not_restored']} not restored", file=out)
    if t["by_cert"]:
        print("Restored, by certainty: " + ", ".join(f"{c} {n}" for c, n in
                                                      _cert_order(t["by_cert"])), file=out)
    print(f"Extent: {t['extent_text']}", file=out)
    if t["withheld_whole"] or t["withheld_part"]:
        print(f"Documents withheld: {t['withheld_whole']} in whole, {t['withheld_part']} in part",
              file=out)
    if data["documents"]:
        print("", file=out)
        width = max(len(d["label"]) for d in data["documents"])
        for d in data["documents"]:
            extra = {"whole": "; withheld in whole", "part": "; withheld in part"}.get(d["withheld"], "")
            rest = f", {d['restored']} restored" if d["restored"] else ""
            if d["kind"] == "division":     # a chapter's own text: which chapter
                extra += f" ({d['label'].lower()}: {d['title']})"
            print(f"{d['label']:<{width}}  {d['count']:>3}{rest}  {d['extent_text']}{extra}", file=out)
    return 0


def _cert_order(certs: dict):
    order = {"high": 0, "medium": 1, "low": 2}
    return sorted(certs.items(), key=lambda c: (order.get(c[0], 9), c[0]))


def cmd_build(args) -> int:
    from editio.build import build
    project = _project(args)
    from editio.builders import DEFAULT_FORMATS, check_formats
    try:
        formats = check_formats(project, args.format) if args.format else DEFAULT_FORMATS
    except EditioError as err:
        print(f"editio build: {err}", file=sys.stderr)
        return 2
    progress = None
    if not args.quiet and sys.stderr.isatty():
        from editio.progress import Progress
        progress = Progress()
    result = build(project, formats=formats, view=args.view, strict=args.strict,
                   keep_going=args.keep_going, workers=args.workers, executor=args.executor,
                   schema=Path(args.schema).resolve() if args.schema else None, progress=progress,
                   cache=not args.no_cache)
    rep = result.report.strict() if args.strict else result.report
    for d in rep.sorted():
        if d.severity != "info":
            print(d.format(), file=sys.stderr)
    if rep.errors:
        print(f"build failed: {rep.errors} error(s); {project.rel(project.output_dir)}/ left as it was",
              file=sys.stderr)
        return 1
    if not args.quiet and result.up_to_date:
        print(f"up to date: nothing changed since the last build; "
              f"{project.rel(result.output)}/ kept as it was, nothing rewritten "
              f"({rep.warnings} warning(s)); --no-cache rebuilds everything", file=sys.stderr)
    elif not args.quiet:
        t = result.timings
        print(f"built {', '.join(formats)} into {project.rel(result.output)}/ in {t.get('total', 0):.1f}s"
              f" ({rep.warnings} warning(s))", file=sys.stderr)
    return 0


def cmd_serve(args) -> int:
    """Serve build/html on this machine only (search needs HTTP: browsers block file://)."""
    from editio.serve import serve
    project = _project(args)
    site = project.output_dir / "html"
    if not args.watch:
        return serve(site, args.port, project.rel(site))
    import threading
    from editio.watch import LiveState, Rebuilder, run_once, watch
    state, stop = LiveState(), threading.Event()
    rebuilder = Rebuilder(project, profile=getattr(args, "profile", None))
    run_once(rebuilder, state, force=True)   # the site as the sources are now
    watcher = threading.Thread(target=watch, args=(rebuilder, state, stop), daemon=True,
                               name="editio-watch")
    watcher.start()
    try:
        return serve(site, args.port, project.rel(site), live=state)
    finally:
        stop.set()
        watcher.join(timeout=5)


def cmd_clean(args) -> int:
    """Remove the build cache (and, with --output, the output editio made): the next
    build is a clean one."""
    from editio.build import MARKER, check_output, project_lock
    from editio.cache import CACHE_DIR, clean
    project = _project(args)
    with project_lock(project):
        gone = clean(project)
        if args.output:
            check_output(project)   # only an output folder editio made itself
            out = project.output_dir
            if out.is_dir() and (out / MARKER).exists():
                import shutil
                shutil.rmtree(out)
                gone.append(out)
    for p in gone:
        print(f"removed {project.rel(p)}/", file=sys.stderr)
    if not gone:
        print(f"nothing to remove (no {CACHE_DIR}/)", file=sys.stderr)
    return 0


def cmd_import(args) -> int:
    from editio.importer import import_witness
    project = _project(args)
    from editio.scaffold import _is_volume_profile
    dest = Path(args.output) if args.output else project.input_dir / f"{args.id}.xml"
    # the skeleton follows the profile's conventions (--profile, or the edition's)
    profile = args.profile or (project.extra or {}).get("profile")
    notes: list[str] = []
    for path in import_witness(Path(args.witness), dest, args.id, project.root,
                               output=project.output_dir,
                               div_type="document" if isinstance(profile, str)
                               and _is_volume_profile(profile) else "article",
                               mask_pattern=project.mask_pattern, notes=notes):
        print(f"wrote {project.rel(path)}", file=sys.stderr)
    for n in notes:
        print(n, file=sys.stderr)
    return 0


def cmd_new(args) -> int:
    from editio.scaffold import new_edition
    dest = Path(args.dir)
    written = new_edition(dest, profile=args.profile, title=args.title or "",
                          editors=args.editors or "", language=args.language)
    for f in written:
        print(f"wrote {dest / f.rel}", file=sys.stderr)
    print(f"new edition in {dest}/: `editio check --project {dest}` checks it, "
          f"`editio serve --watch --project {dest}` shows it", file=sys.stderr)
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="editio", description="TEI P5 editions to a static site and a PDF book.")
    p.add_argument("--version", action="version", version=f"editio {__version__}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--project", default=".", metavar="DIR",
                        help="the edition's directory (default: the current directory)")
    common.add_argument("--profile", metavar="NAME",
                        help="the edition profile: a shipped one (default, frus) or a profile.toml "
                             "in the project (default: editio.toml's 'profile')")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    c = sub.add_parser("check", parents=[common], help="check the TEI: schema and edition rules")
    c.add_argument("paths", nargs="*", help="files or folders (default: the project's input)")
    c.add_argument("--schema", help="validate against this RELAX NG schema instead")
    c.add_argument("--strict", action="store_true", help="warnings count as errors")
    c.add_argument("--format", choices=("text", "json"), default="text")
    c.add_argument("--verbose", "-v", action="store_true", help="also show info diagnostics")
    c.set_defaults(func=cmd_check)

    t = sub.add_parser("text", parents=[common], help="plain text of one document")
    t.add_argument("file")
    t.add_argument("--view", choices=("diplomatic", "edited"), default="diplomatic")
    t.set_defaults(func=cmd_text)

    a = sub.add_parser("annotations", parents=[common], help="every editorial annotation, for review")
    a.add_argument("--format", choices=("json", "csv"), default="json")
    a.add_argument("--kind", action="append", help="only this kind (repeatable)")
    a.set_defaults(func=cmd_annotations)

    s = sub.add_parser("stats", parents=[common],
                       help="figures of the edition: redactions per document and in all")
    s.add_argument("--format", choices=("text", "json"), default="text")
    s.set_defaults(func=cmd_stats)

    b = sub.add_parser("build", parents=[common], help="build the HTML site and the PDF")
    b.add_argument("--format", action="append", metavar="FORMAT",
                   help="only this output: html, pdf, or a format the edition registers in "
                        "editio.toml [formats] (repeatable; default: html and pdf)")
    b.add_argument("--view", choices=("edited", "diplomatic"), default="edited",
                   help="the reading text of the PDF")
    b.add_argument("--schema", help="validate against this RELAX NG schema instead")
    b.add_argument("--strict", action="store_true", help="warnings stop the build")
    b.add_argument("--keep-going", action="store_true",
                   help="build despite check errors (reported as warnings), e.g. for TEI from elsewhere")
    b.add_argument("--workers", type=int, default=None, metavar="N",
                   help="lay the book's parts out in N processes (default: the machine's cores)")
    b.add_argument("--executor", default=None, metavar="SPEC",
                   help="where to lay the parts out: local (default) or dask://HOST:PORT")
    b.add_argument("--no-cache", action="store_true",
                   help="a clean build: take nothing from the build cache (.editio-cache/)")
    b.add_argument("--quiet", "-q", action="store_true")
    b.set_defaults(func=cmd_build)

    k = sub.add_parser("clean", parents=[common],
                       help="remove the build cache (.editio-cache/); the next build is clean")
    k.add_argument("--output", action="store_true",
                   help="remove the output folder (build/) too")
    k.set_defaults(func=cmd_clean)

    v = sub.add_parser("serve", parents=[common], help="serve the built site on 127.0.0.1")
    v.add_argument("--port", type=int, default=8000, help="port (0: any free port)")
    v.add_argument("--watch", action="store_true",
                   help="rebuild the site on every save and reload the open pages")
    v.set_defaults(func=cmd_serve)

    n = sub.add_parser("new", help="start a new edition in DIR (never overwrites a file)")
    n.add_argument("dir", metavar="DIR")
    n.add_argument("--profile", metavar="NAME", help="the edition's profile (e.g. frus)")
    n.add_argument("--title", help="the edition's title (default: from DIR)")
    n.add_argument("--editors", help="who edits it (default: The editors)")
    n.add_argument("--language", default="en", help="the language of the edition (default: en)")
    n.set_defaults(func=cmd_new)

    i = sub.add_parser("import", parents=[common],
                       help="a witness (.txt, .md, .docx) -> a TEI skeleton")
    i.add_argument("witness")
    i.add_argument("--id", required=True, help="the document's xml:id, e.g. d005")
    i.add_argument("--output", "-o", help="where to write (default: <input>/<id>.xml)")
    i.set_defaults(func=cmd_import)
    return p


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parser().parse_args(argv)
    args.project_set = "--project" in argv or any(a.startswith("--project=") for a in argv)
    try:
        return args.func(args)
    except EditioError as err:
        print(err.diagnostic.format(), file=sys.stderr)
        return 1
    except KeyboardInterrupt as err:  # Ctrl-C, or SIGTERM/SIGHUP during a build
        print("editio: interrupted; output left as it was", file=sys.stderr)
        return 128 + getattr(err, "signum", 2)
    except BrokenPipeError:
        return 0
