"""State snapshots (GET/PUT /_admin/state): a tenant's whole state as one JSON document, and back.

The document names the inventory it was saved on (the fixture's digest, and the anchor day its slots were
materialised on), so a restore rebuilds that very inventory and refuses a document of another fixture or seed.
Bookings, tokens, preferences and waitlist entries are in persistence's encoding (one encoder of each); the clock
and the fault rules are their `export()`s, as a shared store keeps them. A document is checked whole, and restored
into a fresh memory state first (which derives the spots taken), before anything of the tenant changes.
"""

from __future__ import annotations

import dataclasses
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson

from ..api.common import flatten_messages
from ..domain import waitlist
from ..domain.bookings import BookingService
from ..domain.clock import ClockRangeError, check_range
from ..domain.fidelity import FidelitySettings, SettingsError
from ..domain.inventory import Inventory
from ..domain.models import BOOKING_STATUSES, Booking, MarketingPreference, SlotSpec, UserInformation
from ..domain.state import IdempotencyRecord, MemoryState
from ..domain.waitlist import WaitlistEntry, WaitlistRecord
from ..faults.rules import Rule, RuleSchema, canonical_method
from . import fixtures
from .persistence import (
    decode_booking,
    decode_entry,
    decode_preference,
    decode_record,
    encode_booking,
    encode_entry,
    encode_preference,
    encode_token,
    slot_fields,
)

if TYPE_CHECKING:
    from ..faults.engine import FaultEngine
    from ..runtime import Runtime

FORMAT = 1
MAX_DOCUMENT_BYTES = 256 * 1024 * 1024  # what PUT /_admin/state takes (MOCK_MAX_BODY_BYTES, if larger)
SECTIONS = (
    "format",
    "inventory",
    "clock",
    "next_seq",
    "bookings",
    "idempotency",
    "marketing_preferences",
    "fault_rules",
    "settings",
    "waitlist_entries",
    "waitlist_idempotency",
)
WAITLIST_SECTIONS = ("waitlist_entries", "waitlist_idempotency")  # optional: documents saved before waitlists lack them
_RULE_SCHEMA = RuleSchema()  # the checks POST /_admin/faults makes, built once
_BOOKING_ID = re.compile(r"B[0-9]{7,}")
_ENTRY_ID = re.compile(r"W[0-9]{7,}")
_ENTRY_FIELDS = tuple(WaitlistEntry.__dataclass_fields__)
_RULE_FIELDS = tuple(f.name for f in dataclasses.fields(Rule))
_USER_FIELDS = tuple(UserInformation.__dataclass_fields__)


class StateDocumentError(ValueError):
    """What is wrong with a state document (the 400's message); nothing was restored."""


@dataclass
class Restored:
    """A checked document: the state it holds, in memory on its own inventory, ready to take the tenant's place."""

    anchor_sec: int
    service: BookingService  # on a MemoryState: the spots taken and the claims derived from the bookings
    clock: dict
    rules: dict  # FaultEngine.export()'s shape
    settings: dict  # FidelitySettings.export()'s shape

    @property
    def state(self) -> MemoryState:
        """The memory state holding the document's bookings."""
        assert isinstance(self.service.state, MemoryState)
        return self.service.state

    def control(self) -> dict[str, bytes]:
        """The clock and rules as a shared store keeps them (storage/redis_control.py)."""
        return {
            "clock": orjson.dumps(self.clock),
            "rules": orjson.dumps(self.rules),
            "settings": orjson.dumps(self.settings),
        }

    def fired(self) -> dict[str, int]:
        """Each rule's uses spent (a shared store counts them apart from the rules)."""
        return {rule["id"]: rule["fired"] for rule in self.rules["rules"] if rule["fired"]}


