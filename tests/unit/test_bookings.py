"""Booking rules without Flask: hand-built inventory, injected clock."""

import pytest

from mock_server.domain.bookings import BookingService
from mock_server.domain.clock import SandboxClock
from mock_server.domain.errors import BookingFailed, InvalidRequest, NotFound
from mock_server.domain.inventory import Inventory
from mock_server.domain.models import (
    ASYNCHRONOUS,
    SYNCHRONOUS,
    Merchant,
    Service,
    Slot,
    SlotSpec,
    UserInformation,
)
from mock_server.storage import redis_store
from tests.conftest import STORES, store_settings

NOW = 1_000_000
HOUR = 3600


@pytest.fixture(params=STORES)
def service(request):
    merchants = [
        Merchant("m1", "Salon", "appointments", "UTC"),
        Merchant("m2", "Cafe", "dining", "UTC", confirmation_mode=ASYNCHRONOUS),
    ]
    services = [
        Service("m1", "cut", "Cut", "appointments", HOUR, cancellation_window_sec=2 * HOUR),
        Service(
            "m1",
            "color",
            "Color",
            "appointments",
            HOUR,
            price_micros=120_000_000,
            prepayment_required=True,
            refund_conditions=[{"min_duration_before_start_sec": 5 * HOUR, "refund_percent": 100}],
        ),
        Service("m2", "table", "Table", "dining", HOUR),
    ]
    slots = [
        Slot("m1", "cut", NOW + 10 * HOUR, HOUR, 1, staff_id="ann", availability_tag="ann@10"),
        Slot("m1", "cut", NOW + 10 * HOUR, HOUR, 1, staff_id="bob"),
        Slot("m1", "cut", NOW + 11 * HOUR, HOUR, 1, staff_id="ann", availability_tag="ann@11"),
        Slot("m1", "color", NOW + 10 * HOUR, HOUR, 1, staff_id="cat"),
        Slot("m1", "color", NOW + 11 * HOUR, HOUR, 1, staff_id="cat"),
        Slot("m2", "table", NOW + 10 * HOUR, HOUR, 2, party_size=2, confirmation_mode=ASYNCHRONOUS),
        Slot("m2", "table", NOW + 10 * HOUR, HOUR, 1, party_size=4, confirmation_mode=ASYNCHRONOUS),
    ]
    inventory = Inventory(merchants, services, slots)
    return BookingService(inventory, SandboxClock(frozen_at=NOW), state=state_of(request, inventory))


def state_of(request, inventory):
    """The param's state: None (the memory default) or the test Redis under this test's own keys."""
    settings = store_settings(request, request.param)
    if not settings:
        return None
    client = redis_store.client_for(settings["store"])
    keys = redis_store.TenantKeys(settings["store_prefix"], "t")
    return redis_store.RedisState(client, keys, inventory, redis_store.claim_epoch(client, keys, NOW))


def spec(service_id="cut", hours=10, merchant="m1", **kw):
    return SlotSpec(merchant, service_id, NOW + hours * HOUR, HOUR, **kw)


def available(service, merchant_id, specs):
    """Only the `available` of each lookup answer."""
    return [available for available, _mode in service.availability(merchant_id, specs)]


def who(n=1):
    return UserInformation(f"u{n}", "A", "B", "+1", f"u{n}@example.com")


def test_any_staff_books_each_free_person_then_runs_out(service):
    first = service.create(spec(), who(1), None, "t1").booking
    second = service.create(spec(), who(2), None, "t2").booking
    assert {first.held.staff_id, second.held.staff_id} == {"ann", "bob"}
    with pytest.raises(BookingFailed) as failure:
        service.create(spec(), who(3), None, "t3")
    assert failure.value.cause == "SLOT_UNAVAILABLE"
    assert available(service, "m1", [spec(), spec(hours=11)]) == [False, True]


def test_token_replay_returns_the_original_and_warns_on_other_payload(service):
    original = service.create(spec(staff_id="ann"), who(1), None, "tok").booking
    same = service.create(spec(staff_id="ann"), who(1), None, "tok")
    other = service.create(spec(hours=11, staff_id="ann"), who(2), None, "tok")
    assert same.booking == original and same.replayed and same.warnings == []
    assert other.booking == original and other.warnings
    assert service.counts() == {"bookings": 1, "active_bookings": 1}


def test_failures_are_not_remembered_for_the_token(service):
    holder = service.create(spec(staff_id="ann"), who(1), None, "a").booking
    with pytest.raises(BookingFailed):
        service.create(spec(staff_id="ann"), who(2), None, "b")
    service.cancel(holder.booking_id)
    assert service.create(spec(staff_id="ann"), who(2), None, "b").booking.status == "CONFIRMED"


