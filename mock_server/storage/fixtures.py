"""Read a TinyDB fixture file and materialise its relative slots against the sandbox's today."""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
import weakref
from dataclasses import dataclass, field, fields
from pathlib import Path
from zoneinfo import ZoneInfo

import orjson
from tinydb import TinyDB

from ..domain.inventory import Inventory
from ..domain.models import Merchant, Service, Slot
from .tinystore import OrjsonStorage

# Slot documents are kept as tuples in this order: a dict per slot would cost ~4x the memory.
SLOT_FIELDS = (
    "merchant_id",
    "service_id",
    "day",
    "local_time",
    "duration_sec",
    "spots_total",
    "staff_id",
    "room_id",
    "party_size",
    "availability_tag",
    "staff_name",
    "room_name",
)
_SLOT_DEFAULTS = {
    "staff_id": "",
    "room_id": "",
    "party_size": 0,
    "availability_tag": "",
    "staff_name": "",
    "room_name": "",
}


@dataclass
class FixtureData:
    """The fixture tables as read from disk (still relative in time), and the inventories built from them."""

    meta: dict
    merchants: list[dict]
    services: list[dict]
    slots: list[tuple]  # in SLOT_FIELDS order
    # Inventories materialised from these tables, by the local days they were anchored on. An inventory never
    # changes, so every tenant of the same day shares one; it goes when the last tenant using it lets go.
    _built: weakref.WeakValueDictionary[tuple, Inventory] = field(
        default_factory=weakref.WeakValueDictionary, init=False, repr=False, compare=False
    )
    _building: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False, compare=False)
    # The merchants' zones, loaded once: ZoneInfo keeps only 8 zones strongly, and a fixture may use more.
    _zones: tuple[tuple[str, ZoneInfo], ...] | None = field(default=None, init=False, repr=False, compare=False)
    _digest: str | None = field(default=None, init=False, repr=False, compare=False)

    def digest(self) -> str:
        """What names this inventory (a state document saved from another fixture or seed has another): a hash of
        the merchants, services and slots, computed once."""
        if self._digest is None:
            tables = orjson.dumps([self.merchants, self.services, self.slots], option=orjson.OPT_SORT_KEYS)
            self._digest = "sha256:" + hashlib.sha256(tables).hexdigest()
        return self._digest


def read(path: str | Path) -> FixtureData:
    """Load the four tables of a fixture file through TinyDB's storage layer (orjson-backed)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"fixture file not found: {path}")
    with TinyDB(path, storage=OrjsonStorage, access_mode="r") as db:
        # The raw tables: TinyDB's Document wrapping would cost seconds at a million slots.
        tables = db.storage.read() or {}

    def docs(name: str) -> list[dict]:
        table = tables.get(name, {})
        return [table[key] for key in sorted(table, key=int)]

    meta = docs("meta")
    slot_table = tables.pop("slots", {})
    slots = [_slot_tuple(slot_table[key]) for key in sorted(slot_table, key=int)]
    return FixtureData(
        meta=meta[0] if meta else {}, merchants=docs("merchants"), services=docs("services"), slots=slots
    )


def _slot_tuple(doc: dict) -> tuple:
    return tuple(doc.get(name, _SLOT_DEFAULTS.get(name)) for name in SLOT_FIELDS)


def materialise(data: FixtureData, anchor_sec: int) -> Inventory:
    """The live inventory: day N after the merchant's local date at `anchor_sec`, local time T -> epoch.

    Built once per set of local days and shared (see FixtureData): a second tenant, or a reset on the same day,
    costs a lookup, not another copy of every slot.
    """
    key = _local_days(data, anchor_sec)
    with data._building:  # one build per day, even when tenants start together
        inventory = data._built.get(key)
        if inventory is None:
            inventory = data._built[key] = _build(data, anchor_sec)
    return inventory


def _local_days(data: FixtureData, anchor_sec: int) -> tuple[tuple[str, dt.date], ...]:
    """What a materialised inventory depends on besides the tables: the date at `anchor_sec` in each merchant zone."""
    if data._zones is None:
        data._zones = tuple((name, ZoneInfo(name)) for name in sorted({doc["timezone"] for doc in data.merchants}))
    return tuple((name, dt.datetime.fromtimestamp(anchor_sec, zone).date()) for name, zone in data._zones)


def _build(data: FixtureData, anchor_sec: int) -> Inventory:
    merchants = [_record(Merchant, doc) for doc in data.merchants]
    services = [_record(Service, doc) for doc in data.services]
    by_id = {m.merchant_id: m for m in merchants}
    zones: dict[str, ZoneInfo] = {}
    starts: dict[tuple[str, int, str], int] = {}  # many slots share (zone, day, time): convert once

    def start_of(timezone: str, day: int, local_time: str) -> int:
        key = (timezone, day, local_time)
        value = starts.get(key)
        if value is None:
            zone = zones.get(timezone) or zones.setdefault(timezone, ZoneInfo(timezone))
            today = dt.datetime.fromtimestamp(anchor_sec, zone).date()
            hour, minute = map(int, local_time.split(":"))
            local = dt.datetime.combine(today + dt.timedelta(days=day), dt.time(hour, minute), tzinfo=zone)
            value = starts[key] = int(local.timestamp())
        return value

    slots = []
    for (
        merchant_id,
        service_id,
        day,
        local_time,
        duration,
        spots,
        staff_id,
        room_id,
        party_size,
        tag,
        staff_name,
        room_name,
    ) in data.slots:
        merchant = by_id[merchant_id]
        slots.append(
            Slot(
                merchant.merchant_id,
                service_id,
                start_of(merchant.timezone, day, local_time),
                duration,
                spots,
                staff_id,
                room_id,
                party_size,
                tag,
                merchant.confirmation_mode,
                staff_name,
                room_name,
            )
        )
    return Inventory(merchants, services, slots)


def _record(cls, doc: dict):
    """Build a dataclass from a document, ignoring keys it does not know (newer fixture files)."""
    known = {f.name for f in fields(cls)}
    return cls(**{k: v for k, v in doc.items() if k in known})
