"""The server's own environment never leaks into requests as headers."""

import json
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e


def test_http_variables_in_the_environment_are_not_request_headers(start_server, tmp_path):
    server = start_server(HTTP_X_LEAK="oops", MOCK_RECORDING="leak")
    assert server.post("/v3/ListBookings", {"user_id": "x"}) == (200, {"bookings": []})
    exchange = server.get("/_admin/recordings/1")  # the journal as the server holds it
    assert exchange["rpc"] == "ListBookings"
    assert "X-Leak" not in exchange["request"]["headers"] and "oops" not in json.dumps(exchange)
    server.stop()  # stopping writes the journal out: the file says the same
    journal = Path(server.env["MOCK_RECORDINGS_DIR"]) / "leak.jsonl"
    assert [json.loads(line) for line in journal.read_text().splitlines()] == [exchange]
