"""Progress display for long builds (rich), only on a terminal."""
from __future__ import annotations


class Progress:
    def __init__(self):
        from rich.progress import BarColumn, MofNCompleteColumn, Progress as RP, TextColumn, TimeElapsedColumn
        self._p = RP(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                     TimeElapsedColumn(), transient=True)
        self._task = None

    def start(self, what: str, total: int):
        if self._task is None:
            self._p.start()
        self._task = self._p.add_task(what, total=total)

    def advance(self, n: int = 1):
        if self._task is not None:
            self._p.advance(self._task, n)

    def stop(self):
        self._p.stop()
        self._task = None
