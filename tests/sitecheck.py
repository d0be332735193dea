"""Checks of a built HTML site shared by the site and browser tests: internal links,
HTML5 parse errors, duplicate ids, the security rules (CSP, no inline script, no other host)."""
from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import unquote, urlsplit

import tinyhtml5
from lxml import html as lhtml

EXTERNAL_OK = ("http:", "https:", "mailto:", "doi:", "urn:")


def pages(site: Path) -> list[Path]:
    return sorted(p for p in site.rglob("*.html") if "pagefind" not in p.relative_to(site).parts)


def parse(path: Path):
    return lhtml.fromstring(path.read_bytes())


def ids_of(path: Path, cache: dict) -> set:
    if path not in cache:
        cache[path] = {e.get("id") for e in parse(path).iter() if isinstance(e.tag, str) and e.get("id")}
    return cache[path]


def broken_links(site: Path) -> list[str]:
    """Every href/src of every page that names a missing file or #fragment."""
    site = site.resolve()
    out, cache = [], {}
    for page in pages(site):
        tree = parse(page)
        for el in tree.iter():
            if not isinstance(el.tag, str):
                continue
            for attr in ("href", "src"):
                v = el.get(attr)
                if v is None or v.startswith(EXTERNAL_OK) or v.startswith("data:"):
                    continue
                parts = urlsplit(v)
                if parts.scheme or parts.netloc:
                    out.append(f"{page.name}: {attr}={v!r} leaves the site")
                    continue
                target = (page.parent / unquote(parts.path)).resolve() if parts.path else page
                if parts.path == "../pdf/edition.pdf":
                    continue  # the PDF edition beside the site (built by the PDF builder)
                if site not in target.parents and target != site:
                    out.append(f"{page.name}: {attr}={v!r} leaves the site")
                    continue
                if not target.is_file():
                    out.append(f"{page.name}: {attr}={v!r}: no such file")
                    continue
                frag = unquote(parts.fragment)
                if frag and target.suffix == ".html" and frag not in ids_of(target, cache):
                    out.append(f"{page.name}: {attr}={v!r}: no id {frag!r} in {target.name}")
    return out


def html_errors(path: Path) -> list[str]:
    """HTML5 parse errors (the tokenizer and tree-construction errors of the spec) and
    duplicate ids."""
    parser = tinyhtml5.parser.HTMLParser()
    parser.parse(path.read_bytes())
    errs = [f"{path.name}:{pos}: {code} {data or ''}" for pos, code, data in parser.errors]
    seen = set()
    for el in parse(path).iter():
        if isinstance(el.tag, str) and el.get("id"):
            if el.get("id") in seen:
                errs.append(f"{path.name}: duplicate id {el.get('id')!r}")
            seen.add(el.get("id"))
    return errs


def security_problems(path: Path) -> list[str]:
    out = []
    tree = parse(path)
    csp = tree.xpath('//meta[@http-equiv="Content-Security-Policy"]/@content')
    if not csp or "script-src 'self'" not in csp[0] or "unsafe-inline" in csp[0]:
        out.append(f"{path.name}: no strict Content-Security-Policy meta")
    for s in tree.iter("script"):
        if s.get("src"):
            if s.get("src").startswith(("http:", "https:", "//")):
                out.append(f"{path.name}: script from another host {s.get('src')}")
        elif s.get("type") == "application/ld+json":
            json.loads(s.text or "")
        else:
            out.append(f"{path.name}: inline script")
    for el in tree.iter():
        if not isinstance(el.tag, str):
            continue
        if el.get("style") is not None:
            out.append(f"{path.name}: inline style on <{el.tag}>")
        if any(a.startswith("on") for a in el.attrib):
            out.append(f"{path.name}: event-handler attribute on <{el.tag}>")
        if el.tag in ("link", "img", "iframe", "source", "video", "audio"):
            for a in ("href", "src"):
                if (el.get(a) or "").startswith(("http:", "https:", "//")) and el.get("rel") != "canonical":
                    out.append(f"{path.name}: <{el.tag} {a}={el.get(a)}> loads from another host")
    return out
