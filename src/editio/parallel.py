"""Work split over the machine's cores: ``split_map(items, work)``.

The edition is read, checked and resolved once; then the processes that render are
*forked* from the process that holds it, so each starts with the resolved edition in memory
(shared, copy-on-write) and nothing is pickled on the way in.  Each process (the parent
too) takes the next item as soon as it is free, runs ``work`` on it, and the children send
back their results, pickled.  Results come back in
the order of ``items``, so the output does not depend on the number of processes.

``work`` must return picklable data (strings, lists, dicts, dataclasses of them) and may
write files; whatever else it changes in a child is lost with the child.  A child that fails
is reported as an :class:`EditioError` with its traceback's last line (a bug), and every
child is waited for, so none outlives the build.  Where ``fork`` is missing (Windows, macOS'
default), or with one core, or ``EDITIO_JOBS=1``, everything runs in this process.
"""
from __future__ import annotations

import os
import pickle
import traceback
from typing import Callable, Sequence, TypeVar

from editio.diagnostics import EditioError

T = TypeVar("T")
R = TypeVar("R")


def jobs(n_items: int | None = None) -> int:
    """How many processes to use: ``EDITIO_JOBS`` if set, else the cores this process may
    run on; never more than there are items."""
    env = os.environ.get("EDITIO_JOBS", "").strip()
    if env.isdigit() and int(env) > 0:
        n = int(env)
    else:
        try:
            n = len(os.sched_getaffinity(0))
        except (AttributeError, OSError):
            n = os.cpu_count() or 1
    if n_items is not None:
        n = min(n, n_items)
    return max(1, n)


def split_map(items: Sequence[T], work: Callable[[T], R], n: int | None = None,
              cost: Callable[[T], float] | None = None) -> list[R]:
    """``[work(x) for x in items]``, over ``n`` processes (default :func:`jobs`).

    Each process takes the next item not yet taken as soon as it is free (a counter in
    memory shared by the processes), so a long page does not leave a core idle while the
    other has a queue; with ``cost`` (a guess at each item's time) the costliest items are
    handed out first.  Each process starts with one item of its own, so all take part."""
    items = list(items)
    n = jobs(len(items)) if n is None else max(1, min(n, len(items)))
    if n <= 1 or not hasattr(os, "fork"):
        return [work(x) for x in items]
    order = list(range(len(items)))
    if cost is not None:
        costs = [cost(x) for x in items]
        order.sort(key=lambda i: -costs[i])  # stable: equal guesses keep the items' order
    import gc
    import multiprocessing
    taken = multiprocessing.get_context("fork").Value("q", n)   # items order[:n] are handed out

    def share(k: int) -> list:
        out = []
        i = k
        while i < len(order):
            out.append((order[i], work(items[order[i]])))
            with taken.get_lock():
                i = taken.value
                taken.value += 1
        return out

    children = []
    # the objects made so far are left out of the children's garbage collections, which would
    # otherwise touch (and so copy) every page of memory they share with this process
    gc.freeze()
    try:
        for k in range(1, n):
            r, w = os.pipe()
            pid = os.fork()
            if pid == 0:  # the child: its share, then its results down the pipe, then exit
                os.close(r)
                code = 0
                try:
                    out = ("ok", share(k))
                except BaseException as err:  # noqa: BLE001 - reported in the parent
                    out = ("error", "".join(traceback.format_exception_only(type(err), err)).strip()
                           + "\n" + traceback.format_exc(limit=-3))
                    code = 1
                try:
                    data = pickle.dumps(out, protocol=pickle.HIGHEST_PROTOCOL)
                    with os.fdopen(w, "wb") as f:
                        f.write(data)
                finally:
                    os._exit(code)
            os.close(w)
            children.append((k, pid, r))
        shares = [share(0)]
        failure = None
        for k, pid, r in children:
            with os.fdopen(r, "rb") as f:
                data = f.read()
            os.waitpid(pid, 0)
            try:
                status, payload = pickle.loads(data) if data else ("error", "no result")
            except Exception as err:  # noqa: BLE001
                status, payload = "error", f"unreadable result: {err}"
            if status != "ok":
                failure = failure or payload
            else:
                shares.append(payload)
        children = []
        if failure:
            raise EditioError(f"a worker process failed: {failure.splitlines()[0]}",
                              code="build.worker")
        out: list = [None] * len(items)
        for results in shares:
            for i, res in results:
                out[i] = res
        return out
    finally:
        gc.unfreeze()
        for _, pid, r in children:  # interrupted: stop the children, leave no zombie
            try:
                os.kill(pid, 15)
                os.waitpid(pid, 0)
            except OSError:
                pass
            try:
                os.close(r)
            except OSError:
                pass


