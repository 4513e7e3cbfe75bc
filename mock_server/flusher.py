"""One background thread per process that writes out batched output (the exchange journal).

Writers register themselves (weakly: an app that is gone is forgotten) and implement `flush()`. The
thread starts with the first registration in a process (a forked granian worker gets its own), calls
every writer's flush each INTERVAL_S, and once more when the process ends: atexit, plus a
multiprocessing finalizer in a multiprocessing child (granian's worker), which ends with os._exit.
Log lines have a thread of their own (linewriter.py): a stderr nobody reads must not stop the journal.
"""

from __future__ import annotations

import atexit
import logging
import multiprocessing
import multiprocessing.util
import os
import threading
import time
import weakref

INTERVAL_S = 0.05

log = logging.getLogger("mock_server")
_writers: weakref.WeakSet = weakref.WeakSet()
_started_in = 0  # pid of the process whose thread runs
_start_lock = threading.Lock()


def register(writer) -> None:
    """Have `writer.flush()` called every INTERVAL_S and at exit, in this process."""
    _writers.add(writer)
    if _started_in != os.getpid():
        _start()


def flush_all() -> None:
    """Flush every registered writer now."""
    for writer in list(_writers):
        try:
            writer.flush()
        except Exception:  # noqa: BLE001 - one failing writer must not stop the others or the thread
            log.exception("a background write failed")


def _start() -> None:
    global _started_in
    with _start_lock:
        if _started_in == os.getpid():
            return
        _started_in = os.getpid()
    threading.Thread(target=_run, name="background-writes", daemon=True).start()
    atexit.register(flush_all)
    if multiprocessing.parent_process() is not None:
        multiprocessing.util.Finalize(None, flush_all, exitpriority=100)


def _forked() -> None:
    global _start_lock
    _start_lock = threading.Lock()  # another thread may have held it at the fork


os.register_at_fork(after_in_child=_forked)


def _run() -> None:
    while True:
        time.sleep(INTERVAL_S)
        flush_all()
