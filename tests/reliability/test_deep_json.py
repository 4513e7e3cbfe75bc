"""Deep JSON (issue 13 item 11): one depth limit at parse time, a 400 before anything changes, recorded as sent.

orjson reads 1024 levels but writes only 254, so a body nested between those was a 500 with an empty
body (the recorder re-encodes it), after a CreateBooking carrying it had been committed. Now every
/v3 body deeper than MOCK_MAX_JSON_DEPTH is refused where the one /v3 pipeline parses it, and the journal
keeps it as the text that was sent.
"""

from __future__ import annotations

import orjson
import pytest

from mock_server.config import Settings
from mock_server.runtime import EXTENSION_KEY
from tests.helpers import (
    create_body,
    find_slot,
    journal_file,
    slot_json,
    slot_time_json,
    user,
)

from .conftest import fresh_app

LIMIT = Settings().max_json_depth
KEPT_DEPTH = 250  # the journal keeps a body nested deeper than this as the text that was sent (README)
DEPTHS = (LIMIT + 1, 200, 250, 251, 252, 254, 255, 256, 300, 500, 1000, 1023, 1024, 1025, 1100, 10_000)
METHODS = (
    "BatchAvailabilityLookup",
    "CheckAvailability",
    "CreateBooking",
    "UpdateBooking",
    "GetBookingStatus",
    "ListBookings",
    "SetMarketingPreference",
)


def nested(body: dict, depth: int) -> bytes:
    """`body` plus a field of nested lists that makes the whole body `depth` levels deep (the object is level 1)."""
    inner = depth - 1
    return orjson.dumps(body)[:-1] + b',"deep":' + b"[" * inner + b"]" * inner + b"}"


def valid_bodies(runtime, booking_id: str) -> dict[str, dict]:
    """A body each method accepts as it is (CreateBooking and UpdateBooking would change the state)."""
    slot, free = find_slot(runtime, vertical="classes"), find_slot(runtime, vertical="classes", skip=3)
    return {
        "BatchAvailabilityLookup": {"merchant_id": slot.merchant_id, "slot_time": [slot_time_json(slot)]},
        "CheckAvailability": {"slot": slot_json(slot)},
        "CreateBooking": create_body(free, 5, token="deep-create"),
        "UpdateBooking": {"booking": {"booking_id": booking_id, "status": "CANCELED"}},
        "GetBookingStatus": {"booking_id": booking_id},
        "ListBookings": {"user_id": "1000000000000000001"},
        "SetMarketingPreference": {"user_information": user(5), "user_to_receive_marketing": True},
    }


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    """One sandbox with one booking to cancel, look up and list."""
    app = fresh_app(tmp_path_factory.mktemp("deep"))
    client = app.test_client()
    runtime = app.extensions[EXTENSION_KEY]
    booked = client.post(
        "/v3/CreateBooking", json=create_body(find_slot(runtime, vertical="classes"), 1, token="the-booking")
    ).get_json()["booking"]
    return app, client, runtime, valid_bodies(runtime, booked["booking_id"])


def state(client, runtime):
    """Bookings (with their status), the users' marketing preferences and the spots of every slot."""
    return (
        client.get("/_admin/bookings?limit=100000").get_json(),
        client.get("/_admin/marketing-preferences").get_json(),
        tuple(runtime.bookings.spots_open(slot) for slot in runtime.bookings.inventory.slots()),
    )


def last_record(app) -> dict:
    return orjson.loads(journal_file(app).read_bytes().splitlines()[-1])


