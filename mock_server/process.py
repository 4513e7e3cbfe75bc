"""What only a serving process does to itself: GC policy, a background writer thread, log lines off the request path.

`serve` sets these up in the process that serves (granian's worker); `create_app` never does, so tests and the
pytest plugin, which build many apps, keep their collector, thresholds, callbacks and threads as they were.

The GC policy keeps the cyclic collector's pauses short as the state grows. A full collection walks every
container object the collector tracks; at a million slots and 100k bookings that was a 0.7 s stop of every
request. Three things keep it short:

- `building()`: no automatic collection while the state is built (each one would walk the half-built
  inventory again: seconds of start-up at 1M slots);
- `settle()`: once built, the state is frozen (`gc.freeze`), so collections skip it (`state_policy` is the
  two together, run by serve around the app's build and, through `Runtime.state_policy`, each reset);
- `PauseGuard`: a full collection that took longer than its budget freezes what survived it, so the next
  one only walks what came since (bookings, mostly).

Frozen objects are still freed by reference counting; only garbage in reference cycles among them is
never reclaimed until the next reset, which unfreezes and collects everything (`settle`).

Tuned to the generational collector of CPython 3.11-3.13 (the image runs 3.11). Python 3.14's
incremental collector never reports a generation-2 pass and ignores the third threshold: there the
guard does nothing, and the pauses are the incremental collector's own.
"""

from __future__ import annotations

import atexit
import gc
import logging
import multiprocessing
import multiprocessing.util
import os
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

PAUSE_BUDGET_MS = 5.0
FULL_EVERY = 1  # middle-generation collections between two full ones (CPython's default is 10)
WRITE_EVERY_S = 0.05

log = logging.getLogger("mock_server")


# ---- GC policy ----


@contextmanager
def building() -> Iterator[None]:
    """No automatic collections inside the block (restored after, even if it raises)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def settle() -> None:
    """Collect all garbage, then freeze everything alive, so later collections skip it."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()
    # With nothing unfrozen, this collection is instant. It resets the collector's count of long-lived
    # objects, which otherwise still holds the whole state: the first full collection would then wait
    # until a quarter of that had been allocated again, and walk all of it at once.
    gc.collect()


@contextmanager
def state_policy() -> Iterator[None]:
    """Around a (re)build of long-lived state: no collections meanwhile, then the new state frozen."""
    with building():
        yield
        # Inside the block: with collection off, the whole new state sits in the youngest generation, and
        # the first automatic collection after it would walk all of it before settle() does.
        settle()


class PauseGuard:
    """A gc callback: after a full collection that took longer than the budget, freeze its survivors."""

    def __init__(self, budget_ms: float = PAUSE_BUDGET_MS):
        self.budget_s = budget_ms / 1000
        self.freezes = 0
        self._started = 0.0
        self._thresholds = gc.get_threshold()

    def __call__(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        elif info["generation"] == 2 and time.perf_counter() - self._started > self.budget_s:
            # Right after a full collection, so the garbage is gone: what is frozen is alive.
            gc.freeze()
            self.freezes += 1

    def install(self) -> PauseGuard:
        """Watch every collection of this process, and let full ones come after every middle one."""
        if self not in gc.callbacks:
            gc.callbacks.append(self)
            self._thresholds = gc.get_threshold()
            # By default a full collection comes after 10 middle ones (~70k surviving objects: ~40 ms to
            # walk, when bookings pile up). Ten times as often, each walks a tenth, and the guard freezes
            # what it walked once that is slow. (CPython still skips one unless the objects that survived
            # since the last are a quarter of those it found then.)
            young, middle, _ = self._thresholds
            gc.set_threshold(young, middle, FULL_EVERY)
        return self

    def uninstall(self) -> None:
        """Stop watching; the collector's thresholds are as they were before install()."""
        if self in gc.callbacks:
            gc.callbacks.remove(self)
            gc.set_threshold(*self._thresholds)


# ---- background writer ----


class Flushable(Protocol):
    """Output written in batches (the exchange journal)."""

    def flush(self) -> None: ...


class BackgroundWriter:
    """One thread that calls each added writer's flush() every `interval_s`, and once more when the process ends.

    Writers are held weakly (an app that is gone is forgotten). The last flush runs at exit: atexit, plus a
    multiprocessing finalizer in a multiprocessing child (granian's worker), which ends with os._exit.
    Log lines have a thread of their own (linewriter.py): a stderr nobody reads must not stop the journal.
    """

    def __init__(self, interval_s: float = WRITE_EVERY_S):
        self.interval_s = interval_s
        self._writers: weakref.WeakSet[Flushable] = weakref.WeakSet()
        self._lock = threading.Lock()  # a WeakSet is not safe to add to while another thread iterates it
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None
        self._finalizer: multiprocessing.util.Finalize | None = None
        self._pid = 0

    def add(self, writer: Flushable) -> None:
        """Have `writer.flush()` called every interval and at exit."""
        with self._lock:
            self._writers.add(writer)

    def flush_all(self) -> None:
        """Flush every writer now."""
        with self._lock:
            writers = list(self._writers)
        for writer in writers:
            try:
                writer.flush()
            except Exception:  # noqa: BLE001 - one failing writer must not stop the others or the thread
                log.exception("a background write failed")

    @property
    def running(self) -> bool:
        """The thread runs in this process (a forked child has none)."""
        return self._pid == os.getpid() and self._thread is not None and self._thread.is_alive()

    def start(self) -> BackgroundWriter:
        """Start the thread in this process."""
        self._pid = os.getpid()
        self._thread = threading.Thread(target=self._run, name="background-writes", daemon=True)
        self._thread.start()
        atexit.register(self.flush_all)
        if multiprocessing.parent_process() is not None:
            self._finalizer = multiprocessing.util.Finalize(None, self.flush_all, exitpriority=100)
        return self

    def stop(self) -> None:
        """End the thread after a last flush (tests do; a serving process just exits)."""
        global _background
        if _background is self:
            _background = None
        self._stopped.set()
        if self._thread is not None:
            self._thread.join()
        atexit.unregister(self.flush_all)
        if self._finalizer is not None:
            self._finalizer.cancel()
        self.flush_all()

    def _run(self) -> None:
        while not self._stopped.wait(self.interval_s):
            self.flush_all()


_background: BackgroundWriter | None = None


def start_background_writer(interval_s: float = WRITE_EVERY_S) -> BackgroundWriter:
    """Start this process's background writer (serve does, in the process that serves)."""
    global _background
    if _background is None or not _background.running:
        _background = BackgroundWriter(interval_s).start()
    return _background


def background_writer() -> BackgroundWriter | None:
    """This process's running background writer; None where nothing serves (an app built in a test)."""
    writer = _background
    return writer if writer is not None and writer.running else None


# ---- log lines ----


def serving_logs(stream) -> None:
    """Logging as the serving process needs it.

    Records skip what the "%(message)s" lines never show: the caller's file and line, thread and process
    names (the logging HOWTO's "Optimization" switches). Every line, access lines included, goes through
    a bounded buffer that its own thread writes out every 50 ms (see linewriter): a request never waits
    for stderr, and a stderr nobody reads costs dropped lines, not a stopped server.
    """
    from . import linewriter

    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    linewriter.install(stream)


def raise_open_file_limit() -> None:
    """Lift this process's soft limit of open files to its hard limit (what a user may do without privileges)."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        except (ValueError, OSError):  # e.g. an infinite hard limit the kernel caps lower: keep the soft one
            pass
