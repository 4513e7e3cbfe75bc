"""What a booking holds for its whole duration besides its entry: a staff member, or a dining table of one size.

A booking on an entry holds its resource over [start, start + duration). Every entry of the same resource whose
interval overlaps that hold loses a spot while both run: an entry's open spots are its spots_total less the most
holds overlapping it that are in use at one moment (a dining entry's spots_total is its table size's count, so party
sizes seated at one table size share them).
The holds are the spots taken per entry that the state keeps already: the entries overlapping one are found through
an index of each resource's entries by time bucket, a few dict hits per entry, never a scan of the bookings.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from .models import Service, Slot

# ("staff", merchant_id, staff_id) or ("table", merchant_id, table size): one thing that cannot be in two places.
ResourceKey = tuple[str, str, str | int]


class Resources:
    """Each resource's inventory entries by time bucket (a bucket spans the resource's longest entry)."""

    def __init__(self, services: Iterable[Service], slots: Iterable[Slot]):
        # (merchant_id, service_id, party_size) -> the size of table that seats it, for services that list tables.
        self._table_size: dict[tuple[str, str, int], int] = {}
        sizes_of = {
            (s.merchant_id, s.service_id): sorted(int(table["party_size"]) for table in s.tables)
            for s in services
            if s.tables
        }
        members: dict[ResourceKey, list[Slot]] = {}
        for slot in slots:  # written out: this runs once per fixture slot when an inventory is built
            if slot.staff_id:
                key: ResourceKey | None = ("staff", slot.merchant_id, slot.staff_id)
            elif slot.party_size and (slot.merchant_id, slot.service_id) in sizes_of:
                key = self._table_key(slot, sizes_of[(slot.merchant_id, slot.service_id)])
            else:
                continue
            if key is not None:
                entries = members.get(key)
                if entries is None:
                    entries = members[key] = []
                entries.append(slot)
        self._width: dict[ResourceKey, int] = {}
        self._buckets: dict[ResourceKey, dict[int, list[Slot]]] = {}
        # Each entry's overlaps, found on its first lookup: the inventory never changes, and a lookup asks for every
        # slot_time's (filled only for the entries asked about, so a large inventory pays for what is used).
        self._overlaps: dict[Slot, tuple[Slot, ...]] = {}
        for key, entries in members.items():
            width = self._width[key] = max(1, max(slot.duration_sec for slot in entries))
            buckets = self._buckets[key] = {}
            for slot in entries:
                buckets.setdefault(slot.start_sec // width, []).append(slot)

    def _table_key(self, slot: Slot, sizes: list[int]) -> ResourceKey | None:
        """The table size seating the entry's party (noted for `key`), or None: no table is that large."""
        seats = (slot.merchant_id, slot.service_id, slot.party_size)
        size = self._table_size.get(seats)
        if size is None:
            size = next((size for size in sizes if size >= slot.party_size), None)
            if size is None:
                return None
            self._table_size[seats] = size
        return ("table", slot.merchant_id, size)

    def key(self, slot: Slot) -> ResourceKey | None:
        """The resource an entry's booking holds besides the entry (None: only the entry)."""
        if slot.staff_id:
            return ("staff", slot.merchant_id, slot.staff_id)
        if slot.party_size:
            size = self._table_size.get((slot.merchant_id, slot.service_id, slot.party_size))
            if size is not None:
                return ("table", slot.merchant_id, size)
        return None

    def overlapping(self, slot: Slot) -> tuple[Slot, ...]:
        """The entries whose holds take a spot of this one: those of its resource overlapping its interval (itself
        among them); just itself when it holds no resource."""
        found = self._overlaps.get(slot)
        if found is None:
            found = self._overlaps[slot] = tuple(self._find_overlapping(slot))
        return found

    def _find_overlapping(self, slot: Slot) -> list[Slot]:
        key = self.key(slot)
        buckets = None if key is None else self._buckets.get(key)
        if key is None or buckets is None:
            return [slot]
        width = self._width[key]
        start, end = slot.start_sec, slot.start_sec + slot.duration_sec
        # An entry is at most `width` long: one overlapping this starts after start - width, and before end.
        found = []
        for bucket in range((start - width + 1) // width, (end - 1) // width + 1):
            for other in buckets.get(bucket, ()):
                if other.start_sec < end and other.start_sec + other.duration_sec > start:
                    found.append(other)
        return found

    def spots_open(self, slot: Slot, taken: Mapping[Slot, int], leaving: Slot | None = None) -> int:
        """Spots of the entry that no hold overlapping it takes; `leaving`: an entry a moving booking gives back.

        The holds count by how many are in use at once within the entry's interval, not by their sum: two sittings
        that meet this one in turn (one ends before the other starts) hold one table between them, not two.
        """
        holds = []
        for other in self.overlapping(slot):
            count = taken.get(other, 0) - (other is leaving)
            if count > 0:
                holds.append((other.start_sec, other.start_sec + other.duration_sec, count))
        return max(0, slot.spots_total - most_at_once(holds, slot.start_sec))

    def held_at_start(self, slot: Slot, taken: Mapping[Slot, int]) -> int:
        """The holds of the entry's resource in use at its start (more than its spots_total: double-booked)."""
        return sum(taken.get(other, 0) for other in self.overlapping(slot) if other.start_sec <= slot.start_sec)


def most_at_once(holds: list[tuple[int, int, int]], start: int) -> int:
    """The most (start, end, count) holds in use at one moment from `start` on (each overlaps the entry's interval).

    Their use only grows where one starts: the moments to look at are `start` and each later hold's start (a few
    entries of one resource, so pairs are cheap). commit.lua counts the same way.
    """
    if len(holds) < 2:
        return holds[0][2] if holds else 0
    moments = {max(begin, start) for begin, _, _ in holds}
    return max(sum(n for begin, end, n in holds if begin <= at < end) for at in moments)
