"""Mixed client traffic over real HTTP with a ledger of what the server acknowledged.

Each worker thread owns the bookings it made and changes them one call at a time, so for every
booking the ledger knows the last acknowledged state and the one change that may be in flight.
The crash test checks the restarted server against that; the soak counts answers and errors.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from dataclasses import dataclass, field

from .support import (
    Http,
    create_body,
    group_key,
    is_injected,
    resource_ids,
    slot_of,
    user,
)

# Causes a correct server may answer to our valid requests under contention or faults.
EXPECTED_CAUSES = {"SLOT_UNAVAILABLE"}
INJECTED_CAUSES = {"PAYMENT_ERROR"}  # our services need no prepayment: only the payment_required fault says so


@dataclass
class Tracked:
    """One booking as the clients saw it."""

    booking_id: str
    token: str
    status: str
    start_sec: str
    duration_sec: str
    pending: tuple | None = None  # ("cancel",) or ("move", start_sec, duration_sec) while a change is in flight


@dataclass
class Ledger:
    """Everything the workers sent and what came back."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    bookings: dict[str, Tracked] = field(default_factory=dict)
    unanswered_creates: list[tuple[str, dict]] = field(default_factory=list)
    answered_v3: int = 0
    acked: int = 0  # answered booking mutations (create, cancel, move)
    outcomes: Counter = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)

    def note(self, rpc: str, outcome: str, mutation: bool = False) -> None:
        with self.lock:
            self.answered_v3 += 1
            self.outcomes[(rpc, outcome)] += 1
            if mutation:
                self.acked += 1

    def error(self, message: str) -> None:
        with self.lock:
            if len(self.errors) < 50:
                self.errors.append(message)
            self.outcomes[("error", "unexpected")] += 1


MIXED = {"create": 20, "cancel": 8, "move": 8, "lookup": 30, "check": 10, "status": 14, "list": 10}


