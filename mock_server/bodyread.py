"""Request bodies: read whole, under one deadline, before the app runs; drained past the limit; JSON errors.

Every server reads a request's body before the request takes one of the MOCK_THREADS threads that run
the app (granian: granian_wsgi.py; waitress does it by design: waitress_server.py; werkzeug:
`BufferedBody` below). The read has one deadline, MOCK_READ_TIMEOUT_S after the headers: a body that
misses it is answered 408 with `Connection: close`.

A body over MOCK_MAX_BODY_BYTES is still read, and thrown away, up to `drain_cap` bytes, so that a
client that writes its whole body before it reads the answer (Python's http.client, requests) gets the
app's 413 rather than a broken pipe; the connection is closed after that answer. A body declared or
sent past the cap is answered 413 without being read, and such a client may see a reset instead.
"""

from __future__ import annotations

import io
import itertools
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus

import orjson

log = logging.getLogger("mock_server")
MIN_DRAIN_CAP = 16 * 1024 * 1024
CHUNK = 64 * 1024
CLOSE = ("Connection", "close")


@dataclass(frozen=True)
class BodyLimits:
    """How long a body may take (seconds) and how many bytes of it are kept and drained."""

    timeout_s: float
    max_bytes: int
    drain_cap: int

    @classmethod
    def of(cls, settings) -> BodyLimits:
        """The settings' limits; the drain cap is max(4 x MOCK_MAX_BODY_BYTES, 16 MiB)."""
        return cls(settings.read_timeout_s, settings.max_body_bytes, max(4 * settings.max_body_bytes, MIN_DRAIN_CAP))

    def timeout_message(self) -> str:
        return f"request body not received within {self.timeout_s:g} s (MOCK_READ_TIMEOUT_S); the connection is closed"

    def over_cap_message(self) -> str:
        return (
            f"request body over the {self.max_bytes}-byte limit (MOCK_MAX_BODY_BYTES) and over "
            f"{self.drain_cap} bytes: not read; the connection is closed"
        )


def error_payload(code: int, message: str, errors=None) -> dict:
    """The JSON every error of the sandbox has: {code, status, message}, and `errors` when a schema said why."""
    payload = {"code": code, "status": reason_phrase(code), "message": message}
    if errors is not None:
        payload["errors"] = errors
    return payload


def error_body(code: int, message: str) -> bytes:
    """error_payload encoded."""
    return orjson.dumps(error_payload(code, message))


def reason_phrase(code: int) -> str:
    """The reason phrase of a status code the sandbox answers ('Unknown' for one it has no name for)."""
    if code == 499:  # nginx's, not in http.HTTPStatus; a fault may answer it
        return "Client Closed Request"
    try:
        return HTTPStatus(code).phrase
    except ValueError:
        return "Unknown"


def error_headers(body: bytes) -> list[tuple[str, str]]:
    """Headers of an error answer after which the connection is closed."""
    return [("Content-Type", "application/json"), ("Content-Length", str(len(body))), CLOSE]


def status_line(code: int) -> str:
    """'408 Request Timeout', as WSGI's start_response takes it."""
    return f"{code} {reason_phrase(code)}"


def has_body(environ) -> bool:
    """Whether the request announces a body (HTTP/1: a non-zero Content-Length, or chunks)."""
    length = environ.get("CONTENT_LENGTH")
    return bool(length and length != "0") or "HTTP_TRANSFER_ENCODING" in environ


def declared_length(environ) -> int | None:
    """CONTENT_LENGTH as a number (None when absent or not a plain decimal number)."""
    length = environ.get("CONTENT_LENGTH", "")
    return int(length) if length.isascii() and length.isdigit() else None


@dataclass
class Body:
    """What was read: the first max_bytes + 1 bytes, how many bytes came in all, whether that was all."""

    kept: bytes
    total: int
    complete: bool

    def over_limit(self, limits: BodyLimits) -> bool:
        return self.total > limits.max_bytes

    def over_cap(self, limits: BodyLimits) -> bool:
        return self.total > limits.drain_cap


