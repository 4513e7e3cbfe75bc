"""Each fault kind on the wire, through the Flask test client: statuses, bodies and headers."""

from __future__ import annotations

import orjson
import pytest

from mock_server import create_app
from mock_server.faults.drop import ILLEGAL_CONTENT_LENGTH
from mock_server.faults.rules import CAUSES, HTTP_STATUSES
from tests.helpers import feed_slot, keep_exchange_notes

NOW = 1_767_225_600


@pytest.fixture(scope="module")
def shared_app():
    """One app for the module (building one costs more than the tests); each test starts from a reset."""
    app = create_app({"record": 0, "clock": NOW, "timeout_ms": 100})
    app.exchange_notes = keep_exchange_notes(app)
    return app


@pytest.fixture
def app(shared_app):
    shared_app.test_client().post("/_admin/reset")  # bookings, rules, ids and dice back to the start
    shared_app.exchange_notes.clear()
    return shared_app


@pytest.fixture
def client(app):
    return app.test_client()


def add_rule(client, **rule):
    response = client.post("/_admin/faults", json=rule)
    assert response.status_code == 201, response.json
    return response.json


def slots(client) -> list[dict]:
    """Bookable feed entries: no prepayment, synchronous confirmation, a spot open."""
    services = {(s["merchant_id"], s["service_id"]): s for s in client.get("/feeds/services.json").json["service"]}
    return [
        a
        for group in client.get("/feeds/availability.json").json["service_availability"]
        for a in group["availability"]
        if services[(a["merchant_id"], a["service_id"])].get("prepayment_type") != "REQUIRED"
        and a["confirmation_mode"] == "CONFIRMATION_MODE_SYNCHRONOUS"
        and a["spots_open"] > 0
    ]


def wire_slot(entry: dict) -> dict:
    return feed_slot(entry)


@pytest.fixture
def slot(client):
    return slots(client)[0]


def create(client, slot, token="tok-1", email="qa@example.com", user_id="u-1", headers=None):
    body = {
        "slot": wire_slot(slot),
        "idempotency_token": token,
        "user_information": {
            "user_id": user_id,
            "given_name": "Ada",
            "family_name": "Lovelace",
            "telephone": "+1 555-010-0101",
            "email": email,
        },
    }
    return client.post("/v3/CreateBooking", json=body, headers=headers or {})


def booking_count(client) -> int:
    return client.get("/_admin/bookings").json["count"]


def last_notes(app) -> dict:
    """Notes of the last /v3 exchange."""
    return app.exchange_notes[-1]


# ---- business failures ----


def test_slot_taken_on_create_booking_answers_slot_unavailable_and_books_nothing(app, client, slot):
    rule = add_rule(client, method="CreateBooking", kind="slot_taken", times=1)
    response = create(client, slot)
    assert response.status_code == 200
    assert response.json == {
        "booking_failure": {
            "cause": "SLOT_UNAVAILABLE",
            "description": f"the slot is no longer available (sandbox fault {rule['id']})",
        }
    }
    assert booking_count(client) == 0
    assert last_notes(app)["faults"] == [{"id": rule["id"], "kind": "slot_taken"}]
    assert create(client, slot, token="tok-2").json["booking"]["status"] == "CONFIRMED"


def test_slot_taken_on_an_invalid_request_keeps_the_400_and_the_rule(client, slot):
    add_rule(client, method="CreateBooking", kind="slot_taken", times=1)
    response = client.post("/v3/CreateBooking", json={"slot": wire_slot(slot)})
    assert response.status_code == 400 and "user_information" in response.json["message"]
    assert client.get("/_admin/faults").json["faults"][0]["remaining"] == 1


def test_slot_taken_on_a_reschedule_leaves_the_booking_where_it_was(client):
    entries = slots(client)
    first = entries[0]
    same_service = (first["merchant_id"], first["service_id"])
    second = next(
        e
        for e in entries
        if (e["merchant_id"], e["service_id"]) == same_service and e["start_sec"] != first["start_sec"]
    )
    booking = create(client, first).json["booking"]
    add_rule(client, method="UpdateBooking", kind="slot_taken")
    move = {
        "booking": {
            "booking_id": booking["booking_id"],
            "slot": {"start_sec": str(second["start_sec"]), "duration_sec": str(second["duration_sec"])},
        }
    }
    assert client.post("/v3/UpdateBooking", json=move).json["booking_failure"]["cause"] == "SLOT_UNAVAILABLE"
    status = client.post("/v3/GetBookingStatus", json={"booking_id": booking["booking_id"]}).json
    assert status["booking_status"] == "CONFIRMED"
    stored = client.get("/_admin/bookings").json["bookings"][0]
    assert stored["slot"]["start_sec"] == str(first["start_sec"])
    cancel = {"booking": {"booking_id": booking["booking_id"], "status": "CANCELED"}}
    assert client.post("/v3/UpdateBooking", json=cancel).json["booking"]["status"] == "CANCELED"


