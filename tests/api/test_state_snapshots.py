"""State snapshots: GET /_admin/state saves a tenant's state as one document, PUT restores it exactly (both stores)."""

from __future__ import annotations

import copy

import orjson
import pytest

from mock_server import create_app
from mock_server.runtime import EXTENSION_KEY
from mock_server.storage import redis_store
from tests.conftest import FROZEN_AT
from tests.helpers import create_body, find_slot, user

SAVED_AT = FROZEN_AT + 600


@pytest.fixture
def saved(client, runtime):
    """A tenant with some of everything, its document, and what made it: then reset to nothing."""
    classes = find_slot(runtime, vertical="classes", window=False)
    first_body = create_body(classes, user_n=1, token="tok-first")
    first = client.post("/v3/CreateBooking", json=first_body).get_json()
    second = client.post("/v3/CreateBooking", json=create_body(classes, user_n=2)).get_json()["booking"]
    cancelled = client.post(
        "/v3/UpdateBooking", json={"booking": {"booking_id": second["booking_id"], "status": "CANCELED"}}
    )
    assert cancelled.status_code == 200
    client.post("/v3/SetMarketingPreference", json={"user_information": user(1), "user_to_receive_marketing": True})
    rule = {"id": "flaky", "method": "GetBookingStatus", "kind": "http_error", "status": 503, "times": 3}
    assert client.post("/_admin/faults", json=rule).status_code == 201
    assert client.post("/v3/GetBookingStatus", json={"booking_id": "B0000001"}).status_code == 503  # 1 of 3 spent
    assert client.post("/_admin/clock", json={"freeze_at_sec": SAVED_AT}).status_code == 200
    assert client.patch("/_admin/settings", json={"strict": True, "response_profile": "minimal"}).status_code == 200
    document = client.get("/_admin/state").get_json()
    assert client.post("/_admin/reset").status_code == 200
    return {"document": document, "first": first, "first_body": first_body, "slot": classes}


def restore(client, document, prefix=""):
    response = client.put(f"{prefix}/_admin/state", json=document)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_the_document_holds_the_whole_state(saved, runtime):
    doc = saved["document"]
    assert doc["format"] == 1
    assert doc["inventory"] == {"fixture_digest": runtime.fixture.digest(), "anchor_sec": FROZEN_AT}
    assert doc["clock"] == {"frozen_at": SAVED_AT, "offset": 0}
    assert doc["next_seq"] == 3
    assert [(b["booking_id"], b["status"]) for b in doc["bookings"]] == [
        ("B0000001", "CONFIRMED"),
        ("B0000002", "CANCELED"),
    ]
    answered = {t["booking"]["booking_id"]: t["token"] for t in doc["idempotency"]}
    assert answered["B0000001"] == "tok-first" and set(answered) == {"B0000001", "B0000002"}
    assert [p["user"]["user_id"] for p in doc["marketing_preferences"]] == [user(1)["user_id"]]
    assert [(r["id"], r["fired"], r["times"]) for r in doc["fault_rules"]["rules"]] == [("flaky", 1, 3)]
    assert doc["settings"] == {"strict": True, "response_profile": "minimal"}


def test_a_restored_state_saves_as_the_same_document(client, saved):
    health = restore(client, saved["document"])
    assert health["counts"]["bookings"] == 2 and health["counts"]["active_bookings"] == 1
    assert health["clock"] == {"now_sec": SAVED_AT, "frozen": True, "offset_sec": 0}
    assert client.get("/_admin/state").get_json() == saved["document"]


def test_after_a_restore_bookings_tokens_ids_clock_and_rules_behave_as_saved(client, saved, runtime):
    restore(client, saved["document"])
    # The token replays the very answer it gave.
    replay = client.post("/v3/CreateBooking", json=saved["first_body"]).get_json()
    assert replay == saved["first"]
    # The spot the booking holds is taken again: a lookup of that slot counts it.
    assert runtime.bookings.spots_open(runtime.bookings.state.booking("B0000001").held) == saved["slot"].spots_total - 1
    # The rule goes on with 2 uses of 3 left.
    rules = client.get("/_admin/faults").get_json()["faults"]
    assert [(r["id"], r["fired"], r["remaining"]) for r in rules] == [("flaky", 1, 2)]
    assert client.post("/v3/GetBookingStatus", json={"booking_id": "B0000001"}).status_code == 503
    # The restored booking can be cancelled, and new ids continue the sequence.
    cancelled = client.post("/v3/UpdateBooking", json={"booking": {"booking_id": "B0000001", "status": "CANCELED"}})
    assert cancelled.get_json()["booking"]["status"] == "CANCELED"
    again = client.post("/v3/CreateBooking", json=create_body(saved["slot"], user_n=3)).get_json()
    assert again["booking"]["booking_id"] == "B0000003"
    assert client.get("/_admin/clock").get_json() == {"now_sec": SAVED_AT, "frozen": True, "offset_sec": 0}
    assert client.get("/_admin/settings").get_json() == {"strict": True, "response_profile": "minimal"}