def read(stream, length: int | None, limits: BodyLimits) -> Body:
    """Read a body: to its declared length, or to its end when chunked, stopping past the drain cap.

    A body within the limit is one read() call (the everyday case). Errors (a reset, a closed or shut
    socket) end the read: `complete` then says whether the declared length arrived.
    """
    if length is not None and length <= limits.max_bytes:
        try:
            data = stream.read(length)
        except (OSError, ValueError):
            data = b""
        return Body(data, len(data), len(data) == length)
    kept, keep, total = [], limits.max_bytes + 1, 0
    read_some = getattr(stream, "read1", stream.read)  # read1 (werkzeug's socket file): what has arrived
    ended = False
    while total <= limits.drain_cap and (length is None or total < length):
        try:
            chunk = read_some(CHUNK if length is None else min(CHUNK, length - total))
        except (OSError, ValueError):
            break
        if not chunk:
            ended = True
            break
        total += len(chunk)
        if keep > 0:
            kept.append(chunk[:keep])
            keep -= len(kept[-1])
    complete = total == length if length is not None else ended
    return Body(b"".join(kept), total, complete)


def hand_over(environ, body: Body) -> None:
    """Give the app the body read: wsgi.input in memory, and its length, as waitress does once it de-chunks.

    A chunked body then has a Content-Length like any other: over the limit, the app refuses it by that
    number (413) without reading it (werkzeug reads a chunked body only up to the limit, and would not
    say that there was more).
    """
    environ["wsgi.input"] = io.BytesIO(body.kept)
    environ["CONTENT_LENGTH"] = str(body.total)
    environ.pop("HTTP_TRANSFER_ENCODING", None)


class Watchdog:
    """One thread that runs an action when a deadline passes (no thread or timer per request).

    It looks every TICK_S rather than being woken for each new deadline: starting and finishing a
    deadline is then a dict update under a lock, with no thread hand-off on the request's path.
    """

    TICK_S = 0.1

    def __init__(self, name: str = "body-read-deadlines"):
        self._name = name
        self._reset()
        os.register_at_fork(after_in_child=self._reset)  # the parent's thread and lock state do not carry over

    def _reset(self) -> None:
        self._entries: dict[int, tuple[float, Callable[[], object]]] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._tickets = itertools.count(1)

    def start(self, seconds: float, action: Callable[[], object]) -> int:
        """Run `action` (in the watchdog's thread) about `seconds` from now, unless finished first; a ticket."""
        ticket = next(self._tickets)
        deadline = time.monotonic() + seconds
        with self._lock:
            self._entries[ticket] = (deadline, action)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                self._thread.start()
        return ticket

    def finish(self, ticket: int) -> bool:
        """Stop watching; True when the deadline had passed (the action ran, or is running)."""
        with self._lock:
            return self._entries.pop(ticket, None) is None

    def _run(self) -> None:
        while True:
            time.sleep(self.TICK_S)
            now = time.monotonic()
            with self._lock:
                due = [ticket for ticket, (at, _) in self._entries.items() if at <= now]
                actions = [self._entries.pop(ticket)[1] for ticket in due]
            for action in actions:
                try:
                    action()
                except Exception:  # one failed answer must not stop the other deadlines
                    log.debug("a body deadline's action failed", exc_info=True)


WATCHDOG = Watchdog()


class BufferedBody:
    """WSGI middleware for werkzeug's server, whose wsgi.input is the socket: read the body first.

    werkzeug gives each connection its own thread, so a slow body holds no thread another client needs.
    The deadline shuts the socket's reading side (a blocked recv() then returns at once); the 408 is
    then written on the side that is still open. werkzeug closes every connection after its answer
    (it sends `Connection: close` itself), so nothing here asks for that.
    """

    def __init__(self, app, limits: BodyLimits):
        self.app = app
        self.limits = limits

    def __call__(self, environ, start_response):
        sock = environ.get("werkzeug.socket")
        if sock is None or not has_body(environ):
            return self.app(environ, start_response)
        length = declared_length(environ)
        if length is not None and length > self.limits.drain_cap:
            return _answer(start_response, 413, self.limits.over_cap_message())
        ticket = WATCHDOG.start(self.limits.timeout_s, lambda: _shut_reading(sock))
        body = read(environ["wsgi.input"], length, self.limits)
        if WATCHDOG.finish(ticket):
            return _answer(start_response, 408, self.limits.timeout_message())
        if body.over_cap(self.limits):
            return _answer(start_response, 413, self.limits.over_cap_message())
        hand_over(environ, body)
        return self.app(environ, start_response)


def _shut_reading(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RD)
    except OSError:
        pass  # already gone


def _answer(start_response, code: int, message: str):
    body = error_body(code, message)
    start_response(status_line(code), [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]
