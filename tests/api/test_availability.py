"""BatchAvailabilityLookup and the legacy CheckAvailability over live inventory."""

from tests.helpers import book, find_slot, lookup, slot_json, slot_time_json

SYNCHRONOUS = {"confirmation_mode": "CONFIRMATION_MODE_SYNCHRONOUS"}
ASYNCHRONOUS = {"confirmation_mode": "CONFIRMATION_MODE_ASYNCHRONOUS"}


def _bal(client, merchant_id, slot_times):
    return client.post("/v3/BatchAvailabilityLookup", json={"merchant_id": merchant_id, "slot_time": slot_times})


def test_one_answer_per_slot_time_in_order_echoing_it_with_the_inventory_confirmation_mode(client, runtime):
    slot = find_slot(runtime, vertical="dining")
    later = runtime.bookings.inventory.find_exact(
        slot.merchant_id, slot.service_id, slot.start_sec + 1800, slot.duration_sec, "", "", slot.party_size
    )
    missing = slot_time_json(slot, start_sec=str(slot.start_sec + 60))
    requested = [slot_time_json(later), missing, slot_time_json(slot)]
    response = _bal(client, slot.merchant_id, requested)
    assert response.status_code == 200
    assert response.get_json() == {
        "slot_time_availability": [
            {"slot_time": {**requested[0], **SYNCHRONOUS}, "available": True},
            {"slot_time": requested[1], "available": False},  # not in inventory: echoed as sent
            {"slot_time": {**requested[2], **SYNCHRONOUS}, "available": True},
        ]
    }


def test_a_synchronous_merchants_slot_answers_confirmation_mode_synchronous(client):
    # The README's walk-through: salon-002 confirms at once; the request names no mode, the answer does.
    slot_time = {
        "service_id": "haircut",
        "start_sec": "1767344400",
        "duration_sec": "1800",
        "resource_ids": {"staff_id": "salon-002-st00"},
    }
    response = _bal(client, "salon-002", [slot_time])
    assert response.status_code == 200
    assert response.get_json() == {
        "slot_time_availability": [
            {
                "slot_time": {
                    "service_id": "haircut",
                    "start_sec": "1767344400",
                    "duration_sec": "1800",
                    "resource_ids": {"staff_id": "salon-002-st00"},
                    "confirmation_mode": "CONFIRMATION_MODE_SYNCHRONOUS",
                },
                "available": True,
            }
        ]
    }


def test_an_asynchronous_merchants_slot_answers_confirmation_mode_asynchronous_even_when_full(client, runtime):
    # salon-005 and dining-010 confirm asynchronously: the slot click says so before CreateBooking answers PENDING.
    salon = find_slot(runtime, vertical="appointments", asynchronous=True)
    dinner = find_slot(runtime, vertical="dining", asynchronous=True)
    assert (salon.merchant_id, dinner.merchant_id) == ("salon-005", "dining-010")
    response = _bal(client, "salon-005", [slot_time_json(salon)])
    assert response.get_json() == {
        "slot_time_availability": [
            {
                "slot_time": {
                    "service_id": "haircut",
                    "start_sec": str(salon.start_sec),
                    "duration_sec": "1800",
                    "resource_ids": {"staff_id": "salon-005-st00"},
                    "confirmation_mode": "CONFIRMATION_MODE_ASYNCHRONOUS",
                },
                "available": True,
            }
        ]
    }
    assert book(client, salon)["status"] == "PENDING_MERCHANT_CONFIRMATION"
    # Held by a pending booking: no longer available, still asynchronous (the mode is the slot's, not the spot's).
    response = _bal(client, "salon-005", [slot_time_json(salon)])
    assert response.get_json() == {
        "slot_time_availability": [{"slot_time": slot_time_json(salon, **ASYNCHRONOUS), "available": False}]
    }
    response = _bal(client, "dining-010", [slot_time_json(dinner)])
    assert response.get_json() == {
        "slot_time_availability": [{"slot_time": slot_time_json(dinner, **ASYNCHRONOUS), "available": True}]
    }


def test_a_confirmation_mode_sent_is_answered_with_the_inventorys(client, runtime):
    # A partner answers from its own data: a wrong mode in the request is corrected, not echoed. A time not in
    # inventory has no entry to answer from, so it is echoed as sent (and not available).
    salon = find_slot(runtime, vertical="appointments", asynchronous=True)
    missing = slot_time_json(salon, start_sec=str(salon.start_sec + 60), **SYNCHRONOUS)
    response = _bal(client, salon.merchant_id, [slot_time_json(salon, **SYNCHRONOUS), missing])
    assert response.get_json() == {
        "slot_time_availability": [
            {"slot_time": slot_time_json(salon, **ASYNCHRONOUS), "available": True},
            {"slot_time": missing, "available": False},
        ]
    }


def test_a_past_slot_is_unavailable_and_keeps_its_mode(client, runtime):
    slot = find_slot(runtime, vertical="dining", asynchronous=True)
    runtime.clock.freeze(slot.start_sec)
    response = _bal(client, slot.merchant_id, [slot_time_json(slot)])
    assert response.get_json() == {
        "slot_time_availability": [{"slot_time": slot_time_json(slot, **ASYNCHRONOUS), "available": False}]
    }


def test_booked_out_slot_is_unavailable_at_once_and_free_again_after_cancel(client, runtime):
    slot = find_slot(runtime, vertical="appointments", spots_total=1)
    booking = book(client, slot)
    assert lookup(client, slot) is False
    client.post("/v3/UpdateBooking", json={"booking": {"booking_id": booking["booking_id"], "status": "CANCELED"}})
    assert lookup(client, slot) is True


