"""One structured (JSON) log line per request: method, path, status, duration, faults applied.

Lines go through the `mock_server.access` logger, except in the serving process, where they go straight
to the process's LineWriter (linewriter.install): a bounded buffer that its own thread writes out every
50 ms, so a request never waits for stderr (and a write per request would hand the GIL to another thread
once more per request).
"""

from __future__ import annotations

import logging
import time

import orjson
from flask import Flask, request

from . import linewriter

log = logging.getLogger("mock_server.access")
_START = "mock_server.started"


def install(app: Flask) -> None:
    """Time every control-plane request and log it when answered (at INFO; MOCK_LOG_LEVEL=WARNING silences it)."""

    @app.before_request
    def _start_timer():
        request.environ[_START] = time.perf_counter()

    @app.after_request
    def _log(response):
        # The dashboard polls and loads static files: those lines would drown the API's.
        if log.isEnabledFor(logging.INFO) and not request.path.startswith("/_admin/ui"):
            # The control plane's line: /v3 lines come from the gateway's log_access step.
            tenant = request.environ.get("mock_server.tenant")  # tenancy.ENVIRON_KEY (tenancy imports Flask's runtime)
            write(
                request.method,
                request.path,
                response.status_code,
                request.environ.get(_START),
                None,
                {"tenant": tenant},
            )
        return response


def write(method: str, path: str, status: int, started: float | None, rpc: str | None, notes: dict) -> None:
    """Log one request's line (the caller checked that INFO is enabled)."""
    line = {
        "method": method,
        "path": path,
        "status": None if notes.get("no_response") else status,
        "duration_ms": round((time.perf_counter() - started) * 1000, 2) if started else None,
    }
    if notes.get("tenant"):
        line["tenant"] = notes["tenant"]
    if rpc:
        line["rpc"] = rpc
    for key in ("no_response", "faults", "warnings"):
        if notes.get(key):
            line[key] = notes[key]
    text = orjson.dumps(line).decode()
    writer = linewriter.writer()
    if writer is not None:
        writer.add(text)
    else:
        log.info(text)
