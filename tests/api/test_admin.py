"""Control plane: health, reset, bookings, merchant decisions, clock, admin token."""

import pytest

from mock_server import create_app
from tests.conftest import FROZEN_AT
from tests.helpers import book, find_slot, lookup


def test_health_reports_readiness_and_counts(client):
    body = client.get("/_admin/health").get_json()
    assert body["status"] == "ready"
    assert body["seed"] == 42
    assert body["counts"] == {"merchants": 12, "services": 28, "slots": 7812, "bookings": 0, "active_bookings": 0}
    assert body["clock"] == {"now_sec": FROZEN_AT, "frozen": True, "offset_sec": 0}


def test_reset_returns_to_the_fixture_state(client, runtime):
    slot = find_slot(runtime, vertical="appointments", spots_total=1)
    booking = book(client, slot, token="before-reset")
    body = client.post("/_admin/reset").get_json()
    assert body["counts"]["bookings"] == 0
    fresh = runtime.bookings.inventory.find_exact(
        slot.merchant_id,
        slot.service_id,
        slot.start_sec,
        slot.duration_sec,
        slot.staff_id,
        slot.room_id,
        slot.party_size,
    )
    assert lookup(client, fresh) is True
    status = client.post("/v3/GetBookingStatus", json={"booking_id": booking["booking_id"]})
    assert status.status_code == 404
    # The idempotency memory is gone too: the same token books anew (and gets the first id again).
    again = book(client, fresh, token="before-reset")
    assert again["booking_id"] == booking["booking_id"] == "B0000001"


def test_reset_restores_the_configured_clock(client):
    client.post("/_admin/clock", json={"advance_sec": 999})
    assert client.post("/_admin/reset").get_json()["clock"] == {"now_sec": FROZEN_AT, "frozen": True, "offset_sec": 0}


def test_bookings_lists_every_booking_with_filters(client, runtime):
    first = book(client, find_slot(runtime, vertical="classes", window=False), user_n=1)
    book(client, find_slot(runtime, vertical="classes", window=False, skip=1), user_n=2)
    client.post("/v3/UpdateBooking", json={"booking": {"booking_id": first["booking_id"], "status": "CANCELED"}})
    everything = client.get("/_admin/bookings").get_json()
    assert everything["count"] == 2
    row = everything["bookings"][0]
    assert row["booking_id"] == first["booking_id"] and row["status"] == "CANCELED"
    assert row["prepayment_status"] == "PREPAYMENT_NOT_PROVIDED"
    assert row["created_sec"] == FROZEN_AT
    cancelled = client.get("/_admin/bookings?status=CANCELED").get_json()
    assert [b["booking_id"] for b in cancelled["bookings"]] == [first["booking_id"]]
    mine = client.get(f"/_admin/bookings?user_id={first['user_information']['user_id']}").get_json()
    assert mine["count"] == 1
    assert client.get("/_admin/bookings?status=NOPE").status_code == 400


def test_merchant_confirms_or_declines_a_pending_booking(client, runtime):
    slot = find_slot(runtime, asynchronous=True)
    pending = book(client, slot, user_n=1)
    other = book(client, find_slot(runtime, asynchronous=True, skip=1), user_n=2)
    confirmed = client.post(f"/_admin/bookings/{pending['booking_id']}/merchant-decision", json={"decision": "confirm"})
    assert confirmed.get_json()["status"] == "CONFIRMED"
    declined = client.post(f"/_admin/bookings/{other['booking_id']}/merchant-decision", json={"decision": "decline"})
    assert declined.get_json()["status"] == "DECLINED_BY_MERCHANT"
    statuses = [
        client.post("/v3/GetBookingStatus", json={"booking_id": b["booking_id"]}).get_json()["booking_status"]
        for b in (pending, other)
    ]
    assert statuses == ["CONFIRMED", "DECLINED_BY_MERCHANT"]
    again = client.post(f"/_admin/bookings/{pending['booking_id']}/merchant-decision", json={"decision": "confirm"})
    assert again.status_code == 409
    unknown = client.post("/_admin/bookings/B404/merchant-decision", json={"decision": "confirm"})
    assert unknown.status_code == 404


def test_clock_freeze_advance_unfreeze(client):
    assert client.get("/_admin/clock").get_json() == {"now_sec": FROZEN_AT, "frozen": True, "offset_sec": 0}
    assert client.post("/_admin/clock", json={"advance_sec": 3600}).get_json()["now_sec"] == FROZEN_AT + 3600
    assert client.post("/_admin/clock", json={"freeze_at_sec": 1800000000}).get_json()["now_sec"] == 1800000000
    running = client.post("/_admin/clock", json={"unfreeze": True}).get_json()
    assert running["frozen"] is False and abs(running["now_sec"] - 1800000000) < 5


@pytest.mark.parametrize("body", [{}, {"advance_sec": 1, "unfreeze": True}, {"advance_sec": "soon"}])
def test_clock_rejects_ambiguous_or_bad_changes(client, body):
    response = client.post("/_admin/clock", json=body)
    assert response.status_code == 400
    assert response.get_json()["message"].startswith("invalid request")


def test_admin_token_guards_every_admin_route():
    client = create_app({"clock": FROZEN_AT, "admin_token": "t0k", "record": 0}, environ={}).test_client()
    for method, path in [
        ("get", "/_admin/health"),
        ("post", "/_admin/reset"),
        ("get", "/_admin/bookings"),
        ("get", "/_admin/clock"),
        ("post", "/_admin/clock"),
    ]:
        response = getattr(client, method)(path, json={})
        assert response.status_code == 401, path
        assert response.get_json()["message"].startswith("admin token required")
    assert client.get("/_admin/health", headers={"Authorization": "Bearer t0k"}).status_code == 200
    assert client.get("/_admin/health", headers={"Authorization": "Bearer nope"}).status_code == 401


def test_a_commit_racing_a_reset_is_not_persisted_into_the_new_state(tmp_path):
    app = create_app({"clock": FROZEN_AT, "record": 0, "db_path": str(tmp_path / "db.json")}, environ={})
    runtime = app.extensions["mock_server"]
    old = runtime.bookings  # a request that already holds the old state...
    slot = find_slot(runtime, vertical="classes")
    runtime.reset()
    from mock_server.domain.models import SlotSpec, UserInformation

    old.create(
        SlotSpec(slot.merchant_id, slot.service_id, slot.start_sec, slot.duration_sec, room_id=slot.room_id),
        UserInformation("late"),
        None,
        "tok-old",
    )  # ...commits after the reset
    book(
        app.test_client(),
        runtime.bookings.inventory.find_exact(
            slot.merchant_id, slot.service_id, slot.start_sec, slot.duration_sec, "", slot.room_id, 0
        ),
        token="tok-new",
    )
    restarted = create_app({"clock": FROZEN_AT, "record": 0, "db_path": str(tmp_path / "db.json")}, environ={})
    bookings = restarted.extensions["mock_server"].bookings
    assert [b.idempotency_token for b in bookings.all_bookings()] == ["tok-new"]
    assert set(bookings.tokens()) == {"tok-new"}
