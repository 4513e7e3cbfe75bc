"""Durable bookings: a TinyDB snapshot plus an append-only log, so no write rewrites a whole file.

Every committed change is one JSON line appended to `<db_path>.wal` with a single write() before
the answer leaves, so `kill -9` loses nothing that was answered. At start-up (and on reset) the
log is folded into a fresh snapshot written to a temporary file and renamed over the old one,
so the snapshot is never half-written. Log records are whole-booking upserts: replaying one
twice is harmless, which makes a crash between rename and truncate safe too.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import orjson
from tinydb import TinyDB

from ..domain.bookings import BookingListener, IdempotencyRecord
from ..domain.inventory import Inventory
from ..domain.models import Booking, SlotSpec, UserInformation
from .tinystore import OrjsonStorage

COMPACT_EVERY = 100_000  # log lines; folding is O(bookings), so it is rare


class Persistence(BookingListener):
    """Writes booking changes to the log; loads and compacts snapshot + log."""

    def __init__(self, db_path: str | Path):
        self.path = Path(db_path)
        self.wal_path = self.path.with_name(self.path.name + ".wal")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fd: int | None = None
        self._lines = 0
        self._write_lock = threading.Lock()
        self.compactor = None  # set by the runtime: a callable that snapshots current state
        # Bumped by each reset. Log lines carry it, so lines from before a reset are never replayed onto
        # the reset state (a crash between the reset's snapshot and its log truncation would do that).
        self.generation = 0

    # ---- BookingListener ----

    def booking_saved(self, booking: Booking) -> None:
        """Append the booking's new state."""
        self._append({"op": "booking", "booking": encode_booking(booking)})

    def token_saved(self, token: str, record: IdempotencyRecord) -> None:
        """Append a token's answer."""
        self._append({"op": "token", "token": token, "fingerprint": record.fingerprint,
                      "booking": encode_booking(record.booking)})

    # ---- load / save ----

    def load(self) -> dict | None:
        """Snapshot + log as raw records, or None when nothing was persisted yet."""
        if not self.path.exists() and not self.wal_path.exists():
            return None
        state = {"meta": {}, "bookings": {}, "tokens": {}}
        if self.path.exists():
            with TinyDB(self.path, storage=OrjsonStorage, access_mode="r") as db:
                tables = db.storage.read() or {}
            meta = list(tables.get("meta", {}).values())
            state["meta"] = meta[0] if meta else {}
            for doc in tables.get("bookings", {}).values():
                state["bookings"][doc["booking_id"]] = doc
            for doc in tables.get("tokens", {}).values():
                state["tokens"][doc["token"]] = doc
        self.generation = state["meta"].get("generation", 0)
        for record in self._read_log():
            if record.get("gen", 0) != self.generation:
                continue  # written before a reset whose snapshot landed: that state is gone on purpose
            if record.get("op") == "booking":
                state["bookings"][record["booking"]["booking_id"]] = record["booking"]
            elif record.get("op") == "token":
                state["tokens"][record["token"]] = record
                # The token line comes first: if the crash took the booking line after it, this restores it.
                state["bookings"].setdefault(record["booking"]["booking_id"], record["booking"])
        return state

    def write_snapshot(self, meta: dict, bookings: list[Booking], tokens: dict[str, IdempotencyRecord]) -> None:
        """Replace the snapshot atomically with this state and empty the log."""
        meta = {**meta, "generation": self.generation}
        with self._write_lock:
            tmp = self.path.with_name(self.path.name + ".tmp")
            tmp.unlink(missing_ok=True)
            with TinyDB(tmp, storage=OrjsonStorage) as db:  # the storage fsyncs each write
                db.table("meta").insert(meta)
                db.table("bookings").insert_multiple(encode_booking(b) for b in bookings)
                db.table("tokens").insert_multiple(
                    {"token": t, "fingerprint": r.fingerprint, "booking": encode_booking(r.booking)}
                    for t, r in tokens.items()
                )
            os.replace(tmp, self.path)
            self._close()
            self.wal_path.write_bytes(b"")
            self._lines = 0

    def close(self) -> None:
        """Release the log file."""
        with self._write_lock:
            self._close()

    # ---- internals ----

    def _append(self, record: dict) -> None:
        record["gen"] = self.generation
        line = orjson.dumps(record) + b"\n"
        with self._write_lock:
            if self._fd is None:
                self._fd = os.open(self.wal_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            os.write(self._fd, line)
            self._lines += 1
        if self._lines >= COMPACT_EVERY and self.compactor is not None:
            self.compactor()

    def _close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def _read_log(self):
        if not self.wal_path.exists():
            return
        for raw in self.wal_path.read_bytes().splitlines():
            try:
                yield orjson.loads(raw)
            except orjson.JSONDecodeError:
                # Only the line in flight at a crash can be torn; everything before it is whole.
                continue


def encode_booking(booking: Booking) -> dict:
    """A booking as plain JSON-able data (the held inventory entry by its keys)."""
    held = booking.held
    return {
        "booking_id": booking.booking_id, "status": booking.status,
        "slot": booking.slot._asdict(),
        "user": {f: getattr(booking.user, f) for f in UserInformation.__dataclass_fields__},
        "held": None if held is None else [held.merchant_id, held.service_id, held.start_sec, held.duration_sec,
                                           held.staff_id, held.room_id, held.party_size],
        "payment_information": booking.payment_information,
        "idempotency_token": booking.idempotency_token, "offer_id": booking.offer_id,
        "created_sec": booking.created_sec, "updated_sec": booking.updated_sec,
    }


def decode_booking(doc: dict, inventory: Inventory) -> Booking:
    """Rebuild a booking and re-attach it to its inventory entry."""
    user = dict(doc["user"])
    user["address"] = tuple(tuple(pair) for pair in user.get("address") or ())
    held = doc.get("held")
    return Booking(
        booking_id=doc["booking_id"], status=doc["status"], slot=SlotSpec(**doc["slot"]),
        user=UserInformation(**user), held=inventory.find_exact(*held) if held else None,
        payment_information=doc.get("payment_information"), idempotency_token=doc.get("idempotency_token", ""),
        offer_id=doc.get("offer_id", ""), created_sec=doc.get("created_sec", 0), updated_sec=doc.get("updated_sec", 0),
    )