def test_same_user_same_slot(service):
    service.create(spec(), who(1), None, "a")
    with pytest.raises(BookingFailed) as failure:
        service.create(spec(), who(1), None, "b")
    assert failure.value.cause == "SLOT_ALREADY_BOOKED_BY_USER"


def test_prepayment(service):
    with pytest.raises(BookingFailed) as failure:
        service.create(spec("color"), who(1), {"prepayment_status": "PREPAYMENT_NOT_PROVIDED"}, "a")
    assert failure.value.cause == "PAYMENT_ERROR"
    paid = service.create(spec("color"), who(1), {"prepayment_status": "PREPAYMENT_PROVIDED"}, "b").booking
    assert paid.prepayment_status == "PREPAYMENT_PROVIDED"


def test_a_payment_token_pays_and_the_payment_is_stored(service):
    booking = service.create(spec("color"), who(1), None, "paid", payment_token_given=True).booking
    paid = {
        "prepayment_status": "PREPAYMENT_PROVIDED",
        "payment_transaction_id": "txn-268ad70eb5bc4737",
        "price": {"price_micros": "120000000", "currency_code": "USD"},
    }
    assert (booking.payment_information, booking.prepayment_status) == (paid, "PREPAYMENT_PROVIDED")
    assert service.get(booking.booking_id).payment_information == paid
    # A retry of the token answers the same charge; nothing is charged or booked again.
    again = service.create(spec("color"), who(1), None, "paid", payment_token_given=True)
    assert again.replayed and again.booking == booking


def test_a_price_other_than_the_services_books_nothing(service):
    for price in ({"price_micros": "1", "currency_code": "JPY"}, {"price_micros": "120000000", "currency_code": "EUR"}):
        with pytest.raises(BookingFailed) as failure:
            service.create(spec("color"), who(1), {"price": price}, "wrong", payment_token_given=True)
        assert failure.value.cause == "PAYMENT_ERROR"
    assert service.counts() == {"bookings": 0, "active_bookings": 0}
    right = {"price": {"price_micros": "120000000", "currency_code": "USD"}}
    assert service.create(spec("color"), who(1), right, "right", payment_token_given=True).booking.status == "CONFIRMED"


def test_cancel_refunds_a_prepayment_early_enough_and_keeps_it_later(service):
    early = service.create(spec("color"), who(1), None, "early", payment_token_given=True).booking
    late = service.create(spec("color", hours=11), who(2), None, "late", payment_token_given=True).booking
    service.clock.freeze(early.slot.start_sec - 5 * HOUR)  # exactly the step: refunded
    refunded = service.cancel(early.booking_id).booking
    assert refunded.payment_information == {**early.payment_information, "prepayment_status": "PREPAYMENT_REFUNDED"}
    service.clock.freeze(late.slot.start_sec - 5 * HOUR + 1)
    kept = service.cancel(late.booking_id).booking
    assert (kept.status, kept.payment_information) == ("CANCELED", late.payment_information)
    stored = {b.booking_id: b.prepayment_status for b in service.all_bookings()}
    assert stored == {early.booking_id: "PREPAYMENT_REFUNDED", late.booking_id: "PREPAYMENT_PROVIDED"}


def test_asynchronous_slots_start_pending_and_the_merchant_decides(service):
    booking = service.create(spec("table", merchant="m2", party_size=2), who(1), None, "a").booking
    assert booking.status == "PENDING_MERCHANT_CONFIRMATION"
    assert service.merchant_decision(booking.booking_id, confirm=False).booking.status == "DECLINED_BY_MERCHANT"
    assert service.spots_open(service.inventory.candidates(spec("table", merchant="m2", party_size=2))[0]) == 2
    with pytest.raises(InvalidRequest):
        service.merchant_decision(booking.booking_id, confirm=True)


def test_a_declined_booking_gives_its_prepayment_back(service):
    paid = {"prepayment_status": "PREPAYMENT_PROVIDED"}
    booking = service.create(spec("table", merchant="m2", party_size=2), who(1), paid, "a").booking
    declined = service.merchant_decision(booking.booking_id, confirm=False).booking
    assert (declined.status, declined.prepayment_status) == ("DECLINED_BY_MERCHANT", "PREPAYMENT_REFUNDED")
    assert service.get(booking.booking_id).prepayment_status == "PREPAYMENT_REFUNDED"


def test_cancellation_window_uses_the_clock(service):
    booking = service.create(spec(staff_id="ann"), who(1), None, "a").booking
    service.clock.freeze(booking.slot.start_sec - 2 * HOUR)
    with pytest.raises(BookingFailed) as failure:
        service.cancel(booking.booking_id)
    assert failure.value.cause == "OUTSIDE_CANCELLATION_WINDOW"
    service.clock.advance(-1)
    assert service.cancel(booking.booking_id).booking.status == "CANCELED"


