"""Fault kinds that only a real server process and a real socket can show: time, broken answers, no answer."""

from __future__ import annotations

import http.client
import json
import signal
import socket
import subprocess
import threading

import pytest

from tests.helpers import feed_slot, wait_until_fired

from .server import ServerProcess

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """One granian sandbox for the module; each test clears the rules it added."""
    process = ServerProcess(tmp_path_factory.mktemp("faults")).start()
    yield process
    process.stop()


@pytest.fixture(autouse=True)
def _no_rules_left(request):
    yield
    if "server" in request.fixturenames:
        call(request.getfixturevalue("server"), "DELETE", "/_admin/faults")


def call(server, method, path, body=None, timeout=30.0, headers=None):
    """(status, headers, raw body) over a fresh connection."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=timeout)
    try:
        connection.request(
            method,
            path,
            body=None if body is None else json.dumps(body),
            headers={"Content-Type": "application/json", **(headers or {})},
        )
        response = connection.getresponse()
        return response.status, response.headers, response.read()
    finally:
        connection.close()


def add_rule(server, **rule) -> dict:
    status, _, body = call(server, "POST", "/_admin/faults", rule)
    assert status == 201, body
    return json.loads(body)


def bookable_slot(server) -> dict:
    services = {(s["merchant_id"], s["service_id"]): s for s in server.get("/feeds/services.json")["service"]}
    used = {b["slot"]["start_sec"] + b["slot"]["service_id"] for b in server.get("/_admin/bookings")["bookings"]}
    entry = next(
        a
        for group in server.get("/feeds/availability.json")["service_availability"]
        for a in group["availability"]
        if services[(a["merchant_id"], a["service_id"])].get("prepayment_type") != "REQUIRED"
        and a["confirmation_mode"] == "CONFIRMATION_MODE_SYNCHRONOUS"
        and a["spots_open"] > 0
        and str(a["start_sec"]) + a["service_id"] not in used
    )
    return feed_slot(entry)


def create_body(slot, token):
    return {
        "slot": slot,
        "idempotency_token": token,
        "user_information": {
            "user_id": "e2e-user",
            "given_name": "Ada",
            "family_name": "Lovelace",
            "telephone": "+1 555-010-0101",
            "email": "qa@example.com",
        },
    }


def test_delay_answers_normally_but_later(server):
    add_rule(server, method="HealthCheck", kind="delay", delay_ms=300, times=2)
    with pytest.raises(TimeoutError):
        call(server, "GET", "/v3/HealthCheck", timeout=0.1)  # an impatient client gives up
    status, headers, body = call(server, "GET", "/v3/HealthCheck")
    assert (status, headers["Content-Type"], json.loads(body)) == (200, "application/json", {})


def test_timeout_holds_past_the_client_deadline_then_answers_504(server):
    add_rule(server, method="CreateBooking", kind="timeout", hold_ms=1000, times=1)
    slot = bookable_slot(server)
    with pytest.raises(TimeoutError):
        call(server, "POST", "/v3/CreateBooking", create_body(slot, "e2e-timeout"), timeout=0.5)
    add_rule(server, method="GetBookingStatus", kind="timeout", hold_ms=50, times=1)
    status, _, body = call(server, "POST", "/v3/GetBookingStatus", {"booking_id": "B0000001"})
    assert status == 504 and json.loads(body)["status"] == "Gateway Timeout"
    assert all(b["idempotency_token"] != "e2e-timeout" for b in server.get("/_admin/bookings")["bookings"])


def test_timeout_after_commit_then_a_retry_gets_the_original_booking(server):
    rule = add_rule(server, method="CreateBooking", kind="timeout_after_commit", hold_ms=1000, times=1)
    body = create_body(bookable_slot(server), "e2e-lost-response")
    with pytest.raises(TimeoutError):
        call(server, "POST", "/v3/CreateBooking", body, timeout=0.5)
    # The client gave up; on a loaded machine the first attempt may not have committed yet, and a retry racing it
    # would take the rule's one firing (the engine says so): retry once the rule fired on the first attempt.
    wait_until_fired(server.get, rule["id"])
    status, _, retried = call(server, "POST", "/v3/CreateBooking", body)
    assert status == 200
    booking = json.loads(retried)["booking"]
    stored = [b for b in server.get("/_admin/bookings")["bookings"] if b["idempotency_token"] == "e2e-lost-response"]
    assert [b["booking_id"] for b in stored] == [booking["booking_id"]]


def test_malformed_json_is_a_200_that_does_not_parse(server):
    add_rule(server, method="HealthCheck", kind="malformed_json", times=1)
    status, headers, body = call(server, "GET", "/v3/HealthCheck")
    assert (status, headers["Content-Type"], headers["Content-Length"]) == (200, "application/json", str(len(body)))
    with pytest.raises(json.JSONDecodeError):
        json.loads(body)


def test_empty_response_is_a_200_with_no_body(server):
    add_rule(server, method="HealthCheck", kind="empty_response", times=1)
    status, headers, body = call(server, "GET", "/v3/HealthCheck")
    assert (status, headers["Content-Type"], headers["Content-Length"], body) == (200, "application/json", "0", b"")


def _raw_exchange(port: int) -> bytes:
    """Send a HealthCheck on a raw socket; everything the server sends before closing."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"GET /v3/HealthCheck HTTP/1.1\r\nHost: sandbox\r\n\r\n")
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
        return received


def test_drop_connection_closes_without_a_response(server):
    rule = add_rule(server, method="HealthCheck", kind="drop_connection", times=2)
    with pytest.raises(http.client.RemoteDisconnected):
        call(server, "GET", "/v3/HealthCheck")
    assert _raw_exchange(server.port) == b""  # not a 500, not a status line: nothing at all
    assert call(server, "GET", "/v3/HealthCheck")[0] == 200  # the server itself is fine
    retired = json.loads(call(server, "GET", "/_admin/faults")[2])["retired"]
    assert (retired[-1]["id"], retired[-1]["fired"]) == (rule["id"], 2)


@pytest.mark.parametrize("wsgi_server", ["waitress", "werkzeug"])
def test_drop_connection_on_the_other_servers(start_server, wsgi_server):
    other = start_server(MOCK_SERVER=wsgi_server)
    add_rule(other, method="HealthCheck", kind="drop_connection", times=1)
    assert _raw_exchange(other.port) == b""
    assert call(other, "GET", "/v3/HealthCheck")[0] == 200


def test_stopping_the_server_releases_held_requests(start_server):
    held_server = start_server()
    rule = add_rule(held_server, method="HealthCheck", kind="timeout", hold_ms=20_000)
    answers = []
    holder = threading.Thread(target=lambda: answers.append(call(held_server, "GET", "/v3/HealthCheck", timeout=30)))
    holder.start()
    wait_until_fired(held_server.get, rule["id"])  # the request is being held once it fired
    process = held_server.process
    process.send_signal(signal.SIGTERM)  # as `docker stop` does: the main process only
    try:
        process.wait(timeout=15)  # well under the 20 s hold, with room for a loaded CI machine
    except subprocess.TimeoutExpired:
        pytest.fail("the server waited for a held request instead of stopping")
    holder.join(timeout=30)
    assert answers and answers[0][0] == 504
