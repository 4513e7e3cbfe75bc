"""UpdateBooking: cancel, reschedule, party size and their failures; the full booking comes back."""

from tests.helpers import book, create_body, find_slot, lookup, slot_json, user


def _update(client, booking_id, **fields):
    return client.post("/v3/UpdateBooking", json={"booking": {"booking_id": booking_id, **fields}})


def _entry(runtime, slot, hours=0, party_size=None):
    """The inventory entry like `slot` but some hours later and/or for another party size."""
    entry = runtime.bookings.inventory.find_exact(
        slot.merchant_id,
        slot.service_id,
        slot.start_sec + int(hours * 3600),
        slot.duration_sec,
        slot.staff_id,
        slot.room_id,
        slot.party_size if party_size is None else party_size,
    )
    assert entry is not None, "fixture lacks the neighbouring slot this test needs"
    return entry


def _later_entry(runtime, slot, hours=1):
    return _entry(runtime, slot, hours=hours)


def test_cancel_returns_full_booking_and_frees_the_spot(client, runtime):
    slot = find_slot(runtime, vertical="appointments", spots_total=1)
    booking = book(client, slot)
    assert lookup(client, slot) is False
    response = _update(client, booking["booking_id"], status="CANCELED")
    assert response.status_code == 200
    assert response.get_json() == {"booking": {**booking, "status": "CANCELED"}}
    assert lookup(client, slot) is True


def test_cancel_twice_is_booking_already_cancelled(client, runtime):
    booking = book(client, find_slot(runtime, vertical="classes", window=False))
    _update(client, booking["booking_id"], status="CANCELED")
    response = _update(client, booking["booking_id"], status="CANCELED")
    assert response.status_code == 200
    assert response.get_json() == {
        "booking_failure": {"cause": "BOOKING_ALREADY_CANCELLED", "description": "this booking is already cancelled"}
    }


def test_reschedule_moves_the_booking_and_keeps_its_id(client, runtime):
    slot = find_slot(runtime, vertical="appointments", spots_total=1)
    target = _later_entry(runtime, slot)
    booking = book(client, slot)
    response = _update(
        client,
        booking["booking_id"],
        slot={"start_sec": str(target.start_sec), "duration_sec": str(target.duration_sec)},
    )
    assert response.get_json() == {"booking": {**booking, "slot": slot_json(slot, start_sec=str(target.start_sec))}}
    assert (runtime.bookings.spots_open(slot), runtime.bookings.spots_open(target)) == (1, 0)
    assert lookup(client, slot) is True and lookup(client, target) is False


def test_reschedule_carries_the_new_slots_availability_tag_in_every_view(client, runtime):
    # pilates@09:00 moved to 19:30 holds the 19:30 entry, so it carries that entry's tag: pilates@19:30.
    slot = find_slot(runtime, vertical="classes", window=False)
    target = _entry(runtime, slot, hours=10.5)
    assert (slot.availability_tag, target.availability_tag) == ("pilates@09:00", "pilates@19:30")
    body = create_body(slot)
    body["slot"]["availability_tag"] = "pilates@09:00"  # as Google sends it, from the availability feed
    booking = client.post("/v3/CreateBooking", json=body).get_json()["booking"]
    assert booking["slot"]["availability_tag"] == "pilates@09:00"
    response = _update(client, booking["booking_id"], slot={"start_sec": str(target.start_sec)})
    assert response.status_code == 200
    moved = {
        "booking_id": booking["booking_id"],
        "slot": {
            "merchant_id": "studio-003",
            "service_id": "pilates",
            "start_sec": str(target.start_sec),
            "duration_sec": "3000",
            "availability_tag": "pilates@19:30",
            "resources": {"room_id": "studio-003-room2"},
        },
        "user_information": user(1),
        "status": "CONFIRMED",
        "payment_information": {"prepayment_status": "PREPAYMENT_NOT_PROVIDED"},
    }
    assert response.get_json() == {"booking": moved}
    status = client.post("/v3/GetBookingStatus", json={"booking_id": booking["booking_id"]})
    assert status.get_json() == {
        "booking_id": booking["booking_id"],
        "booking_status": "CONFIRMED",
        "prepayment_status": "PREPAYMENT_NOT_PROVIDED",
    }
    listed = client.post("/v3/ListBookings", json={"user_id": user(1)["user_id"]})
    assert listed.get_json() == {"bookings": [moved]}
    # Moving back takes the 09:00 entry's tag again; repeating a move changes nothing.
    back = _update(client, booking["booking_id"], slot={"start_sec": str(slot.start_sec)}).get_json()
    assert back["booking"]["slot"]["availability_tag"] == "pilates@09:00"
    assert _update(client, booking["booking_id"], slot={"start_sec": str(slot.start_sec)}).get_json() == back


