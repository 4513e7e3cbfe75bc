"""Inventory held in memory with the indexes that keep lookups flat as it grows.

An Inventory never changes once built, so tenants on the same fixture and day share one: what a tenant takes
(spots held by its bookings) is kept apart, in a `Taken` map of its own.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator, Mapping

from .errors import InvalidRequest
from .models import CONFIRMATION_MODES, Merchant, Service, Slot, SlotSpec
from .resources import Resources

UNSPECIFIED_MODE = CONFIRMATION_MODES[0]  # claims nothing, as an absent confirmation_mode
# Spots taken per inventory entry, by one tenant's bookings; an entry nobody holds is absent.
Taken = Mapping[Slot, int]


class Inventory:
    """Merchants, services and slots, immutable; every lookup is a dict hit, never a scan."""

    def __init__(self, merchants: Iterable[Merchant], services: Iterable[Service], slots: Iterable[Slot]):
        self.merchants: dict[str, Merchant] = {m.merchant_id: m for m in merchants}
        self.services: dict[tuple[str, str], Service] = {(s.merchant_id, s.service_id): s for s in services}
        # (merchant_id, service_id, start_sec) -> every entry at that start (staff, rooms, party sizes).
        self._by_start: dict[tuple[str, str, int], list[Slot]] = {}
        self._by_merchant: dict[str, list[Slot]] = {m: [] for m in self.merchants}
        count = 0
        for slot in slots:
            self._by_start.setdefault((slot.merchant_id, slot.service_id, slot.start_sec), []).append(slot)
            self._by_merchant.setdefault(slot.merchant_id, []).append(slot)
            count += 1
        for entries in self._by_merchant.values():
            entries.sort(key=lambda s: s.start_sec)
        self.slot_count = count
        # What each entry's booking holds for its duration (a stylist, a table): overlapping entries share spots.
        self.resources = Resources(self.services.values(), (s for e in self._by_merchant.values() for s in e))

    def merchant(self, merchant_id: str) -> Merchant:
        """The merchant, or InvalidRequest (the API's 400) when unknown."""
        merchant = self.merchants.get(merchant_id)
        if merchant is None:
            raise InvalidRequest(f"unknown merchant_id {merchant_id!r}", field="merchant_id")
        return merchant

    def service(self, merchant_id: str, service_id: str) -> Service:
        """The service of that merchant, or InvalidRequest when either is unknown."""
        service = self.services.get((merchant_id, service_id))
        if service is None:
            self.merchant(merchant_id)
            raise InvalidRequest(f"unknown service_id {service_id!r} for merchant {merchant_id!r}", field="service_id")
        return service

    def candidates(self, spec: SlotSpec) -> list[Slot]:
        """Inventory entries that satisfy the spec (same merchant, service, start; resources if given)."""
        entries = self._by_start.get((spec.merchant_id, spec.service_id, spec.start_sec))
        if not entries:
            return []
        return [slot for slot in entries if spec.matches(slot)]

    def contradiction(self, spec: SlotSpec) -> tuple[str, str] | None:
        """(field, why) when the spec's availability_tag or confirmation_mode is not what the inventory entries it
        names say; None when it claims neither, names no entry, or an entry agrees (strict mode's 400)."""
        tag, mode = spec.availability_tag, spec.confirmation_mode
        if not tag and mode in ("", UNSPECIFIED_MODE):
            return None
        entries = self.candidates(spec)
        if not entries:
            return None  # nothing to contradict: the slot is simply not there (unavailable, or SLOT_UNAVAILABLE)
        if tag and all(entry.availability_tag != tag for entry in entries):
            return "availability_tag", f"{tag!r} is not the inventory entry's tag ({entries[0].availability_tag!r})"
        if mode not in ("", UNSPECIFIED_MODE) and all(entry.confirmation_mode != mode for entry in entries):
            return "confirmation_mode", f"{mode} is not the inventory entry's mode ({entries[0].confirmation_mode})"
        return None

    def entries_at(self, spec: SlotSpec) -> list[Slot] | tuple[()]:
        """Every entry at the spec's merchant, service and start, whatever its resources."""
        return self._by_start.get((spec.merchant_id, spec.service_id, spec.start_sec), ())

    def affecting(self, specs: Iterable[SlotSpec]) -> Iterator[Slot]:
        """The entries whose holds count against those at the specs' starts (theirs, and their resources').

        A lookup's slot_times mostly share a start (one per party size): each start is walked once. Starts near each
        other share overlaps, named again (a shared store's spots_taken asks for each once).
        """
        overlapping = self.resources.overlapping
        for start in dict.fromkeys((spec.merchant_id, spec.service_id, spec.start_sec) for spec in specs):
            for slot in self._by_start.get(start, ()):
                yield from overlapping(slot)

    def lookup(self, spec: SlotSpec, taken: Taken) -> tuple[Slot | None, bool]:
        """The entry a lookup answers for, and whether it has a spot open (`taken` holds `affecting([spec])`'s counts).

        That entry is the first satisfying the spec with a spot open (the one CreateBooking would hold), else the
        first satisfying it at all (full), else None. SlotSpec.matches is written out: a lookup asks this for every
        slot_time, and a call per entry cost more than the comparisons (test_inventory checks the two agree).
        """
        duration, staff, room, party = spec.duration_sec, spec.staff_id, spec.room_id, spec.party_size
        spots_open = self.resources.spots_open
        full = None
        for slot in self._by_start.get((spec.merchant_id, spec.service_id, spec.start_sec), ()):
            if (
                (not party or party == slot.party_size)
                and (duration is None or duration == slot.duration_sec)
                and (not staff or staff == slot.staff_id)
                and (not room or room == slot.room_id)
            ):
                if spots_open(slot, taken):
                    return slot, True
                if full is None:
                    full = slot
        return full, False

    def find_exact(
        self,
        merchant_id: str,
        service_id: str,
        start_sec: int,
        duration_sec: int,
        staff_id: str,
        room_id: str,
        party_size: int,
    ) -> Slot | None:
        """The one entry with exactly these keys (used to re-attach persisted bookings)."""
        for slot in self._by_start.get((merchant_id, service_id, start_sec), ()):
            if (slot.duration_sec, slot.staff_id, slot.room_id, slot.party_size) == (
                duration_sec,
                staff_id,
                room_id,
                party_size,
            ):
                return slot
        return None

    def slots(
        self, merchant_id: str | None = None, start_from: int | None = None, start_before: int | None = None
    ) -> Iterator[Slot]:
        """Slots in start order, optionally for one merchant and a [from, before) window."""
        merchants = [merchant_id] if merchant_id is not None else list(self._by_merchant)
        for mid in merchants:
            entries = self._by_merchant.get(mid, [])
            lo = 0 if start_from is None else bisect.bisect_left(entries, start_from, key=_start)
            hi = len(entries) if start_before is None else bisect.bisect_left(entries, start_before, key=_start)
            yield from entries[lo:hi]

    def counts(self) -> dict[str, int]:
        """Sizes, for health and feeds."""
        return {"merchants": len(self.merchants), "services": len(self.services), "slots": self.slot_count}


def _start(slot: Slot) -> int:
    return slot.start_sec