class Worker(threading.Thread):
    """One client: picks calls by weight from a seeded RNG until `stop` is set or the server goes away."""

    def __init__(
        self,
        http: Http,
        ledger: Ledger,
        entries: list[dict],
        groups: dict,
        number: int,
        seed: int,
        stop: threading.Event,
        weights: dict[str, int],
        prefix: str,
    ):
        super().__init__(daemon=True, name=f"worker-{number}")
        self.http, self.ledger, self.entries, self.groups = http, ledger, entries, groups
        self.number, self.stop, self.prefix = number, stop, prefix
        self.rng = random.Random(seed * 1000 + number)
        self.ops, self.weights = list(weights), list(weights.values())
        self.own: list[tuple[Tracked, dict]] = []  # (booking, the feed entry it was booked on)
        self.sent = 0
        self.lost_connection = False

    def run(self) -> None:
        try:
            while not self.stop.is_set():
                op = self.rng.choices(self.ops, self.weights)[0]
                if op in ("cancel", "move", "status") and not self.own:
                    op = "create"
                getattr(self, f"_{op}")()
        except ConnectionError:
            self.lost_connection = True  # the server died (the crash test kills it): stop quietly
        except Exception as exc:  # noqa: BLE001 - an answer of the wrong shape: an error, not a silently dead worker
            self.ledger.error(f"{self.name}: {exc!r}")

    # ---- mutations ----

    def _create(self) -> None:
        entry = self.rng.choice(self.entries)
        self.sent += 1
        token = f"{self.prefix}-{self.number}-{self.sent}"
        body = create_body(entry, f"{self.prefix}{self.number}x{self.sent}", token)
        with self.ledger.lock:
            self.ledger.unanswered_creates.append((token, body))
        for attempt in range(3):  # an injected 503 is retried with the same token, as Google would
            status, answer = self.http.post("/v3/CreateBooking", body)
            if not (status == 503 and is_injected(status, answer)) or attempt == 2:
                break  # the last answer is counted below, whatever it is
            self.ledger.note("CreateBooking", "injected 503")
        with self.ledger.lock:
            self.ledger.unanswered_creates.remove((token, body))
        if status == 200 and isinstance(answer, dict) and "booking" in answer:
            booking = answer["booking"]
            if booking["status"] != "CONFIRMED":
                self.ledger.error(f"CreateBooking answered {booking['status']} on a synchronous slot")
            tracked = Tracked(
                booking["booking_id"],
                token,
                booking["status"],
                booking["slot"]["start_sec"],
                booking["slot"]["duration_sec"],
            )
            with self.ledger.lock:
                self.ledger.bookings[tracked.booking_id] = tracked
            self.own.append((tracked, entry))
            self.ledger.note("CreateBooking", "booked", mutation=True)
        else:
            self._failure("CreateBooking", status, answer, mutation=True)

    def _cancel(self) -> None:
        tracked, entry = self.own.pop(self.rng.randrange(len(self.own)))
        tracked.pending = ("cancel",)
        status, answer = self.http.post(
            "/v3/UpdateBooking", {"booking": {"booking_id": tracked.booking_id, "status": "CANCELED"}}
        )
        tracked.pending = None
        if status == 200 and isinstance(answer, dict) and "booking" in answer:
            tracked.status = answer["booking"]["status"]
            self.ledger.note("UpdateBooking", "cancelled", mutation=True)
            if tracked.status != "CANCELED":
                self.ledger.error(f"cancel of {tracked.booking_id} answered {tracked.status}")
        else:
            self.own.append((tracked, entry))
            self._failure("UpdateBooking", status, answer, mutation=True)

    def _move(self) -> None:
        index = self.rng.randrange(len(self.own))
        tracked, entry = self.own[index]
        choices = [e for e in self.groups[group_key(entry)] if str(e["start_sec"]) != tracked.start_sec]
        if not choices:
            return self._status()
        target = self.rng.choice(choices)
        tracked.pending = ("move", str(target["start_sec"]), str(target["duration_sec"]))
        status, answer = self.http.post(
            "/v3/UpdateBooking",
            {
                "booking": {
                    "booking_id": tracked.booking_id,
                    "slot": {"start_sec": str(target["start_sec"]), "duration_sec": str(target["duration_sec"])},
                }
            },
        )
        tracked.pending = None
        if status == 200 and isinstance(answer, dict) and "booking" in answer:
            slot = answer["booking"]["slot"]
            tracked.start_sec, tracked.duration_sec = slot["start_sec"], slot["duration_sec"]
            self.own[index] = (tracked, target)
            self.ledger.note("UpdateBooking", "moved", mutation=True)
            if tracked.start_sec != str(target["start_sec"]):
                self.ledger.error(f"move of {tracked.booking_id} answered start {tracked.start_sec}")
        else:
            self._failure("UpdateBooking", status, answer, mutation=True)

    # ---- reads ----

    def _lookup(self) -> None:
        entry = self.rng.choice(self.entries)
        same = self.groups[group_key(entry)][: self.rng.randint(1, 10)]
        slot_times = [
            {
                "service_id": e["service_id"],
                "start_sec": str(e["start_sec"]),
                "duration_sec": str(e["duration_sec"]),
                "resource_ids": resource_ids(e),
            }
            for e in same
        ]
        status, answer = self.http.post(
            "/v3/BatchAvailabilityLookup", {"merchant_id": entry["merchant_id"], "slot_time": slot_times}
        )
        if status == 200 and len(answer.get("slot_time_availability", [])) == len(slot_times):
            self.ledger.note("BatchAvailabilityLookup", "ok")
        else:
            self._failure("BatchAvailabilityLookup", status, answer)

    def _check(self) -> None:
        entry = self.rng.choice(self.entries)
        status, answer = self.http.post("/v3/CheckAvailability", {"slot": slot_of(entry)})
        if status == 200 and isinstance(answer.get("count_available"), int):
            self.ledger.note("CheckAvailability", "ok")
        else:
            self._failure("CheckAvailability", status, answer)

    def _status(self) -> None:
        tracked, _ = self.rng.choice(self.own)
        status, answer = self.http.post("/v3/GetBookingStatus", {"booking_id": tracked.booking_id})
        if status == 200 and answer.get("booking_status") == tracked.status:
            self.ledger.note("GetBookingStatus", "ok")
        else:
            self._failure("GetBookingStatus", status, answer)

    def _list(self) -> None:
        user_id = user(f"{self.prefix}{self.number}x{self.rng.randint(1, max(self.sent, 1))}")["user_id"]
        status, answer = self.http.post("/v3/ListBookings", {"user_id": user_id})
        if status == 200 and isinstance(answer.get("bookings"), list):
            self.ledger.note("ListBookings", "ok")
        else:
            self._failure("ListBookings", status, answer)

    def _failure(self, rpc: str, status: int, answer, mutation: bool = False) -> None:
        """Sort an answer that is not the happy one: expected, injected, or an error."""
        if status == 200 and isinstance(answer, dict) and "booking_failure" in answer:
            cause = answer["booking_failure"]["cause"]
            if cause in EXPECTED_CAUSES:
                return self.ledger.note(rpc, cause, mutation)
            if cause in INJECTED_CAUSES:
                return self.ledger.note(rpc, f"injected {cause}", mutation)
        if is_injected(status, answer):
            return self.ledger.note(rpc, f"injected {status}", mutation)
        self.ledger.note(rpc, f"error {status}")
        self.ledger.error(f"{rpc}: HTTP {status} {str(answer)[:300]}")
