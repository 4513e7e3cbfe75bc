"""The overlap rule (domain/resources.py): a staff member or a table held over a booking's duration."""

import pytest

from mock_server.domain.bookings import BookingService
from mock_server.domain.clock import SandboxClock
from mock_server.domain.errors import BookingFailed
from mock_server.domain.inventory import Inventory
from mock_server.domain.models import Merchant, Service, Slot, SlotSpec
from tests.conftest import STORES
from tests.unit.test_bookings import NOW, state_of, who

HOUR, HALF = 3600, 1800
SITTING = 90 * 60


def _inventory() -> Inventory:
    merchants = [Merchant("s", "Salon", "appointments", "UTC"), Merchant("d", "Diner", "dining", "UTC")]
    services = [
        Service("s", "color", "Color", "appointments", SITTING),
        Service("s", "cut", "Cut", "appointments", HALF),
        Service("d", "dinner", "Dinner", "dining", SITTING, tables=[{"party_size": 2, "count": 2}]),
        Service("d", "lunch", "Lunch", "dining", HOUR),  # no tables listed: each entry counts its own spots
    ]
    slots = [Slot("s", "color", NOW + h * HOUR, SITTING, 1, staff_id=st) for h in range(1, 5) for st in ("ann", "bo")]
    slots += [Slot("s", "cut", NOW + h * HALF, HALF, 1, staff_id="cy") for h in range(2, 8)]
    slots += [Slot("d", "dinner", NOW + h * HALF, SITTING, 2, party_size=p) for h in range(2, 10) for p in (1, 2)]
    slots += [Slot("d", "lunch", NOW + h * HALF, HOUR, 1, party_size=2) for h in range(2, 5)]
    return Inventory(merchants, services, slots)


def _entry(inventory, merchant, service, start, staff="", party=0) -> Slot:
    duration = inventory.services[(merchant, service)].duration_sec
    found = inventory.find_exact(merchant, service, start, duration, staff, "", party)
    assert found is not None
    return found


@pytest.fixture(params=STORES)
def service(request):
    inventory = _inventory()
    return BookingService(inventory, SandboxClock(frozen_at=NOW), state=state_of(request, inventory))


def _book(service, merchant, service_id, start, n=1, **kw):
    spec = SlotSpec(merchant, service_id, start, service.inventory.services[(merchant, service_id)].duration_sec, **kw)
    return service.create(spec, who(n), None, f"tok-{merchant}-{start}-{n}-{kw}").booking


def test_resource_keys_name_the_staff_member_or_the_table_size_that_seats_the_party():
    inventory = _inventory()
    resources = inventory.resources
    assert resources.key(_entry(inventory, "s", "color", NOW + HOUR, staff="ann")) == ("staff", "s", "ann")
    assert resources.key(_entry(inventory, "d", "dinner", NOW + HOUR, party=1)) == ("table", "d", 2)
    assert resources.key(_entry(inventory, "d", "lunch", NOW + HOUR, party=2)) is None


def test_the_entries_overlapping_a_90_minute_entry_are_those_of_its_resource_within_its_interval():
    inventory = _inventory()
    overlapping = inventory.resources.overlapping(_entry(inventory, "s", "color", NOW + 2 * HOUR, staff="ann"))
    # [2h, 3.5h) meets ann's 1h entry ([1h, 2.5h)) and 3h entry, not her 4h one, and none of bo's.
    assert sorted((s.start_sec - NOW, s.staff_id) for s in overlapping) == [
        (HOUR, "ann"),
        (2 * HOUR, "ann"),
        (3 * HOUR, "ann"),
    ]
    dinner = inventory.resources.overlapping(_entry(inventory, "d", "dinner", NOW + 2 * HOUR, party=2))
    # Sittings that start within 90 minutes either side (exclusive), both party sizes at the table size of two.
    assert sorted({s.start_sec - NOW for s in dinner}) == [HOUR, HOUR + HALF, 2 * HOUR, 2 * HOUR + HALF, 3 * HOUR]
    assert len(dinner) == 10


def test_the_entries_affecting_a_lookup_are_the_overlaps_of_each_of_its_starts_walked_once():
    inventory = _inventory()
    # Both party sizes at two starts an hour apart (a lookup's usual shape): two starts, four slot_times.
    specs = [SlotSpec("d", "dinner", NOW + h * HOUR, SITTING, party_size=p) for h in (2, 3) for p in (1, 2)]
    affecting = list(inventory.affecting(specs))
    one_per_start = [specs[0], specs[2]]
    assert affecting == [
        other
        for spec in one_per_start
        for slot in inventory.entries_at(spec)
        for other in inventory.resources.overlapping(slot)
    ]
    assert sorted({s.start_sec - NOW for s in affecting}) == [h * HALF for h in range(2, 9)]


