"""The parts' PDFs -> one book (pikepdf / qpdf).

    merge(parts, folios, target)

* **pages**: the parts' pages in order; a part that ends on a recto is followed by a
  blank verso, so the next part starts on a recto as it was laid out;
* **page numbers**: the stamps (every distinct page number and running head of the
  book, laid out once on a sheet) are drawn on each page where they stand, in a form
  laid over the page as an artifact (not read aloud, not part of the text's structure),
  with the sheet's font subsets (one copy in the book); the link around a slot gets the
  alternative text "page N";
* **sides**: a page laid out as a recto that is a verso in the book (a part that runs
  on) is moved by the difference of the mirrored margins, with its links;
* **structure tree** (PDF/UA): the first part's ``/Document`` element receives the
  top-level elements of every other part; the parent tree's keys (``/StructParents`` of
  pages, ``/StructParent`` of link annotations) are shifted by the keys already used;
  role maps are united (WeasyPrint writes standard structure types only);
* **named destinations**: every part's anchors, in one sorted name tree;
* **links across parts**: a part links to an anchor of another part as
  ``editio-dest:ANCHOR`` (WeasyPrint writes it as a URI action); here it becomes a
  ``/Dest`` to the named destination, like a link inside a part;
* **bookmarks**: the parts' outlines, one after the other at the top level;
* **metadata, attachments, language**: the first part's (document info, XMP, the TEI
  sources attached to it);
* **page labels**: decimal, from 1, as printed.

The bytes depend only on the parts: qpdf writes a deterministic file identifier.
"""
from __future__ import annotations

import io
from pathlib import Path

DEST_SCHEME = "editio-dest:"


def merge_apart(parts: list, recto: list[bool], finish, target: Path) -> tuple[int, int, float]:
    """:func:`merge` in a process of its own on this machine: the book's objects (about
    0.4 MB a page in qpdf, mostly the structure tree) are never added to what the main
    process holds, and are given back to the system when the merge ends.  While that
    process copies the parts into the book, ``finish()`` runs here and gives (overlay,
    labels, shifts) for it to draw (the stamps are laid out meanwhile).  Returns the
    page count, the merge process's peak memory (bytes) and its CPU time (s)."""
    import multiprocessing
    ctx = multiprocessing.get_context("forkserver")
    here, there = ctx.Pipe()
    proc = ctx.Process(target=_merge_process, args=(there, [p if isinstance(p, bytes) else str(p) for p in parts],
                                                     recto, str(target)), daemon=True)
    proc.start()
    there.close()
    try:
        try:
            rest = finish()
        except BaseException:
            here.send(None)        # the merge stops without writing the book
            raise
        try:
            here.send(rest)
        except OSError:            # the merge stopped already: its error follows
            pass
        try:
            ok, value = here.recv()
        except EOFError:
            raise RuntimeError(f"the merge process ended with exit code {proc.exitcode}") from None
    finally:
        here.close()
        proc.join()
    if not ok:
        raise RuntimeError(f"the merge failed: {value}")
    return value


def _merge_process(conn, parts, recto, target) -> None:
    """The merge's process: copies the parts, then waits for what to draw."""
    def rest():
        got = conn.recv()
        if got is None:
            raise _Stopped()
        return got
    try:
        count = merge(parts, recto, rest, target)
        import resource
        use = resource.getrusage(resource.RUSAGE_SELF)
        peak, cpu = use.ru_maxrss * 1024, use.ru_utime + use.ru_stime
    except _Stopped:
        conn.close()
        return
    except BaseException as err:   # (reported by the main process)
        conn.send((False, f"{type(err).__name__}: {err}"))
        conn.close()
        return
    conn.send((True, (count, peak, cpu)))
    conn.close()


class _Stopped(Exception):
    pass


