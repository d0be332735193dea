"""editio.collation.Collator: pyuca's sort keys, its table parsed only for the characters
sorted (a build that sorts Latin names does not parse the CJK part of the table)."""
from __future__ import annotations

import random

import pyuca

from editio.collation import Collator

WORDS = ["Émile", "Emile", "emile", "Zoë", "Ångström", "straße", "Strasse", "L·L", "ǅ", "Dž",
         "Москва", "東京", "서울", "ﬃ", "a\u0301", "\u0301a", "½", "’s", "", " ", "O'Neill",
         "Nguyễn Văn Thiệu", "Ngô Đình Diệm", "İstanbul", "ıi", "ŉ", "ΐ", "ᾳ", "เก", "ཀྵ",
         "\u0f71\u0f72", "\u0f73", "🙂"]


def test_same_keys_as_pyuca():
    full, lazy = pyuca.Collator(), Collator()
    r = random.Random(7)
    ranges = [(32, 0x250), (0x300, 0x370), (0x370, 0x3000), (0x3000, 0xA000), (0xAC00, 0xD7A4),
              (0xF00, 0xFDA), (0x1F000, 0x1FAFF)]
    words = WORDS + ["".join(chr(r.randrange(*r.choice(ranges))) for _ in range(r.randrange(1, 8)))
                     for _ in range(1500)]
    assert [lazy.sort_key(w) for w in words] == [full.sort_key(w) for w in words]
    assert sorted(WORDS, key=lazy.sort_key) == sorted(WORDS, key=full.sort_key)


def test_reads_only_what_it_sorts():
    c = Collator()
    before = len(c._pending)
    c.sort_key("Dulles")
    assert before - len(c._pending) == len(set("Dulles"))   # one group per character read
    assert ord("Ж") in c._pending and ord("D") not in c._pending
