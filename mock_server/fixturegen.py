"""Seeded Faker generator of time-independent fixtures for three verticals.

Slots are stored relative to an anchor day (`day` = days after the sandbox's today, `local_time`
in the merchant's time zone); `storage.fixtures` turns them into epoch seconds at start-up.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FORMAT_VERSION = 1
VERTICALS = ("dining", "appointments", "classes")
# Dining: which table size seats a party, and entries for party sizes 1..8 (as Google's dining feeds list them).
TABLE_SIZES = (2, 4, 6, 8)
APPOINTMENT_SERVICES = (  # (service_id, name, minutes, price in dollars, prepaid, cancel window hours)
    ("haircut", "Haircut", 30, 45, False, 0),
    ("color", "Hair colouring", 90, 120, True, 24),
    ("massage", "Massage", 60, 90, False, 12),
    ("manicure", "Manicure", 30, 35, False, 0),
)
CLASS_SERVICES = (  # (service_id, name, minutes, price, prepaid, cancel window hours, start times)
    ("yoga-flow", "Yoga flow", 60, 25, False, 12, ("07:00", "12:15", "18:30")),
    ("hiit", "HIIT", 45, 30, True, 24, ("06:30", "17:45")),
    ("pilates", "Mat pilates", 50, 28, False, 0, ("09:00", "19:30")),
)

# Refund steps of a prepaid service (Google's RefundCondition): colouring is refunded in full when cancelled 48 h or
# more before the start (later, inside its 24 h window, the payment is kept); HIIT and prepaid dinners never are.
REFUND_CONDITIONS = {"color": [{"min_duration_before_start_sec": 48 * 3600, "refund_percent": 100}]}


@dataclass(frozen=True)
class FixtureSize:
    """How much inventory to generate."""

    merchants: int = 12
    days: int = 14


def generate(seed: int = 42, size: FixtureSize = FixtureSize()) -> dict:
    """Build the fixture tables (meta, merchants, services, slots) as plain data."""
    from faker import (
        Faker,  # imported here: start-up from a committed fixture never pays for Faker
    )

    fake = Faker("en_US")
    fake.seed_instance(seed)
    rng = random.Random(seed)
    merchants, services, slots = [], [], []
    for index in range(size.merchants):
        vertical = VERTICALS[index % len(VERTICALS)]
        merchant = _merchant(fake, rng, index, vertical)
        merchants.append(merchant)
        builder = {"dining": _dining, "appointments": _appointments, "classes": _classes}[vertical]
        for service, service_slots in builder(fake, rng, merchant, size.days):
            if vertical == "dining":
                service["waitlist"] = waitlist_rules(seed, merchant)
            services.append(service)
            slots.extend(service_slots)
    meta = {
        "format": FORMAT_VERSION,
        "seed": seed,
        "merchants": size.merchants,
        "days": size.days,
        "anchor": "day N = N days after the sandbox clock's today, in the merchant's time zone",
    }
    return {"meta": [meta], "merchants": merchants, "services": services, "slots": slots}


def write(tables: dict, path: str | Path) -> None:
    """Write the tables as a TinyDB JSON document, byte-identical for identical tables."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(render(tables), encoding="utf-8")


def render(tables: dict) -> str:
    """The tables as the text of a TinyDB JSON document, byte-identical for identical tables."""
    document = {name: {str(i + 1): doc for i, doc in enumerate(docs)} for name, docs in tables.items()}
    # One document per line keeps the committed file diffable without bloating it.
    lines = ["{"]
    for t_index, (name, docs) in enumerate(sorted(document.items())):
        lines.append(f"{json.dumps(name)}: {{")
        items = list(docs.items())
        for d_index, (doc_id, doc) in enumerate(items):
            comma = "," if d_index < len(items) - 1 else ""
            lines.append(f"{json.dumps(doc_id)}: {json.dumps(doc, sort_keys=True, separators=(',', ':'))}{comma}")
        lines.append("}" + ("," if t_index < len(document) - 1 else ""))
    lines.append("}")
    return "\n".join(lines) + "\n"


