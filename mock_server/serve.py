"""Run the app under a production WSGI server (state lives in memory, in one process)."""

from __future__ import annotations

import dataclasses
import errno
import functools
import logging
import signal
import socket
import sys
from collections.abc import Callable

from flask import Flask

from . import granian_wsgi, notify, process
from .bodyread import BodyLimits
from .config import Settings, resolve_path

log = logging.getLogger("mock_server")
BACKLOG = 2048

# What serve builds the app with: create_app's signature, create_app(overrides, environ).
AppFactory = Callable[[dict, dict], Flask]


def serve(factory: AppFactory, settings: Settings | None = None) -> None:
    """Serve the app `factory` makes with `settings`, on the configured host and port with the configured server.

    The app is built where it serves: under granian, in the worker process, so the supervising parent
    never holds a copy of the state (at 1M slots that copy was a quarter of the group's memory). The
    port is open from the start; `/_admin/health` answers once the app is built. `settings` default to
    the MOCK_* environment; the app gets exactly these (the CLI's flags are overrides in them, never
    written to os.environ).
    """
    if isinstance(factory, Flask):
        raise TypeError("serve() takes the app factory (create_app), not an app")
    settings = Settings.load() if settings is None else settings
    logging.basicConfig(level=settings.log_level.upper(), format="%(message)s", stream=sys.stderr, force=True)
    if settings.host not in ("127.0.0.1", "localhost", "::1"):
        log.warning("listening on %s: reachable from other machines, not just this one", settings.host)
    runner = {"granian": _granian, "waitress": _waitress, "werkzeug": _werkzeug}.get(settings.server)
    if runner is None:
        raise SystemExit(f"MOCK_SERVER must be granian, waitress or werkzeug, not {settings.server!r}")
    if settings.workers > 1 and settings.server != "granian":
        raise SystemExit(
            f"MOCK_WORKERS={settings.workers} needs MOCK_SERVER=granian ({settings.server} runs one process)"
        )
    fixture = resolve_path(settings.fixture)
    if not fixture.is_file():  # said here, once, rather than as a traceback from the worker
        raise SystemExit(f"MOCK_FIXTURE: fixture file not found: {fixture}")
    # A partial of module-level functions: picklable, should granian ever spawn its worker instead of forking.
    runner(functools.partial(_build, factory, settings), settings)


def _build(factory: AppFactory, settings: Settings) -> Flask:
    """In the process that serves: set it up, build the app under the GC policy, say where it serves.

    Or say in one line why it cannot start.
    """
    from .runtime import EXTENSION_KEY

    serving_process()
    try:
        with process.state_policy():
            # Every field given, the environment read by no one: the worker builds what the parent checked.
            app = factory(dataclasses.asdict(settings), {})
    except Exception as exc:  # noqa: BLE001 - a broken fixture, scenario or store: one line, not a traceback
        log.error("the sandbox cannot start: %s: %s", type(exc).__name__, exc, exc_info=log.isEnabledFor(logging.DEBUG))
        raise SystemExit(1) from None
    # Each reset rebuilds the state: under the same policy.
    app.extensions[EXTENSION_KEY].state_policy = process.state_policy
    notify.watch_clock(app)  # with MOCK_NOTIFY_URL: the waitlist moves a running clock makes are told as they happen
    log.info(
        "Booking Server v3 sandbox on http://%s:%s%s (server=%s, threads=%s, fixture=%s)",
        settings.host,
        settings.port,
        _resolved_note(settings),
        settings.server,
        settings.threads,
        app.extensions[EXTENSION_KEY].fixture_path.resolve(),  # the file really read, whatever the working directory
    )
    return app


def _resolved_note(settings: Settings) -> str:
    """For a host name (MOCK_HOST=localhost): the one address it listens on, and what a client should use.

    Each server listens on one address (granian takes one socket), so `localhost` is one loopback family, not
    both: a client that resolves it to the other one first (Node 17+ prefers ::1) is refused.
    """
    try:
        socket.inet_pton(socket.AF_INET6 if ":" in settings.host else socket.AF_INET, settings.host)
        return ""  # an address already
    except OSError:
        pass
    try:
        address = _address(settings)[4][0]
    except socket.gaierror:
        return ""
    url_host = f"[{address}]" if ":" in address else address
    return f", listening on {address} only: use http://{url_host}:{settings.port} if {settings.host} is refused"


def _address(settings: Settings) -> tuple:
    """The first address MOCK_HOST resolves to for listening: what `listen` binds."""
    return socket.getaddrinfo(settings.host, settings.port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]