def test_slot_taken_on_a_lookup_marks_only_the_matching_slots_unavailable(client):
    entries = slots(client)
    merchant = next(
        m
        for m in {e["merchant_id"] for e in entries}
        if len({e["service_id"] for e in entries if e["merchant_id"] == m}) > 1
    )
    taken, kept = [
        next(e for e in entries if e["merchant_id"] == merchant and e["service_id"] == s)
        for s in sorted({e["service_id"] for e in entries if e["merchant_id"] == merchant})[:2]
    ]
    add_rule(client, method="BatchAvailabilityLookup", kind="slot_taken", match={"service_id": taken["service_id"]})
    request_body = {
        "merchant_id": merchant,
        "slot_time": [
            {"service_id": e["service_id"], "start_sec": str(e["start_sec"]), "duration_sec": str(e["duration_sec"])}
            for e in (taken, kept)
        ],
    }
    answers = client.post("/v3/BatchAvailabilityLookup", json=request_body).json["slot_time_availability"]
    assert [(a["slot_time"]["service_id"], a["available"]) for a in answers] == [
        (taken["service_id"], False),
        (kept["service_id"], True),
    ]


def test_slot_taken_on_check_availability_counts_zero(client, slot):
    add_rule(client, method="CheckAvailability", kind="slot_taken")
    response = client.post("/v3/CheckAvailability", json={"slot": wire_slot(slot)})
    assert response.status_code == 200
    assert response.json == {"slot": wire_slot(slot), "count_available": 0}


def test_payment_required_answers_payment_error_with_a_description(client, slot):
    add_rule(client, method="CreateBooking", kind="payment_required", description="card needed")
    failure = create(client, slot).json["booking_failure"]
    assert failure == {"cause": "PAYMENT_ERROR", "description": "card needed (sandbox fault f1)"}
    assert booking_count(client) == 0


@pytest.mark.parametrize("cause", CAUSES)
def test_booking_failure_sends_any_cause(client, slot, cause):
    add_rule(client, method="CreateBooking", kind="booking_failure", cause=cause)
    response = create(client, slot)
    assert response.status_code == 200
    assert response.json["booking_failure"]["cause"] == cause
    assert response.json["booking_failure"]["description"]


def test_card_type_rejected_names_the_card_type(client, slot):
    add_rule(client, method="CreateBooking", kind="booking_failure", cause="PAYMENT_ERROR_CARD_TYPE_REJECTED", times=1)
    assert create(client, slot).json["booking_failure"]["rejected_card_type"] == "VISA"
    add_rule(
        client,
        method="CreateBooking",
        kind="booking_failure",
        cause="PAYMENT_ERROR_CARD_TYPE_REJECTED",
        rejected_card_type="AMERICAN_EXPRESS",
    )
    assert create(client, slot).json["booking_failure"]["rejected_card_type"] == "AMERICAN_EXPRESS"


def test_3ds1_sends_the_challenge_parameters(client, slot):
    add_rule(client, method="CreateBooking", kind="booking_failure", cause="PAYMENT_REQUIRES_3DS1")
    failure = create(client, slot).json["booking_failure"]
    params = failure["payment_failure"]["threeds1_parameters"]
    assert set(params) == {"acs_url", "pa_req", "transaction_id", "md_merchant_data"}
    assert params["acs_url"].startswith("https://") and all(params.values())
    assert create(client, slot).json["booking_failure"]["payment_failure"]["threeds1_parameters"] != params


# ---- protocol errors ----


@pytest.mark.parametrize("status", HTTP_STATUSES)
def test_http_error_sends_the_status_and_a_json_error(client, slot, status):
    add_rule(client, method="CreateBooking", kind="http_error", status=status)
    response = create(client, slot)
    assert response.status_code == status
    assert response.mimetype == "application/json"
    assert response.json["code"] == status and response.json["status"]
    assert "sandbox fault f1" in response.json["message"]
    assert booking_count(client) == 0


def test_http_error_headers(client, slot):
    add_rule(client, method="CreateBooking", kind="http_error", status=429, times=1)
    assert create(client, slot).headers["Retry-After"] == "1"
    add_rule(client, method="CreateBooking", kind="http_error", status=429, retry_after_s=7, times=1)
    assert create(client, slot).headers["Retry-After"] == "7"
    add_rule(client, method="CreateBooking", kind="http_error", status=503, times=1)
    assert "Retry-After" not in create(client, slot).headers
    add_rule(client, method="CreateBooking", kind="http_error", status=503, retry_after_s=2, times=1)
    assert create(client, slot).headers["Retry-After"] == "2"
    add_rule(client, method="CreateBooking", kind="http_error", status=401, message="rotate your password", times=1)
    response = create(client, slot)
    assert response.headers["WWW-Authenticate"].startswith("Basic realm=")
    assert response.json == {"code": 401, "status": "Unauthorized", "message": "rotate your password"}
    add_rule(client, method="CreateBooking", kind="http_error", status=499, times=1)
    response = create(client, slot)
    assert response.json["status"] == "Client Closed Request"
    assert response.status == "499 CLIENT CLOSED REQUEST"  # the status line too (werkzeug's table has no 499)