def merge(parts: list, recto: list[bool], overlay: tuple | None,
          target: Path, labels: list | None = None, shifts: list | None = None) -> int:
    """Write the book to ``target``; return its page count.  ``parts``: the parts' PDFs (file
    paths, or bytes), in order; each part is opened, copied into the book and closed in
    turn.  ``recto[i]``: part ``i`` starts on
    a recto (else it runs on from the page after the previous part).  ``overlay``: (the
    stamp sheet's PDF, per page of the book a list of (operators, dx, dy)): each stamp's
    operators (:func:`editio.builders.pdf_layout.lay_out_stamps`, in CSS px from the top
    left, with the sheet's fonts) are drawn on the page moved by (dx, dy) px.  ``labels[i]``: the
    page-number slots of page ``i`` as (x, y from the top, text) in pt; a link around one
    gets the text as its ``/Contents`` (the number itself is drawn as an artifact).
    ``shifts[i]``: how far (pt) page ``i``'s content and links move right (a page laid out
    as a recto that is a verso in the book).  ``overlay`` may be a function that gives
    (overlay, labels, shifts) once the parts are copied."""
    import pikepdf
    from pikepdf import Array, Dictionary, Name, String

    book = _open(parts[0])
    root = book.Root
    sroot = root.get("/StructTreeRoot")
    doc_elem = sroot.K[0] if sroot is not None and isinstance(sroot.K, Array) else \
        (sroot.K if sroot is not None else None)
    nums = _nums(sroot)
    next_key = (max(k for k, _ in nums) + 1) if nums else 0
    dests = _dests(book)
    outline = root.get("/Outlines")
    rolemap = sroot.get("/RoleMap") if sroot is not None else None
    opened = []

    state = {"next_key": next_key, "nums": nums, "dests": dests, "outline": outline,
             "rolemap": rolemap}
    for data, on_recto in zip(parts[1:], recto[1:]):
        if on_recto:
            _pad(book)
        _append_part(book, data, doc_elem, sroot, state)
    next_key, nums, dests, outline, rolemap = (state[k] for k in ("next_key", "nums", "dests", "outline", "rolemap"))
    _pad(book)   # the book ends on a verso

    # links across parts -> named destinations (a link to an anchor that is nowhere in the
    # book, which WeasyPrint would have dropped with a warning, is left without an action);
    # done before the overlay is asked for: while the stamps are still being laid out
    known = {str(n) for n, _ in dests}
    for page in book.pages:
        for annot in page.obj.get("/Annots", Array()):
            a = annot.get("/A")
            if a is not None and a.get("/S") == Name.URI and str(a.get("/URI", "")).startswith(DEST_SCHEME):
                name = str(a.URI)[len(DEST_SCHEME):]
                del annot["/A"]
                if name in known:
                    annot.Dest = String(name)
                if "/Contents" in annot:
                    annot.Contents = String(name)

    if callable(overlay):
        overlay, labels, shifts = overlay()

    for page, dx in zip(book.pages, shifts or ()):
        if dx:
            _shift(book, page, dx)

    for page, marks in zip(book.pages, labels or ()):
        if not marks:
            continue
        height = float(page.obj.MediaBox[3])
        for annot in page.obj.get("/Annots", Array()):
            if annot.get("/Subtype") != Name.Link or "/Rect" not in annot:
                continue
            x1, y1, x2, y2 = (float(v) for v in annot.Rect)
            for x, y, text in marks:
                if min(x1, x2) <= x <= max(x1, x2) and min(y1, y2) <= height - y <= max(y1, y2):
                    annot.Contents = String(text)
                    break

    # page numbers and running heads: one form per page, drawing the stamps that stand
    # on it with the sheet's fonts (one copy of each in the book)
    if overlay is not None:
        sheet_pdf, draw = overlay
        sheet = pikepdf.open(io.BytesIO(sheet_pdf))
        opened.append(sheet)
        res = Dictionary()
        for sp in sheet.pages:
            for kind in ("/Font", "/ExtGState", "/ColorSpace"):
                for k, v in sp.obj.Resources.get(kind, Dictionary()).items():
                    if kind not in res:
                        res[kind] = Dictionary()
                    if k not in res[kind]:
                        res[kind][k] = book.copy_foreign(v) if getattr(v, "is_indirect", False) else _copy(book, v)
        res = book.make_indirect(res)
        for page, stamps in zip(book.pages, draw):
            if not stamps:
                continue
            box = [float(v) for v in page.obj.MediaBox]
            ops = [b"1 0 0 -1 0 %.6f cm 0.75 0 0 0.75 0 0 cm" % box[3]]
            for text, dx, dy in stamps:
                ops.append(b"q 1 0 0 1 %.3f %.3f cm\n%s\nQ" % (dx, dy, text.encode("latin-1")))
            form = book.make_stream(b"\n".join(ops) + b"\n", Type=Name.XObject, Subtype=Name.Form,
                                    BBox=Array(box), Resources=res)
            _lay_over(book, page, form)

    if sroot is not None:
        sroot.ParentTree = book.make_indirect(Dictionary(Nums=Array(
            [x for k, v in sorted(nums, key=lambda kv: kv[0]) for x in (k, v)])))
        sroot.ParentTreeNextKey = next_key
    if dests:
        dests.sort(key=lambda x: str(x[0]))
        if "/Names" not in root:
            root.Names = Dictionary()
        root.Names.Dests = book.make_indirect(Dictionary(Names=Array(
            [x for n, d in dests for x in (String(str(n)), d)])))
    if outline is not None:
        root.Outlines = outline
    root.PageLabels = Dictionary(Nums=Array([0, Dictionary(S=Name.D)]))
    target = Path(target)
    book.save(str(target), deterministic_id=True, compress_streams=True,
              object_stream_mode=pikepdf.ObjectStreamMode.generate)
    count = len(book.pages)
    for p in opened:
        p.close()
    book.close()
    return count


