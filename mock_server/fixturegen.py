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

from . import fixturelocales
from .fixturelocales import Country

FORMAT_VERSION = 1
VERTICALS = ("dining", "appointments", "classes")
# Dining: which table size seats a party, and entries for party sizes 1..8 (as Google's dining feeds list them).
TABLE_SIZES = (2, 4, 6, 8)
# Catalogue prices are in US dollars; each merchant lists them in its country's currency (fixturelocales.local_price).
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
# What a prepaid dinner charges (a set-menu deposit, in dollars): a prepaid service always has a price to pay.
PREPAID_DINNER_PRICE = 60
ASYNCHRONOUS = "CONFIRMATION_MODE_ASYNCHRONOUS"

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
    rng = random.Random(seed)
    # Each merchant's locale Faker is seeded from a stream of its own (never a global seed), so where merchants are
    # leaves the inventory's draws (tables, windows, staff) as they were.
    locale_rng = random.Random(f"{seed}/locales")
    fakers: dict[str, Any] = {}  # one Faker per locale, re-seeded for each merchant
    merchants, services, slots = [], [], []
    for index in range(size.merchants):
        vertical = VERTICALS[index % len(VERTICALS)]
        country = fixturelocales.country_for(index)
        fake = fixturelocales.local_faker(fakers, country, locale_rng)
        merchant = _merchant(fake, rng, index, vertical, country)
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


def _merchant(fake, rng: random.Random, index: int, vertical: str, country: Country) -> dict:
    prefix = {"dining": "dining", "appointments": "salon", "classes": "studio"}[vertical]
    merchant_id = f"{prefix}-{index + 1:03d}"
    # ja_JP names are in kanji; a Latin-named business reads better with the romanised surname.
    surname = fake.last_romanized_name() if country.code == "JP" else fake.last_name()
    region, latitude, longitude, timezone = fixturelocales.place(fake, country)
    address = fixturelocales.address(fake, country, region)
    if vertical == "dining":
        name = f"{surname}'s {rng.choice(['Bistro', 'Trattoria', 'Kitchen', 'Grill', 'Brasserie'])}"
        category, hours = "restaurant", [{"open": "17:00", "close": "22:30"}]
    elif vertical == "appointments":
        name = f"{surname} {rng.choice(['Salon', 'Barbershop', 'Spa', 'Beauty Lounge'])}"
        category, hours = "beauty_salon", [{"open": "09:00", "close": "17:00"}]
    else:
        name = f"{rng.choice(['Yoga', 'Pilates', 'Fitness', 'Movement'])} Studio {address['locality']}"
        category, hours = "fitness_studio", [{"open": "06:00", "close": "21:00"}]
    # Every fifth merchant confirms asynchronously (bookings start PENDING_MERCHANT_CONFIRMATION).
    asynchronous = index % 5 == 4 and vertical != "classes"
    return {
        "merchant_id": merchant_id,
        "name": name,
        "vertical": vertical,
        "category": category,
        "timezone": timezone,
        "telephone": fixturelocales.telephone(fake, country, region),
        "url": f"https://{merchant_id}.example.com",
        "address": address,
        "geo": {"latitude": latitude, "longitude": longitude},
        "business_hours": hours,
        "confirmation_mode": ASYNCHRONOUS if asynchronous else "CONFIRMATION_MODE_SYNCHRONOUS",
    }


def _service(
    merchant: dict, service_id: str, name: str, minutes: int, usd: int, prepaid: bool, window_hours: int, **extra
) -> dict:
    prepaid = _prepaid(merchant, prepaid)
    country = fixturelocales.country_of(merchant["address"]["country"])
    return {
        "merchant_id": merchant["merchant_id"],
        "service_id": service_id,
        "name": name,
        "vertical": merchant["vertical"],
        "duration_sec": minutes * 60,
        "price_micros": fixturelocales.local_price(usd, country) * 1_000_000,
        "currency_code": country.currency,
        "prepayment_required": prepaid,
        "cancellation_window_sec": window_hours * 3600,
        **({"refund_conditions": REFUND_CONDITIONS[service_id]} if prepaid and service_id in REFUND_CONDITIONS else {}),
        **extra,
    }


def _prepaid(merchant: dict, wanted: bool) -> bool:
    """Whether a service takes prepayment: Google allows none for an asynchronously confirmed booking."""
    return wanted and merchant["confirmation_mode"] != ASYNCHRONOUS


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
    prepaid = _prepaid(merchant, rng.random() < 0.25)
    service = _service(
        merchant,
        "dinner",
        "Dinner reservation",
        90,
        PREPAID_DINNER_PRICE if prepaid else 0,  # pay at the table: no price listed
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
        # The merchant's own country's numbers, and for some a second country's (visitors from the US, or the UK).
        "phone_country_codes": _waitlist_phone_codes(rng, merchant),
        "supports_additional_request": rng.random() < 0.75,
        "seat_after_sec": rng.choice((300, 600)),
        "no_show_after_sec": 900,
        "no_show_every": rng.randint(3, 5),
        "wait_model": model,
    }


def _waitlist_phone_codes(rng: random.Random, merchant: dict) -> list[str]:
    """The E.164 country codes a waitlist takes: the merchant's country's, half the time another's too."""
    own = fixturelocales.country_of(merchant["address"]["country"]).calling_code
    other = "44" if own == "1" else "1"
    return [own] if rng.random() < 0.5 else [own, other]


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"
