"""One structured (JSON) log line per request: method, path, status, duration, faults applied."""

from __future__ import annotations

import logging
import time

import orjson
from flask import Flask, request

from .api.common import NOTES_KEY

log = logging.getLogger("mock_server.access")
_START = "mock_server.started"


def install(app: Flask) -> None:
    """Time every request and log it when it is answered (at INFO; MOCK_LOG_LEVEL=WARNING silences it)."""

    @app.before_request
    def _start_timer():
        request.environ[_START] = time.perf_counter()

    @app.after_request
    def _log(response):
        # The dashboard polls and loads static files: those lines would drown the API's.
        if log.isEnabledFor(logging.INFO) and not request.path.startswith("/_admin/ui"):
            started = request.environ.get(_START)
            notes = request.environ.get(NOTES_KEY) or {}
            status = None if notes.get("no_response") else response.status_code
            line = {"method": request.method, "path": request.path, "status": status,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2) if started else None}
            if request.url_rule is not None and request.path.startswith("/v3"):
                line["rpc"] = request.url_rule.rule.rstrip("/").rsplit("/", 1)[-1]
            if notes.get("no_response"):
                line["no_response"] = notes["no_response"]
            if notes.get("faults"):
                line["faults"] = notes["faults"]
            if notes.get("warnings"):
                line["warnings"] = notes["warnings"]
            log.info(orjson.dumps(line).decode())
        return response