def test_a_restore_replaces_what_the_tenant_had(client, saved, runtime):
    other = find_slot(runtime, vertical="classes", window=False, skip=3)
    client.post("/v3/CreateBooking", json=create_body(other, user_n=9))
    client.post("/_admin/faults", json={"id": "later", "method": "*", "kind": "delay", "delay_ms": 1})
    restore(client, saved["document"])
    assert client.get("/_admin/state").get_json() == saved["document"]
    listed = client.post("/v3/ListBookings", json={"user_id": user(9)["user_id"]}).get_json()
    assert listed == {}  # no booking, in the restored `minimal` profile, which leaves out an empty list


def _mangled(document, change):
    doc = copy.deepcopy(document)
    change(doc)
    return doc


def _set(path, value):
    def change(doc):
        *parents, last = path
        target = doc
        for key in parents:
            target = target[key]
        target[last] = value

    return change


BAD_DOCUMENTS = [
    (_set(["format"], 2), "format: this server reads format 1; the document's is 2"),
    (_set(["format"], True), "format: this server reads format 1; the document's is True"),
    (lambda d: d.pop("clock"), "the document: missing ['clock']"),
    (_set(["surprise"], 1), "the document: unknown ['surprise']"),
    (_set(["bookings"], {}), "bookings: must be a list, not dict"),
    (
        _set(["bookings", 0, "slot", "merchant_id"], "nobody"),
        "bookings[0] (B0000001).slot.merchant_id: unknown merchant 'nobody' in this inventory",
    ),
    (_set(["bookings", 0, "held", 2], 12345), "bookings[0] (B0000001).held: no inventory entry"),
    (_set(["bookings", 0, "status"], "BOOKED"), "bookings[0] (B0000001).status: 'BOOKED' is not a booking status"),
    (_set(["bookings", 0, "created_sec"], "0"), "bookings[0] (B0000001).created_sec: must be an integer"),
    (_set(["bookings", 1, "booking_id"], "B0000001"), "bookings: booking_id 'B0000001' appears twice"),
    (_set(["next_seq"], 2), "next_seq: 2 would give an id again (the bookings reach B0000002)"),
    (_set(["idempotency", 0, "booking", "booking_id"], "B0000009"), "idempotency[0].booking: B0000009 is not among"),
    (_set(["clock", "frozen_at"], 2**41), "clock.frozen_at must stay between 0 and 1099511627776"),
    (_set(["fault_rules", "rules", 0, "kind"], "meteor"), "fault_rules.rules[0].kind: Must be one of: slot_taken,"),
    (_set(["fault_rules", "rules", 0, "params", "status"], "x"), "fault_rules.rules[0].status: Not a valid integer;"),
    (_set(["fault_rules", "rules", 0, "fired"], -1), "fault_rules.rules[0].fired: must be an integer of at least 0"),
    (
        _set(["marketing_preferences", 0, "user_to_receive_marketing"], "yes"),
        "marketing_preferences[0].user_to_receive_marketing: must be true or false",
    ),
    (_set(["settings", "strict"], "yes"), "settings.strict: must be a JSON boolean: true or false"),
    (_set(["settings", "response_profile"], "loud"), "settings.response_profile: must be one of canonical,"),
    (
        _set(["inventory", "anchor_sec"], 253402128000),
        "inventory.anchor_sec: 253402128000 is a day this server cannot place the fixture's slots on",
    ),
    (
        _set(["inventory", "fixture_digest"], "sha256:0"),
        "inventory: the document was saved on another inventory (fixture digest 'sha256:0')",
    ),
]


@pytest.mark.parametrize(("change", "message"), BAD_DOCUMENTS)
def test_a_bad_document_is_a_400_naming_what_is_wrong_and_restores_nothing(client, saved, change, message):
    before = client.get("/_admin/state").get_json()
    response = client.put("/_admin/state", json=_mangled(saved["document"], change))
    assert response.status_code == 400
    body = response.get_json()
    assert set(body) == {"code", "status", "message"} and (body["code"], body["status"]) == (400, "Bad Request")
    assert body["message"].startswith(f"invalid state document: {message}"), body["message"]
    assert body["message"].endswith("; nothing was restored")
    assert client.get("/_admin/state").get_json() == before


def test_more_active_bookings_than_the_entry_has_spots_is_a_400(client, saved):
    doc = saved["document"]
    extra = copy.deepcopy(doc["bookings"][0])
    spots = saved["slot"].spots_total
    doc["bookings"] = [dict(extra, booking_id=f"B{n:07d}") for n in range(1, spots + 2)]
    doc["idempotency"], doc["next_seq"] = [], spots + 2
    body = client.put("/_admin/state", json=doc).get_json()
    assert body["message"].startswith(f"invalid state document: bookings: {spots + 1} active bookings hold ")
    assert body["message"].endswith(f"which has {spots} spots; nothing was restored")