def _open(part):
    """A part's PDF, from its file (qpdf reads what it needs) or from bytes."""
    import pikepdf
    return pikepdf.open(part if isinstance(part, (str, Path)) else io.BytesIO(part))


def _append_part(book, data, doc_elem, sroot, state) -> None:
    """Append the pages of one part to ``book`` with its structure tree, parent tree keys,
    named destinations and outline; then take the data of its streams into ``book`` and
    close the part, so the merge holds one part's objects at a time besides the book's."""
    from pikepdf import Array, Dictionary
    start = _next_id(book)
    src = _open(data)
    try:
        n0 = len(book.pages)
        for p in src.pages:
            book.pages.append(p)
        offset = state["next_key"]
        used = -1
        for page in book.pages[n0:]:
            if "/StructParents" in page.obj:
                page.obj.StructParents = int(page.obj.StructParents) + offset
                used = max(used, int(page.obj.StructParents))
            for annot in page.obj.get("/Annots", Array()):
                if "/StructParent" in annot:
                    annot.StructParent = int(annot.StructParent) + offset
                    used = max(used, int(annot.StructParent))
        ssrc = src.Root.get("/StructTreeRoot")
        if ssrc is not None and doc_elem is not None:
            src_doc = ssrc.K[0] if isinstance(ssrc.K, Array) else ssrc.K
            copied = book.copy_foreign(src_doc)
            for kid in copied.get("/K", Array()):
                if isinstance(kid, Dictionary):
                    kid.P = doc_elem
                doc_elem.K.append(kid)
            # (the parent tree copied at once: its elements are the ones just copied, and
            # those whose parent was the part's /Document are its kids, moved above)
            for k, v in _nums_tree(_copy_tree(book, src, ssrc, "/ParentTree")):
                state["nums"].append((k + offset, v))
                used = max(used, k + offset)
            if "/RoleMap" in ssrc:
                if state["rolemap"] is None:
                    state["rolemap"] = sroot.RoleMap = Dictionary()
                for k, v in ssrc.RoleMap.items():
                    state["rolemap"][k] = v
        state["next_key"] = max(state["next_key"], used + 1)
        names = src.Root.get("/Names")
        if names is not None and "/Dests" in names:
            state["dests"] += _dests_tree(_copy_tree(book, src, names, "/Dests"))
        if "/Outlines" in src.Root and "/First" in src.Root.Outlines:
            state["outline"] = _append_outline(book, state["outline"], book.copy_foreign(src.Root.Outlines))
        _own_streams(book, start)
    finally:
        src.close()


def _next_id(book) -> int:
    """The number the next object made in ``book`` gets (an empty dictionary made for the
    purpose: it is in no tree, so it is not written)."""
    from pikepdf import Dictionary
    return book.make_indirect(Dictionary()).objgen[0] + 1


def _own_streams(book, start: int) -> None:
    """The data of ``book``'s streams numbered from ``start`` on (the objects of the part
    just copied), read now and kept by ``book`` as it is (still encoded): qpdf would
    otherwise read it from the part it was copied from when the book is saved, keeping
    every part open until then."""
    import pikepdf
    for i in range(start, _next_id(book) - 1):
        o = book.get_object(i, 0)
        if isinstance(o, pikepdf.Stream):
            o.write(o.read_raw_bytes(), filter=o.get("/Filter"), decode_parms=o.get("/DecodeParms"),
                    type_check=False)

def _copy(book, obj):
    """``obj`` of another PDF, copied into ``book`` (direct arrays and dictionaries item by
    item: qpdf copies only indirect objects, keeping one copy per source object)."""
    from pikepdf import Array, Dictionary
    if getattr(obj, "is_indirect", False):
        return book.copy_foreign(obj)
    if isinstance(obj, Array):
        return Array([_copy(book, x) for x in obj])
    if isinstance(obj, Dictionary):
        return Dictionary({k: _copy(book, v) for k, v in obj.items()})
    return obj


