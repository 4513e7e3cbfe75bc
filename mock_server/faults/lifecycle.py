"""Held requests end as soon as the server is asked to stop."""

from __future__ import annotations

import logging
import os
import signal
import threading

log = logging.getLogger("mock_server")
STOP_SIGNALS = frozenset({signal.SIGTERM, signal.SIGINT})


def release_holds_on_stop(engine) -> None:  # anything with stop(): an engine, or the tenants registry
    """Call in the serving process's main thread: SIGTERM/SIGINT then releases every held request.

    granian drains in-flight requests before a worker exits, so a `timeout` fault holding a request
    for 30 s would hold the shutdown too. granian installs its own Python signal handlers in the
    worker, after this runs; the signal module's wakeup fd is separate from those handlers, so the
    C-level handler writes each signal number to our pipe and granian's own shutdown goes ahead.
    """
    read_fd, write_fd = os.pipe()
    os.set_blocking(write_fd, False)
    try:
        previous = signal.set_wakeup_fd(write_fd, warn_on_full_buffer=False)
    except ValueError:  # not the main thread: holds still end by their cap (MOCK_TIMEOUT_MS)
        log.warning("held requests will not be released early on shutdown (not in the main thread)")
        os.close(read_fd)
        os.close(write_fd)
        return

    def watch() -> None:
        while True:
            received = os.read(read_fd, 64)
            if previous != -1:
                try:
                    os.write(previous, received)  # whoever listened before still hears every signal
                except OSError:
                    pass
            if any(number in STOP_SIGNALS for number in received):
                engine.stop()

    threading.Thread(target=watch, name="fault-holds-release", daemon=True).start()