def give_back_memory() -> None:
    """Collect the garbage and hand the freed memory back to the system (glibc keeps freed
    memory of a process for its next allocations: a process that waits for another while
    holding it counts it in the build's peak)."""
    import gc
    gc.collect()
    try:
        import ctypes
        libc = ctypes.CDLL(None)
        trim = getattr(libc, "malloc_trim", None)
    except (OSError, AttributeError):  # not glibc (musl, macOS, Windows): nothing to do
        return
    if trim is not None:
        trim(0)


class Background:
    """``fn()`` run in a forked child while this process goes on; :meth:`result` waits for
    it and returns what it returned (picklable).  Without ``fork`` (or with ``EDITIO_JOBS=1``)
    ``fn`` runs when the result is asked for."""

    def __init__(self, fn: Callable[[], R]):
        self.fn = fn
        self.pid = None
        self.fd = None
        self._done = False
        self._value = None
        if hasattr(os, "fork") and jobs() > 1:
            r, w = os.pipe()
            pid = os.fork()
            if pid == 0:
                os.close(r)
                code = 0
                try:
                    out = ("ok", fn())
                except BaseException as err:  # noqa: BLE001 - reported in the parent
                    out = ("error", "".join(traceback.format_exception_only(type(err), err)).strip())
                    code = 1
                try:
                    data = pickle.dumps(out, protocol=pickle.HIGHEST_PROTOCOL)
                    with os.fdopen(w, "wb") as f:
                        f.write(data)
                finally:
                    os._exit(code)
            os.close(w)
            self.pid, self.fd = pid, r

    def done(self) -> bool:
        """Whether :meth:`result` would return without waiting (the child has its result
        ready, or there is no child: ``fn`` runs when asked)."""
        if self._done or self.fd is None:
            return True
        import select
        return bool(select.select([self.fd], [], [], 0)[0])

    def result(self):
        if self._done:
            return self._value
        if self.pid is None:
            self._value = self.fn()
        else:
            try:
                with os.fdopen(self.fd, "rb") as f:
                    data = f.read()
                self.fd = None
                os.waitpid(self.pid, 0)
            finally:
                self.pid = None
            status, payload = pickle.loads(data) if data else ("error", "no result")
            if status != "ok":
                raise EditioError(f"a worker process failed: {payload.splitlines()[0]}",
                                  code="build.worker")
            self._value = payload
        self._done = True
        return self._value

    def cancel(self) -> None:
        """Stop the child (the build was interrupted or failed)."""
        if self.pid is not None:
            try:
                os.kill(self.pid, 15)
                os.waitpid(self.pid, 0)
            except OSError:
                pass
            self.pid = None
        if self.fd is not None:
            try:
                os.close(self.fd)
            except OSError:
                pass
            self.fd = None


class InThread:
    """``fn()`` run in a thread of this process (for work that does not hold Python's lock,
    such as libxml2's validation, on data no other thread touches); the same interface as
    :class:`Background`: :meth:`result` waits for it and returns what it returned (or
    raises what it raised)."""

    def __init__(self, fn: Callable[[], R]):
        import threading
        self._value = self._error = None

        def run():
            try:
                self._value = fn()
            except BaseException as err:  # noqa: BLE001 - raised in the caller
                self._error = err
        self._thread = threading.Thread(target=run, name="editio-validation", daemon=True)
        self._thread.start()

    def done(self) -> bool:
        return not self._thread.is_alive()

    def result(self):
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._value

    def cancel(self) -> None:
        """A thread cannot be stopped: waited for, its result unused (what it uses may be
        used again once this returns)."""
        self._thread.join()
