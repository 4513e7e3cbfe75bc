"""Merchant actions of the control plane: cancel, move, no-show, fail; what GetBookingStatus and ListBookings answer
after each (both stores)."""

from __future__ import annotations

import pytest

from tests.helpers import book, create_body, find_slot, lookup, slot_json, user

ACTIONS = ("merchant-cancel", "merchant-move", "no-show", "fail", "merchant-decision")


def status_of(client, booking_id: str) -> dict:
    response = client.post("/v3/GetBookingStatus", json={"booking_id": booking_id})
    assert response.status_code == 200
    return response.get_json()


def listed(client, user_n: int) -> dict:
    response = client.post("/v3/ListBookings", json={"user_id": user(user_n)["user_id"]})
    assert response.status_code == 200
    return response.get_json()


def other_start(runtime, slot):
    """A later open inventory entry of the same service and resources, at another start."""
    for entry in runtime.bookings.inventory.slots(slot.merchant_id):
        if (
            entry.service_id == slot.service_id
            and entry.start_sec > slot.start_sec
            and entry.duration_sec == slot.duration_sec
            and (entry.staff_id, entry.room_id, entry.party_size) == (slot.staff_id, slot.room_id, slot.party_size)
            and runtime.bookings.spots_open(entry) > 0
        ):
            return entry
    raise AssertionError("no other start of this service")


def test_merchant_cancel_frees_the_spot_and_ends_the_booking(client, runtime, strict_answers):
    slot = find_slot(runtime, vertical="appointments", spots_total=1)
    booking = book(client, slot)
    response = client.post(f"/_admin/bookings/{booking['booking_id']}/merchant-cancel")
    assert response.status_code == 200
    assert response.get_json()["status"] == "CANCELED"
    assert status_of(client, booking["booking_id"]) == {
        "booking_id": booking["booking_id"],
        "booking_status": "CANCELED",
        "prepayment_status": "PREPAYMENT_NOT_PROVIDED",
    }
    assert listed(client, 1) == {"bookings": []}
    assert lookup(client, slot) is True
    again = client.post(f"/_admin/bookings/{booking['booking_id']}/merchant-cancel")
    assert again.status_code == 409
    assert again.get_json()["message"] == f"booking {booking['booking_id']} is CANCELED: it holds no spot to cancel"


def test_merchant_cancel_refunds_a_prepayment_whole(client, runtime):
    slot = find_slot(runtime, prepaid=True)
    booking = book(client, slot, payment_information={"prepayment_status": "PREPAYMENT_PROVIDED"})
    assert client.post(f"/_admin/bookings/{booking['booking_id']}/merchant-cancel").status_code == 200
    assert status_of(client, booking["booking_id"]) == {
        "booking_id": booking["booking_id"],
        "booking_status": "CANCELED",
        "prepayment_status": "PREPAYMENT_REFUNDED",
    }


def test_merchant_move_takes_the_new_start_and_frees_the_old(client, runtime, strict_answers):
    slot = find_slot(runtime, vertical="appointments", spots_total=1)
    target = other_start(runtime, slot)
    booking = book(client, slot)
    response = client.post(
        f"/_admin/bookings/{booking['booking_id']}/merchant-move", json={"start_sec": target.start_sec}
    )
    assert response.status_code == 200, response.get_json()
    moved = {**booking, "slot": slot_json(target)}
    if not moved["slot"]["resources"]:
        del moved["slot"]["resources"]
    assert listed(client, 1) == {"bookings": [moved]}
    assert status_of(client, booking["booking_id"])["booking_status"] == "CONFIRMED"
    assert lookup(client, slot) is True
    assert lookup(client, target) is False


def test_merchant_move_to_a_time_without_inventory_changes_nothing(client, runtime):
    slot = find_slot(runtime, vertical="appointments")
    booking = book(client, slot)
    response = client.post(
        f"/_admin/bookings/{booking['booking_id']}/merchant-move", json={"start_sec": slot.start_sec + 7}
    )
    assert response.status_code == 409
    assert response.get_json()["message"] == "SLOT_UNAVAILABLE: the requested new slot is not available"
    assert listed(client, 1) == {"bookings": [booking]}


def test_merchant_move_ignores_the_users_cancellation_window(client, runtime):
    slot = find_slot(runtime, window=True)
    target = other_start(runtime, slot)
    booking = book(client, slot)
    window = runtime.bookings.inventory.service(slot.merchant_id, slot.service_id).cancellation_window_sec
    client.post("/_admin/clock", json={"freeze_at_sec": slot.start_sec - window + 1})
    user_move = client.post(
        "/v3/UpdateBooking",
        json={"booking": {"booking_id": booking["booking_id"], "slot": {"start_sec": str(target.start_sec)}}},
    )
    assert user_move.get_json()["booking_failure"]["cause"] == "OUTSIDE_CANCELLATION_WINDOW"
    response = client.post(
        f"/_admin/bookings/{booking['booking_id']}/merchant-move", json={"start_sec": target.start_sec}
    )
    assert response.status_code == 200
    assert response.get_json()["slot"]["start_sec"] == str(target.start_sec)