def save(runtime: Runtime, engine: FaultEngine) -> dict:
    """The tenant's state as a document (format FORMAT)."""
    content = runtime.bookings.state.content()
    return {
        "format": FORMAT,
        "inventory": {"fixture_digest": runtime.fixture.digest(), "anchor_sec": runtime.anchor_sec},
        "clock": runtime.clock.export(),
        "next_seq": content.next_seq,
        "bookings": [encode_booking(b) for b in content.bookings],
        "idempotency": [encode_token(token, record) for token, record in content.tokens.items()],
        "marketing_preferences": [encode_preference(p) for p in content.preferences],
        "fault_rules": engine.export(),
        "settings": runtime.fidelity.export(),
        "waitlist_entries": [encode_entry(e) for e in content.waitlist],
        "waitlist_idempotency": [
            {"token": token, **dataclasses.asdict(record)} for token, record in content.waitlist_tokens.items()
        ],
    }


def load(doc: dict, runtime: Runtime) -> Restored:
    """The document checked and restored in memory; StateDocumentError naming the first thing wrong."""
    if doc.get("format") != FORMAT or type(doc.get("format")) is not int:
        raise StateDocumentError(f"format: this server reads format {FORMAT}; the document's is {doc.get('format')!r}")
    _exact_keys(doc, SECTIONS, "the document", optional=WAITLIST_SECTIONS)
    anchor = _inventory(doc["inventory"], runtime)
    try:
        inventory = fixtures.materialise(runtime.fixture, anchor)
    except (ValueError, OverflowError):  # a day the fixture's slots cannot be placed on (past the year 9999)
        raise StateDocumentError(
            f"inventory.anchor_sec: {anchor} is a day this server cannot place the fixture's slots on"
        ) from None
    bookings = _list(doc["bookings"], "bookings", lambda d, at: _booking(d, inventory, at))
    ids = _unique([b.booking_id for b in bookings], "bookings", "booking_id")
    next_seq = _int(doc["next_seq"], "next_seq", low=1)
    highest = max((int(i[1:]) for i in ids), default=0)
    if next_seq <= highest:
        raise StateDocumentError(f"next_seq: {next_seq} would give an id again (the bookings reach B{highest:07d})")
    tokens = _tokens(doc["idempotency"], inventory, set(ids))
    preferences = _list(doc["marketing_preferences"], "marketing_preferences", _preference)
    _unique([p.user.user_id for p in preferences], "marketing_preferences", "user.user_id")
    clock = _clock(doc["clock"])
    rules = _rules(doc["fault_rules"])
    settings = _settings(doc["settings"], runtime)
    restored = Restored(anchor, BookingService(inventory, runtime.clock), clock, rules, settings)
    entries = _list(doc.get("waitlist_entries", []), "waitlist_entries", lambda d, at: _entry(d, inventory, at))
    entry_ids = _unique([e.entry_id for e in entries], "waitlist_entries", "entry_id")
    # Entries are numbered by their count: the document's must be W0000001 up to their number, none missing.
    expected = [f"W{n:07d}" for n in range(1, len(entries) + 1)]
    if sorted(entry_ids) != expected:
        raise StateDocumentError(f"waitlist_entries: the entry ids must be {expected[:1]} up to W{len(entries):07d}")
    entry_tokens = _waitlist_tokens(doc.get("waitlist_idempotency", []), set(entry_ids))
    restored.state.restore(bookings, tokens, next_seq, preferences, entries, entry_tokens)
    taken, _ = restored.state.held()
    for slot in taken:
        # The entry's own holds, and those of its staff member or table still in use at its start (resources.py).
        count = inventory.resources.held_at_start(slot, taken)
        if count > slot.spots_total:
            raise StateDocumentError(
                f"bookings: {count} active bookings hold {slot_fields(slot)} or its staff member or table at its "
                f"start, which has {slot.spots_total} spots"
            )
    return restored


# ---- the sections ----


def _inventory(section: Any, runtime: Runtime) -> int:
    _exact_keys(section, ("fixture_digest", "anchor_sec"), "inventory")
    ours = runtime.fixture.digest()
    if section["fixture_digest"] != ours:
        raise StateDocumentError(
            f"inventory: the document was saved on another inventory (fixture digest {section['fixture_digest']!r}); "
            f"this server's fixture ({runtime.fixture_path.name}) is {ours}: restore it on a server with the same "
            "fixture (MOCK_FIXTURE)"
        )
    return _in_range(_int(section["anchor_sec"], "inventory.anchor_sec"), "inventory.anchor_sec")


