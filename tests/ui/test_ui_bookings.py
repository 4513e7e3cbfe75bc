"""Bookings and inventory pages over the test client: cancel as the user, the merchant's decision, day view."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from mock_server.domain.models import ASYNCHRONOUS, SlotSpec, UserInformation

from .client import flash, get, post, runtime_of, text


def book(runtime, slot, user_id="u-1"):
    """A booking made through the domain, as CreateBooking would (prepaid, so every service takes it)."""
    spec = SlotSpec(
        slot.merchant_id,
        slot.service_id,
        slot.start_sec,
        slot.duration_sec,
        slot.staff_id,
        slot.room_id,
        slot.party_size,
    )
    user = UserInformation(user_id, "Grace", "Hopper", "+1 555-010-0199", "grace@example.com")
    return runtime.bookings.create(spec, user, {"prepayment_status": "PREPAYMENT_PROVIDED"}, f"t-{user_id}-{id(slot)}")


def first_slot(runtime, predicate):
    now = runtime.clock.now()
    return next(s for s in runtime.bookings.inventory.slots() if s.start_sec > now and predicate(s))


def row_of(page, booking_id: str) -> str:
    return re.search(rf'<tr id="booking-{booking_id}".*?</tr>', page.get_data(as_text=True), re.S).group(0)


def test_bookings_page_lists_bookings_with_their_actions(app, client):
    runtime = runtime_of(app)
    sync = book(runtime, first_slot(runtime, lambda s: s.confirmation_mode != ASYNCHRONOUS)).booking
    pending = book(runtime, first_slot(runtime, lambda s: s.confirmation_mode == ASYNCHRONOUS), "u-2").booking
    assert pending.status == "PENDING_MERCHANT_CONFIRMATION"
    page = get(client, "/bookings")
    merchant = runtime.bookings.inventory.merchants[sync.slot.merchant_id]
    row = row_of(page, sync.booking_id)
    assert "CONFIRMED" in row and merchant.name.replace("'", "&#39;") in row and "u-1" in row
    assert ">Cancel<" in row and ">Confirm<" not in row
    assert f"merchant_id={sync.slot.merchant_id}" in row and f"at={sync.slot.start_sec}" in row
    local = datetime.fromtimestamp(sync.slot.start_sec, ZoneInfo(merchant.timezone)).strftime("%H:%M")
    assert local in row  # the start in the merchant's own zone
    pending_row = row_of(page, pending.booking_id)
    assert ">Cancel<" in pending_row and ">Confirm<" in pending_row and ">Decline<" in pending_row
    only_pending = get(client, "/bookings?status=PENDING_MERCHANT_CONFIRMATION").get_data(as_text=True)
    assert pending.booking_id in only_pending and sync.booking_id not in only_pending


def test_cancel_frees_the_spot_and_a_second_cancel_is_a_business_failure(app, client):
    runtime = runtime_of(app)
    slot = first_slot(runtime, lambda s: s.spots_total == 1)
    booking = book(runtime, slot).booking
    assert runtime.bookings.spots_open(slot) == 0
    page = post(client, f"/bookings/{booking.booking_id}/cancel")
    assert flash(page) == f"{booking.booking_id} cancelled; its spot is open again."
    assert runtime.bookings.spots_open(slot) == 1 and runtime.bookings.get(booking.booking_id).status == "CANCELED"
    again = post(client, f"/bookings/{booking.booking_id}/cancel")
    assert flash(again) == (
        f"{booking.booking_id} not cancelled: BOOKING_ALREADY_CANCELLED — this booking is already cancelled"
    )
    unknown = post(client, "/bookings/B9999999/cancel")
    assert flash(unknown) == "unknown booking_id 'B9999999'"


def test_cancel_inside_the_cancellation_window_is_refused_as_updatebooking_would(app, client):
    runtime = runtime_of(app)
    services = runtime.bookings.inventory.services
    slot = first_slot(runtime, lambda s: services[(s.merchant_id, s.service_id)].cancellation_window_sec > 0)
    window = services[(slot.merchant_id, slot.service_id)].cancellation_window_sec
    booking = book(runtime, slot).booking
    runtime.clock.freeze(slot.start_sec - window // 2)
    page = post(client, f"/bookings/{booking.booking_id}/cancel", {"next": "/_admin/ui/bookings?status=CONFIRMED"})
    assert page.request.path == "/_admin/ui/bookings"
    assert flash(page).startswith(
        f"{booking.booking_id} not cancelled: OUTSIDE_CANCELLATION_WINDOW — "
        f"cancellation closes {window} s before the start"
    )
    assert 'role="alert"' in page.get_data(as_text=True)
    assert runtime.bookings.get(booking.booking_id).status == "CONFIRMED"


def test_the_merchant_confirms_or_declines_a_pending_booking(app, client):
    runtime = runtime_of(app)
    now = runtime.clock.now()
    async_slots = [
        s for s in runtime.bookings.inventory.slots() if s.confirmation_mode == ASYNCHRONOUS and s.start_sec > now
    ][:2]
    first, second = (book(runtime, s, f"u-{i}").booking for i, s in enumerate(async_slots))
    confirmed = post(client, f"/bookings/{first.booking_id}/decision", {"decision": "confirm"})
    assert flash(confirmed) == f"{first.booking_id} is now CONFIRMED."
    declined = post(client, f"/bookings/{second.booking_id}/decision", {"decision": "decline"})
    assert flash(declined) == f"{second.booking_id} is now DECLINED_BY_MERCHANT."
    assert (
        runtime.bookings.spots_open(async_slots[1]) == async_slots[1].spots_total
    )  # a declined booking frees its spot
    not_pending = post(client, f"/bookings/{first.booking_id}/decision", {"decision": "decline"})
    assert flash(not_pending) == f"booking {first.booking_id} is CONFIRMED, not pending"
    bad = post(client, f"/bookings/{first.booking_id}/decision", {"decision": "maybe"})
    assert flash(bad) == "decision must be confirm or decline"


def test_the_day_view_uses_the_merchants_time_zone(app, client):
    runtime = runtime_of(app)
    inventory = runtime.bookings.inventory

    def local_day(slot, tz):
        return datetime.fromtimestamp(slot.start_sec, ZoneInfo(tz)).date()

    # A merchant whose local days straddle UTC midnight: counting by UTC dates would be wrong there.
    merchant, slot = next(
        (m, s)
        for m in inventory.merchants.values()
        for s in inventory.slots(m.merchant_id)
        if local_day(s, m.timezone) != datetime.fromtimestamp(s.start_sec, UTC).date()
    )
    day = local_day(slot, merchant.timezone)
    expected = [s for s in inventory.slots(merchant.merchant_id) if local_day(s, merchant.timezone) == day]
    by_utc = [
        s for s in inventory.slots(merchant.merchant_id) if datetime.fromtimestamp(s.start_sec, UTC).date() == day
    ]
    assert len(expected) != len(by_utc) or expected != by_utc

    page = get(client, f"/inventory?merchant_id={merchant.merchant_id}&day={day.isoformat()}")
    body = page.get_data(as_text=True)
    starts = [int(v) for v in re.findall(r'data-start-sec="(\d+)"', body)]
    assert sorted(starts) == sorted(s.start_sec for s in expected)
    assert (
        f"{sum(runtime.bookings.spots_open(s) for s in expected)} of {sum(s.spots_total for s in expected)} spots open"
        in text(page)
    )
    assert f"<code>{merchant.timezone}</code>" in body

    # `at` picks the day of an instant (in the merchant's zone) and marks that slot.
    marked = get(
        client, f"/inventory?merchant_id={merchant.merchant_id}&service_id={slot.service_id}&at={slot.start_sec}"
    ).get_data(as_text=True)
    assert re.search(rf'class="[^"]*\btarget\b[^"]*"\s+data-start-sec="{slot.start_sec}"', marked)


def test_the_day_view_shows_spots_taken_and_survives_bad_input(app, client):
    runtime = runtime_of(app)
    slot = first_slot(runtime, lambda s: s.spots_total == 1)
    book(runtime, slot)
    page = get(client, f"/inventory?merchant_id={slot.merchant_id}&at={slot.start_sec}").get_data(as_text=True)
    row = re.search(rf'<tr [^>]*data-start-sec="{slot.start_sec}"[^>]*>.*?</tr>', page, re.S).group(0)
    assert "0/1 open" in row and 'class="full' in row
    for query in ("day=2026-13-45", "day=0001-01-01", "day=9999-12-31", "at=99999999999999999999", "merchant_id=nope"):
        response = get(client, f"/inventory?{query}")
        assert response.status_code == 200, query
    assert "ignored: use YYYY-MM-DD" in text(get(client, "/inventory?day=2026-13-45"))