def _merchant(fake, rng: random.Random, index: int, vertical: str) -> dict:
    prefix = {"dining": "dining", "appointments": "salon", "classes": "studio"}[vertical]
    merchant_id = f"{prefix}-{index + 1:03d}"
    if vertical == "dining":
        name = f"{fake.last_name()}'s {rng.choice(['Bistro', 'Trattoria', 'Kitchen', 'Grill', 'Brasserie'])}"
        category, hours = "restaurant", [{"open": "17:00", "close": "22:30"}]
    elif vertical == "appointments":
        name = f"{fake.first_name()}'s {rng.choice(['Salon', 'Barbershop', 'Spa', 'Beauty Lounge'])}"
        category, hours = "beauty_salon", [{"open": "09:00", "close": "17:00"}]
    else:
        name = f"{fake.city()} {rng.choice(['Yoga', 'Pilates', 'Fitness', 'Movement'])} Studio"
        category, hours = "fitness_studio", [{"open": "06:00", "close": "21:00"}]
    # Every fifth merchant confirms asynchronously (bookings start PENDING_MERCHANT_CONFIRMATION).
    asynchronous = index % 5 == 4 and vertical != "classes"
    # A real place keeps coordinates, locality, country and time zone coherent (and zones varied).
    latitude, longitude, locality, country, timezone = fake.location_on_land()
    return {
        "merchant_id": merchant_id,
        "name": name,
        "vertical": vertical,
        "category": category,
        "timezone": timezone,
        "telephone": fake.numerify("+1 ###-555-0###"),
        "url": f"https://{merchant_id}.example.com",
        "address": {
            "street_address": fake.street_address(),
            "locality": locality,
            "region": fake.state_abbr(),
            "country": country,
            "postal_code": fake.postcode(),
        },
        "geo": {"latitude": float(latitude), "longitude": float(longitude)},
        "business_hours": hours,
        "confirmation_mode": "CONFIRMATION_MODE_ASYNCHRONOUS" if asynchronous else "CONFIRMATION_MODE_SYNCHRONOUS",
    }


def _service(
    merchant: dict, service_id: str, name: str, minutes: int, price: int, prepaid: bool, window_hours: int, **extra
) -> dict:
    return {
        "merchant_id": merchant["merchant_id"],
        "service_id": service_id,
        "name": name,
        "vertical": merchant["vertical"],
        "duration_sec": minutes * 60,
        "price_micros": price * 1_000_000,
        "currency_code": "USD",
        "prepayment_required": prepaid,
        "cancellation_window_sec": window_hours * 3600,
        **({"refund_conditions": REFUND_CONDITIONS[service_id]} if service_id in REFUND_CONDITIONS else {}),
        **extra,
    }


def _times(open_: str, close: str, step_min: int, length_min: int) -> list[str]:
    """Start times from opening, every step, that end by closing."""
    start, end = _minutes(open_), _minutes(close)
    return [f"{m // 60:02d}:{m % 60:02d}" for m in range(start, end - length_min + 1, step_min)]