def _booking(doc: Any, inventory: Inventory, at: str) -> Booking:
    _exact_keys(doc, _BOOKING_KEYS, at)
    booking_id = doc["booking_id"]
    if not isinstance(booking_id, str) or not _BOOKING_ID.fullmatch(booking_id):
        raise StateDocumentError(f"{at}.booking_id: {booking_id!r} is not a sandbox booking id (B and 7 digits)")
    at = f"{at} ({booking_id})"
    if doc["status"] not in BOOKING_STATUSES:
        raise StateDocumentError(f"{at}.status: {doc['status']!r} is not a booking status")
    _slot(doc["slot"], inventory, f"{at}.slot")
    _user(doc["user"], f"{at}.user")
    for name in ("idempotency_token", "offer_id"):
        _str(doc[name], f"{at}.{name}")
    for name in ("created_sec", "updated_sec"):
        _int(doc[name], f"{at}.{name}")
    if doc["payment_information"] is not None and not isinstance(doc["payment_information"], dict):
        raise StateDocumentError(f"{at}.payment_information: must be an object or null")
    held = doc["held"]
    if held is not None:
        types = (str, str, int, int, str, str, int)
        if not isinstance(held, list) or len(held) != 7 or any(not _is(v, t) for v, t in zip(held, types, strict=True)):
            raise StateDocumentError(f"{at}.held: must be null or the entry's 7 keys {_HELD_KEYS}")
        if inventory.find_exact(*held) is None:
            raise StateDocumentError(f"{at}.held: no inventory entry {held} (unknown slot) in this server's inventory")
    booking = decode_booking(doc, inventory)
    if booking.is_active and booking.held is None:
        raise StateDocumentError(f"{at}: a {booking.status} booking must hold an inventory entry (held)")
    return booking


# encode_booking's keys: a key it gains and this lacks makes every restore a 400, which the round-trip tests catch.
_BOOKING_KEYS = (
    "booking_id",
    "status",
    "slot",
    "user",
    "held",
    "payment_information",
    "idempotency_token",
    "offer_id",
    "created_sec",
    "updated_sec",
)
_HELD_KEYS = "[merchant_id, service_id, start_sec, duration_sec, staff_id, room_id, party_size]"


def _slot(doc: Any, inventory: Inventory, at: str) -> None:
    if not isinstance(doc, dict) or set(doc) != set(SlotSpec._fields):
        raise StateDocumentError(f"{at}: must be an object of exactly {list(SlotSpec._fields)}")
    for name, default in SlotSpec._field_defaults.items():
        kind = int if default is None else type(default)
        if not (default is None and doc[name] is None) and not _is(doc[name], kind):
            raise StateDocumentError(f"{at}.{name}: must be {'an integer' if kind is int else kind.__name__}")
    for name in ("merchant_id", "service_id"):
        _str(doc[name], f"{at}.{name}")
    _int(doc["start_sec"], f"{at}.start_sec")
    if doc["merchant_id"] not in inventory.merchants:
        raise StateDocumentError(f"{at}.merchant_id: unknown merchant {doc['merchant_id']!r} in this inventory")


def _user(doc: Any, at: str) -> None:
    if not isinstance(doc, dict) or "user_id" not in doc or not set(doc) <= set(_USER_FIELDS):
        raise StateDocumentError(f"{at}: must be an object with user_id, of the fields {list(_USER_FIELDS)}")
    for name, value in doc.items():
        if name == "address":
            pairs = value if isinstance(value, list) else None
            if pairs is None or any(
                not isinstance(p, list) or len(p) != 2 or not all(_is(v, str) for v in p) for p in pairs
            ):
                raise StateDocumentError(f"{at}.address: must be a list of [key, value] string pairs")
        else:
            _str(value, f"{at}.{name}")