@pytest.mark.parametrize("depth", DEPTHS)
@pytest.mark.parametrize("method", METHODS)
def test_a_body_deeper_than_the_limit_is_a_400_naming_it_and_changes_nothing(sandbox, method, depth):
    app, client, runtime, bodies = sandbox
    before = state(client, runtime)
    raw = nested(bodies[method], depth)
    response = client.post(f"/v3/{method}", data=raw, content_type="application/json")
    assert response.status_code == 400, response.get_data()[:300]
    assert response.get_json() == {
        "code": 400,
        "status": "Bad Request",
        "message": f"JSON nested too deep: more than {LIMIT} levels of objects and arrays (MOCK_MAX_JSON_DEPTH)",
    }
    assert state(client, runtime) == before
    # Recorded: as JSON while the journal can hold it, beyond that as the very text that was sent.
    record = last_record(app)
    assert record["rpc"] == method and record["response"]["status"] == 400
    expected = raw.decode() if depth > KEPT_DEPTH else orjson.loads(raw)
    assert record["request"]["body"] == expected


def test_the_limit_itself_is_accepted_and_one_more_level_is_not(tmp_path):
    app = fresh_app(tmp_path)
    client = app.test_client()
    runtime = app.extensions[EXTENSION_KEY]
    body = create_body(find_slot(runtime, vertical="classes"), 1, token="at-the-limit")
    refused = client.post("/v3/CreateBooking", data=nested(body, LIMIT + 1), content_type="application/json")
    assert refused.status_code == 400 and f"more than {LIMIT} levels" in refused.get_json()["message"]
    assert client.get("/_admin/bookings").get_json()["bookings"] == []
    # The same token, LIMIT levels deep: booked, so the refused attempt did not use the token up.
    accepted = client.post("/v3/CreateBooking", data=nested(body, LIMIT), content_type="application/json")
    assert accepted.status_code == 200 and accepted.get_json()["booking"]["status"] == "CONFIRMED"
    assert "unknown field ignored: deep" in last_record(app)["warnings"]


def test_the_limit_is_the_setting(tmp_path):
    # A plain one-slot lookup is 4 levels deep: body, slot_time list, slot, resource_ids.
    app = fresh_app(tmp_path, max_json_depth=3)
    client = app.test_client()
    slot = find_slot(app.extensions[EXTENSION_KEY], vertical="classes")
    lookup = {"merchant_id": slot.merchant_id, "slot_time": [slot_time_json(slot, resource_ids={"party_size": 1})]}
    response = client.post("/v3/BatchAvailabilityLookup", json=lookup)
    assert response.status_code == 400
    assert response.get_json()["message"] == (
        "JSON nested too deep: more than 3 levels of objects and arrays (MOCK_MAX_JSON_DEPTH)"
    )
    del lookup["slot_time"][0]["resource_ids"]
    assert client.post("/v3/BatchAvailabilityLookup", json=lookup).status_code == 200


def test_the_admin_api_takes_the_same_limit(tmp_path):
    client = fresh_app(tmp_path).test_client()
    for path in ("/_admin/faults", "/_admin/clock", "/_admin/reset"):
        response = client.post(path, data=nested({"a": 1}, 300), content_type="application/json")
        assert response.status_code == 400, (path, response.get_data()[:200])
        assert f"more than {LIMIT} levels" in response.get_json()["message"]
    assert client.get("/_admin/faults").get_json()["faults"] == []


@pytest.mark.parametrize("redact_pii", [0, 1])
def test_a_deep_body_that_needs_redacting_is_withheld_not_recorded_as_text(tmp_path, redact_pii):
    app = fresh_app(tmp_path, redact_pii=redact_pii)
    client = app.test_client()
    body = create_body(
        find_slot(app.extensions[EXTENSION_KEY], vertical="classes"),
        1,
        payment_processing_parameters={"payment_method_token": "tok_visa_4242"},
    )
    if not redact_pii:
        del body["user_information"]  # left: only the secret to keep out
    response = client.post("/v3/CreateBooking", data=nested(body, 600), content_type="application/json")
    assert response.status_code == 400
    journal = journal_file(app).read_text()
    assert "tok_visa_4242" not in journal and "Lovelace" not in journal
    recorded = last_record(app)["request"]["body"]
    assert isinstance(recorded, str) and "withheld" in recorded and "[[[" not in recorded, recorded
