"""One stylist, one table: a booking holds its staff member or table over its whole duration (both stores)."""

from __future__ import annotations

import dataclasses

import pytest

from mock_server import create_app
from mock_server.domain.models import Booking, SlotSpec, UserInformation
from mock_server.domain.state import Change
from mock_server.runtime import EXTENSION_KEY
from tests.conftest import FROZEN_AT
from tests.helpers import create_body, slot_json, user
from tests.redis_server import forget, fresh_prefix

# salon-002 (Africa/Freetown, UTC) on the fixture's day 1: colouring is 90 minutes, every hour, by one stylist.
NINE, TEN, TEN_THIRTY, ELEVEN = 1767344400, 1767348000, 1767349800, 1767351600
STYLIST = {"staff_id": "salon-002-st10"}  # colouring's only stylist
BARBER = {"staff_id": "salon-002-st00"}  # haircuts' only one
PAY = {"unparsed_payment_method_token": "tok_visa"}  # colouring is prepaid
OVERLAPPED = "its staff member or table is booked over part of this slot's time"
SYNCHRONOUS = "CONFIRMATION_MODE_SYNCHRONOUS"
SITTINGS = (NINE, TEN, ELEVEN, ELEVEN + 3600)  # colouring's starts from nine: each overlaps the next


def _colour(start: int) -> dict:
    return {
        "merchant_id": "salon-002",
        "service_id": "color",
        "start_sec": str(start),
        "duration_sec": "5400",
        "resources": STYLIST,
    }


def _colour_time(start: int) -> dict:
    return {"service_id": "color", "start_sec": str(start), "duration_sec": "5400", "resource_ids": STYLIST}


def _haircut_time(start: int) -> dict:
    return {"service_id": "haircut", "start_sec": str(start), "duration_sec": "1800", "resource_ids": BARBER}


def _book_colour(client, start: int, user_n: int = 1, prefix: str = "") -> dict:
    body = {
        "slot": _colour(start),
        "user_information": user(user_n),
        "payment_processing_parameters": PAY,
        "idempotency_token": f"colour-{start}-{user_n}",
    }
    return client.post(f"{prefix}/v3/CreateBooking", json=body).get_json()


def _lookup(client, merchant_id: str, slot_times: list[dict], prefix: str = "") -> dict:
    body = {"merchant_id": merchant_id, "slot_time": slot_times}
    response = client.post(f"{prefix}/v3/BatchAvailabilityLookup", json=body)
    assert response.status_code == 200
    return response.get_json()


def _answers(slot_times: list[dict], available: list[bool]) -> dict:
    return {
        "slot_time_availability": [
            {"slot_time": {**slot_time, "confirmation_mode": SYNCHRONOUS}, "available": ok}
            for slot_time, ok in zip(slot_times, available, strict=True)
        ]
    }


SALON_TIMES = [
    _colour_time(NINE),
    _colour_time(TEN),
    _colour_time(ELEVEN),
    _haircut_time(TEN),
    _haircut_time(TEN_THIRTY),
]


def _cancel(client, booking_id: str) -> dict:
    return client.post(
        "/v3/UpdateBooking", json={"booking": {"booking_id": booking_id, "status": "CANCELED"}}
    ).get_json()


def test_a_colouring_at_nine_makes_the_stylists_ten_oclock_unavailable_until_it_is_cancelled(client, strict_answers):
    assert _lookup(client, "salon-002", SALON_TIMES) == _answers(SALON_TIMES, [True] * 5)
    booking = _book_colour(client, NINE)["booking"]
    assert booking["status"] == "CONFIRMED"
    # 10:00 falls inside 09:00-10:30; 11:00 starts after it; the barber is someone else.
    assert _lookup(client, "salon-002", SALON_TIMES) == _answers(SALON_TIMES, [False, False, True, True, True])
    assert _book_colour(client, TEN, user_n=2) == {
        "booking_failure": {"cause": "SLOT_UNAVAILABLE", "description": OVERLAPPED}
    }
    check = client.post("/v3/CheckAvailability", json={"slot": _colour(TEN)}).get_json()
    assert check == {"slot": _colour(TEN), "count_available": 0}
    assert _cancel(client, booking["booking_id"])["booking"]["status"] == "CANCELED"
    assert _lookup(client, "salon-002", SALON_TIMES) == _answers(SALON_TIMES, [True] * 5)
    assert _book_colour(client, TEN, user_n=2)["booking"]["status"] == "CONFIRMED"


def test_the_availability_feed_shows_the_overlapped_slot_with_no_spot_open(client):
    _book_colour(client, NINE)
    feed = client.get("/feeds/availability.json?merchant_id=salon-002").get_json()
    colour = next(
        s["availability"] for s in feed["service_availability"] if s["availability"][0]["service_id"] == "color"
    )
    first = [entry for entry in colour if entry["start_sec"] in (NINE, TEN, ELEVEN)]
    resources = {**STYLIST, "staff_name": first[0]["resources"]["staff_name"]}
    assert first == [
        {
            "merchant_id": "salon-002",
            "service_id": "color",
            "start_sec": start,
            "duration_sec": 5400,
            "spots_total": 1,
            "spots_open": spots_open,
            "confirmation_mode": SYNCHRONOUS,
            "resources": resources,
        }
        for start, spots_open in ((NINE, 0), (TEN, 0), (ELEVEN, 1))
    ]