def test_a_booking_makes_the_same_staff_members_overlapping_slots_unavailable_and_cancelling_frees_them(service):
    booked = _book(service, "s", "color", NOW + 2 * HOUR, staff_id="ann")
    specs = [SlotSpec("s", "color", NOW + h * HOUR, SITTING, staff_id=st) for h in (1, 3, 4) for st in ("ann", "bo")]
    assert [ok for ok, _ in service.availability("s", specs)] == [False, True, False, True, True, True]
    with pytest.raises(BookingFailed) as failed:
        _book(service, "s", "color", NOW + 3 * HOUR, n=2, staff_id="ann")
    assert failed.value.cause == "SLOT_UNAVAILABLE"
    service.cancel(booked.booking_id)
    assert [ok for ok, _ in service.availability("s", specs)] == [True] * 6


def test_a_slot_without_staff_named_takes_a_staff_member_who_is_free(service):
    _book(service, "s", "color", NOW + 2 * HOUR, staff_id="ann")
    assert _book(service, "s", "color", NOW + 3 * HOUR, n=2).held.staff_id == "bo"
    assert service.count_available(SlotSpec("s", "color", NOW + 3 * HOUR, SITTING)) == 0


def test_tables_of_one_size_are_shared_by_its_party_sizes_and_by_every_sitting_they_overlap(service):
    inventory = service.inventory
    seven = NOW + 7 * HALF
    _book(service, "d", "dinner", NOW + 6 * HALF, party_size=1)  # [3h, 4.5h)
    assert service.spots_open(_entry(inventory, "d", "dinner", seven, party=2)) == 1
    assert service.count_available(SlotSpec("d", "dinner", seven, SITTING)) == 1  # the size's spot, counted once
    _book(service, "d", "dinner", NOW + 8 * HALF, n=2, party_size=2)  # [4h, 5.5h)
    spots = [service.spots_open(_entry(inventory, "d", "dinner", NOW + h * HALF, party=1)) for h in range(2, 10)]
    assert spots == [2, 2, 1, 1, 0, 0, 0, 1]
    with pytest.raises(BookingFailed):
        _book(service, "d", "dinner", seven, n=3, party_size=2)


def test_entries_of_a_service_without_tables_keep_their_own_spots(service):
    _book(service, "d", "lunch", NOW + 2 * HALF, party_size=2)
    assert service.spots_open(_entry(service.inventory, "d", "lunch", NOW + 3 * HALF, party=2)) == 1


def test_a_reschedule_into_an_overlapping_slot_of_another_booking_is_refused_but_into_its_own_overlap_allowed(service):
    mine = _book(service, "s", "color", NOW + 1 * HOUR, staff_id="ann")
    _book(service, "s", "color", NOW + 3 * HOUR, n=2, staff_id="ann")
    with pytest.raises(BookingFailed) as failed:
        service.modify(mine.booking_id, start_sec=NOW + 4 * HOUR)  # [4h, 5.5h) meets the other's [3h, 4.5h)
    assert failed.value.cause == "SLOT_UNAVAILABLE"
    # [2h, 3.5h) meets the other's [3h, 4.5h) as well; its own hold ([1h, 2.5h)) would not have stopped it.
    with pytest.raises(BookingFailed):
        service.modify(mine.booking_id, start_sec=NOW + 2 * HOUR)
    other = _book(service, "s", "color", NOW + 1 * HOUR, n=3, staff_id="bo")
    moved = service.modify(other.booking_id, start_sec=NOW + 2 * HOUR).booking
    assert (moved.held.staff_id, moved.held.start_sec) == ("bo", NOW + 2 * HOUR)


def test_holds_that_do_not_overlap_each_other_take_one_table_between_them(service):
    # Two tables of two. [1h, 2.5h) and [3h, 4.5h) never sit at once: the [2h, 3.5h) sitting meets each in turn, one
    # table at a time, so the other table is free throughout (the holds' most at once, not their sum).
    _book(service, "d", "dinner", NOW + 2 * HALF, party_size=2)
    _book(service, "d", "dinner", NOW + 6 * HALF, n=2, party_size=2)
    between = NOW + 4 * HALF
    assert service.spots_open(_entry(service.inventory, "d", "dinner", between, party=2)) == 1
    assert [ok for ok, _ in service.availability("d", [SlotSpec("d", "dinner", between, SITTING, party_size=2)])] == [
        True
    ]
    assert _book(service, "d", "dinner", between, n=3, party_size=2).held.start_sec == between
    # Now both tables are held at [3h, 3.5h): that sitting and every one meeting it are full.
    assert service.spots_open(_entry(service.inventory, "d", "dinner", NOW + 5 * HALF, party=2)) == 0
    with pytest.raises(BookingFailed):
        _book(service, "d", "dinner", NOW + 5 * HALF, n=4, party_size=2)
