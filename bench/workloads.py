"""What the benchmark sends: a 10-slot BatchAvailabilityLookup page and bookable slots, found via /feeds."""

from __future__ import annotations

import http.client
import json
import random
from dataclasses import dataclass

from .procs import AUTH_HEADER, HOST

PAGE_SLOTS = 10
CANCEL_MARGIN_S = 3600  # book only slots that stay cancellable for the whole run
# The PaymentInformation of a prepaid booking, as Google sends it: CreateBooking "with payment_information".
# No price: the booked slots span services of several prices, and a price other than the service's is PAYMENT_ERROR.
PAYMENT_JSON = (
    '{"prepayment_status":"PREPAYMENT_PROVIDED","payment_transaction_id":"bench-txn",'
    '"payment_processed_by":"PROCESSED_BY_GOOGLE"}'
)
# A rule for another method than the ones measured: armed, it must not slow the lookup down.
UNRELATED_FAULT = {"method": "ListBookings", "kind": "http_error", "status": 503}


@dataclass
class Workload:
    """The BAL request body and the Slot JSON strings CreateBooking cycles over."""

    merchant_id: str
    bal_body: bytes
    booking_slots: list[str]
    slots_total: int


def call(
    port: int, method: str, path: str, body: bytes | None = None, authorization: str = AUTH_HEADER
) -> tuple[int, dict]:
    """One request with Basic auth (the bench user's unless told); returns (status, parsed JSON)."""
    conn = http.client.HTTPConnection(HOST, port, timeout=120)
    try:
        conn.request(method, path, body, {"Authorization": authorization, "Content-Type": "application/json"})
        response = conn.getresponse()
        return response.status, json.loads(response.read() or b"{}")
    finally:
        conn.close()


def discover(port: int, booking_slots: int = 2000, per_spot: bool = False) -> Workload:
    """Read the feeds merchant by merchant: the first merchant's page for BAL, free non-prepaid slots to book.

    per_spot lists each slot once per open spot, so bookings kept (never cancelled) all find a spot.
    """
    _, health = call(port, "GET", "/_admin/health")
    _, merchants = call(port, "GET", "/feeds/merchants.json")
    _, services = call(port, "GET", "/feeds/services.json")
    rules = {(s["merchant_id"], s["service_id"]): s for s in services["service"]}
    now = health["clock"]["now_sec"]
    page, bookable = None, []
    for merchant in merchants["merchant"]:
        merchant_id = merchant["merchant_id"]
        _, feed = call(port, "GET", f"/feeds/availability.json?merchant_id={merchant_id}")
        entries = [a for sa in feed["service_availability"] for a in sa["availability"]]
        if page is None and len(entries) >= PAGE_SLOTS:
            page = (merchant_id, entries[:PAGE_SLOTS])
        for a in entries:
            service = rules[(a["merchant_id"], a["service_id"])]
            window = int((service.get("rules") or {}).get("min_advance_online_canceling") or 0)
            if (
                service.get("prepayment_type") != "REQUIRED"
                and a["spots_open"] > 0
                and int(a["start_sec"]) - now > window + CANCEL_MARGIN_S
            ):
                bookable.extend([a] * (a["spots_open"] if per_spot else 1))
        if page and len(bookable) >= booking_slots * 2:
            break
    if page is None or not bookable:
        raise RuntimeError("the feeds list no merchant with 10 slots or no bookable slot")
    random.Random(42).shuffle(bookable)  # spread bookings over merchants and services
    return Workload(
        page[0], bal_body(*page), [slot_json(a) for a in bookable[:booking_slots]], health["counts"]["slots"]
    )


def resource_ids(a: dict) -> dict:
    """The ResourceIds of a feed entry: its ids only (the feed also names the staff and the room)."""
    return {k: v for k, v in (a.get("resources") or {}).items() if k in ("staff_id", "room_id", "party_size")}


