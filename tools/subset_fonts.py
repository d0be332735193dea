#!/usr/bin/env python3
"""Make the subset fonts of the PDF edition (styles/fonts/) with fontTools.

The PDF embeds only fonts shipped in ``styles/fonts/``, so it is the same on every
machine.  The sources are the Debian packages of two OFL fonts:

* ``fonts-ebgaramond``  EB Garamond 12 (Georg Duffner), Regular and Italic: the book
  face, with Latin, Greek and Cyrillic, small capitals and old-style figures;
* ``fonts-noto-cjk``    Noto Serif CJK SC (Adobe/Google), Regular: Chinese, Korean
  (Hangul and Hanja) and Japanese kana for the original-script names.

The book face keeps whole Unicode blocks (Latin, Latin Extended, Greek, Cyrillic,
punctuation, arrows) and every OpenType feature.  The CJK face is cut down to the
characters that occur in the edition's TEI (``tei/``, the test editions in
``tests/roots/``, or the folders given)
plus a margin (CJK punctuation, full-width forms, kana), so it stays small.

When new names in Chinese, Korean or Japanese are added to the TEI, run again::

    apt-get install fonts-ebgaramond fonts-noto-cjk
    .venv/bin/pip install fonttools
    .venv/bin/python tools/subset_fonts.py   # reads tei/ and tests/roots/, writes styles/fonts/

(``editio build`` warns ``pdf.glyph`` naming any character of the book that the
shipped fonts lack.)  The subsets are renamed ("editio …") as the SIL Open Font
Licence asks of modified fonts; the licences are in styles/fonts/.
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTFont

REPO = Path(__file__).resolve().parents[1]
GARAMOND = Path("/usr/share/fonts/opentype/ebgaramond")
NOTO_CJK = Path("/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc")
NOTO_CJK_SC = 2          # index of "Noto Serif CJK SC" in the collection

BOOK_RANGES = [
    (0x0020, 0x024F),    # Basic Latin .. Latin Extended-B
    (0x0250, 0x02FF),    # IPA, spacing modifiers
    (0x0300, 0x036F),    # combining diacritics
    (0x0370, 0x03FF),    # Greek
    (0x0400, 0x052F),    # Cyrillic (+ supplement)
    (0x1E00, 0x1EFF),    # Latin Extended Additional (Vietnamese, pinyin with tones)
    (0x2000, 0x206F),    # general punctuation
    (0x2070, 0x209F),    # super- and subscripts
    (0x20A0, 0x20CF),    # currency
    (0x2100, 0x214F),    # letterlike (№, ℅)
    (0x2150, 0x218F),    # number forms
    (0x2190, 0x21FF),    # arrows
    (0x2200, 0x22FF),    # mathematical operators
    (0x2300, 0x23FF),    # misc technical
    (0x25A0, 0x25FF),    # geometric shapes
    (0x27E6, 0x27EF),    # mathematical brackets (⟨ ⟩)
    (0x2E00, 0x2E7F),    # supplemental punctuation (⸢ ⸣ half brackets)
    (0xFB00, 0xFB06),    # Latin ligatures
]
CJK_MARGIN = [
    (0x0020, 0x0020),    # the space (Pango may take it from this face inside CJK text)
    (0x00A0, 0x00A0),    # no-break space
    (0x3000, 0x303F),    # CJK symbols and punctuation
    (0x3040, 0x30FF),    # hiragana, katakana
    (0xFF00, 0xFFEF),    # half- and full-width forms
    (0x3130, 0x318F),    # Hangul compatibility jamo
]
CJK = re.compile(r"[\u1100-\u11ff\u2e80-\u2fdf\u3000-\u30ff\u3130-\u318f\u3400-\u4dbf"
                 r"\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef\U00020000-\U0003134f]")


def chars_in(folders: list[Path]) -> set[str]:
    out: set[str] = set()
    for folder in folders:
        for p in sorted(folder.rglob("*.xml")):
            out.update(CJK.findall(p.read_text(encoding="utf-8", errors="replace")))
    return out


def expand(ranges) -> set[int]:
    return {c for a, b in ranges for c in range(a, b + 1)}


def rename(font: TTFont, family: str) -> None:
    """New family names (OFL: a modified font does not keep the original's name)."""
    style = font["name"].getDebugName(2) or "Regular"
    ps = f"{family.replace(' ', '')}-{style.replace(' ', '')}"
    for rec in font["name"].names:
        if rec.nameID in (1, 16):
            rec.string = family
        elif rec.nameID in (4,):
            rec.string = f"{family} {style}"
        elif rec.nameID in (6,):
            rec.string = ps
        elif rec.nameID == 3:
            rec.string = f"{ps};subset by editio tools/subset_fonts.py"
    if "CFF " in font:
        cff = font["CFF "].cff
        cff.fontNames = [ps]
        top = cff.topDictIndex[0]
        for k in ("FamilyName", "FullName"):
            if hasattr(top, k):
                setattr(top, k, family if k == "FamilyName" else f"{family} {style}")


def make(src: Path, dest: Path, codepoints: set[int], family: str, font_number: int = 0) -> int:
    opts = subset.Options()
    opts.layout_features = ["*"]         # keep smcp, onum, liga, locl, kern ...
    opts.name_IDs = ["*"]
    opts.name_languages = ["*"]
    opts.notdef_outline = True
    opts.glyph_names = False
    opts.hinting = False                 # the PDF does not use hinting
    opts.font_number = font_number
    opts.drop_tables += ["DSIG"]
    font = subset.load_font(str(src), opts)
    cmap = font.getBestCmap()
    keep = sorted(c for c in codepoints if c in cmap)
    sub = subset.Subsetter(opts)
    sub.populate(unicodes=keep)
    sub.subset(font)
    rename(font, family)
    # fixed timestamps: the same sources give the same files
    font["head"].created = font["head"].modified = 0
    dest.parent.mkdir(parents=True, exist_ok=True)
    font.save(str(dest), reorderTables=True)
    return len(keep)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("folders", nargs="*", type=Path, default=[REPO / "tei", REPO / "tests" / "roots"],
                    help="folders whose TEI decides the CJK characters (default: tei/ and tests/roots/)")
    ap.add_argument("--out", type=Path, default=REPO / "styles" / "fonts")
    args = ap.parse_args(argv)
    for f in (GARAMOND / "EBGaramond12-Regular.otf", NOTO_CJK):
        if not f.exists():
            print(f"missing {f}: apt-get install fonts-ebgaramond fonts-noto-cjk", file=sys.stderr)
            return 1
    book = expand(BOOK_RANGES)
    for style in ("Regular", "Italic"):
        n = make(GARAMOND / f"EBGaramond12-{style}.otf", args.out / f"editioGaramond-{style}.otf",
                 book, "editio Garamond")
        print(f"editioGaramond-{style}.otf: {n} characters")
    used = chars_in(args.folders)
    cjk = {ord(c) for c in used} | expand(CJK_MARGIN)
    n = make(NOTO_CJK, args.out / "editioSerifCJK-Regular.otf", cjk, "editio Serif CJK", NOTO_CJK_SC)
    print(f"editioSerifCJK-Regular.otf: {n} characters ({len(used)} used in the TEI)")
    (args.out / "cjk-characters.txt").write_text("".join(sorted(used)) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