def _copy_tree(book, src, holder, key):
    """``holder[key]`` (a tree of ``src``) copied into ``book`` in one call (qpdf copies an
    indirect object with everything below it, each object once)."""
    tree = holder[key]
    if not getattr(tree, "is_indirect", False):
        tree = src.make_indirect(tree)
    return book.copy_foreign(tree)


def _nums(sroot) -> list:
    """The parent tree of a structure tree root, as (key, value) pairs."""
    if sroot is None or "/ParentTree" not in sroot:
        return []
    return _nums_tree(sroot.ParentTree)


def _nums_tree(tree) -> list:
    """A number tree as (key, value) pairs (a flat /Nums array or a tree of /Kids)."""
    out = []

    def walk(node):
        if "/Nums" in node:
            arr = node.Nums
            for i in range(0, len(arr), 2):
                out.append((int(arr[i]), arr[i + 1]))
        for kid in node.get("/Kids", ()):
            walk(kid)
    walk(tree)
    return out


def _dests(pdf) -> list:
    """A PDF's named destinations, as (name, destination) pairs."""
    names = pdf.Root.get("/Names")
    if names is None or "/Dests" not in names:
        return []
    return _dests_tree(names.Dests)


def _dests_tree(tree) -> list:
    """A name tree as (name, value) pairs."""
    out = []

    def walk(node):
        if "/Names" in node:
            arr = node.Names
            for i in range(0, len(arr), 2):
                out.append((str(arr[i]), arr[i + 1]))
        for kid in node.get("/Kids", ()):
            walk(kid)
    walk(tree)
    return out


def _pad(book) -> None:
    """A blank verso after a part with an odd number of pages (the next starts on a recto)."""
    if len(book.pages) % 2 == 0:
        return
    from pikepdf import Dictionary, Name, Page
    last = book.pages[-1].obj
    blank = Dictionary(Type=Name.Page, MediaBox=last.MediaBox,
                       Resources=Dictionary(), Contents=book.make_stream(b""))
    for box in ("/TrimBox", "/BleedBox"):
        if box in last:
            blank[box] = last[box]
    book.pages.append(Page(book.make_indirect(blank)))


def _append_outline(book, outline, extra):
    """Append the top-level items of ``extra`` (an outline dictionary) to ``outline``."""
    from pikepdf import Dictionary, Name
    if outline is None or "/First" not in outline:
        outline = book.make_indirect(Dictionary(Type=Name.Outlines)) if outline is None else outline
        outline.First, outline.Last = extra.First, extra.Last
        outline.Count = int(extra.get("/Count", 0))
    else:
        outline.Last.Next = extra.First
        extra.First.Prev = outline.Last
        outline.Last = extra.Last
        outline.Count = int(outline.get("/Count", 0)) + int(extra.get("/Count", 0))
    item = extra.First
    while True:
        item.Parent = outline
        if "/Next" not in item:
            break
        item = item.Next
    return outline


def _lay_over(book, page, fx) -> None:
    """Draw the form ``fx`` over ``page``, as an artifact."""
    from pikepdf import Dictionary
    res = page.obj.get("/Resources")
    new = Dictionary({k: v for k, v in res.items()}) if res is not None else Dictionary()
    xo = Dictionary({k: v for k, v in new.get("/XObject", Dictionary()).items()})
    name = "/EditioFolio"
    while name in xo:
        name += "X"
    xo[name] = fx
    new.XObject = xo
    page.obj.Resources = new
    page.contents_add(book.make_stream(b"q\n"), prepend=True)
    page.contents_add(book.make_stream(b"\nQ\n/Artifact BMC q " + name.encode() + b" Do Q EMC\n"))


def _shift(book, page, dx: float) -> None:
    """Move what ``page`` draws, and its links, ``dx`` pt to the right."""
    from pikepdf import Array
    page.contents_add(book.make_stream(b"q 1 0 0 1 %.3f 0 cm\n" % dx), prepend=True)
    page.contents_add(book.make_stream(b"\nQ\n"))
    for annot in page.obj.get("/Annots", Array()):
        if "/Rect" in annot:
            r = [float(v) for v in annot.Rect]
            annot.Rect = Array([r[0] + dx, r[1], r[2] + dx, r[3]])
        if "/QuadPoints" in annot:
            q = [float(v) for v in annot.QuadPoints]
            annot.QuadPoints = Array([v + dx if k % 2 == 0 else v for k, v in enumerate(q)])