def serving_process() -> None:
    """What the serving process sets up for itself (never done to an app used as a library, e.g. in tests)."""
    process.serving_logs(sys.stderr)
    # One journal (and store) file per tenant: 1,000 tenants need more than a 1,024 soft limit allows.
    process.raise_open_file_limit()
    # Short GC pauses as bookings pile up (see process).
    process.PauseGuard().install()
    # Batched output (the exchange journal) is written by this thread; without it, each line at once.
    process.start_background_writer()


def listen(settings: Settings) -> socket.socket:
    """The listening socket, bound here for every server: a port in use is one line and exit 1.

    Without SO_REUSEPORT (granian sets it on the sockets it binds itself, so a second sandbox on the same
    port used to start and share the requests). SO_REUSEADDR only lets a restart bind at once.
    """
    try:
        family, kind, proto, _, address = _address(settings)
    except socket.gaierror as exc:
        raise SystemExit(f"MOCK_HOST {settings.host!r}: {exc.strerror}") from None
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family in (socket.AF_INET, socket.AF_INET6):  # accepted connections inherit it (as granian sets it)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind(address)
        sock.listen(BACKLOG)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise SystemExit(
                f"port {settings.port} on {settings.host} is in use: another sandbox or program "
                f"listens there (stop it, or set MOCK_PORT)"
            ) from None
        raise SystemExit(f"cannot listen on {settings.host}:{settings.port}: {exc.strerror}") from None
    return sock


def _granian(build: Callable[[], Flask], settings: Settings) -> None:
    # One worker process forked from this one (no re-import): it builds the app and holds all state.
    # Kill the process group to stop it (tests do).
    from granian import Granian
    from granian._granian import SocketHolder
    from granian.constants import Interfaces
    from granian.log import LogLevels

    sock = listen(settings)

    class OnOurSocket(Granian):  # type: ignore[misc,valid-type]  # granian picks its Server class at import
        """granian serving the socket bound above (its own would have SO_REUSEPORT)."""

        def _init_shared_socket(self):
            # granian's own path for a socket the parent bound (the one it takes where SO_REUSEPORT is missing).
            sock.set_inheritable(True)
            self._ssp, self._sso = None, sock
            self._shd = SocketHolder(sock.fileno(), False, BACKLOG)
            self._sfd = sock.fileno()

    # Errors only: granian warns about "many threads". The pool is MOCK_THREADS for the app plus room
    # for threads parked on slow request bodies (see granian_wsgi), which hold no app thread.
    server = OnOurSocket(
        target="app:app",
        address=settings.host,
        port=settings.port,
        interface=Interfaces.WSGI,
        workers=settings.workers,  # more than one only with a shared store (config refuses it otherwise)
        blocking_threads=settings.threads + granian_wsgi.READERS,
        backlog=BACKLOG,
        log_level=LogLevels.error,
        log_access=False,
    )

    server.serve(target_loader=functools.partial(_load_in_worker, build, settings), wrap_loader=False)


def _load_in_worker(build: Callable[[], Flask], settings: Settings, *_) -> Flask:
    """granian's target loader: runs in the worker's main thread, where signal wiring is allowed."""
    from .faults import release_holds_on_stop
    from .tenancy import TENANTS_KEY

    app = build()
    # On SIGTERM, requests held by a delay/timeout fault end at once instead of holding granian's graceful drain,
    # in every tenant.
    release_holds_on_stop(app.extensions[TENANTS_KEY])
    granian_wsgi.install(BodyLimits.of(settings), settings.threads)
    return app


def _exit_on_sigterm() -> None:
    """SIGTERM ends the process through SystemExit, so exit handlers write out what is buffered.

    (granian stops its worker gracefully by itself; waitress and werkzeug would die on the spot.)
    """

    def stop(*_):
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)


def _waitress(build: Callable[[], Flask], settings: Settings) -> None:
    sock = listen(settings)
    _exit_on_sigterm()
    from . import waitress_server

    waitress_server.serve(build(), sock, settings.threads, BodyLimits.of(settings))


def _werkzeug(build: Callable[[], Flask], settings: Settings) -> None:
    sock = listen(settings)
    _exit_on_sigterm()
    from werkzeug.serving import make_server

    from .bodyread import BufferedBody

    # werkzeug reads the request from the socket in the app's thread (one per connection): BufferedBody
    # reads the body first, under the deadline.
    app = build()
    app.wsgi_app = BufferedBody(app.wsgi_app, BodyLimits.of(settings))  # type: ignore[method-assign]  # Flask's way
    make_server(settings.host, settings.port, app, threaded=True, fd=sock.fileno()).serve_forever()
