"""One structured (JSON) log line per request: method, path, status, duration, faults applied.

Lines go through the `mock_server.access` logger, except in the serving process, where `buffer_lines`
sends them to a buffer that the flusher thread writes out every 50 ms (as nginx's `access_log ...
flush=`): a write per request would hand the GIL to another thread once more per request.
"""

from __future__ import annotations

import logging
import os
import threading
import time

import orjson
from flask import Flask, request

from . import flusher
from .api.common import NOTES_KEY

log = logging.getLogger("mock_server.access")
_START = "mock_server.started"


class LineBuffer:
    """Lines kept in memory and written in order by the flusher thread (every 50 ms, and at exit)."""

    def __init__(self, stream):
        self._stream = stream
        self._lines: list[str] = []
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()  # batches go out one at a time, so lines stay in order
        self._registered_in = 0

    def add(self, line: str) -> None:
        with self._lock:
            self._lines.append(line)
        if self._registered_in != os.getpid():  # the first line in this process (granian's worker)
            self._registered_in = os.getpid()
            flusher.register(self)

    def flush(self) -> None:
        """Write out what is buffered (in order)."""
        with self._write_lock:
            with self._lock:
                lines, self._lines = self._lines, []
            if lines:
                try:
                    self._stream.write("\n".join(lines) + "\n")
                    self._stream.flush()
                except (OSError, ValueError):
                    pass  # stderr closed: a log line must never take the server down


_buffer: LineBuffer | None = None


def buffer_lines(stream) -> None:
    """From now on, write access lines to `stream` through a LineBuffer instead of the logger."""
    global _buffer
    _buffer = LineBuffer(stream)


def install(app: Flask) -> None:
    """Time every request and log it when it is answered (at INFO; MOCK_LOG_LEVEL=WARNING silences it)."""

    @app.before_request
    def _start_timer():
        request.environ[_START] = time.perf_counter()

    @app.after_request
    def _log(response):
        # The dashboard polls and loads static files: those lines would drown the API's.
        if log.isEnabledFor(logging.INFO) and not request.path.startswith("/_admin/ui"):
            notes = request.environ.get(NOTES_KEY) or {}
            rpc = None
            if request.url_rule is not None and request.path.startswith("/v3"):
                rpc = request.url_rule.rule.rstrip("/").rsplit("/", 1)[-1]
            write(request.method, request.path, response.status_code, request.environ.get(_START), rpc, notes)
        return response


def write(method: str, path: str, status: int, started: float | None, rpc: str | None, notes: dict) -> None:
    """Log one request's line (the caller checked that INFO is enabled)."""
    line = {"method": method, "path": path, "status": None if notes.get("no_response") else status,
            "duration_ms": round((time.perf_counter() - started) * 1000, 2) if started else None}
    if rpc:
        line["rpc"] = rpc
    for key in ("no_response", "faults", "warnings"):
        if notes.get(key):
            line[key] = notes[key]
    text = orjson.dumps(line).decode()
    if _buffer is not None:
        _buffer.add(text)
    else:
        log.info(text)
