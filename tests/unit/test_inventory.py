"""Inventory: the written-out lookup agrees with SlotSpec.matches; one inventory per day, shared by tenants."""

import gc
import itertools
import random
import weakref

from mock_server import create_app
from mock_server.config import ROOT, Settings
from mock_server.domain.inventory import Inventory
from mock_server.domain.models import ASYNCHRONOUS, SYNCHRONOUS, Merchant, Slot, SlotSpec
from mock_server.runtime import Runtime
from mock_server.storage import fixtures
from mock_server.tenancy import TENANTS_KEY


def test_lookup_agrees_with_matches_for_every_kind_of_spec():
    inventory = Runtime(Settings(clock=1767225600)).bookings.inventory
    rng = random.Random(7)
    entries = list(inventory.slots())
    # Some entries full (taken), so "open" and "matches" part ways.
    taken = {slot: slot.spots_total for slot in rng.sample(entries, len(entries) // 3)}
    checked = 0
    for slot in rng.sample(entries, 300):
        durations = (None, slot.duration_sec, slot.duration_sec + 60)
        staff = ("", slot.staff_id, "nobody")
        rooms = ("", slot.room_id, "nowhere")
        parties = (0, slot.party_size, slot.party_size + 1)
        for duration, staff_id, room_id, party in itertools.product(durations, staff, rooms, parties):
            spec = SlotSpec(slot.merchant_id, slot.service_id, slot.start_sec, duration, staff_id, room_id, party)
            matching = [s for s in inventory.entries_at(spec) if spec.matches(s)]
            open_ = [s for s in matching if inventory.resources.spots_open(s, taken)]  # overlaps: test_overlap
            expected = (open_[0], True) if open_ else (matching[0] if matching else None, False)
            assert inventory.lookup(spec, taken) == expected, spec
            checked += 1
    assert checked == 300 * 81


def test_lookup_answers_for_the_entry_a_booking_would_take_else_the_first_full_one():
    # One start, two staff whose entries confirm differently (a feed may set the mode per slot).
    ann = Slot("m", "cut", 7200, 3600, 1, staff_id="ann", confirmation_mode=ASYNCHRONOUS)
    bob = Slot("m", "cut", 7200, 3600, 1, staff_id="bob", confirmation_mode=SYNCHRONOUS)
    inventory = Inventory([Merchant("m", "Salon", "appointments", "UTC")], [], [ann, bob])
    any_staff = SlotSpec("m", "cut", 7200)
    assert inventory.lookup(any_staff, {}) == (ann, True)
    assert inventory.lookup(any_staff, {ann: 1}) == (bob, True)
    assert inventory.lookup(any_staff, {ann: 1, bob: 1}) == (ann, False)
    assert inventory.lookup(any_staff._replace(staff_id="cat"), {}) == (None, False)
    assert inventory.lookup(any_staff._replace(start_sec=7260), {}) == (None, False)


DAY = 86_400


def test_one_inventory_per_local_day_shared_and_let_go_with_its_last_user():
    data = fixtures.read(ROOT / "fixtures" / "default.json")
    morning = fixtures.materialise(data, 1767225600 + 3_600)
    assert fixtures.materialise(data, 1767225600 + 7_200) is morning  # same day in every merchant zone
    tomorrow = fixtures.materialise(data, 1767225600 + 3_600 + DAY)
    assert tomorrow is not morning
    assert min(s.start_sec for s in tomorrow.slots()) - min(s.start_sec for s in morning.slots()) == DAY
    # Another read of the file is another fixture: nothing is shared between apps.
    assert fixtures.materialise(fixtures.read(ROOT / "fixtures" / "default.json"), 1767225600) is not morning
    gone = weakref.ref(tomorrow)
    del tomorrow
    gc.collect()
    assert gone() is None and len(data._built) == 1


def test_tenants_share_the_default_tenants_inventory_and_reset_keeps_it():
    app = create_app({"record": False, "clock": 1767225600})
    tenants = app.extensions[TENANTS_KEY]
    shared = tenants.default.runtime.bookings.inventory
    acme = tenants.get("acme")
    assert acme.runtime.bookings.inventory is shared
    acme.runtime.reset()
    assert acme.runtime.bookings.inventory is shared and tenants.get("other").runtime.bookings.inventory is shared