# ---- time ----


def test_delay_then_the_normal_answer(app, client, slot):
    add_rule(client, method="CreateBooking", kind="delay", delay_ms=1)
    add_rule(client, method="CreateBooking", kind="delay", min_ms=1, max_ms=2)
    assert create(client, slot).json["booking"]["status"] == "CONFIRMED"
    assert last_notes(app)["faults"] == [{"id": "f1", "kind": "delay"}]


def test_timeout_holds_then_answers_504_without_booking(client, slot):
    add_rule(client, method="CreateBooking", kind="timeout", hold_ms=5)
    response = create(client, slot)
    assert response.status_code == 504
    assert response.json == {
        "code": 504,
        "status": "Gateway Timeout",
        "message": "deadline exceeded: held for 5 ms (sandbox fault f1)",
    }
    assert booking_count(client) == 0


def test_timeout_holds_for_the_server_timeout_by_default(client, slot):
    add_rule(client, method="HealthCheck", kind="timeout")  # timeout_ms is 100 in this app
    assert client.get("/v3/HealthCheck").json["message"].startswith("deadline exceeded: held for 100 ms")


def test_timeout_after_commit_books_and_a_retry_gets_the_original_booking(client, slot):
    add_rule(client, method="CreateBooking", kind="timeout_after_commit", hold_ms=1, times=1)
    lost = create(client, slot, token="same-token")
    assert lost.status_code == 504 and lost.json["code"] == 504
    assert booking_count(client) == 1
    retry = create(client, slot, token="same-token")
    assert retry.status_code == 200
    assert retry.json["booking"]["booking_id"] == client.get("/_admin/bookings").json["bookings"][0]["booking_id"]
    assert booking_count(client) == 1


# ---- broken answers ----


def test_malformed_json_is_a_200_no_parser_accepts(client, slot):
    add_rule(client, method="CreateBooking", kind="malformed_json")
    response = create(client, slot)
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert response.get_data().startswith(b'{"booking":')
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(response.get_data())
    assert booking_count(client) == 1  # the request was processed; only its answer broke


def test_broken_answers_without_commit_do_not_process_the_request(client, slot):
    add_rule(client, method="CreateBooking", kind="malformed_json", commit=False)
    response = create(client, slot)
    assert response.status_code == 200 and response.get_data() == b'{"booking": '
    assert booking_count(client) == 0


def test_empty_response_is_a_200_with_no_body(client, slot):
    add_rule(client, method="CreateBooking", kind="empty_response")
    response = create(client, slot)
    assert (response.status_code, response.mimetype, response.get_data()) == (200, "application/json", b"")
    assert booking_count(client) == 1


@pytest.mark.parametrize("commit, booked", [(True, 1), (False, 0)])
def test_drop_connection_sends_nothing_and_tells_the_recorder(app, client, slot, commit, booked):
    add_rule(client, method="CreateBooking", kind="drop_connection", commit=commit)
    response = create(client, slot)
    # The test client has no socket: it sees the answer that makes a real server close the connection.
    assert response.headers["Content-Length"] == ILLEGAL_CONTENT_LENGTH and response.get_data() == b""
    assert last_notes(app)["no_response"] == "drop_connection"
    assert last_notes(app)["faults"] == [{"id": "f1", "kind": "drop_connection"}]
    assert booking_count(client) == booked


# ---- matching on the request ----


def test_match_by_merchant_and_user(client):
    first, second = next((a, b) for a in slots(client) for b in slots(client) if a["merchant_id"] != b["merchant_id"])
    add_rule(
        client,
        method="CreateBooking",
        kind="http_error",
        status=503,
        match={"merchant_id": second["merchant_id"], "user_id": "u-9"},
    )
    assert "booking" in create(client, second, user_id="u-1").get_json()
    assert "booking" in create(client, first, token="t2", user_id="u-9").get_json()
    assert create(client, second, token="t3", user_id="u-9").status_code == 503


def test_match_by_booking_id_reaches_the_stored_booking(client, slot):
    booking_id = create(client, slot).json["booking"]["booking_id"]
    add_rule(
        client, method="GetBookingStatus", kind="http_error", status=500, match={"merchant_id": slot["merchant_id"]}
    )
    add_rule(client, method="ListBookings", kind="http_error", status=409, match={"booking_id": "B9"})
    assert client.post("/v3/GetBookingStatus", json={"bookingId": booking_id}).status_code == 500
    assert client.post("/v3/ListBookings", json={"user_id": "u-1"}).status_code == 200


def test_no_rule_and_no_magic_leaves_the_exchange_alone(app, client, slot):
    state = app.extensions["mock_server"].rng.getstate()
    assert create(client, slot).status_code == 200
    assert last_notes(app).get("faults", []) == []
    assert app.extensions["mock_server"].rng.getstate() == state
