"""The Unicode Collation Algorithm's sort keys (pyuca), with its table read as needed.

pyuca parses the whole Default Unicode Collation Element Table (~30,000 lines, most of them
for scripts an edition never sorts) when the collator is made: ~0.3 s of every build that
sorts an index.  :class:`Collator` gives the same keys, but first only files each line under
its first character, and parses a character's lines when a string to sort holds it.

Why the keys are the same: pyuca looks a string up in its table from one character of the
string at a time (the longest entry starting there, then combining characters after it,
all characters of the same string), so only the entries whose first character is in the
string can be found; they are added in the file's order, as pyuca adds them.
"""
from __future__ import annotations

import unicodedata

import pyuca
from pyuca.collator import COLL_ELEMENT_PATTERN


class Collator(pyuca.Collator):
    def load(self, filename) -> None:
        self._pending: dict[int, list] = {}   # first code point -> [(keys, elements)]
        with open(filename, encoding="utf-8") as keys_file:
            for line in keys_file:
                line = line.split("#", 1)[0].rstrip()
                if not line or line.startswith("@version"):
                    continue
                if line.startswith("@implicitweights"):   # as pyuca reads them
                    ch_range, base = line[len("@implicitweights"):].split(";")
                    range_start, range_end = ch_range.split("..")
                    self.implicit_weights.append([int(range_start, 16), int(range_end, 16),
                                                  int(base, 16)])
                    continue
                a, b = line.split(";", 1)
                self._pending.setdefault(int(a.split(None, 1)[0], 16), []).append((a, b))

    def _read(self, text: str) -> None:
        """Parse the table's lines for the characters of ``text`` not read yet."""
        pending = self._pending
        for ch in set(text):
            lines = pending.pop(ord(ch), None)
            for a, b in lines or ():
                self.table.add([int(h, 16) for h in a.split()],
                               [[int(w, 16) for w in m.groups()]
                                for m in COLL_ELEMENT_PATTERN.finditer(b.strip())])

    def sort_key(self, string):
        self._read(unicodedata.normalize("NFD", string))
        return super().sort_key(string)