def _tokens(section: Any, inventory: Inventory, ids: set[str]) -> dict[str, IdempotencyRecord]:
    def one(doc: Any, at: str) -> tuple[str, IdempotencyRecord]:
        _exact_keys(doc, ("token", "fingerprint", "booking"), at)
        _str(doc["token"], f"{at}.token")
        _str(doc["fingerprint"], f"{at}.fingerprint")
        booking = _booking(doc["booking"], inventory, f"{at}.booking")
        if booking.booking_id not in ids:
            raise StateDocumentError(f"{at}.booking: {booking.booking_id} is not among the bookings")
        return doc["token"], decode_record(doc, inventory)

    records = _list(section, "idempotency", one)
    _unique([token for token, _ in records], "idempotency", "token")
    return dict(records)


def _preference(doc: Any, at: str) -> MarketingPreference:
    _exact_keys(doc, ("user", "user_to_receive_marketing", "updated_sec"), at)
    _user(doc["user"], f"{at}.user")
    if type(doc["user_to_receive_marketing"]) is not bool:
        raise StateDocumentError(f"{at}.user_to_receive_marketing: must be true or false")
    _int(doc["updated_sec"], f"{at}.updated_sec")
    return decode_preference(doc)


def _entry(doc: Any, inventory: Inventory, at: str) -> WaitlistEntry:
    _exact_keys(doc, _ENTRY_FIELDS, at)
    if not _is(doc["entry_id"], str) or not _ENTRY_ID.fullmatch(doc["entry_id"]):
        raise StateDocumentError(f"{at}.entry_id: must be W and 7 or more digits")
    for name in (
        "merchant_id",
        "service_id",
        "confirmation_mode",
        "outcome",
        "additional_request",
        "idempotency_token",
    ):
        _str(doc[name], f"{at}.{name}")
    for name in ("party_size", "created_sec", "confirm_sec", "ready_sec", "turn_sec", "walk_ins_ahead", "settle_sec"):
        _in_range(_int(doc[name], f"{at}.{name}", low=0), f"{at}.{name}")
    service = inventory.services.get((doc["merchant_id"], doc["service_id"]))
    if service is None or not service.waitlist:
        raise StateDocumentError(f"{at}: {doc['merchant_id']}/{doc['service_id']} has no waitlist in this inventory")
    if doc["confirmation_mode"] not in waitlist.CONFIRMATION_MODES or doc["outcome"] not in (
        waitlist.SEATED,
        waitlist.NO_SHOW,
    ):
        raise StateDocumentError(f"{at}: confirmation_mode or outcome is not one of the waitlist's")
    _user(doc["user"], f"{at}.user")
    events = doc["events"]
    if not isinstance(events, list) or any(
        not isinstance(e, list) or len(e) != 2 or e[0] not in waitlist.ENTRY_STATES or not _is(e[1], int)
        for e in events
    ):
        raise StateDocumentError(f"{at}.events: must be a list of [waitlist entry state, epoch second] pairs")
    return decode_entry(doc)


def _waitlist_tokens(section: Any, ids: set[str]) -> dict[str, WaitlistRecord]:
    def one(doc: Any, at: str) -> tuple[str, WaitlistRecord]:
        _exact_keys(doc, ("token", "fingerprint", "entry_id"), at)
        for name in ("token", "fingerprint", "entry_id"):
            _str(doc[name], f"{at}.{name}")
        if doc["entry_id"] not in ids:
            raise StateDocumentError(f"{at}.entry_id: {doc['entry_id']} is not among the waitlist entries")
        return doc["token"], WaitlistRecord(doc["fingerprint"], doc["entry_id"])

    records = _list(section, "waitlist_idempotency", one)
    _unique([token for token, _ in records], "waitlist_idempotency", "token")
    return dict(records)


def _settings(section: Any, runtime: Runtime) -> dict:
    """The fidelity settings, checked as PATCH /_admin/settings checks them (one checker)."""
    _exact_keys(section, ("strict", "response_profile"), "settings")
    checked = FidelitySettings(*runtime.fidelity.defaults)
    try:
        checked.change(section)
    except SettingsError as exc:
        raise StateDocumentError(f"settings.{exc.field}: {exc.message}") from None
    return checked.export()


