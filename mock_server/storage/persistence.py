"""Durable bookings: a TinyDB snapshot plus an append-only log, so no write rewrites a whole file.

Write-ahead: every change is one JSON line appended to `<db_path>.wal` and written whole *before*
memory changes and before the answer leaves, so a write that fails changes nothing, and `kill -9`
loses nothing that was answered. A write that fails part-way is cut back off the log; if even that
fails, the store stops taking changes until restart (never a half line followed by another). With
`MOCK_DB_FSYNC=1` each line is also fsync'd (power-loss safe); without, it sits in the kernel's
page cache, which a killed process cannot lose. At start-up (and on reset) the log is folded into a
fresh snapshot written to a temporary file, fsync'd and renamed over the old one. Log records are
whole-booking upserts: replaying one twice is harmless, which makes a crash between rename and
truncate safe too. A user's marketing preference is a line of its own, a whole-preference upsert
likewise, and so is a waitlist entry (a new one's line carries its idempotency token). A store
that cannot be read whole is refused, never silently shortened.
"""

from __future__ import annotations

import errno
import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path

import orjson
from tinydb import TinyDB

from ..domain.bookings import BookingListener, IdempotencyRecord
from ..domain.errors import StoreFailed
from ..domain.inventory import Inventory
from ..domain.models import Booking, MarketingPreference, Slot, SlotSpec, UserInformation
from ..domain.waitlist import WaitlistEntry, WaitlistRecord
from .tinystore import OrjsonStorage

COMPACT_EVERY = 100_000  # log lines; folding is O(bookings), so it is rare
_DISK_FULL = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)
_EMPTY = object()  # a snapshot file with nothing in it

log = logging.getLogger("mock_server")


class CorruptStore(Exception):
    """The snapshot or the log cannot be read whole: the sandbox refuses to start on it."""


