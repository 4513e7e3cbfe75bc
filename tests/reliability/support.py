"""Helpers for the process-level reliability tests: HTTP client, feed slots, consistency, memory."""

from __future__ import annotations

import http.client
import json
import os
import threading
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

from tests.helpers import feed_resource_ids, feed_slot

# Statuses whose booking holds a spot (the sandbox's Booking.is_active).
HOLDING = {"CONFIRMED", "PENDING_MERCHANT_CONFIRMATION"}
IDLE_SECONDS = 2.0  # well under any server's keep-alive timeout


class Http:
    """A keep-alive JSON client, one connection per thread; a dead server reads as ConnectionError."""

    def __init__(self, url: str, timeout: float = 30.0):
        parts = urlsplit(url)
        self.host, self.port = parts.hostname, parts.port
        self.timeout = timeout
        self._local = threading.local()

    def call(self, method: str, path: str, body=None, headers: dict | None = None) -> tuple[int, object]:
        """(status, parsed JSON or raw bytes); raises ConnectionError when no answer came back."""
        data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        sent = {"Content-Type": "application/json", **(headers or {})} if data is not None else dict(headers or {})
        connection = getattr(self._local, "connection", None)
        if connection is not None and time.monotonic() - self._local.used > IDLE_SECONDS:
            connection.close()  # the server may have dropped an idle keep-alive connection: start afresh
            connection = None
        self._local.used = time.monotonic()
        if connection is None:
            connection = self._local.connection = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        try:
            connection.request(method, path, body=data, headers=sent)
            response = connection.getresponse()
            raw = response.read()
        except (OSError, http.client.HTTPException) as exc:
            # No retry here: whether a request that got no answer was applied is for the caller to judge.
            connection.close()
            self._local.connection = None
            raise ConnectionError(f"{method} {path}: {exc!r}") from exc
        try:
            return response.status, json.loads(raw) if raw else None
        except ValueError:
            return response.status, raw

    def get(self, path: str):
        status, body = self.call("GET", path)
        assert status == 200, (path, status, body)
        return body

    def post(self, path: str, body) -> tuple[int, object]:
        return self.call("POST", path, body)


resource_ids = feed_resource_ids
slot_of = feed_slot


def user(n) -> dict:
    """A complete UserInformation for user number n."""
    return {
        "user_id": f"rel-{n}",
        "given_name": "Grace",
        "family_name": "Hopper",
        "telephone": "+1 555-010-0199",
        "email": f"grace{n}@example.com",
    }


def create_body(entry: dict, user_n, token: str) -> dict:
    """A CreateBookingRequest for a feed entry."""
    return {
        "slot": slot_of(entry),
        "user_information": user(user_n),
        "idempotency_token": token,
        "payment_information": {"prepayment_status": "PREPAYMENT_NOT_PROVIDED"},
    }


def entry_key(merchant_id, service_id, start_sec, duration_sec, staff_id="", room_id="", party_size=0) -> tuple:
    """The identity of one inventory entry, as the feed and the admin bookings both can spell it."""
    return (
        merchant_id,
        service_id,
        int(start_sec),
        int(duration_sec),
        staff_id or "",
        room_id or "",
        int(party_size or 0),
    )


def feed_key(entry: dict) -> tuple:
    ids = resource_ids(entry)
    return entry_key(
        entry["merchant_id"],
        entry["service_id"],
        entry["start_sec"],
        entry["duration_sec"],
        ids.get("staff_id"),
        ids.get("room_id"),
        ids.get("party_size"),
    )


def plain_entries(http: Http) -> list[dict]:
    """Open feed entries that book synchronously, need no prepayment and have no cancellation window."""
    services = {(s["merchant_id"], s["service_id"]): s for s in http.get("/feeds/services.json")["service"]}
    out = []
    for group in http.get("/feeds/availability.json")["service_availability"]:
        for entry in group["availability"]:
            service = services[(entry["merchant_id"], entry["service_id"])]
            if (
                entry["confirmation_mode"] == "CONFIRMATION_MODE_SYNCHRONOUS"
                and entry["spots_open"] > 0
                and service["prepayment_type"] != "REQUIRED"
                and "rules" not in service
            ):
                out.append(entry)
    return out


