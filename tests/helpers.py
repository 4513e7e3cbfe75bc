"""Builders for v3 requests over the fixture's real inventory."""

from __future__ import annotations

import copy
import itertools
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

_tokens = itertools.count(1)


def find_slot(
    runtime,
    vertical: str | None = None,
    prepaid: bool | None = False,
    asynchronous: bool = False,
    window: bool | None = None,
    min_spots: int = 1,
    spots_total: int | None = None,
    skip: int = 0,
):
    """An inventory entry with the asked-for properties (fails the test if the fixture has none)."""
    inventory = runtime.bookings.inventory
    found = 0
    for slot in inventory.slots():
        service = inventory.services[(slot.merchant_id, slot.service_id)]
        if vertical and service.vertical != vertical:
            continue
        if prepaid is not None and service.prepayment_required != prepaid:
            continue
        if (slot.confirmation_mode == "CONFIRMATION_MODE_ASYNCHRONOUS") != asynchronous:
            continue
        if window is not None and bool(service.cancellation_window_sec) != window:
            continue
        if runtime.bookings.spots_open(slot) < min_spots or (
            spots_total is not None and slot.spots_total != spots_total
        ):
            continue
        if found == skip:
            return slot
        found += 1
    raise AssertionError(f"fixture has no slot with vertical={vertical} prepaid={prepaid} async={asynchronous}")


def resources(slot) -> dict:
    """The resource ids that pick exactly this inventory entry."""
    out = {}
    if slot.staff_id:
        out["staff_id"] = slot.staff_id
    if slot.room_id:
        out["room_id"] = slot.room_id
    if slot.party_size:
        out["party_size"] = slot.party_size
    return out


def slot_json(slot, **changes) -> dict:
    """A v3 Slot for this inventory entry."""
    body = {
        "merchant_id": slot.merchant_id,
        "service_id": slot.service_id,
        "start_sec": str(slot.start_sec),
        "duration_sec": str(slot.duration_sec),
        "resources": resources(slot),
    }
    body.update(changes)
    return body


def slot_time_json(slot, **changes) -> dict:
    """A BAL SlotTime for this inventory entry."""
    body = {
        "service_id": slot.service_id,
        "start_sec": str(slot.start_sec),
        "duration_sec": str(slot.duration_sec),
        "resource_ids": resources(slot),
    }
    body.update(changes)
    return body


def user(n: int = 1, **changes) -> dict:
    """A complete UserInformation."""
    body = {
        "user_id": f"{1000000000000000000 + n}",
        "given_name": "Ada",
        "family_name": "Lovelace",
        "telephone": "+1 555-010-0101",
        "email": f"ada{n}@example.com",
    }
    body.update(changes)
    return body


def create_body(slot, user_n: int = 1, token: str | None = None, **changes) -> dict:
    """A complete CreateBookingRequest."""
    body = {
        "slot": slot_json(slot),
        "user_information": user(user_n),
        "payment_information": {"prepayment_status": "PREPAYMENT_NOT_PROVIDED"},
        "idempotency_token": token or f"tok-{next(_tokens)}",
    }
    body.update(changes)
    return body


def book(client, slot, user_n: int = 1, **changes) -> dict:
    """CreateBooking that must succeed; returns the booking."""
    response = client.post("/v3/CreateBooking", json=create_body(slot, user_n, **changes))
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert "booking" in body, body
    return body["booking"]


def lookup(client, slot) -> bool:
    """BAL for one slot: is it available?"""
    response = client.post(
        "/v3/BatchAvailabilityLookup", json={"merchant_id": slot.merchant_id, "slot_time": [slot_time_json(slot)]}
    )
    assert response.status_code == 200, response.get_json()
    return response.get_json()["slot_time_availability"][0]["available"]


RESOURCE_KEYS = ("staff_id", "room_id", "party_size")


def feed_resource_ids(entry: dict) -> dict:
    """ResourceIds of an availability-feed entry (the feed also carries display names)."""
    return {k: v for k, v in entry.get("resources", {}).items() if k in RESOURCE_KEYS}


def feed_slot(entry: dict, **changes) -> dict:
    """The v3 Slot that books an availability-feed entry."""
    slot = {
        "merchant_id": entry["merchant_id"],
        "service_id": entry["service_id"],
        "start_sec": str(entry["start_sec"]),
        "duration_sec": str(entry["duration_sec"]),
        "resources": feed_resource_ids(entry),
    }
    slot.update(changes)
    return slot


def broken_variants(body, replacements=("__drop__", None, True, 3.5, "x" * 3, {"a": 1}, [], -1, "")):
    """Bodies with one thing wrong each: a missing, null, mistyped or out-of-range value."""

    def walk(node, path=()):
        if isinstance(node, dict):
            for key, value in node.items():
                yield path + (key,)
                yield from walk(value, path + (key,))
        elif isinstance(node, list):
            for i, value in enumerate(node):
                yield from walk(value, path + (i,))

    for path in walk(body):
        for replacement in replacements:
            variant = copy.deepcopy(body)
            parent = variant
            for key in path[:-1]:
                parent = parent[key]
            if replacement == "__drop__":
                del parent[path[-1]]
            else:
                parent[path[-1]] = replacement
            yield variant


def journal_file(app):
    """The app's journal file with every pending line written (the journal writes in batches)."""
    journal = app.extensions["mock_server.recording"].recorder.journal
    journal.flush()
    return journal.path


def keep_exchange_notes(app) -> list[dict]:
    """Collect, per /v3 exchange, what the pipeline noted on it: faults, warnings, no_response (empty ones left out)."""
    from mock_server import GATEWAY_KEY

    notes: list[dict] = []

    def keep(exchange) -> None:
        noted = {"faults": exchange.faults, "warnings": exchange.warnings, "no_response": exchange.no_response}
        notes.append({key: value for key, value in noted.items() if value})

    gateway = app.extensions[GATEWAY_KEY]
    gateway.always = (*gateway.always, ("keep_notes", keep))
    return notes


def wait_for(check: Callable[[], T], what: str, within_s: float = 30.0, every_s: float = 0.01) -> T:
    """Poll `check` until it answers something truthy, and return that; fail naming `what` after `within_s`.

    For what a background thread, a worker or another process does: slow at times on a loaded CI machine, so the
    bound is generous, and a test never sleeps a fixed time instead.
    """
    deadline = time.monotonic() + within_s
    while True:
        found = check()
        if found:
            return found
        assert time.monotonic() < deadline, f"{what}: not within {within_s:g} s"
        time.sleep(every_s)


def wait_until_fired(get_json: Callable[[str], dict], rule_id: str, prefix: str = "") -> None:
    """Wait until fault rule `rule_id` has fired (or, spent, was retired): the request it holds is then inside it.
    `get_json(path)`: an admin GET's JSON (a ServerProcess's `get`, or a test client's through a lambda)."""

    def fired() -> bool:
        rules = get_json(f"{prefix}/_admin/faults")["faults"]
        return not any(r["id"] == rule_id and not r["fired"] for r in rules)

    wait_for(fired, f"fault rule {rule_id} to fire")
