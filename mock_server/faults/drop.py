"""drop_connection: close the client's connection without any HTTP response, on each WSGI server.

WSGI has no "abort the connection" call, so each server needs its own way:
- granian (hyper): a streamed response whose Content-Length header is not a number is refused by
  hyper before a single byte is written, and hyper closes the connection. The client reads EOF.
- werkzeug's server puts the socket in the environ: shut it down before the first write.
- waitress (and others that give REMOTE_PORT): find our process's socket to that peer and shut it
  down before the first write.
"""

from __future__ import annotations

import os
import socket

from ..v3.exchange import Exchange

# Not a number: hyper rejects the head ("illegal Content-Length") and drops the connection unsent.
ILLEGAL_CONTENT_LENGTH = "drop-connection"


def drop(exchange: Exchange) -> None:
    """Answer with a response no client will ever receive: the connection closes with nothing sent."""
    environ = exchange.environ
    exchange.answer(200, None)
    exchange.no_response = "drop_connection"
    exchange.streamed = True
    exchange.headers.clear()
    if "werkzeug.socket" in environ or (
        "REMOTE_PORT" in environ and not str(environ.get("SERVER_SOFTWARE", "")).startswith("Granian")
    ):
        exchange.out = _shutdown_then_nothing(environ)
        return
    exchange.out = _nothing()
    exchange.headers += [("Content-Type", "application/json"), ("Content-Length", ILLEGAL_CONTENT_LENGTH)]


def _nothing():
    # A generator, so the server streams it (granian encodes the head only then).
    return
    yield b""  # unreachable: only makes this function a generator


def _shutdown_then_nothing(environ: dict):
    # Runs when the server starts sending, i.e. after start_response and before any byte is written.
    own = environ.get("werkzeug.socket")
    sock = own or _peer_socket(environ)
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass  # already gone: the client sees a closed connection either way
        if sock is not own:
            sock.close()  # our duplicate descriptor only; the server closes its own
    return
    yield b""  # unreachable: makes this function a generator


def _peer_socket(environ: dict) -> socket.socket | None:
    """The socket of this process connected to the request's peer (REMOTE_ADDR:REMOTE_PORT)."""
    try:
        peer = (environ["REMOTE_ADDR"], int(environ["REMOTE_PORT"]))
        local_port = int(environ.get("SERVER_PORT", 0))
        fds = os.listdir("/proc/self/fd")
    except (KeyError, ValueError, OSError):
        return None
    for name in fds:
        try:
            if not os.readlink(f"/proc/self/fd/{name}").startswith("socket:"):
                continue
            candidate = socket.socket(fileno=os.dup(int(name)))
        except OSError:
            continue
        try:
            if candidate.getpeername()[:2] == peer and candidate.getsockname()[1] == local_port:
                return candidate  # a duplicate descriptor; shutting it down shuts the connection
        except OSError:
            pass
        candidate.close()
    return None