def test_a_reschedule_into_a_slot_another_booking_overlaps_is_refused_and_into_its_own_overlap_taken(client):
    nine = _book_colour(client, NINE)["booking"]
    eleven = _book_colour(client, ELEVEN, user_n=2)["booking"]
    moved = {"start_sec": str(TEN), "duration_sec": "5400"}
    # 10:00-11:30 meets 09:00-10:30 (the other booking's) and 11:00-12:30 (its own, which it gives back).
    response = client.post("/v3/UpdateBooking", json={"booking": {"booking_id": eleven["booking_id"], "slot": moved}})
    assert response.get_json() == {
        "booking_failure": {
            "cause": "SLOT_UNAVAILABLE",
            "description": f"the requested new slot is not available: {OVERLAPPED}",
        }
    }
    _cancel(client, nine["booking_id"])
    response = client.post("/v3/UpdateBooking", json={"booking": {"booking_id": eleven["booking_id"], "slot": moved}})
    assert response.get_json() == {"booking": {**eleven, "slot": _colour(TEN)}}
    times = [_colour_time(NINE), _colour_time(TEN), _colour_time(ELEVEN), _colour_time(ELEVEN + 3600)]
    assert _lookup(client, "salon-002", times) == _answers(times, [False, False, False, True])


# dining-007 (Europe/London, UTC+0 in January), day 1 (2 January), 90-minute sittings every 30 minutes from 17:00:
# one table for two (party sizes 1 and 2), one for four, two for six (party sizes 5 and 6).
SEVEN_PM = 1767380400  # 2026-01-02 19:00 in London (day 1: the day after the frozen clock's date there)
HALF = 1800


def _sitting(start: int, party: int) -> dict:
    return {
        "service_id": "dinner",
        "start_sec": str(start),
        "duration_sec": "5400",
        "resource_ids": {"party_size": party},
    }


def _book_dinner(client, start: int, party: int, user_n: int) -> dict:
    body = create_body(_DinnerSlot(start, party), user_n=user_n)
    return client.post("/v3/CreateBooking", json=body).get_json()


@dataclasses.dataclass
class _DinnerSlot:
    """What tests.helpers.slot_json reads of an inventory entry."""

    start_sec: int
    party_size: int
    merchant_id: str = "dining-007"
    service_id: str = "dinner"
    duration_sec: int = 5400
    staff_id: str = ""
    room_id: str = ""


def test_dining_007_is_the_restaurant_these_tests_describe(runtime):
    merchant = runtime.bookings.inventory.merchants["dining-007"]
    assert merchant.timezone == "Europe/London"


def test_a_sitting_holds_its_table_over_the_next_sittings_of_every_party_size_it_seats(client, strict_answers):
    assert _book_dinner(client, SEVEN_PM, 2, user_n=1)["booking"]["status"] == "CONFIRMED"
    times = [_sitting(SEVEN_PM + n * HALF, party) for n in (-3, -2, 1, 2, 3) for party in (1, 2)]
    times.append(_sitting(SEVEN_PM + HALF, 3))  # a table for four: not held
    # 17:30-19:00 ends as the sitting starts and 20:30 starts as it ends; 18:00, 19:30 and 20:00 meet 19:00-20:30.
    expected = [True, True, False, False, False, False, False, False, True, True, True]
    assert _lookup(client, "dining-007", times) == _answers(times, expected)
    assert _book_dinner(client, SEVEN_PM + HALF, 1, user_n=2) == {
        "booking_failure": {"cause": "SLOT_UNAVAILABLE", "description": OVERLAPPED}
    }


def test_two_tables_of_one_size_take_two_overlapping_sittings_and_a_third_only_where_one_is_free(client):
    assert _book_dinner(client, SEVEN_PM, 5, user_n=1)["booking"]["status"] == "CONFIRMED"
    assert _book_dinner(client, SEVEN_PM + 2 * HALF, 6, user_n=2)["booking"]["status"] == "CONFIRMED"  # 20:00
    times = [_sitting(SEVEN_PM + n * HALF, 6) for n in (-2, 1, 4)]  # 18:00, 19:30 (meets both), 21:00
    assert _lookup(client, "dining-007", times) == _answers(times, [True, False, True])
    check = client.post("/v3/CheckAvailability", json={"slot": slot_json(_DinnerSlot(SEVEN_PM - 2 * HALF, 6))})
    assert check.get_json()["count_available"] == 1
    assert _book_dinner(client, SEVEN_PM + HALF, 5, user_n=3)["booking_failure"]["cause"] == "SLOT_UNAVAILABLE"