def test_reschedule_of_a_booking_made_without_a_tag_adds_none(client, runtime):
    slot = find_slot(runtime, vertical="classes", window=False)
    target = _entry(runtime, slot, hours=10.5)
    booking = book(client, slot)
    response = _update(client, booking["booking_id"], slot={"start_sec": str(target.start_sec)})
    assert response.get_json() == {"booking": {**booking, "slot": slot_json(target)}}


def test_repeating_a_reschedule_changes_nothing_more(client, runtime):
    slot = find_slot(runtime, vertical="classes", window=False)
    target = _later_entry(runtime, slot, hours=24)
    booking = book(client, slot)
    change = {"start_sec": str(target.start_sec), "duration_sec": str(target.duration_sec)}
    first = _update(client, booking["booking_id"], slot=change).get_json()
    assert first["booking"]["slot"]["start_sec"] == str(target.start_sec)
    second = _update(client, booking["booking_id"], slot=change).get_json()
    assert first == second
    assert runtime.bookings.spots_open(target) == target.spots_total - 1


def test_reschedule_to_a_full_slot_is_slot_unavailable_and_booking_unchanged(client, runtime):
    slot = find_slot(runtime, vertical="appointments", spots_total=1)
    target = _later_entry(runtime, slot)
    mine = book(client, slot, user_n=1)
    book(client, target, user_n=2)
    response = _update(
        client, mine["booking_id"], slot={"start_sec": str(target.start_sec), "duration_sec": str(target.duration_sec)}
    )
    assert response.get_json() == {
        "booking_failure": {"cause": "SLOT_UNAVAILABLE", "description": "the requested new slot is not available"}
    }
    status = client.post("/v3/GetBookingStatus", json={"booking_id": mine["booking_id"]}).get_json()
    assert status["booking_status"] == "CONFIRMED"
    assert runtime.bookings.get(mine["booking_id"]).slot.start_sec == slot.start_sec
    assert runtime.bookings.spots_open(slot) == 0


def test_dining_party_size_change(client, runtime):
    slot = find_slot(runtime, vertical="dining", window=None)
    two, four = _entry(runtime, slot, party_size=2), _entry(runtime, slot, party_size=4)
    booking = book(client, two)
    response = _update(client, booking["booking_id"], slot={"resources": {"party_size": 4}})
    body = response.get_json()
    assert body["booking"]["slot"]["resources"] == {"party_size": 4}
    assert (runtime.bookings.spots_open(two), runtime.bookings.spots_open(four)) == (
        two.spots_total,
        four.spots_total - 1,
    )


def test_cancel_inside_the_cancellation_window_is_refused(client, runtime):
    slot = find_slot(runtime, vertical="classes", window=True)
    window = runtime.bookings.inventory.services[(slot.merchant_id, slot.service_id)].cancellation_window_sec
    booking = book(client, slot)
    runtime.clock.freeze(slot.start_sec - window + 60)  # one minute past the deadline
    response = _update(client, booking["booking_id"], status="CANCELED")
    assert response.get_json() == {
        "booking_failure": {
            "cause": "OUTSIDE_CANCELLATION_WINDOW",
            "description": f"cancellation closes {window} s before the start",
        }
    }
    assert runtime.bookings.get(booking["booking_id"]).status == "CONFIRMED"


def test_reschedule_inside_the_cancellation_window_is_refused(client, runtime):
    slot = find_slot(runtime, vertical="classes", window=True)
    window = runtime.bookings.inventory.services[(slot.merchant_id, slot.service_id)].cancellation_window_sec
    target = _later_entry(runtime, slot, hours=24)
    booking = book(client, slot)
    runtime.clock.freeze(slot.start_sec - window + 60)
    response = _update(client, booking["booking_id"], slot={"start_sec": str(target.start_sec)})
    assert response.get_json() == {
        "booking_failure": {
            "cause": "OUTSIDE_CANCELLATION_WINDOW",
            "description": f"changes close {window} s before the start",
        }
    }
    assert runtime.bookings.get(booking["booking_id"]).slot.start_sec == slot.start_sec
    assert runtime.bookings.spots_open(target) == target.spots_total