def _clock(section: Any) -> dict:
    _exact_keys(section, ("frozen_at", "offset"), "clock")
    frozen_at, offset = section["frozen_at"], _int(section["offset"], "clock.offset")
    if frozen_at is not None:
        _in_range(_int(frozen_at, "clock.frozen_at"), "clock.frozen_at")
    else:
        _in_range(int(time.time()) + offset, "the clock (now + clock.offset)")
    return {"frozen_at": frozen_at, "offset": offset}


def _rules(section: Any) -> dict:
    _exact_keys(section, ("rules", "retired", "next_id"), "fault_rules")

    def one(doc: Any, at: str) -> dict:
        _exact_keys(doc, _RULE_FIELDS, at)
        _str(doc["id"], f"{at}.id")
        if not doc["id"] or doc["method"] != canonical_method(str(doc["method"])):
            raise StateDocumentError(f"{at}: needs an id and a v3 method name or '*' (got {doc['method']!r})")
        if not isinstance(doc["params"], dict):
            raise StateDocumentError(f"{at}.params: must be an object")
        # The rule as POST /_admin/faults takes it: the same checks of its kind, parameters, match and budget.
        fields = ("id", "method", "kind", "match", "times", "probability", "ttl_s")
        errors = _RULE_SCHEMA.validate({**doc["params"], **{name: doc[name] for name in fields}})
        if errors:
            first = next(iter(errors))
            said = " ".join(m.rstrip(".") for m in flatten_messages(errors[first]))
            raise StateDocumentError(f"{at}.{first}: {said}")
        _int(doc["created_sec"], f"{at}.created_sec")
        _int(doc["fired"], f"{at}.fired", low=0)
        _str(doc["source"], f"{at}.source")
        return doc

    rules = _list(section["rules"], "fault_rules.rules", one)
    _unique([rule["id"] for rule in rules], "fault_rules.rules", "id")
    if not isinstance(section["retired"], list) or not all(isinstance(r, dict) for r in section["retired"]):
        raise StateDocumentError("fault_rules.retired: must be a list of objects")
    _int(section["next_id"], "fault_rules.next_id", low=1)
    return {"rules": rules, "retired": section["retired"], "next_id": section["next_id"]}


# ---- small checks ----


def _exact_keys(doc: Any, keys: tuple[str, ...], at: str, optional: tuple[str, ...] = ()) -> None:
    if not isinstance(doc, dict):
        raise StateDocumentError(f"{at}: must be an object, not {type(doc).__name__}")
    missing = [k for k in keys if k not in doc and k not in optional]
    unknown = [k for k in doc if k not in keys]
    if missing or unknown:
        said = [f"missing {missing}" if missing else "", f"unknown {unknown}" if unknown else ""]
        raise StateDocumentError(f"{at}: {', '.join(s for s in said if s)} (fields: {list(keys)})")


def _list(section: Any, at: str, each: Callable[[Any, str], Any]) -> list:
    if not isinstance(section, list):
        raise StateDocumentError(f"{at}: must be a list, not {type(section).__name__}")
    return [each(doc, f"{at}[{i}]") for i, doc in enumerate(section)]


def _unique(values: list[str], at: str, name: str) -> list[str]:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise StateDocumentError(f"{at}: {name} {value!r} appears twice")
        seen.add(value)
    return values


def _is(value: Any, kind: type) -> bool:
    return type(value) is kind  # exact: a JSON true is no integer here


def _int(value: Any, at: str, low: int | None = None) -> int:
    if not _is(value, int) or (low is not None and value < low):
        raise StateDocumentError(f"{at}: must be an integer{'' if low is None else f' of at least {low}'}")
    return value


def _str(value: Any, at: str) -> str:
    if not _is(value, str):
        raise StateDocumentError(f"{at}: must be a string")
    return value


def _in_range(sec: int, at: str) -> int:
    try:
        return check_range(sec, at)
    except ClockRangeError as exc:
        raise StateDocumentError(str(exc)) from None
