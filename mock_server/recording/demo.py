"""A scripted booking flow over every v3 method (successes and failures), run against a sandbox.

It made `recordings/examples/booking-flow.jsonl` and drives the recording tests:
`python -m mock_server.recording.demo http://127.0.0.1:8080`.
"""

from __future__ import annotations

import json
import sys
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

# call(method, path, body) -> (status, parsed JSON answer: Any, as json.loads gives it)
Call = Callable[[str, str, dict | None], tuple[int, Any]]


def http_caller(base_url: str, basic_auth: str = "") -> Call:
    """A Call over HTTP with urllib."""
    import base64

    auth = {"Authorization": "Basic " + base64.b64encode(basic_auth.encode()).decode()} if basic_auth else {}

    def call(method: str, path: str, body: dict | None = None):
        data = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json", **auth} if data is not None else dict(auth)
        request = urllib.request.Request(base_url.rstrip("/") + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, _answer(response.read())
        except urllib.error.HTTPError as exc:
            with exc:
                return exc.code, _answer(exc.read())
        except (urllib.error.URLError, OSError) as exc:  # a fault dropped the connection or held the answer
            return 0, f"no answer: {getattr(exc, 'reason', exc)}"

    return call


def _answer(raw: bytes):
    """An answer's JSON, or its text when a fault broke it (malformed_json, empty_response)."""
    try:
        return json.loads(raw or b"null")
    except ValueError:
        return raw.decode("utf-8", "replace")


def _booking_id(answer) -> str | None:
    """The id of the booking an answer made; None when it made none (a fault, a collision)."""
    booking = answer.get("booking") if isinstance(answer, dict) else None
    return booking.get("booking_id") if isinstance(booking, dict) else None


def _slot(entry: dict, start: int | None = None) -> dict:
    resources = {k: v for k, v in entry["resources"].items() if k in ("staff_id", "room_id", "party_size")}
    return {
        "merchant_id": entry["merchant_id"],
        "service_id": entry["service_id"],
        "start_sec": str(entry["start_sec"] if start is None else start),
        "duration_sec": str(entry["duration_sec"]),
        "resources": resources,
    }


def _slot_time(entry: dict) -> dict:
    slot = _slot(entry)
    return {
        "service_id": slot["service_id"],
        "start_sec": slot["start_sec"],
        "duration_sec": slot["duration_sec"],
        "resource_ids": slot["resources"],
    }


def pick_slots(call: Call) -> dict[str, dict]:
    """Slots the flow books, found through the feeds (days ahead, so no cancellation window bites)."""
    _, services = call("GET", "/feeds/services.json", None)
    prepaid = {
        (s["merchant_id"], s["service_id"]) for s in services["service"] if s.get("prepayment_type") == "REQUIRED"
    }
    _, feed = call("GET", "/feeds/availability.json", None)
    entries = [
        e
        for group in feed["service_availability"]
        for e in group["availability"]
        if e["spots_open"] > 0 and (e["merchant_id"], e["service_id"]) not in prepaid
    ]
    horizon = min(e["start_sec"] for e in entries) + 3 * 86400

    def first(predicate, skip: tuple = ()):
        return next(e for e in entries if e["start_sec"] >= horizon and predicate(e) and e not in skip)

    sync = "CONFIRMATION_MODE_SYNCHRONOUS"
    staff = first(lambda e: "staff_id" in e["resources"] and e["confirmation_mode"] == sync)
    later = first(
        lambda e: (
            all(e[k] == staff[k] for k in ("merchant_id", "service_id", "duration_sec"))
            and e["resources"].get("staff_id") == staff["resources"]["staff_id"]
        ),
        skip=(staff,),
    )
    room = first(lambda e: "room_id" in e["resources"] and e["confirmation_mode"] == sync)
    pending = first(lambda e: e["confirmation_mode"] != sync)
    return {"staff": staff, "later": later, "room": room, "pending": pending}


def _user(user_id: str, given: str, family: str) -> dict:
    return {
        "user_id": user_id,
        "given_name": given,
        "family_name": family,
        "telephone": "+14155550123",
        "email": f"{given.lower()}@example.com",
    }


def run_flow(call: Call, note: Callable[[str], None] = lambda _: None) -> list[tuple[str, int, object]]:
    """Book, retry, collide, reschedule, cancel twice, read status and lists; returns (rpc, status, body).

    With a fault armed a booking may not be made: the steps that need it are left out, and `note` says so.
    """
    slots = pick_slots(call)
    staff, later, room, pending = (slots[k] for k in ("staff", "later", "room", "pending"))
    ann, bob = _user("1001", "Ann", "Lee"), _user("1002", "Bob", "Ray")
    log: list[tuple[str, int, object]] = []

    def v3(rpc: str, body: dict | None, method: str = "POST"):
        status, answer = call(method, f"/v3/{rpc}", body)
        log.append((rpc, status, answer))
        return answer

    v3("HealthCheck", None, "GET")
    v3(
        "BatchAvailabilityLookup",
        {"merchant_id": staff["merchant_id"], "slot_time": [_slot_time(staff), _slot_time(later)]},
    )
    v3("CheckAvailability", {"slot": _slot(room)})
    first = v3("CreateBooking", {"slot": _slot(staff), "user_information": ann, "idempotency_token": "flow-1"})
    v3("CreateBooking", {"slot": _slot(staff), "user_information": ann, "idempotency_token": "flow-1"})
    v3("CreateBooking", {"slot": _slot(staff), "user_information": bob, "idempotency_token": "flow-2"})
    second = v3("CreateBooking", {"slot": _slot(room), "user_information": bob, "idempotency_token": "flow-3"})
    v3("CreateBooking", {"slot": _slot(pending), "user_information": ann, "idempotency_token": "flow-4"})
    ann_id, bob_id = _booking_id(first), _booking_id(second)
    for who, made in (("Ann's first", ann_id), ("Bob's room", bob_id)):
        if made is None:
            note(f"{who} booking was not made (a fault?): the steps that change it are left out")
    if ann_id is not None:
        v3(
            "UpdateBooking",
            {
                "booking": {
                    "booking_id": ann_id,
                    "slot": {"start_sec": str(later["start_sec"]), "duration_sec": str(later["duration_sec"])},
                }
            },
        )
    if bob_id is not None:
        v3("UpdateBooking", {"booking": {"booking_id": bob_id, "status": "CANCELED"}})
        v3("UpdateBooking", {"booking": {"booking_id": bob_id, "status": "CANCELED"}})
    if ann_id is not None:
        v3("GetBookingStatus", {"booking_id": ann_id})
    v3("GetBookingStatus", {"booking_id": "no-such-booking"})
    v3("ListBookings", {"user_id": ann["user_id"]})
    v3("BatchAvailabilityLookup", {"merchant_id": staff["merchant_id"], "slot_time": [_slot_time(staff)]})
    return log


if __name__ == "__main__":
    flow = run_flow(
        http_caller(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else ""), lambda text: print(text, file=sys.stderr)
    )
    for rpc, status, body in flow:
        print(status, rpc, json.dumps(body)[:120])
