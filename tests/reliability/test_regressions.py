"""One test per bug the reliability work found (the crash-window one is in test_crash_window.py)."""

from __future__ import annotations

import json

import pytest

from tests.conftest import FROZEN_AT
from tests.helpers import book, create_body, find_slot, slot_json

from .conftest import fresh_app


@pytest.fixture
def app(tmp_path):
    return fresh_app(tmp_path)


@pytest.fixture
def client(app):
    return app.test_client()


def _post(client, path, body):
    return client.post(path, data=json.dumps(body), content_type="application/json")


@pytest.mark.parametrize("value", ["9" * 5000, "-" + "9" * 5000, "1" * 4301, "0" * 4290 + "1" * 20])
def test_int64_string_with_thousands_of_digits_is_a_400_not_a_500(client, app, value):
    """int() refuses strings over 4300 digits with a ValueError, which surfaced as a 500."""
    slot = slot_json(find_slot(app.extensions["mock_server"], vertical="classes"), start_sec=value)
    response = _post(client, "/v3/CheckAvailability", {"slot": slot})
    assert response.status_code == 400
    assert response.get_json()["message"] == "invalid request: slot.start_sec: out of the int64 range"


def test_int64_with_many_leading_zeros_is_still_its_value(client, app):
    slot = find_slot(app.extensions["mock_server"], vertical="classes")
    padded = slot_json(slot, start_sec="0" * 5000 + str(slot.start_sec))
    response = _post(client, "/v3/CheckAvailability", {"slot": padded})
    assert response.status_code == 200
    assert response.get_json()["slot"]["start_sec"] == str(slot.start_sec)


def test_int64_takes_ascii_digits_only(client, app):
    """\\d also matched other scripts' digits: "١٢٣" was read as 123."""
    slot = slot_json(find_slot(app.extensions["mock_server"], vertical="classes"), start_sec="\u0661\u0662\u0663")
    response = _post(client, "/v3/CheckAvailability", {"slot": slot})
    assert response.status_code == 400
    assert "slot.start_sec: must be an int64" in response.get_json()["message"]


def test_null_on_a_plain_control_plane_schema_is_marshmallows_400(client):
    """A compiled loader once read null as absent on every schema; marshmallow says "may not be null"."""
    response = _post(client, "/_admin/clock", {"advance_sec": None, "freeze_at_sec": 5})
    assert response.status_code == 400
    assert response.get_json()["message"] == "invalid request: advance_sec: Field may not be null."
    assert client.get("/_admin/clock").get_json()["now_sec"] == FROZEN_AT


@pytest.mark.parametrize("body,now", [({"freeze_at_sec": 0}, 0), ({"advance_sec": 0}, FROZEN_AT)])
def test_clock_zero_is_an_action(client, body, now):
    """`not in (None, False)` counted 0 as no action (0 == False): freeze at 0 / advance 0 were 400s."""
    response = _post(client, "/_admin/clock", body)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["now_sec"] == now


@pytest.mark.parametrize("value", ["true", "yes", "1", 1.5])
def test_clock_booleans_are_json_booleans(client, value):
    """marshmallow's Boolean took "true", "yes", "on" ... for freeze/unfreeze."""
    response = _post(client, "/_admin/clock", {"freeze": value})
    assert response.status_code == 400
    assert response.get_json()["message"] == "invalid request: freeze: Not a valid boolean."


def test_413_names_the_limit(tmp_path):
    """The 413 answer had no message at all."""
    client = fresh_app(tmp_path, max_body_bytes=100).test_client()
    response = client.post("/v3/ListBookings", json={"user_id": "x" * 200})
    assert response.status_code == 413
    assert response.get_json() == {
        "code": 413,
        "status": "Request Entity Too Large",
        "message": "request body over the 100-byte limit (MOCK_MAX_BODY_BYTES)",
    }


@pytest.mark.parametrize(
    "data,content_type,status",
    [(b"{", "application/json", 400), (b"[1]", "application/json", 400), (b"x", "text/plain", 415)],
)
def test_reset_with_a_broken_body_does_not_reset(client, app, data, content_type, status):
    """POST /_admin/reset ignored its body, so garbage reset the sandbox like a valid call."""
    booking = book(client, find_slot(app.extensions["mock_server"], vertical="classes"))
    response = client.post("/_admin/reset", data=data, content_type=content_type)
    assert response.status_code == status
    assert response.get_json()["code"] == status
    assert [b["booking_id"] for b in client.get("/_admin/bookings").get_json()["bookings"]] == [booking["booking_id"]]


@pytest.mark.parametrize(
    "kwargs", [{}, {"json": {}}, {"json": {"recordings": True}}, {"data": b"", "content_type": "text/plain"}]
)
def test_reset_without_a_body_or_with_an_object_still_resets(client, app, kwargs):
    book(client, find_slot(app.extensions["mock_server"], vertical="classes"))
    assert client.post("/_admin/reset", **kwargs).status_code == 200
    assert client.get("/_admin/bookings").get_json()["count"] == 0


def test_a_deeply_nested_request_does_not_break_the_recordings_listing(client):
    deep: dict = {}
    inner = deep
    for _ in range(300):
        inner["a"] = {}
        inner = inner["a"]
    sent = {"user_id": "x", "extra": deep}
    refused = _post(client, "/v3/ListBookings", sent)  # deeper than MOCK_MAX_JSON_DEPTH (100): issue 13 item 11
    assert refused.status_code == 400 and "more than 100 levels" in refused.get_json()["message"]
    listing = client.get("/_admin/recordings")
    assert listing.status_code == 200
    exchange = listing.get_json()["exchanges"][0]
    assert exchange["rpc"] == "ListBookings"
    assert exchange["request"]["body"] == json.dumps(sent)  # over 250 levels: listed whole, as the text sent


def test_a_deeply_nested_request_is_refused_before_anything_is_booked(client, app):
    """Depth up to orjson's parse limit (1024) in fields the server ignores: the depth limit's 400, not a booking
    and a 500 (issue 13 item 11)."""
    deep = '{"a":' * 1000 + "{}" + "}" * 1000
    body = create_body(find_slot(app.extensions["mock_server"], vertical="classes"))
    body["payment_processing_parameters"] = {"tokenization_config": "DEEP"}
    body["surprise"] = "DEEP"
    raw = json.dumps(body).replace('"DEEP"', deep)
    response = client.post("/v3/CreateBooking", data=raw, content_type="application/json")
    assert response.status_code == 400 and "more than 100 levels" in response.get_json()["message"]
    assert client.get("/_admin/bookings").get_json()["count"] == 0
