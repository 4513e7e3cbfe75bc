"""The served process's access log: one JSON line per request on stderr, written out by the buffer."""

from __future__ import annotations

import json
import signal
import urllib.request

import pytest

from tests.helpers import wait_for

pytestmark = pytest.mark.e2e


def access_lines(server) -> list[dict]:
    return [json.loads(line) for line in server.log.read_text().splitlines() if line.startswith('{"method"')]


def post(server, path: str, body: dict) -> int:
    request = urllib.request.Request(
        server.url + path, json.dumps(body).encode(), {"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status


def test_every_request_gets_its_line_soon_and_the_last_ones_at_stop(start_server):
    server = start_server(MOCK_LOG_LEVEL="INFO", MOCK_THREADS="4")
    merchant = json.load(urllib.request.urlopen(server.url + "/feeds/merchants.json"))["merchant"][0]
    lookup = {"merchant_id": merchant["merchant_id"], "slot_time": [{"service_id": "nope", "start_sec": "1"}]}
    for _ in range(50):
        try:
            post(server, "/v3/BatchAvailabilityLookup", lookup)
        except urllib.error.HTTPError as exc:
            assert exc.code == 400  # an unknown service: still one line each
    wait_for(  # written every 50 ms by a background thread
        lambda: len([x for x in access_lines(server) if x["path"] == "/v3/BatchAvailabilityLookup"]) >= 50,
        "50 access lines written",
        every_s=0.05,
    )
    line = next(x for x in access_lines(server) if x["path"] == "/v3/BatchAvailabilityLookup")
    assert line["method"] == "POST" and line["status"] == 400 and line["rpc"] == "BatchAvailabilityLookup"
    assert line["warnings"] == ["no Basic auth sent (Google always sends it)"]

    for _ in range(20):  # then stop at once: the buffer is written out on the way down
        urllib.request.urlopen(server.url + "/v3/HealthCheck").read()
    server.stop(signal.SIGTERM)
    assert len([x for x in access_lines(server) if x["path"] == "/v3/HealthCheck"]) == 20
