"""Run the app under a production WSGI server (state lives in memory, in one process)."""

from __future__ import annotations

import logging
import os
import signal
import sys
from typing import Callable

from flask import Flask

from . import heap
from .config import Settings, resolve_path

log = logging.getLogger("mock_server")


def serve(build: Callable[[], Flask], settings: Settings | None = None) -> None:
    """Serve the app `build` makes on the configured host and port with the configured server.

    The app is built where it serves: under granian, in the worker process, so the supervising parent
    never holds a copy of the state (at 1M slots that copy was a quarter of the group's memory). The
    port is open from the start; `/_admin/health` answers once the app is built. `settings` default to
    the MOCK_* environment that `build` reads too (tests pass their own).
    """
    if isinstance(build, Flask):
        raise TypeError("serve() takes the app factory (create_app), not an app")
    settings = Settings.load() if settings is None else settings
    logging.basicConfig(level=settings.log_level.upper(), format="%(message)s", stream=sys.stderr, force=True)
    if settings.host not in ("127.0.0.1", "localhost", "::1"):
        log.warning("listening on %s: reachable from other machines, not just this one", settings.host)
    runner = {"granian": _granian, "waitress": _waitress, "werkzeug": _werkzeug}.get(settings.server)
    if runner is None:
        raise SystemExit(f"MOCK_SERVER must be granian, waitress or werkzeug, not {settings.server!r}")
    fixture = resolve_path(settings.fixture)
    if not fixture.is_file():  # said here, once, rather than as a traceback from the worker
        raise SystemExit(f"MOCK_FIXTURE: fixture file not found: {fixture}")
    serving_process()
    runner(lambda: _build(build, settings), settings)


def _build(build: Callable[[], Flask], settings: Settings) -> Flask:
    """Build the app; say where it serves once it is built, or in one line why it cannot start."""
    try:
        app = build()
    except Exception as exc:  # noqa: BLE001 - a broken fixture, scenario or store: one line, not a traceback
        log.error("the sandbox cannot start: %s: %s", type(exc).__name__, exc,
                  exc_info=log.isEnabledFor(logging.DEBUG))
        raise SystemExit(1) from None
    log.info("Booking Server v3 sandbox on http://%s:%s (server=%s, threads=%s)",
             settings.host, settings.port, settings.server, settings.threads)
    return app


def serving_process() -> None:
    """What the serving process sets up for itself (never done to an app used as a library, e.g. in tests)."""
    serving_logs()
    # Short GC pauses as bookings pile up (see heap); granian's worker inherits the callback by fork.
    heap.PauseGuard().install()


def serving_logs() -> None:
    """Logging as the serving process needs it.

    Records skip what the "%(message)s" lines never show: the caller's file and line, thread and process
    names (the logging HOWTO's "Optimization" switches). Access lines go through a buffer that the
    flusher thread writes out every 50 ms (see accesslog).
    """
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    if logging.getLogger("mock_server.access").isEnabledFor(logging.INFO):
        from . import accesslog

        accesslog.buffer_lines(sys.stderr)


def _granian(build: Callable[[], Flask], settings) -> None:
    # One worker process forked from this one (no re-import): it builds the app and holds all state.
    # Kill the process group to stop it (tests do).
    from granian import Granian
    from granian.constants import Interfaces
    from granian.log import LogLevels

    # granian seeds every request's WSGI environ with os.environ: an HTTP_PROXY variable would show up
    # as a request header (and in recordings). Settings were read already, so drop those here.
    for key in [k for k in os.environ if k.startswith("HTTP_")]:
        del os.environ[key]
    # Errors only: granian warns about "many threads" for 8 on 2 cores, but held (faulted) requests
    # each occupy a thread, so the pool is deliberately larger than the core count.
    server = Granian(
        target="app:app", address=settings.host, port=settings.port, interface=Interfaces.WSGI,
        workers=1, blocking_threads=settings.threads, backlog=2048,
        log_level=LogLevels.error, log_access=False,
    )

    def load_in_worker(*_):
        # Runs in the worker's main thread, where signal wiring is allowed: on SIGTERM, requests held
        # by a delay/timeout fault end at once instead of holding granian's graceful drain.
        from .faults import engine_of, release_holds_on_stop

        app = build()
        release_holds_on_stop(engine_of(app))
        return app

    server.serve(target_loader=load_in_worker, wrap_loader=False)


def _exit_on_sigterm() -> None:
    """SIGTERM ends the process through SystemExit, so exit handlers write out what is buffered.

    (granian stops its worker gracefully by itself; waitress and werkzeug would die on the spot.)
    """
    def stop(*_):
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)


def _waitress(build: Callable[[], Flask], settings) -> None:
    _exit_on_sigterm()
    import waitress

    waitress.serve(build(), host=settings.host, port=settings.port, threads=settings.threads, ident="rwg-sandbox")


def _werkzeug(build: Callable[[], Flask], settings) -> None:
    _exit_on_sigterm()
    build().run(host=settings.host, port=settings.port, threaded=True, use_reloader=False)
