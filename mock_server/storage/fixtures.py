"""Read a TinyDB fixture file and materialise its relative slots against the sandbox's today."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, fields
from pathlib import Path
from zoneinfo import ZoneInfo

from tinydb import TinyDB

from ..domain.inventory import Inventory
from ..domain.models import Merchant, Service, Slot


@dataclass
class FixtureData:
    """The fixture tables as read from disk (still relative in time)."""

    meta: dict
    merchants: list[dict]
    services: list[dict]
    slots: list[dict]


def read(path: str | Path) -> FixtureData:
    """Load the four tables of a fixture file through TinyDB."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"fixture file not found: {path}")
    with TinyDB(path, access_mode="r") as db:
        meta = db.table("meta").all()
        return FixtureData(
            meta=dict(meta[0]) if meta else {},
            merchants=[dict(d) for d in db.table("merchants").all()],
            services=[dict(d) for d in db.table("services").all()],
            slots=db.table("slots").all(),
        )


def materialise(data: FixtureData, anchor_sec: int) -> Inventory:
    """Build the live inventory: day N after the merchant's local date at `anchor_sec`, local time T -> epoch."""
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
    for doc in data.slots:
        merchant = by_id[doc["merchant_id"]]
        spots = doc["spots_total"]
        slots.append(Slot(
            merchant_id=merchant.merchant_id, service_id=doc["service_id"],
            start_sec=start_of(merchant.timezone, doc["day"], doc["local_time"]),
            duration_sec=doc["duration_sec"], spots_total=spots, spots_open=spots,
            staff_id=doc.get("staff_id", ""), room_id=doc.get("room_id", ""), party_size=doc.get("party_size", 0),
            availability_tag=doc.get("availability_tag", ""), confirmation_mode=merchant.confirmation_mode,
            staff_name=doc.get("staff_name", ""), room_name=doc.get("room_name", ""),
        ))
    return Inventory(merchants, services, slots)


def _record(cls, doc: dict):
    """Build a dataclass from a document, ignoring keys it does not know (newer fixture files)."""
    known = {f.name for f in fields(cls)}
    return cls(**{k: v for k, v in doc.items() if k in known})