def test_a_tenants_bookings_hold_its_stylist_only(client):
    assert _book_colour(client, NINE, prefix="/t/overlap-a")["booking"]["status"] == "CONFIRMED"
    times = [_colour_time(TEN)]
    assert _lookup(client, "salon-002", times, prefix="/t/overlap-a") == _answers(times, [False])
    assert _lookup(client, "salon-002", times, prefix="/t/overlap-b") == _answers(times, [True])
    assert _lookup(client, "salon-002", times) == _answers(times, [True])


def test_the_holds_go_with_a_reset_and_come_back_with_a_restored_state(client):
    _book_colour(client, NINE)
    document = client.get("/_admin/state").get_json()
    times = [_colour_time(TEN)]
    assert client.post("/_admin/reset").status_code == 200
    assert _lookup(client, "salon-002", times) == _answers(times, [True])
    assert client.put("/_admin/state", json=document).status_code == 200
    assert _lookup(client, "salon-002", times) == _answers(times, [False])
    # A document that double-books the stylist (09:00 and 10:00 both active) is refused whole.
    double = dict(document["bookings"][0], booking_id="B0000002")
    double["slot"] = dict(double["slot"], start_sec=TEN)
    double["held"] = [*double["held"][:2], TEN, *double["held"][3:]]
    document = {**document, "bookings": [*document["bookings"], double], "next_seq": 3}
    body = client.put("/_admin/state", json=document).get_json()
    assert body["message"] == (
        "invalid state document: bookings: 2 active bookings hold ['salon-002', 'color', 1767348000, 5400, "
        "'salon-002-st10', '', 0] or its staff member or table at its start, which has 1 spots; nothing was restored"
    )


@pytest.fixture
def two_servers(redis_url, tmp_path):
    """Two sandboxes on the same Redis keys (two servers of one sandbox)."""
    prefix = fresh_prefix()
    settings = {"clock": FROZEN_AT, "store": redis_url, "store_prefix": prefix}
    apps = [create_app({**settings, "recordings_dir": str(tmp_path / f"rec{n}")}, environ={}) for n in (1, 2)]
    yield [app.extensions[EXTENSION_KEY] for app in apps], [app.test_client() for app in apps]
    forget(redis_url, prefix)


def test_two_servers_deciding_on_the_same_read_cannot_both_book_the_stylist_through_two_slots(two_servers):
    (one, other), _ = two_servers
    inventory = one.bookings.inventory
    nine = inventory.find_exact("salon-002", "color", NINE, 5400, STYLIST["staff_id"], "", 0)
    ten = inventory.find_exact("salon-002", "color", TEN, 5400, STYLIST["staff_id"], "", 0)
    assert one.bookings.spots_open(nine) == other.bookings.spots_open(ten) == 1  # what each decided on

    def change(slot, n):  # a new booking of the entry, as CreateBooking decides it
        spec = SlotSpec("salon-002", "color", slot.start_sec, 5400, STYLIST["staff_id"])
        return Change(None, Booking("", spec, UserInformation(f"u{n}"), "CONFIRMED", slot), f"race-{n}", "")

    assert one.bookings.state.commit(change(nine, 1)) is not None
    assert other.bookings.state.commit(change(ten, 2)) is None  # refused: the rules read again
    assert [b.held.start_sec for b in other.bookings.all_bookings()] == [NINE]


def test_a_lookup_on_redis_asks_for_each_entry_it_depends_on_once(two_servers, monkeypatch):
    (one, _), (first, _) = two_servers
    client = one.bookings.state._client
    asked: list[list[bytes]] = []
    real = client.hmget

    def spy(key, fields, *args):
        asked.append(list(fields))
        return real(key, fields, *args)

    monkeypatch.setattr(client, "hmget", spy)
    times = [_colour_time(start) for start in SITTINGS]  # overlapping sittings, one stylist
    answer = first.post("/v3/BatchAvailabilityLookup", json={"merchant_id": "salon-002", "slot_time": times})
    assert [a["available"] for a in answer.get_json()["slot_time_availability"]] == [True] * 4
    [fields] = asked
    assert len(fields) == len(set(fields))  # the stylist's sittings overlap several of the four: each asked once
    assert len(fields) < sum(len(one.bookings.inventory.resources.overlapping(s)) for s in _colour_entries(one))


def _colour_entries(runtime) -> list:
    inventory = runtime.bookings.inventory
    return [inventory.find_exact("salon-002", "color", start, 5400, STYLIST["staff_id"], "", 0) for start in SITTINGS]


def test_a_create_that_lost_the_race_on_redis_decides_again_and_answers_slot_unavailable(two_servers, monkeypatch):
    (one, other), (first, second) = two_servers
    assert _book_colour(first, NINE)["booking"]["status"] == "CONFIRMED"
    reads = []
    real = other.bookings.state.spots_taken

    def stale_once(slots):  # the read server two made before server one's booking landed
        reads.append(1)
        return {} if len(reads) == 1 else real(slots)

    monkeypatch.setattr(other.bookings.state, "spots_taken", stale_once)
    assert _book_colour(second, TEN, user_n=2) == {
        "booking_failure": {"cause": "SLOT_UNAVAILABLE", "description": OVERLAPPED}
    }
    assert len(reads) > 2  # decided twice: the script refused the first decision
