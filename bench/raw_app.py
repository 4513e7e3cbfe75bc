"""The stack's own ceiling: a raw WSGI callable that reads the body and returns canned bytes, no framework."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path

from bench.echo_app import default_answer

_HEALTH = b"{}"


def create_app(answer: bytes) -> Callable[[dict, Callable], Iterable[bytes]]:
    """A WSGI callable answering every POST with `answer` and every other request with `{}`."""
    answer_headers = [("Content-Type", "application/json"), ("Content-Length", str(len(answer)))]
    health_headers = [("Content-Type", "application/json"), ("Content-Length", str(len(_HEALTH)))]

    def app(environ: dict, start_response: Callable) -> Iterable[bytes]:
        """Read the request (as any handler must), then answer from memory."""
        length = environ.get("CONTENT_LENGTH") or "0"
        if length.isdigit() and int(length):
            environ["wsgi.input"].read(int(length))
        if environ.get("REQUEST_METHOD") == "POST":
            start_response("200 OK", answer_headers)
            return [answer]
        start_response("200 OK", health_headers)
        return [_HEALTH]

    return app


def _answer() -> bytes:
    path = os.environ.get("BENCH_ECHO_BODY")
    return Path(path).read_bytes() if path else default_answer()


app = create_app(_answer())