@pytest.mark.parametrize(("penalized", "status"), [(False, "NO_SHOW"), (True, "NO_SHOW_PENALIZED")])
def test_no_show_once_the_booking_has_started(client, runtime, strict_answers, penalized, status):
    slot = find_slot(runtime, vertical="appointments")
    booking = book(client, slot)
    url = f"/_admin/bookings/{booking['booking_id']}/no-show"
    early = client.post(url, json={"penalized": penalized})
    assert early.status_code == 409
    assert early.get_json()["message"] == f"booking {booking['booking_id']} has not started yet (at {slot.start_sec})"
    client.post("/_admin/clock", json={"freeze_at_sec": slot.start_sec + 60})
    response = client.post(url, json={"penalized": penalized})
    assert response.status_code == 200
    assert status_of(client, booking["booking_id"]) == {
        "booking_id": booking["booking_id"],
        "booking_status": status,
        "prepayment_status": "PREPAYMENT_NOT_PROVIDED",
    }
    assert listed(client, 1) == {"bookings": []}


def test_a_pending_booking_fails_and_frees_its_spot(client, runtime, strict_answers):
    slot = find_slot(runtime, asynchronous=True)
    pending = book(client, slot)
    assert pending["status"] == "PENDING_MERCHANT_CONFIRMATION"
    response = client.post(f"/_admin/bookings/{pending['booking_id']}/fail", json={"cause": "OVERLAPPING_RESERVATION"})
    assert response.status_code == 200
    assert status_of(client, pending["booking_id"]) == {
        "booking_id": pending["booking_id"],
        "booking_status": "FAILED",
        "prepayment_status": "PREPAYMENT_NOT_PROVIDED",
    }
    assert listed(client, 1) == {"bookings": []}
    again = client.post(f"/_admin/bookings/{pending['booking_id']}/fail", json={})
    assert again.status_code == 409
    assert again.get_json()["message"] == f"booking {pending['booking_id']} is FAILED, not pending: it cannot fail now"


@pytest.mark.parametrize(
    ("action", "body", "field"),
    [
        ("merchant-move", {}, "start_sec"),
        ("merchant-move", {"start_sec": "soon"}, "start_sec"),
        ("no-show", {"penalized": "yes"}, "penalized"),
        ("fail", {"cause": "CAUSE_UNSPECIFIED"}, "cause"),
        ("fail", {"extra": 1}, "extra"),
    ],
)
def test_bad_bodies_are_400s_naming_the_field(client, runtime, action, body, field):
    booking = book(client, find_slot(runtime, asynchronous=True))
    response = client.post(f"/_admin/bookings/{booking['booking_id']}/{action}", json=body)
    assert response.status_code == 400
    assert list(response.get_json()["errors"]["json"]) == [field]
    assert listed(client, 1) == {"bookings": [booking]}


@pytest.mark.parametrize("action", ACTIONS)
def test_an_unknown_booking_is_a_404(client, action):
    body = {"merchant-move": {"start_sec": 1}, "merchant-decision": {"decision": "confirm"}}.get(action, {})
    response = client.post(f"/_admin/bookings/B404/{action}", json=body)
    assert response.status_code == 404
    assert response.get_json()["message"] == "unknown booking_id 'B404'"


def test_a_tenants_merchant_acts_on_that_tenants_bookings_only(client, runtime):
    slot = find_slot(runtime, vertical="appointments")
    response = client.post("/t/acme/v3/CreateBooking", json=create_body(slot))
    booking = response.get_json()["booking"]
    assert client.post(f"/_admin/bookings/{booking['booking_id']}/merchant-cancel").status_code == 404
    assert client.post(f"/t/acme/_admin/bookings/{booking['booking_id']}/merchant-cancel").status_code == 200
    answer = client.post("/t/acme/v3/GetBookingStatus", json={"booking_id": booking["booking_id"]}).get_json()
    assert answer["booking_status"] == "CANCELED"


def test_admin_actions_need_the_admin_token(tmp_path):
    from mock_server import create_app

    app = create_app({"admin_token": "s3cret", "recordings_dir": str(tmp_path)}, environ={})
    response = app.test_client().post("/_admin/bookings/B0000001/merchant-cancel")
    assert response.status_code == 401