def reschedule_targets(entries: list[dict]) -> dict[tuple, list[dict]]:
    """Entries grouped by (merchant, service, resources): where a booking on one of them may move."""
    groups: dict[tuple, list[dict]] = {}
    for entry in entries:
        groups.setdefault(group_key(entry), []).append(entry)
    return groups


def group_key(entry: dict) -> tuple:
    return (entry["merchant_id"], entry["service_id"], tuple(sorted(resource_ids(entry).items())))


def consistency_problems(http: Http) -> list[str]:
    """Availability against bookings: every entry's spots_open = spots_total - bookings holding it, never < 0."""
    bookings = http.get("/_admin/bookings?limit=100000")["bookings"]
    held = Counter()
    for b in bookings:
        spot = b.get("inventory_entry")
        if b["status"] in HOLDING and spot is None:
            return [f"{b['booking_id']} is {b['status']} but holds no spot"]
        if spot is not None and b["status"] in HOLDING:  # inventory_entry names the entry, whatever the status
            held[
                entry_key(
                    b["slot"]["merchant_id"],
                    b["slot"]["service_id"],
                    spot["start_sec"],
                    spot["duration_sec"],
                    spot.get("staff_id"),
                    spot.get("room_id"),
                    spot.get("party_size"),
                )
            ] += 1
    problems = []
    seen = set()
    for group in http.get("/feeds/availability.json")["service_availability"]:
        for entry in group["availability"]:
            key = feed_key(entry)
            seen.add(key)
            taken = held.get(key, 0)
            if taken > entry["spots_total"]:
                problems.append(f"overbooked {key}: {taken} bookings for {entry['spots_total']} spots")
            if entry["spots_open"] != entry["spots_total"] - taken:
                problems.append(f"{key}: spots_open {entry['spots_open']} but {entry['spots_total']} - {taken} held")
    health = http.get("/_admin/health")["counts"]
    active = sum(1 for b in bookings if b["status"] in HOLDING)
    if health["active_bookings"] != active or health["bookings"] != len(bookings):
        problems.append(f"health counts {health} but /_admin/bookings lists {len(bookings)} ({active} active)")
    return problems


def group_rss_kb(pid: int) -> int:
    """VmRSS of a process and all its descendants (granian's worker is a child), in KiB."""
    total, stack, seen = 0, [pid], set()
    while stack:
        current = stack.pop()
        if current in seen:
            continue
        seen.add(current)
        try:
            status = Path(f"/proc/{current}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
        for task in Path(f"/proc/{current}/task").glob("*"):
            try:
                stack.extend(int(child) for child in (task / "children").read_text().split())
            except OSError:
                pass
    return total


def journal_lines(path: Path) -> tuple[int, list[bytes]]:
    """(whole exchange lines, unparsable lines) of a JSONL journal, read as a stream; a torn tail counts as
    unparsable. Markers (admin actions: arming the soak's faults, clearing them) are no exchanges: not counted."""
    whole, broken = 0, []
    if not path.exists():
        return whole, broken
    with open(path, "rb") as handle:
        for raw in handle:
            raw = raw.rstrip(b"\n")
            if not raw:
                continue
            try:
                whole += "marker" not in json.loads(raw)
            except ValueError:
                broken.append(raw[:200])
    return whole, broken


def is_injected(status: int, body) -> bool:
    """An answer made by a fault rule (the sandbox names the rule in the message)."""
    return isinstance(body, dict) and "sandbox fault" in str(body.get("message", ""))


def env_int(name: str, default: int) -> int:
    """An integer knob from the environment (so CI and a person can run longer forms)."""
    return int(os.environ.get(name, default))
