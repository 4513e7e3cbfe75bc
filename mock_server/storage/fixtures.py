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


TABLES = ("meta", "merchants", "services", "slots")
# What a document of the fixture can get wrong: a missing key, a value of the wrong type or form.
_DOCUMENT_ERRORS = (KeyError, TypeError, ValueError, AttributeError)


class FixtureError(ValueError):
    """A fixture file the sandbox cannot use: names the file and the table, document or key at fault."""

    def __init__(self, source: str | Path, where: str, what: str):
        super().__init__(f"fixture {source}: {where}: {what}")


def _problem(exc: Exception) -> str:
    """An exception as a reader of the fixture needs it: a missing key is named as such."""
    return f"missing key {exc}" if isinstance(exc, KeyError) else f"{type(exc).__name__}: {exc}"


@dataclass
class FixtureData:
    """The fixture tables as read from disk (still relative in time), and the inventories built from them."""

    meta: dict
    merchants: list[dict]
    services: list[dict]
    slots: list[tuple]  # in SLOT_FIELDS order
    source: str = ""  # the file it was read from, for error messages
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
    if not isinstance(tables, dict):
        raise FixtureError(path, "the document", f"must be a JSON object of tables {TABLES}, not {_kind(tables)}")

    def docs(name: str) -> list[dict]:
        table = tables.get(name, {})
        if not isinstance(table, dict):
            raise FixtureError(path, f"table {name!r}", f'must be an object {{"1": {{...}}, ...}}, not {_kind(table)}')
        for key in table:
            if not key.isdigit():
                raise FixtureError(path, f"table {name!r}", f"key {key!r} is not a document number")
        documents = [table[key] for key in sorted(table, key=int)]
        for key in table:  # a cheap pass: each document must at least be an object
            if not isinstance(table[key], dict):
                raise FixtureError(path, f"{name}[{key!r}]", f"must be an object, not {_kind(table[key])}")
        return documents

    meta = docs("meta")
    slots = [_slot_tuple(doc) for doc in docs("slots")]
    tables.pop("slots", None)
    return FixtureData(
        meta=meta[0] if meta else {},
        merchants=docs("merchants"),
        services=docs("services"),
        slots=slots,
        source=str(path),
    )


def _kind(value: object) -> str:
    """A JSON value's kind, as a fixture's author would call it."""
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean", type(None): "null"}
    return names.get(type(value), "a number")


def _slot_tuple(doc: dict) -> tuple:
    return tuple(doc.get(name, _SLOT_DEFAULTS.get(name)) for name in SLOT_FIELDS)


def materialise(data: FixtureData, anchor_sec: int) -> Inventory:
    """The live inventory: day N after the merchant's local date at `anchor_sec`, local time T -> epoch.

    Built once per set of local days and shared (see FixtureData): a second tenant, or a reset on the same day,
    costs a lookup, not another copy of every slot.
    """
    try:
        key = _local_days(data, anchor_sec)
    except _DOCUMENT_ERRORS as exc:  # a merchant without a usable time zone
        raise FixtureError(data.source, "merchants", f"timezone: {_problem(exc)}") from None
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
    merchants = [_record(Merchant, doc, data.source, "merchants", n) for n, doc in enumerate(data.merchants, 1)]
    services = [_record(Service, doc, data.source, "services", n) for n, doc in enumerate(data.services, 1)]
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

    slots: list[Slot] = []
    try:
        _add_slots(data, slots, by_id, start_of)
    except _DOCUMENT_ERRORS as exc:
        bad = data.slots[len(slots)]  # the slot that was being added
        where = f"slots: document {len(slots) + 1} in number order (merchant_id {bad[0]!r}, service_id {bad[1]!r})"
        raise FixtureError(data.source, where, _problem(exc)) from None
    return Inventory(merchants, services, slots)


def _add_slots(data: FixtureData, slots: list[Slot], by_id: dict[str, Merchant], start_of) -> None:
    """Append the fixture's slots to `slots`, materialised (its length says how far it got)."""
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
        merchant = by_id.get(merchant_id)
        if merchant is None:  # by_id's KeyError would read "missing key None"
            if merchant_id is None:
                raise KeyError("merchant_id")
            raise ValueError(f"merchant_id {merchant_id!r} is not one of the fixture's merchants")
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


def _record(cls, doc: dict, source: str, table: str, position: int):
    """Build a dataclass from a document, ignoring keys it does not know (newer fixture files)."""
    known = {f.name for f in fields(cls)}
    try:
        return cls(**{k: v for k, v in doc.items() if k in known})
    except TypeError as exc:  # a required key missing
        message = str(exc).split(") ", 1)[-1]  # "__init__() missing 1 required ..." -> "missing 1 required ..."
        raise FixtureError(source, f"{table}: document {position} in number order", message) from None
