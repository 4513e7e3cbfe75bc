"""Inventory lookups: the written-out has_open agrees with SlotSpec.matches on the whole default fixture."""

import itertools
import random

from mock_server.config import Settings
from mock_server.domain.models import SlotSpec
from mock_server.runtime import Runtime


def test_has_open_agrees_with_matches_for_every_kind_of_spec():
    inventory = Runtime(Settings(clock=1767225600)).bookings.inventory
    rng = random.Random(7)
    entries = list(inventory.slots())
    for slot in rng.sample(entries, len(entries) // 3):
        slot.spots_open = 0  # some entries full, so "open" and "matches" part ways
    checked = 0
    for slot in rng.sample(entries, 300):
        durations = (None, slot.duration_sec, slot.duration_sec + 60)
        staff = ("", slot.staff_id, "nobody")
        rooms = ("", slot.room_id, "nowhere")
        parties = (0, slot.party_size, slot.party_size + 1)
        for duration, staff_id, room_id, party in itertools.product(durations, staff, rooms, parties):
            spec = SlotSpec(slot.merchant_id, slot.service_id, slot.start_sec, duration, staff_id, room_id, party)
            expected = any(s.spots_open > 0 and spec.matches(s) for s in inventory.candidates(spec))
            assert inventory.has_open(spec) is expected, spec
            checked += 1
    assert checked == 300 * 81