def _minutes(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


def _slot(merchant: dict, service: dict, day: int, local_time: str, spots: int, **resources) -> dict:
    doc = {
        "merchant_id": merchant["merchant_id"],
        "service_id": service["service_id"],
        "day": day,
        "local_time": local_time,
        "duration_sec": service["duration_sec"],
        "spots_total": spots,
    }
    doc.update({k: v for k, v in resources.items() if v})
    return doc


def _dining(fake, rng: random.Random, merchant: dict, days: int):
    tables = {size: rng.randint(1, 5 if size <= 4 else 2) for size in TABLE_SIZES}
    prepaid = rng.random() < 0.25
    service = _service(
        merchant,
        "dinner",
        "Dinner reservation",
        90,
        0,
        prepaid,
        rng.choice((0, 2, 24)),
        tables=[{"party_size": s, "count": c} for s, c in sorted(tables.items())],
    )
    hours = merchant["business_hours"][0]
    slots = []
    for day in range(1, days + 1):
        for local_time in _times(hours["open"], hours["close"], 30, 90):
            for party in range(1, max(TABLE_SIZES) + 1):
                seats = next(size for size in TABLE_SIZES if size >= party)
                slots.append(_slot(merchant, service, day, local_time, tables[seats], party_size=party))
    yield service, slots


def _appointments(fake, rng: random.Random, merchant: dict, days: int):
    offered = [APPOINTMENT_SERVICES[0], APPOINTMENT_SERVICES[1]] + rng.sample(APPOINTMENT_SERVICES[2:], 1)
    hours = merchant["business_hours"][0]
    for number, (service_id, name, minutes, price, prepaid, window) in enumerate(offered):
        # Each service has its own staff, so one person is never double-booked across services.
        staff = [
            {"staff_id": f"{merchant['merchant_id']}-st{number}{k}", "staff_name": fake.first_name()}
            for k in range(rng.randint(1, 3))
        ]
        service = _service(merchant, service_id, name, minutes, price, prepaid, window, staff=staff)
        slots = [
            _slot(merchant, service, day, local_time, 1, staff_id=person["staff_id"], staff_name=person["staff_name"])
            for day in range(1, days + 1)
            for local_time in _times(hours["open"], hours["close"], 60 if minutes > 30 else 30, minutes)
            for person in staff
        ]
        yield service, slots


def _classes(fake, rng: random.Random, merchant: dict, days: int):
    for number, (service_id, name, minutes, price, prepaid, window, starts) in enumerate(CLASS_SERVICES):
        room: dict[str, Any] = {
            "room_id": f"{merchant['merchant_id']}-room{number}",
            "room_name": f"{fake.color_name()} room",
            "capacity": rng.randint(6, 20),
        }
        service = _service(merchant, service_id, name, minutes, price, prepaid, window, rooms=[room])
        slots = [
            _slot(
                merchant,
                service,
                day,
                local_time,
                room["capacity"],
                room_id=room["room_id"],
                room_name=room["room_name"],
                availability_tag=f"{service_id}@{local_time}",
            )
            for day in range(1, days + 1)
            for local_time in starts
        ]
        yield service, slots


def waitlist_rules(seed: int, merchant: dict) -> dict:
    """A dining service's waitlist (domain/waitlist.py), from its own seeded dice so the rest of the fixture draws
    exactly as without it: a status per time of day, the party sizes seated, a capacity and a wait model per size.

    Every business failure of CreateWaitlistEntry is reachable: NO_WAIT in the first half hour after opening,
    WAITLIST_CLOSED in the last hour, MERCHANT_CLOSED outside business hours, party sizes below the minimum or
    above the maximum, telephone numbers of other countries, a small capacity (WAITLIST_FULL).
    """
    rng = random.Random(f"waitlist:{seed}:{merchant['merchant_id']}")
    hours = merchant["business_hours"][0]
    opens, closes = _minutes(hours["open"]), _minutes(hours["close"])
    open_from = opens + rng.choice((30, 60))
    last_call = closes - rng.choice((60, 90))
    minimum = rng.choice((1, 2))
    maximum = rng.choice((6, 8))
    model = []
    for party in range(minimum, maximum + 1):
        table = next(size for size in TABLE_SIZES if size >= party)
        # Bigger tables turn slower and have more walk-ins ahead of them.
        model.append(
            {
                "party_size": party,
                "table_size": table,
                "turn_sec": (10 + 5 * TABLE_SIZES.index(table) + rng.randint(0, 5)) * 60,
                "walk_ins_ahead": 0 if party <= 2 else rng.randint(1, 3),
            }
        )
    asynchronous = merchant["confirmation_mode"] == "CONFIRMATION_MODE_ASYNCHRONOUS"
    return {
        "schedule": [
            {"from": _hhmm(opens), "to": _hhmm(open_from), "status": "CLOSED_NO_WAIT"},
            {"from": _hhmm(open_from), "to": _hhmm(last_call), "status": "OPEN"},
            {"from": _hhmm(last_call), "to": _hhmm(closes), "status": "CLOSED_OTHER"},
        ],
        "min_party_size": minimum,
        "max_party_size": maximum,
        "capacity": rng.choice((3, 4, 6, 8)),
        "confirmation_mode": (
            "WAITLIST_CONFIRMATION_MODE_ASYNCHRONOUS" if asynchronous else "WAITLIST_CONFIRMATION_MODE_SYNCHRONOUS"
        ),
        "confirm_after_sec": rng.choice((120, 300)) if asynchronous else 0,
        "phone_country_codes": ["1"] if rng.random() < 0.5 else ["1", "44"],
        "supports_additional_request": rng.random() < 0.75,
        "seat_after_sec": rng.choice((300, 600)),
        "no_show_after_sec": 900,
        "no_show_every": rng.randint(3, 5),
        "wait_model": model,
    }


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"
