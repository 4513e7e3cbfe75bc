"""Bare Flask baseline: answers BatchAvailabilityLookup with fixed bytes and does no work."""

from __future__ import annotations

import json
import os
from pathlib import Path

from flask import Flask, Response, request


def default_answer(slots: int = 10) -> bytes:
    """A 10-slot BatchAvailabilityLookup answer, used when the harness passes none."""
    entries = [
        {
            "slot_time": {
                "service_id": "dinner",
                "start_sec": str(1767279600 + i * 1800),
                "duration_sec": "5400",
                "resource_ids": {"party_size": 2},
                "confirmation_mode": "CONFIRMATION_MODE_SYNCHRONOUS",
            },
            "available": True,
        }
        for i in range(slots)
    ]
    return json.dumps({"slot_time_availability": entries}, separators=(",", ":")).encode()


def create_app(answer: bytes) -> Flask:
    """A Flask app with the same BAL route as the sandbox and a health route for readiness."""
    app = Flask(__name__)

    @app.post("/v3/BatchAvailabilityLookup")
    def batch_availability_lookup():
        """Read the request (as any handler must) and return the canned answer."""
        request.get_data()
        return Response(answer, mimetype="application/json")

    @app.get("/_admin/health")
    def health():
        """Ready as soon as it serves."""
        return Response(b"{}", mimetype="application/json")

    return app


def _answer() -> bytes:
    path = os.environ.get("BENCH_ECHO_BODY")
    return Path(path).read_bytes() if path else default_answer()


app = create_app(_answer())