class Persistence(BookingListener):
    """Writes booking changes to the log before they happen; loads and compacts snapshot + log."""

    def __init__(self, db_path: str | Path, fsync: bool = False):
        self.path = Path(db_path)
        self.wal_path = self.path.with_name(self.path.name + ".wal")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.fsync = fsync
        self._fd: int | None = None
        self._size = 0  # bytes of whole lines in the log: where a failed write is cut back to
        self._lines = 0
        self._write_lock = threading.Lock()
        self.compactor: Callable[[], None] | None = None  # set by the runtime: a callable that snapshots current state
        # Bumped by each reset. Log lines carry it, so lines from before a reset are never replayed onto
        # the reset state (a crash between the reset's snapshot and its log truncation would do that).
        self.generation = 0
        self.failed: str | None = None  # why the store takes no more changes (until restart)

    # ---- BookingListener ----

    def commit(self, booking: Booking, token: str | None = None, record: IdempotencyRecord | None = None) -> None:
        """Write one change (a booking's new state, and the token that answers it) whole, or raise StoreFailed."""
        self._compact_if_due()
        line = {"op": "booking", "booking": encode_booking(booking)}
        if token is not None and record is not None:
            line["token"] = encode_token(token, record)
        self._append(line)

    def marketing(self, preference: MarketingPreference) -> None:
        """Write a user's marketing preference whole, or raise StoreFailed."""
        self._compact_if_due()
        self._append({"op": "marketing", "preference": encode_preference(preference)})

    def waitlist(self, entry: WaitlistEntry, token: str = "", record: WaitlistRecord | None = None) -> None:
        """Write a waitlist entry whole (a new one's with its token), or raise StoreFailed."""
        self._compact_if_due()
        line: dict = {"op": "waitlist", "entry": encode_entry(entry)}
        if token and record is not None:
            line["token"] = {"token": token, "fingerprint": record.fingerprint, "entry_id": record.entry_id}
        self._append(line)

    def state(self) -> dict:
        """What /_admin/health says about the store."""
        return {
            "path": str(self.path),
            "fsync": self.fsync,
            "log_lines": self._lines,
            "writable": self.failed is None,
            **({"error": self.failed} if self.failed else {}),
        }

    # ---- load / save ----

    def load(self) -> dict | None:
        """Snapshot + log as raw records, or None when nothing was persisted yet; CorruptStore if damaged."""
        if not self.path.exists() and not self.wal_path.exists():
            return None
        state: dict[str, dict] = {
            "meta": {},
            "bookings": {},
            "tokens": {},
            "marketing": {},
            "waitlist": {},
            "waitlist_tokens": {},
        }
        if self.path.exists():
            self._load_snapshot(state)
        self.generation = state["meta"].get("generation", 0)
        for number, record in self._read_log():
            generation = record.get("gen", 0)
            if generation < self.generation:
                continue  # written before a reset whose snapshot landed: that state is gone on purpose
            if generation > self.generation:
                # Only a snapshot older than its log does this (deleted, restored from a backup): loading
                # would silently drop these lines, and the start-up snapshot would then delete them.
                raise CorruptStore(
                    f"{self.wal_path} line {number}: written after a reset the snapshot {self.path} "
                    f"does not know of (generation {generation} > {self.generation}); "
                    "refusing to start (nothing was changed on disk)"
                )
            if record.get("op") == "booking":
                state["bookings"][record["booking"]["booking_id"]] = record["booking"]
            elif record.get("op") == "marketing":
                state["marketing"][record["preference"]["user"]["user_id"]] = record["preference"]
            elif record.get("op") == "waitlist":
                state["waitlist"][record["entry"]["entry_id"]] = record["entry"]
                if record.get("token") is not None:
                    state["waitlist_tokens"][record["token"]["token"]] = record["token"]
                continue
            token = record if record.get("op") == "token" else record.get("token")
            if token is not None:  # "op": "token" lines come from logs written before write-ahead
                state["tokens"][token["token"]] = token
                state["bookings"].setdefault(token["booking"]["booking_id"], token["booking"])
        return state

    def write_snapshot(
        self,
        meta: dict,
        bookings: list[Booking],
        tokens: dict[str, IdempotencyRecord],
        generation: int | None = None,
        preferences: list[MarketingPreference] | None = None,
        waitlist: list[WaitlistEntry] | None = None,
        waitlist_tokens: dict[str, WaitlistRecord] | None = None,
    ) -> None:
        """Replace the snapshot atomically with this state and empty the log; StoreFailed if it cannot.

        `generation` is the one the snapshot starts (a reset passes the next one); it is adopted only
        once the snapshot is in place, so a failed reset leaves the store as it was.
        """
        generation = self.generation if generation is None else generation
        meta = {**meta, "generation": generation}
        with self._write_lock:
            tmp = self.path.with_name(self.path.name + ".tmp")
            try:
                tmp.unlink(missing_ok=True)
                with TinyDB(tmp, storage=OrjsonStorage) as db:  # the storage fsyncs each write
                    db.table("meta").insert(meta)
                    db.table("bookings").insert_multiple(encode_booking(b) for b in bookings)
                    db.table("tokens").insert_multiple(encode_token(t, r) for t, r in tokens.items())
                    db.table("marketing").insert_multiple(encode_preference(p) for p in preferences or ())
                    db.table("waitlist").insert_multiple(encode_entry(e) for e in waitlist or ())
                    db.table("waitlist_tokens").insert_multiple(
                        {"token": t, "fingerprint": r.fingerprint, "entry_id": r.entry_id}
                        for t, r in (waitlist_tokens or {}).items()
                    )
                os.replace(tmp, self.path)
            except OSError as exc:
                _discard(tmp)
                raise _store_failed(f"could not write the snapshot {self.path}", exc) from None
            _fsync_dir(self.path.parent)
            # The snapshot is in place: from here on the change has happened, whatever follows.
            self.generation = generation
            self._close()
            self._lines = 0
            try:
                self.wal_path.write_bytes(b"")
            except OSError as exc:
                # Harmless to leave: its lines are whole, and on load they are either of an older generation
                # (skipped) or upserts the snapshot already holds, replayed in order before newer ones.
                log.warning(
                    "persistence: could not empty %s after a snapshot (%s); its lines stay, harmless",
                    self.wal_path,
                    exc.strerror or exc,
                )

    def erase(self) -> None:
        """Close and delete the snapshot and the log (a tenant that is deleted takes its state with it)."""
        self.close()
        for path in (self.path, self.wal_path):
            path.unlink(missing_ok=True)

    def close(self) -> None:
        """Release the log file."""
        with self._write_lock:
            self._close()

    # ---- internals ----

    def _compact_if_due(self) -> None:
        if self._lines >= COMPACT_EVERY and self.compactor is not None:
            # Before this change is written, so the snapshot holds exactly the lines written so far.
            self.compactor()

    def _append(self, record: dict) -> None:
        record["gen"] = self.generation
        line = orjson.dumps(record) + b"\n"
        with self._write_lock:
            if self.failed is not None:
                raise StoreFailed(f"the store takes no changes until the sandbox restarts: {self.failed}")
            try:
                fd = self._open() if self._fd is None else self._fd
                _write_all(fd, line, self.fsync)
            except OSError as exc:
                self._cut_back(exc)
                raise _store_failed(f"could not write to {self.wal_path}", exc) from None
            self._size += len(line)
            self._lines += 1

    def _open(self) -> int:
        fd = self._fd = os.open(self.wal_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self._size = os.fstat(fd).st_size
        return fd

    def _cut_back(self, exc: OSError) -> None:
        """Remove what a failed write left of its line; if that fails too, take no more changes."""
        try:
            if self._fd is not None and os.fstat(self._fd).st_size != self._size:
                os.ftruncate(self._fd, self._size)
        except OSError as cut:
            self.failed = f"a write to {self.wal_path} failed ({exc.strerror}) and could not be undone ({cut.strerror})"
            log.error("persistence: %s; changes are refused until restart", self.failed)

    def _close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def _load_snapshot(self, state: dict) -> None:
        data = self.path.read_bytes()  # TinyDB's own read would take an empty file for an empty database
        try:
            tables = orjson.loads(data) if data.strip() else _EMPTY
        except orjson.JSONDecodeError as exc:
            raise CorruptStore(f"{self.path}: the snapshot is not valid JSON ({exc})") from None
        # A snapshot is always written with its meta record: anything else was damaged or replaced.
        if not isinstance(tables, dict) or not isinstance(tables.get("meta"), dict) or not tables["meta"]:
            raise CorruptStore(
                f"{self.path}: the snapshot is {_what(tables)}, not a sandbox snapshot; "
                "refusing to start with no bookings (move it away to start empty)"
            )
        try:
            state["meta"] = next(iter(tables["meta"].values()))
            for doc in tables.get("bookings", {}).values():
                _check_booking(doc)
                state["bookings"][doc["booking_id"]] = doc
            for doc in tables.get("tokens", {}).values():
                _check_token(doc)
                state["tokens"][doc["token"]] = doc
            for doc in tables.get("marketing", {}).values():  # absent from snapshots written before it existed
                _check_preference(doc)
                state["marketing"][doc["user"]["user_id"]] = doc
            for doc in tables.get("waitlist", {}).values():  # absent before waitlists were persisted
                _check_entry(doc)
                state["waitlist"][doc["entry_id"]] = doc
            for doc in tables.get("waitlist_tokens", {}).values():
                _check_waitlist_token(doc)
                state["waitlist_tokens"][doc["token"]] = doc
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise CorruptStore(f"{self.path}: damaged record in the snapshot ({exc!r})") from None

    def _read_log(self):
        """The log's records; a damaged line is CorruptStore, except a torn last one (a crash mid-write)."""
        if not self.wal_path.exists():
            return
        data = self.wal_path.read_bytes()
        lines = data.split(b"\n")
        tail = lines.pop()  # after the last newline: empty, unless the last write was cut short
        for number, raw in enumerate(lines, 1):
            try:
                record = orjson.loads(raw)
                _check_record(record)
            except (orjson.JSONDecodeError, AttributeError, KeyError, TypeError, ValueError) as exc:
                # Lines are written whole, newline last: a damaged line that has its newline was not torn.
                raise CorruptStore(
                    f"{self.wal_path} line {number}: damaged record ({exc}); "
                    "refusing to start (nothing was changed on disk)"
                ) from None
            yield number, record
        if tail:
            kept = self.wal_path.with_name(self.wal_path.name + ".torn")
            try:
                with open(kept, "ab") as handle:
                    handle.write(tail + b"\n")
            except OSError as exc:
                kept = f"nowhere ({exc.strerror})"
            log.warning(
                "persistence: the last line of %s was torn by a crash (%d bytes, never acknowledged); "
                "ignored, and kept in %s",
                self.wal_path,
                len(tail),
                kept,
            )


def _write_all(fd: int, data: bytes, fsync: bool) -> None:
    """The whole line, however many writes it takes (a short write is not an error until one fails)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
    if fsync:
        os.fdatasync(fd)


def _store_failed(what: str, exc: OSError) -> StoreFailed:
    disk_full = exc.errno in _DISK_FULL
    return StoreFailed(f"{what}: {exc.strerror or exc}; nothing was changed", disk_full=disk_full)


def _fsync_dir(folder: Path) -> None:
    """Make a rename durable (best effort: not every file system lets a folder be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _discard(path: Path) -> None:
    try:
        path.unlink(missing_ok=True)
    except OSError:
        pass


def _what(value) -> str:
    if value is _EMPTY:
        return "empty"
    return f"{orjson.dumps(value)[:40].decode()} (JSON {type(value).__name__})"


def _check_booking(doc: dict) -> None:
    for key in ("booking_id", "status"):
        if not isinstance(doc[key], str):
            raise TypeError(f"{key} is not a string")
    if not isinstance(doc["slot"], dict) or not isinstance(doc["user"], dict):
        raise TypeError("slot and user must be objects")


def _check_token(doc: dict) -> None:
    if not isinstance(doc["token"], str) or not isinstance(doc["fingerprint"], str):
        raise TypeError("token and fingerprint must be strings")
    _check_booking(doc["booking"])


def _check_preference(doc: dict) -> None:
    if not isinstance(doc["user"], dict) or not isinstance(doc["user"]["user_id"], str):
        raise TypeError("user must be an object with a string user_id")
    if type(doc["user_to_receive_marketing"]) is not bool:
        raise TypeError("user_to_receive_marketing is not a boolean")


def _check_entry(doc: dict) -> None:
    if not isinstance(doc["entry_id"], str) or not isinstance(doc["user"], dict):
        raise TypeError("a waitlist entry needs a string entry_id and a user object")


def _check_waitlist_token(doc: dict) -> None:
    for key in ("token", "fingerprint", "entry_id"):
        if not isinstance(doc[key], str):
            raise TypeError(f"{key} is not a string")


def decode_waitlist_token(doc: dict) -> WaitlistRecord:
    """A waitlist idempotency record back from its saved form."""
    return WaitlistRecord(doc["fingerprint"], doc["entry_id"])


def _check_record(record: dict) -> None:
    """A log record has the shape the loader relies on (else the line is damaged)."""
    if type(record.get("gen", 0)) is not int:
        raise TypeError("gen is not an integer")
    op = record["op"]
    if op == "booking":
        _check_booking(record["booking"])
        if record.get("token") is not None:
            _check_token(record["token"])
    elif op == "token":
        _check_token(record)
    elif op == "marketing":
        _check_preference(record["preference"])
    elif op == "waitlist":
        _check_entry(record["entry"])
        if record.get("token") is not None:
            _check_waitlist_token(record["token"])
    else:
        raise ValueError(f"unknown op {op!r}")


def encode_booking(booking: Booking) -> dict:
    """A booking as plain JSON-able data (the held inventory entry by its keys)."""
    held = booking.held
    return {
        "booking_id": booking.booking_id,
        "status": booking.status,
        "slot": booking.slot._asdict(),
        "user": encode_user(booking.user),
        "held": None if held is None else slot_fields(held),
        "payment_information": booking.payment_information,
        "idempotency_token": booking.idempotency_token,
        "offer_id": booking.offer_id,
        "created_sec": booking.created_sec,
        "updated_sec": booking.updated_sec,
    }


def encode_token(token: str, record: IdempotencyRecord) -> dict:
    """An idempotency token with the first answer it gave, as plain JSON-able data."""
    return {"token": token, "fingerprint": record.fingerprint, "booking": encode_booking(record.booking)}


def decode_record(doc: dict, inventory: Inventory) -> IdempotencyRecord:
    """A token's record back from encode_token's data."""
    return IdempotencyRecord(doc["fingerprint"], decode_booking(doc["booking"], inventory))


def encode_user(user: UserInformation) -> dict:
    """A user as plain JSON-able data."""
    return {f: getattr(user, f) for f in UserInformation.__dataclass_fields__}


def decode_user(doc: dict) -> UserInformation:
    """A user back from encode_user's data (the address pairs as tuples again)."""
    user = dict(doc)
    user["address"] = tuple(tuple(pair) for pair in user.get("address") or ())
    return UserInformation(**user)


def encode_preference(preference: MarketingPreference) -> dict:
    """A marketing preference as plain JSON-able data."""
    return {
        "user": encode_user(preference.user),
        "user_to_receive_marketing": preference.user_to_receive_marketing,
        "updated_sec": preference.updated_sec,
    }


def decode_preference(doc: dict) -> MarketingPreference:
    """A marketing preference back from encode_preference's data."""
    return MarketingPreference(decode_user(doc["user"]), doc["user_to_receive_marketing"], doc.get("updated_sec", 0))


def encode_entry(entry: WaitlistEntry) -> dict:
    """A waitlist entry as plain JSON-able data (the id first: redis_store's waitlist.lua numbers a new one)."""
    doc = {f: getattr(entry, f) for f in WaitlistEntry.__dataclass_fields__}
    doc["user"] = encode_user(entry.user)
    doc["events"] = [list(event) for event in entry.events]
    return doc


def decode_entry(doc: dict) -> WaitlistEntry:
    """A waitlist entry back from encode_entry's data."""
    fields = dict(doc)
    fields["user"] = decode_user(doc["user"])
    fields["events"] = [(str(state), int(sec)) for state, sec in doc.get("events") or ()]
    return WaitlistEntry(**fields)


def slot_fields(slot: Slot) -> list:
    """The fields that name an inventory entry (what Inventory.find_exact takes), in its order."""
    return [
        slot.merchant_id,
        slot.service_id,
        slot.start_sec,
        slot.duration_sec,
        slot.staff_id,
        slot.room_id,
        slot.party_size,
    ]


def decode_booking(doc: dict, inventory: Inventory) -> Booking:
    """Rebuild a booking and re-attach it to its inventory entry."""
    held = doc.get("held")
    return Booking(
        booking_id=doc["booking_id"],
        status=doc["status"],
        slot=SlotSpec(**doc["slot"]),
        user=decode_user(doc["user"]),
        held=inventory.find_exact(*held) if held else None,
        payment_information=doc.get("payment_information"),
        idempotency_token=doc.get("idempotency_token", ""),
        offer_id=doc.get("offer_id", ""),
        created_sec=doc.get("created_sec", 0),
        updated_sec=doc.get("updated_sec", 0),
    )