def test_modify_moves_the_spot_or_changes_nothing(service):
    booking = service.create(spec(staff_id="ann"), who(1), None, "a").booking
    moved = service.modify(booking.booking_id, start_sec=NOW + 11 * HOUR).booking
    assert moved.slot.start_sec == NOW + 11 * HOUR
    assert available(service, "m1", [spec(staff_id="ann"), spec(hours=11, staff_id="ann")]) == [True, False]
    with pytest.raises(BookingFailed) as failure:
        service.modify(booking.booking_id, start_sec=NOW + 12 * HOUR)
    assert failure.value.cause == "SLOT_UNAVAILABLE"
    assert service.get(booking.booking_id).slot.start_sec == NOW + 11 * HOUR


def test_lookup_answers_the_inventory_confirmation_mode_whatever_was_sent(service):
    # m1 confirms synchronously, m2 asynchronously; a full slot still has a mode, a time not in inventory keeps
    # the mode as sent (none, or the request's).
    service.create(spec("table", merchant="m2", party_size=4), who(1), None, "a")
    assert service.availability("m1", [spec(staff_id="ann", confirmation_mode=ASYNCHRONOUS), spec(hours=12)]) == [
        (True, SYNCHRONOUS),
        (False, ""),
    ]
    answers = service.availability(
        "m2",
        [
            spec("table", merchant="m2", party_size=2),
            spec("table", merchant="m2", party_size=4),
            spec("table", merchant="m2", hours=12, confirmation_mode=SYNCHRONOUS),
        ],
    )
    assert answers == [(True, ASYNCHRONOUS), (False, ASYNCHRONOUS), (False, SYNCHRONOUS)]


def test_a_move_carries_the_new_entrys_tag_when_the_booking_carries_one(service):
    tagged = service.create(spec(staff_id="ann", availability_tag="ann@10"), who(1), None, "a").booking
    untagged = service.create(spec(), who(2), None, "b").booking  # any staff: bob, the one left
    moved = service.modify(tagged.booking_id, start_sec=NOW + 11 * HOUR).booking
    assert moved.slot == spec(hours=11, staff_id="ann", availability_tag="ann@11")
    assert service.get(tagged.booking_id).slot == moved.slot
    service.cancel(moved.booking_id)
    # Any staff at 11:00 is ann's tagged entry, but this booking never named a tag: it gets none.
    moved = service.modify(untagged.booking_id, start_sec=NOW + 11 * HOUR).booking
    assert moved.held.availability_tag == "ann@11" and moved.slot.availability_tag == ""


def test_party_size_change_moves_to_the_other_table(service):
    booking = service.create(spec("table", merchant="m2", party_size=2), who(1), None, "a").booking
    moved = service.modify(booking.booking_id, party_size=4).booking
    assert moved.held.party_size == 4 and moved.slot.party_size == 4
    with pytest.raises(BookingFailed):
        service.create(spec("table", merchant="m2", party_size=4), who(2), None, "b")


def test_unknowns(service):
    with pytest.raises(NotFound):
        service.get("nope")
    with pytest.raises(InvalidRequest, match="unknown merchant_id"):
        service.availability("zz", [spec()])
    with pytest.raises(InvalidRequest, match="unknown service_id"):
        service.create(spec("zz"), who(), None, "x")


def test_list_for_user_skips_cancelled_and_past(service):
    keep = service.create(spec(hours=11, staff_id="ann"), who(1), None, "a").booking
    gone = service.create(spec(staff_id="bob"), who(1), None, "b").booking
    service.cancel(gone.booking_id)
    assert [b.booking_id for b in service.list_for_user("u1")] == [keep.booking_id]
    service.clock.freeze(NOW + 12 * HOUR)
    assert service.list_for_user("u1") == []


def test_returned_bookings_are_copies(service):
    booking = service.create(spec(staff_id="ann"), who(1), None, "a").booking
    booking.status = "CANCELED"
    assert service.get(booking.booking_id).status == "CONFIRMED"


def test_two_services_on_one_inventory_each_keep_their_own_spots(service):
    # Tenants share one immutable inventory: a spot taken in one is still open in the other.
    other = BookingService(service.inventory, SandboxClock(frozen_at=NOW))  # in memory, beside either store
    ann = service.inventory.candidates(spec(staff_id="ann"))[0]
    held = service.create(spec(staff_id="ann"), who(1), None, "a").booking
    assert (service.spots_open(ann), other.spots_open(ann)) == (0, 1)
    assert available(service, "m1", [spec(staff_id="ann")]) == [False]
    assert available(other, "m1", [spec(staff_id="ann")]) == [True]
    assert other.create(spec(staff_id="ann"), who(2), None, "a").booking.booking_id == "B0000001"
    service.cancel(held.booking_id)
    assert (service.spots_open(ann), other.spots_open(ann), ann.spots_total) == (1, 0, 1)
