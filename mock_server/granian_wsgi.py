"""granian's WSGI runner for the sandbox: the body is read, under a deadline, before the app gets a thread.

granian (2.8.7) calls a WSGI app in one of its blocking threads as soon as the headers are in, and that
thread then waits inside wsgi.input.read() for as long as the client takes to send the body: granian
has no body read timeout (emmett-framework/granian#728, "wontfix"), only one for headers. With the
blocking threads all waiting on half-sent bodies, nobody else was answered.

So this runner, used in place of granian's own (granian/wsgi.py `_callback_wrapper`, the same ~30
lines plus the body), separates the two jobs:
- granian's pool is large (`READERS` more than MOCK_THREADS): a thread that waits on a body is parked,
  it holds no place another request needs;
- the body is read whole (bodyread.read) before the request takes one of MOCK_THREADS app places;
- at MOCK_READ_TIMEOUT_S the watchdog answers 408 through granian's protocol object. granian cannot
  cancel the read itself, so the parked thread is freed when the client closes the connection, as
  `Connection: close` tells it to; the app never sees that request.

granian's RSGI interface reads bodies on its event loop and could close such a connection at once, but
measured here it cost 2-2.5x the CPU per lookup (the async body read and the thread hand-offs), so the
WSGI interface stays.
"""

from __future__ import annotations

import logging
import queue
import sys
import time
from collections.abc import Callable
from typing import Any

from . import accesslog, bodyread

# Parked body readers allowed besides the app threads; a connection needs a file descriptor too, and
# the usual limit of those (1024) is reached first.
READERS = 1024

# What granian puts in every environ (granian/wsgi.py), without os.environ: settings were read already,
# and an HTTP_PROXY variable would otherwise show up as a request header (and in recordings).
_BASE_ENVIRON = {
    "GATEWAY_INTERFACE": "CGI/1.1",
    "SCRIPT_NAME": "",
    "SERVER_SOFTWARE": "Granian",
    "wsgi.errors": sys.stderr,
    "wsgi.input_terminated": True,
    "wsgi.multiprocess": False,
    "wsgi.multithread": True,
    "wsgi.run_once": False,
    "wsgi.version": (1, 0),
}


def install(limits: bodyread.BodyLimits, app_threads: int) -> None:
    """Have granian's WSGI worker (in this process) call apps through `runner`; call before it starts."""
    import granian.server.mp as granian_mp

    def wrap(callback, scope_opts, access_log_fmt=None):
        return runner(callback, limits, app_threads)

    granian_mp._wsgi_call_wrap = wrap


def runner(app, limits: bodyread.BodyLimits, app_threads: int) -> Callable[[Any, dict], int]:
    """granian's per-request callable: (protocol, scope) -> status; reads the body, then runs `app`."""
    places = _Places(app_threads)

    def run(protocol, scope: dict) -> int:
        environ = _BASE_ENVIRON | scope
        drained = False
        if bodyread.has_body(environ):
            outcome = _read_body(protocol, environ, limits)
            if not isinstance(outcome, bool):
                return outcome  # answered already: its status
            drained = outcome
        response = _Response()
        with places:
            result = app(environ, response)
            headers = [*response.headers, bodyread.CLOSE] if drained else response.headers
            if type(result) is list:
                protocol.response_bytes(response.status, headers, b"".join(result))
            else:
                protocol.response_iter(response.status, headers, _Iterator(result))
        return response.status

    return run


def _read_body(protocol, environ: dict, limits: bodyread.BodyLimits) -> bool | int:
    """Put the whole body in wsgi.input; whether more than the limit was drained, or the status answered."""
    length = bodyread.declared_length(environ)
    if length is not None and length > limits.drain_cap:
        return _answer(protocol, environ, 413, limits.over_cap_message())
    started = time.perf_counter()
    ticket = bodyread.WATCHDOG.start(
        limits.timeout_s, lambda: _answer(protocol, environ, 408, limits.timeout_message(), started)
    )
    body = bodyread.read(environ["wsgi.input"], length, limits)
    if bodyread.WATCHDOG.finish(ticket):
        return 408  # answered by the watchdog; the client may have sent the rest since, or left
    if body.over_cap(limits):
        return _answer(protocol, environ, 413, limits.over_cap_message())
    bodyread.hand_over(environ, body)
    return body.over_limit(limits)


def _answer(protocol, environ: dict, code: int, message: str, started: float | None = None) -> int:
    body = bodyread.error_body(code, message)
    protocol.response_bytes(code, bodyread.error_headers(body), body)
    if accesslog.log.isEnabledFor(logging.INFO):
        accesslog.write(environ["REQUEST_METHOD"], environ["PATH_INFO"], code, started, None, {})
    return code


class _Response:
    """start_response, as granian's: keeps the status code and headers."""

    __slots__ = ("headers", "status")

    def __init__(self):
        self.status = 200
        self.headers: list = []

    def __call__(self, status: str, headers: list, exc_info: Any = None) -> None:
        self.status = int(status.split(" ", 1)[0])
        self.headers = headers


class _Iterator:
    """A WSGI answer's iterable as granian's response_iter takes it (with close())."""

    __slots__ = ("__next__", "inner")

    def __init__(self, inner):
        self.inner = inner
        self.__next__ = iter(inner).__next__

    def close(self) -> None:
        close = getattr(self.inner, "close", None)
        if close is not None:
            close()


class _Places:
    """The MOCK_THREADS places where the app runs: tokens in a queue.SimpleQueue (C, unlike Semaphore)."""

    def __init__(self, count: int):
        self._tokens: queue.SimpleQueue = queue.SimpleQueue()
        for _ in range(count):
            self._tokens.put(None)

    def __enter__(self) -> None:
        self._tokens.get()

    def __exit__(self, *exc) -> None:
        self._tokens.put(None)
