"""Where the parts of the book are laid out: a ``concurrent.futures`` executor.

    with open_executor("local", workers=2) as ex:      # worker processes on this machine
    with open_executor("dask://host:8786") as ex:       # a Dask distributed cluster

Both give the same ``submit(fn, job) -> Future`` interface, and the same PDF bytes: a
part's layout depends on nothing but its job.  Local workers are started by a fork
server that has imported WeasyPrint once (workers do not inherit the big TEI trees of
the main process, so a worker's memory is what its part needs).  With Dask the workers
must see the same files as this machine at the same paths (the styles and fonts); the
``distributed`` package is the optional extra ``editio[dask]``.
"""
from __future__ import annotations

import contextlib
import multiprocessing
import os
from concurrent.futures import Executor, ProcessPoolExecutor

from editio.diagnostics import EditioError


# A layout process may use this much memory (heap and anonymous maps, RLIMIT_DATA): a part
# that needs more fails with a MemoryError, reported as pdf.layout, instead of taking the
# machine's memory.  Parts are sized to need far less (about 300 MB).
MEMORY_LIMIT = 2 * 2**30


def _limit_memory(limit: int = MEMORY_LIMIT) -> None:
    import resource
    try:
        soft, hard = resource.getrlimit(resource.RLIMIT_DATA)
        if soft == resource.RLIM_INFINITY or soft > limit:
            resource.setrlimit(resource.RLIMIT_DATA, (limit, hard))
    except (ValueError, OSError):  # pragma: no cover - not allowed here
        pass


class _Respawning(Executor):
    """Local worker processes (a fork server that has imported WeasyPrint once), each
    with its memory limited; if one dies all the same (killed), the pool is made again
    for the next submission (the futures of the dead pool fail, and their parts are
    submitted again by the builder)."""

    def __init__(self, workers: int):
        self.workers = workers
        self._ex = self._make()

    def _make(self):
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["editio.builders.pdf_layout", "weasyprint"])
        return ProcessPoolExecutor(max_workers=self.workers, mp_context=ctx, initializer=_limit_memory)

    def submit(self, fn, /, *args, **kwargs):
        from concurrent.futures.process import BrokenProcessPool
        try:
            return self._ex.submit(fn, *args, **kwargs)
        except BrokenProcessPool:
            self._ex.shutdown(wait=False, cancel_futures=True)
            self._ex = self._make()
            return self._ex.submit(fn, *args, **kwargs)

    def shutdown(self, wait=True, *, cancel_futures=False):
        self._ex.shutdown(wait=wait, cancel_futures=cancel_futures)


def default_workers() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


@contextlib.contextmanager
def open_executor(spec: "str | Executor | None" = None, workers: int | None = None):
    """An executor for ``spec``: ``None``/``"local"`` (processes here) or
    ``dask://HOST:PORT`` (a Dask distributed scheduler); an ``Executor`` is used as it is."""
    if isinstance(spec, Executor):
        yield spec
        return
    spec = (spec or "local").strip()
    if spec == "local":
        n = workers or default_workers()
        ex = _Respawning(n)
        try:
            yield ex
        finally:
            ex.shutdown(wait=True, cancel_futures=True)
        return
    if spec.startswith(("dask://", "tcp://")):
        try:
            from distributed import Client
        except ImportError:
            raise EditioError("--executor dask://… needs the Dask extra: pip install 'editio[dask]'",
                              code="pdf.executor") from None
        address = "tcp://" + spec.split("://", 1)[1]
        try:
            client = Client(address, timeout="10s", set_as_default=False)
        except (OSError, TimeoutError) as err:
            raise EditioError(f"cannot reach the Dask scheduler at {address}: {err}",
                              code="pdf.executor") from None
        try:
            ex = client.get_executor(pure=False)
            try:        # (how many layouts to keep going at once: the cluster's threads)
                ex.workers = sum(client.nthreads().values()) or None
            except Exception:  # pragma: no cover - an older distributed
                pass
            yield ex
        finally:
            client.close()
        return
    raise EditioError(f"unknown executor {spec!r}: use local or dask://HOST:PORT", code="pdf.executor")