def test_party_size_is_honoured(client, runtime):
    slot = find_slot(runtime, vertical="dining")
    eight = runtime.bookings.inventory.find_exact(
        slot.merchant_id, slot.service_id, slot.start_sec, slot.duration_sec, "", "", 8
    )
    for _ in range(eight.spots_total):
        book(client, eight, user_n=runtime.bookings.spots_open(eight))
    answers = _bal(
        client,
        slot.merchant_id,
        [
            slot_time_json(slot, resource_ids={"party_size": 8}),
            slot_time_json(slot, resource_ids={"party_size": 2}),
            slot_time_json(slot, resource_ids={"party_size": 42}),
        ],
    ).get_json()["slot_time_availability"]
    assert [a["available"] for a in answers] == [False, True, False]


def test_staff_and_room_must_match_when_given(client, runtime):
    slot = find_slot(runtime, vertical="appointments", spots_total=1)
    answers = _bal(
        client,
        slot.merchant_id,
        [
            slot_time_json(slot),
            slot_time_json(slot, resource_ids={"staff_id": "someone-else"}),
            slot_time_json(slot, resource_ids={}),  # any staff
        ],
    ).get_json()["slot_time_availability"]
    assert [a["available"] for a in answers] == [True, False, True]
    room = find_slot(runtime, vertical="classes")
    answers = _bal(
        client, room.merchant_id, [slot_time_json(room), slot_time_json(room, resource_ids={"room_id": "elsewhere"})]
    ).get_json()
    assert [a["available"] for a in answers["slot_time_availability"]] == [True, False]


def test_duration_must_match_when_given_and_may_be_omitted(client, runtime):
    slot = find_slot(runtime, vertical="classes")
    no_duration = slot_time_json(slot)
    del no_duration["duration_sec"]
    answers = _bal(
        client, slot.merchant_id, [slot_time_json(slot, duration_sec=str(slot.duration_sec + 60)), no_duration]
    ).get_json()
    assert answers == {
        "slot_time_availability": [
            {"slot_time": slot_time_json(slot, duration_sec=str(slot.duration_sec + 60)), "available": False},
            {"slot_time": {**no_duration, **SYNCHRONOUS}, "available": True},
        ]
    }


def test_past_slots_are_unavailable(client, runtime):
    slot = find_slot(runtime, vertical="classes")
    runtime.clock.freeze(slot.start_sec)
    assert lookup(client, slot) is False


def test_lookup_is_read_only(client, runtime):
    slot = find_slot(runtime, vertical="classes")
    for _ in range(3):
        lookup(client, slot)
    assert runtime.bookings.spots_open(slot) == slot.spots_total


def test_unknown_merchant_and_service_are_400(client, runtime):
    slot = find_slot(runtime, vertical="classes")
    response = _bal(client, "nope", [slot_time_json(slot)])
    assert response.status_code == 400
    assert response.get_json()["message"] == "unknown merchant_id 'nope'"
    response = _bal(client, slot.merchant_id, [slot_time_json(slot, service_id="nope")])
    assert response.status_code == 400
    assert response.get_json()["message"] == f"unknown service_id 'nope' for merchant '{slot.merchant_id}'"


def test_empty_and_oversized_slot_time_lists_are_400(client, runtime):
    slot = find_slot(runtime, vertical="classes")
    response = _bal(client, slot.merchant_id, [])
    assert response.status_code == 400
    assert "slot_time: must list at least one slot_time" in response.get_json()["message"]
    response = _bal(client, slot.merchant_id, [slot_time_json(slot)] * 1001)
    assert response.status_code == 400
    assert response.get_json()["message"] == "too many slot_time entries: 1001 > 1000"


def test_int64_as_number_and_camel_case_are_accepted_and_echoed_canonically(client, runtime):
    slot = find_slot(runtime, vertical="dining")
    response = client.post(
        "/v3/BatchAvailabilityLookup",
        json={
            "merchantId": slot.merchant_id,
            "slotTime": [
                {
                    "serviceId": slot.service_id,
                    "startSec": slot.start_sec,
                    "durationSec": slot.duration_sec,
                    "resourceIds": {"partySize": slot.party_size},
                }
            ],
        },
    )
    assert response.get_json() == {
        "slot_time_availability": [{"slot_time": slot_time_json(slot, **SYNCHRONOUS), "available": True}]
    }


def test_check_availability_counts_open_spots(client, runtime):
    slot = find_slot(runtime, vertical="classes")
    response = client.post("/v3/CheckAvailability", json={"slot": slot_json(slot)})
    assert response.get_json() == {"slot": slot_json(slot), "count_available": slot.spots_total}
    book(client, slot)
    response = client.post("/v3/CheckAvailability", json={"slot": slot_json(slot)})
    assert response.get_json()["count_available"] == slot.spots_total - 1


def test_check_availability_unknown_slot_is_zero_and_unknown_service_400(client, runtime):
    slot = find_slot(runtime, vertical="classes")
    other_time = slot_json(slot, start_sec=str(slot.start_sec + 1))
    assert client.post("/v3/CheckAvailability", json={"slot": other_time}).get_json()["count_available"] == 0
    response = client.post("/v3/CheckAvailability", json={"slot": slot_json(slot, service_id="x")})
    assert response.status_code == 400