def test_reschedule_onto_a_slot_the_user_already_holds_is_refused(client, runtime):
    slot = find_slot(runtime, vertical="classes", window=False)
    target = _later_entry(runtime, slot, hours=24)
    first = book(client, slot, user_n=4)
    book(client, target, user_n=4)
    response = _update(client, first["booking_id"], slot={"start_sec": str(target.start_sec)})
    assert response.get_json() == {
        "booking_failure": {
            "cause": "SLOT_ALREADY_BOOKED_BY_USER",
            "description": "this user already holds the new slot",
        }
    }


def test_cancel_just_before_the_window_is_accepted(client, runtime):
    slot = find_slot(runtime, vertical="classes", window=True)
    window = runtime.bookings.inventory.services[(slot.merchant_id, slot.service_id)].cancellation_window_sec
    booking = book(client, slot)
    runtime.clock.freeze(slot.start_sec - window - 1)
    assert _update(client, booking["booking_id"], status="CANCELED").get_json()["booking"]["status"] == "CANCELED"


def test_modifying_a_cancelled_booking_is_booking_already_cancelled(client, runtime):
    slot = find_slot(runtime, vertical="classes", window=False)
    booking = book(client, slot)
    _update(client, booking["booking_id"], status="CANCELED")
    response = _update(client, booking["booking_id"], slot={"start_sec": str(slot.start_sec + 86400)})
    assert response.get_json()["booking_failure"]["cause"] == "BOOKING_ALREADY_CANCELLED"


def test_unknown_booking_is_400(client):
    response = _update(client, "B9999999", status="CANCELED")
    assert response.status_code == 400
    assert response.get_json() == {"code": 400, "status": "Bad Request", "message": "unknown booking_id 'B9999999'"}


def test_other_status_changes_are_400(client, runtime):
    booking = book(client, find_slot(runtime, asynchronous=True))
    response = _update(client, booking["booking_id"], status="CONFIRMED")
    assert response.status_code == 400
    assert response.get_json()["message"] == "status can only be changed to CANCELED, not CONFIRMED"


def test_full_booking_echo_with_unchanged_fields_is_accepted(client, runtime):
    slot = find_slot(runtime, vertical="classes")
    booking = book(client, slot)
    # Legacy clients send the whole booking plus an update_mask: unchanged fields change nothing.
    response = client.post("/v3/UpdateBooking", json={"update_mask": "status", "booking": booking})
    assert response.get_json() == {"booking": booking}


def test_merchant_cannot_be_changed(client, runtime):
    booking = book(client, find_slot(runtime, vertical="classes"))
    response = _update(client, booking["booking_id"], slot={"merchant_id": "dining-001", "start_sec": "1"})
    assert response.status_code == 400
    assert "slot.merchant_id cannot be changed" in response.get_json()["message"]


def test_update_without_status_or_slot_is_400(client, runtime):
    booking = book(client, find_slot(runtime, vertical="classes"))
    response = _update(client, booking["booking_id"])
    assert response.status_code == 400
    assert "give a status (to cancel) or a slot (to reschedule)" in response.get_json()["message"]


def test_user_information_is_not_changed(client, runtime):
    booking = book(client, find_slot(runtime, vertical="classes", window=False))
    body = _update(client, booking["booking_id"], status="CANCELED").get_json()
    assert body["booking"]["user_information"] == user(1)


def test_cancel_with_a_slot_change_cancels_and_warns(client, runtime):
    booking = book(client, find_slot(runtime, vertical="classes", window=False))
    response = _update(client, booking["booking_id"], status="CANCELED", slot={"start_sec": "1"})
    assert response.get_json()["booking"]["status"] == "CANCELED"
    last = client.get("/_admin/recordings?method=UpdateBooking").get_json()["exchanges"][0]
    assert "UpdateBooking: slot ignored, status CANCELED cancels the booking" in last["warnings"]