def test_a_body_that_is_no_json_object_is_a_400(client):
    response = client.put("/_admin/state", data=b"[1]", content_type="application/json")
    assert response.status_code == 400
    assert response.get_json()["message"] == "the request body must be a JSON object, not list"


def test_a_document_of_another_fixture_is_refused(saved, tmp_path, app):
    from mock_server.fixturegen import FixtureSize, generate, write

    other_fixture = tmp_path / "other.json"
    write(generate(7, FixtureSize(merchants=2, days=2)), str(other_fixture))
    other = create_app({"clock": FROZEN_AT, "fixture": str(other_fixture), "recordings_dir": str(tmp_path / "r")})
    body = other.test_client().put("/_admin/state", json=saved["document"]).get_json()
    ours = other.extensions[EXTENSION_KEY].fixture.digest()
    assert body["message"] == (
        "invalid state document: inventory: the document was saved on another inventory (fixture digest "
        f"{saved['document']['inventory']['fixture_digest']!r}); this server's fixture (other.json) is {ours}: restore "
        "it on a server with the same fixture (MOCK_FIXTURE); nothing was restored"
    )


def test_a_tenants_state_restores_under_its_prefix_and_only_there(client, saved):
    restore(client, saved["document"], prefix="/t/acme")
    assert client.get("/t/acme/_admin/state").get_json() == saved["document"]
    assert client.get("/_admin/bookings").get_json()["bookings"] == []  # the default tenant: still reset
    assert client.get("/_admin/faults").get_json()["faults"] == []
    cancelled = client.post(
        "/t/acme/v3/UpdateBooking", json={"booking": {"booking_id": "B0000001", "status": "CANCELED"}}
    )
    assert cancelled.get_json()["booking"]["status"] == "CANCELED"
    assert client.post("/v3/GetBookingStatus", json={"booking_id": "B0000001"}).status_code == 404


def test_a_restore_on_the_memory_store_is_persisted(tmp_path):
    db = tmp_path / "db.json"
    settings = {"clock": FROZEN_AT, "db_path": str(db), "recordings_dir": str(tmp_path / "r")}
    first = create_app(settings).test_client()
    slot = find_slot(first.application.extensions[EXTENSION_KEY], vertical="classes", window=False)
    first.post("/v3/CreateBooking", json=create_body(slot))
    document = first.get("/_admin/state").get_json()
    first.post("/_admin/reset")
    restore(first, document)
    again = create_app(settings).test_client()  # a restart reads the store back
    stored = again.get("/_admin/state").get_json()
    assert stored["bookings"] == document["bookings"] and stored["idempotency"] == document["idempotency"]
    assert stored["next_seq"] == document["next_seq"]


def test_on_redis_every_server_sees_the_restored_state_at_once(redis_url, tmp_path):
    from tests.redis_server import forget, fresh_prefix

    prefix = fresh_prefix()
    one, other = (
        create_app(
            {"clock": FROZEN_AT, "recordings_dir": str(tmp_path / f"r{n}"), "store": redis_url, "store_prefix": prefix},
            environ={},
        ).test_client()
        for n in (1, 2)
    )
    try:
        slot = find_slot(one.application.extensions[EXTENSION_KEY], vertical="classes", window=False)
        one.post("/v3/CreateBooking", json=create_body(slot))
        rule = {"id": "flaky", "method": "GetBookingStatus", "kind": "http_error", "status": 503, "times": 3}
        assert one.post("/_admin/faults", json=rule).status_code == 201
        one.post("/_admin/clock", json={"freeze_at_sec": SAVED_AT})
        document = one.get("/_admin/state").get_json()
        assert other.post("/_admin/reset").status_code == 200
        assert other.get("/_admin/state").get_json()["bookings"] == []
        restore(one, document)
        # The other server takes on the new epoch, clock and rules at its next request.
        assert other.get("/_admin/state").get_json() == document
        assert other.post("/v3/GetBookingStatus", json={"booking_id": "B0000001"}).status_code == 503
        assert [r["fired"] for r in one.get("/_admin/faults").get_json()["faults"]] == [1]  # counted for both
        assert redis_store.anchor_of(other.application.extensions[EXTENSION_KEY].epoch) == FROZEN_AT
    finally:
        forget(redis_url, prefix)


def test_a_document_larger_than_any_v3_request_is_taken(client, saved, app):
    limit = app.config["MAX_CONTENT_LENGTH"]
    padded = orjson.dumps(saved["document"]) + b" " * (limit + 1)  # as a state of many bookings would be
    response = client.put("/_admin/state", data=padded, content_type="application/json")
    assert response.status_code == 200, response.get_json()
    assert client.get("/_admin/state").get_json() == saved["document"]
    too_large = client.post("/_admin/faults", data=b" " * (limit + 1), content_type="application/json")
    assert too_large.status_code == 413