def camel_case(body: bytes) -> bytes:
    """The same request with every field name in lowerCamelCase (valid proto3 JSON: merchantId, slotTime, ...)."""

    def convert(value):
        if isinstance(value, dict):
            return {_camel(k): convert(v) for k, v in value.items()}
        return [convert(v) for v in value] if isinstance(value, list) else value

    return json.dumps(convert(json.loads(body)), separators=(",", ":")).encode()


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


def bal_body(merchant_id: str, entries: list[dict]) -> bytes:
    """A BatchAvailabilityLookup request for the given availability entries."""
    slot_times = [
        {
            "service_id": a["service_id"],
            "start_sec": str(a["start_sec"]),
            "duration_sec": str(a["duration_sec"]),
            "resource_ids": resource_ids(a),
        }
        for a in entries
    ]
    return json.dumps({"merchant_id": merchant_id, "slot_time": slot_times}, separators=(",", ":")).encode()


def slot_json(a: dict) -> str:
    """The CreateBooking Slot of one availability entry, as compact JSON on one line."""
    slot = {
        "merchant_id": a["merchant_id"],
        "service_id": a["service_id"],
        "start_sec": str(a["start_sec"]),
        "duration_sec": str(a["duration_sec"]),
        "resources": resource_ids(a),
    }
    return json.dumps(slot, separators=(",", ":"))


def check_bal(port: int, body: bytes) -> bytes:
    """Send the BAL request once; fail loudly unless it answers 200 with one entry per slot_time."""
    conn = http.client.HTTPConnection(HOST, port, timeout=30)
    try:
        conn.request(
            "POST",
            "/v3/BatchAvailabilityLookup",
            body,
            {"Authorization": AUTH_HEADER, "Content-Type": "application/json"},
        )
        response = conn.getresponse()
        answer = response.read()
    finally:
        conn.close()
    entries = json.loads(answer).get("slot_time_availability") if response.status == 200 else None
    if not entries or len(entries) != PAGE_SLOTS:
        raise RuntimeError(f"BatchAvailabilityLookup check failed: {response.status} {answer[:300]!r}")
    return answer


def check_booking(port: int, slot: str, prefix: str, payment: str = "") -> None:
    """Book (with the given PaymentInformation JSON, if any) and cancel once; fail loudly unless both succeed."""
    extra = f'"payment_information":{payment},' if payment else ""
    body = (
        f'{{"slot":{slot},"user_information":{{"user_id":"{prefix}-check","given_name":"Bench",'
        f'"family_name":"User","telephone":"+1 555-010-0101","email":"bench@example.com"}},'
        f'{extra}"idempotency_token":"{prefix}-check"}}'
    ).encode()
    status, created = call(port, "POST", "/v3/CreateBooking", body)
    booking = created.get("booking")
    if status != 200 or not booking or (payment and booking.get("payment_information") != json.loads(payment)):
        raise RuntimeError(f"CreateBooking check failed: {status} {created}")
    cancel = json.dumps({"booking": {"booking_id": booking["booking_id"], "status": "CANCELED"}}).encode()
    status, canceled = call(port, "POST", "/v3/UpdateBooking", cancel)
    if status != 200 or (canceled.get("booking") or {}).get("status") != "CANCELED":
        raise RuntimeError(f"cancel check failed: {status} {canceled}")


def arm_fault(port: int, rule: dict) -> str:
    """Add a fault rule through the admin API; its id."""
    status, added = call(port, "POST", "/_admin/faults", json.dumps(rule).encode())
    if status != 201:
        raise RuntimeError(f"adding fault rule {rule} failed: {status} {added}")
    return added["id"]


def remove_fault(port: int, rule_id: str) -> None:
    """Remove one fault rule; fail loudly unless it was there."""
    status, removed = call(port, "DELETE", f"/_admin/faults/{rule_id}")
    if status != 200:
        raise RuntimeError(f"removing fault rule {rule_id} failed: {status} {removed}")


def reset(port: int) -> None:
    """Back to the fixture state (bookings, idempotency tokens, faults); the recording is kept."""
    status, answer = call(port, "POST", "/_admin/reset", b"{}")
    if status != 200:
        raise RuntimeError(f"reset failed: {status} {answer}")
